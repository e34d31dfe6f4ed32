package monitor

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	rtmetrics "runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/spotifyhist/spotifyhisttest"
	"github.com/spotifyhist/spotifyhist/store"
	"github.com/spotifyhist/spotifyhist/store/sqlite"
)

// The simulation benchmark runs the monitor against the fake Spotify and
// its listening simulator in a testing/synctest bubble (virtual time: days
// pass in seconds). testing/synctest exists only inside tests, so the
// benchmark is a test enabled by a flag:
//
//	go test ./monitor -run 'TestSimBench$' -simbench -v -timeout 60m
//	go test ./monitor -run 'TestSimBenchScale$' -simbench -v -timeout 60m
var (
	simBench      = flag.Bool("simbench", false, "run the listening simulation benchmarks")
	simBenchUsers = flag.Int("simbench.users", 50, "simulated users per mode")
	simBenchDays  = flag.Float64("simbench.days", 3, "simulated days per mode")
	simBenchModes = flag.String("simbench.modes", "history,realtime,hybrid,adaptive,seed-realtime", "modes to run")
	simBenchSeed  = flag.Int64("simbench.seed", 1, "simulator seed")
	simBenchIdle  = flag.Duration("simbench.idlemax", 0, "Adaptive.IdleMax (0: the default)")
	simBenchV     = flag.Bool("simbench.v", false, "log every play captured twice or invented, and every capable play missed")
	simScaleUsers = flag.Int("simbench.scale.users", 10_000, "users of the scale run (history mode)")
	simScaleHours = flag.Float64("simbench.scale.hours", 2, "simulated hours of the scale run")
	simScaleHeap  = flag.String("simbench.scale.heapprofile", "", "write a heap profile near the end of the scale run")
	simScaleStore = flag.String("simbench.scale.store", "sqlite", "store of the scale run: sqlite (a file in a temporary directory) or memory")
)

// timedStore records when each play was stored.
type timedStore struct {
	Store
	mu       sync.Mutex
	storedAt map[playKey]time.Time
}

func (s *timedStore) InsertPlays(ctx context.Context, p *store.InsertPlaysParams) (*store.InsertPlaysResult, error) {
	res, err := s.Store.InsertPlays(ctx, p)
	if err == nil {
		now := time.Now()
		s.mu.Lock()
		for _, in := range p.Plays {
			k := playKey{p.UserID, in.PlayedAt.UTC().Truncate(time.Millisecond).UnixMilli(), in.Track.ID}
			if _, ok := s.storedAt[k]; !ok {
				s.storedAt[k] = now
			}
		}
		s.mu.Unlock()
	}
	return res, err
}

type benchResult struct {
	mode                     string
	qualifying, captured     int
	capable, capableCaptured int
	local, localCaptured     int
	extra                    int
	latencies                []time.Duration
	calls                    int
	userHours                float64
}

func TestSimBench(t *testing.T) {
	if !*simBench {
		t.Skip("simulation benchmark: run with -simbench (see simbench_test.go)")
	}
	var results []benchResult
	for _, mode := range strings.Split(*simBenchModes, ",") {
		t.Run(mode, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				results = append(results, runSimBench(t, strings.TrimSpace(mode)))
			})
		})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%d users × %.1f days, seed %d (simulator defaults: %.0f sessions/day, %s sessions)\n",
		*simBenchUsers, *simBenchDays, *simBenchSeed, spotifyhisttest.SimSessionsPerDayDefault, spotifyhisttest.SimSessionLengthDefault)
	fmt.Fprintf(&b, "%-14s %9s %9s %9s %9s %8s %8s %12s %12s %10s\n",
		"mode", "truth", "captured", "capture%", "in-cap%", "local", "extra", "median-lat", "p95-lat", "calls/u·h")
	var realtimeCalls float64
	for _, r := range results {
		if r.mode == "realtime" {
			realtimeCalls = float64(r.calls) / r.userHours
		}
	}
	for _, r := range results {
		med, p95 := percentile(r.latencies, 0.5), percentile(r.latencies, 0.95)
		cph := float64(r.calls) / r.userHours
		fmt.Fprintf(&b, "%-14s %9d %9d %8.2f%% %8.2f%% %4d/%-4d %8d %12s %12s %10.1f",
			r.mode, r.qualifying, r.captured, pct(r.captured, r.qualifying), pct(r.capableCaptured, r.capable),
			r.localCaptured, r.local, r.extra, med.Round(100*time.Millisecond), p95.Round(100*time.Millisecond), cph)
		if realtimeCalls > 0 && r.mode != "realtime" {
			fmt.Fprintf(&b, " (%.1f%% of realtime)", 100*cph/realtimeCalls)
		}
		b.WriteString("\n")
	}
	t.Log(b.String())
}

