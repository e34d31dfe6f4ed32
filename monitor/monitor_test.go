package monitor

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/spotifyhist/spotifyhisttest"
	"github.com/spotifyhist/spotifyhist/store"
)

// historyWant is history mode's capability for a run that ended at end with
// recently-played polled every interval.
func historyWant(truth []spotifyhisttest.TruthPlay, end time.Time, interval time.Duration) capability {
	return func(tp *spotifyhisttest.TruthPlay, _ time.Time) bool {
		return rpReachable(truth, tp, end.Add(-interval-time.Minute), interval)
	}
}

// requireHistoryTruth checks that the user's stored plays are exactly what
// history mode can capture.
func requireHistoryTruth(t *testing.T, e *testEnv, id string, end time.Time, interval time.Duration) int {
	t.Helper()
	truth := e.sim.Truth(id)
	rep := compareTruth(id, truth, storedPlays(t, e.st, id), historyWant(truth, end, interval), end, time.Millisecond)
	require.Empty(t, rep.extra, "plays stored twice or invented")
	require.Empty(t, rep.missing, "plays lost")
	return rep.expected
}

func userState(t *testing.T, st Store, id string) *store.User {
	t.Helper()
	u, err := st.GetUser(context.Background(), id)
	require.NoError(t, err)
	return u
}

func TestDrainReleasesLeases(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := newMemStore()
		e := newTestEnv(t, st, envOpts{sim: listeningSim(3, time.Hour, 3)})
		ids := e.addSimUsers(ctx, store.ModeHistory)
		m := e.newMonitor(e.config("w1"))
		stop := run(ctx, m)
		time.Sleep(30 * time.Minute)
		require.Equal(t, ids, m.Users())
		for _, id := range ids {
			require.Equal(t, "w1", userState(t, st, id).WorkerID)
		}
		require.NoError(t, m.Ready())

		require.NoError(t, stop())
		require.Empty(t, m.Users())
		for _, id := range ids {
			u := userState(t, st, id)
			require.Empty(t, u.WorkerID, "lease of %s released", id)
			require.Equal(t, store.TaskStopped, u.Tasks[store.TaskListening].Status)
		}
		workers, err := st.ListWorkers(ctx)
		require.NoError(t, err)
		require.Empty(t, workers, "worker row deleted")
		require.ErrorIs(t, m.Ready(), ErrNotReady)
	})
}

func TestRunTwice(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		e := newTestEnv(t, newMemStore(), envOpts{})
		m := e.newMonitor(e.config("w1"))
		stop := run(ctx, m)
		synctest.Wait()
		require.ErrorIs(t, m.Run(ctx), ErrRunning)
		require.NoError(t, stop())
	})
}

// TestRebalance starts a second and a third worker next to a busy one: each
// ends with its fair share, and no user is ever polled by two at once.
func TestRebalance(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := newMemStore()
		e := newTestEnv(t, st, envOpts{sim: listeningSim(7, time.Hour, 9)})
		e.addSimUsers(ctx, store.ModeRealtime)
		wl := newWorkerLog()
		var ms []*Monitor
		var stops []func() error
		for _, w := range []string{"w1", "w2", "w3"} {
			cfg := e.config(w)
			cfg.Clients = e.newClients(wl.wrap(w))
			cfg.Test.Signals = wl.signals(w)
			m := e.newMonitor(cfg)
			ms = append(ms, m)
			stops = append(stops, run(ctx, m))
			time.Sleep(10 * time.Second)
		}
		total := 0
		for _, m := range ms {
			n := len(m.Users())
			require.LessOrEqual(t, n, 3, "fair share ceil(7/3)")
			require.Positive(t, n, "a new worker receives users")
			total += n
		}
		require.Equal(t, 7, total, "every user is held")
		for _, stop := range stops {
			require.NoError(t, stop())
		}
		wl.checkExclusive(t, e.srv)
	})
}

func TestDisableStopsUserWithinHeartbeat(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := newMemStore()
		e := newTestEnv(t, st, envOpts{sim: listeningSim(2, time.Hour, 4)})
		ids := e.addSimUsers(ctx, store.ModeRealtime)
		cfg := e.config("w1")
		m := e.newMonitor(cfg)
		stop := run(ctx, m)
		time.Sleep(time.Minute)

		_, err := st.UpdateUser(ctx, &store.UpdateUserParams{ID: ids[0], Enabled: ptr(false), Now: time.Now()})
		require.NoError(t, err)
		disabledAt := time.Now()
		time.Sleep(cfg.HeartbeatInterval)
		synctest.Wait()
		require.Equal(t, ids[1:], m.Users())
		e.srv.ResetRequests()
		time.Sleep(time.Minute)
		require.Empty(t, requestsByUser(e.srv)[ids[0]], "no call for a disabled user")
		require.NotEmpty(t, requestsByUser(e.srv)[ids[1]])
		u := userState(t, st, ids[0])
		require.Equal(t, store.TaskStopped, u.Tasks[store.TaskListening].Status)
		require.Empty(t, u.WorkerID)
		require.LessOrEqual(t, u.Tasks[store.TaskListening].UpdatedAt.Sub(disabledAt), cfg.HeartbeatInterval)
		require.NoError(t, stop())
	})
}

