package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/spotifyhist/spotifyhist/store"
)

// Play sources as stored (plays.source).
var sourceCodes = map[store.Source]int{store.SourceHistory: 1, store.SourceRealtime: 2, store.SourceImport: 3}

var sourceNames = map[int]store.Source{1: store.SourceHistory, 2: store.SourceRealtime, 3: store.SourceImport}

// InsertPlays upserts the plays' tracks and inserts the plays for one user
// in one transaction, with their rollups and the import's progress.
func (s *Store) InsertPlays(ctx context.Context, p *store.InsertPlaysParams) (*store.InsertPlaysResult, error) {
	defer s.observe("insert_plays", time.Now())
	tracks := make([]store.Track, len(p.Plays))
	for i := range p.Plays {
		in := &p.Plays[i]
		if _, ok := sourceCodes[in.Source]; !ok {
			return nil, wrap("insert plays", invalid("play %d: unknown source %q", i, in.Source))
		}
		if in.PlayedAt.IsZero() {
			return nil, wrap("insert plays", invalid("play %d: zero PlayedAt", i))
		}
		if err := validateTrack(&in.Track); err != nil {
			return nil, wrap("insert plays", err)
		}
		tracks[i] = in.Track
	}
	res := &store.InsertPlaysResult{}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		user, err := userPK(ctx, tx, p.UserID)
		if err != nil {
			return err
		}
		var imp sql.NullInt64
		var excluded string
		if p.Import != nil {
			var owner int64
			err := tx.QueryRowContext(ctx, `SELECT pk, user_pk, excluded FROM imports WHERE id = ?`, p.Import.ImportID).Scan(&imp, &owner, &excluded)
			if errors.Is(err, sql.ErrNoRows) {
				return notFound("import", p.Import.ImportID)
			}
			if err != nil {
				return err
			}
			if owner != user {
				return invalid("import %q belongs to another user", p.Import.ImportID)
			}
		}
		refs, err := upsertTracks(ctx, tx, tracks)
		if err != nil {
			return err
		}
		pks := make(map[string]int64, len(refs))
		for id, r := range refs {
			pks[id] = r.pk
		}
		inserted, err := writeBatch(ctx, tx, user, imp, p.Plays, pks)
		if err != nil {
			return err
		}
		res.Inserted = inserted
		res.Duplicates = len(p.Plays) - inserted
		if p.Import == nil {
			return nil
		}
		ex := map[string]int{}
		if err := json.Unmarshal([]byte(excluded), &ex); err != nil {
			return err
		}
		for k, v := range p.Import.Excluded {
			ex[k] += v
		}
		exJSON, err := json.Marshal(ex)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE imports SET processed = processed + ?, imported = imported + ?,
			duplicates = duplicates + ?, excluded = ? WHERE pk = ?`,
			p.Import.Processed, res.Inserted, res.Duplicates, string(exJSON), imp)
		return err
	})
	if err != nil {
		return nil, wrap("insert plays", err)
	}
	return res, nil
}

const playColumns = `u.id, p.played_at, p.track_pk, p.ms_played, p.source, COALESCE(i.id, '')`

// scanPlays reads playColumns rows and joins their tracks.
func scanPlays(ctx context.Context, q queryer, rows *sql.Rows) ([]store.PlayWithTrack, error) {
	var (
		out []store.PlayWithTrack
		pks []int64
	)
	for rows.Next() {
		var (
			pw     store.PlayWithTrack
			at, tr int64
			source int
		)
		if err := rows.Scan(&pw.UserID, &at, &tr, &pw.MSPlayed, &source, &pw.ImportID); err != nil {
			rows.Close()
			return nil, err
		}
		pw.PlayedAt, pw.Source = timeOf(at), sourceNames[source]
		out = append(out, pw)
		pks = append(pks, tr)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	tracks, err := loadTracks(ctx, q, pks)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Track = *tracks[pks[i]]
		out[i].TrackID = out[i].Track.ID
	}
	return out, nil
}

// ListPlays returns the user's plays with PlayedAt in [From, To), oldest first.
func (s *Store) ListPlays(ctx context.Context, p *store.ListPlaysParams) ([]store.PlayWithTrack, error) {
	b := psq.Select(playColumns).From("plays p").
		Join("users u ON u.pk = p.user_pk").LeftJoin("imports i ON i.pk = p.import_pk").
		Where("u.id = ?", p.UserID).OrderBy("p.played_at", "p.track_pk")
	if !p.From.IsZero() {
		b = b.Where("p.played_at >= ?", msOf(p.From))
	}
	if !p.To.IsZero() {
		b = b.Where("p.played_at < ?", msOf(p.To))
	}
	query, args, err := b.ToSql()
	if err != nil {
		return nil, wrap("list plays", err)
	}
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrap("list plays", err)
	}
	out, err := scanPlays(ctx, s.read, rows)
	return out, wrap("list plays", err)
}

// LatestPlay returns the newest play of the user from source (any when empty).
func (s *Store) LatestPlay(ctx context.Context, userID string, source store.Source) (*store.Play, error) {
	b := psq.Select(playColumns).From("plays p").
		Join("users u ON u.pk = p.user_pk").LeftJoin("imports i ON i.pk = p.import_pk").
		Where("u.id = ?", userID).OrderBy("p.played_at DESC").Limit(1)
	if source != "" {
		code, ok := sourceCodes[source]
		if !ok {
			return nil, wrap("latest play", invalid("unknown source %q", source))
		}
		b = b.Where("p.source = ?", code)
	}
	query, args, err := b.ToSql()
	if err != nil {
		return nil, wrap("latest play", err)
	}
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrap("latest play", err)
	}
	out, err := scanPlays(ctx, s.read, rows)
	if err != nil {
		return nil, wrap("latest play", err)
	}
	if len(out) == 0 {
		return nil, wrap("latest play", notFound("play of user", userID))
	}
	return &out[0].Play, nil
}
