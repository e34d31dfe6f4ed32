package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"
)

// Rollup kinds (rollups.kind). kindPlays has one item, 0: every play.
const (
	kindPlays  = 0
	kindTrack  = 1
	kindArtist = 2
	kindAlbum  = 3
)

// Rollup periods (rollups.period): 0 is all time, 1..9999 a UTC year,
// monthBase + year*12 + month-1 a UTC month.
const (
	periodAll = 0
	monthBase = 100_000
)

func yearPeriod(year int) int64 { return int64(year) }

func monthPeriod(year int, month time.Month) int64 {
	return monthBase + int64(year)*12 + int64(month) - 1
}

// periodsOf returns the three periods a play at ms falls in: all time, its
// UTC year and its UTC month.
func periodsOf(ms int64) [3]int64 {
	t := time.UnixMilli(ms).UTC()
	return [3]int64{periodAll, yearPeriod(t.Year()), monthPeriod(t.Year(), t.Month())}
}

// Rollup levels kept per kind: index 0 all time, 1 year, 2 month. Months
// are kept for tracks only and years for tracks and artists: finer levels
// for artists and albums are read through the track rollups, which keeps
// the writes of an import small.
var levels = map[int64]int{kindPlays: 3, kindTrack: 3, kindArtist: 2, kindAlbum: 1}

// hasLevel reports whether kind keeps rollups for period.
func hasLevel(kind, period int64) bool {
	switch {
	case period == periodAll:
		return true
	case period < monthBase:
		return levels[kind] >= 2
	default:
		return levels[kind] >= 3
	}
}

// playRow is a stored play as the rollups see it.
type playRow struct {
	user, at, track, ms int64
}

type rollupKey struct {
	user, kind, period, item int64
}

type rollupAgg struct {
	plays, ms, last int64
}

// rollupDelta accumulates rollup changes before they are written.
type rollupDelta map[rollupKey]*rollupAgg

func (d rollupDelta) add(k rollupKey, ms, at int64) {
	a := d[k]
	if a == nil {
		a = &rollupAgg{last: at}
		d[k] = a
	}
	a.plays++
	a.ms += ms
	a.last = max(a.last, at)
}

// rollupUpsertRows is the number of rows per multi-row rollup upsert.
const rollupUpsertRows = 100

