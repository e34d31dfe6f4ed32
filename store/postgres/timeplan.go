package postgres

import (
	"time"
)

// span is a half-open interval of unix milliseconds.
type span struct{ lo, hi int64 }

// dayRun is a run of whole UTC days [lo, hi) during which a zone keeps one
// UTC offset that is a whole number of quarter-hours. Such days are read
// from user_days: a local day or hour boundary then falls on a quarter-hour
// of the UTC day.
type dayRun struct {
	lo, hi int64 // UTC days since 1970-01-01
	off    int64 // UTC offset in minutes
}

// split is the first quarter-hour of a UTC day that belongs to the later of
// the two local days the UTC day overlaps (0 when it overlaps only one).
func (r dayRun) split() int64 { return floorMod(-r.off, 1440) / 15 }

// localDay is the local day (days since 1970-01-01 in local civil time)
// that quarter-hour q of UTC day d falls on.
func (r dayRun) localDay(d, q int64) int64 { return floorDiv(d*1440+q*15+r.off, 1440) }

// phase is the first quarter-hour of a UTC day that starts a local hour.
func (r dayRun) phase() int64 { return floorMod(-r.off, 60) / 15 }

// planDays splits [lo, hi) (unix ms) into dayRuns answered from user_days
// and spans read from the plays themselves: partial days at the edges,
// days on which loc changes its offset, and days whose offset is not a
// whole number of quarter-hours.
func planDays(lo, hi int64, loc *time.Location) (runs []dayRun, raw []span) {
	if lo >= hi {
		return nil, nil
	}
	addRaw := func(a, b int64) {
		if a >= b {
			return
		}
		if n := len(raw); n > 0 && raw[n-1].hi == a {
			raw[n-1].hi = b
			return
		}
		raw = append(raw, span{a, b})
	}
	d0 := -floorDiv(-lo, dayMS) // first whole day
	d1 := floorDiv(hi, dayMS)   // end of the whole days
	if d0 >= d1 {
		addRaw(lo, hi)
		return nil, raw
	}
	addRaw(lo, d0*dayMS)
	for d := d0; d < d1; {
		t := time.UnixMilli(d * dayMS).In(loc)
		_, offSec := t.Zone()
		_, end := t.ZoneBounds()
		// Days wholly inside this zone period: [d, last).
		last := d1
		if !end.IsZero() {
			last = min(last, floorDiv(end.UnixMilli(), dayMS))
		}
		if last > d {
			if offSec%900 == 0 {
				r := dayRun{lo: d, hi: last, off: int64(offSec / 60)}
				if n := len(runs); n > 0 && runs[n-1].hi == d && runs[n-1].off == r.off {
					runs[n-1].hi = last
				} else {
					runs = append(runs, r)
				}
			} else {
				addRaw(d*dayMS, last*dayMS)
			}
			d = last
			continue
		}
		// The offset changes during day d.
		addRaw(d*dayMS, (d+1)*dayMS)
		d++
	}
	addRaw(d1*dayMS, hi)
	return runs, raw
}

// runBounds returns the sorted boundaries of runs for width_bucket: a day
// d is in run i (0-based) when width_bucket(d, bounds) = 2i+1.
func runBounds(runs []dayRun) []int32 {
	b := make([]int32, 0, 2*len(runs))
	for _, r := range runs {
		b = append(b, int32(r.lo), int32(r.hi)) //nolint:gosec // days since 1970 fit easily
	}
	return b
}

// civilDay is the local day number of t in loc.
func civilDay(t time.Time, loc *time.Location) int64 {
	y, m, d := t.In(loc).Date()
	return floorDiv(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix(), 86400)
}

// dayDate returns the civil date of local day number n.
func dayDate(n int64) (int, time.Month, int) {
	return time.Unix(n*86400, 0).UTC().Date()
}

// weekday of local day number n (1970-01-01 was a Thursday).
func weekday(n int64) time.Weekday { return time.Weekday(floorMod(n+4, 7)) }
