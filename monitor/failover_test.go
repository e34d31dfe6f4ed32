package monitor

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/spotifyhist/spotifyhisttest"
	"github.com/spotifyhist/spotifyhist/store"
)

// workerLog records, per worker, the Spotify requests it sent and the spans
// during which it ran each user's tasks.
type workerLog struct {
	mu    sync.Mutex
	reqs  []workerReq
	spans map[string]map[string][]span // worker → user → spans
}

type workerReq struct {
	worker, auth string
	at           time.Time
}

type span struct{ from, to time.Time } // to zero: still running

func newWorkerLog() *workerLog { return &workerLog{spans: map[string]map[string][]span{}} }

type recordingTransport struct {
	log    *workerLog
	worker string
	base   http.RoundTripper
}

func (rt recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasPrefix(r.URL.Path, "/v1/") {
		rt.log.mu.Lock()
		rt.log.reqs = append(rt.log.reqs, workerReq{worker: rt.worker, auth: r.Header.Get("Authorization"), at: time.Now()})
		rt.log.mu.Unlock()
	}
	return rt.base.RoundTrip(r)
}

func (l *workerLog) wrap(worker string) func(http.RoundTripper) http.RoundTripper {
	return func(base http.RoundTripper) http.RoundTripper {
		return recordingTransport{log: l, worker: worker, base: base}
	}
}

func (l *workerLog) signals(worker string) *TestSignals {
	return &TestSignals{
		UserStarted: func(userID string) {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.spans[worker] == nil {
				l.spans[worker] = map[string][]span{}
			}
			l.spans[worker][userID] = append(l.spans[worker][userID], span{from: time.Now()})
		},
		UserStopped: func(userID string) {
			l.mu.Lock()
			defer l.mu.Unlock()
			ss := l.spans[worker][userID]
			if len(ss) > 0 && ss[len(ss)-1].to.IsZero() {
				ss[len(ss)-1].to = time.Now()
			}
		},
	}
}

// requestsByWorkerUser attributes the recorded requests to users through
// the fake's own log (which knows each bearer token's user).
func (l *workerLog) byUser(srv *spotifyhisttest.Server) map[string][]workerReq {
	owner := map[string]string{}
	for _, r := range srv.Requests() {
		if r.UserID != "" && r.Authorization != "" {
			owner[r.Authorization] = r.UserID
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string][]workerReq{}
	for _, r := range l.reqs {
		if u := owner[r.auth]; u != "" {
			out[u] = append(out[u], r)
		}
	}
	return out
}

// checkExclusive asserts that every request a worker sent for a user lies
// within a span of that worker's tasks for the user, and that no two
// workers' spans for one user overlap: no user was ever polled by two
// workers at once.
func (l *workerLog) checkExclusive(t *testing.T, srv *spotifyhisttest.Server) {
	t.Helper()
	byUser := l.byUser(srv)
	l.mu.Lock()
	defer l.mu.Unlock()
	end := time.Now()
	within := func(ss []span, at time.Time) bool {
		for _, s := range ss {
			to := s.to
			if to.IsZero() {
				to = end
			}
			if !at.Before(s.from) && !at.After(to) {
				return true
			}
		}
		return false
	}
	for user, reqs := range byUser {
		for _, r := range reqs {
			require.True(t, within(l.spans[r.worker][user], r.at),
				"worker %s called Spotify for %s at %s outside its tasks' spans %v", r.worker, user, r.at, l.spans[r.worker][user])
		}
		type owned struct {
			worker string
			span
		}
		var all []owned
		for w, users := range l.spans {
			for _, s := range users[user] {
				all = append(all, owned{w, s})
			}
		}
		slices.SortFunc(all, func(a, b owned) int { return a.from.Compare(b.from) })
		for i := 1; i < len(all); i++ {
			prev := all[i-1]
			require.False(t, prev.to.IsZero() || prev.to.After(all[i].from),
				"user %s: tasks of %s (%v) overlap tasks of %s (%v)", user, prev.worker, prev.span, all[i].worker, all[i].span)
		}
	}
}

// testFailover runs three monitors sharing st, lets them settle, kills one
// without draining (what kill -9 leaves), and checks that its users are
// polled again by the survivors within LeaseTTL + HeartbeatInterval, that
// no user was polled by two workers at once, and that the stored plays are
// exactly the simulator's truth. Call it inside a synctest bubble.
func testFailover(t *testing.T, st Store) {
	ctx := context.Background()
	const (
		users     = 9
		dur       = 8 * time.Minute
		settle    = time.Minute
		interval  = time.Minute
		heartbeat = 4 * time.Second
		ttl       = 16 * time.Second
	)
	e := newTestEnv(t, st, envOpts{sim: listeningSim(users, dur, 5)})
	ids := e.addSimUsers(ctx, store.ModeHistory)
	wl := newWorkerLog()
	workers := []string{"w-a", "w-b", "w-c"}
	ms := make([]*Monitor, len(workers))
	stops := make([]func() error, len(workers))
	for i, w := range workers {
		cfg := e.config(w)
		cfg.Clients = e.newClients(wl.wrap(w))
		cfg.HistoryPollInterval = interval
		cfg.HeartbeatInterval, cfg.LeaseTTL = heartbeat, ttl
		cfg.Test.Signals = wl.signals(w)
		if i == 0 {
			cfg.Test.SkipDrain = true
		}
		ms[i] = e.newMonitor(cfg)
		stops[i] = run(ctx, ms[i])
		// Replicas start one after the other: the first takes every user,
		// the later ones receive their share through rebalancing.
		time.Sleep(2 * heartbeat)
	}
	time.Sleep(settle)
	for i, m := range ms {
		require.Len(t, m.Users(), users/len(workers), "worker %s after settling", workers[i])
	}

	victims := ms[0].Users()
	killedAt := time.Now()
	require.NoError(t, stops[0]())
	time.Sleep(dur - time.Since(e.start))
	for _, stop := range stops[1:] {
		require.NoError(t, stop())
	}
	end := time.Now()

	// Failover time: the first request of a survivor for each victim.
	bound := ttl + heartbeat
	byUser := wl.byUser(e.srv)
	for _, u := range victims {
		var first time.Time
		for _, r := range byUser[u] {
			if r.worker != workers[0] && r.at.After(killedAt) {
				first = r.at
				break
			}
		}
		require.False(t, first.IsZero(), "user %s was never polled after the kill", u)
		require.LessOrEqual(t, first.Sub(killedAt), bound, "user %s polled again %s after the kill", u, first.Sub(killedAt))
		t.Logf("user %s polled again by a survivor %s after the kill (bound %s)", u, first.Sub(killedAt), bound)
	}
	wl.checkExclusive(t, e.srv)

	for _, id := range ids {
		truth := e.sim.Truth(id)
		want := func(tp *spotifyhisttest.TruthPlay, _ time.Time) bool {
			return rpReachable(truth, tp, end.Add(-interval-time.Minute), interval)
		}
		rep := compareTruth(id, truth, storedPlays(t, st, id), want, end, time.Millisecond)
		require.Empty(t, rep.extra, "plays stored twice or invented")
		require.Empty(t, rep.missing, "plays lost")
	}
	workersLeft, err := st.ListWorkers(ctx)
	require.NoError(t, err)
	require.Empty(t, workersLeft, "survivors delete their rows; the victim's was removed as stale")
}
