package postgres

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/spotifyhist/spotifyhist/store"
)

// upsertPlaylists writes playlist metadata. SnapshotID and ScannedAt
// describe the stored rows: only ReplacePlaylistTracks sets them.
func upsertPlaylists(ctx context.Context, tx pgx.Tx, pls []store.Playlist) error {
	if len(pls) == 0 {
		return nil
	}
	pls = slices.Clone(pls)
	slices.SortStableFunc(pls, func(a, b store.Playlist) int { return strings.Compare(a.ID, b.ID) })
	pls = slices.CompactFunc(pls, func(a, b store.Playlist) bool { return a.ID == b.ID })
	var (
		id, name, owner, ownerName []string
		collab                     []bool
		public                     []*bool
		count                      []int32
	)
	for _, p := range pls {
		id, name, owner, ownerName = append(id, p.ID), append(name, p.Name), append(owner, p.OwnerID), append(ownerName, p.OwnerName)
		collab, public, count = append(collab, p.Collaborative), append(public, p.Public), append(count, int32(p.TrackCount)) //nolint:gosec // playlist sizes are small
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO playlists (id, name, owner_id, owner_name, collaborative, public, track_count)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bool[], $6::bool[], $7::int[])
		ON CONFLICT (id) DO UPDATE SET
			name = excluded.name, owner_id = excluded.owner_id, owner_name = excluded.owner_name,
			collaborative = excluded.collaborative, public = excluded.public, track_count = excluded.track_count`,
		id, name, owner, ownerName, collab, public, count)
	return err
}

// deleteOrphanPlaylists deletes those of ids that no user tracks any more,
// with their rows.
func deleteOrphanPlaylists(ctx context.Context, tx pgx.Tx, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `DELETE FROM playlists p WHERE p.id = ANY($1)
		AND NOT EXISTS (SELECT 1 FROM user_playlists up WHERE up.playlist_id = p.id)`, ids)
	return err
}

func validatePlaylists(op string, pls []store.Playlist) error {
	for _, p := range pls {
		if p.ID == "" {
			return invalid(op, "playlist without an id (%q)", p.Name)
		}
	}
	return nil
}

// SyncOwnedPlaylists makes the user's owned links exactly the given
// playlists, keeping added links.
func (s *Store) SyncOwnedPlaylists(ctx context.Context, p *store.SyncOwnedPlaylistsParams) error {
	const op = "sync owned playlists"
	if err := validatePlaylists(op, p.Playlists); err != nil {
		return err
	}
	ids := make([]string, len(p.Playlists))
	for i, pl := range p.Playlists {
		ids[i] = pl.ID
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	return wrap(op, s.inTx(ctx, func(tx pgx.Tx) error {
		if err := userExists(ctx, tx, p.UserID); err != nil {
			return err
		}
		if err := upsertPlaylists(ctx, tx, p.Playlists); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO user_playlists (user_id, playlist_id, owned, added, added_at)
			SELECT $1, id, true, false, $3 FROM unnest($2::text[]) AS id
			ON CONFLICT (user_id, playlist_id) DO UPDATE SET owned = true`, p.UserID, ids, ts(p.Now)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE user_playlists SET owned = false
			WHERE user_id = $1 AND owned AND added AND NOT (playlist_id = ANY($2))`, p.UserID, ids); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `DELETE FROM user_playlists
			WHERE user_id = $1 AND owned AND NOT added AND NOT (playlist_id = ANY($2))
			RETURNING playlist_id`, p.UserID, ids)
		if err != nil {
			return err
		}
		gone, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		return deleteOrphanPlaylists(ctx, tx, gone)
	}))
}

// AddUserPlaylist upserts the playlist and links it to the user as added.
func (s *Store) AddUserPlaylist(ctx context.Context, p *store.AddUserPlaylistParams) error {
	const op = "add user playlist"
	if err := validatePlaylists(op, []store.Playlist{p.Playlist}); err != nil {
		return err
	}
	return wrap(op, s.inTx(ctx, func(tx pgx.Tx) error {
		if err := userExists(ctx, tx, p.UserID); err != nil {
			return err
		}
		if err := upsertPlaylists(ctx, tx, []store.Playlist{p.Playlist}); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `
			INSERT INTO user_playlists (user_id, playlist_id, owned, added, added_at)
			VALUES ($1, $2, false, true, $3)
			ON CONFLICT (user_id, playlist_id) DO UPDATE SET added = true`, p.UserID, p.Playlist.ID, ts(p.Now))
		return err
	}))
}

// RemoveUserPlaylist unlinks the playlist from the user, deleting it when
// no other user tracks it.
func (s *Store) RemoveUserPlaylist(ctx context.Context, userID, playlistID string) error {
	const op = "remove user playlist"
	return wrap(op, s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM user_playlists WHERE user_id = $1 AND playlist_id = $2`, userID, playlistID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return notFound(op, "playlist %q is not linked to user %q", playlistID, userID)
		}
		return deleteOrphanPlaylists(ctx, tx, []string{playlistID})
	}))
}

