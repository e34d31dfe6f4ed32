package postgres

import (
	"context"
	"slices"
	"strings"
	"time"

	sq "github.com/Masterminds/squirrel"
	"github.com/jackc/pgx/v5"

	"github.com/spotifyhist/spotifyhist/store"
)

// signedSpan is a span of plays added (sign 1) to or subtracted (sign -1)
// from the rollups of a rangePlan.
type signedSpan struct {
	span
	sign int32
}

// yearPart is what a rangePlan reads of one UTC year's rollups: the whole
// year (plays, time and the year bit sets), or months first..last.
type yearPart struct {
	year        int16
	whole       bool
	first, last int // months, 1..12, when not whole
}

// rangePlan says how to count plays per item (track, artist, album) over a
// range exactly: the per-year rollups of parts, plus or minus the plays of
// raw spans. A UTC month the range covers in part is read from its rollup
// minus the plays outside the range when that is the smaller part, and
// from its plays otherwise, so raw reads never exceed half a month at each
// edge of the range.
type rangePlan struct {
	all   bool // the range holds every play: read the all-time rollups
	parts []yearPart
	spans []signedSpan
}

func yearStartMS(y int) int64 { return time.Date(y, time.January, 1, 0, 0, 0, 0, time.UTC).UnixMilli() }

func monthStartMS(y, m int) int64 {
	return time.Date(y, time.Month(m), 1, 0, 0, 0, 0, time.UTC).UnixMilli()
}

// planRange plans [lo, hi) given the first and last play in scope (unix
// ms, both inclusive).
func planRange(lo, hi, first, last int64) rangePlan {
	if lo <= first && hi > last {
		return rangePlan{all: true}
	}
	var p rangePlan
	lo, hi = max(lo, first), min(hi, last+1)
	if lo >= hi {
		return p
	}
	for y := utcYear(lo); y <= utcYear(hi-1); y++ {
		part := yearPart{year: int16(y), whole: true, first: 13} //nolint:gosec // years fit
		for m := 1; m <= 12; m++ {
			// The month as far as plays go, and the range's piece of it.
			ms, me := max(monthStartMS(y, m), first), min(monthStartMS(y, m+1), last+1)
			if ms >= me {
				continue // no plays: any reading of it is exact
			}
			a, b := max(lo, ms), min(hi, me)
			if a >= b {
				part.whole = false
				continue
			}
			outside := (a - ms) + (me - b)
			switch {
			case outside == 0:
			case outside < b-a:
				part.whole = false
				if ms < a {
					p.spans = append(p.spans, signedSpan{span{ms, a}, -1})
				}
				if b < me {
					p.spans = append(p.spans, signedSpan{span{b, me}, -1})
				}
			default:
				part.whole = false
				p.spans = append(p.spans, signedSpan{span{a, b}, 1})
				continue
			}
			part.first, part.last = min(part.first, m), max(part.last, m)
		}
		if part.whole {
			part.first, part.last = 1, 12
		}
		if part.last > 0 {
			p.parts = append(p.parts, part)
		}
	}
	return p
}

