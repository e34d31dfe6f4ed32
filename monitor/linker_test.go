package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/spotifyhist/spotifyhisttest"
	"github.com/spotifyhist/spotifyhist/store"
	"github.com/spotifyhist/spotifyhist/store/sqlite"
	"github.com/spotifyhist/spotifyhist/store/storetest"
)

const linkerTracksRoute = "/v1/tracks/{id}"

// linkerEnv is a fake Spotify, an App, a store and Clients built the way
// serve builds them. Create it inside a synctest bubble: every wait (pace,
// Retry-After, backoff) then takes no real time.
type linkerEnv struct {
	srv     *spotifyhisttest.Server
	app     *spotifyhist.App
	sealer  *spotifyhist.Sealer
	st      store.Store
	clients *Clients
	reg     *prometheus.Registry
}

func newLinkerEnv(t *testing.T, b songIDBackend, opts *spotifyhisttest.Options) *linkerEnv {
	t.Helper()
	if opts == nil {
		opts = &spotifyhisttest.Options{}
	}
	opts.BaseURL = spotifyhisttest.InProcessURL
	e := &linkerEnv{srv: spotifyhisttest.NewServer(t, opts), st: b.open(t), reg: prometheus.NewPedanticRegistry()}
	app, err := spotifyhist.New(spotifyhist.Config{
		ClientID:     e.srv.ClientID(),
		ClientSecret: e.srv.ClientSecret(),
		APIURL:       e.srv.APIURL(),
		AccountsURL:  e.srv.AccountsURL(),
		HTTPClient:   e.srv.Client(),
		Logger:       slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	e.app = app
	e.sealer, err = spotifyhist.NewSealer(spotifyhist.DeriveKey("linker test secret"))
	require.NoError(t, err)
	e.clients = NewClients(app, e.sealer, e.st, nil)
	return e
}

// addUser stores a user with a token the fake issued. With dead, the
// user's refresh token is revoked and the stored access token already
// expired, so the first call ends in invalid_grant.
func (e *linkerEnv) addUser(t *testing.T, id string, dead bool) {
	t.Helper()
	tok := e.srv.IssueToken(id)
	st := &spotifyhist.Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, TokenType: tok.TokenType, Expiry: tok.Expiry, Scope: tok.Scope, AuthorizedAt: time.Now()}
	if dead {
		e.srv.RevokeRefreshToken(id)
		st.Expiry = time.Now().Add(-time.Minute)
	}
	sealed, err := e.sealer.SealToken(st)
	require.NoError(t, err)
	_, err = e.st.UpsertUser(t.Context(), &store.UpsertUserParams{ID: id, DisplayName: id, Token: sealed, AuthorizedAt: time.Now(), Now: time.Now()})
	require.NoError(t, err)
}

func (e *linkerEnv) linker(t *testing.T, cfg LinkerConfig) *Linker {
	t.Helper()
	cfg.Store = e.st
	cfg.Clients = e.clients
	cfg.Registerer = e.reg
	cfg.Logger = slog.New(slog.DiscardHandler)
	l, err := NewLinker(cfg)
	require.NoError(t, err)
	return l
}

// linkerID pads a name to a Spotify-like 22-character id.
func linkerID(name string) string { return name + strings.Repeat("0", 22-len(name)) }

// addSpotifyTrack adds a track to the fake's catalogue.
func (e *linkerEnv) addSpotifyTrack(id string) spotifyhisttest.Track {
	tr := spotifyhisttest.Track{
		ID:         id,
		Name:       "Spotify name " + id[:5],
		DurationMS: 201_000,
		ISRC:       "GBAYE0000001",
		Album:      spotifyhisttest.Album{ID: linkerID("alb" + id[:5]), Name: "Spotify album " + id[:5]},
		Artists: []spotifyhisttest.Artist{
			{ID: linkerID("art1" + id[:5]), Name: "Lead " + id[:5]},
			{ID: linkerID("art2" + id[:5]), Name: "Feature " + id[:5]},
		},
	}
	e.srv.AddTrack(tr)
	return tr
}

// exportTrack is a track as an import stores it: names only.
func linkerExportTrack(id string) store.Track {
	return store.Track{
		ID:      id,
		Name:    "Export name " + id,
		Album:   store.Album{ID: store.ProvisionalID("album", "Export album"), Name: "Export album"},
		Artists: []store.Artist{{ID: store.ProvisionalID("artist", "Export artist"), Name: "Export artist"}},
	}
}

// addUnlinked stores tracks known only from an export, each with one play
// of alice.
func (e *linkerEnv) addUnlinked(t *testing.T, ids ...string) {
	t.Helper()
	plays := make([]store.PlayInput, 0, len(ids))
	for i, id := range ids {
		plays = append(plays, store.PlayInput{Track: linkerExportTrack(id), PlayedAt: time.Now().Add(-time.Duration(i+1) * time.Minute), MSPlayed: 60_000, Source: store.SourceImport})
	}
	_, err := e.st.InsertPlays(t.Context(), &store.InsertPlaysParams{UserID: "alice", Plays: plays})
	require.NoError(t, err)
}

func (e *linkerEnv) requireMetrics(t *testing.T, runs map[string]int, tracks map[string]int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("# HELP spotifyhist_linker_runs_total Artist linker runs, by result (completed, stopped: ended early by a rate limit or a Spotify outage, error: fatal).\n")
	b.WriteString("# TYPE spotifyhist_linker_runs_total counter\n")
	for _, r := range []string{"completed", "error", "stopped"} {
		fmt.Fprintf(&b, "spotifyhist_linker_runs_total{result=%q} %d\n", r, runs[r])
	}
	b.WriteString("# HELP spotifyhist_linker_tracks_total Tracks handled by the artist linker, by outcome (linked; failed: Spotify cannot resolve it; error: transient failure, retried next run).\n")
	b.WriteString("# TYPE spotifyhist_linker_tracks_total counter\n")
	for _, o := range []string{"error", "failed", "linked"} {
		fmt.Fprintf(&b, "spotifyhist_linker_tracks_total{outcome=%q} %d\n", o, tracks[o])
	}
	require.NoError(t, testutil.GatherAndCompare(e.reg, strings.NewReader(b.String()),
		"spotifyhist_linker_runs_total", "spotifyhist_linker_tracks_total"))
}

// linkerTest runs fn in a synctest bubble on every backend.
func linkerTest(t *testing.T, fn func(t *testing.T, b songIDBackend)) {
	t.Helper()
	t.Parallel()
	for _, b := range songIDBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) { fn(t, b) })
		})
	}
}

