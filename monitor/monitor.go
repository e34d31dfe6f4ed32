package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spotifyhist/spotifyhist/store"
)

// Sentinel errors.
var (
	// ErrNotReady: the worker has not registered yet, or its last
	// successful heartbeat is older than the lease TTL (typically because the
	// database is unreachable).
	ErrNotReady = errors.New("monitor: not ready")
	// ErrRunning: Run was called while another Run of the same Monitor is
	// active.
	ErrRunning = errors.New("monitor: already running")
)

// reauthRefreshInterval is how often the users-needing-reauth gauge is
// recounted from the database.
const reauthRefreshInterval = time.Minute

// Monitor is the background system of one serve process: a worker that
// registers itself, leases a fair share of the users, and runs their
// listening and playlist tasks. See the package documentation for the lease
// state machine. Create it with [New] and start it with [Monitor.Run].
type Monitor struct {
	cfg Config
	st  Store
	log *slog.Logger
	met *metrics
	now func() time.Time
	id  string

	// trustUntil is the local lease deadline (unix ns): user tasks may call
	// Spotify only before it. 0 means no lease is trusted.
	trustUntil atomic.Int64
	running    atomic.Bool
	pollSlots  chan struct{} // PollConcurrency tokens

	mu          sync.Mutex
	users       map[string]*userRun          // users whose tasks run here
	orphans     map[string][]store.PlayInput // plays stopped tasks could not store
	releasing   map[string]bool              // users being stopped before their release
	bg          sync.WaitGroup               // release and song-ID goroutines
	watchdog    *time.Timer
	registered  bool
	lastBeat    time.Time // last successful heartbeat
	lastErr     error     // error of the last worker loop iteration
	errStreak   int
	songIDsNext time.Time
	songIDsBusy bool
	reauthNext  time.Time
	draining    bool
}

// New returns a Monitor for cfg. It does no I/O: the worker registers when
// Run starts.
func New(cfg Config) (*Monitor, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("monitor: config: %w", err)
	}
	m := &Monitor{
		cfg:       cfg,
		st:        cfg.Store,
		log:       cfg.Logger.With("component", "monitor", "worker_id", cfg.WorkerID),
		met:       newMetrics(cfg.Registerer),
		now:       cfg.Now,
		id:        cfg.WorkerID,
		users:     map[string]*userRun{},
		releasing: map[string]bool{},
		orphans:   map[string][]store.PlayInput{},
		pollSlots: make(chan struct{}, cfg.PollConcurrency),
	}
	for _, mode := range []store.Mode{store.ModeHistory, store.ModeRealtime, store.ModeHybrid, store.ModeAdaptive} {
		m.met.pollDuration.WithLabelValues(string(mode))
	}
	return m, nil
}

// WorkerID returns the id this process registers under.
func (m *Monitor) WorkerID() string { return m.id }

// Users returns the ids of the users whose tasks run on this worker, sorted.
func (m *Monitor) Users() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := make([]string, 0, len(m.users))
	for id := range m.users {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Healthy reports whether Ready returns nil.
func (m *Monitor) Healthy() bool { return m.Ready() == nil }

// Ready returns nil when the worker is registered and its last heartbeat
// reached the database within the lease TTL, and otherwise an error wrapping
// [ErrNotReady] that says why (for /readyz). It does no I/O.
func (m *Monitor) Ready() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case !m.registered && m.lastErr != nil:
		return fmt.Errorf("%w: worker not registered: %w", ErrNotReady, m.lastErr)
	case !m.registered:
		return fmt.Errorf("%w: worker not registered yet", ErrNotReady)
	case m.now().Sub(m.lastBeat) > m.cfg.LeaseTTL:
		if m.lastErr != nil {
			return fmt.Errorf("%w: no heartbeat since %s: %w", ErrNotReady, m.lastBeat.UTC().Format(time.RFC3339), m.lastErr)
		}
		return fmt.Errorf("%w: no heartbeat since %s", ErrNotReady, m.lastBeat.UTC().Format(time.RFC3339))
	}
	return nil
}

