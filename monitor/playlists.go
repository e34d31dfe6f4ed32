package monitor

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/store"
)

// PlaylistUnavailableTrackID is the catalogue id of the placeholder track
// that stands for a playlist row whose content Spotify no longer serves (the
// row's item is null). Such rows are stored with status
// [store.PlaylistTrackUnplayable] so that positions and counts match what the
// user sees in Spotify. The placeholder has an empty name, no album and no
// artists, and is marked linked so the artist linker leaves it alone; it can
// never collide with a Spotify id (base-62), a local-file id ("local:…") or
// a provisional id ("n:…").
const PlaylistUnavailableTrackID = "unavailable:"

// ErrInvalidPlaylistRef: the text given to [AddPlaylistByURL] or
// [ParsePlaylistRef] is not a Spotify playlist link, URI or id.
var ErrInvalidPlaylistRef = errors.New("monitor: not a Spotify playlist link, URI or id")

// playlistMetadataFetcher reads one playlist's metadata from Spotify;
// *spotifyhist.Client implements it.
type playlistMetadataFetcher interface {
	Playlist(ctx context.Context, id string) (*spotifyhist.Playlist, error)
}

// playlistFetcher is what the playlist scanner reads from Spotify;
// *spotifyhist.Client implements it.
type playlistFetcher interface {
	playlistMetadataFetcher
	MyPlaylists(ctx context.Context) ([]spotifyhist.Playlist, error)
	PlaylistItems(ctx context.Context, id string) ([]spotifyhist.PlaylistItem, error)
}

// playlistAddStore is the part of the storage contract AddPlaylistByURL uses.
type playlistAddStore interface {
	AddUserPlaylist(ctx context.Context, p *store.AddUserPlaylistParams) error
}

// playlistScanStore is the part of the storage contract the playlist scanner
// uses.
type playlistScanStore interface {
	playlistAddStore
	SyncOwnedPlaylists(ctx context.Context, p *store.SyncOwnedPlaylistsParams) error
	ListUserPlaylists(ctx context.Context, userID string) ([]store.UserPlaylist, error)
	ReplacePlaylistTracks(ctx context.Context, p *store.ReplacePlaylistTracksParams) error
}

// PlaylistScanResult summarises one run of [ScanPlaylists].
type PlaylistScanResult struct {
	// Playlists is the number of playlists the user tracks (owned, followed
	// and added by hand).
	Playlists int `json:"playlists"`
	// Scanned is the number of playlists whose rows were fetched and
	// replaced because their snapshot changed or they were never scanned.
	Scanned int `json:"scanned"`
	// Unchanged is the number of playlists skipped because Spotify reports
	// the snapshot already stored.
	Unchanged int `json:"unchanged"`
	// Rows is the number of rows stored by this run.
	Rows int `json:"rows"`
	// Unplayable counts the stored rows with status unplayable (content
	// removed from Spotify).
	Unplayable int `json:"unplayable"`
	// Local counts the stored rows that are local files.
	Local int `json:"local"`
	// SkippedRows counts rows not stored: podcast episodes and items of
	// types the tracker does not know. Their positions are left out, so the
	// stored positions keep Spotify's numbering with gaps.
	SkippedRows int `json:"skipped_rows"`
	// Unreadable lists playlists whose rows Spotify refused (403): in
	// Development Mode only the owner and collaborators may read a
	// playlist's rows. Their metadata is kept up to date and their stored
	// rows, if any, are kept.
	Unreadable []string `json:"unreadable,omitempty"`
	// Missing lists playlists added by hand that Spotify no longer knows
	// (404); their stored rows are kept.
	Missing []string `json:"missing,omitempty"`
	// Failed lists playlists whose scan failed for another reason (see the
	// returned error); their stored rows are untouched and they are scanned
	// again next time.
	Failed []string `json:"failed,omitempty"`
}

