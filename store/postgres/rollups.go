package postgres

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Time units of the rollups, in milliseconds.
const (
	dayMS     = 86_400_000
	quarterMS = 900_000
	quarters  = 96 // quarter-hours in a UTC day
)

// The UTC years the rollups' "years" bit sets cover: yearBase … yearBase+63.
const (
	yearBase = 1990
	yearMax  = yearBase + 63
)

// yearBit is the bit of year y in a "years" bit set, 0 outside the span.
func yearBit(y int) int64 {
	if y < yearBase || y > yearMax {
		return 0
	}
	return int64(uint64(1) << uint(y-yearBase)) //nolint:gosec // 0..63
}

// yearBitSQL is yearBit in SQL for a smallint expression.
func yearBitSQL(expr string) string {
	return "CASE WHEN " + expr + " BETWEEN 1990 AND 2053 THEN 1::bigint << (" + expr + " - 1990) ELSE 0 END"
}

// utcYearSQL is the UTC year of a timestamptz column.
func utcYearSQL(col string) string {
	return "extract(year FROM " + col + " AT TIME ZONE 'UTC')::smallint"
}

// utcMonthSQL is the UTC month (1..12) of a timestamptz column.
func utcMonthSQL(col string) string {
	return "extract(month FROM " + col + " AT TIME ZONE 'UTC')::int"
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

// utcYear is the UTC year of unix ms.
func utcYear(ms int64) int { return time.UnixMilli(ms).UTC().Year() }

// credit is a track's stored album and artists.
type credit struct {
	album   string
	artists []string
}

// loadCredits reads the stored album and artists of tracks.
func loadCredits(ctx context.Context, q querier, ids []string) (map[string]credit, error) {
	rows, err := q.Query(ctx, `
		SELECT t.id, coalesce(t.album_id, ''),
			coalesce(array_agg(ta.artist_id ORDER BY ta.position) FILTER (WHERE ta.artist_id IS NOT NULL), '{}')
		FROM tracks t LEFT JOIN track_artists ta ON ta.track_id = t.id
		WHERE t.id = ANY($1)
		GROUP BY t.id`, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]credit, len(ids))
	var (
		id string
		c  credit
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &c.album, &c.artists}, func() error {
		out[id] = credit{album: c.album, artists: slices.Clone(c.artists)}
		return nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// sum accumulates plays for one rollup row.
type sum struct {
	n           int32
	ms          int64
	first, last int64 // unix ms
	years       int64
	months      [12]int32 // per UTC month, for per-year rows
	monthsMS    [12]int64
}

// add adds a play made in UTC year y and month m (1..12).
func (s *sum) add(p *playRow, y, m int) {
	if s.n == 0 {
		s.first, s.last = p.at, p.at
	}
	s.n++
	s.ms += p.ms
	s.first = min(s.first, p.at)
	s.last = max(s.last, p.at)
	s.years |= yearBit(y)
	s.months[m-1]++
	s.monthsMS[m-1] += p.ms
}

// monthsAdded is the SET list that adds excluded's per-month arrays to a
// per-year rollup row, element by element.
func monthsAdded(table string) string {
	var n, ms []string
	for m := 1; m <= 12; m++ {
		i := itoa(int64(m))
		n = append(n, table+".months["+i+"] + excluded.months["+i+"]")
		ms = append(ms, table+".months_ms["+i+"] + excluded.months_ms["+i+"]")
	}
	return "months = ARRAY[" + strings.Join(n, ", ") + "], months_ms = ARRAY[" + strings.Join(ms, ", ") + "]"
}

// monthsOf is the SELECT list computing per-month arrays from plays p
// (with a UTC month column mo) grouped into a per-year rollup row.
func monthsOf() string {
	var n, ms []string
	for m := 1; m <= 12; m++ {
		i := itoa(int64(m))
		n = append(n, "count(*) FILTER (WHERE mo = "+i+")::int")
		ms = append(ms, "coalesce(sum(ms_played) FILTER (WHERE mo = "+i+"), 0)::bigint")
	}
	return "ARRAY[" + strings.Join(n, ", ") + "], ARRAY[" + strings.Join(ms, ", ") + "]"
}

// yearKey names a per-year rollup row.
type yearKey struct {
	year int16
	id   string
}

// addPlays adds plays just inserted for a user to every rollup. credits
// holds the stored album and artists of their tracks.
func addPlays(ctx context.Context, tx pgx.Tx, userID string, plays []playRow, credits map[string]credit) error {
	if len(plays) == 0 {
		return nil
	}
	tracks, artists, albums := map[string]*sum{}, map[string]*sum{}, map[string]*sum{}
	yTracks, yArtists := map[yearKey]*sum{}, map[yearKey]*sum{}
	get := func(m map[string]*sum, k string) *sum {
		s := m[k]
		if s == nil {
			s = &sum{}
			m[k] = s
		}
		return s
	}
	getY := func(m map[yearKey]*sum, k yearKey) *sum {
		s := m[k]
		if s == nil {
			s = &sum{}
			m[k] = s
		}
		return s
	}
	for i := range plays {
		p := &plays[i]
		c := credits[p.track]
		y, month, _ := time.UnixMilli(p.at).UTC().Date()
		m := int(month)
		get(tracks, p.track).add(p, y, m)
		getY(yTracks, yearKey{int16(y), p.track}).add(p, y, m) //nolint:gosec // years fit
		for _, a := range c.artists {
			get(artists, a).add(p, y, m)
			getY(yArtists, yearKey{int16(y), a}).add(p, y, m) //nolint:gosec // years fit
		}
		if c.album != "" {
			get(albums, c.album).add(p, y, m)
		}
	}
	var tot struct {
		n                       int64
		ms                      int64
		tracks, artists, albums int32
	}
	for _, p := range plays {
		tot.n++
		tot.ms += p.ms
	}
	var err error
	if tot.tracks, err = upsertTotals(ctx, tx, "user_tracks", "track_id", userID, tracks, true); err != nil {
		return err
	}
	if tot.artists, err = upsertTotals(ctx, tx, "user_artists", "artist_id", userID, artists, false); err != nil {
		return err
	}
	if tot.albums, err = upsertTotals(ctx, tx, "user_albums", "album_id", userID, albums, false); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO user_totals (user_id, plays, ms_played, tracks, artists, albums) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (user_id) DO UPDATE SET
			plays = user_totals.plays + excluded.plays, ms_played = user_totals.ms_played + excluded.ms_played,
			tracks = user_totals.tracks + excluded.tracks, artists = user_totals.artists + excluded.artists,
			albums = user_totals.albums + excluded.albums`,
		userID, tot.n, tot.ms, tot.tracks, tot.artists, tot.albums); err != nil {
		return err
	}
	for _, t := range []struct {
		table, col, kind string
		m                map[yearKey]*sum
	}{{"user_year_tracks", "track_id", "t", yTracks}, {"user_year_artists", "artist_id", "a", yArtists}} {
		if err := upsertYears(ctx, tx, t.table, t.col, t.kind, userID, t.m); err != nil {
			return err
		}
	}
	return addDayRollups(ctx, tx, userID, plays, 1)
}

// upsertTotals adds sums to an all-time rollup (user_tracks, user_artists
// or user_albums), in key order, and returns the number of rows it created.
func upsertTotals(ctx context.Context, tx pgx.Tx, table, col, userID string, m map[string]*sum, withFirst bool) (int32, error) {
	if len(m) == 0 {
		return 0, nil
	}
	keys := slices.Sorted(mapsKeys(m))
	n := make([]int32, len(keys))
	ms := make([]int64, len(keys))
	first := make([]time.Time, len(keys))
	last := make([]time.Time, len(keys))
	years := make([]int64, len(keys))
	for i, k := range keys {
		s := m[k]
		n[i], ms[i], first[i], last[i], years[i] = s.n, s.ms, msTime(s.first), msTime(s.last), s.years
	}
	var sql string
	args := []any{userID, keys, n, ms, last, years}
	if withFirst {
		sql = `INSERT INTO ` + table + ` (user_id, ` + col + `, plays, ms_played, last_played, years, first_played)
			SELECT $1, * FROM unnest($2::text[], $3::int[], $4::bigint[], $5::timestamptz[], $6::bigint[], $7::timestamptz[])
			ON CONFLICT (user_id, ` + col + `) DO UPDATE SET
				plays = ` + table + `.plays + excluded.plays,
				ms_played = ` + table + `.ms_played + excluded.ms_played,
				first_played = least(` + table + `.first_played, excluded.first_played),
				last_played = greatest(` + table + `.last_played, excluded.last_played),
				years = ` + table + `.years | excluded.years`
		args = append(args, first)
	} else {
		sql = `INSERT INTO ` + table + ` (user_id, ` + col + `, plays, ms_played, last_played, years)
			SELECT $1, * FROM unnest($2::text[], $3::int[], $4::bigint[], $5::timestamptz[], $6::bigint[])
			ON CONFLICT (user_id, ` + col + `) DO UPDATE SET
				plays = ` + table + `.plays + excluded.plays,
				ms_played = ` + table + `.ms_played + excluded.ms_played,
				last_played = greatest(` + table + `.last_played, excluded.last_played),
				years = ` + table + `.years | excluded.years`
	}
	var created int32
	err := tx.QueryRow(ctx, `WITH w AS (`+sql+` RETURNING xmax = 0 AS created) SELECT count(*) FILTER (WHERE created) FROM w`, args...).Scan(&created)
	return created, err
}

// upsertYears adds sums to a per-year rollup and raises the year's top
// (user_year_tops, kind "t" or "a") when a row overtakes it. Counts only
// grow here, so the top of a year is the best of the stored top and the
// rows just written.
func upsertYears(ctx context.Context, tx pgx.Tx, table, col, kind, userID string, m map[yearKey]*sum) error {
	if len(m) == 0 {
		return nil
	}
	keys := slices.SortedFunc(func(yield func(yearKey) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}, func(a, b yearKey) int {
		if a.year != b.year {
			return int(a.year) - int(b.year)
		}
		return strings.Compare(a.id, b.id)
	})
	years := make([]int16, len(keys))
	ids := make([]string, len(keys))
	n := make([]int32, len(keys))
	ms := make([]int64, len(keys))
	last := make([]time.Time, len(keys))
	months := make([]int32, 0, 12*len(keys))
	monthsMS := make([]int64, 0, 12*len(keys))
	for i, k := range keys {
		s := m[k]
		years[i], ids[i], n[i], ms[i], last[i] = k.year, k.id, s.n, s.ms, msTime(s.last)
		months = append(months, s.months[:]...)
		monthsMS = append(monthsMS, s.monthsMS[:]...)
	}
	// Only the rows that can enter a year's tops come back, with the
	// number of rows created per year.
	rows, err := tx.Query(ctx, `
		WITH w AS (
			INSERT INTO `+table+` (user_id, year, `+col+`, plays, ms_played, last_played, months, months_ms)
			SELECT $1, y, id, n, ms, last, ($7::int[])[(i - 1) * 12 + 1 : i * 12], ($8::bigint[])[(i - 1) * 12 + 1 : i * 12]
			FROM unnest($2::smallint[], $3::text[], $4::int[], $5::bigint[], $6::timestamptz[]) WITH ORDINALITY AS r(y, id, n, ms, last, i)
			ON CONFLICT (user_id, year, `+col+`) DO UPDATE SET
				plays = `+table+`.plays + excluded.plays,
				ms_played = `+table+`.ms_played + excluded.ms_played,
				last_played = greatest(`+table+`.last_played, excluded.last_played),
				`+monthsAdded(table)+`
			RETURNING year, `+col+` AS id, plays, xmax = 0 AS created
		)
		SELECT year, id, plays, created FROM (
			SELECT year, id, plays, count(*) FILTER (WHERE created) OVER (PARTITION BY year) AS created,
				row_number() OVER (PARTITION BY year ORDER BY plays DESC, id) AS n
			FROM w) x
		WHERE n <= `+itoa(topsKept), userID, years, ids, n, ms, last, months, monthsMS)
	if err != nil {
		return err
	}
	best := map[int16][]topEntry{}
	created := map[int16]int32{}
	var (
		y     int16
		id    string
		c, nc int32
	)
	if _, err := pgx.ForEachRow(rows, []any{&y, &id, &c, &nc}, func() error {
		best[y] = append(best[y], topEntry{id, c})
		created[y] = nc
		return nil
	}); err != nil {
		return err
	}
	return raiseTops(ctx, tx, userID, kind, best, created)
}

// topsKept is the number of items user_year_tops keeps per year.
const topsKept = 8

// topEntry is one item of a year's tops.
type topEntry struct {
	id    string
	plays int32
}

// rankTops sorts entries best first and keeps the first topsKept, one per
// id (the last entry of an id wins).
func rankTops(entries []topEntry) []topEntry {
	seen := map[string]int32{}
	for _, e := range entries {
		seen[e.id] = e.plays
	}
	out := make([]topEntry, 0, len(seen))
	for id, n := range seen {
		out = append(out, topEntry{id, n})
	}
	slices.SortFunc(out, func(a, b topEntry) int {
		if a.plays != b.plays {
			return int(b.plays - a.plays)
		}
		return strings.Compare(a.id, b.id)
	})
	return out[:min(len(out), topsKept)]
}

// raiseTops merges the new counts of items (which only grew) into the
// stored tops of the user's years, and adds created to their numbers of
// items. Items outside both a stored list and the new counts rank below
// the stored list, so the merge is exact.
func raiseTops(ctx context.Context, tx pgx.Tx, userID, kind string, counts map[int16][]topEntry, created map[int16]int32) error {
	if len(counts) == 0 {
		return nil
	}
	years := slices.Sorted(func(yield func(int16) bool) {
		for y := range counts {
			if !yield(y) {
				return
			}
		}
	})
	rows, err := tx.Query(ctx, `SELECT year, items, ids, plays FROM user_year_tops
		WHERE user_id = $1 AND kind = $2 AND year = ANY($3) ORDER BY year FOR UPDATE`, userID, kind, years)
	if err != nil {
		return err
	}
	stored := map[int16][]topEntry{}
	items := map[int16]int32{}
	var (
		y     int16
		n     int32
		ids   []string
		plays []int32
	)
	if _, err := pgx.ForEachRow(rows, []any{&y, &n, &ids, &plays}, func() error {
		items[y] = n
		for i := range ids {
			stored[y] = append(stored[y], topEntry{ids[i], plays[i]})
		}
		return nil
	}); err != nil {
		return err
	}
	var (
		ys   []int16
		ns   []int32
		tids []string
		tn   []int32
	)
	for _, y := range years {
		for _, e := range rankTops(append(stored[y], counts[y]...)) {
			ys, ns, tids, tn = append(ys, y), append(ns, items[y]+created[y]), append(tids, e.id), append(tn, e.plays)
		}
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO user_year_tops (user_id, year, kind, items, ids, plays)
		SELECT $1, y, $2, min(items), array_agg(id ORDER BY n), array_agg(c ORDER BY n)
		FROM unnest($3::smallint[], $4::int[], $5::text[], $6::int[]) WITH ORDINALITY AS e(y, items, id, c, n)
		GROUP BY y
		ON CONFLICT (user_id, year, kind) DO UPDATE SET items = excluded.items, ids = excluded.ids, plays = excluded.plays`,
		userID, kind, ys, ns, tids, tn)
	return err
}

// addDayRollups adds (sign = 1) or removes (sign = -1) plays from
// user_days, deleting days left without plays. The running totals are
// added up here, from the stored rows locked for update.
func addDayRollups(ctx context.Context, tx pgx.Tx, userID string, plays []playRow, sign int) error {
	type agg struct {
		n    int32
		ms   int64
		cumN [quarters]int32
		cumM [quarters]int64
	}
	by := map[int32]*agg{}
	s32, s64 := int32(sign), int64(sign) //nolint:gosec // ±1
	for _, p := range plays {
		day := int32(floorDiv(p.at, dayMS)) //nolint:gosec // days since 1970 fit easily
		a := by[day]
		if a == nil {
			a = &agg{}
			by[day] = a
		}
		a.n += s32
		a.ms += s64 * p.ms
		// A play in quarter-hour q counts in the running totals after it.
		for q := floorMod(p.at, dayMS)/quarterMS + 1; q <= quarters; q++ {
			a.cumN[q-1] += s32
			a.cumM[q-1] += s64 * p.ms
		}
	}
	days := slices.Sorted(func(yield func(int32) bool) {
		for d := range by {
			if !yield(d) {
				return
			}
		}
	})
	rows, err := tx.Query(ctx, `SELECT day, plays, ms_played, cum_plays, cum_ms FROM user_days
		WHERE user_id = $1 AND day = ANY($2) ORDER BY day FOR UPDATE`, userID, days)
	if err != nil {
		return err
	}
	var (
		day  int32
		n    int32
		ms   int64
		cumN []int32
		cumM []int64
	)
	if _, err := pgx.ForEachRow(rows, []any{&day, &n, &ms, &cumN, &cumM}, func() error {
		a := by[day]
		a.n += n
		a.ms += ms
		for i := range quarters {
			a.cumN[i] += cumN[i]
			a.cumM[i] += cumM[i]
		}
		return nil
	}); err != nil {
		return err
	}
	var keep, gone []int32
	for _, d := range days {
		if by[d].n > 0 {
			keep = append(keep, d)
		} else {
			gone = append(gone, d)
		}
	}
	if len(gone) > 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM user_days WHERE user_id = $1 AND day = ANY($2)`, userID, gone); err != nil {
			return err
		}
	}
	if len(keep) == 0 {
		return nil
	}
	ns := make([]int32, len(keep))
	mss := make([]int64, len(keep))
	allN := make([]int32, 0, len(keep)*quarters)
	allM := make([]int64, 0, len(keep)*quarters)
	for i, d := range keep {
		a := by[d]
		ns[i], mss[i] = a.n, a.ms
		allN = append(allN, a.cumN[:]...)
		allM = append(allM, a.cumM[:]...)
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO user_days (user_id, day, plays, ms_played, cum_plays, cum_ms)
		SELECT $1, d.day, d.n, d.ms, ($5::int[])[(d.i - 1) * 96 + 1 : d.i * 96], ($6::bigint[])[(d.i - 1) * 96 + 1 : d.i * 96]
		FROM unnest($2::int[], $3::int[], $4::bigint[]) WITH ORDINALITY AS d(day, n, ms, i)
		ON CONFLICT (user_id, day) DO UPDATE SET
			plays = excluded.plays, ms_played = excluded.ms_played,
			cum_plays = excluded.cum_plays, cum_ms = excluded.cum_ms`,
		userID, keep, ns, mss, allN, allM)
	return err
}

