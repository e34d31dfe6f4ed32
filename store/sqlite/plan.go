package sqlite

import (
	"context"
	"database/sql"
	"math"
	"strings"
	"time"

	"github.com/spotifyhist/spotifyhist/store"
)

// Unbounded range ends, in Unix milliseconds.
const (
	minMS = math.MinInt64
	maxMS = math.MaxInt64
)

// scope is the set of users a statistic covers.
type scope struct {
	users []int64
}

// resolveScope maps a filter's UserID to user pks: one user, or every user.
func resolveScope(ctx context.Context, q queryer, userID string) (scope, error) {
	if userID != "" {
		pk, err := userPK(ctx, q, userID)
		return scope{users: []int64{pk}}, err
	}
	pks, err := selectPKs(ctx, q, psq.Select("pk").From("users").OrderBy("pk"))
	return scope{users: pks}, err
}

// in returns "col = ?" or "col IN (...)" for the scope's users.
func (sc scope) in(col string) (string, []any) {
	if len(sc.users) == 1 {
		return col + " = ?", []any{sc.users[0]}
	}
	return col + " IN " + placeholders(len(sc.users)), anys(sc.users)
}

// bounds converts a filter to [lo, hi) in milliseconds (truncated, as
// stored), unbounded ends as minMS and maxMS.
func bounds(f *store.StatsFilter) (lo, hi int64) {
	lo, hi = minMS, maxMS
	if !f.From.IsZero() {
		lo = f.From.UnixMilli()
	}
	if !f.To.IsZero() {
		hi = f.To.UnixMilli()
	}
	return lo, hi
}

// playSpan returns the first and last play of the scope within [lo, hi);
// ok is false when there is none.
func playSpan(ctx context.Context, q queryer, sc scope, lo, hi int64) (first, last int64, ok bool, err error) {
	for _, u := range sc.users {
		var f, l sql.NullInt64
		if err := q.QueryRowContext(ctx, `SELECT MIN(played_at) FROM plays WHERE user_pk = ? AND played_at >= ? AND played_at < ?`,
			u, lo, hi).Scan(&f); err != nil {
			return 0, 0, false, err
		}
		if !f.Valid {
			continue
		}
		if err := q.QueryRowContext(ctx, `SELECT MAX(played_at) FROM plays WHERE user_pk = ? AND played_at >= ? AND played_at < ?`,
			u, lo, hi).Scan(&l); err != nil {
			return 0, 0, false, err
		}
		if !ok || f.Int64 < first {
			first = f.Int64
		}
		if !ok || l.Int64 > last {
			last = l.Int64
		}
		ok = true
	}
	return first, last, ok, nil
}

// term is one signed part of a plan: a rollup period, or (period < 0) the
// raw plays of [lo, hi).
type term struct {
	sign   int64
	period int64
	lo, hi int64
}

// plan is an exact decomposition of a time range: the plays of the range are
// the signed sum of its terms.
type plan []term

func (p plan) allTime() bool { return len(p) == 1 && p[0].period == periodAll && p[0].sign == 1 }

// granules returns the rollup periods with the given sign.
func (p plan) granules(sign int64) []int64 {
	var out []int64
	for _, t := range p {
		if t.period >= 0 && t.sign == sign {
			out = append(out, t.period)
		}
	}
	return out
}

// makePlan decomposes [lo, hi) for the scope. All time when the range holds
// every play; otherwise whole UTC years and months from the rollups, a
// period more than half covered taken whole minus its outside part, and the
// ragged ends from the plays. It returns nil when the range has no plays.
func makePlan(ctx context.Context, q queryer, sc scope, lo, hi int64) (plan, error) {
	first, last, ok, err := playSpan(ctx, q, sc, lo, hi)
	if err != nil || !ok {
		return nil, err
	}
	if lo == minMS && hi == maxMS {
		return plan{{sign: 1, period: periodAll}}, nil
	}
	// Whether the range holds every play of the scope.
	allFirst, allLast, _, err := playSpan(ctx, q, sc, minMS, maxMS)
	if err != nil {
		return nil, err
	}
	if first == allFirst && last == allLast && lo <= allFirst && hi > allLast {
		return plan{{sign: 1, period: periodAll}}, nil
	}
	return decompose(max(lo, first), min(hi, last+1)), nil
}

