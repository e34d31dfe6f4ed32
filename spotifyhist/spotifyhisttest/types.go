package spotifyhisttest

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Scopes understood by the accounts service. A token issued without an
// explicit scope list carries all of them.
const (
	ScopeRecentlyPlayed            = "user-read-recently-played"
	ScopeCurrentlyPlaying          = "user-read-currently-playing"
	ScopePlaybackState             = "user-read-playback-state"
	ScopePlaylistReadPrivate       = "playlist-read-private"
	ScopePlaylistReadCollaborative = "playlist-read-collaborative"
)

// AllScopes returns every scope a listening-history tracker asks for, in a
// fixed order.
func AllScopes() []string {
	return []string{
		ScopeRecentlyPlayed,
		ScopeCurrentlyPlaying,
		ScopePlaybackState,
		ScopePlaylistReadPrivate,
		ScopePlaylistReadCollaborative,
	}
}

// User is a Spotify account known to the fake.
type User struct {
	// ID is the Spotify user id. Required.
	ID string
	// DisplayName is rendered as display_name; empty renders null.
	DisplayName string
	// AccountID is the pseudonymous account_id added to /v1/me in May 2026.
	// Empty means one derived deterministically from ID.
	AccountID string
	// NotAllowListed makes every Web API call for this user fail with 403
	// "User not registered in the Developer Dashboard", as Development Mode
	// does for users missing from the app's allow-list.
	NotAllowListed bool
}

// Artist is a simplified artist object.
type Artist struct {
	ID   string // empty renders id, uri and href as null (local files)
	Name string
}

// Album is the simplified album embedded in a track.
type Album struct {
	ID                   string // empty renders id, uri, href, album_type and release_date as null
	Name                 string
	AlbumType            string // album, single or compilation; empty means "album"
	ReleaseDate          string // e.g. "2019-07-12"; empty means "2020-01-01"
	ReleaseDatePrecision string // year, month or day; empty means "day"
	TotalTracks          int
	Artists              []Artist
}

// Track is a track as returned by the Web API, or a local file when IsLocal is
// set (build those with [LocalTrack]).
type Track struct {
	// ID is the 22-character base-62 Spotify ID; empty for local files.
	ID string
	// URI defaults to "spotify:track:"+ID; for local files it is the
	// spotify:local: URI.
	URI         string
	Name        string
	DurationMS  int
	Explicit    bool
	DiscNumber  int // zero means 1 (0 for local files)
	TrackNumber int // zero means 1 (0 for local files)
	ISRC        string
	IsLocal     bool
	// Unplayable renders is_playable:false with a market restriction.
	Unplayable bool
	Album      Album
	Artists    []Artist
}

// TrackURI returns the track's URI, deriving it from the ID when URI is empty.
func (t Track) TrackURI() string {
	if t.URI != "" {
		return t.URI
	}
	if t.ID == "" {
		return ""
	}
	return "spotify:track:" + t.ID
}

// LocalURI builds the URI Spotify gives a local file:
// spotify:local:{artist}:{album}:{title}:{seconds}, each part
// form-URL-encoded ("+" for a space, "%28" for "(") and possibly empty.
func LocalURI(artist, album, title string, seconds int) string {
	return "spotify:local:" + url.QueryEscape(artist) + ":" + url.QueryEscape(album) + ":" +
		url.QueryEscape(title) + ":" + strconv.Itoa(seconds)
}

// LocalTrack returns a local-file track as Spotify renders it: no ID, the
// spotify:local: URI, names from the file tags and a duration in whole
// seconds.
func LocalTrack(artist, album, title string, seconds int) Track {
	t := Track{
		URI:        LocalURI(artist, album, title, seconds),
		Name:       title,
		DurationMS: seconds * 1000,
		IsLocal:    true,
		Album:      Album{Name: album},
	}
	if artist != "" {
		t.Artists = []Artist{{Name: artist}}
	}
	return t
}

// ParseLocalURI splits a spotify:local: URI into its decoded parts.
func ParseLocalURI(uri string) (artist, album, title string, seconds int, ok bool) {
	rest, found := strings.CutPrefix(uri, "spotify:local:")
	if !found {
		return "", "", "", 0, false
	}
	parts := strings.Split(rest, ":")
	if len(parts) != 4 {
		return "", "", "", 0, false
	}
	dec := make([]string, 3)
	for i := range 3 {
		s, err := url.QueryUnescape(parts[i])
		if err != nil {
			return "", "", "", 0, false
		}
		dec[i] = s
	}
	secs, err := strconv.Atoi(parts[3])
	if err != nil || secs < 0 {
		return "", "", "", 0, false
	}
	return dec[0], dec[1], dec[2], secs, true
}

// Show is the simplified show embedded in an episode.
type Show struct {
	ID        string
	Name      string
	Publisher string
}

// Episode is a podcast episode.
type Episode struct {
	ID          string
	Name        string
	Description string
	DurationMS  int
	ReleaseDate string // empty means "2020-01-01"
	Show        Show
}

// EpisodeURI returns "spotify:episode:"+ID.
func (e Episode) EpisodeURI() string { return "spotify:episode:" + e.ID }