func pct(a, b int) float64 {
	if b == 0 {
		return 100
	}
	return 100 * float64(a) / float64(b)
}

func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func runSimBench(t *testing.T, mode string) benchResult {
	ctx := context.Background()
	dur := time.Duration(*simBenchDays * 24 * float64(time.Hour))
	cfg := spotifyhisttest.SimConfig{
		Seed: *simBenchSeed, Users: *simBenchUsers, Start: time.Now().UTC(), End: time.Now().UTC().Add(dur),
		PlaylistsPerUser: -1,
	}
	mem := newMemStore()
	st := &timedStore{Store: mem, storedAt: map[playKey]time.Time{}}
	e := newTestEnv(t, st, envOpts{sim: cfg, serverOpt: func(o *spotifyhisttest.Options) { o.RequestLogLimit = -1 }})
	ids := e.sim.UserIDs()
	var storeMode store.Mode
	switch mode {
	case "seed-realtime":
	default:
		storeMode = store.Mode(mode)
		require.True(t, storeMode.Valid(), "unknown mode %q", mode)
	}
	for _, id := range ids {
		e.addUser(ctx, id, storeMode)
	}

	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if mode == "seed-realtime" {
		for _, id := range ids {
			u, err := st.GetUser(ctx, id)
			require.NoError(t, err)
			c, err := e.clients.For(ctx, u)
			require.NoError(t, err)
			wg.Go(func() { seedRealtime(runCtx, st, c, id) })
		}
	} else {
		cfg := e.config("bench")
		cfg.HeartbeatInterval, cfg.LeaseTTL = HeartbeatIntervalDefault, LeaseTTLDefault
		cfg.Test.DisableJitter = false
		cfg.Adaptive.IdleMax = *simBenchIdle
		m := e.newMonitor(cfg)
		wg.Go(func() { _ = m.Run(runCtx) })
	}
	time.Sleep(dur)
	cancel()
	wg.Wait()
	end := time.Now()

	r := benchResult{mode: mode, userHours: float64(len(ids)) * dur.Hours()}
	r.calls = e.srv.CallCount("/v1/me/player/currently-playing") + e.srv.CallCount("/v1/me/player/recently-played")
	cut := end.Add(-time.Hour)
	for _, id := range ids {
		truth := e.sim.Truth(id)
		plays := storedPlays(t, st, id)
		matches, extra := matchTruth(truth, plays, 35*time.Second, mode == "seed-realtime")
		r.extra += len(extra)
		if *simBenchV {
			for _, p := range extra {
				t.Logf("%s %s: stored play matching no truth play: %s %s at %s ms=%d", mode, id, p.Source, p.TrackID, p.PlayedAt.Format(time.RFC3339Nano), p.MSPlayed)
			}
		}
		for i := range truth {
			tp := &truth[i]
			if !tp.Qualifies || tp.End.After(cut) {
				continue
			}
			r.qualifying++
			if tp.IsLocal {
				r.local++
			}
			capable := benchCapable(mode, truth, tp)
			if capable {
				r.capable++
			}
			p, ok := matches[i]
			if !ok {
				if capable && *simBenchV {
					t.Logf("%s %s: missed %s local=%v skipped=%v offline=%v %s–%s ms=%d rp=%s", mode, id, tp.TrackURI, tp.IsLocal, tp.Skipped, tp.Offline,
						tp.Start.Format(time.RFC3339), tp.End.Format(time.TimeOnly), tp.MSPlayed, tp.RecentlyPlayedAt.Format(time.TimeOnly))
				}
				continue
			}
			r.captured++
			if capable {
				r.capableCaptured++
			}
			if tp.IsLocal {
				r.localCaptured++
			}
			k := playKey{id, p.PlayedAt.UnixMilli(), p.TrackID}
			if at, ok := st.storedAt[k]; ok {
				r.latencies = append(r.latencies, at.Sub(tp.End))
			}
		}
	}
	return r
}

