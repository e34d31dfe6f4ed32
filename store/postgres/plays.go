package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/spotifyhist/spotifyhist/store"
)

// InsertPlays upserts the plays' tracks and inserts the plays, their
// rollups and the import's progress in one transaction.
func (s *Store) InsertPlays(ctx context.Context, p *store.InsertPlaysParams) (*store.InsertPlaysResult, error) {
	const op = "insert plays"
	if p.UserID == "" {
		return nil, invalid(op, "empty user id")
	}
	tracks := make([]store.Track, 0, len(p.Plays))
	rows := make([]playRow, 0, len(p.Plays))
	for i := range p.Plays {
		in := &p.Plays[i]
		if !in.Source.Valid() {
			return nil, invalid(op, "play %d: unknown source %q", i, in.Source)
		}
		if in.PlayedAt.IsZero() {
			return nil, invalid(op, "play %d: zero PlayedAt", i)
		}
		if in.MSPlayed < 0 {
			return nil, invalid(op, "play %d: MSPlayed %d < 0", i, in.MSPlayed)
		}
		tracks = append(tracks, in.Track)
		rows = append(rows, playRow{at: in.PlayedAt.UnixMilli(), track: in.Track.ID, ms: int64(in.MSPlayed), source: in.Source})
	}
	tracks, err := prepareTracks(op, tracks)
	if err != nil {
		return nil, err
	}
	var excluded map[string]int
	if p.Import != nil {
		if p.Import.Processed < 0 {
			return nil, invalid(op, "import progress: Processed %d < 0", p.Import.Processed)
		}
		excluded = p.Import.Excluded
	}
	// One lock order for every writer: tracks by id, plays by key.
	slices.SortFunc(rows, func(a, b playRow) int {
		if a.at != b.at {
			return cmpInt64(a.at, b.at)
		}
		return strings.Compare(a.track, b.track)
	})

	res := &store.InsertPlaysResult{}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		*res = store.InsertPlaysResult{}
		if err := userExists(ctx, tx, p.UserID); err != nil {
			return err
		}
		var cur map[string]int
		importID := ""
		if p.Import != nil {
			importID = p.Import.ImportID
			var (
				owner string
				raw   []byte
			)
			err := tx.QueryRow(ctx, `SELECT user_id, excluded FROM imports WHERE id = $1 FOR UPDATE`, importID).Scan(&owner, &raw)
			if err != nil {
				if errors.Is(err, pgx.ErrNoRows) {
					return notFound(op, "import %q", importID)
				}
				return err
			}
			if owner != p.UserID {
				return invalid(op, "import %q belongs to another user", importID)
			}
			if err := json.Unmarshal(raw, &cur); err != nil {
				return err
			}
		}
		changes, credits, err := upsertTracks(ctx, tx, tracks)
		if err != nil {
			return err
		}
		if err := recredit(ctx, tx, changes); err != nil {
			return err
		}
		inserted, err := insertPlayRows(ctx, tx, p.UserID, importID, rows)
		if err != nil {
			return err
		}
		if err := addPlays(ctx, tx, p.UserID, inserted, credits); err != nil {
			return err
		}
		res.Inserted = len(inserted)
		res.Duplicates = len(rows) - len(inserted)
		if p.Import == nil {
			return nil
		}
		if cur == nil {
			cur = map[string]int{}
		}
		for k, v := range excluded {
			cur[k] += v
		}
		raw, err := json.Marshal(cur)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE imports SET processed = processed + $2, imported = imported + $3,
			duplicates = duplicates + $4, excluded = $5 WHERE id = $1`,
			importID, p.Import.Processed, res.Inserted, res.Duplicates, string(raw))
		return err
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	return res, nil
}

// playRow is a play as the rollups see it.
type playRow struct {
	at     int64 // unix milliseconds
	track  string
	ms     int64
	source store.Source
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// userExists returns ErrNotFound for an unknown user. The row is locked
// against deletion until the transaction ends.
func userExists(ctx context.Context, q querier, id string) error {
	var one int
	err := q.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1 FOR KEY SHARE`, id).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return notFound("user", "user %q", id)
	}
	return err
}