func TestModeChangeRestartsListening(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := newMemStore()
		e := newTestEnv(t, st, envOpts{sim: listeningSim(1, 2*time.Hour, 4)})
		ids := e.addSimUsers(ctx, store.ModeHistory)
		cfg := e.config("w1")
		m := e.newMonitor(cfg)
		stop := run(ctx, m)
		time.Sleep(5 * time.Minute)
		require.Zero(t, e.srv.CallCount("/v1/me/player/currently-playing"), "history mode never asks currently-playing")

		_, err := st.UpdateUser(ctx, &store.UpdateUserParams{ID: ids[0], Mode: ptr(store.ModeRealtime), Now: time.Now()})
		require.NoError(t, err)
		time.Sleep(cfg.HeartbeatInterval + RealtimePollIntervalDefault)
		require.Positive(t, e.srv.CallCount("/v1/me/player/currently-playing"), "realtime polling started within a heartbeat")
		time.Sleep(time.Hour)
		require.NoError(t, stop())
		end := time.Now()

		// Whatever the mode at each moment, every play is stored once.
		truth := e.sim.Truth(ids[0])
		want := func(tp *spotifyhisttest.TruthPlay, _ time.Time) bool {
			return tp.LiveVisible && tp.End.After(e.start.Add(10*time.Minute)) && tp.End.Before(end.Add(-time.Minute))
		}
		rep := compareTruth(ids[0], truth, storedPlays(t, st, ids[0]), want, end, 6*time.Second)
		require.Empty(t, rep.extra)
		require.Empty(t, rep.missing)
	})
}

// TestReauthIsolation revokes one user's authorisation: that user is marked
// as needing a new login and stops, the others are untouched.
func TestReauthIsolation(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := newMemStore()
		e := newTestEnv(t, st, envOpts{sim: listeningSim(3, 2*time.Hour, 8)})
		ids := e.addSimUsers(ctx, store.ModeRealtime)
		cfg := e.config("w1")
		m := e.newMonitor(cfg)
		stop := run(ctx, m)
		time.Sleep(10 * time.Minute)

		e.srv.RevokeRefreshToken(ids[0])
		e.srv.ExpireAccessTokens(ids[0])
		time.Sleep(RealtimePollIntervalDefault + cfg.HeartbeatInterval)
		synctest.Wait()

		u := userState(t, st, ids[0])
		require.True(t, u.NeedsReauth)
		require.Empty(t, u.WorkerID, "released at the next renewal")
		require.Equal(t, store.TaskStopped, u.Tasks[store.TaskListening].Status)
		require.Equal(t, reauthMessage, u.Tasks[store.TaskListening].LastError)
		require.Equal(t, ids[1:], m.Users())
		require.Equal(t, 1.0, testutil.ToFloat64(m.met.needsReauth))

		e.srv.ResetRequests()
		time.Sleep(time.Hour)
		byUser := requestsByUser(e.srv)
		require.Empty(t, byUser[ids[0]], "nothing is sent for a user needing re-auth")
		for _, id := range ids[1:] {
			require.NotEmpty(t, byUser[id])
			require.False(t, userState(t, st, id).NeedsReauth)
		}
		require.NoError(t, stop())
	})
}