// refreshTracks recomputes the track rollups of the given users and tracks
// from the plays (after a merge). years are the UTC years whose rows may
// have changed.
func refreshTracks(ctx context.Context, tx pgx.Tx, users, tracks []string, years []int16) error {
	if len(users) == 0 || len(tracks) == 0 {
		return nil
	}
	return execAll(ctx, tx,
		stmt{`DELETE FROM user_year_tracks WHERE user_id = ANY($1) AND year = ANY($2) AND track_id = ANY($3)`,
			[]any{users, years, tracks}},
		stmt{`INSERT INTO user_year_tracks (user_id, year, track_id, plays, ms_played, last_played, months, months_ms)
			SELECT user_id, y, track_id, count(*), sum(ms_played), max(played_at), ` + monthsOf() + `
			FROM (SELECT *, ` + utcYearSQL("played_at") + ` AS y, ` + utcMonthSQL("played_at") + ` AS mo FROM plays
				WHERE track_id = ANY($3) AND user_id = ANY($1) AND ` + utcYearSQL("played_at") + ` = ANY($2)) p
			GROUP BY user_id, y, track_id
			ORDER BY 1, 2, 3`, []any{users, years, tracks}},
		stmt{`DELETE FROM user_tracks WHERE user_id = ANY($1) AND track_id = ANY($2)`, []any{users, tracks}},
		stmt{`INSERT INTO user_tracks (user_id, track_id, plays, ms_played, first_played, last_played, years)
			SELECT user_id, track_id, count(*), sum(ms_played), min(played_at), max(played_at),
				bit_or(` + yearBitSQL(utcYearSQL("played_at")) + `)
			FROM plays WHERE track_id = ANY($2) AND user_id = ANY($1)
			GROUP BY user_id, track_id
			ORDER BY 1, 2`, []any{users, tracks}},
	)
}

