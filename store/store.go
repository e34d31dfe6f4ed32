package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors. Every backend returns errors that match these with
// errors.Is, and storetest asserts it.
var (
	// ErrNotFound: the user, track, playlist, import, session or worker does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a uniqueness rule was broken where the caller asked for a
	// strict insert (for example creating an import whose id exists).
	ErrConflict = errors.New("store: conflict")
	// ErrLeaseLost: the caller no longer holds the lease it tried to use.
	ErrLeaseLost = errors.New("store: lease lost")
	// ErrSchemaTooNew: the database was migrated by a newer binary.
	ErrSchemaTooNew = errors.New("store: database schema is newer than this binary")
	// ErrInvalid: a parameter broke the contract (unknown mode, empty id, ...).
	ErrInvalid = errors.New("store: invalid argument")
)

// Store is the whole storage contract. Implementations outside this module
// must pass storetest.Run; the interface may grow in minor versions.
type Store interface {
	UserStore
	WorkerStore
	CatalogStore
	PlayStore
	PlaylistStore
	ImportStore
	SessionStore
	StatsStore

	// Migrate applies pending schema migrations. Open already migrates; this
	// is for `spotifyhist migrate`. It returns the schema version reached.
	Migrate(ctx context.Context) (int, error)
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the connections.
	Close() error
}

// UserStore manages users and their task status.
type UserStore interface {
	// UpsertUser creates the user (enabled, ModeDefault unless Mode is set)
	// or updates display name, account id, token and authorisation time of
	// an existing one, clearing NeedsReauth. Enabled and Mode of an existing
	// user are kept.
	UpsertUser(ctx context.Context, p *UpsertUserParams) (*User, error)
	// GetUser returns ErrNotFound for an unknown id.
	GetUser(ctx context.Context, id string) (*User, error)
	// ListUsers returns all users ordered by id.
	ListUsers(ctx context.Context) ([]User, error)
	// UpdateUser changes the fields whose pointers are non-nil; ErrNotFound
	// for an unknown id; ErrInvalid for an unknown mode.
	UpdateUser(ctx context.Context, p *UpdateUserParams) (*User, error)
	// DeleteUser removes the user and everything that is theirs: plays,
	// playlist links (playlists no other user tracks go too), imports,
	// sessions, task states. Catalogue rows shared with others stay.
	DeleteUser(ctx context.Context, id string) error
	// SetTaskState records the state of one task of one user.
	SetTaskState(ctx context.Context, p *SetTaskStateParams) error
}

// UpsertUserParams creates or refreshes a user after a login.
type UpsertUserParams struct {
	ID           string
	AccountID    string
	DisplayName  string
	Token        []byte // sealed token
	AuthorizedAt time.Time
	Mode         Mode // for a new user; empty = ModeDefault
	Now          time.Time
}

// UpdateUserParams changes a user; nil fields are left alone.
type UpdateUserParams struct {
	ID           string
	Enabled      *bool
	Mode         *Mode
	NeedsReauth  *bool
	Token        []byte     // nil = unchanged
	AuthorizedAt *time.Time // with Token after a re-login
	Now          time.Time
}

// SetTaskStateParams records one task state.
type SetTaskStateParams struct {
	UserID    string
	Task      Task
	Status    TaskStatus
	LastRunAt time.Time // zero = unchanged
	LastError string
	Now       time.Time
}

