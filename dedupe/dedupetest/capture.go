package dedupetest

import (
	"math"
	"slices"
	"sort"
	"time"

	"github.com/spotifyhist/spotifyhist/store"
)

// Capture is what the instance stored before the import: the plays of an
// earlier import (older history) and of live monitoring in one mode.
type Capture struct {
	Mode store.Mode
	// Rows are the stored plays in time order; Truth[i] is the play Rows[i]
	// stands for.
	Rows  []store.PlayWithTrack
	Truth []int
	// Missed are the plays (Play.IsPlay) no row stands for, in time order.
	Missed []int
	// Outages are the monitor's downtimes.
	Outages []Interval
}

// Interval is a span of time [From, To).
type Interval struct{ From, To time.Time }

// Monitoring parameters of the simulation.
const (
	HistoryPollInterval  = 20 * time.Minute
	HistoryWindow        = 50 // plays recently-played returns
	RealtimePollInterval = 5 * time.Second
)

// PriorImportID is the import id of the plays stored by the earlier import.
const PriorImportID = "prior-import"

func (g *generator) capture() {
	c := g.c
	prior, priorTruth := g.priorRows()
	hist, histTruth, histOut := g.historyRows()
	rt, rtTruth, rtOut := g.realtimeRows()
	var localRT []store.PlayWithTrack
	var localRTTruth []int
	for i := range rt {
		if rt[i].Track.IsLocal {
			localRT = append(localRT, rt[i])
			localRTTruth = append(localRTTruth, rtTruth[i])
		}
	}
	c.captures = map[store.Mode]*Capture{
		store.ModeHistory:  c.newCapture(store.ModeHistory, histOut, [][]store.PlayWithTrack{prior, hist}, [][]int{priorTruth, histTruth}),
		store.ModeRealtime: c.newCapture(store.ModeRealtime, rtOut, [][]store.PlayWithTrack{prior, rt}, [][]int{priorTruth, rtTruth}),
		store.ModeHybrid: c.newCapture(store.ModeHybrid, histOut, [][]store.PlayWithTrack{prior, hist, localRT},
			[][]int{priorTruth, histTruth, localRTTruth}),
	}
}

func (c *Corpus) newCapture(mode store.Mode, out []Interval, rows [][]store.PlayWithTrack, truth [][]int) *Capture {
	cp := &Capture{Mode: mode, Outages: out}
	for i := range rows {
		cp.Rows = append(cp.Rows, rows[i]...)
		cp.Truth = append(cp.Truth, truth[i]...)
	}
	idx := make([]int, len(cp.Rows))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cp.Rows[a].PlayedAt.Compare(cp.Rows[b].PlayedAt) })
	sorted := make([]store.PlayWithTrack, len(idx))
	sortedTruth := make([]int, len(idx))
	stored := make([]bool, len(c.Plays))
	for k, i := range idx {
		sorted[k], sortedTruth[k] = cp.Rows[i], cp.Truth[i]
		stored[cp.Truth[i]] = true
	}
	cp.Rows, cp.Truth = sorted, sortedTruth
	for i := range c.Plays {
		if c.Plays[i].IsPlay && !stored[i] {
			cp.Missed = append(cp.Missed, i)
		}
	}
	return cp
}

func (g *generator) row(i int, playedAt time.Time, ms int, src store.Source) store.PlayWithTrack {
	p := &g.c.Plays[i]
	t := g.c.tracks[p.Recording]
	pl := store.Play{UserID: g.cfg.UserID, TrackID: t.ID, PlayedAt: playedAt.UTC().Truncate(time.Millisecond), MSPlayed: ms, Source: src}
	if src == store.SourceImport {
		pl.ImportID = PriorImportID
	}
	return store.PlayWithTrack{Play: pl, Track: t}
}

// priorRows are the plays an earlier import of an older export stored: every
// play that ended before PriorImportUntil, exactly as the export has it.
func (g *generator) priorRows() ([]store.PlayWithTrack, []int) {
	c := g.c
	var rows []store.PlayWithTrack
	var truth []int
	for i := range c.Rows {
		r := &c.Rows[i]
		p := &c.Plays[r.Truth]
		if r.Duplicate || !p.IsPlay || !r.TS.Before(c.PriorImportUntil) {
			continue
		}
		rows = append(rows, g.row(r.Truth, r.TS, r.MSPlayed, store.SourceImport))
		truth = append(truth, r.Truth)
	}
	return rows, truth
}

// outages draws monitor downtimes: a Poisson process of mean interval every,
// with log-normal lengths around median.
func (g *generator) outages(from, to time.Time, every, median time.Duration, sigma float64) []Interval {
	var out []Interval
	t := from.Add(time.Duration(g.rng.ExpFloat64() * float64(every)))
	for t.Before(to) {
		d := time.Duration(float64(median) * math.Exp(g.rng.NormFloat64()*sigma))
		out = append(out, Interval{t, t.Add(d)})
		t = t.Add(d + time.Duration(g.rng.ExpFloat64()*float64(every)))
	}
	return out
}

// grid is a monitor's poll schedule: every step from base, except during
// outages.
type grid struct {
	base time.Time
	step time.Duration
	out  []Interval
}

// outageAt returns the outage containing t, if any.
func (gr *grid) outageAt(t time.Time) (Interval, bool) {
	i := sort.Search(len(gr.out), func(i int) bool { return gr.out[i].To.After(t) })
	if i < len(gr.out) && !gr.out[i].From.After(t) {
		return gr.out[i], true
	}
	return Interval{}, false
}