func TestLinkerLinksAndFails(t *testing.T) {
	linkerTest(t, func(t *testing.T, b songIDBackend) {
		e := newLinkerEnv(t, b, nil)
		e.addUser(t, "alice", false)
		ok := []string{linkerID("a1"), linkerID("a2"), linkerID("a3")}
		for _, id := range ok {
			e.addSpotifyTrack(id)
		}
		unknown := linkerID("b1")                   // 404
		malformed := "c1" + strings.Repeat("x", 28) // passes the client, 400 from Spotify
		nameOnly := store.ProvisionalID("track", "Intro")
		e.addUnlinked(t, append(slices.Clone(ok), unknown, malformed, nameOnly)...)
		// Neither local files nor linked tracks are the linker's business.
		local := store.Track{ID: spotifyhist.LocalTrackID(spotifyhisttest.LocalURI("A", "B", "C", 100)), Name: "C", IsLocal: true}
		linked := storetest.MakeTrack(&storetest.TrackOpts{ID: linkerID("d1")})
		require.NoError(t, e.st.UpsertTracks(t.Context(), []store.Track{local, linked}))

		l := e.linker(t, LinkerConfig{BatchSize: 2})
		start := time.Now()
		res, err := l.Run(t.Context())
		require.NoError(t, err)
		require.Equal(t, &LinkResult{Processed: 6, Linked: 3, Failed: 3, Remaining: 0, Duration: res.Duration}, res)
		require.Equal(t, 4*time.Second, res.Duration, "five lookups paced 1 s apart (the name-only id needs none)")
		require.Equal(t, 5, e.srv.CallCount(linkerTracksRoute))

		for _, id := range ok {
			got, err := e.st.GetTrack(t.Context(), id)
			require.NoError(t, err)
			require.True(t, got.Linked)
			require.Equal(t, "Spotify name "+id[:5], got.Name)
			require.Equal(t, 201_000, got.DurationMS)
			require.Equal(t, "GBAYE0000001", got.ISRC)
			require.Equal(t, store.Album{ID: linkerID("alb" + id[:5]), Name: "Spotify album " + id[:5]}, got.Album)
			require.Equal(t, []store.Artist{
				{ID: linkerID("art1" + id[:5]), Name: "Lead " + id[:5]},
				{ID: linkerID("art2" + id[:5]), Name: "Feature " + id[:5]},
			}, got.Artists)
		}
		for _, id := range []string{unknown, malformed, nameOnly} {
			got, err := e.st.GetTrack(t.Context(), id)
			require.NoError(t, err)
			want := linkerExportTrack(id)
			want.Linked = true
			require.Equal(t, want, *got, "a failed track keeps its names and is marked")
		}
		plays, err := e.st.ListPlays(t.Context(), &store.ListPlaysParams{UserID: "alice"})
		require.NoError(t, err)
		require.Len(t, plays, 6, "plays keep pointing at their tracks")
		e.requireMetrics(t, map[string]int{"completed": 1}, map[string]int{"linked": 3, "failed": 3})
		require.Equal(t, float64(start.Add(4*time.Second).Unix()),
			testutil.ToFloat64(l.m.lastSuccess))
		require.Equal(t, 0.0, testutil.ToFloat64(l.m.remaining))

		// Nothing is left, and the failed tracks are not asked for again.
		e.srv.ResetRequests()
		res, err = l.Run(t.Context())
		require.NoError(t, err)
		require.Equal(t, &LinkResult{}, res)
		require.Zero(t, e.srv.CallCount("*"))
		e.requireMetrics(t, map[string]int{"completed": 2}, map[string]int{"linked": 3, "failed": 3})
	})
}

