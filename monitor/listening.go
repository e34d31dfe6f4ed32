package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/store"
)

// Listening-task constants that are not worth a Config field.
const (
	// maxPending bounds the plays a listening task keeps in memory while the
	// database is unreachable (weeks of listening).
	maxPending = 10_000
	// stateRefresh is how often a continuously polling task refreshes its
	// stored last-run time.
	stateRefresh = time.Minute
	// blindFactor: a gap between two successful currently-playing polls
	// longer than blindFactor intervals is a blind spot recently-played must
	// fill.
	blindFactor = 3
	// blindKeep is how long after a blind spot realtime mode keeps asking
	// recently-played about it (Spotify may list plays hours late).
	blindKeep = 3 * time.Hour
	// adaptiveEndSlack is how long after the expected end of the current
	// track the adaptive mode polls, so that the next item has started.
	adaptiveEndSlack = 2 * time.Second
	// adaptiveMinWait is the shortest adaptive currently-playing interval.
	adaptiveMinWait = 2 * time.Second
	// adaptiveIdleStart is the first idle backoff step.
	adaptiveIdleStart = 15 * time.Second
	// adaptiveSessionEndDelay is when, after a listening session ends, the
	// adaptive mode asks recently-played for anything currently-playing
	// missed (leaving Spotify's usual lag time to list the last plays).
	adaptiveSessionEndDelay = 2 * time.Minute
	// startJitterMax bounds the spread of first polls after a claim.
	startJitterMax = 2 * time.Second
)

// listeningClient is what the listening task reads from Spotify;
// *spotifyhist.Client implements it.
type listeningClient interface {
	RecentlyPlayed(ctx context.Context, after time.Time) ([]spotifyhist.RecentPlay, error)
	CurrentlyPlaying(ctx context.Context) (*spotifyhist.Playback, error)
}

// interval is a span of time in unix ms.
type interval struct{ from, to int64 }

// listener is one run of a user's listening task. It polls recently-played
// and currently-playing on the mode's schedule, decides which plays to
// store (see the ledger), and stores them, keeping what it could not store
// for the next attempt.
type listener struct {
	m      *Monitor
	user   store.User
	mode   store.Mode
	api    listeningClient
	ledger *ledger
	tr     tracker
	state  stateWriter

	pending []store.PlayInput
	// newestHistory is the newest played_at recently-played returned (or,
	// before the first poll, the newest stored play): the cursor base.
	newestHistory time.Time

	nextRP, nextCP, nextFlush time.Time
	apiBackoff, flushBackoff  *backoff

	// Currently-playing bookkeeping.
	lastCPOK    time.Time  // last successful currently-playing poll
	blind       []interval // spans currently-playing did not watch (realtime mode)
	active      bool       // something was playing at the last poll
	idleBackoff time.Duration
}

func (m *Monitor) newListener(u *store.User, carry []store.PlayInput) *listener {
	l := &listener{
		m:            m,
		user:         *u,
		mode:         u.Mode,
		ledger:       newLedger(),
		pending:      carry,
		apiBackoff:   m.newBackoff(5 * time.Second),
		flushBackoff: m.newBackoff(time.Second),
	}
	// Task states are read once, at the claim; a listener does not need them.
	l.user.Tasks = nil
	l.state = stateWriter{m: m, userID: u.ID, task: store.TaskListening}
	if !l.mode.Valid() {
		l.mode = store.ModeDefault
	}
	return l
}

// logger returns the monitor's logger with the user's attributes. It is
// built when needed: a worker may run thousands of listeners.
func (l *listener) logger() *slog.Logger {
	return l.m.log.With("user_id", l.user.ID, "mode", l.mode)
}

// unstored returns the plays fetched but not stored yet.
func (l *listener) unstored() []store.PlayInput { return l.pending }

func (l *listener) usesCP() bool { return l.mode != store.ModeHistory }

