package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/spotifyhist/spotifyhist/store"
)

var validRowStatus = map[store.PlaylistTrackStatus]bool{
	store.PlaylistTrackPlayable: true, store.PlaylistTrackUnplayable: true, store.PlaylistTrackLocal: true,
}

// upsertPlaylist writes a playlist's metadata (never SnapshotID or ScannedAt,
// which describe the stored rows) and returns its pk.
func upsertPlaylist(ctx context.Context, tx *sql.Tx, p *store.Playlist) (int64, error) {
	if p.ID == "" {
		return 0, invalid("playlist without an id (%q)", p.Name)
	}
	public := sql.NullInt64{}
	if p.Public != nil {
		public = sql.NullInt64{Int64: int64(boolInt(*p.Public)), Valid: true}
	}
	var pk int64
	err := tx.QueryRowContext(ctx, `INSERT INTO playlists (id, name, owner_id, owner_name, collaborative, public, track_count)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, owner_id = excluded.owner_id, owner_name = excluded.owner_name,
			collaborative = excluded.collaborative, public = excluded.public, track_count = excluded.track_count
		RETURNING pk`,
		p.ID, p.Name, p.OwnerID, p.OwnerName, boolInt(p.Collaborative), public, p.TrackCount).Scan(&pk)
	return pk, err
}

// deleteOrphanPlaylists removes playlists no user tracks.
func deleteOrphanPlaylists(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM playlists WHERE NOT EXISTS (
		SELECT 1 FROM user_playlists up WHERE up.playlist_pk = playlists.pk)`)
	return err
}

// SyncOwnedPlaylists makes the user's owned links exactly the given playlists.
func (s *Store) SyncOwnedPlaylists(ctx context.Context, p *store.SyncOwnedPlaylistsParams) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		user, err := userPK(ctx, tx, p.UserID)
		if err != nil {
			return err
		}
		keep := make([]any, 0, len(p.Playlists))
		for i := range p.Playlists {
			pk, err := upsertPlaylist(ctx, tx, &p.Playlists[i])
			if err != nil {
				return err
			}
			keep = append(keep, pk)
			if _, err := tx.ExecContext(ctx, `INSERT INTO user_playlists (user_pk, playlist_pk, origin, added_at) VALUES (?, ?, 'owned', ?)
				ON CONFLICT DO UPDATE SET origin = 'owned'`, user, pk, msOf(p.Now)); err != nil {
				return err
			}
		}
		q := `DELETE FROM user_playlists WHERE user_pk = ? AND origin = 'owned'`
		if len(keep) > 0 {
			q += ` AND playlist_pk NOT IN ` + placeholders(len(keep))
		}
		if _, err := tx.ExecContext(ctx, q, append([]any{user}, keep...)...); err != nil {
			return err
		}
		return deleteOrphanPlaylists(ctx, tx)
	})
	return wrap("sync owned playlists", err)
}

// AddUserPlaylist upserts the playlist and links it to the user as added.
func (s *Store) AddUserPlaylist(ctx context.Context, p *store.AddUserPlaylistParams) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		user, err := userPK(ctx, tx, p.UserID)
		if err != nil {
			return err
		}
		pk, err := upsertPlaylist(ctx, tx, &p.Playlist)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO user_playlists (user_pk, playlist_pk, origin, added_at) VALUES (?, ?, 'added', ?)
			ON CONFLICT DO NOTHING`, user, pk, msOf(p.Now))
		return err
	})
	return wrap("add user playlist", err)
}