// ScanPlaylists brings one user's stored playlists up to date with Spotify.
//
// It reads /me/playlists (what the user owns and follows, as Spotify lists
// it) and makes those the user's "owned" playlists, refreshes the metadata
// of the playlists the user added by hand, and then, for every playlist
// whose snapshot_id differs from the one stored at its last scan (or that
// was never scanned), fetches all pages of its rows before replacing the
// stored rows in one transaction. A failure on any page therefore leaves the
// stored rows exactly as they were, and the playlist is scanned again next
// time.
//
// Rows are stored with Spotify's 0-based position and status
// [store.PlaylistTrackLocal] for local files, [store.PlaylistTrackUnplayable]
// for rows whose content was removed (stored against
// [PlaylistUnavailableTrackID]) and [store.PlaylistTrackPlayable] otherwise.
// Podcast episodes are not music tracks and are skipped (counted in
// SkippedRows). Tracks found in playlists are written to the catalogue as
// linked tracks.
//
// A playlist whose rows Spotify refuses (403, Development Mode: the user is
// neither owner nor collaborator) keeps its metadata and any stored rows and
// is listed in Unreadable; a hand-added playlist Spotify no longer knows is
// listed in Missing. Neither is an error.
//
// The calls run with the priority carried by ctx ([spotifyhist.WithPriority]):
// monitor priority by default, interactive when a person waits for it. A
// rate limit, a rejected token ([spotifyhist.ErrReauthRequired]), a database
// error or the end of ctx stop the scan and return the error with the result
// so far; other failures of one playlist are listed in Failed, the scan goes
// on, and the returned error wraps them. ScanPlaylists never deletes rows
// another user relies on: leaving a playlist only unlinks it for this user
// (store rule).
func ScanPlaylists(ctx context.Context, st playlistScanStore, c playlistFetcher, userID string, now time.Time) (*PlaylistScanResult, error) {
	res := &PlaylistScanResult{}
	wrapErr := func(op string, err error) error {
		return fmt.Errorf("monitor: scan playlists of user %q: %s: %w", userID, op, err)
	}

	before, err := st.ListUserPlaylists(ctx, userID)
	if err != nil {
		return res, wrapErr("list stored playlists", err)
	}
	stored := make(map[string]store.UserPlaylist, len(before))
	for _, p := range before {
		stored[p.ID] = p
	}

	mine, err := c.MyPlaylists(ctx)
	if err != nil {
		return res, wrapErr("fetch /me/playlists", err)
	}
	// current holds Spotify's metadata of every playlist the user tracks.
	current := make(map[string]spotifyhist.Playlist, len(mine)+len(before))
	owned := make([]store.Playlist, 0, len(mine))
	for _, p := range mine {
		if p.ID == "" {
			continue
		}
		if _, dup := current[p.ID]; dup {
			continue
		}
		current[p.ID] = p
		owned = append(owned, playlistScannerMetadata(p, stored))
	}
	if err := st.SyncOwnedPlaylists(ctx, &store.SyncOwnedPlaylistsParams{UserID: userID, Playlists: owned, Now: now}); err != nil {
		return res, wrapErr("store owned playlists", err)
	}

	after, err := st.ListUserPlaylists(ctx, userID)
	if err != nil {
		return res, wrapErr("list stored playlists", err)
	}
	res.Playlists = len(after)
	storedNow := make(map[string]store.UserPlaylist, len(after))
	for _, p := range after {
		storedNow[p.ID] = p
	}

	// Playlists added by hand that /me/playlists does not list: refresh
	// their metadata one by one.
	var failures []error
	for _, p := range after {
		if _, ok := current[p.ID]; ok || p.Origin != store.PlaylistAdded {
			continue
		}
		meta, err := c.Playlist(ctx, p.ID)
		switch {
		case err == nil:
		case errors.Is(err, spotifyhist.ErrNotFound):
			res.Missing = append(res.Missing, p.ID)
			continue
		case errors.Is(err, spotifyhist.ErrForbidden):
			res.Unreadable = append(res.Unreadable, p.ID)
			continue
		case playlistScannerFatal(ctx, err):
			return res, wrapErr("fetch playlist "+p.ID, err)
		default:
			res.Failed = append(res.Failed, p.ID)
			failures = append(failures, fmt.Errorf("fetch playlist %s: %w", p.ID, err))
			continue
		}
		if meta.ID == "" {
			meta.ID = p.ID
		}
		current[p.ID] = *meta
		if err := st.AddUserPlaylist(ctx, &store.AddUserPlaylistParams{UserID: userID, Playlist: playlistScannerMetadata(*meta, storedNow), Now: now}); err != nil {
			return res, wrapErr("store playlist "+p.ID, err)
		}
	}

	for _, p := range after {
		meta, ok := current[p.ID]
		if !ok {
			// Missing, unreadable or failed above: nothing to compare with.
			continue
		}
		if !p.ScannedAt.IsZero() && p.SnapshotID != "" && p.SnapshotID == meta.SnapshotID {
			res.Unchanged++
			continue
		}
		if err := ctx.Err(); err != nil {
			return res, wrapErr("scan", err)
		}
		items, err := c.PlaylistItems(ctx, p.ID)
		switch {
		case err == nil:
		case errors.Is(err, spotifyhist.ErrForbidden):
			res.Unreadable = append(res.Unreadable, p.ID)
			continue
		case errors.Is(err, spotifyhist.ErrNotFound):
			res.Missing = append(res.Missing, p.ID)
			continue
		case playlistScannerFatal(ctx, err):
			return res, wrapErr("fetch rows of playlist "+p.ID, err)
		default:
			res.Failed = append(res.Failed, p.ID)
			failures = append(failures, fmt.Errorf("fetch rows of playlist %s: %w", p.ID, err))
			continue
		}
		rows, counts := playlistScannerRows(items)
		err = st.ReplacePlaylistTracks(ctx, &store.ReplacePlaylistTracksParams{
			PlaylistID: p.ID,
			SnapshotID: meta.SnapshotID,
			Tracks:     rows,
			Now:        now,
		})
		if err != nil {
			return res, wrapErr("store rows of playlist "+p.ID, err)
		}
		res.Scanned++
		res.Rows += len(rows)
		res.Unplayable += counts.unplayable
		res.Local += counts.local
		res.SkippedRows += counts.skipped
	}
	if len(failures) > 0 {
		return res, fmt.Errorf("monitor: scan playlists of user %q: %d playlists failed: %w", userID, len(failures), errors.Join(failures...))
	}
	return res, nil
}