// benchCapable says whether a mode can capture a qualifying play at all.
func benchCapable(mode string, truth []spotifyhisttest.TruthPlay, tp *spotifyhisttest.TruthPlay) bool {
	rp := rpReachable(truth, tp, tp.RecentlyPlayedAt, 20*time.Minute)
	switch mode {
	case "history":
		return rp
	case "realtime", "seed-realtime":
		return tp.LiveVisible
	case "hybrid":
		return rp || (tp.IsLocal && tp.LiveVisible)
	default:
		return rp || tp.LiveVisible
	}
}

// matchTruth matches stored plays one to one with truth plays (by index),
// nearest first; it returns the matches and the stored plays that match
// nothing (inventions or doubles).
func matchTruth(truth []spotifyhisttest.TruthPlay, plays []store.PlayWithTrack, tol time.Duration, loose bool) (map[int]store.PlayWithTrack, []store.PlayWithTrack) {
	byTrack := map[string][]int{}
	for i := range truth {
		tp := &truth[i]
		if tp.Kind != spotifyhisttest.StreamTrack {
			continue
		}
		id := tp.TrackID
		if tp.IsLocal {
			id = spotifyhist.LocalTrackID(tp.TrackURI)
		}
		byTrack[id] = append(byTrack[id], i)
	}
	out := map[int]store.PlayWithTrack{}
	var extra []store.PlayWithTrack
	for _, p := range plays {
		best, bestD := -1, time.Duration(0)
		for _, i := range byTrack[p.TrackID] {
			tp := &truth[i]
			if _, used := out[i]; used || !tp.Qualifies {
				continue
			}
			lo := tp.Start.Add(time.Duration(tp.MSPlayed) * time.Millisecond).Add(-tol)
			if loose {
				lo = tp.Start
			}
			if p.Source == store.SourceHistory && !loose {
				lo = tp.End.Add(-time.Millisecond)
			}
			if p.PlayedAt.Before(lo) || p.PlayedAt.After(tp.End.Add(tol)) {
				continue
			}
			d := absDuration(p.PlayedAt.Sub(tp.End))
			if best < 0 || d < bestD {
				best, bestD = i, d
			}
		}
		if best < 0 {
			extra = append(extra, p)
			continue
		}
		out[best] = p
	}
	return out, extra
}

// seedRealtime is the original system's realtime mode: currently-playing
// every 5 s; a track is recorded once, when its progress first exceeds 30 s
// and its id differs from the previous recorded one, with the time of the
// response as played_at.
func seedRealtime(ctx context.Context, st Store, c *spotifyhist.Client, userID string) {
	prev := ""
	for sleepCtx(ctx, 5*time.Second) {
		pb, err := c.CurrentlyPlaying(ctx)
		if err != nil || pb == nil || !pb.IsPlaying || pb.Type != spotifyhist.PlaybackTrack || pb.Track == nil {
			continue
		}
		if pb.ProgressMS <= qualifyMS || pb.Track.ID == prev {
			continue
		}
		prev = pb.Track.ID
		_, _ = st.InsertPlays(ctx, &store.InsertPlaysParams{UserID: userID, Plays: []store.PlayInput{{
			Track: storeTrack(pb.Track), PlayedAt: time.Now(), Source: store.SourceRealtime,
		}}})
	}
}