// RemoveUserPlaylist unlinks a playlist from the user.
func (s *Store) RemoveUserPlaylist(ctx context.Context, userID, playlistID string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM user_playlists
			WHERE user_pk = (SELECT pk FROM users WHERE id = ?) AND playlist_pk = (SELECT pk FROM playlists WHERE id = ?)`,
			userID, playlistID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("playlist link", userID+"/"+playlistID)
		}
		return nil
	})
	return wrap("remove user playlist", err)
}

// ListUserPlaylists returns the user's playlists ordered by name.
func (s *Store) ListUserPlaylists(ctx context.Context, userID string) ([]store.UserPlaylist, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT p.id, p.name, p.owner_id, p.owner_name, p.snapshot_id, p.collaborative,
			p.public, p.track_count, p.scanned_at, up.origin, up.added_at
		FROM user_playlists up
		JOIN users u ON u.pk = up.user_pk
		JOIN playlists p ON p.pk = up.playlist_pk
		WHERE u.id = ? ORDER BY p.name, p.id`, userID)
	if err != nil {
		return nil, wrap("list user playlists", err)
	}
	defer rows.Close()
	var out []store.UserPlaylist
	for rows.Next() {
		var (
			up      store.UserPlaylist
			collab  int
			public  sql.NullInt64
			scanned sql.NullInt64
			origin  string
			added   int64
		)
		if err := rows.Scan(&up.ID, &up.Name, &up.OwnerID, &up.OwnerName, &up.SnapshotID, &collab, &public,
			&up.TrackCount, &scanned, &origin, &added); err != nil {
			return nil, wrap("list user playlists", err)
		}
		up.Collaborative, up.ScannedAt = collab == 1, timeOfNull(scanned)
		if public.Valid {
			v := public.Int64 == 1
			up.Public = &v
		}
		up.Origin, up.AddedAt = store.PlaylistOrigin(origin), timeOf(added)
		out = append(out, up)
	}
	return out, wrap("list user playlists", rows.Err())
}

// ReplacePlaylistTracks replaces all rows of a playlist in one transaction.
func (s *Store) ReplacePlaylistTracks(ctx context.Context, p *store.ReplacePlaylistTracksParams) error {
	tracks := make([]store.Track, len(p.Tracks))
	for i := range p.Tracks {
		r := &p.Tracks[i]
		if !validRowStatus[r.Status] {
			return wrap("replace playlist tracks", invalid("row %d: unknown status %q", r.Position, r.Status))
		}
		if err := validateTrack(&r.Track); err != nil {
			return wrap("replace playlist tracks", err)
		}
		tracks[i] = r.Track
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var pl int64
		err := tx.QueryRowContext(ctx, `SELECT pk FROM playlists WHERE id = ?`, p.PlaylistID).Scan(&pl)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("playlist", p.PlaylistID)
		}
		if err != nil {
			return err
		}
		refs, err := upsertTracks(ctx, tx, tracks)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM playlist_tracks WHERE playlist_pk = ?`, pl); err != nil {
			return err
		}
		ins, err := tx.PrepareContext(ctx, `INSERT INTO playlist_tracks (playlist_pk, position, track_pk, status, added_at) VALUES (?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		for _, r := range p.Tracks {
			if _, err := ins.ExecContext(ctx, pl, r.Position, refs[r.Track.ID].pk, string(r.Status), nullMS(r.AddedAt)); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE playlists SET snapshot_id = ?, scanned_at = ? WHERE pk = ?`, p.SnapshotID, msOf(p.Now), pl)
		return err
	})
	return wrap("replace playlist tracks", err)
}

// ListPlaylistTracks returns the rows in position order with the user's play
// count and last play of each track.
func (s *Store) ListPlaylistTracks(ctx context.Context, userID, playlistID string) ([]store.PlaylistTrackStats, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT pt.position, pt.track_pk, pt.status, pt.added_at,
			COALESCE(r.plays, 0), r.last
		FROM playlists p
		JOIN playlist_tracks pt ON pt.playlist_pk = p.pk
		LEFT JOIN rollups r ON r.user_pk = (SELECT pk FROM users WHERE id = ?) AND r.kind = `+itoa(kindTrack)+`
			AND r.period = `+itoa(periodAll)+` AND r.item = pt.track_pk
		WHERE p.id = ? ORDER BY pt.position`, userID, playlistID)
	if err != nil {
		return nil, wrap("list playlist tracks", err)
	}
	var (
		out []store.PlaylistTrackStats
		pks []int64
	)
	for rows.Next() {
		var (
			r      store.PlaylistTrackStats
			pk     int64
			status string
			added  sql.NullInt64
			last   sql.NullInt64
		)
		if err := rows.Scan(&r.Position, &pk, &status, &added, &r.Plays, &last); err != nil {
			rows.Close()
			return nil, wrap("list playlist tracks", err)
		}
		r.Status, r.AddedAt, r.LastPlayed = store.PlaylistTrackStatus(status), timeOfNull(added), timeOfNull(last)
		out = append(out, r)
		pks = append(pks, pk)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap("list playlist tracks", err)
	}
	tracks, err := loadTracks(ctx, s.read, pks)
	if err != nil {
		return nil, wrap("list playlist tracks", err)
	}
	for i := range out {
		out[i].Track = *tracks[pks[i]]
	}
	return out, nil
}