// playlistScannerFatal reports whether err ends the whole scan rather than
// one playlist's: later calls would fail the same way.
func playlistScannerFatal(ctx context.Context, err error) bool {
	return ctx.Err() != nil ||
		errors.Is(err, spotifyhist.ErrRateLimited) ||
		errors.Is(err, spotifyhist.ErrReauthRequired) ||
		errors.Is(err, spotifyhist.ErrInvalidClient) ||
		errors.Is(err, spotifyhist.ErrUnauthorized)
}

// playlistScannerMetadata converts Spotify's metadata for storage. The
// snapshot id and scan time stored are kept as they were: they describe the
// stored rows, and only ReplacePlaylistTracks may move them forward, so that
// a scan that fails before replacing the rows is retried next time.
func playlistScannerMetadata(p spotifyhist.Playlist, stored map[string]store.UserPlaylist) store.Playlist {
	out := store.Playlist{
		ID:            p.ID,
		Name:          p.Name,
		OwnerID:       p.OwnerID,
		OwnerName:     p.OwnerName,
		Collaborative: p.Collaborative,
		Public:        p.Public,
		TrackCount:    p.Total,
	}
	if old, ok := stored[p.ID]; ok {
		out.SnapshotID = old.SnapshotID
		out.ScannedAt = old.ScannedAt
	}
	return out
}

type playlistScannerCounts struct {
	unplayable, local, skipped int
}

// playlistScannerRows converts fetched rows for storage.
func playlistScannerRows(items []spotifyhist.PlaylistItem) ([]store.PlaylistTrack, playlistScannerCounts) {
	var counts playlistScannerCounts
	rows := make([]store.PlaylistTrack, 0, len(items))
	for _, it := range items {
		row := store.PlaylistTrack{Position: it.Position, AddedAt: it.AddedAt}
		switch {
		case it.Type == spotifyhist.ItemTrack && it.Track != nil && it.Track.ID != "":
			row.Track = storeTrack(it.Track)
			row.Status = store.PlaylistTrackPlayable
			if row.Track.IsLocal {
				row.Status = store.PlaylistTrackLocal
				counts.local++
			}
		case it.Type == spotifyhist.ItemTrack, it.Type == spotifyhist.ItemUnavailable:
			// A null item, or a track Spotify sends without an id: the
			// content is gone.
			row.Track = store.Track{ID: PlaylistUnavailableTrackID, Linked: true}
			row.Status = store.PlaylistTrackUnplayable
			counts.unplayable++
		default:
			// Episodes and unknown item types are not music tracks.
			counts.skipped++
			continue
		}
		rows = append(rows, row)
	}
	return rows, counts
}

