package monitor

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/spotifyhist/spotifyhisttest"
	"github.com/spotifyhist/spotifyhist/store"
)

// testEnv is a fake Spotify with simulated listeners, an App and Clients
// talking to it in process, and a store. Build it inside a synctest bubble
// when the test uses virtual time.
type testEnv struct {
	t       testing.TB
	srv     *spotifyhisttest.Server
	sim     *spotifyhisttest.Simulator
	app     *spotifyhist.App
	sealer  *spotifyhist.Sealer
	clients *Clients
	st      Store
	start   time.Time
}

type envOpts struct {
	sim       spotifyhisttest.SimConfig
	transport func(http.RoundTripper) http.RoundTripper // wraps the fake's transport
	serverOpt func(*spotifyhisttest.Options)
}

// listeningSim is a dense simulator config: sessions around the clock.
func listeningSim(users int, d time.Duration, seed int64) spotifyhisttest.SimConfig {
	return spotifyhisttest.SimConfig{
		Seed:              seed,
		Users:             users,
		Start:             time.Now().UTC(),
		End:               time.Now().UTC().Add(d),
		SessionsPerDay:    16,
		SessionLength:     40 * time.Minute,
		DisableIdleNights: true,
		PlaylistsPerUser:  -1,
		CatalogueSize:     400,
	}
}

func newTestEnv(t testing.TB, st Store, o envOpts) *testEnv {
	t.Helper()
	e := &testEnv{t: t, st: st, start: time.Now()}
	if o.sim.Users > 0 {
		e.sim = spotifyhisttest.NewSimulator(o.sim)
	}
	opts := &spotifyhisttest.Options{BaseURL: spotifyhisttest.InProcessURL, Simulator: e.sim}
	if o.serverOpt != nil {
		o.serverOpt(opts)
	}
	e.srv = spotifyhisttest.New(opts)
	var rt http.RoundTripper = e.srv.Transport()
	if o.transport != nil {
		rt = o.transport(rt)
	}
	var err error
	e.app = e.newApp(rt)
	e.sealer, err = spotifyhist.NewSealer(spotifyhist.DeriveKey("monitor tests"))
	require.NoError(t, err)
	e.clients = NewClients(e.app, e.sealer, st, nil)
	return e
}

// newApp returns an App talking to the fake through rt, without pacing.
func (e *testEnv) newApp(rt http.RoundTripper) *spotifyhist.App {
	e.t.Helper()
	app, err := spotifyhist.New(spotifyhist.Config{
		ClientID:     e.srv.ClientID(),
		ClientSecret: e.srv.ClientSecret(),
		APIURL:       e.srv.APIURL(),
		AccountsURL:  e.srv.AccountsURL(),
		HTTPClient:   &http.Client{Transport: rt},
		Logger:       slog.New(slog.DiscardHandler),
		Budget:       spotifyhist.BudgetConfig{Requests: 1_000_000},
		Test:         spotifyhist.TestConfig{DisableJitter: true},
	})
	require.NoError(e.t, err)
	return app
}

// newClients returns Clients of a separate App (another process) whose
// requests go through wrap(fake transport).
func (e *testEnv) newClients(wrap func(http.RoundTripper) http.RoundTripper) *Clients {
	return NewClients(e.newApp(wrap(e.srv.Transport())), e.sealer, e.st, nil)
}

// addUser issues a token for id at the fake and stores the user.
func (e *testEnv) addUser(ctx context.Context, id string, mode store.Mode) {
	e.t.Helper()
	ft := e.srv.IssueToken(id)
	sealed, err := e.sealer.SealToken(&spotifyhist.Token{
		AccessToken: ft.AccessToken, RefreshToken: ft.RefreshToken, TokenType: ft.TokenType,
		Expiry: ft.Expiry, Scope: ft.Scope, AuthorizedAt: time.Now(),
	})
	require.NoError(e.t, err)
	_, err = e.st.UpsertUser(ctx, &store.UpsertUserParams{
		ID: id, DisplayName: id, Token: sealed, AuthorizedAt: time.Now(), Mode: mode, Now: time.Now(),
	})
	require.NoError(e.t, err)
}

// addSimUsers stores every simulated user in mode.
func (e *testEnv) addSimUsers(ctx context.Context, mode store.Mode) []string {
	ids := e.sim.UserIDs()
	for _, id := range ids {
		e.addUser(ctx, id, mode)
	}
	return ids
}

// config returns a monitor config with short, jitter-free intervals.
func (e *testEnv) config(workerID string) Config {
	return Config{
		Store:                e.st,
		Clients:              e.clients,
		WorkerID:             workerID,
		HeartbeatInterval:    time.Second,
		LeaseTTL:             4 * time.Second,
		PlaylistScanInterval: -1,
		SongIDInterval:       -1,
		ShutdownTimeout:      5 * time.Second,
		Logger:               slog.New(slog.DiscardHandler),
		Test:                 TestConfig{DisableJitter: true},
	}
}

func (e *testEnv) newMonitor(cfg Config) *Monitor {
	e.t.Helper()
	m, err := New(cfg)
	require.NoError(e.t, err)
	return m
}