// preferPlays reads from the plays the months of a partial year whose
// plays are fewer than the year's rollup rows: a short range is cheaper to
// read play by play than through a whole year of rollup rows.
func (p *rangePlan) preferPlays(ctx context.Context, q querier, sc scope) error {
	var idx []int
	var years []int16
	var lo, hi []int32
	for i, pt := range p.parts {
		if !pt.whole {
			y := int(pt.year)
			idx, years = append(idx, i), append(years, pt.year)
			lo = append(lo, int32(floorDiv(monthStartMS(y, pt.first), dayMS)))  //nolint:gosec // days fit
			hi = append(hi, int32(floorDiv(monthStartMS(y, pt.last+1), dayMS))) //nolint:gosec // days fit
		}
	}
	if len(idx) == 0 {
		return nil
	}
	rows, err := q.Query(ctx, `
		SELECT (SELECT coalesce(sum(plays), 0) FROM user_days WHERE user_id = $1 AND day >= i.lo AND day < i.hi),
			coalesce((SELECT items FROM user_year_tops WHERE user_id = $1 AND year = i.y AND kind = 't'), 0)
		FROM unnest($2::smallint[], $3::int[], $4::int[]) WITH ORDINALITY AS i(y, lo, hi, n) ORDER BY i.n`,
		sc.user, years, lo, hi)
	if err != nil {
		return err
	}
	var plays, items int64
	var toPlays []int
	j := 0
	if _, err := pgx.ForEachRow(rows, []any{&plays, &items}, func() error {
		if plays < items {
			toPlays = append(toPlays, idx[j])
		}
		j++
		return nil
	}); err != nil {
		return err
	}
	for _, i := range slices.Backward(toPlays) {
		pt := p.parts[i]
		y := int(pt.year)
		ms, me := monthStartMS(y, pt.first), monthStartMS(y, pt.last+1)
		// The part's months and the spans subtracted from them give way to
		// the plays of the range in those months.
		p.spans = slices.DeleteFunc(p.spans, func(s signedSpan) bool { return s.sign < 0 && s.lo >= ms && s.hi <= me })
		p.spans = append(p.spans, signedSpan{span{max(sc.lo, ms), min(sc.hi, me)}, 1})
		p.parts = slices.Delete(p.parts, i, i+1)
	}
	return nil
}

// wholeYears returns the years the plan reads whole.
func (p rangePlan) wholeYears() []int16 {
	var ys []int16
	for _, pt := range p.parts {
		if pt.whole {
			ys = append(ys, pt.year)
		}
	}
	return ys
}

// partial returns the plan without its whole years.
func (p rangePlan) partial() rangePlan {
	q := rangePlan{spans: p.spans}
	for _, pt := range p.parts {
		if !pt.whole {
			q.parts = append(q.parts, pt)
		}
	}
	return q
}

// yearMask is the "years" bit set of the plan's whole years, and whether
// every one of them has a bit.
func (p rangePlan) yearMask() (int64, bool) {
	var m int64
	for _, y := range p.wholeYears() {
		b := yearBit(int(y))
		if b == 0 {
			return 0, false
		}
		m |= b
	}
	return m, true
}

// outsideMinus is a condition true when the timestamptz expression col
// lies in none of the plan's subtracted spans.
func (p rangePlan) outsideMinus(col string) sq.Sqlizer {
	conds := sq.And{sq.Expr("true")}
	for _, s := range p.spans {
		if s.sign < 0 {
			conds = append(conds, sq.Expr("NOT ("+col+" >= ? AND "+col+" < ?)", msTime(s.lo), msTime(s.hi)))
		}
	}
	return conds
}

// spanArgs returns the spans as the three arrays spansFrom expects.
func spanArgs(spans []signedSpan) ([]time.Time, []time.Time, []int32) {
	lo := make([]time.Time, len(spans))
	hi := make([]time.Time, len(spans))
	sign := make([]int32, len(spans))
	for i, s := range spans {
		lo[i], hi[i], sign[i] = msTime(s.lo), msTime(s.hi), s.sign
	}
	return lo, hi, sign
}

// rawPlaysFrom is the FROM clause of plays p in the spans s (columns lo,
// hi, sign) of the scope's user, or of every user through a lateral join
// on users, so that each user's plays are read through the primary key.
func rawPlaysFrom(sc scope, spans []signedSpan) sq.Sqlizer {
	lo, hi, sign := spanArgs(spans)
	// LATERAL with OFFSET 0 (which keeps the planner from flattening the
	// subquery) makes every span of every user an index range scan,
	// whatever the planner guesses of the spans' sizes.
	if sc.user != "" {
		return sq.Expr(`(SELECT unnest(?::timestamptz[]) AS lo, unnest(?::timestamptz[]) AS hi, unnest(?::int[]) AS sign) s
			CROSS JOIN LATERAL (SELECT * FROM plays x WHERE x.user_id = ? AND x.played_at >= s.lo AND x.played_at < s.hi OFFSET 0) p`,
			lo, hi, sign, sc.user)
	}
	return sq.Expr(`(SELECT unnest(?::timestamptz[]) AS lo, unnest(?::timestamptz[]) AS hi, unnest(?::int[]) AS sign) s
		CROSS JOIN users u
		CROSS JOIN LATERAL (SELECT * FROM plays x WHERE x.user_id = u.id AND x.played_at >= s.lo AND x.played_at < s.hi OFFSET 0) p`,
		lo, hi, sign)
}