// RecentPlay is one entry of a seeded user's recently-played history.
type RecentPlay struct {
	// TrackID names a track added with [Server.AddTrack] (or one of the
	// simulator's catalogue). Ignored when Track is set.
	TrackID string
	// Track is the full track; it is added to the catalogue as a side effect.
	Track *Track
	// PlayedAt is the play's played_at; it is kept at millisecond precision.
	PlayedAt time.Time
	// ContextURI is the album, artist, playlist or show the play came from;
	// empty renders context:null.
	ContextURI string
	// VisibleAt is when the play starts to show in recently-played. Zero
	// means at once. A time after PlayedAt models Spotify's lag and offline
	// plays that sync late with a past played_at.
	VisibleAt time.Time
}

// PlaybackType is the currently_playing_type of a playback.
type PlaybackType string

// Playback types.
const (
	PlaybackTrack   PlaybackType = "track"
	PlaybackEpisode PlaybackType = "episode"
	PlaybackAd      PlaybackType = "ad"
	PlaybackUnknown PlaybackType = "unknown"
)

// Device is the device of /v1/me/player.
type Device struct {
	ID               string // empty renders null
	Name             string // empty means "Web Player (Firefox)"
	Type             string // empty means "Computer"
	VolumePercent    *int   // nil renders null
	IsPrivateSession bool
	IsRestricted     bool
	SupportsVolume   bool
}

// Playback is a seeded user's player state. The server captures the time of
// [Server.SetPlayback]; while IsPlaying, progress_ms advances on the server's
// clock from Progress, clamped to the item's duration.
type Playback struct {
	// Type defaults to track, or episode when an episode is set.
	Type PlaybackType
	// TrackID or Track: the item of a track playback.
	TrackID string
	Track   *Track
	// EpisodeID or Episode: the item of an episode playback.
	EpisodeID string
	Episode   *Episode
	// Progress is the position at the time of SetPlayback.
	Progress  time.Duration
	IsPlaying bool
	// ContextURI; empty renders context:null.
	ContextURI   string
	Device       *Device // nil means a default active device
	ShuffleState bool
	RepeatState  string // off, track or context; empty means "off"
}

// TracksField selects how a playlist renders the deprecated "tracks" member.
type TracksField int

// TracksField values. The zero value leaves it out, as most responses in
// late 2026 do.
const (
	TracksFieldAbsent  TracksField = iota // no "tracks" member
	TracksFieldNull                       // "tracks": null
	TracksFieldPresent                    // "tracks": {"href": …/tracks, "total": n}
)

// RowKeys selects which key carries a playlist row's content.
type RowKeys int

// RowKeys values. The zero value uses the 2026 name only.
const (
	RowKeysItem  RowKeys = iota // "item" only
	RowKeysTrack                // deprecated "track" only
	RowKeysBoth                 // both, holding the same object
)

// PlaylistRow is one row of a playlist.
type PlaylistRow struct {
	// AddedAt zero renders null (old playlists).
	AddedAt time.Time
	// AddedBy is the adding user's id; empty renders null.
	AddedBy string
	// AddedByBlank renders added_by as {"id":""} and wins over AddedBy.
	AddedByBlank bool
	// Exactly one of TrackID, Track, EpisodeID, Episode should be set;
	// none renders item:null (content removed from Spotify).
	TrackID   string
	Track     *Track
	EpisodeID string
	Episode   *Episode
}

// Playlist is a playlist known to the fake.
type Playlist struct {
	ID            string
	Name          string
	Description   string
	OwnerID       string
	Collaborative bool
	// Collaborators may read the rows, like the owner.
	Collaborators []string
	// Followers see the playlist in /v1/me/playlists but may not read its rows.
	Followers []string
	// Public nil renders null.
	Public *bool
	// SnapshotID empty means one derived from the rows.
	SnapshotID       string
	Rows             []PlaylistRow
	DeprecatedTracks TracksField
	RowKeys          RowKeys
}

// Token is a token pair issued by the fake accounts service.
type Token struct {
	AccessToken  string
	RefreshToken string
	TokenType    string // "Bearer"
	Scope        string // space-separated
	ExpiresIn    int    // seconds
	Expiry       time.Time
}

// Fault is a scripted failure returned instead of the normal response.
type Fault struct {
	// Status is the HTTP status; zero means 500.
	Status int
	// RetryAfter is the raw Retry-After header ("7", or an HTTP-date; see
	// [RetryAfterSeconds] and [RetryAfterDate]); empty sends none.
	RetryAfter string
	// Reason is added to the error body as "reason" (e.g. "QUOTA_EXCEEDED").
	Reason string
	// Message replaces the default error message.
	Message string
	// Body, when set, is sent verbatim instead of the JSON error body.
	Body string
	// Times is how many matching requests fail; zero means 1, negative
	// means every one until [Server.ClearFaults].
	Times int
}

// RetryAfterSeconds formats d as a Retry-After value in whole seconds,
// rounding up.
func RetryAfterSeconds(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	if s < 0 {
		s = 0
	}
	return strconv.FormatInt(s, 10)
}

// RetryAfterDate formats t as a Retry-After HTTP-date.
func RetryAfterDate(t time.Time) string {
	return t.UTC().Format(httpTimeFormat)
}

const httpTimeFormat = "Mon, 02 Jan 2006 15:04:05 GMT"

// Request is one request the server received.
type Request struct {
	Method string
	Path   string
	// Route is the pattern that served it, e.g. "/v1/playlists/{id}/items";
	// empty when no route matched.
	Route         string
	Query         url.Values
	Authorization string
	// UserID is the user the bearer token (or refresh token) belongs to,
	// when the server could tell.
	UserID string
	Status int
	At     time.Time
}