// run polls until ctx ends (nil) or the user's authorisation is rejected
// (an error wrapping spotifyhist.ErrReauthRequired). Transient failures of
// Spotify and of the database are retried inside.
func (l *listener) run(ctx context.Context) error {
	// The work runs on short-lived goroutines: JSON decoding and database
	// drivers grow a goroutine's stack to tens of kilobytes, and the
	// long-lived goroutine of each user only sleeps between polls. With
	// thousands of users this keeps their stacks at the minimum.
	ok := false
	err := l.work(ctx, func() (err error) {
		ok, err = l.setup(ctx)
		return err
	})
	if err != nil || !ok {
		return err
	}
	for {
		wake := l.nextWake()
		if !sleepCtx(ctx, wake.Sub(l.m.now())) {
			return nil
		}
		if err := l.work(ctx, func() error { return l.iterate(ctx) }); err != nil {
			return err
		}
	}
}

// work runs fn on a fresh stack once one of the worker's poll slots is
// free. It returns nil without running fn when ctx ends first.
func (l *listener) work(ctx context.Context, fn func() error) error {
	select {
	case l.m.pollSlots <- struct{}{}:
	case <-ctx.Done():
		return nil
	}
	defer func() { <-l.m.pollSlots }()
	return onFreshStack(fn)
}

// onFreshStack runs fn on a new goroutine and waits for it; a panic in fn
// is carried over (with fn's stack) to the caller.
func onFreshStack(fn func() error) error {
	var (
		err      error
		panicked *panicError
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if v := recover(); v != nil {
				pe, ok := v.(*panicError)
				if !ok {
					pe = &panicError{value: v, stack: debug.Stack()}
				}
				panicked = pe
			}
		}()
		err = fn()
	}()
	<-done
	if panicked != nil {
		panic(panicked)
	}
	return err
}

// setup gets the client, loads the recent plays and schedules the first
// polls. It reports false when ctx ended first.
func (l *listener) setup(ctx context.Context) (bool, error) {
	c, err := l.m.cfg.Clients.For(ctx, &l.user)
	if err != nil {
		return false, err
	}
	l.api = c
	if !l.load(ctx) {
		return false, nil
	}
	now := l.m.now()
	first := now.Add(l.m.jitter(min(l.pollInterval()/10, startJitterMax)))
	switch l.mode {
	case store.ModeHistory:
		l.nextRP = first
	case store.ModeRealtime:
		l.nextCP = first
		// Recently-played covers what happened before this task watched.
		l.nextRP = first
		l.blind = append(l.blind, interval{from: 0, to: first.UnixMilli()})
	default:
		l.nextCP = first
		l.nextRP = first
	}
	l.state.set(ctx, store.TaskRunning, "", time.Time{}, true)
	return true, nil
}

// iterate stores what is pending and runs the polls that are due. It
// returns an error only when the task must end.
func (l *listener) iterate(ctx context.Context) error {
	ctx = spotifyhist.WithPriority(ctx, spotifyhist.PriorityMonitor)
	now := l.m.now()
	if len(l.pending) > 0 && !now.Before(l.nextFlush) {
		_, _ = l.flush(ctx)
	}
	rpDue := !l.nextRP.IsZero() && !now.Before(l.nextRP)
	cpDue := !l.nextCP.IsZero() && !now.Before(l.nextCP)
	if !rpDue && !cpDue {
		return nil
	}
	if !l.m.trusted() {
		// The lease may have expired: call nobody until it is renewed (the
		// worker stops this task if it is not).
		l.delayPolls(now.Add(l.m.cfg.HeartbeatInterval))
		return nil
	}
	if cpDue {
		if err := l.pollCP(ctx); err != nil {
			return err
		}
	}
	if rpDue && !l.nextRP.IsZero() && !l.m.now().Before(l.nextRP) {
		if err := l.pollRP(ctx); err != nil {
			return err
		}
	}
	return nil
}

// pollInterval is the mode's main period.
func (l *listener) pollInterval() time.Duration {
	if l.mode == store.ModeHistory {
		return l.m.cfg.HistoryPollInterval
	}
	return l.m.cfg.RealtimePollInterval
}

func (l *listener) nextWake() time.Time {
	var t time.Time
	for _, c := range []time.Time{l.nextRP, l.nextCP} {
		if !c.IsZero() && (t.IsZero() || c.Before(t)) {
			t = c
		}
	}
	if len(l.pending) > 0 && (t.IsZero() || l.nextFlush.Before(t)) {
		t = l.nextFlush
	}
	if t.IsZero() {
		// Nothing scheduled (realtime mode with no blind spot and nothing
		// to poll cannot happen, but never spin).
		t = l.m.now().Add(l.pollInterval())
	}
	return t
}

