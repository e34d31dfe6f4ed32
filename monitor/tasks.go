package monitor

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"time"

	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/store"
)

// reauthMessage is the last error recorded for the tasks of a user whose
// Spotify authorisation was rejected.
const reauthMessage = "spotify rejected the authorisation: the user must log in again"

// restartBackoffBase is the first delay before a failed task is restarted.
const restartBackoffBase = time.Second

// userRun is one user's tasks on this worker. Its context ends when the user
// stops here (released, lost, disabled, drain); wait returns when every task
// has stopped.
type userRun struct {
	m       *Monitor
	id      string
	claimed time.Time
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu           sync.Mutex
	user         store.User // settings and token as last read
	mode         store.Mode
	stopped      bool
	listenCancel context.CancelFunc
	listenDone   chan struct{}
	playlists    *periodic
}

// startUser starts the tasks of a user this worker now holds.
func (m *Monitor) startUser(ctx context.Context, u *store.User) {
	rctx, cancel := context.WithCancel(ctx)
	r := &userRun{m: m, id: u.ID, claimed: m.now(), ctx: rctx, cancel: cancel, user: *u}
	r.user.Tasks = nil // read below, once
	m.mu.Lock()
	if old, ok := m.users[u.ID]; ok {
		// Cannot happen: a user is started only when it is not running.
		m.mu.Unlock()
		cancel()
		m.log.ErrorContext(ctx, "user started twice; keeping the running tasks", "user_id", old.id)
		return
	}
	m.users[u.ID] = r
	m.mu.Unlock()
	if s := m.cfg.Test.Signals; s != nil && s.UserStarted != nil {
		s.UserStarted(u.ID)
	}
	r.setMode(u.Mode)
	if m.cfg.PlaylistScanInterval > 0 {
		r.mu.Lock()
		r.playlists = m.startPlaylists(r, u)
		r.mu.Unlock()
	}
}

// setUser records the user's settings and token as last read (the mode is
// applied by setMode).
func (r *userRun) setUser(u *store.User) {
	r.mu.Lock()
	defer r.mu.Unlock()
	mode := r.user.Mode
	r.user = *u
	r.user.Tasks = nil
	r.user.Mode = mode
}

// snapshot returns the user as last read.
func (r *userRun) snapshot() store.User {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.user
}

func (r *userRun) currentMode() store.Mode {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mode
}

// setMode (re)starts the listening task in mode. The new task starts only
// after the previous one has stopped, so two never poll at once.
func (r *userRun) setMode(mode store.Mode) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped || (r.listenDone != nil && r.mode == mode) {
		return
	}
	r.mode = mode
	r.user.Mode = mode
	prevCancel, prevDone := r.listenCancel, r.listenDone
	lctx, cancel := context.WithCancel(r.ctx)
	done := make(chan struct{})
	r.listenCancel, r.listenDone = cancel, done
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer close(done)
		if prevCancel != nil {
			prevCancel()
			<-prevDone
		}
		r.m.superviseListening(lctx, r, mode)
	}()
}

// wait blocks until every task of the user has stopped. Call it after
// cancel.
func (r *userRun) wait() {
	r.mu.Lock()
	r.stopped = true
	p := r.playlists
	r.mu.Unlock()
	if p != nil {
		p.stop()
	}
	r.wg.Wait()
}

// panicError is a panic recovered in a task.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v", e.value) }

// protect runs fn and turns a panic into a *panicError.
func (m *Monitor) protect(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			m.met.taskPanics.Inc()
			pe, ok := v.(*panicError)
			if !ok {
				pe = &panicError{value: v, stack: debug.Stack()}
			}
			err = pe
		}
	}()
	return fn()
}