// run starts m.Run in the background and returns a function that stops it
// and returns Run's error.
func run(ctx context.Context, m *Monitor) (stop func() error) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	return func() error {
		cancel()
		return <-done
	}
}

// capability says which truth plays a mode must capture.
type capability func(tp *spotifyhisttest.TruthPlay, sessionStart time.Time) bool

// captureReport compares stored plays with the simulator's truth.
type captureReport struct {
	expected, captured int
	missing            []string
	extra              []string // stored plays that match no truth play
}

// compareTruth matches stored plays one to one with truth plays (history
// plays by exact end, realtime plays by start + ms heard within the pauses),
// and reports the expected plays (per want, ending before cut) missing.
//
// tol is how far a realtime play's played_at may be off (the end of a
// stream skipped between two polls is an estimate).
func compareTruth(userID string, truth []spotifyhisttest.TruthPlay, plays []store.PlayWithTrack, want capability, cut time.Time, tol time.Duration) captureReport {
	type cand struct {
		tp      *spotifyhisttest.TruthPlay
		id      string
		session time.Time
		used    bool
	}
	cands := make([]*cand, 0, len(truth))
	var session time.Time
	var prevEnd time.Time
	for i := range truth {
		tp := &truth[i]
		if !tp.Start.Equal(prevEnd) {
			session = tp.Start
		}
		prevEnd = tp.End
		if tp.Kind != spotifyhisttest.StreamTrack {
			continue
		}
		id := tp.TrackID
		if tp.IsLocal {
			id = spotifyhist.LocalTrackID(tp.TrackURI)
		}
		cands = append(cands, &cand{tp: tp, id: id, session: session})
	}
	var rep captureReport
	for _, p := range plays {
		var best *cand
		var bestD time.Duration
		for _, c := range cands {
			if c.used || c.id != p.TrackID || !c.tp.Qualifies {
				continue
			}
			var d time.Duration
			switch p.Source {
			case store.SourceHistory:
				if !p.PlayedAt.Equal(c.tp.End.Truncate(time.Millisecond)) {
					continue
				}
			default:
				lo := c.tp.Start.Add(time.Duration(c.tp.MSPlayed) * time.Millisecond).Add(-tol)
				if p.PlayedAt.Before(lo) || p.PlayedAt.After(c.tp.End.Add(tol)) {
					continue
				}
				d = absDuration(p.PlayedAt.Sub(lo.Add(tol)))
			}
			if best == nil || d < bestD {
				best, bestD = c, d
			}
		}
		if best == nil {
			rep.extra = append(rep.extra, fmt.Sprintf("%s %s %s %s", userID, p.Source, p.TrackID, p.PlayedAt.Format(time.RFC3339Nano)))
			continue
		}
		best.used = true
	}
	for _, c := range cands {
		if !c.tp.Qualifies || c.tp.End.After(cut) || !want(c.tp, c.session) {
			continue
		}
		rep.expected++
		if c.used {
			rep.captured++
			continue
		}
		rep.missing = append(rep.missing, fmt.Sprintf("%s %s local=%v skipped=%v offline=%v start=%s end=%s ms=%d rp=%s",
			userID, c.id, c.tp.IsLocal, c.tp.Skipped, c.tp.Offline, c.tp.Start.Format(time.TimeOnly),
			c.tp.End.Format(time.TimeOnly), c.tp.MSPlayed, c.tp.RecentlyPlayedAt.Format(time.TimeOnly)))
	}
	return rep
}

// storedPlays returns every play of the user.
func storedPlays(t testing.TB, st Store, userID string) []store.PlayWithTrack {
	t.Helper()
	plays, err := st.ListPlays(context.Background(), &store.ListPlaysParams{UserID: userID})
	require.NoError(t, err)
	return plays
}

// requestsByUser groups the fake's request log of the listening endpoints
// by user.
func requestsByUser(srv *spotifyhisttest.Server) map[string][]spotifyhisttest.Request {
	out := map[string][]spotifyhisttest.Request{}
	for _, r := range srv.Requests() {
		if r.UserID == "" {
			continue
		}
		out[r.UserID] = append(out[r.UserID], r)
	}
	for _, rs := range out {
		sort.SliceStable(rs, func(i, j int) bool { return rs[i].At.Before(rs[j].At) })
	}
	return out
}

func isPlayerRoute(route string) bool {
	return slices.Contains([]string{"/v1/me/player/recently-played", "/v1/me/player/currently-playing"}, route)
}

// rpReachable reports whether recently-played lists tp at some moment
// between its appearance and within lag after it: visible by by, and still
// among the 50 newest visible plays lag after it appeared.
func rpReachable(truth []spotifyhisttest.TruthPlay, tp *spotifyhisttest.TruthPlay, by time.Time, lag time.Duration) bool {
	if tp.RecentlyPlayedAt.IsZero() || tp.RecentlyPlayedAt.After(by) {
		return false
	}
	at := tp.RecentlyPlayedAt.Add(lag)
	newer := 0
	for i := range truth {
		q := &truth[i]
		if !q.RecentlyPlayedAt.IsZero() && !q.RecentlyPlayedAt.After(at) && q.End.After(tp.End) {
			newer++
		}
	}
	return newer < spotifyhisttest.RecentlyPlayedWindow
}