// stmt is one statement with its arguments.
type stmt struct {
	sql  string
	args []any
}

// execAll runs statements in order.
func execAll(ctx context.Context, tx pgx.Tx, stmts ...stmt) error {
	for _, st := range stmts {
		if _, err := tx.Exec(ctx, st.sql, st.args...); err != nil {
			return err
		}
	}
	return nil
}

// refreshArtists recomputes the artist rollups of the given users and
// artists from the plays and the stored credits (after a merge or a change
// of a track's artists). years are the UTC years whose rows may have
// changed.
func refreshArtists(ctx context.Context, tx pgx.Tx, users, artists []string, years []int16) error {
	if len(users) == 0 || len(artists) == 0 {
		return nil
	}
	return execAll(ctx, tx,
		stmt{`DELETE FROM user_year_artists WHERE user_id = ANY($1) AND year = ANY($2) AND artist_id = ANY($3)`,
			[]any{users, years, artists}},
		stmt{`INSERT INTO user_year_artists (user_id, year, artist_id, plays, ms_played, last_played, months, months_ms)
			SELECT user_id, y, artist_id, count(*), sum(ms_played), max(played_at), ` + monthsOf() + `
			FROM (SELECT p.*, ta.artist_id, ` + utcYearSQL("p.played_at") + ` AS y, ` + utcMonthSQL("p.played_at") + ` AS mo
				FROM track_artists ta JOIN plays p ON p.track_id = ta.track_id AND p.user_id = ANY($1)
				WHERE ta.artist_id = ANY($3) AND ` + utcYearSQL("p.played_at") + ` = ANY($2)) p
			GROUP BY user_id, y, artist_id
			ORDER BY 1, 2, 3`, []any{users, years, artists}},
		stmt{`DELETE FROM user_artists WHERE user_id = ANY($1) AND artist_id = ANY($2)`, []any{users, artists}},
		stmt{`INSERT INTO user_artists (user_id, artist_id, plays, ms_played, last_played, years)
			SELECT p.user_id, ta.artist_id, count(*), sum(p.ms_played), max(p.played_at),
				bit_or(` + yearBitSQL(utcYearSQL("p.played_at")) + `)
			FROM track_artists ta JOIN plays p ON p.track_id = ta.track_id AND p.user_id = ANY($1)
			WHERE ta.artist_id = ANY($2)
			GROUP BY p.user_id, ta.artist_id
			ORDER BY 1, 2`, []any{users, artists}},
	)
}