// taskFailed counts, logs and records a failed run of a task.
func (m *Monitor) taskFailed(ctx context.Context, userID string, task store.Task, err error) {
	m.met.taskErrors.WithLabelValues(string(task)).Inc()
	attrs := []any{"task", task, "error", err}
	if userID != "" {
		attrs = append(attrs, "user_id", userID)
	}
	var pe *panicError
	if errors.As(err, &pe) {
		attrs = append(attrs, "stack", string(pe.stack))
		m.log.ErrorContext(ctx, "task panicked; restarting it", attrs...)
	} else {
		m.log.WarnContext(ctx, "task failed", attrs...)
	}
	if userID == "" {
		return
	}
	serr := m.st.SetTaskState(context.WithoutCancel(ctx), &store.SetTaskStateParams{
		UserID: userID, Task: task, Status: store.TaskError, LastError: err.Error(), Now: m.now(),
	})
	if serr != nil {
		m.log.DebugContext(ctx, "recording task state failed", "user_id", userID, "task", task, "error", serr)
	}
}

// reauth handles a rejected authorisation: the user is marked as needing a
// new login (which also makes the next renewal release the lease), the task
// is recorded as stopped and every task of the user ends.
func (m *Monitor) reauth(ctx context.Context, r *userRun, task store.Task, cause error) {
	m.log.WarnContext(ctx, "spotify rejected the user's authorisation; stopping the user's tasks until they log in again",
		"user_id", r.id, "task", task, "error", cause)
	m.met.needsReauth.Inc()
	bo := m.newBackoff(restartBackoffBase)
	for {
		_, err := m.st.UpdateUser(ctx, &store.UpdateUserParams{ID: r.id, NeedsReauth: ptr(true), Now: m.now()})
		if err == nil || errors.Is(err, store.ErrNotFound) {
			break
		}
		m.log.WarnContext(ctx, "marking the user as needing re-authorisation failed; retrying", "user_id", r.id, "error", err)
		if !sleepCtx(ctx, bo.next()) {
			return
		}
	}
	err := m.st.SetTaskState(ctx, &store.SetTaskStateParams{
		UserID: r.id, Task: task, Status: store.TaskStopped, LastError: reauthMessage, Now: m.now(),
	})
	if err != nil {
		m.log.DebugContext(ctx, "recording task state failed", "user_id", r.id, "task", task, "error", err)
	}
	r.cancel()
}

func ptr[T any](v T) *T { return &v }

// superviseListening runs the user's listening task in mode until ctx ends,
// restarting it with backoff after a failure or a panic. Plays a failed run
// fetched but could not store are handed to the next run; when ctx ends they
// are stored one last time.
func (m *Monitor) superviseListening(ctx context.Context, r *userRun, mode store.Mode) {
	bo := m.newBackoff(restartBackoffBase)
	carry := m.takeOrphans(r.id)
	defer func() {
		if len(carry) > 0 && !m.cfg.Test.SkipDrain {
			m.storeOnStop(ctx, r.id, carry)
		}
	}()
	for {
		u := r.snapshot()
		u.Mode = mode
		l := m.newListener(&u, carry)
		started := m.now()
		err := m.protect(func() error { return l.run(ctx) })
		carry = l.unstored()
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, spotifyhist.ErrReauthRequired) {
			m.reauth(ctx, r, store.TaskListening, err)
			return
		}
		if err == nil {
			err = errors.New("listening task ended unexpectedly")
		}
		m.taskFailed(ctx, r.id, store.TaskListening, err)
		if m.now().Sub(started) > 10*time.Minute {
			bo.reset()
		}
		if !sleepCtx(ctx, bo.next()) {
			return
		}
	}
}

// storeOnStop writes plays fetched but not yet stored when a listening task
// stops, within ShutdownTimeout. What cannot be written (the database is
// down) is kept by the monitor and retried every heartbeat.
func (m *Monitor) storeOnStop(ctx context.Context, userID string, plays []store.PlayInput) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.ShutdownTimeout)
	defer cancel()
	if _, err := m.insertPlays(ctx, userID, plays); err != nil {
		m.log.WarnContext(ctx, "plays could not be stored before the task stopped; retrying every heartbeat",
			"user_id", userID, "plays", len(plays), "error", err)
		m.mu.Lock()
		m.orphans[userID] = append(m.orphans[userID], plays...)
		m.mu.Unlock()
	}
}