// TestRateLimit gets a long 429: the app stops calling Spotify until the
// block ends, counts it, and loses no play.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := newMemStore()
		const dur = 3 * time.Hour
		e := newTestEnv(t, st, envOpts{sim: listeningSim(2, dur, 12)})
		ids := e.addSimUsers(ctx, store.ModeHistory)
		cfg := e.config("w1")
		cfg.HistoryPollInterval = 5 * time.Minute
		m := e.newMonitor(cfg)
		stop := run(ctx, m)
		time.Sleep(20 * time.Minute)

		const block = 30 * time.Minute
		e.srv.FailNext("/v1/me/player/recently-played", spotifyhisttest.Fault{
			Status: 429, RetryAfter: spotifyhisttest.RetryAfterSeconds(block),
		})
		limitedAt := time.Now()
		// Past the next poll of both users, and off its instant: a wake-up at
		// the very instant of a poll may run before or after it.
		time.Sleep(cfg.HistoryPollInterval + 30*time.Second)
		synctest.Wait()
		// One user's poll got the 429; the other's, when it came due within
		// the window, was refused locally because the whole app is blocked.
		// Each poll that could not run is counted once.
		limited := testutil.ToFloat64(m.met.rateLimited)
		require.GreaterOrEqual(t, limited, 1.0)
		require.LessOrEqual(t, limited, float64(len(ids)))
		// The block starts when the 429 arrives; a poll of another user
		// already on its way at that instant is not recalled.
		var blockedAt time.Time
		for _, r := range e.srv.Requests() {
			if r.Status == 429 && !r.At.Before(limitedAt) && (blockedAt.IsZero() || r.At.Before(blockedAt)) {
				blockedAt = r.At
			}
		}
		require.False(t, blockedAt.IsZero(), "the 429 was served")
		var after []time.Time
		for _, r := range e.srv.Requests() {
			if isPlayerRoute(r.Route) && r.At.After(blockedAt) && r.Status != 429 {
				after = append(after, r.At)
			}
		}
		require.Empty(t, after, "nothing sent during the block")
		time.Sleep(dur - time.Since(e.start))
		require.NoError(t, stop())
		end := time.Now()

		for _, r := range e.srv.Requests() {
			if isPlayerRoute(r.Route) && r.At.After(blockedAt) && r.Status != 429 {
				require.False(t, r.At.Before(blockedAt.Add(block)), "a call at %s, inside the block", r.At)
			}
		}
		for _, id := range ids {
			requireHistoryTruth(t, e, id, end, cfg.HistoryPollInterval)
		}
	})
}

// TestPanicIsolation makes one user's task panic: it is recovered, counted,
// recorded and restarted; the user's plays are all stored in the end and
// the other users never notice.
func TestPanicIsolation(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		mem := newMemStore()
		var panics atomic.Int32
		var sawError atomic.Bool
		var victim string
		fs := &faultStore{Store: mem}
		fs.hook = func(op, userID string) error {
			if op == "InsertPlays" && userID == victim && panics.Add(1) <= 2 {
				panic("boom in " + userID)
			}
			return nil
		}
		fs.onTaskState = func(p *store.SetTaskStateParams) {
			if p.UserID == victim && p.Status == store.TaskError && p.LastError == "panic: boom in "+victim {
				sawError.Store(true)
			}
		}
		const dur = 2 * time.Hour
		e := newTestEnv(t, fs, envOpts{sim: listeningSim(3, dur, 21)})
		ids := e.addSimUsers(ctx, store.ModeHistory)
		for _, id := range ids {
			// The busiest listener.
			if victim == "" || len(e.sim.Truth(id)) > len(e.sim.Truth(victim)) {
				victim = id
			}
		}
		cfg := e.config("w1")
		cfg.HistoryPollInterval = 5 * time.Minute
		m := e.newMonitor(cfg)
		stop := run(ctx, m)
		time.Sleep(dur)
		require.NoError(t, stop())
		end := time.Now()

		require.GreaterOrEqual(t, panics.Load(), int32(3), "two panics, then the writes went through")
		require.Equal(t, 2.0, testutil.ToFloat64(m.met.taskPanics))
		require.Equal(t, 2.0, testutil.ToFloat64(m.met.taskErrors.WithLabelValues("listening")))
		require.True(t, sawError.Load(), "the panic was recorded as the task's error state")
		for _, id := range ids {
			requireHistoryTruth(t, e, id, end, cfg.HistoryPollInterval)
		}
	})
}

// TestStoreWriteErrors fails InsertPlays for a while: the plays fetched
// meanwhile are kept and stored when the database answers again.
func TestStoreWriteErrors(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		var down atomic.Bool
		fs := &faultStore{Store: newMemStore(), hook: func(op, _ string) error {
			if op == "InsertPlays" && down.Load() {
				return errors.New("database is down")
			}
			return nil
		}}
		const dur = 2 * time.Hour
		e := newTestEnv(t, fs, envOpts{sim: listeningSim(2, dur, 31)})
		ids := e.addSimUsers(ctx, store.ModeRealtime)
		cfg := e.config("w1")
		cfg.RealtimePollInterval = 10 * time.Second
		m := e.newMonitor(cfg)
		stop := run(ctx, m)
		time.Sleep(20 * time.Minute)
		down.Store(true)
		time.Sleep(time.Hour)
		down.Store(false)
		time.Sleep(dur - time.Since(e.start))
		require.NoError(t, stop())
		end := time.Now()

		for _, id := range ids {
			truth := e.sim.Truth(id)
			want := func(tp *spotifyhisttest.TruthPlay, _ time.Time) bool {
				return tp.LiveVisible && tp.End.Before(end.Add(-time.Minute))
			}
			rep := compareTruth(id, truth, storedPlays(t, fs, id), want, end, cfg.RealtimePollInterval+time.Second)
			require.Empty(t, rep.extra)
			require.Empty(t, rep.missing, "plays fetched while the database was down were lost")
		}
	})
}