// Run registers the worker and runs the worker loop until ctx ends. Then it
// drains: it stops claiming, cancels every user's tasks and waits for them
// (they store what they fetched) up to ShutdownTimeout, records the tasks
// as stopped, releases the leases and deletes the worker row. It returns nil
// after a clean shutdown, and the drain's errors otherwise. Database errors
// while running are retried every heartbeat and reported by Ready.
func (m *Monitor) Run(ctx context.Context) error {
	if !m.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer m.running.Store(false)

	m.mu.Lock()
	m.registered = false
	m.draining = false
	m.songIDsNext = m.now().Add(m.jitter(min(m.cfg.SongIDInterval, 10*time.Minute)))
	m.mu.Unlock()

	m.log.InfoContext(ctx, "monitor starting",
		"heartbeat_interval", m.cfg.HeartbeatInterval, "lease_ttl", m.cfg.LeaseTTL)
	ticker := time.NewTicker(m.cfg.HeartbeatInterval)
	defer ticker.Stop()
	for {
		err := m.tick(ctx)
		if ctx.Err() != nil {
			break
		}
		m.noteTick(ctx, err)
		select {
		case <-ctx.Done():
		case <-ticker.C:
			continue
		}
		break
	}
	return m.drain(ctx)
}

// noteTick records the outcome of one worker loop iteration.
func (m *Monitor) noteTick(ctx context.Context, err error) {
	m.mu.Lock()
	m.lastErr = err
	streak := 0
	if err != nil {
		m.errStreak++
		streak = m.errStreak
	} else {
		m.errStreak = 0
	}
	m.mu.Unlock()
	if err != nil && (streak == 1 || streak%60 == 0) {
		m.log.WarnContext(ctx, "worker loop failed; retrying every heartbeat", "failures", streak, "error", err)
	}
	if s := m.cfg.Test.Signals; s != nil && s.Tick != nil {
		s.Tick(err)
	}
}

// tick is one iteration of the worker loop. Users' tasks started by it
// live in ctx; its database calls are bounded by LeaseTTL, so that a hung
// connection cannot stall the loop past the leases it must renew.
func (m *Monitor) tick(ctx context.Context) error {
	dbCtx, cancel := context.WithTimeout(ctx, m.cfg.LeaseTTL)
	defer cancel()
	now := m.now()
	if err := m.beat(dbCtx, now); err != nil {
		return err
	}
	if _, err := m.st.DeleteStaleWorkers(dbCtx, &store.DeleteStaleWorkersParams{Before: now.Add(-m.cfg.LeaseTTL)}); err != nil {
		return fmt.Errorf("monitor: delete stale workers: %w", err)
	}
	if err := m.renew(ctx, dbCtx); err != nil {
		return err
	}
	workers, err := m.st.ListWorkers(dbCtx)
	if err != nil {
		return fmt.Errorf("monitor: list workers: %w", err)
	}
	live := m.liveWorkers(workers, m.now())
	m.met.workersLive.Set(float64(live))
	claimable, err := m.st.CountClaimable(dbCtx)
	if err != nil {
		return fmt.Errorf("monitor: count claimable users: %w", err)
	}
	share := (claimable + live - 1) / live
	if err := m.rebalance(ctx, dbCtx, share); err != nil {
		return err
	}
	m.storeOrphans(dbCtx)
	m.maybeRunSongIDs(ctx, workers)
	m.maybeCountReauth(dbCtx)
	return nil
}

