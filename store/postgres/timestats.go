package postgres

import (
	"context"
	"slices"
	"time"

	sq "github.com/Masterminds/squirrel"
	"github.com/jackc/pgx/v5"

	"github.com/spotifyhist/spotifyhist/store"
)

// dayAgg is what one local day (or one bucket) holds.
type dayAgg struct {
	plays int
	ms    int64
}

// dataDays returns the range of UTC days with plays in the scope's user
// (or every user), or ok = false when there are none.
func dataDays(ctx context.Context, q querier, sc scope) (lo, hi int64, ok bool, err error) {
	b := sc.userWhere(pg().Select("min(day)", "max(day)").From("user_days"), "user_id")
	sql, args, err := b.ToSql()
	if err != nil {
		return 0, 0, false, err
	}
	var mn, mx *int64
	if err := q.QueryRow(ctx, sql, args...).Scan(&mn, &mx); err != nil {
		return 0, 0, false, err
	}
	if mn == nil {
		return 0, 0, false, nil
	}
	return *mn, *mx + 1, true, nil
}

// clampToData narrows the scope to the days that have plays. It returns
// false when nothing is left.
func clampToData(ctx context.Context, q querier, sc *scope) (bool, error) {
	d0, d1, ok, err := dataDays(ctx, q, *sc)
	if err != nil || !ok {
		return false, err
	}
	sc.lo, sc.hi = max(sc.lo, d0*dayMS), min(sc.hi, d1*dayMS)
	return !sc.empty(), nil
}

// localDays adds the plays of the scope per local day in loc to days
// (keyed by local day number): whole UTC days from the quarter-hour running
// totals of user_days, split at local midnight, and the rest (edges and
// days on which the zone changes its offset) from the plays.
func localDays(ctx context.Context, q querier, sc scope, loc *time.Location, days map[int64]*dayAgg) error {
	add := func(day int64, n int, ms int64) {
		if n == 0 {
			return
		}
		a := days[day]
		if a == nil {
			a = &dayAgg{}
			days[day] = a
		}
		a.plays += n
		a.ms += ms
	}
	runs, raw := planDays(sc.lo, sc.hi, loc)
	if len(runs) > 0 {
		ks := make([]int32, len(runs))
		for i, r := range runs {
			ks[i] = int32(r.split()) //nolint:gosec // 0..95
		}
		inner := sc.userWhere(sq.Select("day", "plays", "ms_played", "cum_plays", "cum_ms").
			Column("width_bucket(day, ?::int[]) AS wb", runBounds(runs)).
			From("user_days").Where("day >= ? AND day < ?", runs[0].lo, runs[len(runs)-1].hi), "user_id")
		// One row per day for one user; summed over users otherwise.
		b := pg().Select("day", "wb", "plays", "ms_played").
			Column("coalesce(cum_plays[(?::int[])[(wb + 1) / 2]], 0)", ks).
			Column("coalesce(cum_ms[(?::int[])[(wb + 1) / 2]], 0)", ks).
			FromSelect(inner, "d").Where("wb % 2 = 1")
		if sc.user == "" {
			b = pg().Select("day", "wb", "sum(plays)", "sum(ms_played)").
				Column("sum(coalesce(cum_plays[(?::int[])[(wb + 1) / 2]], 0))", ks).
				Column("sum(coalesce(cum_ms[(?::int[])[(wb + 1) / 2]], 0))", ks).
				FromSelect(inner, "d").Where("wb % 2 = 1").GroupBy("day", "wb")
		}
		sql, args, err := b.ToSql()
		if err != nil {
			return err
		}
		rows, err := q.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		var (
			day, wb, n, first int64
			ms, firstMS       int64
		)
		if _, err := pgx.ForEachRow(rows, []any{&day, &wb, &n, &ms, &first, &firstMS}, func() error {
			r := runs[(wb+1)/2-1]
			k := r.split()
			second := r.localDay(day, k)
			add(second-1, int(first), firstMS)
			add(second, int(n-first), ms-firstMS)
			return nil
		}); err != nil {
			return err
		}
	}
	return rawPlays(ctx, q, sc, raw, func(at time.Time, _ string, ms int64) {
		add(civilDay(at, loc), 1, ms)
	})
}

// rawPlays calls fn for every play of the scope in spans.
func rawPlays(ctx context.Context, q querier, sc scope, spans []span, fn func(at time.Time, track string, ms int64)) error {
	if len(spans) == 0 {
		return nil
	}
	ss := make([]signedSpan, len(spans))
	for i, s := range spans {
		ss[i] = signedSpan{s, 1}
	}
	sql, args, err := toSQL(sq.Expr("SELECT p.played_at, p.track_id, p.ms_played FROM ?", rawPlaysFrom(sc, ss)))
	if err != nil {
		return err
	}
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	var (
		at    time.Time
		track string
		ms    int64
	)
	_, err = pgx.ForEachRow(rows, []any{&at, &track, &ms}, func() error {
		fn(at, track, ms)
		return nil
	})
	return err
}