// refreshAlbums recomputes the album rollups of the given users and albums.
func refreshAlbums(ctx context.Context, tx pgx.Tx, users, albums []string) error {
	if len(users) == 0 || len(albums) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `DELETE FROM user_albums WHERE user_id = ANY($1) AND album_id = ANY($2)`, users, albums); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO user_albums (user_id, album_id, plays, ms_played, last_played, years)
		SELECT p.user_id, t.album_id, count(*), sum(p.ms_played), max(p.played_at),
			bit_or(`+yearBitSQL(utcYearSQL("p.played_at"))+`)
		FROM tracks t JOIN plays p ON p.track_id = t.id AND p.user_id = ANY($1)
		WHERE t.album_id = ANY($2)
		GROUP BY p.user_id, t.album_id
		ORDER BY 1, 2`, users, albums)
	return err
}

// refreshTops recomputes the tops of kind ("t" or "a") of the given users
// and UTC years from the per-year rollups, after counts went down.
func refreshTops(ctx context.Context, tx pgx.Tx, kind string, users []string, years []int16) error {
	if len(users) == 0 || len(years) == 0 {
		return nil
	}
	table, col := "user_year_tracks", "track_id"
	if kind == "a" {
		table, col = "user_year_artists", "artist_id"
	}
	return execAll(ctx, tx,
		stmt{`DELETE FROM user_year_tops WHERE user_id = ANY($1) AND year = ANY($2) AND kind = $3`, []any{users, years, kind}},
		stmt{`INSERT INTO user_year_tops (user_id, year, kind, items, ids, plays)
			SELECT user_id, year, $3, min(items), array_agg(id ORDER BY n), array_agg(c ORDER BY n)
			FROM (SELECT user_id, year, ` + col + ` AS id, plays AS c,
					row_number() OVER (PARTITION BY user_id, year ORDER BY plays DESC, ` + col + `) AS n,
					count(*) OVER (PARTITION BY user_id, year) AS items
				FROM ` + table + ` WHERE user_id = ANY($1) AND year = ANY($2)) r
			WHERE n <= ` + itoa(topsKept) + `
			GROUP BY user_id, year`, []any{users, years, kind}},
	)
}

// refreshTotals recomputes user_totals of users from the all-time rollups.
func refreshTotals(ctx context.Context, tx pgx.Tx, users []string) error {
	if len(users) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO user_totals (user_id, plays, ms_played, tracks, artists, albums)
		SELECT u,
			(SELECT coalesce(sum(plays), 0) FROM user_tracks WHERE user_id = u),
			(SELECT coalesce(sum(ms_played), 0) FROM user_tracks WHERE user_id = u),
			(SELECT count(*) FROM user_tracks WHERE user_id = u),
			(SELECT count(*) FROM user_artists WHERE user_id = u),
			(SELECT count(*) FROM user_albums WHERE user_id = u)
		FROM unnest($1::text[]) AS u ORDER BY u
		ON CONFLICT (user_id) DO UPDATE SET plays = excluded.plays, ms_played = excluded.ms_played,
			tracks = excluded.tracks, artists = excluded.artists, albums = excluded.albums`, users)
	return err
}