// beat registers the worker on the first call and after it was declared
// dead, and beats its heart otherwise.
func (m *Monitor) beat(ctx context.Context, now time.Time) error {
	m.mu.Lock()
	registered := m.registered
	m.mu.Unlock()
	if registered {
		err := m.st.Heartbeat(ctx, &store.HeartbeatParams{ID: m.id, Now: now})
		switch {
		case errors.Is(err, store.ErrNotFound):
			// Another worker found our heartbeat stale and removed us, freeing
			// our leases: they may be someone else's now. Stop polling at once
			// and register again; the renewal below keeps only what is still
			// ours.
			m.log.WarnContext(ctx, "worker row was removed as stale; registering again")
			m.expireTrust(ctx, "worker was declared dead")
			registered = false
		case err != nil:
			return fmt.Errorf("monitor: heartbeat: %w", err)
		}
	}
	if !registered {
		if err := m.st.RegisterWorker(ctx, &store.RegisterWorkerParams{ID: m.id, Now: now}); err != nil {
			return fmt.Errorf("monitor: register worker: %w", err)
		}
		m.log.InfoContext(ctx, "worker registered")
	}
	m.mu.Lock()
	m.registered = true
	m.lastBeat = now
	m.mu.Unlock()
	m.met.heartbeat.Set(float64(now.UnixMilli()) / 1000)
	return nil
}

// liveWorkers counts the workers with a fresh heartbeat, this one included.
func (m *Monitor) liveWorkers(workers []store.Worker, now time.Time) int {
	live, self := 0, false
	for _, w := range workers {
		if w.ID == m.id {
			self = true
		}
		if w.ID == m.id || now.Sub(w.Heartbeat) <= m.cfg.LeaseTTL {
			live++
		}
	}
	if !self {
		live++
	}
	return live
}

// trustMargin is taken off the lease expiry for the local deadline, against
// clock skew between workers and calls already in flight.
func (m *Monitor) trustMargin() time.Duration {
	return min(m.cfg.LeaseTTL/10, 2*time.Second)
}

// renew extends this worker's leases and reconciles the running users with
// what the database says this worker holds.
func (m *Monitor) renew(ctx, dbCtx context.Context) error {
	start := m.now()
	held, err := m.st.RenewLeases(dbCtx, &store.RenewLeasesParams{WorkerID: m.id, Now: start, TTL: m.cfg.LeaseTTL})
	if err != nil {
		return fmt.Errorf("monitor: renew leases: %w", err)
	}
	// The leases now expire at start+TTL in the database; we stop trusting
	// them a little earlier.
	m.setTrust(start.Add(m.cfg.LeaseTTL - m.trustMargin()))

	byID := make(map[string]store.User, len(held))
	for _, u := range held {
		byID[u.ID] = u
	}
	var lost []*userRun
	var modeChanges []struct {
		r    *userRun
		mode store.Mode
	}
	var start2 []store.User
	m.mu.Lock()
	for id, r := range m.users {
		u, ok := byID[id]
		if !ok {
			lost = append(lost, r)
			delete(m.users, id)
			continue
		}
		r.setUser(&u)
		if r.currentMode() != u.Mode {
			modeChanges = append(modeChanges, struct {
				r    *userRun
				mode store.Mode
			}{r, u.Mode})
		}
	}
	for id, u := range byID {
		if _, ok := m.users[id]; !ok && !m.releasing[id] {
			// Still ours in the database but not running here: its tasks were
			// stopped when the trust window passed, and nobody claimed it since.
			start2 = append(start2, u)
		}
	}
	m.mu.Unlock()

	for _, r := range lost {
		// Disabled, needing re-auth, deleted, or claimed by another worker
		// after our lease expired: stop at once.
		r.cancel()
		m.log.InfoContext(ctx, "user no longer leased to this worker; stopping", "user_id", r.id)
		m.bg.Add(1)
		go func() {
			defer m.bg.Done()
			r.wait()
			m.signalStopped(r.id)
			m.recordDropped(context.WithoutCancel(ctx), r.id)
		}()
	}
	for _, mc := range modeChanges {
		m.log.InfoContext(ctx, "listening mode changed; restarting the listening task",
			"user_id", mc.r.id, "mode", mc.mode)
		mc.r.setMode(mc.mode)
	}
	for i := range start2 {
		m.startUser(ctx, &start2[i])
	}
	m.updateAssigned()
	return nil
}