func TestLinkerKeepsIDWhenSpotifyRelinks(t *testing.T) {
	linkerTest(t, func(t *testing.T, b songIDBackend) {
		e := newLinkerEnv(t, b, nil)
		e.addUser(t, "alice", false)
		id := linkerID("old1")
		e.addUnlinked(t, id)
		other := linkerID("new1")
		body := fmt.Sprintf(`{"id":%q,"uri":"spotify:track:%s","type":"track","name":"Relinked","duration_ms":1000,
			"external_ids":{"isrc":"USX"},"album":{"id":"album1","name":"Album","uri":"spotify:album:album1"},
			"artists":[{"id":"artist1","name":"Artist","uri":"spotify:artist:artist1"}]}`, other, other)
		e.srv.FailNext(linkerTracksRoute, spotifyhisttest.Fault{Status: 200, Body: body})

		res, err := e.linker(t, LinkerConfig{}).Run(t.Context())
		require.NoError(t, err)
		require.Equal(t, 1, res.Linked)
		got, err := e.st.GetTrack(t.Context(), id)
		require.NoError(t, err)
		require.Equal(t, store.Track{
			ID: id, Name: "Relinked", DurationMS: 1000, ISRC: "USX", Linked: true,
			Album:   store.Album{ID: "album1", Name: "Album"},
			Artists: []store.Artist{{ID: "artist1", Name: "Artist"}},
		}, *got)
		_, err = e.st.GetTrack(t.Context(), other)
		require.ErrorIs(t, err, store.ErrNotFound, "the relinked id is not added")
	})
}