// playYears returns the UTC years in which the given users played the
// given tracks.
func playYears(ctx context.Context, q querier, users, tracks []string) ([]int16, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT `+utcYearSQL("played_at")+` FROM plays
		WHERE track_id = ANY($1) AND user_id = ANY($2) ORDER BY 1`, tracks, users)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int16])
}

// creditChange is a stored track whose album or artists an upsert changed.
type creditChange struct {
	track    string
	old, new credit
}

// recredit moves the plays of tracks whose album or artists changed to
// their new artists and album in every rollup.
func recredit(ctx context.Context, tx pgx.Tx, changes []creditChange) error {
	if len(changes) == 0 {
		return nil
	}
	var tracks, artists, albums []string
	for _, c := range changes {
		tracks = append(tracks, c.track)
		for _, a := range c.old.artists {
			if !slices.Contains(c.new.artists, a) {
				artists = append(artists, a)
			}
		}
		for _, a := range c.new.artists {
			if !slices.Contains(c.old.artists, a) {
				artists = append(artists, a)
			}
		}
		if c.old.album != c.new.album {
			for _, al := range []string{c.old.album, c.new.album} {
				if al != "" {
					albums = append(albums, al)
				}
			}
		}
	}
	rows, err := tx.Query(ctx, `SELECT DISTINCT user_id FROM user_tracks WHERE track_id = ANY($1) ORDER BY 1`, tracks)
	if err != nil {
		return err
	}
	users, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(users) == 0 {
		return err
	}
	years, err := playYears(ctx, tx, users, tracks)
	if err != nil {
		return err
	}
	artists, albums = sortedSet(artists), sortedSet(albums)
	if err := refreshArtists(ctx, tx, users, artists, years); err != nil {
		return err
	}
	if err := refreshAlbums(ctx, tx, users, albums); err != nil {
		return err
	}
	if err := refreshTotals(ctx, tx, users); err != nil {
		return err
	}
	return refreshTops(ctx, tx, "a", users, years)
}

// sortedSet sorts ids and drops repeats.
func sortedSet(ids []string) []string {
	slices.Sort(ids)
	return slices.Compact(ids)
}