// recordDropped records the tasks of a user that left this worker without
// being released as stopped, unless another worker holds the user now (its
// own states must not be overwritten).
func (m *Monitor) recordDropped(ctx context.Context, userID string) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.ShutdownTimeout)
	defer cancel()
	u, err := m.st.GetUser(ctx, userID)
	if err != nil || (u.WorkerID != "" && u.WorkerID != m.id) {
		return
	}
	reason := ""
	if u.NeedsReauth {
		reason = reauthMessage
	}
	m.recordStopped(ctx, userID, reason)
}

// recordStopped sets the user's tasks to stopped.
func (m *Monitor) recordStopped(ctx context.Context, userID, reason string) {
	for _, t := range m.userTasks() {
		err := m.st.SetTaskState(ctx, &store.SetTaskStateParams{
			UserID: userID, Task: t, Status: store.TaskStopped, LastError: reason, Now: m.now(),
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			m.log.DebugContext(ctx, "recording task state failed", "user_id", userID, "task", t, "error", err)
		}
	}
}

// userTasks lists the per-user tasks this monitor runs.
func (m *Monitor) userTasks() []store.Task {
	if m.cfg.PlaylistScanInterval < 0 {
		return []store.Task{store.TaskListening}
	}
	return []store.Task{store.TaskListening, store.TaskPlaylists}
}

// rebalance releases the users above the fair share, or claims up to it.
func (m *Monitor) rebalance(ctx, dbCtx context.Context, share int) error {
	m.mu.Lock()
	held := len(m.users)
	var excess []*userRun
	if held > share {
		runs := make([]*userRun, 0, held)
		for _, r := range m.users {
			runs = append(runs, r)
		}
		// Release the most recently claimed users: the others have been
		// here longest and keep their warm state.
		slices.SortFunc(runs, func(a, b *userRun) int {
			if c := b.claimed.Compare(a.claimed); c != 0 {
				return c
			}
			return cmpString(b.id, a.id)
		})
		excess = runs[:held-share]
		for _, r := range excess {
			delete(m.users, r.id)
			m.releasing[r.id] = true
		}
	}
	m.mu.Unlock()

	if len(excess) > 0 {
		m.log.InfoContext(ctx, "over the fair share; releasing users", "share", share, "held", held, "releasing", len(excess))
		m.release(ctx, excess)
		m.updateAssigned()
		return nil
	}
	if held >= share {
		return nil
	}
	claimed, err := m.st.ClaimUsers(dbCtx, &store.ClaimUsersParams{
		WorkerID: m.id, Limit: share - held, Now: m.now(), TTL: m.cfg.LeaseTTL,
	})
	if err != nil {
		return fmt.Errorf("monitor: claim users: %w", err)
	}
	for i := range claimed {
		m.log.InfoContext(ctx, "user claimed", "user_id", claimed[i].ID, "mode", claimed[i].Mode)
		m.startUser(ctx, &claimed[i])
	}
	m.updateAssigned()
	return nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// release stops the users' tasks and, once they have stopped, records them
// as stopped and frees their leases, in the background so that the worker
// loop keeps renewing the other leases meanwhile.
func (m *Monitor) release(ctx context.Context, runs []*userRun) {
	for _, r := range runs {
		r.cancel()
	}
	m.bg.Add(1)
	go func() {
		defer m.bg.Done()
		ids := make([]string, 0, len(runs))
		for _, r := range runs {
			r.wait()
			m.signalStopped(r.id)
			ids = append(ids, r.id)
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.ShutdownTimeout)
		defer cancel()
		for _, id := range ids {
			m.recordStopped(ctx, id, "")
		}
		err := m.st.ReleaseUsers(ctx, &store.ReleaseUsersParams{WorkerID: m.id, UserIDs: ids})
		if err != nil {
			// The leases stay ours; the next renewal restarts the users and
			// the next rebalance tries again.
			m.log.WarnContext(ctx, "releasing users failed", "users", len(ids), "error", err)
		}
		m.mu.Lock()
		for _, id := range ids {
			delete(m.releasing, id)
		}
		m.mu.Unlock()
	}()
}

func (m *Monitor) updateAssigned() {
	m.mu.Lock()
	n := len(m.users)
	m.mu.Unlock()
	m.met.usersAssigned.Set(float64(n))
}

// setTrust moves the local lease deadline and arms the watchdog that stops
// every user's tasks when it passes without a renewal.
func (m *Monitor) setTrust(deadline time.Time) {
	m.trustUntil.Store(deadline.UnixNano())
	d := deadline.Sub(m.now())
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.watchdog != nil {
		m.watchdog.Stop()
	}
	m.watchdog = time.AfterFunc(max(d, 0), func() {
		if m.now().UnixNano() >= m.trustUntil.Load() {
			m.expireTrust(context.Background(), "lease not renewed in time")
		}
	})
}

// trusted reports whether this worker may still act on its leases.
func (m *Monitor) trusted() bool {
	return m.now().UnixNano() < m.trustUntil.Load()
}

// expireTrust stops every user's tasks at once: this worker can no longer
// be sure it holds their leases.
func (m *Monitor) expireTrust(ctx context.Context, reason string) {
	m.trustUntil.Store(0)
	m.mu.Lock()
	if m.draining || len(m.users) == 0 {
		m.mu.Unlock()
		return
	}
	runs := make([]*userRun, 0, len(m.users))
	for id, r := range m.users {
		runs = append(runs, r)
		delete(m.users, id)
	}
	m.bg.Add(1)
	m.mu.Unlock()
	m.log.WarnContext(ctx, "stopping every user's tasks: leases not trusted any more", "reason", reason, "users", len(runs))
	for _, r := range runs {
		r.cancel()
	}
	go func() {
		defer m.bg.Done()
		for _, r := range runs {
			r.wait()
			m.signalStopped(r.id)
		}
	}()
	m.updateAssigned()
}

// drain is Run's shutdown.
func (m *Monitor) drain(ctx context.Context) error {
	m.mu.Lock()
	m.draining = true
	runs := make([]*userRun, 0, len(m.users))
	for id, r := range m.users {
		runs = append(runs, r)
		delete(m.users, id)
	}
	if m.watchdog != nil {
		m.watchdog.Stop()
	}
	m.mu.Unlock()
	m.trustUntil.Store(0)
	for _, r := range runs {
		r.cancel()
	}

	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.ShutdownTimeout)
	defer cancel()
	done := make(chan struct{})
	go func() {
		for _, r := range runs {
			r.wait()
			m.signalStopped(r.id)
		}
		m.bg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-dctx.Done():
		m.log.WarnContext(ctx, "some tasks did not stop within the shutdown timeout", "timeout", m.cfg.ShutdownTimeout)
	}
	m.updateAssigned()
	if m.cfg.Test.SkipDrain {
		<-done
		return nil
	}

	var errs []error
	ids := make([]string, 0, len(runs))
	for _, r := range runs {
		ids = append(ids, r.id)
	}
	m.storeOrphans(dctx)
	m.mu.Lock()
	lost := 0
	for _, p := range m.orphans {
		lost += len(p)
	}
	m.mu.Unlock()
	if lost > 0 {
		m.log.ErrorContext(ctx, "plays fetched but never stored (database unreachable); recently-played offers the non-local ones again to the next worker", "plays", lost)
	}
	// Record the states first: once the leases are free another worker may
	// claim the users and record its own.
	m.recordStoppedAll(dctx, ids)
	if len(ids) > 0 {
		if err := m.st.ReleaseUsers(dctx, &store.ReleaseUsersParams{WorkerID: m.id, UserIDs: ids}); err != nil {
			errs = append(errs, fmt.Errorf("monitor: release users: %w", err))
		}
	}
	if err := m.st.DeleteWorker(dctx, m.id); err != nil && !errors.Is(err, store.ErrNotFound) {
		errs = append(errs, fmt.Errorf("monitor: delete worker: %w", err))
	}
	m.mu.Lock()
	m.registered = false
	m.mu.Unlock()
	m.log.InfoContext(ctx, "monitor stopped", "released", len(ids), "error", errors.Join(errs...))
	return errors.Join(errs...)
}

// recordStoppedAll records the users' tasks as stopped, a few at a time,
// within half of ctx's remaining time so that the leases are released in any
// case.
func (m *Monitor) recordStoppedAll(ctx context.Context, ids []string) {
	if len(ids) == 0 {
		return
	}
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Until(dl)/2)
		defer cancel()
	}
	const parallel = 8
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, id := range ids {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			m.recordStopped(ctx, id, "")
		})
	}
	wg.Wait()
}