func locOrUTC(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}

// OverTime returns plays per local day, week (from Monday) or month.
func (s *Store) OverTime(ctx context.Context, p *store.OverTimeParams) ([]store.TimePoint, error) {
	const op = "over time"
	switch p.Bucket {
	case store.BucketDay, store.BucketWeek, store.BucketMonth:
	default:
		return nil, invalid(op, "unknown bucket %q", p.Bucket)
	}
	loc := locOrUTC(p.Location)
	sc := scopeOf(&p.StatsFilter)
	days := map[int64]*dayAgg{}
	err := s.read(ctx, func(tx pgx.Tx) error {
		clear(days)
		if err := sc.narrow(ctx, tx); err != nil {
			return err
		}
		if ok, err := clampToData(ctx, tx, &sc); err != nil || !ok {
			return err
		}
		return localDays(ctx, tx, sc, loc, days)
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	buckets := map[int64]*store.TimePoint{}
	for n, a := range days {
		y, m, d := dayDate(n)
		var start time.Time
		switch p.Bucket {
		case store.BucketDay:
			start = time.Date(y, m, d, 0, 0, 0, 0, loc)
		case store.BucketWeek:
			start = time.Date(y, m, d-int(floorMod(int64(weekday(n))+6, 7)), 0, 0, 0, 0, loc)
		case store.BucketMonth:
			start = time.Date(y, m, 1, 0, 0, 0, 0, loc)
		}
		key := start.Unix()
		tp := buckets[key]
		if tp == nil {
			tp = &store.TimePoint{Start: start}
			buckets[key] = tp
		}
		tp.Plays += a.plays
		tp.MSPlayed += a.ms
	}
	out := make([]store.TimePoint, 0, len(buckets))
	for _, tp := range buckets {
		out = append(out, *tp)
	}
	slices.SortFunc(out, func(a, b store.TimePoint) int { return a.Start.Compare(b.Start) })
	return out, nil
}

// HourWeekday returns the hour × weekday matrix in the caller's zone and
// the number of local days with plays.
func (s *Store) HourWeekday(ctx context.Context, p *store.TimeParams) (*store.HourWeekday, error) {
	const op = "hour weekday"
	loc := locOrUTC(p.Location)
	sc := scopeOf(&p.StatsFilter)
	out := &store.HourWeekday{}
	err := s.read(ctx, func(tx pgx.Tx) error {
		*out = store.HourWeekday{}
		if err := sc.narrow(ctx, tx); err != nil {
			return err
		}
		if ok, err := clampToData(ctx, tx, &sc); err != nil || !ok {
			return err
		}
		runs, raw := planDays(sc.lo, sc.hi, loc)
		var edges map[int64]bool // local days of the runs' first and last days with plays
		if sc.user == "" {
			// Several users: count the days from per-day sums.
			days := map[int64]*dayAgg{}
			if err := localDays(ctx, tx, sc, loc, days); err != nil {
				return err
			}
			out.Days = len(days)
		} else {
			edges = map[int64]bool{}
		}
		if err := hourMatrix(ctx, tx, sc, runs, out, edges); err != nil {
			return err
		}
		rawDays := map[int64]bool{}
		err := rawPlays(ctx, tx, sc, raw, func(at time.Time, _ string, ms int64) {
			lt := at.In(loc)
			out.Plays[lt.Weekday()][lt.Hour()]++
			out.MSPlayed[lt.Weekday()][lt.Hour()] += ms
			rawDays[civilDay(lt, loc)] = true
		})
		if edges != nil {
			// Raw plays fall on local days next to the runs only.
			for d := range rawDays {
				if !edges[d] {
					out.Days++
				}
			}
		}
		return err
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	return out, nil
}

// hourMatrix adds the plays of runs to the hour × weekday matrix. For each
// run and UTC weekday it sums the running totals at the quarter-hours that
// start local hours; differences of those sums are the plays of each local
// hour.
//
// With edges non-nil (one user, one row per day), the same scan counts the
// local days with plays into out.Days: each UTC day's parts before and
// after local midnight, less the local days two consecutive UTC days
// share; edges receives the local days of each run's first and last UTC
// day that have plays, where raw plays may fall on the same local day.
func hourMatrix(ctx context.Context, q querier, sc scope, runs []dayRun, out *store.HourWeekday, edges map[int64]bool) error {
	phases := map[int64][]int{} // phase → indexes of runs
	for i, r := range runs {
		phases[r.phase()] = append(phases[r.phase()], i)
	}
	ks := make([]int32, len(runs))
	los := make([]int32, len(runs))
	his := make([]int32, len(runs))
	for i, r := range runs {
		ks[i], los[i], his[i] = int32(r.split()), int32(r.lo), int32(r.hi) //nolint:gosec // small
	}
	for phase, idx := range phases {
		// Boundaries: 0, the local hour starts, 96.
		bounds := []int64{0}
		for q := phase; q < quarters; q += 4 {
			if q > 0 {
				bounds = append(bounds, q)
			}
		}
		bounds = append(bounds, quarters)
		cols := []string{"wb", "((day % 7) + 11) % 7"}
		for _, bnd := range bounds[1:] {
			cols = append(cols, "sum(cum_plays["+itoa(bnd)+"])", "sum(cum_ms["+itoa(bnd)+"])")
		}
		inPhase := make([]bool, len(runs))
		for _, i := range idx {
			inPhase[i] = true
		}
		inner := sc.userWhere(sq.Select("day", "plays", "cum_plays", "cum_ms").
			Column("width_bucket(day, ?::int[]) AS wb", runBounds(runs)).
			From("user_days").Where("day >= ? AND day < ?", runs[0].lo, runs[len(runs)-1].hi), "user_id")
		var b sq.SelectBuilder
		if edges == nil {
			b = pg().Select(cols...).FromSelect(inner, "d").
				Where("wb % 2 = 1 AND (?::bool[])[(wb + 1) / 2]", inPhase).GroupBy("1", "2")
		} else {
			// f: plays before local midnight, s: after; p: the local day
			// after midnight is the one the next UTC day starts with.
			parts := pg().Select("day", "wb", "cum_plays", "cum_ms").
				Column("coalesce(cum_plays[(?::int[])[(wb + 1) / 2]], 0) > 0 AS f", ks).
				Column("plays - coalesce(cum_plays[(?::int[])[(wb + 1) / 2]], 0) > 0 AS s", ks).
				FromSelect(inner, "d").Where("wb % 2 = 1 AND (?::bool[])[(wb + 1) / 2]", inPhase)
			// Rows come in day order; the window needs no partition (and
			// so no sort): consecutive days of one run pair up.
			flags := sq.Select("*", "coalesce(lag(s) OVER w AND lag(day) OVER w = day - 1 AND lag(wb) OVER w = wb AND f, false) AS p").
				FromSelect(parts, "x").Suffix("WINDOW w AS (ORDER BY day)")
			b = pg().Select(cols...).
				Columns("count(*) FILTER (WHERE f)", "count(*) FILTER (WHERE s)", "count(*) FILTER (WHERE p)").
				Column("coalesce(bool_or(f) FILTER (WHERE day = (?::int[])[(wb + 1) / 2]), false)", los).
				Column("coalesce(bool_or(s) FILTER (WHERE day = (?::int[])[(wb + 1) / 2] - 1), false)", his).
				FromSelect(flags, "y").GroupBy("1", "2")
		}
		sql, args, err := b.ToSql()
		if err != nil {
			return err
		}
		rows, err := q.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		var (
			wb, wd, nf, ns, np int64
			f0, s1             bool
		)
		sums := make([]int64, 2*(len(bounds)-1))
		dest := []any{&wb, &wd}
		for i := range sums {
			dest = append(dest, &sums[i])
		}
		if edges != nil {
			dest = append(dest, &nf, &ns, &np, &f0, &s1)
		}
		if _, err := pgx.ForEachRow(rows, dest, func() error {
			r := runs[(wb+1)/2-1]
			prevN, prevMS := int64(0), int64(0)
			for i := 1; i < len(bounds); i++ {
				n, ms := sums[2*(i-1)]-prevN, sums[2*(i-1)+1]-prevMS
				prevN, prevMS = sums[2*(i-1)], sums[2*(i-1)+1]
				if n == 0 && ms == 0 {
					continue
				}
				// The piece [bounds[i-1], bounds[i]) lies in one local hour.
				minute := bounds[i-1]*15 + r.off
				shift := floorDiv(minute, 1440)
				hour := floorMod(minute, 1440) / 60
				day := floorMod(wd+shift, 7)
				out.Plays[day][hour] += int(n)
				out.MSPlayed[day][hour] += ms
			}
			if edges != nil {
				out.Days += int(nf + ns - np)
				if f0 {
					edges[r.localDay(r.lo, r.split())-1] = true
				}
				if s1 {
					edges[r.localDay(r.hi-1, r.split())] = true
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}
