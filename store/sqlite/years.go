package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"github.com/spotifyhist/spotifyhist/store"
)

// Years returns one summary per local calendar year that has plays.
func (s *Store) Years(ctx context.Context, p *store.TimeParams) ([]store.YearSummary, error) {
	defer s.observe("years", time.Now())
	out, err := s.years(ctx, p)
	return out, wrap("years", err)
}

func (s *Store) years(ctx context.Context, p *store.TimeParams) ([]store.YearSummary, error) {
	sc, err := resolveScope(ctx, s.read, p.UserID)
	if err != nil || len(sc.users) == 0 {
		return nil, err
	}
	loc := p.Location
	if loc == nil {
		loc = time.UTC
	}
	lo, hi := bounds(&p.StatsFilter)
	first, last, ok, err := playSpan(ctx, s.read, sc, lo, hi)
	if err != nil || !ok {
		return nil, err
	}
	var counts map[[2]int64]int
	var totals map[int64]rankedItem
	if len(sc.users) == 1 {
		if counts, err = yearCounts(ctx, s.read, sc.users[0]); err != nil {
			return nil, err
		}
		if totals, err = yearTotals(ctx, s.read, sc.users[0]); err != nil {
			return nil, err
		}
	}
	var out []store.YearSummary
	// The top items of every year, described together at the end.
	tops := map[int64][]*rankedItem{kindTrack: nil, kindArtist: nil}
	for y := time.UnixMilli(first).In(loc).Year(); y <= time.UnixMilli(last).In(loc).Year(); y++ {
		start := time.Date(y, 1, 1, 0, 0, 0, 0, loc).UnixMilli()
		end := time.Date(y+1, 1, 1, 0, 0, 0, 0, loc).UnixMilli()
		a, b := max(start, lo), min(end, hi)
		pl := decompose(a, b)
		ys := store.YearSummary{Year: y}
		var top [2]*rankedItem
		for i, kind := range []int64{kindTrack, kindArtist} {
			var (
				yr  yearResult
				err error
			)
			if len(sc.users) == 1 && isYearShaped(pl) {
				yr, err = fastYear(ctx, s.read, sc.users[0], kind, pl, counts, totals)
			} else {
				yr, err = slowYear(ctx, s.read, sc, kind, pl)
			}
			if err != nil {
				return nil, err
			}
			if kind == kindTrack {
				ys.Plays, ys.MSPlayed, ys.UniqueTracks = int(yr.plays), yr.ms, yr.n
			} else {
				ys.UniqueArtists = yr.n
			}
			if yr.top != nil {
				if yr.top.last, err = lastPlayed(ctx, s.read, sc, kind, yr.top.item, a, b); err != nil {
					return nil, err
				}
			}
			top[i] = yr.top
		}
		if ys.Plays == 0 {
			continue
		}
		out = append(out, ys)
		tops[kindTrack] = append(tops[kindTrack], top[0])
		tops[kindArtist] = append(tops[kindArtist], top[1])
	}
	for kind, list := range tops {
		var ranked []rankedItem
		for _, t := range list {
			if t != nil {
				ranked = append(ranked, *t)
			}
		}
		items, err := describeItems(ctx, s.read, kind, ranked)
		if err != nil {
			return nil, err
		}
		j := 0
		for i, t := range list {
			if t == nil {
				continue
			}
			item := items[j]
			j++
			if kind == kindTrack {
				out[i].TopTrack = &item
			} else {
				out[i].TopArtist = &item
			}
		}
	}
	return out, nil
}

// yearResult is what Years needs of one kind in one year.
type yearResult struct {
	n         int         // distinct items
	top       *rankedItem // by count, ties by id; nil without plays
	plays, ms int64       // every play (track kind only)
}

// yearTotals returns the plays and time per UTC year period of a user.
func yearTotals(ctx context.Context, q queryer, user int64) (map[int64]rankedItem, error) {
	rows, err := q.QueryContext(ctx, `SELECT period, plays, ms FROM rollups
		WHERE user_pk = ? AND kind = `+itoa(kindPlays)+` AND period > 0 AND period < `+itoa(monthBase), user)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]rankedItem{}
	for rows.Next() {
		var period int64
		var r rankedItem
		if err := rows.Scan(&period, &r.plays, &r.ms); err != nil {
			return nil, err
		}
		out[period] = r
	}
	return out, rows.Err()
}

// yearCounts returns the distinct items per (kind, UTC year period) of a user.
func yearCounts(ctx context.Context, q queryer, user int64) (map[[2]int64]int, error) {
	rows, err := q.QueryContext(ctx, `SELECT kind, period, n FROM rollup_counts WHERE user_pk = ? AND period > 0 AND period < `+itoa(monthBase), user)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[[2]int64]int{}
	for rows.Next() {
		var kind, period int64
		var n int
		if err := rows.Scan(&kind, &period, &n); err != nil {
			return nil, err
		}
		out[[2]int64{kind, period}] = n
	}
	return out, rows.Err()
}

// isYearShaped reports whether a plan is one whole UTC year plus raw edges.
func isYearShaped(p plan) bool {
	years := 0
	for _, t := range p {
		switch {
		case t.period < 0:
		case t.sign == 1 && t.period > 0 && t.period < monthBase: // every kind Years ranks keeps years
			years++
		default:
			return false
		}
	}
	return years == 1
}