// kindSQL names the rollups and columns of an item kind.
type kindSQL struct {
	total, year string // all-time and per-year rollup tables
	col         string // item column in those tables
	rawID       string // item of a raw play p
	rawJoin     string // joins that give a raw play its items
}

func kindOf(kind store.TopKind) kindSQL {
	switch kind {
	case store.TopArtists:
		return kindSQL{total: "user_artists", year: "user_year_artists", col: "artist_id",
			rawID: "ta.artist_id", rawJoin: "JOIN track_artists ta ON ta.track_id = p.track_id"}
	case store.TopAlbums:
		return kindSQL{total: "user_albums", col: "album_id",
			rawID: "t.album_id", rawJoin: "JOIN tracks t ON t.id = p.track_id AND t.album_id IS NOT NULL"}
	}
	return kindSQL{total: "user_tracks", year: "user_year_tracks", col: "track_id", rawID: "p.track_id"}
}

// rollupFrom reads rows of a rollup table as r for the scope's user, or
// for every user through a lateral join on users (each read by its
// primary key). cond is an extra condition on r with its arguments.
func rollupFrom(sc scope, table, cond string, args ...any) sq.Sqlizer {
	if sc.user != "" {
		return sq.Expr("(SELECT * FROM "+table+" r WHERE r.user_id = ? AND "+cond+") r", append([]any{sc.user}, args...)...)
	}
	return sq.Expr("users u CROSS JOIN LATERAL (SELECT * FROM "+table+" r WHERE r.user_id = u.id AND "+cond+" OFFSET 0) r", args...)
}

// monthSum is the sum of a per-month array column over months first..last.
func monthSum(col string, first, last int) string {
	terms := make([]string, 0, last-first+1)
	for m := first; m <= last; m++ {
		terms = append(terms, col+"["+itoa(int64(m))+"]")
	}
	return "(" + strings.Join(terms, " + ") + ")"
}

