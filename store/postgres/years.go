package postgres

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	sq "github.com/Masterminds/squirrel"
	"github.com/jackc/pgx/v5"

	"github.com/spotifyhist/spotifyhist/store"
)

// Years returns one summary per local calendar year with plays.
//
// For one user, a local year is read from the rollups of the UTC year it
// overlaps most, corrected by the plays of the few hours where the two
// differ: unique counts from the rollups' year bit sets, tops from
// user_year_tops. A local year the filter cuts short is read from its
// plays. Several users together are read from the plays.
func (s *Store) Years(ctx context.Context, p *store.TimeParams) ([]store.YearSummary, error) {
	const op = "years"
	loc := locOrUTC(p.Location)
	sc := scopeOf(&p.StatsFilter)
	var out []store.YearSummary
	err := s.read(ctx, func(tx pgx.Tx) error {
		out = nil
		if err := sc.narrow(ctx, tx); err != nil {
			return err
		}
		if ok, err := clampToData(ctx, tx, &sc); err != nil || !ok {
			return err
		}
		if sc.user == "" {
			var err error
			out, err = yearsRaw(ctx, tx, sc, loc)
			return err
		}
		var err error
		out, err = s.yearsOfUser(ctx, tx, sc, loc)
		return err
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	return out, nil
}

// localYear is one local calendar year of a Years answer. Most are read
// from the rollups of the UTC year they overlap most (utc), corrected by
// the plays of the hours the two do not share (spans); a year the filter
// cuts short is planned as any range (plan).
type localYear struct {
	year   int
	t      span // the year within the filter
	utc    int  // 0 for a year read through plan
	spans  []signedSpan
	plan   rangePlan
	plays  int
	ms     int64
	tracks map[string]*delta // raw plays of the spans, per track
	artist map[string]*delta // and per artist
}

// delta is what raw spans add to (or subtract from) one item of a year.
type delta struct {
	n    int
	ms   int64
	last int64 // the last added play, unix ms; 0 when none
}

// localYears splits the scope into local years and plans each, given the
// first and last play stored (unix ms, inclusive): raw spans outside them
// hold no plays and cost nothing.
func localYears(sc scope, loc *time.Location, first, last int64) []*localYear {
	y0 := msTime(sc.lo).In(loc).Year()
	y1 := msTime(sc.hi - 1).In(loc).Year()
	var out []*localYear
	for y := y0; y <= y1; y++ {
		a := max(sc.lo, time.Date(y, time.January, 1, 0, 0, 0, 0, loc).UnixMilli())
		b := min(sc.hi, time.Date(y+1, time.January, 1, 0, 0, 0, 0, loc).UnixMilli())
		if a >= b {
			continue
		}
		ly := &localYear{year: y, t: span{a, b}, tracks: map[string]*delta{}, artist: map[string]*delta{}}
		u := utcYear(a + (b-a)/2)
		us, ue := yearStartMS(u), yearStartMS(u+1)
		var spans []signedSpan
		var n int64
		for _, sp := range []signedSpan{
			{span{us, a}, -1}, {span{b, ue}, -1}, // in the UTC year, outside the local one
			{span{a, us}, 1}, {span{ue, b}, 1}, // in the local year, outside the UTC one
		} {
			sp.lo, sp.hi = max(sp.lo, first), min(sp.hi, last+1)
			if sp.lo < sp.hi {
				spans = append(spans, sp)
				n += sp.hi - sp.lo
			}
		}
		// A whole local year differs from its UTC year by the hours of the
		// zone's offset at each end; a year the filter cuts is read like
		// any range.
		if n <= 2*dayMS {
			ly.utc, ly.spans = u, spans
		} else {
			ly.plan = planRange(a, b, first, last)
		}
		out = append(out, ly)
	}
	return out
}

// yearsOfUser answers Years for the scope's user.
func (s *Store) yearsOfUser(ctx context.Context, tx pgx.Tx, sc scope, loc *time.Location) ([]store.YearSummary, error) {
	first, last, ok, err := playSpan(ctx, tx, sc.user, minMS, maxMS)
	if err != nil || !ok {
		return nil, err
	}
	years := localYears(sc, loc, first, last)
	var (
		days = map[int64]*dayAgg{}
		st   *yearStats
		out  = make([]store.YearSummary, len(years))
	)
	for i, ly := range years {
		out[i].Year = ly.year
	}
	// The plays of each local year, the rollups of those read through
	// their UTC year, and those read as ranges, at once.
	reads := []func(q querier) error{
		func(q querier) error { return localDays(ctx, q, sc, loc, days) },
		func(q querier) error {
			if err := yearDeltas(ctx, q, sc.user, years); err != nil {
				return err
			}
			var err error
			st, err = loadYearRollups(ctx, q, sc.user, years)
			return err
		},
	}
	for i, ly := range years {
		if ly.utc != 0 {
			continue
		}
		reads = append(reads,
			func(q querier) error {
				var err error
				out[i].UniqueTracks, out[i].TopTrack, err = rangeYearItems(ctx, q, sc.user, ly, "t")
				return err
			},
			func(q querier) error {
				var err error
				out[i].UniqueArtists, out[i].TopArtist, err = rangeYearItems(ctx, q, sc.user, ly, "a")
				return err
			})
	}
	if err := s.parallel(ctx, tx, reads...); err != nil {
		return nil, err
	}
	byYear := map[int]int{}
	for i, ly := range years {
		byYear[ly.year] = i
	}
	for n, a := range days {
		y, _, _ := dayDate(n)
		if i, ok := byYear[y]; ok {
			out[i].Plays += a.plays
			out[i].MSPlayed += a.ms
		}
	}
	for i, ly := range years {
		if ly.utc == 0 || out[i].Plays == 0 {
			continue
		}
		if out[i].UniqueTracks, out[i].TopTrack, err = yearItems(ctx, tx, sc.user, ly, st, "t"); err != nil {
			return nil, err
		}
		if out[i].UniqueArtists, out[i].TopArtist, err = yearItems(ctx, tx, sc.user, ly, st, "a"); err != nil {
			return nil, err
		}
	}
	kept := years[:0]
	res := out[:0]
	for i, ly := range years {
		if out[i].Plays > 0 {
			kept, res = append(kept, ly), append(res, out[i])
		}
	}
	if err := yearsLastPlayed(ctx, tx, sc.user, kept, res); err != nil {
		return nil, err
	}
	return res, describeYears(ctx, tx, res)
}

// yearDeltas reads the plays of every year's raw spans into its deltas.
func yearDeltas(ctx context.Context, q querier, user string, years []*localYear) error {
	var spans []signedSpan
	var owner []*localYear
	for _, ly := range years {
		for _, sp := range ly.spans {
			spans = append(spans, sp)
			owner = append(owner, ly)
		}
	}
	if len(spans) == 0 {
		return nil
	}
	lo, hi, _ := spanArgs(spans)
	rows, err := q.Query(ctx, `
		SELECT s.n, p.played_at, p.track_id, p.ms_played,
			coalesce((SELECT array_agg(artist_id) FROM track_artists WHERE track_id = p.track_id), '{}')
		FROM unnest($2::timestamptz[], $3::timestamptz[]) WITH ORDINALITY AS s(lo, hi, n)
		CROSS JOIN LATERAL (SELECT * FROM plays x WHERE x.user_id = $1 AND x.played_at >= s.lo AND x.played_at < s.hi OFFSET 0) p`, user, lo, hi)
	if err != nil {
		return err
	}
	var (
		n       int
		at      time.Time
		track   string
		ms      int64
		artists []string
	)
	add := func(m map[string]*delta, id string, sign int, at, ms int64) {
		d := m[id]
		if d == nil {
			d = &delta{}
			m[id] = d
		}
		d.n += sign
		d.ms += int64(sign) * ms
		if sign > 0 {
			d.last = max(d.last, at)
		}
	}
	_, err = pgx.ForEachRow(rows, []any{&n, &at, &track, &ms, &artists}, func() error {
		ly, sign := owner[n-1], int(spans[n-1].sign)
		add(ly.tracks, track, sign, at.UnixMilli(), ms)
		for _, a := range artists {
			add(ly.artist, a, sign, at.UnixMilli(), ms)
		}
		return nil
	})
	return err
}

// yearStats are the rollup figures the local years need.
type yearStats struct {
	count map[string]int       // kind + year → items with plays in that UTC year
	rows  map[string]yearRow   // kind + year + id → the item's row
	tops  map[string][]yearRow // kind + year → the stored tops, best first
}

// yearRow is a per-year rollup row.
type yearRow struct {
	id    string
	plays int
	ms    int64
	last  int64 // unix ms
}

func yearKeyOf(kind string, year int, id string) string {
	return kind + itoa(int64(year)) + "\x00" + id
}

// loadYearRollups reads, for the UTC years the local years are read from:
// the stored tops with the number of tracks and artists with plays, and
// the rows of the items the raw spans touch and of the best untouched ones.
func loadYearRollups(ctx context.Context, q querier, user string, years []*localYear) (*yearStats, error) {
	st := &yearStats{count: map[string]int{}, rows: map[string]yearRow{}, tops: map[string][]yearRow{}}
	var utc []int16
	for _, ly := range years {
		if ly.utc != 0 {
			utc = append(utc, int16(ly.utc)) //nolint:gosec // years fit
		}
	}
	if len(utc) == 0 {
		return st, nil
	}
	rows, err := q.Query(ctx, `SELECT year, kind, items, ids, plays FROM user_year_tops WHERE user_id = $1 AND year = ANY($2)`, user, utc)
	if err != nil {
		return nil, err
	}
	var (
		y     int16
		kind  string
		items int
		ids   []string
		plays []int32
	)
	if _, err := pgx.ForEachRow(rows, []any{&y, &kind, &items, &ids, &plays}, func() error {
		list := make([]yearRow, len(ids))
		for i := range ids {
			list[i] = yearRow{id: ids[i], plays: int(plays[i])}
		}
		st.tops[yearKeyOf(kind, int(y), "")] = list
		st.count[yearKeyOf(kind, int(y), "")] = items
		return nil
	}); err != nil {
		return nil, err
	}
	// Rows of the touched items and of the best untouched one per year.
	for _, k := range []struct{ kind, table, col string }{{"t", "user_year_tracks", "track_id"}, {"a", "user_year_artists", "artist_id"}} {
		var ys []int16
		var ids []string
		for _, ly := range years {
			if ly.utc == 0 {
				continue
			}
			m := ly.deltas(k.kind)
			for id := range m {
				ys, ids = append(ys, int16(ly.utc)), append(ids, id) //nolint:gosec // years fit
			}
			for _, r := range st.tops[yearKeyOf(k.kind, ly.utc, "")] {
				if _, touched := m[r.id]; !touched {
					ys, ids = append(ys, int16(ly.utc)), append(ids, r.id) //nolint:gosec // years fit
					break
				}
			}
		}
		if len(ids) == 0 {
			continue
		}
		rows, err := q.Query(ctx, `SELECT r.year, r.`+k.col+`, r.plays, r.ms_played, r.last_played
			FROM unnest($2::smallint[], $3::text[]) AS i(y, id)
			CROSS JOIN LATERAL (SELECT * FROM `+k.table+` x
				WHERE x.user_id = $1 AND x.year = i.y AND x.`+k.col+` = i.id OFFSET 0) r`, user, ys, ids)
		if err != nil {
			return nil, err
		}
		var (
			r    yearRow
			last time.Time
		)
		if _, err := pgx.ForEachRow(rows, []any{&y, &r.id, &r.plays, &r.ms, &last}, func() error {
			r.last = last.UnixMilli()
			st.rows[yearKeyOf(k.kind, int(y), r.id)] = r
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// deltas returns the year's deltas of kind ("t" or "a").
func (ly *localYear) deltas(kind string) map[string]*delta {
	if kind == "a" {
		return ly.artist
	}
	return ly.tracks
}

// better ranks a above b: more plays, then the smaller id.
func better(a, b yearRow) bool {
	return a.plays > b.plays || (a.plays == b.plays && a.id < b.id)
}

// yearItems returns the number of items of kind ("t" tracks, "a" artists)
// with plays in the local year, and the most played one (nil when none).
// Its LastPlayed is zero when it must be looked up.
func yearItems(ctx context.Context, q querier, user string, ly *localYear, st *yearStats, kind string) (int, *store.TopItem, error) {
	deltas := ly.deltas(kind)
	var best yearRow
	found := false
	consider := func(r yearRow) {
		if r.plays > 0 && (!found || better(r, best)) {
			best, found = r, true
		}
	}
	n := 0
	{
		n = st.count[yearKeyOf(kind, ly.utc, "")]
		for id, d := range deltas {
			r := st.rows[yearKeyOf(kind, ly.utc, id)]
			switch {
			case r.plays > 0 && r.plays+d.n <= 0:
				n--
			case r.plays == 0 && d.n > 0:
				n++
			}
			// The rollup's last play counts unless it lies in a span the
			// local year does not share; then it is looked up.
			last := d.last
			if r.plays > 0 {
				if ly.subtracts(r.last) {
					last = 0
				} else {
					last = max(last, r.last)
				}
			}
			consider(yearRow{id: id, plays: r.plays + d.n, ms: r.ms + d.ms, last: last})
		}
		// The best item the raw spans leave alone.
		untouched := false
		for _, r := range st.tops[yearKeyOf(kind, ly.utc, "")] {
			if _, touched := deltas[r.id]; !touched {
				consider(st.rows[yearKeyOf(kind, ly.utc, r.id)])
				untouched = true
				break
			}
		}
		if !untouched && len(st.tops[yearKeyOf(kind, ly.utc, "")]) == topsKept {
			r, ok, err := bestUntouched(ctx, q, user, ly.utc, kind, deltas)
			if err != nil {
				return 0, nil, err
			}
			if ok {
				consider(r)
			}
		}
	}
	if !found {
		return n, nil, nil
	}
	it := &store.TopItem{ID: best.id, Plays: best.plays, MSPlayed: best.ms}
	if best.last != 0 {
		it.LastPlayed = msTime(best.last)
	}
	return n, it, nil
}

// rangeYearItems answers yearItems for a year read through its plan: the
// items with plays in it and the best of them, in one statement.
func rangeYearItems(ctx context.Context, q querier, user string, ly *localYear, kind string) (int, *store.TopItem, error) {
	k := store.TopTracks
	if kind == "a" {
		k = store.TopArtists
	}
	sc := scope{user: user, lo: ly.t.lo, hi: ly.t.hi, bounded: true}
	sql, args, err := toSQL(sq.Expr("SELECT id, c, m, l, lm, count(*) OVER () FROM (?) x ORDER BY c DESC, id LIMIT 1",
		itemSums(sc, k, ly.plan)))
	if err != nil {
		return 0, nil, err
	}
	var (
		it       store.TopItem
		last, lm *time.Time
		n        int
	)
	err = q.QueryRow(ctx, sql, args...).Scan(&it.ID, &it.Plays, &it.MSPlayed, &last, &lm, &n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, err
	}
	it.LastPlayed = fromNull(last)
	if lm != nil || last == nil {
		pr := lastProbe{id: it.ID, lo: sc.lo, hi: sc.hi, target: &it}
		if lm != nil {
			pr.from, pr.window = max(sc.lo, lm.UnixMilli()), true
		}
		if err := probeLast(ctx, q, user, k, []lastProbe{pr}); err != nil {
			return 0, nil, err
		}
	}
	return n, &it, nil
}

// subtracts reports whether unix ms t lies in one of the year's
// subtracted spans.
func (ly *localYear) subtracts(t int64) bool {
	for _, s := range ly.spans {
		if s.sign < 0 && t >= s.lo && t < s.hi {
			return true
		}
	}
	return false
}

// bestUntouched returns the most played item of a UTC year outside
// touched.
func bestUntouched(ctx context.Context, q querier, user string, year int, kind string, touched map[string]*delta) (yearRow, bool, error) {
	table, col := "user_year_tracks", "track_id"
	if kind == "a" {
		table, col = "user_year_artists", "artist_id"
	}
	ids := slices.Collect(mapsKeys(touched))
	var (
		r    yearRow
		last time.Time
	)
	err := q.QueryRow(ctx, `SELECT `+col+`, plays, ms_played, last_played FROM `+table+`
		WHERE user_id = $1 AND year = $2 AND NOT (`+col+` = ANY($3))
		ORDER BY plays DESC, `+col+` LIMIT 1`, user, year, ids).Scan(&r.id, &r.plays, &r.ms, &last)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, false, nil
	}
	r.last = last.UnixMilli()
	return r, err == nil, err
}

// yearsLastPlayed looks up the last play in its local year of every
// year top whose LastPlayed is not known yet: first in the year's last
// month (a top is played often), then in the whole year.
func yearsLastPlayed(ctx context.Context, q querier, user string, years []*localYear, out []store.YearSummary) error {
	var tracks, artists []lastProbe
	for i, ly := range years {
		t := time.UnixMilli(ly.t.hi - 1).UTC()
		from := max(ly.t.lo, monthStartMS(t.Year(), int(t.Month())))
		if it := out[i].TopTrack; it != nil && it.LastPlayed.IsZero() {
			tracks = append(tracks, lastProbe{id: it.ID, lo: ly.t.lo, hi: ly.t.hi, from: from, window: true, target: it})
		}
		if it := out[i].TopArtist; it != nil && it.LastPlayed.IsZero() {
			artists = append(artists, lastProbe{id: it.ID, lo: ly.t.lo, hi: ly.t.hi, from: from, window: true, target: it})
		}
	}
	if err := probeLast(ctx, q, user, store.TopTracks, tracks); err != nil {
		return err
	}
	return probeLast(ctx, q, user, store.TopArtists, artists)
}

// yearsRaw computes year summaries of several users from the plays.
func yearsRaw(ctx context.Context, q querier, sc scope, loc *time.Location) ([]store.YearSummary, error) {
	y0 := msTime(sc.lo).In(loc).Year()
	y1 := msTime(sc.hi - 1).In(loc).Year()
	bounds := make([]time.Time, 0, y1-y0+2)
	for y := y0; y <= y1+1; y++ {
		bounds = append(bounds, time.Date(y, time.January, 1, 0, 0, 0, 0, loc).UTC())
	}
	per := sq.Expr(`SELECT width_bucket(p.played_at, ?::timestamptz[]) AS yi, p.track_id,
			count(*) AS c, sum(p.ms_played) AS m, max(p.played_at) AS l
		FROM ? GROUP BY 1, 2`, bounds, rawPlaysFrom(sc, []signedSpan{{span{sc.lo, sc.hi}, 1}}))
	sql, args, err := toSQL(sq.Expr(`WITH t AS (?), a AS (
			SELECT t.yi, ta.artist_id AS id, sum(t.c) AS c, sum(t.m) AS m, max(t.l) AS l
			FROM t JOIN track_artists ta ON ta.track_id = t.track_id GROUP BY 1, 2)
		SELECT * FROM (SELECT DISTINCT ON (yi) yi, 0 AS kind, track_id AS id, c, m, l,
				count(*) OVER w AS n, sum(c) OVER w AS p, sum(m) OVER w AS ms
			FROM t WINDOW w AS (PARTITION BY yi) ORDER BY yi, c DESC, track_id) x
		UNION ALL
		SELECT * FROM (SELECT DISTINCT ON (yi) yi, 1, id, c, m, l, count(*) OVER w, 0, 0
			FROM a WINDOW w AS (PARTITION BY yi) ORDER BY yi, c DESC, id) y`, per))
	if err != nil {
		return nil, err
	}
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	byYear := map[int]*store.YearSummary{}
	var (
		yi, kind, n, c, plays int
		id                    string
		m, ms                 int64
		l                     time.Time
	)
	if _, err := pgx.ForEachRow(rows, []any{&yi, &kind, &id, &c, &m, &l, &n, &plays, &ms}, func() error {
		y := y0 + yi - 1
		ys := byYear[y]
		if ys == nil {
			ys = &store.YearSummary{Year: y}
			byYear[y] = ys
		}
		it := &store.TopItem{ID: id, Plays: c, MSPlayed: m, LastPlayed: l.UTC()}
		if kind == 0 {
			ys.Plays, ys.MSPlayed, ys.UniqueTracks, ys.TopTrack = plays, ms, n, it
		} else {
			ys.UniqueArtists, ys.TopArtist = n, it
		}
		return nil
	}); err != nil {
		return nil, err
	}
	out := make([]store.YearSummary, 0, len(byYear))
	for _, ys := range byYear {
		out = append(out, *ys)
	}
	slices.SortFunc(out, func(a, b store.YearSummary) int { return cmp.Compare(a.Year, b.Year) })
	return out, describeYears(ctx, q, out)
}

// describeYears fills the details of the years' top tracks and artists.
func describeYears(ctx context.Context, q querier, years []store.YearSummary) error {
	var tracks, artists []store.TopItem
	for _, ys := range years {
		if ys.TopTrack != nil {
			tracks = append(tracks, *ys.TopTrack)
		}
		if ys.TopArtist != nil {
			artists = append(artists, *ys.TopArtist)
		}
	}
	if err := describeTop(ctx, q, store.TopTracks, tracks); err != nil {
		return err
	}
	if err := describeTop(ctx, q, store.TopArtists, artists); err != nil {
		return err
	}
	for i := range years {
		if years[i].TopTrack != nil {
			years[i].TopTrack, tracks = &tracks[0], tracks[1:]
		}
		if years[i].TopArtist != nil {
			years[i].TopArtist, artists = &artists[0], artists[1:]
		}
	}
	return nil
}