// slowYear aggregates the plan: the number of items with plays, the top one
// by count (ties by id) and the plays and time of them all.
func slowYear(ctx context.Context, q queryer, sc scope, kind int64, pl plan) (yearResult, error) {
	agg, args := aggSQL(kind, sc, pl)
	var (
		yr  yearResult
		top rankedItem
	)
	err := q.QueryRowContext(ctx, `WITH a AS MATERIALIZED (`+agg+`)
		SELECT (SELECT COUNT(*) FROM a), (SELECT SUM(plays) FROM a), (SELECT SUM(ms) FROM a), a.item, a.plays, a.ms
		FROM a JOIN `+kinds[kind].table+` x ON x.pk = a.item
		WHERE a.plays = (SELECT MAX(plays) FROM a) ORDER BY x.id LIMIT 1`, args...).
		Scan(&yr.n, &yr.plays, &yr.ms, &top.item, &top.plays, &top.ms)
	if err == sql.ErrNoRows {
		return yearResult{}, nil
	}
	if err != nil {
		return yearResult{}, err
	}
	yr.top = &top
	return yr, nil
}

// fastYear answers a year-shaped plan of one user from the UTC year's
// rollups, its distinct-item counter and its rank index, corrected by the
// few plays of the raw edges.
func fastYear(ctx context.Context, q queryer, user, kind int64, pl plan, counts map[[2]int64]int, totals map[int64]rankedItem) (yearResult, error) {
	var period int64
	var raws []string
	var args []any
	k := kinds[kind]
	for _, t := range pl {
		if t.period >= 0 {
			period = t.period
			continue
		}
		one, ms := "1", "p.ms_played"
		if t.sign < 0 {
			one, ms = "-1", "-p.ms_played"
		}
		raws = append(raws, `SELECT `+k.item+` AS item, `+one+` AS plays, `+ms+` AS ms FROM plays p`+k.join+
			` WHERE p.user_pk = ? AND p.played_at >= ? AND p.played_at < ?`)
		args = append(args, user, t.lo, t.hi)
	}
	n := counts[[2]int64{kind, period}]
	yr := yearResult{plays: totals[period].plays, ms: totals[period].ms}
	// The items the edges touch, as the year rollup has them and corrected.
	touched := map[int64]bool{}
	var corrected []rankedItem
	if len(raws) > 0 {
		rows, err := q.QueryContext(ctx, `SELECT d.item, d.plays, d.ms, COALESCE(r.plays, 0), COALESCE(r.ms, 0)
			FROM (SELECT item, SUM(plays) AS plays, SUM(ms) AS ms FROM (`+strings.Join(raws, " UNION ALL ")+`) GROUP BY item) d
			LEFT JOIN rollups r ON r.user_pk = ? AND r.kind = ? AND r.period = ? AND r.item = d.item`,
			append(args, user, kind, period)...)
		if err != nil {
			return yearResult{}, err
		}
		for rows.Next() {
			var d, r rankedItem
			if err := rows.Scan(&d.item, &d.plays, &d.ms, &r.plays, &r.ms); err != nil {
				rows.Close()
				return yearResult{}, err
			}
			touched[d.item] = true
			yr.plays += d.plays
			yr.ms += d.ms
			c := rankedItem{item: d.item, plays: r.plays + d.plays, ms: r.ms + d.ms}
			if r.plays > 0 {
				n--
			}
			if c.plays > 0 {
				n++
				corrected = append(corrected, c)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return yearResult{}, err
		}
	}
	// The best untouched items: every item tied at the highest count.
	rows, err := q.QueryContext(ctx, `SELECT item, plays, ms FROM rollups
		WHERE user_pk = ? AND kind = ? AND period = ? AND period > 0 AND period < `+itoa(monthBase)+`
		ORDER BY plays DESC`, user, kind, period)
	if err != nil {
		return yearResult{}, err
	}
	var best []rankedItem
	for rows.Next() {
		var r rankedItem
		if err := rows.Scan(&r.item, &r.plays, &r.ms); err != nil {
			rows.Close()
			return yearResult{}, err
		}
		if touched[r.item] {
			continue
		}
		if len(best) > 0 && r.plays < best[0].plays {
			break
		}
		best = append(best, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return yearResult{}, err
	}
	yr.n = n
	cands := append(best, corrected...)
	if len(cands) == 0 {
		return yr, nil
	}
	top := slices.MaxFunc(cands, func(a, b rankedItem) int { return cmp.Compare(a.plays, b.plays) })
	var tied []int64
	for _, c := range cands {
		if c.plays == top.plays {
			tied = append(tied, c.item)
		}
	}
	if len(tied) > 1 {
		id, err := firstByID(ctx, q, kinds[kind].table, tied)
		if err != nil {
			return yearResult{}, err
		}
		for _, c := range cands {
			if c.item == id {
				top = c
			}
		}
	}
	yr.top = &top
	return yr, nil
}

// firstByID returns the pk among pks whose id sorts first.
func firstByID(ctx context.Context, q queryer, table string, pks []int64) (int64, error) {
	var best int64
	var bestID string
	err := chunks(pks, func(c []int64) error {
		var pk int64
		var id string
		in, args := inList(c)
		err := q.QueryRowContext(ctx, `SELECT pk, id FROM `+table+` WHERE pk IN `+in+` ORDER BY id LIMIT 1`, args...).Scan(&pk, &id)
		if err != nil {
			return err
		}
		if best == 0 || id < bestID {
			best, bestID = pk, id
		}
		return nil
	})
	return best, err
}