// delayPolls moves every scheduled poll to at least t.
func (l *listener) delayPolls(t time.Time) {
	if !l.nextRP.IsZero() && l.nextRP.Before(t) {
		l.nextRP = t
	}
	if !l.nextCP.IsZero() && l.nextCP.Before(t) {
		l.nextCP = t
	}
}

// load reads the cursor and the recent plays from the store, retrying with
// backoff while the database is unreachable. It reports false when ctx ended.
func (l *listener) load(ctx context.Context) bool {
	bo := l.m.newBackoff(time.Second)
	for {
		err := l.loadOnce(ctx)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		l.logger().WarnContext(ctx, "loading recent plays failed; retrying", "error", err)
		l.state.set(ctx, store.TaskError, err.Error(), time.Time{}, false)
		if !sleepCtx(ctx, bo.next()) {
			return false
		}
	}
}

func (l *listener) loadOnce(ctx context.Context) error {
	latest, err := l.m.st.LatestPlay(ctx, l.user.ID, store.SourceHistory)
	if errors.Is(err, store.ErrNotFound) {
		latest, err = l.m.st.LatestPlay(ctx, l.user.ID, "")
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		latest = nil
	case err != nil:
		return fmt.Errorf("monitor: latest play: %w", err)
	}
	l.ledger = newLedger()
	var from time.Time
	if latest != nil {
		l.newestHistory = latest.PlayedAt
		from = latest.PlayedAt.Add(-l.m.cfg.HistoryOverlap - pauseAllowance - matchTolerance)
	} else {
		from = l.m.now().Add(-l.m.cfg.HistoryOverlap - pauseAllowance - matchTolerance)
	}
	plays, err := l.m.st.ListPlays(ctx, &store.ListPlaysParams{UserID: l.user.ID, From: from})
	if err != nil {
		return fmt.Errorf("monitor: recent plays: %w", err)
	}
	for i := range plays {
		p := &plays[i].Play
		h := l.ledger.hash(p.TrackID)
		at := p.PlayedAt.UnixMilli()
		if p.Source == store.SourceRealtime {
			l.ledger.addRealtime(h, at, at, pauseAllowance, false)
		} else {
			l.ledger.addHistory(h, at, false)
		}
	}
	// Plays a failed run had fetched are not stored yet but must count as
	// known.
	for _, p := range l.pending {
		h := l.ledger.hash(p.Track.ID)
		at := p.PlayedAt.UnixMilli()
		if p.Source == store.SourceRealtime {
			end := at
			l.ledger.addRealtime(h, at, end, pauseAllowance, false)
		} else {
			l.ledger.addHistory(h, at, false)
		}
	}
	return nil
}

// pollRP asks recently-played for the plays after the cursor.
func (l *listener) pollRP(ctx context.Context) error {
	start := l.m.now()
	if l.mode == store.ModeHistory {
		l.state.set(ctx, store.TaskRunning, "", time.Time{}, false)
	}
	var after time.Time
	if !l.newestHistory.IsZero() {
		after = l.newestHistory.Add(-l.m.cfg.HistoryOverlap)
	}
	items, err := l.api.RecentlyPlayed(ctx, after)
	if err != nil {
		return l.apiFailed(ctx, PollRecentlyPlayed, err)
	}
	l.apiBackoff.reset()
	for i := range items {
		it := &items[i]
		if it.Track.ID == "" {
			continue
		}
		if it.PlayedAt.After(l.newestHistory) {
			l.newestHistory = it.PlayedAt
		}
		l.considerHistory(it)
	}
	if !after.IsZero() {
		l.ledger.prune(after.Add(-pauseAllowance - matchTolerance).UnixMilli())
	}
	l.scheduleRP(start)
	stored, ferr := l.storeNow(ctx)
	l.observePoll(start, PollRecentlyPlayed, stored, ferr)
	if l.mode == store.ModeHistory && ferr == nil {
		l.state.set(ctx, store.TaskIdle, "", l.m.now(), true)
	}
	return nil
}