// signalStopped is called once every task of a user stopped on this worker.
func (m *Monitor) signalStopped(userID string) {
	// The next worker (or this one, later) builds the client again from the
	// stored token, which holds every refresh this client made.
	m.cfg.Clients.Forget(userID)
	if s := m.cfg.Test.Signals; s != nil && s.UserStopped != nil {
		s.UserStopped(userID)
	}
}

// jitter returns a random duration in [0, d), or 0 with Test.DisableJitter.
func (m *Monitor) jitter(d time.Duration) time.Duration {
	if d <= 0 || m.cfg.Test.DisableJitter {
		return 0
	}
	return rand.N(d)
}

// maybeCountReauth refreshes the users-needing-reauth gauge from the
// database, at most every reauthRefreshInterval.
func (m *Monitor) maybeCountReauth(ctx context.Context) {
	now := m.now()
	m.mu.Lock()
	due := !now.Before(m.reauthNext)
	if due {
		m.reauthNext = now.Add(reauthRefreshInterval)
	}
	m.mu.Unlock()
	if !due {
		return
	}
	users, err := m.st.ListUsers(ctx)
	if err != nil {
		m.log.DebugContext(ctx, "counting users needing re-authorisation failed", "error", err)
		return
	}
	n := 0
	for i := range users {
		if users[i].NeedsReauth {
			n++
		}
	}
	m.met.needsReauth.Set(float64(n))
}