// TestSimBenchScale runs many users in history mode for simulated hours in
// one process and reports its peak memory and CPU time. The fake Spotify,
// its simulator and the store live in the same process, so the figures are
// an upper bound for the monitor; the heap before the monitor starts is
// reported so that the monitor's own share can be told apart.
func TestSimBenchScale(t *testing.T) {
	if !*simBench {
		t.Skip("simulation benchmark: run with -simbench (see simbench_test.go)")
	}
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		dur := time.Duration(*simScaleHours * float64(time.Hour))
		cfg := spotifyhisttest.SimConfig{
			Seed: *simBenchSeed, Users: *simScaleUsers, Start: time.Now().UTC(), End: time.Now().UTC().Add(dur),
			PlaylistsPerUser: -1,
		}
		var st Store = newMemStore()
		if *simScaleStore == "sqlite" {
			sq, err := sqlite.New(ctx, sqlite.Config{Path: filepath.Join(dir, "scale.db"), Logger: slog.New(slog.DiscardHandler)})
			require.NoError(t, err)
			defer func() { require.NoError(t, sq.Close()) }()
			st = sq
		}
		e := newTestEnv(t, st, envOpts{sim: cfg, serverOpt: func(o *spotifyhisttest.Options) { o.RequestLogLimit = -1 }})
		for _, id := range e.sim.UserIDs() {
			e.addUser(ctx, id, store.ModeHistory)
		}
		runtime.GC()
		heapBefore := heapInUse()
		cpuBefore := cpuTime()
		mcfg := e.config("scale")
		mcfg.HeartbeatInterval, mcfg.LeaseTTL = HeartbeatIntervalDefault, LeaseTTLDefault
		mcfg.Test.DisableJitter = false
		m := e.newMonitor(mcfg)
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- m.Run(runCtx) }()
		var peakHeap, peakStacks uint64
		var goroutines int
		for elapsed := time.Duration(0); elapsed < dur; elapsed += 10 * time.Minute {
			time.Sleep(10 * time.Minute)
			peakHeap = max(peakHeap, heapInUse())
			peakStacks = max(peakStacks, readMetric("/memory/classes/heap/stacks:bytes"))
			goroutines = max(goroutines, runtime.NumGoroutine())
		}
		runtime.GC()
		liveHeap := heapInUse()
		if *simScaleHeap != "" {
			f, err := os.Create(*simScaleHeap)
			require.NoError(t, err)
			require.NoError(t, pprof.WriteHeapProfile(f))
			require.NoError(t, f.Close())
		}
		cancel()
		require.NoError(t, <-done)
		plays := 0
		for _, id := range e.sim.UserIDs() {
			plays += len(storedPlays(t, st, id))
		}
		calls := e.srv.CallCount("/v1/me/player/recently-played")
		t.Logf("\nscale: %d users, history mode, %s simulated, %s store: %d recently-played calls, %d plays stored\n"+
			"heap in use before the monitor: %.1f MiB; peak heap in use while running: %.1f MiB; after a GC while running: %.1f MiB\n"+
			"peak goroutine stacks: %.1f MiB; peak goroutines: %d; Go runtime total at the end: %.1f MiB\n"+
			"process peak RSS (VmHWM): %s; CPU time while running: %s",
			*simScaleUsers, dur, *simScaleStore, calls, plays, float64(heapBefore)/(1<<20), float64(peakHeap)/(1<<20), float64(liveHeap)/(1<<20),
			float64(peakStacks)/(1<<20), goroutines, float64(readMetric("/memory/classes/total:bytes"))/(1<<20),
			vmHWM(), (cpuTime() - cpuBefore).Round(time.Millisecond))
	})
}