// considerHistory decides whether a recently-played item is stored, and
// queues it if so.
func (l *listener) considerHistory(it *spotifyhist.RecentPlay) bool {
	h := l.ledger.hash(it.Track.ID)
	at := it.PlayedAt.UnixMilli()
	if l.ledger.has(h, at) {
		return false
	}
	if l.ledger.matchHistory(h, at) {
		// Currently-playing stored this stream already.
		l.ledger.addHistory(h, at, true)
		return false
	}
	if l.mode == store.ModeRealtime && !l.inBlind(at) {
		// Realtime mode stores what it sees playing; recently-played only
		// fills the spans it did not watch. Remember the item as handled so
		// that it is not considered again (and never matched).
		l.ledger.addHistory(h, at, true)
		return false
	}
	l.ledger.addHistory(h, at, false)
	l.enqueue(store.PlayInput{Track: storeTrack(&it.Track), PlayedAt: it.PlayedAt, Source: store.SourceHistory})
	return true
}

func (l *listener) inBlind(at int64) bool {
	tol := matchTolerance.Milliseconds()
	for _, b := range l.blind {
		if at >= b.from-tol && at <= b.to+tol {
			return true
		}
	}
	return false
}

// scheduleRP sets the next recently-played poll after one that started at
// start.
func (l *listener) scheduleRP(start time.Time) {
	switch l.mode {
	case store.ModeHistory, store.ModeHybrid:
		l.nextRP = start.Add(l.m.cfg.HistoryPollInterval)
	case store.ModeAdaptive:
		l.nextRP = start.Add(l.m.cfg.Adaptive.HistoryInterval)
	case store.ModeRealtime:
		cut := start.Add(-blindKeep).UnixMilli()
		kept := l.blind[:0]
		for _, b := range l.blind {
			if b.to >= cut {
				kept = append(kept, b)
			}
		}
		l.blind = kept
		if len(l.blind) == 0 {
			l.nextRP = time.Time{}
		} else {
			l.nextRP = start.Add(l.m.cfg.HistoryPollInterval)
		}
	}
}

// pollCP asks currently-playing what plays now.
func (l *listener) pollCP(ctx context.Context) error {
	start := l.m.now()
	pb, err := l.api.CurrentlyPlaying(ctx)
	if err != nil {
		return l.apiFailed(ctx, PollCurrentlyPlaying, err)
	}
	l.apiBackoff.reset()
	now := l.m.now()
	if l.mode == store.ModeRealtime && !l.lastCPOK.IsZero() && now.Sub(l.lastCPOK) > blindFactor*l.m.cfg.RealtimePollInterval {
		l.blind = append(l.blind, interval{from: l.lastCPOK.UnixMilli(), to: now.UnixMilli()})
		if l.nextRP.IsZero() {
			l.nextRP = now.Add(adaptiveSessionEndDelay)
		}
	}
	l.lastCPOK = now
	o := observationFrom(pb, now)
	if ended := l.tr.observe(o); ended != nil && ended.qualifies() {
		l.considerRealtime(ended)
	}
	l.scheduleCP(now, pb, o)
	stored, ferr := l.storeNow(ctx)
	l.observePoll(start, PollCurrentlyPlaying, stored, ferr)
	if ferr == nil {
		status := store.TaskRunning
		if l.mode == store.ModeAdaptive && !l.active {
			status = store.TaskIdle
		}
		l.state.set(ctx, status, "", now, false)
	}
	return nil
}

// considerRealtime decides whether a stream currently-playing saw end is
// stored, and queues it if so.
func (l *listener) considerRealtime(p *endedPlay) bool {
	if l.mode == store.ModeHybrid && !p.track.IsLocal {
		// Hybrid: recently-played stores everything but local files.
		return false
	}
	h := l.ledger.hash(p.track.ID)
	playedAt := p.playedAt().Truncate(time.Millisecond)
	at, end := playedAt.UnixMilli(), p.end.UnixMilli()
	if l.ledger.has(h, at) {
		return false
	}
	tol := matchTolerance.Milliseconds()
	if l.ledger.matchRealtime(h, min(at, end)-tol, end+tol, end) {
		// Recently-played stored this stream already.
		l.ledger.addRealtime(h, at, end, 0, true)
		return false
	}
	l.ledger.addRealtime(h, at, end, 0, false)
	l.enqueue(store.PlayInput{Track: storeTrack(&p.track), PlayedAt: playedAt, MSPlayed: p.msPlayed, Source: store.SourceRealtime})
	return true
}

