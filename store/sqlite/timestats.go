package sqlite

import (
	"context"
	"database/sql"
	"slices"
	"time"

	"github.com/spotifyhist/spotifyhist/store"
)

// quarterPass calls fn for the plays of the scope in [lo, hi): whole quarter
// hours from rollup_days (at = the quarter's start), the ragged ends play by
// play. Both kinds of instant map to the same local hour in every real zone,
// since zone offsets and their changes fall on quarter hours.
//
// When whole is not nil and whole(start, end) reports that a UTC day's
// first and last instants fall in the same bucket, the day is passed at
// once (at = its start) without decoding its quarters.
func quarterPass(ctx context.Context, q queryer, sc scope, lo, hi int64, whole func(start, end int64) bool, fn func(at, plays, ms int64)) error {
	first, last, ok, err := playSpan(ctx, q, sc, lo, hi)
	if err != nil || !ok {
		return err
	}
	lo, hi = max(lo, first), min(hi, last+1)
	qlo := floorDiv(lo+msPerQuarter-1, msPerQuarter) * msPerQuarter
	qhi := floorDiv(hi, msPerQuarter) * msPerQuarter
	raw := func(a, b int64) error {
		if a >= b {
			return nil
		}
		users, args := sc.in("user_pk")
		rows, err := q.QueryContext(ctx, `SELECT played_at, ms_played FROM plays WHERE `+users+` AND played_at >= ? AND played_at < ?`,
			append(args, a, b)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var at, ms int64
			if err := rows.Scan(&at, &ms); err != nil {
				return err
			}
			fn(at, 1, ms)
		}
		return rows.Err()
	}
	if qlo >= qhi {
		return raw(lo, hi)
	}
	if err := raw(lo, qlo); err != nil {
		return err
	}
	if err := raw(qhi, hi); err != nil {
		return err
	}
	dayLo, dayHi := floorDiv(qlo, msPerDay), floorDiv(qhi-1, msPerDay)
	// decode passes a day's quarters inside [qlo, qhi).
	decode := func(day int64, blob []byte) error {
		base := day * msPerDay
		return eachQuarter(blob, func(slot int, plays, ms int64) {
			at := base + int64(slot)*msPerQuarter
			if at >= qlo && at < qhi {
				fn(at, plays, ms)
			}
		})
	}
	users, args := sc.in("user_pk")
	if whole == nil {
		rows, err := q.QueryContext(ctx, `SELECT day, slots FROM rollup_days WHERE `+users+` AND day >= ? AND day <= ?`,
			append(args, dayLo, dayHi)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var blob sql.RawBytes
		for rows.Next() {
			var day int64
			if err := rows.Scan(&day, &blob); err != nil {
				return err
			}
			if err := decode(day, blob); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	// Days used whole need only their totals; the quarters are read for the
	// days that straddle a bucket edge or the range's ends.
	rows, err := q.QueryContext(ctx, `SELECT user_pk, day, plays, ms FROM rollup_days WHERE `+users+` AND day >= ? AND day <= ?`,
		append(args, dayLo, dayHi)...)
	if err != nil {
		return err
	}
	split := map[int64][]int64{} // user -> days
	for rows.Next() {
		var user, day, plays, ms int64
		if err := rows.Scan(&user, &day, &plays, &ms); err != nil {
			rows.Close()
			return err
		}
		base := day * msPerDay
		if base >= qlo && base+msPerDay <= qhi && whole(base, base+msPerDay-1) {
			fn(base, plays, ms)
			continue
		}
		split[user] = append(split[user], day)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for user, days := range split {
		err := chunks(days, func(c []int64) error {
			in, args := inList(c)
			rows, err := q.QueryContext(ctx, `SELECT day, slots FROM rollup_days WHERE user_pk = ? AND day IN `+in,
				append([]any{user}, args...)...)
			if err != nil {
				return err
			}
			defer rows.Close()
			var blob sql.RawBytes
			for rows.Next() {
				var day int64
				if err := rows.Scan(&day, &blob); err != nil {
					return err
				}
				if err := decode(day, blob); err != nil {
					return err
				}
			}
			return rows.Err()
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// localClock maps instants to local calendar days in one location, caching
// the zone period it is in.
type localClock struct {
	loc        *time.Location
	start, end int64 // the cached zone period, in ms
	offset     int64 // its offset, in ms
	day        int64 // the last civil day converted
	y          int
	m          time.Month
	d          int
}

func newLocalClock(loc *time.Location) *localClock {
	if loc == nil {
		loc = time.UTC
	}
	return &localClock{loc: loc, start: 1, end: 0, day: minMS}
}

// sameBucket reports whether a and b (a <= b) are in one zone period and
// have the same key.
func (c *localClock) sameBucket(a, b int64, key func(day int64) int64) bool {
	da, _ := c.local(a)
	if b >= c.end {
		return false
	}
	db, _ := c.local(b)
	return key(da) == key(db)
}

// local returns the local day number (days since 1970-01-01 in loc's
// calendar) and the milliseconds into that day.
func (c *localClock) local(at int64) (day, msOfDay int64) {
	if at < c.start || at >= c.end {
		t := time.UnixMilli(at).In(c.loc)
		_, off := t.Zone()
		s, e := t.ZoneBounds()
		c.start, c.end, c.offset = minMS, maxMS, int64(off)*1000
		if !s.IsZero() {
			c.start = s.UnixMilli()
		}
		if !e.IsZero() {
			c.end = e.UnixMilli()
		}
	}
	l := at + c.offset
	day = floorDiv(l, msPerDay)
	return day, l - day*msPerDay
}

// date returns the civil date of a local day number.
func (c *localClock) date(day int64) (int, time.Month, int) {
	if day != c.day {
		c.day = day
		c.y, c.m, c.d = time.UnixMilli(day * msPerDay).UTC().Date()
	}
	return c.y, c.m, c.d
}

// weekday of a local day number (1970-01-01 was a Thursday).
func weekday(day int64) time.Weekday {
	return time.Weekday((day%7 + 7 + 4) % 7)
}

// OverTime returns plays per day, week (from Monday) or month in p.Location.
func (s *Store) OverTime(ctx context.Context, p *store.OverTimeParams) ([]store.TimePoint, error) {
	defer s.observe("over_time", time.Now())
	out, err := s.overTime(ctx, p)
	return out, wrap("over time", err)
}

func (s *Store) overTime(ctx context.Context, p *store.OverTimeParams) ([]store.TimePoint, error) {
	switch p.Bucket {
	case store.BucketDay, store.BucketWeek, store.BucketMonth:
	default:
		return nil, invalid("unknown bucket %q", p.Bucket)
	}
	sc, err := resolveScope(ctx, s.read, p.UserID)
	if err != nil || len(sc.users) == 0 {
		return nil, err
	}
	loc := p.Location
	if loc == nil {
		loc = time.UTC
	}
	clock := newLocalClock(loc)
	buckets := map[int64]*store.TimePoint{}
	var keys []int64
	bucketOf := func(day int64) int64 {
		switch p.Bucket {
		case store.BucketWeek:
			return day - int64((weekday(day)+6)%7)
		case store.BucketMonth:
			y, m, _ := clock.date(day)
			return int64(y)*12 + int64(m) - 1
		}
		return day
	}
	whole := func(a, b int64) bool { return clock.sameBucket(a, b, bucketOf) }
	lo, hi := bounds(&p.StatsFilter)
	err = quarterPass(ctx, s.read, sc, lo, hi, whole, func(at, plays, ms int64) {
		day, _ := clock.local(at)
		key := bucketOf(day)
		b := buckets[key]
		if b == nil {
			b = &store.TimePoint{}
			buckets[key] = b
			keys = append(keys, key)
		}
		b.Plays += int(plays)
		b.MSPlayed += ms
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(keys)
	out := make([]store.TimePoint, len(keys))
	for i, k := range keys {
		var start time.Time
		if p.Bucket == store.BucketMonth {
			start = time.Date(int(floorDiv(k, 12)), time.Month(k-floorDiv(k, 12)*12+1), 1, 0, 0, 0, 0, loc)
		} else {
			y, m, d := clock.date(k)
			start = time.Date(y, m, d, 0, 0, 0, 0, loc)
		}
		out[i] = *buckets[k]
		out[i].Start = start
	}
	return out, nil
}

// HourWeekday returns the hour × weekday matrix in p.Location.
func (s *Store) HourWeekday(ctx context.Context, p *store.TimeParams) (*store.HourWeekday, error) {
	defer s.observe("hour_weekday", time.Now())
	out := &store.HourWeekday{}
	sc, err := resolveScope(ctx, s.read, p.UserID)
	if err != nil || len(sc.users) == 0 {
		return out, wrap("hour weekday", err)
	}
	clock := newLocalClock(p.Location)
	days := map[int64]struct{}{}
	lo, hi := bounds(&p.StatsFilter)
	err = quarterPass(ctx, s.read, sc, lo, hi, nil, func(at, plays, ms int64) {
		day, msOfDay := clock.local(at)
		wd, h := weekday(day), msOfDay/3_600_000
		out.Plays[wd][h] += int(plays)
		out.MSPlayed[wd][h] += ms
		days[day] = struct{}{}
	})
	if err != nil {
		return nil, wrap("hour weekday", err)
	}
	out.Days = len(days)
	return out, nil
}