func TestLinkerRateLimits(t *testing.T) {
	t.Parallel()
	t.Run("ShortRetryAfterIsWaitedOut", func(t *testing.T) {
		linkerTest(t, func(t *testing.T, b songIDBackend) {
			e := newLinkerEnv(t, b, nil)
			e.addUser(t, "alice", false)
			ids := []string{linkerID("r1"), linkerID("r2"), linkerID("r3")}
			for _, id := range ids {
				e.addSpotifyTrack(id)
			}
			e.addUnlinked(t, ids...)
			// Longer than the client's own wait (30 s), shorter than the
			// linker's MaxWait (60 s).
			e.srv.FailNext(linkerTracksRoute, spotifyhisttest.Fault{Status: 429, RetryAfter: "40"})

			res, err := e.linker(t, LinkerConfig{}).Run(t.Context())
			require.NoError(t, err)
			require.Equal(t, &LinkResult{Processed: 3, Linked: 3, Duration: res.Duration}, res)
			require.Equal(t, 42*time.Second, res.Duration, "40 s Retry-After, then two 1 s paces")
			require.Equal(t, 4, e.srv.CallCount(linkerTracksRoute))
			e.requireMetrics(t, map[string]int{"completed": 1}, map[string]int{"linked": 3})
		})
	})

	t.Run("QuotaStopsTheRun", func(t *testing.T) {
		linkerTest(t, func(t *testing.T, b songIDBackend) {
			e := newLinkerEnv(t, b, nil)
			e.addUser(t, "alice", false)
			ids := []string{linkerID("q1"), linkerID("q2"), linkerID("q3")}
			for _, id := range ids {
				e.addSpotifyTrack(id)
			}
			e.addUnlinked(t, ids...)
			e.srv.FailNext(linkerTracksRoute, spotifyhisttest.Fault{Status: 429, Reason: spotifyhist.ReasonQuotaExceeded, RetryAfter: "86400"})
			start := time.Now()

			l := e.linker(t, LinkerConfig{})
			res, err := l.Run(t.Context())
			require.NoError(t, err, "a rate limit is not a fatal error")
			until := start.Add(24 * time.Hour).UTC()
			require.Equal(t, &LinkResult{
				Remaining:    3,
				Stopped:      "rate limited until " + until.Format(time.RFC3339),
				BlockedUntil: until,
			}, res)
			require.Equal(t, 1, e.srv.CallCount(linkerTracksRoute), "no call after the quota answer")
			e.requireMetrics(t, map[string]int{"stopped": 1}, nil)

			// A run during the block stops at once, without calling Spotify.
			res, err = l.Run(t.Context())
			require.NoError(t, err)
			require.Equal(t, "rate limited until "+until.Format(time.RFC3339), res.Stopped)
			require.Equal(t, 1, e.srv.CallCount(linkerTracksRoute))
			e.requireMetrics(t, map[string]int{"stopped": 2}, nil)
		})
	})

	t.Run("RepeatedShortLimitsStop", func(t *testing.T) {
		linkerTest(t, func(t *testing.T, b songIDBackend) {
			e := newLinkerEnv(t, b, nil)
			e.addUser(t, "alice", false)
			id := linkerID("s1")
			e.addSpotifyTrack(id)
			e.addUnlinked(t, id)
			e.srv.FailNext(linkerTracksRoute, spotifyhisttest.Fault{Status: 429, RetryAfter: "45", Times: -1})

			res, err := e.linker(t, LinkerConfig{}).Run(t.Context())
			require.NoError(t, err)
			require.Equal(t, 1+linkerMaxRateWaits, e.srv.CallCount(linkerTracksRoute))
			require.True(t, strings.HasPrefix(res.Stopped, "rate limited until "), res.Stopped)
			require.Equal(t, 1, res.Remaining)
		})
	})
}