// scheduleCP sets the next currently-playing poll.
func (l *listener) scheduleCP(now time.Time, pb *spotifyhist.Playback, o observation) {
	if l.mode != store.ModeAdaptive {
		l.nextCP = now.Add(l.m.cfg.RealtimePollInterval)
		return
	}
	cfg := l.m.cfg.Adaptive
	wasActive := l.active
	l.active = pb != nil
	switch {
	case o.track != nil && o.playing:
		l.idleBackoff = 0
		wait := cfg.PlayingMax
		if cur := l.tr.current(); cur != nil {
			if end := cur.expectedEnd(); !end.IsZero() {
				// Right after the expected end: the next item has started and
				// tells exactly when this one ended.
				wait = min(wait, end.Sub(o.at)+adaptiveEndSlack)
			}
			if need := time.Duration(qualifyMS) * time.Millisecond; cur.maxProgress < need {
				// Just after the stream reaches 30 s, so that whether it
				// counts is observed rather than guessed.
				wait = min(wait, need-cur.progress+time.Second)
			}
		}
		l.nextCP = now.Add(max(wait, adaptiveMinWait))
	case o.track != nil && l.tr.current() != nil && l.tr.current().maxProgress < qualifyMS*time.Millisecond:
		// Paused before 30 s: once resumed it may be skipped soon after
		// reaching 30 s, so watch closely whether it does.
		l.idleBackoff = 0
		l.nextCP = now.Add(l.m.cfg.RealtimePollInterval)
	case pb != nil:
		// Paused, an ad, an episode: keep watching at the playing pace.
		l.idleBackoff = 0
		l.nextCP = now.Add(cfg.PlayingMax)
	default:
		if wasActive {
			// The session ended: recently-played soon shows what
			// currently-playing may have missed in it.
			l.idleBackoff = adaptiveIdleStart
			if rp := now.Add(adaptiveSessionEndDelay); l.nextRP.IsZero() || rp.Before(l.nextRP) {
				l.nextRP = rp
			}
		} else {
			l.idleBackoff = min(max(l.idleBackoff*2, adaptiveIdleStart), cfg.IdleMax)
		}
		l.nextCP = now.Add(l.idleBackoff)
	}
}

// enqueue adds a play to the plays to store.
func (l *listener) enqueue(p store.PlayInput) {
	if len(l.pending) >= maxPending {
		l.logger().Error("too many plays waiting for the database; dropping the oldest", "pending", len(l.pending))
		l.pending = l.pending[1:]
	}
	l.pending = append(l.pending, p)
}

// storeNow stores the pending plays after a poll, unless the database is
// in backoff (then the next attempt is scheduled already). It returns the
// number of plays stored.
func (l *listener) storeNow(ctx context.Context) (int, error) {
	if len(l.pending) == 0 || l.m.now().Before(l.nextFlush) {
		return 0, nil
	}
	return l.flush(ctx)
}

// flush stores the pending plays; on failure they stay pending and the next
// attempt waits with backoff.
func (l *listener) flush(ctx context.Context) (int, error) {
	if l.mode == store.ModeHistory {
		l.state.set(ctx, store.TaskProcessing, "", time.Time{}, false)
	}
	n, err := l.m.insertPlays(ctx, l.user.ID, l.pending)
	if err != nil {
		if ctx.Err() != nil {
			return 0, err
		}
		d := l.flushBackoff.next()
		l.nextFlush = l.m.now().Add(d)
		l.logger().WarnContext(ctx, "storing plays failed; keeping them for the next attempt",
			"pending", len(l.pending), "retry_in", d, "error", err)
		l.state.set(ctx, store.TaskError, err.Error(), time.Time{}, false)
		return 0, err
	}
	l.pending = nil
	l.flushBackoff.reset()
	l.nextFlush = time.Time{}
	return n, nil
}