// WorkerStore registers serve processes and hands out user leases. Time
// always comes from the caller so that tests pin it and every backend agrees.
//
// Lease rules: a user is leased to at most one worker at a time. A lease is
// (WorkerID, LeaseExpires); it is free when WorkerID is empty or
// LeaseExpires <= Now. Only enabled users that do not need re-auth are claimed.
type WorkerStore interface {
	// RegisterWorker inserts or refreshes a worker row (StartedAt, Heartbeat = Now).
	RegisterWorker(ctx context.Context, p *RegisterWorkerParams) error
	// Heartbeat sets Heartbeat = Now; ErrNotFound when the row was removed
	// (the worker was declared dead and must re-register).
	Heartbeat(ctx context.Context, p *HeartbeatParams) error
	// DeleteStaleWorkers removes workers whose heartbeat is before Before and
	// frees their leases at once. It returns the ids removed.
	DeleteStaleWorkers(ctx context.Context, p *DeleteStaleWorkersParams) ([]string, error)
	// DeleteWorker removes one worker and frees its leases (clean shutdown).
	DeleteWorker(ctx context.Context, id string) error
	// ListWorkers returns the registered workers ordered by id.
	ListWorkers(ctx context.Context) ([]Worker, error)
	// CountClaimable returns the number of enabled users not needing re-auth
	// (the numerator of the fair share).
	CountClaimable(ctx context.Context) (int, error)
	// ClaimUsers leases up to Limit free users to WorkerID until Now+TTL,
	// atomically (no user is ever given to two workers), oldest-unassigned
	// first, and returns them.
	ClaimUsers(ctx context.Context, p *ClaimUsersParams) ([]User, error)
	// RenewLeases extends every lease WorkerID still holds (even if expired,
	// as long as nobody else claimed it) to Now+TTL, and returns those users
	// with their current settings. Users that became disabled or need re-auth
	// are released instead and not returned.
	RenewLeases(ctx context.Context, p *RenewLeasesParams) ([]User, error)
	// ReleaseUsers frees the given users' leases held by WorkerID (others are
	// left alone).
	ReleaseUsers(ctx context.Context, p *ReleaseUsersParams) error
}

// RegisterWorkerParams registers a worker.
type RegisterWorkerParams struct {
	ID  string
	Now time.Time
}

// HeartbeatParams beats a worker's heart.
type HeartbeatParams struct {
	ID  string
	Now time.Time
}

// DeleteStaleWorkersParams removes dead workers.
type DeleteStaleWorkersParams struct {
	Before time.Time
}

// ClaimUsersParams claims users for a worker.
type ClaimUsersParams struct {
	WorkerID string
	Limit    int
	Now      time.Time
	TTL      time.Duration
}

// RenewLeasesParams renews a worker's leases.
type RenewLeasesParams struct {
	WorkerID string
	Now      time.Time
	TTL      time.Duration
}

// ReleaseUsersParams frees leases.
type ReleaseUsersParams struct {
	WorkerID string
	UserIDs  []string
}

// CatalogStore manages tracks, albums and artists.
type CatalogStore interface {
	// UpsertTracks writes tracks with their album and artists. A linked track
	// (from Spotify's API) replaces name, duration, ISRC, album and artists
	// of the stored row; an unlinked track (from an export) is inserted when
	// absent and never overwrites an existing row, so one user's import never
	// renames shared catalogue entries.
	UpsertTracks(ctx context.Context, tracks []Track) error
	// GetTrack returns ErrNotFound for an unknown id.
	GetTrack(ctx context.Context, id string) (*Track, error)
	// UnlinkedTracks returns non-local, unlinked tracks with id > After,
	// ordered by id, at most Limit.
	UnlinkedTracks(ctx context.Context, p *UnlinkedTracksParams) ([]Track, error)
	// MergeCandidates returns groups of two or more linked tracks that share
	// the normalised name and the same non-empty set of artist ids, each
	// group ordered by the most recent play (newest first; never-played last).
	MergeCandidates(ctx context.Context) ([][]Track, error)
	// MergeTracks moves every play, playlist row and reference of From onto
	// Into in one transaction and deletes the From tracks. A moved play that
	// would duplicate an existing (user, played_at, Into) play is dropped.
	// It returns the number of plays moved.
	MergeTracks(ctx context.Context, p *MergeTracksParams) (int, error)
}

// UnlinkedTracksParams pages over tracks the artist linker must resolve.
type UnlinkedTracksParams struct {
	After string
	Limit int
}

// MergeTracksParams merges tracks.
type MergeTracksParams struct {
	Into string
	From []string
}

// PlayStore writes and reads plays.
type PlayStore interface {
	// InsertPlays upserts the plays' tracks (UpsertTracks rules) and inserts
	// the plays for one user in one transaction. A play whose (user,
	// played_at, track) already exists is skipped and counted in Duplicates,
	// never an error. PlayedAt is truncated to the millisecond and stored in
	// UTC. With Import set, the import's counters are advanced in the same
	// transaction, so a crash never leaves plays without their progress.
	InsertPlays(ctx context.Context, p *InsertPlaysParams) (*InsertPlaysResult, error)
	// ListPlays returns the user's plays with PlayedAt in [From, To) (zero =
	// unbounded), oldest first, joined with their tracks.
	ListPlays(ctx context.Context, p *ListPlaysParams) ([]PlayWithTrack, error)
	// LatestPlay returns the newest play of the user from Source (any source
	// when empty), or ErrNotFound.
	LatestPlay(ctx context.Context, userID string, source Source) (*Play, error)
}

