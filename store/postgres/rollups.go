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
}

func (s *sum) add(p *playRow) {
	if s.n == 0 {
		s.first, s.last = p.at, p.at
	}
	s.n++
	s.ms += p.ms
	s.first = min(s.first, p.at)
	s.last = max(s.last, p.at)
	s.years |= yearBit(utcYear(p.at))
}

// yearKey names a per-year rollup row.
type yearKey struct {
	year int16
	id   string
}

// addPlays adds plays just inserted for a user to every rollup.
func addPlays(ctx context.Context, tx pgx.Tx, userID string, plays []playRow) error {
	if len(plays) == 0 {
		return nil
	}
	ids := map[string]struct{}{}
	for _, p := range plays {
		ids[p.track] = struct{}{}
	}
	credits, err := loadCredits(ctx, tx, slices.Collect(mapsKeys(ids)))
	if err != nil {
		return err
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
		y := int16(utcYear(p.at)) //nolint:gosec // years fit
		get(tracks, p.track).add(p)
		getY(yTracks, yearKey{y, p.track}).add(p)
		for _, a := range c.artists {
			get(artists, a).add(p)
			getY(yArtists, yearKey{y, a}).add(p)
		}
		if c.album != "" {
			get(albums, c.album).add(p)
		}
	}
	if err := upsertTotals(ctx, tx, "user_tracks", "track_id", userID, tracks, true); err != nil {
		return err
	}
	if err := upsertTotals(ctx, tx, "user_artists", "artist_id", userID, artists, false); err != nil {
		return err
	}
	if err := upsertTotals(ctx, tx, "user_albums", "album_id", userID, albums, false); err != nil {
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
// or user_albums), in key order.
func upsertTotals(ctx context.Context, tx pgx.Tx, table, col, userID string, m map[string]*sum, withFirst bool) error {
	if len(m) == 0 {
		return nil
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
	_, err := tx.Exec(ctx, sql, args...)
	return err
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
	for i, k := range keys {
		s := m[k]
		years[i], ids[i], n[i], ms[i], last[i] = k.year, k.id, s.n, s.ms, msTime(s.last)
	}
	rows, err := tx.Query(ctx, `
		INSERT INTO `+table+` (user_id, year, `+col+`, plays, ms_played, last_played)
		SELECT $1, * FROM unnest($2::smallint[], $3::text[], $4::int[], $5::bigint[], $6::timestamptz[])
		ON CONFLICT (user_id, year, `+col+`) DO UPDATE SET
			plays = `+table+`.plays + excluded.plays,
			ms_played = `+table+`.ms_played + excluded.ms_played,
			last_played = greatest(`+table+`.last_played, excluded.last_played)
		RETURNING year, `+col+`, plays`, userID, years, ids, n, ms, last)
	if err != nil {
		return err
	}
	type top struct {
		id    string
		plays int32
	}
	best := map[int16]top{}
	var (
		y  int16
		id string
		c  int32
	)
	if _, err := pgx.ForEachRow(rows, []any{&y, &id, &c}, func() error {
		if b, ok := best[y]; !ok || c > b.plays || (c == b.plays && id < b.id) {
			best[y] = top{id, c}
		}
		return nil
	}); err != nil {
		return err
	}
	ty := make([]int16, 0, len(best))
	for y := range best {
		ty = append(ty, y)
	}
	slices.Sort(ty)
	tid := make([]string, len(ty))
	tn := make([]int32, len(ty))
	for i, y := range ty {
		tid[i], tn[i] = best[y].id, best[y].plays
	}
	return raiseTops(ctx, tx, userID, kind, ty, tid, tn)
}

// raiseTops replaces the stored tops of the user's years by the given
// candidates where they rank higher.
func raiseTops(ctx context.Context, tx pgx.Tx, userID, kind string, years []int16, ids []string, plays []int32) error {
	if len(years) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO user_year_tops (user_id, year, kind, id, plays)
		SELECT $1, y, $2, id, n FROM unnest($3::smallint[], $4::text[], $5::int[]) AS c(y, id, n)
		ON CONFLICT (user_id, year, kind) DO UPDATE SET id = excluded.id, plays = excluded.plays
		WHERE excluded.plays > user_year_tops.plays
			OR (excluded.plays = user_year_tops.plays AND excluded.id < user_year_tops.id)`,
		userID, kind, years, ids, plays)
	return err
}

// addDayRollups adds (sign = 1) or removes (sign = -1) plays from
// user_days, deleting days left without plays.
func addDayRollups(ctx context.Context, tx pgx.Tx, userID string, plays []playRow, sign int) error {
	type agg struct {
		n     int32
		ms    int64
		slotN [quarters]int32
		slotM [quarters]int64
	}
	by := map[int32]*agg{}
	for _, p := range plays {
		day := int32(floorDiv(p.at, dayMS)) //nolint:gosec // days since 1970 fit easily
		a := by[day]
		if a == nil {
			a = &agg{}
			by[day] = a
		}
		slot := floorMod(p.at, dayMS) / quarterMS
		a.n++
		a.ms += p.ms
		a.slotN[slot]++
		a.slotM[slot] += p.ms
	}
	days := slices.Sorted(func(yield func(int32) bool) {
		for d := range by {
			if !yield(d) {
				return
			}
		}
	})
	s := int32(sign)   //nolint:gosec // ±1
	s64 := int64(sign) // ±1
	n := make([]int32, len(days))
	ms := make([]int64, len(days))
	cumN := make([]int32, 0, len(days)*quarters)
	cumM := make([]int64, 0, len(days)*quarters)
	for i, d := range days {
		a := by[d]
		n[i], ms[i] = s*a.n, s64*a.ms
		var cn int32
		var cm int64
		for q := range quarters {
			cn += a.slotN[q]
			cm += a.slotM[q]
			cumN = append(cumN, s*cn)
			cumM = append(cumM, s64*cm)
		}
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO user_days (user_id, day, plays, ms_played, cum_plays, cum_ms)
		SELECT $1, d.day, d.n, d.ms, ($5::int[])[(d.i - 1) * 96 + 1 : d.i * 96], ($6::bigint[])[(d.i - 1) * 96 + 1 : d.i * 96]
		FROM unnest($2::int[], $3::int[], $4::bigint[]) WITH ORDINALITY AS d(day, n, ms, i)
		ON CONFLICT (user_id, day) DO UPDATE SET
			plays = user_days.plays + excluded.plays,
			ms_played = user_days.ms_played + excluded.ms_played,
			cum_plays = ARRAY(SELECT a + b FROM unnest(user_days.cum_plays, excluded.cum_plays) WITH ORDINALITY AS x(a, b, o) ORDER BY o),
			cum_ms = ARRAY(SELECT a + b FROM unnest(user_days.cum_ms, excluded.cum_ms) WITH ORDINALITY AS x(a, b, o) ORDER BY o)`,
		userID, days, n, ms, cumN, cumM)
	if err != nil || sign > 0 {
		return err
	}
	_, err = tx.Exec(ctx, `DELETE FROM user_days WHERE user_id = $1 AND day = ANY($2) AND plays = 0`, userID, days)
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
		stmt{`INSERT INTO user_year_tracks (user_id, year, track_id, plays, ms_played, last_played)
			SELECT user_id, ` + utcYearSQL("played_at") + ` AS y, track_id, count(*), sum(ms_played), max(played_at)
			FROM plays WHERE track_id = ANY($3) AND user_id = ANY($1) AND ` + utcYearSQL("played_at") + ` = ANY($2)
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
		stmt{`INSERT INTO user_year_artists (user_id, year, artist_id, plays, ms_played, last_played)
			SELECT p.user_id, ` + utcYearSQL("p.played_at") + ` AS y, ta.artist_id, count(*), sum(p.ms_played), max(p.played_at)
			FROM track_artists ta JOIN plays p ON p.track_id = ta.track_id AND p.user_id = ANY($1)
			WHERE ta.artist_id = ANY($3) AND ` + utcYearSQL("p.played_at") + ` = ANY($2)
			GROUP BY p.user_id, y, ta.artist_id
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

// refreshTops maintains the tops of kind ("t" or "a") of the given users'
// years after the counts of some items changed: years whose top is one of
// suspects (its count may have dropped) are recomputed from their rows, and
// candidates (whose counts may have grown) compete with the other tops.
func refreshTops(ctx context.Context, tx pgx.Tx, kind string, users []string, years []int16, suspects, candidates []string) error {
	if len(users) == 0 || len(years) == 0 {
		return nil
	}
	table, col := "user_year_tracks", "track_id"
	if kind == "a" {
		table, col = "user_year_artists", "artist_id"
	}
	if _, err := tx.Exec(ctx, `
		WITH stale AS (
			DELETE FROM user_year_tops WHERE user_id = ANY($1) AND year = ANY($2) AND kind = $3 AND id = ANY($4)
			RETURNING user_id, year
		)
		INSERT INTO user_year_tops (user_id, year, kind, id, plays)
		SELECT DISTINCT ON (r.user_id, r.year) r.user_id, r.year, $3, r.`+col+`, r.plays
		FROM `+table+` r JOIN stale s ON s.user_id = r.user_id AND s.year = r.year
		ORDER BY r.user_id, r.year, r.plays DESC, r.`+col, users, years, kind, suspects); err != nil {
		return err
	}
	if len(candidates) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO user_year_tops (user_id, year, kind, id, plays)
		SELECT DISTINCT ON (user_id, year) user_id, year, $3, `+col+`, plays
		FROM `+table+` WHERE user_id = ANY($1) AND year = ANY($2) AND `+col+` = ANY($4)
		ORDER BY user_id, year, plays DESC, `+col+`
		ON CONFLICT (user_id, year, kind) DO UPDATE SET id = excluded.id, plays = excluded.plays
		WHERE excluded.plays > user_year_tops.plays
			OR (excluded.plays = user_year_tops.plays AND excluded.id < user_year_tops.id)`,
		users, years, kind, candidates)
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
	return refreshTops(ctx, tx, "a", users, years, artists, artists)
}

// sortedSet sorts ids and drops repeats.
func sortedSet(ids []string) []string {
	slices.Sort(ids)
	return slices.Compact(ids)
}