func (l *listener) observePoll(start time.Time, kind PollKind, stored int, err error) {
	l.m.met.pollDuration.WithLabelValues(string(l.mode)).Observe(l.m.now().Sub(start).Seconds())
	if s := l.m.cfg.Test.Signals; s != nil && s.Poll != nil {
		s.Poll(l.user.ID, kind, stored, err)
	}
}

// apiFailed handles a failed Spotify call: it returns the error when the
// task must end, and otherwise delays the polls (rate limit: until the
// block ends, capped; other errors: exponential backoff).
func (l *listener) apiFailed(ctx context.Context, kind PollKind, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	if errors.Is(err, spotifyhist.ErrReauthRequired) {
		return err
	}
	now := l.m.now()
	if wait, ok := rateLimitWait(err, now); ok {
		wait = min(max(wait, time.Second), l.m.cfg.RateLimitWaitMax)
		l.m.met.rateLimited.Inc()
		l.logger().WarnContext(ctx, "spotify rate limit; pausing this user's polls", "poll", kind, "wait", wait, "error", err)
		l.delayPolls(now.Add(wait))
		l.state.set(ctx, store.TaskError, err.Error(), time.Time{}, false)
		l.observePoll(now, kind, 0, err)
		return nil
	}
	wait := l.apiBackoff.next()
	if !spotifyhist.IsRetryable(err) {
		// A 4xx other than 401/429 (a user not allow-listed, a lapsed
		// Premium subscription of the app's owner) needs a person: back off
		// hard.
		wait = max(wait, l.m.cfg.RetryBackoffMax)
	}
	l.m.met.taskErrors.WithLabelValues(string(store.TaskListening)).Inc()
	l.logger().WarnContext(ctx, "spotify call failed; retrying later", "poll", kind, "retry_in", wait, "error", err)
	l.delayPolls(now.Add(wait))
	l.state.set(ctx, store.TaskError, err.Error(), time.Time{}, false)
	l.observePoll(now, kind, 0, err)
	return nil
}

// stateWriter records a task's state, writing only changes (and the
// last-run time at most every stateRefresh unless forced).
type stateWriter struct {
	m       *Monitor
	userID  string
	task    store.Task
	ok      bool
	status  store.TaskStatus
	lastErr string
	ranAt   time.Time
}

func (w *stateWriter) set(ctx context.Context, status store.TaskStatus, lastErr string, ranAt time.Time, force bool) {
	changed := !w.ok || status != w.status || lastErr != w.lastErr
	refresh := !ranAt.IsZero() && (force || ranAt.Sub(w.ranAt) >= stateRefresh)
	if !changed && !refresh {
		return
	}
	err := w.m.st.SetTaskState(ctx, &store.SetTaskStateParams{
		UserID: w.userID, Task: w.task, Status: status, LastError: lastErr, LastRunAt: ranAt, Now: w.m.now(),
	})
	if err != nil {
		w.ok = false
		if ctx.Err() == nil {
			w.m.log.DebugContext(ctx, "recording task state failed", "user_id", w.userID, "task", w.task, "error", err)
		}
		return
	}
	w.ok, w.status, w.lastErr = true, status, lastErr
	if !ranAt.IsZero() {
		w.ranAt = ranAt
	}
}

// storeTrack converts a track from the Web API into a linked catalogue
// track; local files, and the rare artist or album without a Spotify id,
// get provisional ids made from their names.
func storeTrack(t *spotifyhist.Track) store.Track {
	out := store.Track{
		ID:         t.ID,
		Name:       t.Name,
		DurationMS: t.DurationMS,
		ISRC:       t.ISRC,
		IsLocal:    t.IsLocal,
		Linked:     true,
	}
	switch {
	case t.Album.ID != "":
		out.Album = store.Album{ID: t.Album.ID, Name: t.Album.Name}
	case t.Album.Name != "":
		out.Album = store.Album{ID: store.ProvisionalID("album", t.Album.Name), Name: t.Album.Name}
	}
	out.Artists = make([]store.Artist, 0, len(t.Artists))
	for _, a := range t.Artists {
		switch {
		case a.ID != "":
			out.Artists = append(out.Artists, store.Artist{ID: a.ID, Name: a.Name})
		case a.Name != "":
			out.Artists = append(out.Artists, store.Artist{ID: store.ProvisionalID("artist", a.Name), Name: a.Name})
		}
	}
	return out
}