// first returns the first poll at or after t.
func (gr *grid) first(t time.Time) time.Time {
	for {
		if t.Before(gr.base) {
			t = gr.base
		}
		k := (t.Sub(gr.base) + gr.step - 1) / gr.step
		p := gr.base.Add(k * gr.step)
		o, down := gr.outageAt(p)
		if !down {
			return p
		}
		t = o.To
	}
}

// last returns the last poll strictly before t, or the zero time.
func (gr *grid) last(t time.Time) time.Time {
	for {
		if !t.After(gr.base) {
			return time.Time{}
		}
		k := (t.Sub(gr.base) - 1) / gr.step
		p := gr.base.Add(k * gr.step)
		o, down := gr.outageAt(p)
		if !down {
			return p
		}
		t = o.From
	}
}

// downWithin is the outage time within [a, b].
func (gr *grid) downWithin(a, b time.Time) time.Duration {
	var d time.Duration
	i := sort.Search(len(gr.out), func(i int) bool { return gr.out[i].To.After(a) })
	for ; i < len(gr.out) && gr.out[i].From.Before(b); i++ {
		d += overlap(a, b, gr.out[i].From, gr.out[i].To)
	}
	return d
}

func overlap(a0, a1, b0, b1 time.Time) time.Duration {
	lo, hi := a0, a1
	if b0.After(lo) {
		lo = b0
	}
	if b1.Before(hi) {
		hi = b1
	}
	if hi.After(lo) {
		return hi.Sub(lo)
	}
	return 0
}

// historyRows simulates history mode: recently-played polled every 20 minutes
// from MonitorFrom, keeping the last 50 reported plays.
func (g *generator) historyRows() ([]store.PlayWithTrack, []int, []Interval) {
	c := g.c
	out := g.outages(c.MonitorFrom, c.End, 25*24*time.Hour, 2*time.Hour, 1.3)
	gr := &grid{base: c.MonitorFrom.Add(g.uniformDur(0, HistoryPollInterval)), step: HistoryPollInterval, out: out}
	type report struct {
		play int
		at   time.Time
	}
	var reps []report
	for i := range c.Plays {
		p := &c.Plays[i]
		if p.Episode || p.Incognito || c.Recordings[p.Recording].Local {
			continue
		}
		var prob float64
		switch {
		case p.MSPlayed < int(MinPlay.Milliseconds()):
			prob = 0.03 // a track scrubbed to its end shows up
		case p.Skip:
			prob = 0.5 // skipped plays are often missing
		default:
			prob = 0.998
		}
		at := p.End
		if p.Offline {
			// Offline plays arrive late, with their past played_at; the monitor's
			// overlap catches some.
			prob *= 0.6
			at = p.SyncedAt
		}
		if g.chance(prob) {
			reps = append(reps, report{i, at})
		}
	}
	slices.SortStableFunc(reps, func(a, b report) int { return a.at.Compare(b.at) })
	upper := func(t time.Time) int {
		return sort.Search(len(reps), func(i int) bool { return reps[i].at.After(t) })
	}
	var rows []store.PlayWithTrack
	var truth []int
	for _, r := range reps {
		poll := gr.first(r.at)
		if upper(poll)-upper(r.at) >= HistoryWindow {
			continue // pushed out of the window before anyone asked
		}
		p := &c.Plays[r.play]
		at := p.End
		if g.startDay(p.End) {
			at = p.Start
		}
		at = at.Add(g.uniformDur(-1500*time.Millisecond, 1500*time.Millisecond))
		rows = append(rows, g.row(r.play, at, 0, store.SourceHistory))
		truth = append(truth, r.play)
	}
	return rows, truth, out
}

// startDay reports whether Spotify's played_at is the start of the stream on
// the UTC day of t (about 3% of days).
func (g *generator) startDay(t time.Time) bool {
	if g.startDays == nil {
		g.startDays = make(map[int64]bool)
	}
	d := t.Unix() / 86400
	v, ok := g.startDays[d]
	if !ok {
		v = g.chance(0.03)
		g.startDays[d] = v
	}
	return v
}

// realtimeRows simulates realtime mode: currently-playing polled every 5 s
// from MonitorFrom. A stream is recorded when at least 30 s of it were seen
// playing; its start is the first poll that saw it and its ms_played what the
// polls saw.
func (g *generator) realtimeRows() ([]store.PlayWithTrack, []int, []Interval) {
	c := g.c
	out := g.outages(c.MonitorFrom, c.End, 7*24*time.Hour, 30*time.Minute, 1.2)
	gr := &grid{base: c.MonitorFrom.Add(g.uniformDur(0, RealtimePollInterval)), step: RealtimePollInterval, out: out}
	var rows []store.PlayWithTrack
	var truth []int
	for i := range c.Plays {
		p := &c.Plays[i]
		if p.Episode || p.Incognito || p.Offline || p.Collision || p.End.Before(c.MonitorFrom) {
			continue
		}
		first := gr.first(p.Start)
		if !first.Before(p.VisibleEnd) {
			continue
		}
		last := gr.last(p.VisibleEnd)
		if last.Before(first) {
			continue
		}
		seen := last.Sub(first) - gr.downWithin(first, last)
		if p.Pause > 0 {
			ps := p.Start.Add(time.Duration(p.MSPlayed/2) * time.Millisecond)
			seen -= overlap(first, last, ps, ps.Add(p.Pause))
		}
		if seen < MinPlay {
			continue
		}
		rows = append(rows, g.row(i, first.Add(seen), int(seen.Milliseconds()), store.SourceRealtime))
		truth = append(truth, i)
	}
	return rows, truth, out
}
