package spotifyhisttest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/spotifyhist/spotifyhisttest"
)

// clock is a manual clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

var t0 = time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)

type testBundle struct {
	srv   *spotifyhisttest.Server
	clock *clock
	token string
}

// setup returns an in-process server with a manual clock and a token for
// user "alice".
func setup(t *testing.T, opts *spotifyhisttest.Options) *testBundle {
	t.Helper()
	c := newClock(t0)
	var o spotifyhisttest.Options
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = c.Now
	}
	if o.BaseURL == "" {
		o.BaseURL = spotifyhisttest.InProcessURL
	}
	srv := spotifyhisttest.NewServer(t, &o)
	srv.AddUser(spotifyhisttest.User{ID: "alice", DisplayName: "Alice"})
	tok := srv.IssueToken("alice")
	return &testBundle{srv: srv, clock: c, token: tok.AccessToken}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body as generic JSON.
func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), "body: %s", r.body)
	return m
}

// get requests pathOrURL (relative to the server, or absolute) with a bearer token.
func get(t *testing.T, srv *spotifyhisttest.Server, token, pathOrURL string) response {
	t.Helper()
	u := pathOrURL
	if strings.HasPrefix(u, "/") {
		u = srv.URL() + u
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(t, srv, req)
}

func do(t *testing.T, srv *spotifyhisttest.Server, req *http.Request) response {
	t.Helper()
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func postForm(t *testing.T, srv *spotifyhisttest.Server, form url.Values, basic bool) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.TokenURL(), strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(srv.ClientID(), srv.ClientSecret())
	}
	return do(t, srv, req)
}

// apiError extracts {"error":{"status","message"}}.
func apiError(t *testing.T, r response) (int, string) {
	t.Helper()
	e, ok := r.json(t)["error"].(map[string]any)
	require.True(t, ok, "no error object in %s", r.body)
	return int(e["status"].(float64)), e["message"].(string)
}

func items(t *testing.T, m map[string]any) []map[string]any {
	t.Helper()
	raw, ok := m["items"].([]any)
	require.True(t, ok, "items is %T", m["items"])
	out := make([]map[string]any, len(raw))
	for i, x := range raw {
		out[i] = x.(map[string]any)
	}
	return out
}

func obj(t *testing.T, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	require.True(t, ok, "not an object: %T %v", v, v)
	return m
}