// InsertPlaysParams inserts plays.
type InsertPlaysParams struct {
	UserID string
	Plays  []PlayInput
	Import *ImportProgress // optional
}

// ImportProgress is added to an import row together with a batch.
type ImportProgress struct {
	ImportID  string
	Processed int            // entries handled by this batch (added to Import.Processed)
	Excluded  map[string]int // reasons counted in this batch (added)
}

// InsertPlaysResult counts what InsertPlays did.
type InsertPlaysResult struct {
	Inserted   int
	Duplicates int
}

// ListPlaysParams selects plays.
type ListPlaysParams struct {
	UserID string
	From   time.Time
	To     time.Time
}

// PlaylistStore manages playlists and who tracks them.
type PlaylistStore interface {
	// SyncOwnedPlaylists makes the user's "owned" links exactly the given
	// playlists (upserting their metadata) and keeps "added" links. Playlists
	// no user tracks any more are deleted with their rows.
	SyncOwnedPlaylists(ctx context.Context, p *SyncOwnedPlaylistsParams) error
	// AddUserPlaylist upserts the playlist and links it to the user as "added"
	// (an existing "owned" link stays owned).
	AddUserPlaylist(ctx context.Context, p *AddUserPlaylistParams) error
	// RemoveUserPlaylist unlinks it from the user (ErrNotFound when not
	// linked); other users' links and rows are untouched.
	RemoveUserPlaylist(ctx context.Context, userID, playlistID string) error
	// ListUserPlaylists returns the user's playlists ordered by name.
	ListUserPlaylists(ctx context.Context, userID string) ([]UserPlaylist, error)
	// ReplacePlaylistTracks replaces all rows of a playlist in one
	// transaction (tracks upserted by UpsertTracks rules) and records
	// SnapshotID and ScannedAt. ErrNotFound for an unknown playlist.
	ReplacePlaylistTracks(ctx context.Context, p *ReplacePlaylistTracksParams) error
	// ListPlaylistTracks returns the rows in position order with the user's
	// play count and last play of each track.
	ListPlaylistTracks(ctx context.Context, userID, playlistID string) ([]PlaylistTrackStats, error)
}

// SyncOwnedPlaylistsParams sets a user's owned playlists.
type SyncOwnedPlaylistsParams struct {
	UserID    string
	Playlists []Playlist
	Now       time.Time
}

// AddUserPlaylistParams links a playlist to a user.
type AddUserPlaylistParams struct {
	UserID   string
	Playlist Playlist
	Now      time.Time
}

// ReplacePlaylistTracksParams replaces a playlist's rows.
type ReplacePlaylistTracksParams struct {
	PlaylistID string
	SnapshotID string
	Tracks     []PlaylistTrack
	Now        time.Time
}

// ImportStore keeps import records.
type ImportStore interface {
	// CreateImport inserts a new import (ErrConflict when the id exists).
	CreateImport(ctx context.Context, imp *Import) error
	// GetImport returns ErrNotFound for an unknown id.
	GetImport(ctx context.Context, id string) (*Import, error)
	// FindImport returns the newest import of the user with that digest, or ErrNotFound.
	FindImport(ctx context.Context, userID, digest string) (*Import, error)
	// ListImports returns the user's imports, newest first.
	ListImports(ctx context.Context, userID string) ([]Import, error)
	// UpdateImport sets State, Total, Error and UpdatedAt (counters move
	// only through InsertPlays, so they never drift from the plays written).
	UpdateImport(ctx context.Context, p *UpdateImportParams) error
}

// UpdateImportParams changes an import's state.
type UpdateImportParams struct {
	ID    string
	State ImportState
	Total int
	Error string
	Now   time.Time
}

// SessionStore keeps web sessions.
type SessionStore interface {
	CreateSession(ctx context.Context, s *Session) error
	// GetSession returns ErrNotFound for an unknown or expired (ExpiresAt <= now) session.
	GetSession(ctx context.Context, id string, now time.Time) (*Session, error)
	DeleteSession(ctx context.Context, id string) error
	// DeleteExpiredSessions removes sessions with ExpiresAt <= now.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)
}