// decompose splits [lo, hi) (bounded) into UTC years, months and raw spans.
func decompose(lo, hi int64) plan {
	var p plan
	raw := func(a, b, sign int64) {
		if a < b {
			p = append(p, term{sign: sign, period: -1, lo: a, hi: b})
		}
	}
	months := func(a, b, sign int64) {
		for m := monthStart(a); m < b; m = nextMonth(m) {
			ms, me := m, nextMonth(m)
			x, y := max(a, ms), min(b, me)
			switch {
			case x == ms && y == me:
				t := time.UnixMilli(ms).UTC()
				p = append(p, term{sign: sign, period: monthPeriod(t.Year(), t.Month())})
			case (y-x)*2 > me-ms:
				t := time.UnixMilli(ms).UTC()
				p = append(p, term{sign: sign, period: monthPeriod(t.Year(), t.Month())})
				raw(ms, x, -sign)
				raw(y, me, -sign)
			default:
				raw(x, y, sign)
			}
		}
	}
	for y := yearStart(lo); y < hi; y = nextYear(y) {
		ys, ye := y, nextYear(y)
		a, b := max(lo, ys), min(hi, ye)
		switch {
		case a == ys && b == ye:
			p = append(p, term{sign: 1, period: yearPeriod(time.UnixMilli(ys).UTC().Year())})
		case (b-a)*2 > ye-ys:
			p = append(p, term{sign: 1, period: yearPeriod(time.UnixMilli(ys).UTC().Year())})
			months(ys, a, -1)
			months(b, ye, -1)
		default:
			months(a, b, 1)
		}
	}
	return p
}

func yearStart(ms int64) int64 {
	t := time.UnixMilli(ms).UTC()
	return time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
}

func nextYear(ms int64) int64 {
	t := time.UnixMilli(ms).UTC()
	return time.Date(t.Year()+1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
}

func monthStart(ms int64) int64 {
	t := time.UnixMilli(ms).UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC).UnixMilli()
}

func nextMonth(ms int64) int64 {
	t := time.UnixMilli(ms).UTC()
	return time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
}

// kindSQL describes how raw plays credit items of one kind.
type kindSQL struct {
	table string // catalogue table of the items
	join  string // joins from plays p to the item
	item  string // item expression
}

var kinds = map[int64]kindSQL{
	kindTrack:  {table: "tracks", item: "p.track_pk"},
	kindArtist: {table: "artists", join: " JOIN track_artists ta ON ta.track_pk = p.track_pk", item: "ta.artist_pk"},
	kindAlbum:  {table: "albums", join: " JOIN tracks t ON t.pk = p.track_pk AND t.album_pk IS NOT NULL", item: "t.album_pk"},
}

