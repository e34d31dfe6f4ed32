package monitor

import (
	"time"

	"github.com/spotifyhist/spotifyhist/spotifyhist"
)

// The tracker turns a sequence of currently-playing observations into plays.
//
// A play's identity is its track and its observed start, the fetch time
// minus the progress. Progress does not advance while paused, so the
// listened time is the progress reached; the stream ends when another item
// (or nothing) is seen, or when the progress goes backwards (a repeat, or a
// seek back). When the next item is a track, its own start is the previous
// stream's end, which makes the end exact to a few hundred milliseconds even
// with sparse polling.

const (
	// qualifyMS is Spotify's definition of a stream: 30 s heard.
	qualifyMS = 30_000
	// rewindTolerance is how far progress may go back between two
	// observations of one stream (rounding, buffering) before it counts as a
	// repeat.
	rewindTolerance = 2 * time.Second
	// replaySlack is how much later than the natural end of a stream a new
	// observation of the same track must start to count as a repeat even
	// though its progress is further on.
	replaySlack = 5 * time.Second
	// restartShift is how much later than observed before a stream may
	// appear to have started before it may be a restart.
	restartShift = 3 * time.Second
	// trustedTail is how much listening after the last observation counts
	// towards the 30 s of a stream that did not run to its end.
	trustedTail = 6 * time.Second
)

// observation is one currently-playing result.
type observation struct {
	at       time.Time          // Spotify's timestamp of the state, or the fetch time
	track    *spotifyhist.Track // nil: idle, ad, episode or unknown item
	progress time.Duration
	playing  bool
}

