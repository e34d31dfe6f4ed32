package store

import (
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Mode is a user's listening-monitor mode.
type Mode string

// Listening modes.
const (
	// ModeHistory polls recently-played every history interval with the after cursor.
	ModeHistory Mode = "history"
	// ModeRealtime polls currently-playing every realtime interval.
	ModeRealtime Mode = "realtime"
	// ModeHybrid runs both; the realtime side records only local files.
	ModeHybrid Mode = "hybrid"
	// ModeAdaptive polls currently-playing around the expected end of the current
	// track, backs off when idle, and lets recently-played fill any gap.
	ModeAdaptive Mode = "adaptive"
)

// ModeDefault is the mode a new user starts in.
const ModeDefault = ModeHistory

// Valid reports whether m is one of the known modes.
func (m Mode) Valid() bool {
	switch m {
	case ModeHistory, ModeRealtime, ModeHybrid, ModeAdaptive:
		return true
	}
	return false
}

// Source says how a play was captured.
type Source string

// Play sources.
const (
	SourceHistory  Source = "history"  // recently-played: played_at is the end of the stream as Spotify reports it
	SourceRealtime Source = "realtime" // currently-playing: the start is observed; played_at = start + ms_played
	SourceImport   Source = "import"   // a Spotify data export or a JSON Lines restore
)

// Valid reports whether s is one of the known sources.
func (s Source) Valid() bool {
	switch s {
	case SourceHistory, SourceRealtime, SourceImport:
		return true
	}
	return false
}

// Task names one of the per-user background tasks.
type Task string

// Per-user tasks.
const (
	TaskListening Task = "listening" // listening monitor (by mode)
	TaskPlaylists Task = "playlists" // playlist scanner
	TaskSongIDs   Task = "song_ids"  // song-ID updater
)

// TaskStatus is the state of one per-user task.
type TaskStatus string

// Task states.
const (
	TaskIdle       TaskStatus = "idle"       // waiting for its next run
	TaskRunning    TaskStatus = "running"    // polling / scanning now
	TaskProcessing TaskStatus = "processing" // writing what it fetched
	TaskStopped    TaskStatus = "stopped"    // not monitored (disabled, released, needs re-auth)
	TaskError      TaskStatus = "error"      // last run failed; LastError says why
)

// TaskState is the stored status of one task of one user.
type TaskState struct {
	Status    TaskStatus
	LastRunAt time.Time // zero when never run
	LastError string    // empty unless Status is TaskError or the last run failed
	UpdatedAt time.Time
}

// User is one Spotify account monitored by the instance.
type User struct {
	ID           string // Spotify user id (or the local user's id in single-user mode)
	AccountID    string // Spotify's account_id when known
	DisplayName  string
	Enabled      bool // the user wants monitoring
	Mode         Mode
	Token        []byte    // sealed (encrypted) OAuth token; nil when none
	AuthorizedAt time.Time // when the user last authorised; refresh tokens die 6 months later
	NeedsReauth  bool      // the refresh token was rejected; monitoring stops until login
	WorkerID     string    // lease holder; empty when unassigned
	LeaseExpires time.Time // zero when unassigned
	CreatedAt    time.Time
	UpdatedAt    time.Time
	Tasks        map[Task]TaskState // tasks that have a stored state
}

// Artist is a catalogue artist. IDs that come from Spotify are base-62 ids;
// artists known only by name (from an export) have a provisional ID made by
// ProvisionalID.
type Artist struct {
	ID   string
	Name string
}

// Album is a catalogue album (same ID rules as Artist).
type Album struct {
	ID   string
	Name string
}

// Track is a catalogue track with its album and ordered artists.
type Track struct {
	ID         string // Spotify id, or spotifyhist.LocalTrackID for local files
	Name       string
	DurationMS int // 0 when unknown
	ISRC       string
	IsLocal    bool
	// Linked is true when the metadata came from Spotify's API (album and
	// artists carry Spotify ids, or the track is local). Tracks known only from
	// an export are not linked; the artist linker upgrades them.
	Linked  bool
	Album   Album
	Artists []Artist // in Spotify's order
}

// Play is one stream of one track by one user.
type Play struct {
	UserID   string
	TrackID  string
	PlayedAt time.Time // UTC, millisecond precision, the END of the stream
	MSPlayed int       // milliseconds listened; 0 when unknown
	Source   Source
	ImportID string // the import that added it; empty otherwise
}

// PlayWithTrack is a play joined with its track, as history and dedupe read it.
type PlayWithTrack struct {
	Play
	Track Track
}

// PlayInput is a play to insert together with its track metadata.
type PlayInput struct {
	Track    Track
	PlayedAt time.Time
	MSPlayed int
	Source   Source
}

// Playlist is a Spotify playlist known to the instance.
type Playlist struct {
	ID            string
	Name          string
	OwnerID       string
	OwnerName     string
	SnapshotID    string
	Collaborative bool
	Public        *bool // nil when Spotify reports null
	TrackCount    int   // items.total as last seen
	ScannedAt     time.Time
}

// PlaylistOrigin says why a user tracks a playlist.
type PlaylistOrigin string

// Playlist origins.
const (
	PlaylistOwned PlaylistOrigin = "owned" // returned by /me/playlists
	PlaylistAdded PlaylistOrigin = "added" // added by hand (URL or id)
)

// UserPlaylist is a playlist as one user tracks it.
type UserPlaylist struct {
	Playlist
	Origin  PlaylistOrigin
	AddedAt time.Time
}

// PlaylistTrackStatus is the availability of a playlist row.
type PlaylistTrackStatus string

// Playlist row states.
const (
	PlaylistTrackPlayable   PlaylistTrackStatus = "playable"
	PlaylistTrackUnplayable PlaylistTrackStatus = "unplayable"
	PlaylistTrackLocal      PlaylistTrackStatus = "local"
)

// PlaylistTrack is one row of a playlist.
type PlaylistTrack struct {
	Position int
	Track    Track
	Status   PlaylistTrackStatus
	AddedAt  time.Time // zero when Spotify reports null
}

// PlaylistTrackStats is a playlist row with one user's listening of it.
type PlaylistTrackStats struct {
	PlaylistTrack
	Plays      int
	LastPlayed time.Time // zero when never played
}

// Worker is a registered serve process.
type Worker struct {
	ID        string
	StartedAt time.Time
	Heartbeat time.Time
}

// ImportState is the lifecycle of an import.
type ImportState string

// Import states.
const (
	ImportPending ImportState = "pending" // analysed, waiting to run
	ImportRunning ImportState = "running"
	ImportDone    ImportState = "done"
	ImportFailed  ImportState = "failed"
)

// Import is one import of an export file for one user. Counters are
// persisted so progress survives restarts and a resumed import continues
// at Processed.
type Import struct {
	ID         string
	UserID     string
	Digest     string // hex SHA-256 of the file; (UserID, Digest) identifies a re-run
	FileName   string
	State      ImportState
	Total      int            // entries in the file
	Processed  int            // entries handled so far (resume point)
	Imported   int            // plays added
	Duplicates int            // plays that were already stored
	Excluded   map[string]int // reason → count
	Error      string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Session is a web login session. The ID stored is a hash of the cookie
// value, never the cookie itself.
type Session struct {
	ID        string
	UserID    string
	CSRFToken string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// ProvisionalID returns the catalogue id used for an artist or album known
// only by name. It is deterministic in the normalised name, so the same name
// from any import maps to the same row, and it can never collide with a
// Spotify id (it starts with "n:").
func ProvisionalID(kind, name string) string {
	return "n:" + kind + ":" + NormalizeName(name)
}

// IsProvisionalID reports whether id was made by ProvisionalID.
func IsProvisionalID(id string) bool { return strings.HasPrefix(id, "n:") }

// NormalizeName folds a track, artist or album name for matching: Unicode
// NFKD with combining marks removed, lower case, punctuation dropped, runs of
// space collapsed. "Beyoncé – Halo (Remastered)" and "beyonce halo remastered"
// normalise alike.
func NormalizeName(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range norm.NFKD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(unicode.ToLower(r))
		default:
			space = true
		}
	}
	return b.String()
}