func TestLinkerTokens(t *testing.T) {
	t.Parallel()
	t.Run("RefreshesDuringALongRun", func(t *testing.T) {
		linkerTest(t, func(t *testing.T, b songIDBackend) {
			e := newLinkerEnv(t, b, &spotifyhisttest.Options{AccessTokenTTL: 30 * time.Second})
			e.addUser(t, "alice", false)
			before, err := e.st.GetUser(t.Context(), "alice")
			require.NoError(t, err)
			ids := make([]string, 0, 12)
			for i := range 12 {
				id := linkerID(fmt.Sprintf("t%02d", i))
				e.addSpotifyTrack(id)
				ids = append(ids, id)
			}
			e.addUnlinked(t, ids...)

			res, err := e.linker(t, LinkerConfig{Pace: 5 * time.Second}).Run(t.Context())
			require.NoError(t, err)
			require.Equal(t, 12, res.Linked)
			require.GreaterOrEqual(t, e.srv.CallCount("/api/token"), 2, "55 s of lookups with 30 s tokens")
			after, err := e.st.GetUser(t.Context(), "alice")
			require.NoError(t, err)
			require.NotEqual(t, before.Token, after.Token, "the refreshed token is stored")
		})
	})

	t.Run("InvalidGrantFallsThroughToNextUser", func(t *testing.T) {
		linkerTest(t, func(t *testing.T, b songIDBackend) {
			e := newLinkerEnv(t, b, nil)
			e.addUser(t, "alice", true)
			e.addUser(t, "bob", false)
			ids := []string{linkerID("g1"), linkerID("g2")}
			for _, id := range ids {
				e.addSpotifyTrack(id)
			}
			e.addUnlinked(t, ids...)

			res, err := e.linker(t, LinkerConfig{}).Run(t.Context())
			require.NoError(t, err)
			require.Equal(t, 2, res.Linked)
			for _, r := range e.srv.Requests() {
				if r.Route == linkerTracksRoute {
					require.Equal(t, "bob", r.UserID)
				}
			}
			require.Equal(t, 2, e.srv.CallCount(linkerTracksRoute))
		})
	})

	t.Run("TokenDiesMidRun", func(t *testing.T) {
		linkerTest(t, func(t *testing.T, b songIDBackend) {
			e := newLinkerEnv(t, b, nil)
			e.addUser(t, "alice", false)
			e.addUser(t, "bob", false)
			ids := []string{linkerID("m1"), linkerID("m2"), linkerID("m3")}
			for _, id := range ids {
				e.addSpotifyTrack(id)
			}
			e.addUnlinked(t, ids...)
			l := e.linker(t, LinkerConfig{Pace: time.Minute})
			done := make(chan *LinkResult, 1)
			go func() {
				res, err := l.Run(t.Context())
				if err != nil {
					t.Errorf("Run: %v", err)
				}
				done <- res
			}()
			synctest.Wait() // the first track is linked; the run paces
			e.srv.RevokeRefreshToken("alice")
			e.srv.ExpireAccessTokens("alice")
			res := <-done
			require.Equal(t, 3, res.Linked)
			var users []string
			for _, r := range e.srv.Requests() {
				if r.Route == linkerTracksRoute {
					users = append(users, r.UserID+" "+fmt.Sprint(r.Status))
				}
			}
			require.Equal(t, []string{"alice 200", "alice 401", "bob 200", "bob 200"}, users)
		})
	})

	t.Run("SkipsDisabledAndReauthUsers", func(t *testing.T) {
		linkerTest(t, func(t *testing.T, b songIDBackend) {
			e := newLinkerEnv(t, b, nil)
			e.addUser(t, "alice", false)
			e.addUser(t, "bob", false)
			e.addUser(t, "carol", false)
			_, err := e.st.UpdateUser(t.Context(), &store.UpdateUserParams{ID: "alice", Enabled: new(false), Now: time.Now()})
			require.NoError(t, err)
			_, err = e.st.UpdateUser(t.Context(), &store.UpdateUserParams{ID: "bob", NeedsReauth: new(true), Now: time.Now()})
			require.NoError(t, err)
			id := linkerID("u1")
			e.addSpotifyTrack(id)
			e.addUnlinked(t, id)

			res, err := e.linker(t, LinkerConfig{}).Run(t.Context())
			require.NoError(t, err)
			require.Equal(t, 1, res.Linked)
			for _, r := range e.srv.Requests() {
				require.Equal(t, "carol", r.UserID)
			}
		})
	})

	t.Run("NoUsableTokenIsFatal", func(t *testing.T) {
		linkerTest(t, func(t *testing.T, b songIDBackend) {
			e := newLinkerEnv(t, b, nil)
			e.addUser(t, "alice", true)
			id := linkerID("n1")
			e.addSpotifyTrack(id)
			e.addUnlinked(t, id)

			res, err := e.linker(t, LinkerConfig{}).Run(t.Context())
			require.ErrorIs(t, err, ErrLinkerNoToken)
			require.ErrorIs(t, err, spotifyhist.ErrReauthRequired, "the cause is kept")
			require.Equal(t, &LinkResult{Remaining: 1}, res)
			e.requireMetrics(t, map[string]int{"error": 1}, nil)
		})
	})

	t.Run("NoTokenNeededWhenNothingToDo", func(t *testing.T) {
		linkerTest(t, func(t *testing.T, b songIDBackend) {
			e := newLinkerEnv(t, b, nil)
			res, err := e.linker(t, LinkerConfig{}).Run(t.Context())
			require.NoError(t, err)
			require.Equal(t, &LinkResult{}, res)
		})
	})
}

func TestLinkerStopsWhenSpotifyIsDown(t *testing.T) {
	linkerTest(t, func(t *testing.T, b songIDBackend) {
		e := newLinkerEnv(t, b, nil)
		e.addUser(t, "alice", false)
		ids := []string{linkerID("f1"), linkerID("f2"), linkerID("f3"), linkerID("f4")}
		for _, id := range ids {
			e.addSpotifyTrack(id)
		}
		e.addUnlinked(t, ids...)
		e.srv.FailNext(linkerTracksRoute, spotifyhisttest.Fault{Status: 503, Times: -1})

		l := e.linker(t, LinkerConfig{})
		res, err := l.Run(t.Context())
		require.NoError(t, err)
		require.Equal(t, 3, res.Errors)
		require.Equal(t, 3, res.Processed)
		require.Equal(t, 4, res.Remaining, "transient failures are retried next run")
		require.True(t, strings.HasPrefix(res.Stopped, "spotify failing: 3 lookups in a row failed"), res.Stopped)
		e.requireMetrics(t, map[string]int{"stopped": 1}, map[string]int{"error": 3})

		e.srv.ClearFaults()
		res, err = l.Run(t.Context())
		require.NoError(t, err)
		require.Equal(t, 4, res.Linked)
		e.requireMetrics(t, map[string]int{"stopped": 1, "completed": 1}, map[string]int{"error": 3, "linked": 4})
	})
}