// insertPlayRows inserts rows (sorted by key) for the user, skipping those
// already stored, and returns the rows inserted.
func insertPlayRows(ctx context.Context, tx pgx.Tx, userID, importID string, rows []playRow) ([]playRow, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	at := make([]time.Time, len(rows))
	track := make([]string, len(rows))
	ms := make([]int64, len(rows))
	src := make([]string, len(rows))
	for i, r := range rows {
		at[i] = time.UnixMilli(r.at).UTC()
		track[i] = r.track
		ms[i] = r.ms
		src[i] = string(r.source)
	}
	res, err := tx.Query(ctx, `
		INSERT INTO plays (user_id, played_at, track_id, ms_played, source, import_id)
		SELECT $1, at, track, ms, src, nullif($6, '')
		FROM unnest($2::timestamptz[], $3::text[], $4::int[], $5::text[]) AS p(at, track, ms, src)
		ON CONFLICT (user_id, played_at, track_id) DO NOTHING
		RETURNING played_at, track_id, ms_played`, userID, at, track, ms, src, importID)
	if err != nil {
		return nil, err
	}
	out := make([]playRow, 0, len(rows))
	var (
		t  time.Time
		id string
		m  int64
	)
	if _, err := pgx.ForEachRow(res, []any{&t, &id, &m}, func() error {
		out = append(out, playRow{at: t.UnixMilli(), track: id, ms: m})
		return nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// ListPlays returns the user's plays in [From, To), oldest first.
func (s *Store) ListPlays(ctx context.Context, p *store.ListPlaysParams) ([]store.PlayWithTrack, error) {
	const op = "list plays"
	lo, hi := bounds(p.From, p.To)
	var out []store.PlayWithTrack
	err := s.read(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			SELECT user_id, played_at, track_id, ms_played, source, coalesce(import_id, '')
			FROM plays WHERE user_id = $1 AND played_at >= $2 AND played_at < $3
			ORDER BY played_at, track_id`, p.UserID, lo, hi)
		if err != nil {
			return err
		}
		out, err = collectPlays(ctx, tx, rows)
		return err
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	return out, nil
}

// collectPlays reads rows of (user_id, played_at, track_id, ms_played,
// source, import_id) and joins them with their tracks.
func collectPlays(ctx context.Context, q querier, rows pgx.Rows) ([]store.PlayWithTrack, error) {
	var (
		out []store.PlayWithTrack
		pl  store.Play
		src string
	)
	ids := map[string]struct{}{}
	if _, err := pgx.ForEachRow(rows, []any{&pl.UserID, &pl.PlayedAt, &pl.TrackID, &pl.MSPlayed, &src, &pl.ImportID}, func() error {
		pl.PlayedAt = pl.PlayedAt.UTC()
		pl.Source = store.Source(src)
		out = append(out, store.PlayWithTrack{Play: pl})
		ids[pl.TrackID] = struct{}{}
		return nil
	}); err != nil {
		return nil, err
	}
	tracks, err := loadTracks(ctx, q, slices.Collect(mapsKeys(ids)))
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Track = tracks[out[i].TrackID]
	}
	return out, nil
}

// LatestPlay returns the user's newest play from source (any when empty).
func (s *Store) LatestPlay(ctx context.Context, userID string, source store.Source) (*store.Play, error) {
	const op = "latest play"
	if source != "" && !source.Valid() {
		return nil, invalid(op, "unknown source %q", source)
	}
	var (
		pl  store.Play
		src string
	)
	err := s.pool.QueryRow(ctx, `
		SELECT user_id, played_at, track_id, ms_played, source, coalesce(import_id, '')
		FROM plays WHERE user_id = $1 AND ($2 = '' OR source = $2)
		ORDER BY played_at DESC, track_id DESC LIMIT 1`, userID, string(source)).
		Scan(&pl.UserID, &pl.PlayedAt, &pl.TrackID, &pl.MSPlayed, &src, &pl.ImportID)
	if err != nil {
		return nil, wrap(op, err)
	}
	pl.PlayedAt = pl.PlayedAt.UTC()
	pl.Source = store.Source(src)
	return &pl, nil
}

// Unix milliseconds standing for unbounded filter edges: far outside any
// play, yet inside PostgreSQL's timestamptz range (years 1 and 9999).
const (
	minMS = -62_135_596_800_000
	maxMS = 253_370_764_800_000
)

// bounds returns [from, to) as stored instants: whole milliseconds, zero
// edges unbounded. A filter edge keeps its millisecond (sub-millisecond
// digits are dropped, as everywhere times are stored).
func bounds(from, to time.Time) (time.Time, time.Time) {
	lo, hi := msTime(minMS), msTime(maxMS)
	if !from.IsZero() {
		lo = ts(from)
	}
	if !to.IsZero() {
		hi = ts(to)
	}
	return lo, hi
}