func heapInUse() uint64 {
	s := []rtmetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	rtmetrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64()
}

func readMetric(name string) uint64 {
	s := []rtmetrics.Sample{{Name: name}}
	rtmetrics.Read(s)
	return s[0].Value.Uint64()
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func vmHWM() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(v)
			if kb, err := strconv.Atoi(f[0]); err == nil {
				return fmt.Sprintf("%.1f MiB", float64(kb)/1024)
			}
		}
	}
	return "unknown"
}

var (
	simFakeServe  = flag.Bool("simbench.fake-serve", false, "internal: serve the fake Spotify for TestSimBenchScaleProcess")
	simProcMinute = flag.Duration("simbench.proc.duration", 4*time.Minute, "real time the process scale run lasts")
	simProcPoll   = flag.Duration("simbench.proc.poll", time.Minute, "history poll interval of the process scale run")
	simProcCache  = flag.Int64("simbench.proc.sqlite-cache", 0, "SQLite page cache per connection in bytes (0: the store's default)")
)

// fakeToken is one line the fake Spotify child process prints per user.
type fakeToken struct {
	User    string    `json:"user"`
	Access  string    `json:"access"`
	Refresh string    `json:"refresh"`
	Expiry  time.Time `json:"expiry"`
}

// TestSimBenchScaleProcess measures what the monitor itself needs to carry
// many users in history mode: the fake Spotify and its simulator run in a
// child process, so this process holds only the monitor, its Spotify
// clients and the SQLite store, as a serve process does. It runs in real
// time with a short history interval (many more polls than in production)
// and reports the peak RSS and CPU time.
func TestSimBenchScaleProcess(t *testing.T) {
	if !*simBench {
		t.Skip("simulation benchmark: run with -simbench (see simbench_test.go)")
	}
	if *simFakeServe {
		serveFakeForScale(t)
		return
	}
	ctx := context.Background()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSimBenchScaleProcess$", "-simbench", "-simbench.fake-serve",
		"-simbench.scale.users="+strconv.Itoa(*simScaleUsers), "-simbench.seed="+strconv.FormatInt(*simBenchSeed, 10))
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	defer func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	}()
	dec := json.NewDecoder(stdout)
	var hello struct{ URL, ClientID, ClientSecret string }
	require.NoError(t, dec.Decode(&hello))
	tokens := make([]fakeToken, 0, *simScaleUsers)
	for range *simScaleUsers {
		var ft fakeToken
		require.NoError(t, dec.Decode(&ft))
		tokens = append(tokens, ft)
	}

	st, err := sqlite.New(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "scale.db"), CacheSize: *simProcCache, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer func() { require.NoError(t, st.Close()) }()
	var calls atomic.Int64
	tr := &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: time.Minute}
	app, err := spotifyhist.New(spotifyhist.Config{
		ClientID: hello.ClientID, ClientSecret: hello.ClientSecret,
		APIURL: hello.URL + "/v1/", AccountsURL: hello.URL + "/",
		HTTPClient: &http.Client{Transport: countingTransport{base: tr, n: &calls}, Timeout: 30 * time.Second},
		Logger:     slog.New(slog.DiscardHandler),
		Budget:     spotifyhist.BudgetConfig{Requests: 1_000_000},
	})
	require.NoError(t, err)
	sealer, err := spotifyhist.NewSealer(spotifyhist.DeriveKey("scale"))
	require.NoError(t, err)
	for _, ft := range tokens {
		sealed, err := sealer.SealToken(&spotifyhist.Token{AccessToken: ft.Access, RefreshToken: ft.Refresh, TokenType: "Bearer", Expiry: ft.Expiry, AuthorizedAt: time.Now()})
		require.NoError(t, err)
		_, err = st.UpsertUser(ctx, &store.UpsertUserParams{ID: ft.User, Token: sealed, AuthorizedAt: time.Now(), Mode: store.ModeHistory, Now: time.Now()})
		require.NoError(t, err)
	}
	runtime.GC()
	rssBefore := vmRSS()
	cpuBefore := cpuTime()
	m, err := New(Config{
		Store: st, Clients: NewClients(app, sealer, st, nil), HistoryPollInterval: *simProcPoll,
		PlaylistScanInterval: -1, SongIDInterval: -1, Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	runCtx, cancel := context.WithTimeout(ctx, *simProcMinute)
	defer cancel()
	var peakHeap uint64
	go func() {
		for sleepCtx(runCtx, time.Second) {
			h := heapInUse()
			if h <= peakHeap {
				continue
			}
			peakHeap = h
			if *simScaleHeap != "" {
				if f, err := os.Create(*simScaleHeap); err == nil {
					_ = pprof.WriteHeapProfile(f)
					_ = f.Close()
				}
			}
		}
	}()
	require.NoError(t, m.Run(runCtx))
	runtime.GC()
	t.Logf("Go heap: peak in use %.1f MiB, live after the run %.1f MiB; goroutine stacks %.1f MiB; Go runtime total %.1f MiB",
		float64(peakHeap)/(1<<20), float64(heapInUse())/(1<<20), float64(readMetric("/memory/classes/heap/stacks:bytes"))/(1<<20),
		float64(readMetric("/memory/classes/total:bytes"))/(1<<20))
	plays := 0
	for _, ft := range tokens {
		ps, err := st.ListPlays(ctx, &store.ListPlaysParams{UserID: ft.User})
		require.NoError(t, err)
		plays += len(ps)
	}
	t.Logf("\nscale (separate fake process): %d users, history mode polled every %s for %s of real time, SQLite store\n"+
		"SQLite page cache per connection: %d bytes (0: store default); GOMEMLIMIT=%q\n"+
		"%d Spotify calls, %d plays stored\nRSS before the monitor: %s; process peak RSS (VmHWM): %s; CPU time of the monitor: %s",
		*simScaleUsers, *simProcPoll, *simProcMinute, *simProcCache, os.Getenv("GOMEMLIMIT"), calls.Load(), plays, rssBefore, vmHWM(),
		(cpuTime() - cpuBefore).Round(time.Millisecond))
}

type countingTransport struct {
	base http.RoundTripper
	n    *atomic.Int64
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, "/v1/") {
		c.n.Add(1)
	}
	return c.base.RoundTrip(r)
}