func TestLinkerDatabaseErrorIsFatal(t *testing.T) {
	linkerTest(t, func(t *testing.T, b songIDBackend) {
		e := newLinkerEnv(t, b, nil)
		l := e.linker(t, LinkerConfig{})
		require.NoError(t, e.st.Close())
		res, err := l.Run(t.Context())
		require.ErrorContains(t, err, "monitor: artist linker: list unlinked tracks")
		require.Equal(t, -1, res.Remaining)
		e.requireMetrics(t, map[string]int{"error": 1}, nil)
	})
}

func TestLinkerRejectsConcurrentRun(t *testing.T) {
	linkerTest(t, func(t *testing.T, b songIDBackend) {
		e := newLinkerEnv(t, b, nil)
		e.addUser(t, "alice", false)
		ids := []string{linkerID("c1"), linkerID("c2")}
		for _, id := range ids {
			e.addSpotifyTrack(id)
		}
		e.addUnlinked(t, ids...)
		l := e.linker(t, LinkerConfig{Pace: time.Hour})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			_, err := l.Run(ctx)
			done <- err
		}()
		synctest.Wait() // the first run sleeps between its two lookups
		_, err := l.Run(t.Context())
		require.ErrorIs(t, err, ErrLinkerRunning)
		cancel()
		require.ErrorIs(t, <-done, context.Canceled)
	})
}

func TestNewLinker(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  LinkerConfig
		want string
	}{
		{"NoStore", LinkerConfig{Clients: &Clients{}}, "Store is required"},
		{"NoClients", LinkerConfig{Store: storeNilForTest()}, "Clients is required"},
		{"NegativeWait", LinkerConfig{Store: storeNilForTest(), Clients: &Clients{}, MaxWait: -time.Second}, "MaxWait must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewLinker(tc.cfg)
			require.ErrorContains(t, err, tc.want)
		})
	}

	t.Run("DefaultsAndMetrics", func(t *testing.T) {
		t.Parallel()
		reg := prometheus.NewPedanticRegistry()
		l, err := NewLinker(LinkerConfig{Store: storeNilForTest(), Clients: &Clients{}, Registerer: reg})
		require.NoError(t, err)
		require.Equal(t, LinkerMaxWaitDefault, l.cfg.MaxWait)
		require.Equal(t, LinkerBatchSizeDefault, l.cfg.BatchSize)
		require.Equal(t, LinkerPaceDefault, l.cfg.Pace)
		problems, err := testutil.GatherAndLint(reg)
		require.NoError(t, err)
		require.Empty(t, problems)
		_, err = NewLinker(LinkerConfig{Store: storeNilForTest(), Clients: &Clients{}, Registerer: reg})
		require.ErrorContains(t, err, "monitor: artist linker: metrics", "registering twice on one registry")
	})
}

// storeNilForTest is a typed nil store for config tests that never call it.
func storeNilForTest() LinkerStore { return (*sqlite.Store)(nil) }

func TestLinkResultJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(&LinkResult{Processed: 3, Linked: 1, Failed: 1, Errors: 1, Remaining: 7, Duration: 1500 * time.Millisecond})
	require.NoError(t, err)
	require.JSONEq(t, `{"processed":3,"linked":1,"failed":1,"errors":1,"remaining":7,"duration_seconds":1.5}`, string(b))

	until := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b, err = json.Marshal(LinkResult{Stopped: "rate limited until 2026-01-02T03:04:05Z", BlockedUntil: until})
	require.NoError(t, err)
	require.JSONEq(t, `{"processed":0,"linked":0,"failed":0,"errors":0,"remaining":0,
		"stopped":"rate limited until 2026-01-02T03:04:05Z","blocked_until":"2026-01-02T03:04:05Z","duration_seconds":0}`, string(b))
}