// ListUserPlaylists returns the user's playlists ordered by name.
func (s *Store) ListUserPlaylists(ctx context.Context, userID string) ([]store.UserPlaylist, error) {
	const op = "list user playlists"
	rows, err := s.pool.Query(ctx, `
		SELECT p.id, p.name, p.owner_id, p.owner_name, p.snapshot_id, p.collaborative, p.public,
			p.track_count, p.scanned_at, up.owned, up.added_at
		FROM user_playlists up JOIN playlists p ON p.id = up.playlist_id
		WHERE up.user_id = $1
		ORDER BY p.name, p.id`, userID)
	if err != nil {
		return nil, wrap(op, err)
	}
	var (
		out       []store.UserPlaylist
		up        store.UserPlaylist
		count     int32
		scannedAt *time.Time
		owned     bool
	)
	if _, err := pgx.ForEachRow(rows, []any{&up.ID, &up.Name, &up.OwnerID, &up.OwnerName, &up.SnapshotID,
		&up.Collaborative, &up.Public, &count, &scannedAt, &owned, &up.AddedAt}, func() error {
		v := up
		v.TrackCount = int(count)
		v.ScannedAt = fromNull(scannedAt)
		v.AddedAt = v.AddedAt.UTC()
		v.Origin = store.PlaylistAdded
		if owned {
			v.Origin = store.PlaylistOwned
		}
		if up.Public != nil {
			b := *up.Public
			v.Public = &b
		}
		out = append(out, v)
		return nil
	}); err != nil {
		return nil, wrap(op, err)
	}
	return out, nil
}

// ReplacePlaylistTracks replaces every row of the playlist and records the
// snapshot they were read from.
func (s *Store) ReplacePlaylistTracks(ctx context.Context, p *store.ReplacePlaylistTracksParams) error {
	const op = "replace playlist tracks"
	tracks := make([]store.Track, 0, len(p.Tracks))
	pos := make([]int32, len(p.Tracks))
	ids := make([]string, len(p.Tracks))
	status := make([]string, len(p.Tracks))
	added := make([]*time.Time, len(p.Tracks))
	for i, r := range p.Tracks {
		switch r.Status {
		case store.PlaylistTrackPlayable, store.PlaylistTrackUnplayable, store.PlaylistTrackLocal:
		default:
			return invalid(op, "row %d: unknown status %q", r.Position, r.Status)
		}
		if r.Position < 0 {
			return invalid(op, "row %d: negative position", r.Position)
		}
		if slices.Contains(pos[:i], int32(r.Position)) { //nolint:gosec // positions are small
			return invalid(op, "row %d: position given twice", r.Position)
		}
		tracks = append(tracks, r.Track)
		pos[i], ids[i], status[i], added[i] = int32(r.Position), r.Track.ID, string(r.Status), nullTS(r.AddedAt) //nolint:gosec // positions are small
	}
	tracks, err := prepareTracks(op, tracks)
	if err != nil {
		return err
	}
	return wrap(op, s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE playlists SET snapshot_id = $2, scanned_at = $3 WHERE id = $1`,
			p.PlaylistID, p.SnapshotID, ts(p.Now))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return notFound(op, "playlist %q", p.PlaylistID)
		}
		changes, _, err := upsertTracks(ctx, tx, tracks)
		if err != nil {
			return err
		}
		if err := recredit(ctx, tx, changes); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM playlist_tracks WHERE playlist_id = $1`, p.PlaylistID); err != nil {
			return err
		}
		if len(pos) == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO playlist_tracks (playlist_id, position, track_id, status, added_at)
			SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::timestamptz[])`,
			p.PlaylistID, pos, ids, status, added)
		return err
	}))
}

// ListPlaylistTracks returns the playlist's rows in position order with the
// user's play count and last play of each track.
func (s *Store) ListPlaylistTracks(ctx context.Context, userID, playlistID string) ([]store.PlaylistTrackStats, error) {
	const op = "list playlist tracks"
	var out []store.PlaylistTrackStats
	err := s.read(ctx, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM playlists WHERE id = $1`, playlistID).Scan(&one); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return notFound(op, "playlist %q", playlistID)
			}
			return err
		}
		rows, err := tx.Query(ctx, `
			SELECT pt.position, pt.track_id, pt.status, pt.added_at, coalesce(ut.plays, 0), ut.last_played
			FROM playlist_tracks pt
			LEFT JOIN user_tracks ut ON ut.user_id = $2 AND ut.track_id = pt.track_id
			WHERE pt.playlist_id = $1
			ORDER BY pt.position`, playlistID, userID)
		if err != nil {
			return err
		}
		var (
			r           store.PlaylistTrackStats
			pos         int32
			status      string
			added, last *time.Time
			ids         []string
		)
		if _, err := pgx.ForEachRow(rows, []any{&pos, &r.Track.ID, &status, &added, &r.Plays, &last}, func() error {
			v := r
			v.Position, v.Status, v.AddedAt, v.LastPlayed = int(pos), store.PlaylistTrackStatus(status), fromNull(added), fromNull(last)
			out = append(out, v)
			ids = append(ids, v.Track.ID)
			return nil
		}); err != nil {
			return err
		}
		tracks, err := loadTracks(ctx, tx, ids)
		if err != nil {
			return err
		}
		for i := range out {
			out[i].Track = tracks[out[i].Track.ID]
		}
		return nil
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	return out, nil
}