// applyDelta adds delta to rollups, counting the rows it creates in
// rollup_counts (for all time and years: statistics read no other counts).
func applyDelta(ctx context.Context, tx *sql.Tx, delta rollupDelta) error {
	keys := make([]rollupKey, 0, len(delta))
	for k := range delta {
		keys = append(keys, k)
	}
	// In primary key order, each b-tree page is visited once per batch.
	slices.SortFunc(keys, func(a, b rollupKey) int {
		return cmp.Or(cmp.Compare(a.user, b.user), cmp.Compare(a.kind, b.kind), cmp.Compare(a.period, b.period), cmp.Compare(a.item, b.item))
	})
	counts := map[rollupKey]int64{} // item unused
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	const head = `INSERT INTO rollups (user_pk, kind, period, item, plays, ms, last) VALUES `
	const tail = ` ON CONFLICT DO UPDATE SET plays = plays + excluded.plays, ms = ms + excluded.ms, last = MAX(last, excluded.last)
		RETURNING user_pk, kind, period, item, plays`
	args := make([]any, 0, rollupUpsertRows*7)
	for len(keys) > 0 {
		n := min(len(keys), rollupUpsertRows)
		args = args[:0]
		for _, k := range keys[:n] {
			a := delta[k]
			args = append(args, k.user, k.kind, k.period, k.item, a.plays, a.ms, a.last)
		}
		var (
			rows *sql.Rows
			err  error
		)
		if n == rollupUpsertRows {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, head+valuesList(n, 7)+tail); err != nil {
					return err
				}
			}
			rows, err = full.QueryContext(ctx, args...)
		} else {
			rows, err = tx.QueryContext(ctx, head+valuesList(n, 7)+tail, args...)
		}
		if err != nil {
			return err
		}
		for rows.Next() {
			var k rollupKey
			var plays int64
			if err := rows.Scan(&k.user, &k.kind, &k.period, &k.item, &plays); err != nil {
				rows.Close()
				return err
			}
			if plays == delta[k].plays && k.period < monthBase { // a new row where counts are kept
				counts[rollupKey{k.user, k.kind, k.period, 0}]++
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return addCounts(ctx, tx, counts)
}

// addCounts adds n to rollup_counts per (user, kind, period).
func addCounts(ctx context.Context, tx *sql.Tx, counts map[rollupKey]int64) error {
	if len(counts) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO rollup_counts (user_pk, kind, period, n) VALUES (?, ?, ?, ?)
		ON CONFLICT DO UPDATE SET n = n + excluded.n`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for k, n := range counts {
		if n == 0 {
			continue
		}
		if _, err := stmt.ExecContext(ctx, k.user, k.kind, k.period, n); err != nil {
			return err
		}
	}
	return nil
}

// valuesList returns n groups of width placeholders.
func valuesList(n, width int) string {
	group := placeholders(width)
	var b strings.Builder
	b.Grow(n * (len(group) + 1))
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(group)
	}
	return b.String()
}

// addDays adds (sign = 1) or removes (sign = -1) plays from the day rollups.
func addDays(ctx context.Context, tx *sql.Tx, plays []playRow, sign int64) error {
	counted := make([]playRow, len(plays))
	for i, p := range plays {
		counted[i] = playRow{user: p.user, at: p.at, track: sign, ms: sign * p.ms}
	}
	return addQuarterCounts(ctx, tx, counted)
}

// addQuarterCounts adds to the day rollups: each row adds track (a count of
// plays, negative to remove) and ms to the quarter hour of at.
func addQuarterCounts(ctx context.Context, tx *sql.Tx, counts []playRow) error {
	type dayKey struct{ user, day int64 }
	deltas := map[dayKey]*quarters{}
	for _, p := range counts {
		k := dayKey{p.user, floorDiv(p.at, msPerDay)}
		q := deltas[k]
		if q == nil {
			q = &quarters{}
			deltas[k] = q
		}
		slot := floorDiv(p.at-k.day*msPerDay, msPerQuarter)
		q[slot].plays += p.track
		q[slot].ms += p.ms
	}
	get, err := tx.PrepareContext(ctx, `SELECT slots FROM rollup_days WHERE user_pk = ? AND day = ?`)
	if err != nil {
		return err
	}
	defer get.Close()
	put, err := tx.PrepareContext(ctx, `INSERT INTO rollup_days (user_pk, day, plays, ms, slots) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT DO UPDATE SET plays = excluded.plays, ms = excluded.ms, slots = excluded.slots`)
	if err != nil {
		return err
	}
	defer put.Close()
	for k, d := range deltas {
		var blob []byte
		err := get.QueryRowContext(ctx, k.user, k.day).Scan(&blob)
		if err != nil && err != sql.ErrNoRows {
			return err
		}
		q, err := decodeQuarters(blob)
		if err != nil {
			return err
		}
		q.add(d)
		plays, ms := q.total()
		if plays == 0 {
			if _, err := tx.ExecContext(ctx, `DELETE FROM rollup_days WHERE user_pk = ? AND day = ?`, k.user, k.day); err != nil {
				return err
			}
			continue
		}
		if _, err := put.ExecContext(ctx, k.user, k.day, plays, ms, q.encode()); err != nil {
			return err
		}
	}
	return nil
}

// subtractDays removes deleted plays from the day rollups.
func subtractDays(ctx context.Context, tx *sql.Tx, plays []playRow) error {
	return addDays(ctx, tx, plays, -1)
}

// adjustCounts adds sign × (rollups rows of kind and items, for all time
// and years) to rollup_counts.
func adjustCounts(ctx context.Context, tx *sql.Tx, kind int64, items []int64, sign int64) error {
	return chunks(items, func(c []int64) error {
		args := append([]any{sign, kind, kind}, anys(c)...)
		_, err := tx.ExecContext(ctx, `INSERT INTO rollup_counts (user_pk, kind, period, n)
			SELECT user_pk, ?2, period, ?1 * COUNT(*) FROM rollups
			WHERE kind = ?3 AND item IN `+numbered(len(c), 4)+` AND period < `+itoa(monthBase)+`
			GROUP BY user_pk, period
			ON CONFLICT DO UPDATE SET n = n + excluded.n`, args...)
		return err
	})
}

// numbered returns "(?from,?from+1,...)" with n numbered parameters.
func numbered(n, from int) string {
	var b strings.Builder
	b.WriteByte('(')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('?')
		b.WriteString(itoa(from + i))
	}
	b.WriteByte(')')
	return b.String()
}

// recomputeTrackRollups rebuilds the track rollups of the given tracks from
// their plays (every user).
func recomputeTrackRollups(ctx context.Context, tx *sql.Tx, tracks []int64) error {
	if err := adjustCounts(ctx, tx, kindTrack, tracks, -1); err != nil {
		return err
	}
	err := chunks(tracks, func(c []int64) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM rollups WHERE kind = ? AND item IN `+placeholders(len(c)), append([]any{kindTrack}, anys(c)...)...)
		return err
	})
	if err != nil {
		return err
	}
	delta := rollupDelta{}
	err = chunks(tracks, func(c []int64) error {
		rows, err := tx.QueryContext(ctx, `SELECT user_pk, played_at, track_pk, ms_played FROM plays WHERE track_pk IN `+placeholders(len(c)), anys(c)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var p playRow
			if err := rows.Scan(&p.user, &p.at, &p.track, &p.ms); err != nil {
				return err
			}
			for _, period := range periodsOf(p.at) {
				delta.add(rollupKey{p.user, kindTrack, period, p.track}, p.ms, p.at)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	// applyDelta counts every row it creates, and all are new here.
	return applyDelta(ctx, tx, delta)
}

// recreditTracks rebuilds the artist and album rollups of every artist and
// album the given track references name, from the track rollups. Artist and
// album rollups are sums of track rollups, since a play credits each
// distinct artist of its track once.
func recreditTracks(ctx context.Context, tx *sql.Tx, refs []trackRef) error {
	var artists, albums []int64
	seenAr, seenAl := map[int64]bool{}, map[int64]bool{}
	for _, r := range refs {
		for _, a := range r.artists {
			if !seenAr[a] {
				seenAr[a] = true
				artists = append(artists, a)
			}
		}
		if r.albumPK != 0 && !seenAl[r.albumPK] {
			seenAl[r.albumPK] = true
			albums = append(albums, r.albumPK)
		}
	}
	rebuild := []struct {
		kind  int64
		items []int64
		from  string // SQL yielding (track_pk, item) pairs for items IN (...)
		below int64  // the periods the kind keeps are below this
	}{
		{kindArtist, artists, `SELECT track_pk, artist_pk AS item FROM track_artists WHERE artist_pk IN `, monthBase},
		{kindAlbum, albums, `SELECT pk AS track_pk, album_pk AS item FROM tracks WHERE album_pk IN `, 1},
	}
	for _, rb := range rebuild {
		if len(rb.items) == 0 {
			continue
		}
		if err := adjustCounts(ctx, tx, rb.kind, rb.items, -1); err != nil {
			return err
		}
		err := chunks(rb.items, func(c []int64) error {
			if _, err := tx.ExecContext(ctx, `DELETE FROM rollups WHERE kind = ? AND item IN `+placeholders(len(c)),
				append([]any{rb.kind}, anys(c)...)...); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO rollups (user_pk, kind, period, item, plays, ms, last)
				SELECT r.user_pk, ?, r.period, x.item, SUM(r.plays), SUM(r.ms), MAX(r.last)
				FROM (`+rb.from+placeholders(len(c))+`) x
				JOIN rollups r ON r.kind = `+itoa(kindTrack)+` AND r.item = x.track_pk AND r.period < `+itoa(rb.below)+`
				GROUP BY r.user_pk, r.period, x.item`, append([]any{rb.kind}, anys(c)...)...)
			return err
		})
		if err != nil {
			return err
		}
		if err := adjustCounts(ctx, tx, rb.kind, rb.items, 1); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM rollup_counts WHERE n = 0`)
	return err
}

// subtractPlays removes deleted plays from the kindPlays rollups. Their last
// play is unchanged: a play is only deleted where another stays at the same
// instant (a merge's duplicate).
func subtractPlays(ctx context.Context, tx *sql.Tx, plays []playRow) error {
	type key struct{ user, period int64 }
	delta := map[key]*rollupAgg{}
	for _, p := range plays {
		for _, period := range periodsOf(p.at) {
			a := delta[key{p.user, period}]
			if a == nil {
				a = &rollupAgg{}
				delta[key{p.user, period}] = a
			}
			a.plays++
			a.ms += p.ms
		}
	}
	for k, a := range delta {
		if _, err := tx.ExecContext(ctx, `UPDATE rollups SET plays = plays - ?, ms = ms - ?
			WHERE user_pk = ? AND kind = `+itoa(kindPlays)+` AND period = ? AND item = 0`, a.plays, a.ms, k.user, k.period); err != nil {
			return err
		}
	}
	return nil
}
