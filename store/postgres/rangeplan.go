package postgres

import (
	"time"

	sq "github.com/Masterminds/squirrel"

	"github.com/spotifyhist/spotifyhist/store"
)

// signedSpan is a span of plays added (sign 1) to or subtracted (sign -1)
// from the rollups of a rangePlan.
type signedSpan struct {
	span
	sign int32
}

// rangePlan says how to count plays per item (track, artist, album) over a
// range exactly: the per-year rollups of years, plus or minus the plays of
// raw spans. A UTC year the range covers in part is read from its rollup
// minus the plays outside the range when that part is the smaller, and
// from its plays otherwise, so raw reads never exceed half a year per edge.
type rangePlan struct {
	all        bool    // the range holds every play: read the all-time rollups
	years      []int16 // UTC years read from the per-year rollups
	minusYears []int16 // those of years that raw spans are subtracted from
	spans      []signedSpan
}

func yearStartMS(y int) int64 { return time.Date(y, time.January, 1, 0, 0, 0, 0, time.UTC).UnixMilli() }

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
		ys, ye := max(yearStartMS(y), first), min(yearStartMS(y+1), last+1)
		a, b := max(lo, ys), min(hi, ye)
		if a >= b {
			continue
		}
		outside := (a - ys) + (ye - b)
		switch {
		case outside == 0:
			p.years = append(p.years, int16(y)) //nolint:gosec // years fit
		case outside < b-a:
			p.years = append(p.years, int16(y))           //nolint:gosec // years fit
			p.minusYears = append(p.minusYears, int16(y)) //nolint:gosec // years fit
			if ys < a {
				p.spans = append(p.spans, signedSpan{span{ys, a}, -1})
			}
			if b < ye {
				p.spans = append(p.spans, signedSpan{span{b, ye}, -1})
			}
		default:
			p.spans = append(p.spans, signedSpan{span{a, b}, 1})
		}
	}
	return p
}

// yearMask is the "years" bit set of the plan's years, and whether every
// one of them has a bit.
func (p rangePlan) yearMask() (int64, bool) {
	var m int64
	for _, y := range p.years {
		b := yearBit(int(y))
		if b == 0 {
			return 0, false
		}
		m |= b
	}
	return m, true
}

// hasMinus reports whether the plan subtracts raw plays.
func (p rangePlan) hasMinus() bool { return len(p.minusYears) > 0 }

// minusSpans returns the spans the plan subtracts.
func (p rangePlan) minusSpans() []span {
	var out []span
	for _, s := range p.spans {
		if s.sign < 0 {
			out = append(out, s.span)
		}
	}
	return out
}

// outsideMinus is a condition true when the timestamptz expression col
// lies in none of the plan's subtracted spans.
func (p rangePlan) outsideMinus(col string) sq.Sqlizer {
	ms := p.minusSpans()
	if len(ms) == 0 {
		return sq.Expr("true")
	}
	conds := make(sq.And, len(ms))
	for i, s := range ms {
		conds[i] = sq.Expr("NOT ("+col+" >= ? AND "+col+" < ?)", msTime(s.lo), msTime(s.hi))
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

// itemSums selects (id, c, m, l, inv): plays, time listened and last play
// per item of kind in the plan, for items with plays. inv is true when the
// last play of a rollup fell in a subtracted span: l then is not the last
// play in the range, and the caller must look it up.
func itemSums(sc scope, kind store.TopKind, plan rangePlan) sq.Sqlizer {
	k := kindOf(kind)
	if plan.all {
		if sc.user != "" {
			return sq.Expr("SELECT "+k.col+" AS id, plays AS c, ms_played AS m, last_played AS l, false AS inv FROM "+k.total+" WHERE user_id = ?", sc.user)
		}
		return sq.Expr("SELECT " + k.col + " AS id, sum(plays) AS c, sum(ms_played) AS m, max(last_played) AS l, false AS inv FROM " + k.total + " GROUP BY " + k.col)
	}
	var parts []sq.Sqlizer
	if len(plan.years) > 0 {
		valid := plan.outsideMinus("r.last_played")
		if kind == store.TopAlbums {
			parts = append(parts, sq.Expr("SELECT t.album_id AS id, r.plays AS c, r.ms_played AS m, r.last_played AS l, NOT (?) AS inv FROM ? JOIN tracks t ON t.id = r.track_id WHERE t.album_id IS NOT NULL",
				valid, rollupFrom(sc, "user_year_tracks", "r.year = ANY(?)", plan.years)))
		} else {
			parts = append(parts, sq.Expr("SELECT r."+k.col+" AS id, r.plays AS c, r.ms_played AS m, r.last_played AS l, NOT (?) AS inv FROM ?",
				valid, rollupFrom(sc, k.year, "r.year = ANY(?)", plan.years)))
		}
	}
	if len(plan.spans) > 0 {
		parts = append(parts, sq.Expr("SELECT "+k.rawID+" AS id, count(*) * s.sign AS c, sum(p.ms_played) * s.sign AS m,"+
			" CASE WHEN s.sign > 0 THEN max(p.played_at) END AS l, false AS inv FROM ? "+k.rawJoin+
			" GROUP BY "+k.rawID+", s.sign", rawPlaysFrom(sc, plan.spans)))
	}
	switch len(parts) {
	case 0:
		return sq.Expr("SELECT NULL::text AS id, 0::bigint AS c, 0::bigint AS m, NULL::timestamptz AS l, false AS inv WHERE false")
	case 1:
		if len(plan.years) == 0 {
			return sq.Expr("SELECT id, c, m, l, inv FROM (?) x", parts[0])
		}
	}
	u := parts[0]
	if len(parts) == 2 {
		u = sq.Expr("? UNION ALL ?", parts[0], parts[1])
	}
	return sq.Expr("SELECT id, sum(c) AS c, sum(m) AS m, max(l) AS l, bool_or(inv) AS inv FROM (?) x GROUP BY id HAVING sum(c) > 0", u)
}