// observationFrom converts a currently-playing result fetched at fetched.
func observationFrom(pb *spotifyhist.Playback, fetched time.Time) observation {
	o := observation{at: fetched}
	if pb == nil {
		return o
	}
	if !pb.Timestamp.IsZero() && absDuration(pb.Timestamp.Sub(fetched)) < time.Minute {
		// Spotify's own timestamp of the state is more precise than the
		// local fetch time, as long as the clocks roughly agree.
		o.at = pb.Timestamp
	}
	if pb.Type == spotifyhist.PlaybackTrack && pb.Track != nil && pb.ProgressKnown && pb.Track.ID != "" {
		o.track = pb.Track
		o.progress = time.Duration(pb.ProgressMS) * time.Millisecond
		o.playing = pb.IsPlaying
	}
	return o
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// livePlay is the stream being observed.
type livePlay struct {
	track       spotifyhist.Track
	duration    time.Duration // 0 when unknown
	start       time.Time     // earliest fetch time minus progress
	maxProgress time.Duration
	progress    time.Duration // at the last observation
	lastAt      time.Time
	playing     bool // at the last observation
}

// endedPlay is a stream the tracker saw end.
type endedPlay struct {
	track      spotifyhist.Track
	start      time.Time
	msPlayed   int           // estimated time heard
	observedMS int           // progress actually observed
	tail       time.Duration // estimated time heard after the last observation
	natural    bool          // ran to its natural end
	end        time.Time     // estimated wall-clock end (pauses included)
}

// playedAt is the stored played_at of a realtime play: start + ms_played.
func (p *endedPlay) playedAt() time.Time {
	return p.start.Add(time.Duration(p.msPlayed) * time.Millisecond)
}

// qualifies reports whether the stream counts as a play: 30 s heard, or
// half of a track shorter than a minute. What was heard after the last
// observation is trusted only when the stream ran to its natural end or the
// tail is short: between sparse observations an unseen ad, or a pause, may
// have taken the time.
func (p *endedPlay) qualifies() bool {
	need := qualifyMS
	if d := p.track.DurationMS; d > 0 && d/2 < need {
		need = d / 2
	}
	if p.observedMS >= need {
		return true
	}
	if p.natural {
		return p.msPlayed >= need
	}
	return p.observedMS+int(min(p.tail, trustedTail).Milliseconds()) >= need
}

type tracker struct {
	cur *livePlay
}

// current returns the stream being observed, or nil.
func (t *tracker) current() *livePlay { return t.cur }

// observe feeds one observation and returns the stream it shows has ended,
// if any.
func (t *tracker) observe(o observation) *endedPlay {
	cur := t.cur
	if o.track == nil {
		t.cur = nil
		if cur == nil {
			return nil
		}
		end := cur.lastAt
		if cur.playing {
			// The stream went on after the last observation: to its natural
			// end if that came before this observation (the usual end of a
			// session), or else it was stopped at some unknown point in
			// between (take the middle).
			end = o.at
			if ne := cur.naturalEnd(); !ne.IsZero() && !ne.After(o.at) {
				end = ne
			} else if o.at.After(cur.lastAt) {
				end = cur.lastAt.Add(o.at.Sub(cur.lastAt) / 2)
			}
		}
		return cur.finish(end)
	}
	start := o.at.Add(-o.progress)
	if cur != nil && cur.track.ID == o.track.ID && !cur.isRepeat(o, start) {
		cur.update(o, start)
		return nil
	}
	var ended *endedPlay
	if cur != nil {
		// The new stream started when the previous one ended, unless that
		// one reached its natural end earlier (an ad played in between).
		end := maxTime(cur.lastAt, minTime(start, o.at))
		if ne := cur.naturalEnd(); cur.playing && !ne.IsZero() && ne.Before(end) {
			end = maxTime(cur.lastAt, ne)
		}
		ended = cur.finish(end)
	}
	t.cur = &livePlay{
		track:       *o.track,
		duration:    time.Duration(o.track.DurationMS) * time.Millisecond,
		start:       start,
		maxProgress: o.progress,
		progress:    o.progress,
		lastAt:      o.at,
		playing:     o.playing,
	}
	return ended
}

// isRepeat reports whether an observation of the same track belongs to a
// new stream: the progress went back, or the new stream started after the
// observed one must have ended.
func (p *livePlay) isRepeat(o observation, start time.Time) bool {
	if o.progress+rewindTolerance < p.progress {
		return true
	}
	if p.playing && o.playing && start.Sub(p.start) > restartShift && p.maxProgress < qualifyMS*time.Millisecond {
		// It played at both observations but started later than observed
		// before: it was paused in between, or started again from the
		// beginning. Before 30 s a restart is the likelier (and the
		// harmless) reading: the first part does not count either way, and
		// the stream's start is the later one.
		return true
	}
	if p.playing && p.duration > 0 {
		naturalEnd := p.lastAt.Add(p.duration - p.progress)
		return start.After(naturalEnd.Add(replaySlack))
	}
	return false
}

func (p *livePlay) update(o observation, start time.Time) {
	if start.Before(p.start) {
		p.start = start
	}
	p.maxProgress = max(p.maxProgress, o.progress)
	p.progress = o.progress
	p.lastAt = o.at
	p.playing = o.playing
}

// finish ends the stream at end (wall clock).
func (p *livePlay) finish(end time.Time) *endedPlay {
	e := &endedPlay{track: p.track, start: p.start, end: end, observedMS: int(p.maxProgress.Milliseconds())}
	played := p.maxProgress
	if p.playing && end.After(p.lastAt) {
		e.tail = end.Sub(p.lastAt)
		played = max(played, p.progress+e.tail)
	}
	if p.duration > 0 && played >= p.duration-time.Second {
		played = min(played, p.duration)
		e.natural = true
	}
	e.msPlayed = int(played.Milliseconds())
	return e
}

// naturalEnd is when the stream ends if it kept playing after the last
// observation; zero when the duration is unknown or it was paused.
func (p *livePlay) naturalEnd() time.Time {
	if p.duration <= 0 || !p.playing {
		return time.Time{}
	}
	return p.lastAt.Add(p.duration - p.progress)
}

// expectedEnd is when the stream ends if it keeps playing.
func (p *livePlay) expectedEnd() time.Time {
	if p.duration <= 0 {
		return time.Time{}
	}
	return p.lastAt.Add(p.duration - p.progress)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