// maybeRunSongIDs runs the deployment-wide song-ID updater when it is due
// and this is the oldest live worker (so that one replica runs it).
func (m *Monitor) maybeRunSongIDs(ctx context.Context, workers []store.Worker) {
	if m.cfg.SongIDInterval < 0 {
		return
	}
	now := m.now()
	oldest := m.id
	var oldestStart time.Time
	for _, w := range workers {
		if now.Sub(w.Heartbeat) > m.cfg.LeaseTTL {
			continue
		}
		if oldestStart.IsZero() || w.StartedAt.Before(oldestStart) || (w.StartedAt.Equal(oldestStart) && w.ID < oldest) {
			oldest, oldestStart = w.ID, w.StartedAt
		}
	}
	m.mu.Lock()
	if oldest != m.id || now.Before(m.songIDsNext) || m.songIDsBusy {
		m.mu.Unlock()
		return
	}
	m.songIDsNext = now.Add(m.cfg.SongIDInterval)
	m.songIDsBusy = true
	m.mu.Unlock()
	m.bg.Add(1)
	go func() {
		defer m.bg.Done()
		defer func() {
			m.mu.Lock()
			m.songIDsBusy = false
			m.mu.Unlock()
		}()
		err := m.protect(func() error {
			res, err := UpdateSongIDs(ctx, m.st)
			if res != nil && res.Groups > 0 {
				m.log.InfoContext(ctx, "song ids updated", "groups", res.Groups, "tracks_merged", res.TracksMerged, "plays_moved", res.PlaysMoved)
			}
			return err
		})
		if err != nil && ctx.Err() == nil {
			m.taskFailed(ctx, "", store.TaskSongIDs, err)
		}
	}()
}