// aggSQL returns a query yielding (item, plays, ms, last) per item of kind
// with plays in the plan. last is exact only for all-time plans; otherwise
// it is NULL and callers look it up for the items they return.
func aggSQL(kind int64, sc scope, p plan) (string, []any) {
	users, uargs := sc.in("user_pk")
	if p.allTime() {
		q := `SELECT item, plays, ms, last FROM rollups WHERE ` + users + ` AND kind = ` + itoa(kind) + ` AND period = 0`
		if len(sc.users) > 1 {
			q = `SELECT item, SUM(plays) AS plays, SUM(ms) AS ms, MAX(last) AS last FROM rollups WHERE ` + users +
				` AND kind = ` + itoa(kind) + ` AND period = 0 GROUP BY item`
		}
		return q, uargs
	}
	var (
		parts []string
		args  []any
	)
	k := kinds[kind]
	rusers, _ := sc.in("r.user_pk")
	for _, sign := range []int64{1, -1} {
		var own, viaTracks []int64
		for _, period := range p.granules(sign) {
			if hasLevel(kind, period) {
				own = append(own, period)
			} else {
				viaTracks = append(viaTracks, period)
			}
		}
		neg := ""
		if sign < 0 {
			neg = "-"
		}
		if len(own) > 0 {
			parts = append(parts, `SELECT item, `+neg+`plays AS plays, `+neg+`ms AS ms FROM rollups WHERE `+users+
				` AND kind = `+itoa(kind)+` AND period IN `+placeholders(len(own)))
			args = append(append(args, uargs...), anys(own)...)
		}
		if len(viaTracks) > 0 {
			// Periods the kind keeps no rollups for: its items through the
			// track rollups, as the raw plays credit them.
			join := strings.ReplaceAll(k.join, "p.track_pk", "r.item")
			item := strings.ReplaceAll(k.item, "p.track_pk", "r.item")
			parts = append(parts, `SELECT `+item+` AS item, `+neg+`r.plays AS plays, `+neg+`r.ms AS ms FROM rollups r`+join+
				` WHERE `+rusers+` AND r.kind = `+itoa(kindTrack)+` AND r.period IN `+placeholders(len(viaTracks)))
			args = append(append(args, uargs...), anys(viaTracks)...)
		}
	}
	pusers, _ := sc.in("p.user_pk")
	for _, t := range p {
		if t.period >= 0 {
			continue
		}
		one, ms := "1", "p.ms_played"
		if t.sign < 0 {
			one, ms = "-1", "-p.ms_played"
		}
		parts = append(parts, `SELECT `+k.item+` AS item, `+one+` AS plays, `+ms+` AS ms FROM plays p`+k.join+
			` WHERE `+pusers+` AND p.played_at >= ? AND p.played_at < ?`)
		args = append(append(args, uargs...), t.lo, t.hi)
	}
	if len(parts) == 0 {
		return `SELECT 0 AS item, 0 AS plays, 0 AS ms, NULL AS last WHERE 0`, nil
	}
	return `SELECT item, SUM(plays) AS plays, SUM(ms) AS ms, NULL AS last FROM (` + strings.Join(parts, " UNION ALL ") +
		`) GROUP BY item HAVING SUM(plays) > 0`, args
}

// lastPlayed returns the exact last play of an item of kind within [lo, hi)
// for the scope, or 0 when there is none. A track's is one seek in the
// plays_track index; an artist's or album's is found walking the user's
// plays backwards from hi, which is short for the items statistics rank
// (they are played often).
func lastPlayed(ctx context.Context, q queryer, sc scope, kind, item, lo, hi int64) (int64, error) {
	var query string
	switch kind {
	case kindTrack:
		query = `SELECT MAX(played_at) FROM plays WHERE track_pk = ?4 AND user_pk = ?1 AND played_at >= ?2 AND played_at < ?3`
	case kindArtist:
		query = `SELECT p.played_at FROM plays p CROSS JOIN track_artists ta ON ta.track_pk = p.track_pk AND ta.artist_pk = ?4
			WHERE p.user_pk = ?1 AND p.played_at >= ?2 AND p.played_at < ?3 ORDER BY p.played_at DESC LIMIT 1`
	default:
		query = `SELECT p.played_at FROM plays p CROSS JOIN tracks t ON t.pk = p.track_pk AND t.album_pk = ?4
			WHERE p.user_pk = ?1 AND p.played_at >= ?2 AND p.played_at < ?3 ORDER BY p.played_at DESC LIMIT 1`
	}
	var best int64
	for _, u := range sc.users {
		var last sql.NullInt64
		err := q.QueryRowContext(ctx, query, u, lo, hi, item).Scan(&last)
		if err != nil && err != sql.ErrNoRows {
			return 0, err
		}
		if last.Valid && (best == 0 || last.Int64 > best) {
			best = last.Int64
		}
	}
	return best, nil
}