// itemSums selects (id, c, m, l, lm): plays, time listened and last play
// per item of kind in the plan, for items with plays. When a rollup row
// cannot tell the item's last play in the range (its last play lies after
// the months read, or in a subtracted span), lm is the start of the latest
// month read that holds plays of the item: the last play in the range is
// the later of l and the last play from lm on, which the caller looks up.
func itemSums(sc scope, kind store.TopKind, plan rangePlan) sq.Sqlizer {
	k := kindOf(kind)
	if plan.all {
		if sc.user != "" {
			return sq.Expr("SELECT "+k.col+" AS id, plays AS c, ms_played AS m, last_played AS l, NULL::timestamptz AS lm FROM "+k.total+" WHERE user_id = ?", sc.user)
		}
		return sq.Expr("SELECT " + k.col + " AS id, sum(plays) AS c, sum(ms_played) AS m, max(last_played) AS l, NULL::timestamptz AS lm FROM " + k.total + " GROUP BY " + k.col)
	}
	table, col := k.year, "r."+k.col
	if kind == store.TopAlbums {
		table, col = "user_year_tracks", "t.album_id"
	}
	from := func(cond string, args ...any) sq.Sqlizer {
		f := rollupFrom(sc, table, cond, args...)
		if kind == store.TopAlbums {
			return sq.Expr("? JOIN tracks t ON t.id = r.track_id AND t.album_id IS NOT NULL", f)
		}
		return f
	}
	var parts []sq.Sqlizer
	if ys := plan.wholeYears(); len(ys) > 0 {
		parts = append(parts, sq.Expr("SELECT "+col+" AS id, r.plays AS c, r.ms_played AS m, r.last_played AS l, NULL::timestamptz AS lm FROM ?",
			from("r.year = ANY(?)", ys)))
	}
	for _, pt := range plan.parts {
		if pt.whole {
			continue
		}
		// The row's last play is the last in the range only if it lies
		// in the months read and outside subtracted spans.
		y := int(pt.year)
		valid := sq.And{sq.Expr("r.last_played >= ? AND r.last_played < ?",
			msTime(monthStartMS(y, pt.first)), msTime(monthStartMS(y, pt.last+1))), plan.outsideMinus("r.last_played")}
		latest := sq.Case()
		for m := pt.last; m >= pt.first; m-- {
			latest = latest.When(sq.Expr("r.months["+itoa(int64(m))+"] > 0"), sq.Expr("?::timestamptz", msTime(monthStartMS(y, m))))
		}
		c := monthSum("r.months", pt.first, pt.last)
		parts = append(parts, sq.Expr("SELECT "+col+" AS id, "+c+" AS c, "+monthSum("r.months_ms", pt.first, pt.last)+" AS m,"+
			" CASE WHEN ? THEN r.last_played END AS l, CASE WHEN ? THEN NULL ELSE ? END AS lm FROM ?",
			valid, valid, latest, from("r.year = ? AND "+c+" > 0", pt.year)))
	}
	if len(plan.spans) > 0 {
		parts = append(parts, sq.Expr("SELECT "+k.rawID+" AS id, count(*) * s.sign AS c, sum(p.ms_played) * s.sign AS m,"+
			" CASE WHEN s.sign > 0 THEN max(p.played_at) END AS l, NULL::timestamptz AS lm FROM ? "+k.rawJoin+
			" GROUP BY "+k.rawID+", s.sign", rawPlaysFrom(sc, plan.spans)))
	}
	if len(parts) == 0 {
		return sq.Expr("SELECT NULL::text AS id, 0::bigint AS c, 0::bigint AS m, NULL::timestamptz AS l, NULL::timestamptz AS lm WHERE false")
	}
	u := parts[0]
	for _, pt := range parts[1:] {
		u = sq.Expr("? UNION ALL ?", u, pt)
	}
	return sq.Expr("SELECT id, sum(c) AS c, sum(m) AS m, max(l) AS l, max(lm) AS lm FROM (?) x GROUP BY id HAVING sum(c) > 0", u)
}

// itemIDs selects (id): the items of kind with plays in the plan (ids may
// repeat). It is itemSums without the sums where nothing is subtracted.
func itemIDs(sc scope, kind store.TopKind, plan rangePlan) sq.Sqlizer {
	if plan.all || slices.ContainsFunc(plan.spans, func(s signedSpan) bool { return s.sign < 0 }) {
		return sq.Expr("SELECT id FROM (?) x", itemSums(sc, kind, plan))
	}
	k := kindOf(kind)
	table, col := k.year, "r."+k.col
	if kind == store.TopAlbums {
		table, col = "user_year_tracks", "t.album_id"
	}
	from := func(cond string, args ...any) sq.Sqlizer {
		f := rollupFrom(sc, table, cond, args...)
		if kind == store.TopAlbums {
			return sq.Expr("? JOIN tracks t ON t.id = r.track_id AND t.album_id IS NOT NULL", f)
		}
		return f
	}
	var parts []sq.Sqlizer
	if ys := plan.wholeYears(); len(ys) > 0 {
		parts = append(parts, sq.Expr("SELECT "+col+" AS id FROM ?", from("r.year = ANY(?)", ys)))
	}
	for _, pt := range plan.parts {
		if !pt.whole {
			parts = append(parts, sq.Expr("SELECT "+col+" AS id FROM ?",
				from("r.year = ? AND "+monthSum("r.months", pt.first, pt.last)+" > 0", pt.year)))
		}
	}
	if len(plan.spans) > 0 {
		parts = append(parts, sq.Expr("SELECT "+k.rawID+" AS id FROM ? "+k.rawJoin, rawPlaysFrom(sc, plan.spans)))
	}
	if len(parts) == 0 {
		return sq.Expr("SELECT NULL::text AS id WHERE false")
	}
	u := parts[0]
	for _, pt := range parts[1:] {
		u = sq.Expr("? UNION ALL ?", u, pt)
	}
	return u
}