// AddPlaylistByURL links a playlist the user does not own or follow to the
// user ("added"), so that the playlist scanner keeps it up to date. urlOrID
// is a link as Spotify shares it (https://open.spotify.com/playlist/ID?si=…),
// a URI (spotify:playlist:ID) or a bare id; see [ParsePlaylistRef].
//
// It fetches the playlist's metadata to check that it exists and stores it;
// the rows are read by the next scan. Errors: [ErrInvalidPlaylistRef] for
// text that names no playlist; an error wrapping [spotifyhist.ErrNotFound]
// when Spotify does not know the playlist, and [spotifyhist.ErrForbidden]
// when Spotify refuses to show it. Adding a playlist the user already
// tracks is not an error (an owned link stays owned).
func AddPlaylistByURL(ctx context.Context, st playlistAddStore, c playlistMetadataFetcher, userID, urlOrID string, now time.Time) (*store.Playlist, error) {
	id, err := ParsePlaylistRef(urlOrID)
	if err != nil {
		return nil, fmt.Errorf("monitor: add playlist: %w", err)
	}
	meta, err := c.Playlist(ctx, id)
	switch {
	case err == nil:
	case errors.Is(err, spotifyhist.ErrNotFound):
		return nil, fmt.Errorf("monitor: add playlist %s: Spotify has no such playlist: %w", id, err)
	case errors.Is(err, spotifyhist.ErrForbidden):
		return nil, fmt.Errorf("monitor: add playlist %s: Spotify refused to show it: %w", id, err)
	default:
		return nil, fmt.Errorf("monitor: add playlist %s: %w", id, err)
	}
	if meta.ID == "" {
		meta.ID = id
	}
	// No snapshot: the rows are not stored yet, so the next scan reads them.
	p := playlistScannerMetadata(*meta, nil)
	if err := st.AddUserPlaylist(ctx, &store.AddUserPlaylistParams{UserID: userID, Playlist: p, Now: now}); err != nil {
		return nil, fmt.Errorf("monitor: add playlist %s: %w", id, err)
	}
	return &p, nil
}

// playlistScannerIDLen is the length of every Spotify playlist id.
const playlistScannerIDLen = 22

// ParsePlaylistRef returns the playlist id named by s, which may be:
//   - a link, e.g. https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M?si=…
//     (also with an /intl-xx/ or /embed/ prefix, or the old /user/NAME/playlist/ID form);
//   - a URI, spotify:playlist:ID or the old spotify:user:NAME:playlist:ID;
//   - a bare 22-character base-62 id.
//
// Anything else gives an error wrapping [ErrInvalidPlaylistRef].
func ParsePlaylistRef(s string) (string, error) {
	s = strings.TrimSpace(s)
	bad := func(why string) (string, error) {
		shown := s
		if len(shown) > 100 {
			shown = shown[:100] + "…"
		}
		return "", fmt.Errorf("%w: %q: %s", ErrInvalidPlaylistRef, shown, why)
	}
	switch {
	case s == "":
		return bad("empty")
	case strings.HasPrefix(strings.ToLower(s), "spotify:"):
		parts := strings.Split(s, ":")
		n := len(parts)
		if n >= 3 && strings.EqualFold(parts[n-2], "playlist") && (n == 3 || n == 5 && strings.EqualFold(parts[1], "user")) {
			return playlistScannerCheckID(parts[n-1], bad)
		}
		return bad("want spotify:playlist:ID")
	case strings.Contains(s, "/"):
		raw := s
		if !strings.Contains(raw, "://") {
			raw = "https://" + raw
		}
		u, err := url.Parse(raw)
		if err != nil {
			return bad("not a link")
		}
		host := strings.ToLower(u.Hostname())
		if host != "open.spotify.com" && host != "play.spotify.com" {
			return bad("not an open.spotify.com link")
		}
		segs := strings.Split(strings.Trim(u.Path, "/"), "/")
		for i := 0; i+1 < len(segs); i++ {
			if segs[i] == "playlist" {
				if i+2 != len(segs) {
					break
				}
				return playlistScannerCheckID(segs[i+1], bad)
			}
		}
		return bad("not a playlist link")
	default:
		return playlistScannerCheckID(s, bad)
	}
}

func playlistScannerCheckID(id string, bad func(string) (string, error)) (string, error) {
	if len(id) != playlistScannerIDLen {
		return bad(fmt.Sprintf("a playlist id has %d characters", playlistScannerIDLen))
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return bad("a playlist id has only letters and digits")
		}
	}
	return id, nil
}