// takeOrphans returns and forgets the user's plays kept by storeOnStop.
func (m *Monitor) takeOrphans(userID string) []store.PlayInput {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.orphans[userID]
	delete(m.orphans, userID)
	return p
}

// storeOrphans retries the plays kept by storeOnStop.
func (m *Monitor) storeOrphans(ctx context.Context) {
	m.mu.Lock()
	ids := make([]string, 0, len(m.orphans))
	for id := range m.orphans {
		ids = append(ids, id)
	}
	m.mu.Unlock()
	for _, id := range ids {
		plays := m.takeOrphans(id)
		if len(plays) == 0 {
			continue
		}
		if _, err := m.insertPlays(ctx, id, plays); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				continue // the user was deleted
			}
			m.mu.Lock()
			m.orphans[id] = append(plays, m.orphans[id]...)
			m.mu.Unlock()
			return
		}
	}
}

// insertPlays stores plays grouped by source and counts them.
func (m *Monitor) insertPlays(ctx context.Context, userID string, plays []store.PlayInput) (int, error) {
	inserted := 0
	for _, src := range []store.Source{store.SourceHistory, store.SourceRealtime} {
		var batch []store.PlayInput
		for _, p := range plays {
			if p.Source == src {
				batch = append(batch, p)
			}
		}
		if len(batch) == 0 {
			continue
		}
		res, err := m.st.InsertPlays(ctx, &store.InsertPlaysParams{UserID: userID, Plays: batch})
		if err != nil {
			return inserted, fmt.Errorf("monitor: store plays of user %q: %w", userID, err)
		}
		inserted += res.Inserted
		m.met.playsIngested.WithLabelValues(string(src)).Add(float64(res.Inserted))
	}
	return inserted, nil
}

// startPlaylists schedules the user's playlist scanner: first when the
// last stored scan is one interval old (soon, spread over a few minutes,
// when it never ran), then every PlaylistScanInterval.
func (m *Monitor) startPlaylists(r *userRun, u *store.User) *periodic {
	p := &periodic{m: m, r: r, task: store.TaskPlaylists, interval: m.cfg.PlaylistScanInterval, bo: m.newBackoff(time.Minute)}
	p.run = func(ctx context.Context) error {
		if !m.trusted() {
			return errNotTrusted
		}
		u := r.snapshot()
		c, err := m.cfg.Clients.For(ctx, &u)
		if err != nil {
			return err
		}
		_, err = ScanPlaylists(spotifyhist.WithPriority(ctx, spotifyhist.PriorityMonitor), m.st, c, u.ID, m.now())
		return err
	}
	delay := m.jitter(min(p.interval/24, 5*time.Minute))
	if last := u.Tasks[store.TaskPlaylists].LastRunAt; !last.IsZero() {
		delay = max(delay, last.Add(p.interval).Sub(m.now()))
	}
	p.mu.Lock()
	p.scheduleLocked(delay)
	p.mu.Unlock()
	return p
}

// errNotTrusted: the worker cannot be sure it still holds the user's lease.
var errNotTrusted = errors.New("monitor: lease not trusted; waiting for renewal")

// periodic runs a per-user task every interval on a timer, so that a user
// costs no goroutine between two runs.
type periodic struct {
	m        *Monitor
	r        *userRun
	task     store.Task
	interval time.Duration
	run      func(ctx context.Context) error
	bo       *backoff

	mu      sync.Mutex
	timer   *time.Timer
	stopped bool
	busy    chan struct{} // closed when the run in progress ends
}

func (p *periodic) scheduleLocked(d time.Duration) {
	p.timer = time.AfterFunc(max(d, 0), p.fire)
}

