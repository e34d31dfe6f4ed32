package spotifyhist

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/zmb3/spotify/v2"
)

// Track is a track as the tracker stores it. For a local file, ID is LocalTrackID(URI),
// IsLocal is true, and album and artists have names but no IDs or URIs.
type Track struct {
	ID         string
	URI        string
	Name       string
	DurationMS int
	// ISRC is the track's International Standard Recording Code when Spotify gives one.
	ISRC    string
	IsLocal bool
	Album   Album
	Artists []Artist
}

// Album is the album of a [Track].
type Album struct {
	ID, Name, URI string
}

// Artist is one of a track's artists, in Spotify's order.
type Artist struct {
	ID, Name, URI string
}

// RecentPlay is one item of the recently-played history.
type RecentPlay struct {
	Track Track
	// PlayedAt is Spotify's played_at (UTC, millisecond precision), usually the end of the
	// stream.
	PlayedAt time.Time
	// ContextURI is the album, artist, playlist or show the track was played from, if any.
	ContextURI string
}

// Values of Playback.Type.
const (
	PlaybackTrack   = "track"
	PlaybackEpisode = "episode"
	PlaybackAd      = "ad"
	PlaybackUnknown = "unknown"
)

// Playback is what the user is playing now (currently-playing).
type Playback struct {
	// Timestamp is Spotify's timestamp of the state (UTC, ms).
	Timestamp time.Time
	// ProgressMS is the position in the item; meaningful only when ProgressKnown (Spotify
	// sends null during ads).
	ProgressMS    int
	ProgressKnown bool
	IsPlaying     bool
	// Type is PlaybackTrack, PlaybackEpisode, PlaybackAd or PlaybackUnknown.
	Type string
	// Track is set for tracks only, local files included.
	Track *Track
	// EpisodeName, ShowName and EpisodeURI are set for podcast episodes.
	EpisodeName string
	ShowName    string
	EpisodeURI  string
	// ContextURI is the playing context (album, playlist, …), if any.
	ContextURI string
}

// Me is the current user's profile.
type Me struct {
	// ID is the Spotify user ID.
	ID string
	// DisplayName may be empty.
	DisplayName string
	// AccountID is Spotify's public, immutable, pseudonymous account ID (since May 2026;
	// empty when absent), recommended over ID for linking accounts.
	AccountID string
}

// Playlist is a playlist without its rows.
type Playlist struct {
	ID            string
	Name          string
	OwnerID       string
	OwnerName     string
	SnapshotID    string
	Collaborative bool
	// Public is nil when Spotify does not say (public:null).
	Public *bool
	// Total is the number of rows (items.total, or the deprecated tracks.total).
	Total int
}

// Values of PlaylistItem.Type.
const (
	ItemTrack   = "track"
	ItemEpisode = "episode"
	// ItemUnavailable is a row whose item is null (removed or unavailable content).
	ItemUnavailable = "unavailable"
	// ItemUnknown is a row of a type the client does not know.
	ItemUnknown = "unknown"
)

// PlaylistItem is one row of a playlist.
type PlaylistItem struct {
	// Position is the row's 0-based index in the playlist.
	Position int
	// AddedAt is zero when Spotify does not know it (old playlists).
	AddedAt time.Time
	// AddedBy is the adding user's ID, empty when unknown.
	AddedBy string
	IsLocal bool
	// Type is ItemTrack, ItemEpisode, ItemUnavailable or ItemUnknown.
	Type string
	// Track is set for track rows (local files included).
	Track *Track
}

// number decodes a JSON number (int or float) or null.
type number int

func (n *number) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*n = 0
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*n = number(int(f))
	return nil
}

// wireObject is a track or an episode as the Web API sends it.
type wireObject struct {
	ID          string   `json:"id"`
	URI         string   `json:"uri"`
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	DurationMS  number   `json:"duration_ms"`
	IsLocal     bool     `json:"is_local"`
	ExternalIDs *wireIDs `json:"external_ids"`
	Album       *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		URI  string `json:"uri"`
	} `json:"album"`
	Artists []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		URI  string `json:"uri"`
	} `json:"artists"`
	Show *struct {
		Name string `json:"name"`
	} `json:"show"`
}

type wireIDs struct {
	ISRC string `json:"isrc"`
}

// kind returns "track" or "episode" (or the raw type), inferring it from the URI when the
// type is missing.
func (w *wireObject) kind() string {
	if w.Type != "" {
		return w.Type
	}
	switch {
	case strings.HasPrefix(w.URI, "spotify:episode:"):
		return ItemEpisode
	case strings.HasPrefix(w.URI, "spotify:track:"), IsLocalURI(w.URI):
		return ItemTrack
	}
	return ""
}

func (w *wireObject) track() *Track {
	t := &Track{
		ID:         w.ID,
		URI:        w.URI,
		Name:       w.Name,
		DurationMS: int(w.DurationMS),
		IsLocal:    w.IsLocal,
	}
	if w.ExternalIDs != nil {
		t.ISRC = w.ExternalIDs.ISRC
	}
	if w.Album != nil {
		t.Album = Album{ID: w.Album.ID, Name: w.Album.Name, URI: w.Album.URI}
	}
	for _, a := range w.Artists {
		t.Artists = append(t.Artists, Artist{ID: a.ID, Name: a.Name, URI: a.URI})
	}
	normaliseLocal(t)
	return t
}

// normaliseLocal gives a local file its stable ID and strips the null/empty Spotify IDs
// Spotify sends for it; names missing from the object come from the URI.
func normaliseLocal(t *Track) {
	if !t.IsLocal && !IsLocalURI(t.URI) {
		return
	}
	t.IsLocal = true
	t.ID = LocalTrackID(t.URI)
	t.ISRC = ""
	t.Album.ID, t.Album.URI = "", ""
	for i := range t.Artists {
		t.Artists[i].ID, t.Artists[i].URI = "", ""
	}
	lf, err := ParseLocalURI(t.URI)
	if err != nil {
		return
	}
	if t.Name == "" {
		t.Name = lf.Title
	}
	if t.Album.Name == "" {
		t.Album.Name = lf.Album
	}
	if len(t.Artists) == 0 && lf.Artist != "" {
		t.Artists = []Artist{{Name: lf.Artist}}
	}
	if t.DurationMS == 0 {
		t.DurationMS = int(lf.Duration.Milliseconds())
	}
}

// trackFromZMB converts a zmb3 track.
func trackFromZMB(st *spotify.SimpleTrack, isrc string) Track {
	t := Track{
		ID:         string(st.ID),
		URI:        string(st.URI),
		Name:       st.Name,
		DurationMS: int(st.Duration),
		ISRC:       isrc,
		Album:      Album{ID: string(st.Album.ID), Name: st.Album.Name, URI: string(st.Album.URI)},
	}
	for _, a := range st.Artists {
		t.Artists = append(t.Artists, Artist{ID: string(a.ID), Name: a.Name, URI: string(a.URI)})
	}
	normaliseLocal(&t)
	return t
}

// wireTime parses an RFC 3339 time; empty, null, unparsable and the Unix epoch (a
// placeholder on old playlist rows) give the zero time.
func wireTime(s *string) time.Time {
	if s == nil || *s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil || t.Unix() == 0 {
		return time.Time{}
	}
	return t.UTC()
}
