package spotifyhist_test

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/spotifyhist/spotifyhisttest"
)

const (
	testUser        = "alice"
	testRedirectURL = "http://127.0.0.1:8080/auth/callback"
)

// testBundle is a fake Spotify, an App wired to it, and one user's Client.
type testBundle struct {
	srv    *spotifyhisttest.Server
	app    *spotifyhist.App
	reg    *prometheus.Registry
	client *spotifyhist.Client
	tok    *spotifyhist.Token
	store  *tokenStore
}

type setupOpts struct {
	server  *spotifyhisttest.Options
	config  func(*spotifyhist.Config)
	persist func(context.Context, *spotifyhist.Token) error
}

// tokenStore records persisted tokens.
type tokenStore struct {
	mu     sync.Mutex
	tokens []*spotifyhist.Token
	fail   error
}

func (s *tokenStore) persist(_ context.Context, tok *spotifyhist.Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.tokens = append(s.tokens, tok)
	return nil
}

func (s *tokenStore) all() []*spotifyhist.Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*spotifyhist.Token(nil), s.tokens...)
}

func (s *tokenStore) setFail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

// setup builds a testBundle reaching the fake in process (no sockets), so it also works in
// synctest bubbles, where the fake and the App both read the bubble's clock.
func setup(t *testing.T, o *setupOpts) *testBundle {
	t.Helper()
	if o == nil {
		o = &setupOpts{}
	}
	sopts := spotifyhisttest.Options{}
	if o.server != nil {
		sopts = *o.server
	}
	if sopts.BaseURL == "" {
		sopts.BaseURL = spotifyhisttest.InProcessURL
	}
	srv := spotifyhisttest.NewServer(t, &sopts)
	reg := prometheus.NewPedanticRegistry()
	cfg := spotifyhist.Config{
		ClientID:     srv.ClientID(),
		ClientSecret: srv.ClientSecret(),
		RedirectURL:  testRedirectURL,
		APIURL:       srv.APIURL(),
		AccountsURL:  srv.AccountsURL(),
		HTTPClient:   &http.Client{Transport: srv.Transport()},
		Registerer:   reg,
		Logger:       slog.New(slog.DiscardHandler),
		Test:         spotifyhist.TestConfig{DisableJitter: true},
	}
	if o.config != nil {
		o.config(&cfg)
	}
	app, err := spotifyhist.New(cfg)
	require.NoError(t, err)

	srv.AddUser(spotifyhisttest.User{ID: testUser, DisplayName: "Alice"})
	tok := fromFake(srv.IssueToken(testUser), time.Now())
	store := &tokenStore{}
	persist := o.persist
	if persist == nil {
		persist = store.persist
	}
	return &testBundle{srv: srv, app: app, reg: reg, client: app.Client(tok, persist), tok: tok, store: store}
}

func fromFake(ft spotifyhisttest.Token, authorizedAt time.Time) *spotifyhist.Token {
	return &spotifyhist.Token{
		AccessToken:  ft.AccessToken,
		RefreshToken: ft.RefreshToken,
		TokenType:    ft.TokenType,
		Expiry:       ft.Expiry,
		Scope:        ft.Scope,
		AuthorizedAt: authorizedAt,
	}
}

// routes returns the route of every request the fake received, in order.
func routes(srv *spotifyhisttest.Server) []string {
	var out []string
	for _, r := range srv.Requests() {
		out = append(out, r.Route)
	}
	return out
}

func track(id, name string) spotifyhisttest.Track {
	return spotifyhisttest.Track{
		ID:         id,
		Name:       name,
		DurationMS: 200_000,
		ISRC:       "USRC1" + id[:7],
		Album:      spotifyhisttest.Album{ID: "alb" + id[3:], Name: "Album of " + name},
		Artists:    []spotifyhisttest.Artist{{ID: "art" + id[3:], Name: "Artist of " + name}},
	}
}

// trackID makes a valid 22-character base-62 ID from n.
func trackID(n int) string {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b := []byte("trk0000000000000000000")
	for i := len(b) - 1; n > 0 && i >= 3; i-- {
		b[i] = digits[n%62]
		n /= 62
	}
	return string(b)
}

// metricValue gathers b's registry and returns the value of the counter or gauge name with
// the given label pairs (0 when no such series exists yet).
func metricValue(t *testing.T, b *testBundle, name string, labelPairs ...string) float64 {
	t.Helper()
	mfs, err := b.reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labelPairs); i += 2 {
				if got[labelPairs[i]] != labelPairs[i+1] {
					continue series
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

// seriesCount returns how many series the metric family name has.
func seriesCount(t *testing.T, b *testBundle, name string) int {
	t.Helper()
	mfs, err := b.reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			return len(mf.GetMetric())
		}
	}
	return 0
}