func (p *periodic) fire() {
	p.mu.Lock()
	if p.stopped || p.busy != nil {
		p.mu.Unlock()
		return
	}
	done := make(chan struct{})
	p.busy = done
	p.mu.Unlock()

	ctx := p.r.ctx
	next := p.interval
	p.setState(ctx, store.TaskRunning, "", time.Time{})
	err := p.m.protect(func() error { return p.run(ctx) })
	reschedule := true
	switch {
	case ctx.Err() != nil:
		reschedule = false
	case err == nil:
		p.bo.reset()
		p.setState(ctx, store.TaskIdle, "", p.m.now())
	case errors.Is(err, errNotTrusted):
		next = p.m.cfg.HeartbeatInterval
	case errors.Is(err, spotifyhist.ErrReauthRequired):
		p.m.reauth(ctx, p.r, p.task, err)
		reschedule = false
	default:
		p.m.taskFailed(ctx, p.r.id, p.task, err)
		next = min(p.bo.next(), p.interval)
		if d, ok := rateLimitWait(err, p.m.now()); ok {
			next = max(next, min(d, p.interval))
		}
	}

	p.mu.Lock()
	p.busy = nil
	close(done)
	if reschedule && !p.stopped {
		p.scheduleLocked(next)
	}
	p.mu.Unlock()
}

// trigger runs the task now unless it is running.
func (p *periodic) trigger() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return false
	}
	if p.busy != nil {
		return true
	}
	if p.timer != nil {
		p.timer.Stop()
	}
	p.scheduleLocked(0)
	return true
}

// stop cancels future runs and waits for the one in progress.
func (p *periodic) stop() {
	p.mu.Lock()
	p.stopped = true
	if p.timer != nil {
		p.timer.Stop()
	}
	busy := p.busy
	p.mu.Unlock()
	if busy != nil {
		<-busy
	}
}

func (p *periodic) setState(ctx context.Context, status store.TaskStatus, lastErr string, ranAt time.Time) {
	err := p.m.st.SetTaskState(ctx, &store.SetTaskStateParams{
		UserID: p.r.id, Task: p.task, Status: status, LastError: lastErr, LastRunAt: ranAt, Now: p.m.now(),
	})
	if err != nil && ctx.Err() == nil {
		p.m.log.DebugContext(ctx, "recording task state failed", "user_id", p.r.id, "task", p.task, "error", err)
	}
}

// ScanPlaylistsNow asks for a playlist scan of the user right away. It
// reports false when the user's tasks do not run on this worker (another
// replica holds the user, or the user is not monitored); the scan then
// happens on its normal schedule.
func (m *Monitor) ScanPlaylistsNow(userID string) bool {
	m.mu.Lock()
	r, ok := m.users[userID]
	m.mu.Unlock()
	if !ok {
		return false
	}
	r.mu.Lock()
	p := r.playlists
	r.mu.Unlock()
	return p != nil && p.trigger()
}

// rateLimitWait returns how long to wait after a rate-limit error.
func rateLimitWait(err error, now time.Time) (time.Duration, bool) {
	if !errors.Is(err, spotifyhist.ErrRateLimited) {
		return 0, false
	}
	if t, ok := spotifyhist.BlockedUntil(err); ok {
		return t.Sub(now), true
	}
	if d, ok := spotifyhist.RetryAfter(err); ok {
		return d, true
	}
	return 30 * time.Second, true
}

// backoff is an exponential backoff with ±20 % jitter.
type backoff struct {
	base, max time.Duration
	n         int
	exact     bool
}

func (m *Monitor) newBackoff(base time.Duration) *backoff {
	return &backoff{base: base, max: m.cfg.RetryBackoffMax, exact: m.cfg.Test.DisableJitter}
}

func (b *backoff) next() time.Duration {
	d := b.base
	for i := 0; i < b.n && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	b.n++
	if !b.exact && d > 0 {
		d = d*4/5 + rand.N(d*2/5+1)
	}
	return d
}

func (b *backoff) reset() { b.n = 0 }

// sleepCtx waits for d or the end of ctx, and reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