// serveFakeForScale is the child process of TestSimBenchScaleProcess: it
// serves the fake Spotify with simulated listeners on a loopback port,
// prints its URL and one token per user, and serves until stdin closes.
func serveFakeForScale(t *testing.T) {
	now := time.Now().UTC()
	sim := spotifyhisttest.NewSimulator(spotifyhisttest.SimConfig{
		Seed: *simBenchSeed, Users: *simScaleUsers, Start: now.Add(-24 * time.Hour), End: now.Add(24 * time.Hour),
		PlaylistsPerUser: -1,
	})
	srv := spotifyhisttest.New(&spotifyhisttest.Options{Simulator: sim, RequestLogLimit: -1})
	defer srv.Close()
	enc := json.NewEncoder(os.Stdout)
	require.NoError(t, enc.Encode(map[string]string{"URL": srv.URL(), "ClientID": srv.ClientID(), "ClientSecret": srv.ClientSecret()}))
	for _, id := range sim.UserIDs() {
		tok := srv.IssueToken(id)
		require.NoError(t, enc.Encode(fakeToken{User: id, Access: tok.AccessToken, Refresh: tok.RefreshToken, Expiry: tok.Expiry}))
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
}

func vmRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if kb, err := strconv.Atoi(f[0]); err == nil {
				return fmt.Sprintf("%.1f MiB", float64(kb)/1024)
			}
		}
	}
	return "unknown"
}