// TestStoreOutage takes the whole database away for longer than the lease
// TTL: the worker becomes unready, stops calling Spotify once its leases are
// not trusted any more, and resumes when the database is back, losing no
// play recently-played can still give.
func TestStoreOutage(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		var down atomic.Bool
		fs := &faultStore{Store: newMemStore(), hook: func(op, _ string) error {
			if down.Load() {
				return errors.New("connection refused")
			}
			return nil
		}}
		const dur = 2 * time.Hour
		e := newTestEnv(t, fs, envOpts{sim: listeningSim(3, dur, 41)})
		ids := e.addSimUsers(ctx, store.ModeHybrid)
		cfg := e.config("w1")
		cfg.RealtimePollInterval = 10 * time.Second
		m := e.newMonitor(cfg)
		stop := run(ctx, m)
		time.Sleep(30 * time.Minute)
		require.NoError(t, m.Ready())

		down.Store(true)
		wentDown := time.Now()
		time.Sleep(cfg.LeaseTTL + cfg.HeartbeatInterval)
		require.ErrorIs(t, m.Ready(), ErrNotReady)
		require.Empty(t, m.Users(), "tasks stopped once the leases were not trusted")
		trustEnd := wentDown.Add(cfg.LeaseTTL)
		for _, r := range e.srv.Requests() {
			if r.Route != "" && r.At.After(trustEnd) {
				require.Fail(t, "Spotify called after the lease deadline", "%s at %s", r.Path, r.At)
			}
		}
		time.Sleep(20 * time.Minute)
		down.Store(false)
		time.Sleep(2 * cfg.HeartbeatInterval)
		require.NoError(t, m.Ready())
		require.Equal(t, ids, m.Users(), "the leases were still ours: the tasks resumed")
		time.Sleep(dur - time.Since(e.start))
		require.NoError(t, stop())
		end := time.Now()
		for _, id := range ids {
			truth := e.sim.Truth(id)
			want := func(tp *spotifyhisttest.TruthPlay, _ time.Time) bool {
				if tp.IsLocal {
					// Local files exist only in currently-playing, which
					// nobody watched during the outage.
					return tp.LiveVisible && tp.End.Before(end.Add(-time.Minute)) &&
						(tp.End.Before(wentDown) || tp.Start.After(wentDown.Add(21*time.Minute)))
				}
				return rpReachable(truth, tp, end.Add(-HistoryPollIntervalDefault-time.Minute), HistoryPollIntervalDefault)
			}
			rep := compareTruth(id, truth, storedPlays(t, fs, id), want, end, cfg.RealtimePollInterval+time.Second)
			require.Empty(t, rep.extra)
			require.Empty(t, rep.missing)
		}
	})
}

// TestHeartbeatRowRemoved makes another worker declare this one dead: it
// stops at once, registers again and carries on with what is still its own.
func TestHeartbeatRowRemoved(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := newMemStore()
		e := newTestEnv(t, st, envOpts{sim: listeningSim(2, time.Hour, 2)})
		ids := e.addSimUsers(ctx, store.ModeHistory)
		var mu sync.Mutex
		var stopped []string
		cfg := e.config("w1")
		cfg.Test.Signals = &TestSignals{UserStopped: func(id string) {
			mu.Lock()
			defer mu.Unlock()
			stopped = append(stopped, id)
		}}
		m := e.newMonitor(cfg)
		stop := run(ctx, m)
		time.Sleep(time.Minute)
		_, err := st.DeleteStaleWorkers(ctx, &store.DeleteStaleWorkersParams{Before: time.Now().Add(time.Hour)})
		require.NoError(t, err)
		time.Sleep(2 * cfg.HeartbeatInterval)
		synctest.Wait()
		mu.Lock()
		require.ElementsMatch(t, ids, stopped, "every task stopped when the row was found removed")
		mu.Unlock()
		require.Equal(t, ids, m.Users(), "registered again and reclaimed the users")
		workers, err := st.ListWorkers(ctx)
		require.NoError(t, err)
		require.Len(t, workers, 1)
		require.NoError(t, stop())
	})
}
