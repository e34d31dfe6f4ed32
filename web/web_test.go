package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/monitor"
	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/spotifyhist/spotifyhisttest"
	"github.com/spotifyhist/spotifyhist/store"
	"github.com/spotifyhist/spotifyhist/store/sqlite"
)

// harness is a real web.Server on a real SQLite store, served over HTTP,
// with the fake Spotify behind it unless local is set.
type harness struct {
	t      *testing.T
	fake   *spotifyhisttest.Server
	store  *sqlite.Store
	sealer *spotifyhist.Sealer
	web    *Server
	srv    *httptest.Server
	upload string
}

func newHarness(t *testing.T, local bool) *harness {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	quiet := slog.New(slog.DiscardHandler)
	st, err := sqlite.New(ctx, sqlite.Config{Path: filepath.Join(dir, "db.sqlite"), Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	sealer, err := spotifyhist.NewSealer(spotifyhist.DeriveKey("test secret"))
	require.NoError(t, err)
	importer, err := monitor.NewImporter(monitor.ImporterConfig{Store: st, Logger: quiet})
	require.NoError(t, err)

	h := &harness{t: t, store: st, sealer: sealer, upload: filepath.Join(dir, "uploads")}
	// The server's URL is only known once it listens; the handler is set after.
	var handler http.Handler = http.NotFoundHandler()
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(h.srv.Close)
	cfg := Config{
		Store: st, Sealer: sealer, Importer: importer, BaseURL: h.srv.URL,
		UploadDir: h.upload, MaxUploadBytes: 1 << 20, PublicStats: true, Logger: quiet,
	}
	if !local {
		h.fake = spotifyhisttest.NewServer(t, nil)
		app, err := spotifyhist.New(spotifyhist.Config{
			ClientID: h.fake.ClientID(), ClientSecret: h.fake.ClientSecret(),
			APIURL: h.fake.APIURL(), AccountsURL: h.fake.AccountsURL(),
			RedirectURL: h.srv.URL + "/auth/callback", Logger: quiet,
		})
		require.NoError(t, err)
		cfg.App = app
		cfg.Clients = monitor.NewClients(app, sealer, st, time.Now)
	}
	h.web, err = New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { h.web.Close() })
	handler = h.web
	return h
}

// browser is an HTTP client with its own cookie jar that does not follow
// redirects, so tests see each hop.
type browser struct {
	t    *testing.T
	h    *harness
	c    *http.Client
	csrf string
}

func (h *harness) browser() *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(h.t, err)
	return &browser{t: h.t, h: h, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (b *browser) do(method, target string, body io.Reader, header map[string]string) *http.Response {
	b.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = b.h.srv.URL + target
	}
	req, err := http.NewRequest(method, target, body)
	require.NoError(b.t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := b.c.Do(req)
	require.NoError(b.t, err)
	b.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (b *browser) get(target string) *http.Response { return b.do(http.MethodGet, target, nil, nil) }

// send makes a state-changing API call with the CSRF token.
func (b *browser) send(method, path string, body any) *http.Response {
	b.t.Helper()
	var r io.Reader
	hdr := map[string]string{csrfHeader: b.csrf}
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(b.t, err)
		r = bytes.NewReader(raw)
		hdr["Content-Type"] = "application/json"
	}
	return b.do(method, path, r, hdr)
}

func decode[T any](t *testing.T, resp *http.Response) T {
	t.Helper()
	var v T
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
	return v
}

// me loads /api/v1/me and remembers the CSRF token.
func (b *browser) me() meJSON {
	b.t.Helper()
	resp := b.get("/api/v1/me")
	require.Equal(b.t, http.StatusOK, resp.StatusCode)
	m := decode[meJSON](b.t, resp)
	b.csrf = m.CSRFToken
	return m
}

// login runs the whole OAuth flow through the fake's /authorize.
func (b *browser) login(userID string) {
	b.t.Helper()
	b.h.fake.AddUser(spotifyhisttest.User{ID: userID, DisplayName: "User " + userID})
	b.h.fake.AuthorizeUser(userID)
	resp := b.get("/login")
	require.Equal(b.t, http.StatusFound, resp.StatusCode)
	authURL := resp.Header.Get("Location")
	u, err := url.Parse(authURL)
	require.NoError(b.t, err)
	q := u.Query()
	require.Equal(b.t, "S256", q.Get("code_challenge_method"))
	require.NotEmpty(b.t, q.Get("state"))
	require.Equal(b.t, b.h.srv.URL+"/auth/callback", q.Get("redirect_uri"))

	resp = b.get(authURL)
	require.Equal(b.t, http.StatusFound, resp.StatusCode, "fake authorize")
	callback := resp.Header.Get("Location")
	resp = b.get(callback)
	require.Equal(b.t, http.StatusSeeOther, resp.StatusCode, "callback")
	require.Equal(b.t, "/me", resp.Header.Get("Location"))
	require.Equal(b.t, userID, b.me().User.ID)
}

func TestLoginFlow(t *testing.T) {
	t.Parallel()
	h := newHarness(t, false)
	b := h.browser()
	b.login("alice")

	var session *http.Cookie
	for _, c := range b.c.Jar.Cookies(mustURL(t, h.srv.URL)) {
		if c.Name == sessionCookie {
			session = c
		}
	}
	require.NotNil(t, session, "session cookie set")

	u, err := h.store.GetUser(context.Background(), "alice")
	require.NoError(t, err)
	require.NotEmpty(t, u.Token, "token stored")
	tok, err := h.sealer.OpenToken(u.Token)
	require.NoError(t, err, "token sealed with the configured key")
	require.False(t, bytes.Contains(u.Token, []byte(tok.AccessToken)), "token not stored in plaintext")
	require.False(t, u.AuthorizedAt.IsZero())

	// Logout ends the session.
	resp := b.send(http.MethodPost, "/logout", nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, http.StatusUnauthorized, b.get("/api/v1/me").StatusCode)
}

func TestLoginCookieFlags(t *testing.T) {
	t.Parallel()
	h := newHarness(t, false)
	h.fake.AddUser(spotifyhisttest.User{ID: "carol"})
	b := h.browser()
	resp := b.get("/login")
	var found bool
	for _, c := range resp.Cookies() {
		if c.Name == oauthCookie {
			found = true
			require.True(t, c.HttpOnly)
			require.Equal(t, http.SameSiteLaxMode, c.SameSite)
		}
	}
	require.True(t, found, "login sets the sealed state cookie")
}

func TestCallbackRejectsBadState(t *testing.T) {
	t.Parallel()
	h := newHarness(t, false)
	h.fake.AddUser(spotifyhisttest.User{ID: "bob"})
	h.fake.AuthorizeUser("bob")

	t.Run("Mismatched", func(t *testing.T) {
		b := h.browser()
		resp := b.get("/login")
		resp = b.get(resp.Header.Get("Location"))
		cb, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		q := cb.Query()
		q.Set("state", "forged")
		cb.RawQuery = q.Encode()
		resp = b.get(cb.String())
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		require.Equal(t, http.StatusUnauthorized, b.get("/api/v1/me").StatusCode)
	})
	t.Run("NoCookie", func(t *testing.T) {
		// The state was started by another browser: login CSRF.
		attacker := h.browser()
		resp := attacker.get("/login")
		resp = attacker.get(resp.Header.Get("Location"))
		victim := h.browser()
		resp = victim.get(resp.Header.Get("Location"))
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	})
	t.Run("Replayed", func(t *testing.T) {
		b := h.browser()
		resp := b.get("/login")
		resp = b.get(resp.Header.Get("Location"))
		callback := resp.Header.Get("Location")
		require.Equal(t, http.StatusSeeOther, b.get(callback).StatusCode)
		require.Equal(t, http.StatusBadRequest, b.get(callback).StatusCode, "a state is single-use")
	})
	t.Run("Denied", func(t *testing.T) {
		b := h.browser()
		resp := b.get("/login")
		u, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		st := u.Query().Get("state")
		resp = b.get("/auth/callback?error=access_denied&state=" + url.QueryEscape(st))
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
	})
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	h := newHarness(t, true)
	b := h.browser()
	b.me()
	for _, tc := range []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"MissingToken", map[string]string{}, http.StatusForbidden},
		{"WrongToken", map[string]string{csrfHeader: "nope"}, http.StatusForbidden},
		{"CrossSite", map[string]string{csrfHeader: b.csrf, "Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"ForeignOrigin", map[string]string{csrfHeader: b.csrf, "Origin": "https://evil.example"}, http.StatusForbidden},
		{"Valid", map[string]string{csrfHeader: b.csrf, "Sec-Fetch-Site": "same-origin"}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := b.do(http.MethodPost, "/api/v1/me/stop", nil, tc.header)
			require.Equal(t, tc.want, resp.StatusCode)
		})
	}
	// State changes never by GET.
	require.Equal(t, http.StatusNotFound, b.get("/api/v1/me/stop").StatusCode)
	require.Equal(t, http.StatusMethodNotAllowed, b.get("/logout").StatusCode)
}

func insertPlays(t *testing.T, st store.Store, userID string, names ...string) {
	t.Helper()
	var in []store.PlayInput
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for i, n := range names {
		in = append(in, store.PlayInput{
			Track: store.Track{
				ID: fmt.Sprintf("%020x%02d", crc32.ChecksumIEEE([]byte(n)), i), Name: n, DurationMS: 200000, Linked: true,
				Album:   store.Album{ID: "album" + n, Name: "Album " + n},
				Artists: []store.Artist{{ID: "artist" + n, Name: "Artist " + n}},
			},
			PlayedAt: base.Add(time.Duration(i) * 4 * time.Minute), MSPlayed: 190000, Source: store.SourceHistory,
		})
	}
	_, err := st.InsertPlays(context.Background(), &store.InsertPlaysParams{UserID: userID, Plays: in})
	require.NoError(t, err)
}

func TestUsersNeverSeeEachOther(t *testing.T) {
	t.Parallel()
	h := newHarness(t, false)
	alice, bob := h.browser(), h.browser()
	alice.login("alice")
	bob.login("bob")
	insertPlays(t, h.store, "alice", "Alice Song")
	insertPlays(t, h.store, "bob", "Bob Song")

	for _, path := range []string{
		"/api/v1/me", "/api/v1/me/history", "/api/v1/me/stats/totals", "/api/v1/me/stats/top",
		"/api/v1/me/stats/top?kind=artists", "/api/v1/me/stats/top?kind=albums", "/api/v1/me/stats/over-time",
		"/api/v1/me/stats/years", "/api/v1/me/playlists", "/api/v1/me/imports",
	} {
		resp := alice.get(path)
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.NotContains(t, string(body), "Bob", path)
		require.NotContains(t, string(body), `"bob"`, path)
	}
	hist := decode[historyJSON](t, alice.get("/api/v1/me/history"))
	require.Len(t, hist.Items, 1)
	require.Equal(t, "Alice Song", hist.Items[0].Track.Name)
}

func TestDeletedUserSessionDies(t *testing.T) {
	t.Parallel()
	h := newHarness(t, false)
	b, other := h.browser(), h.browser()
	b.login("dave")
	other.login("erin")
	insertPlays(t, h.store, "dave", "Song")
	insertPlays(t, h.store, "erin", "Song")

	resp := b.send(http.MethodDelete, "/api/v1/me", nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Equal(t, http.StatusUnauthorized, b.get("/api/v1/me").StatusCode)
	_, err := h.store.GetUser(context.Background(), "dave")
	require.ErrorIs(t, err, store.ErrNotFound)
	// The other user keeps everything.
	require.Len(t, decode[historyJSON](t, other.get("/api/v1/me/history")).Items, 1)
}

func TestModeStartStop(t *testing.T) {
	t.Parallel()
	h := newHarness(t, true)
	b := h.browser()
	b.me()
	resp := b.send(http.MethodPut, "/api/v1/me/mode", map[string]string{"mode": "adaptive"})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, store.ModeAdaptive, decode[userJSON](t, resp).Mode)
	resp = b.send(http.MethodPost, "/api/v1/me/stop", nil)
	require.False(t, decode[userJSON](t, resp).Enabled)
	resp = b.send(http.MethodPost, "/api/v1/me/start", nil)
	require.True(t, decode[userJSON](t, resp).Enabled)
}

func TestHistoryPaging(t *testing.T) {
	t.Parallel()
	h := newHarness(t, true)
	b := h.browser()
	me := b.me()
	names := make([]string, 7)
	for i := range names {
		names[i] = fmt.Sprintf("Song %d", i)
	}
	insertPlays(t, h.store, me.User.ID, names...)
	var seen []string
	next := ""
	for range 10 {
		path := "/api/v1/me/history?limit=3"
		if next != "" {
			path += "&cursor=" + url.QueryEscape(next)
		}
		page := decode[historyJSON](t, b.get(path))
		for _, it := range page.Items {
			seen = append(seen, it.Track.Name)
		}
		if page.Next == nil {
			break
		}
		next = *page.Next
	}
	require.Equal(t, []string{"Song 6", "Song 5", "Song 4", "Song 3", "Song 2", "Song 1", "Song 0"}, seen)
}

func TestBadInputs(t *testing.T) {
	t.Parallel()
	h := newHarness(t, true)
	b := h.browser()
	b.me()
	hdr := func(ct string) map[string]string { return map[string]string{csrfHeader: b.csrf, "Content-Type": ct} }
	for _, tc := range []struct {
		name, method, path, ct, body string
		want                         int
	}{
		{"ModeUnknown", http.MethodPut, "/api/v1/me/mode", "application/json", `{"mode":"turbo"}`, http.StatusBadRequest},
		{"ModeMalformed", http.MethodPut, "/api/v1/me/mode", "application/json", `{"mode":`, http.StatusBadRequest},
		{"ModeExtraField", http.MethodPut, "/api/v1/me/mode", "application/json", `{"mode":"history","x":1}`, http.StatusBadRequest},
		{"ModeWrongType", http.MethodPut, "/api/v1/me/mode", "text/plain", `history`, http.StatusUnsupportedMediaType},
		{"ModeHuge", http.MethodPut, "/api/v1/me/mode", "application/json", `{"mode":"` + strings.Repeat("a", 40000) + `"}`, http.StatusRequestEntityTooLarge},
		{"BadTZ", http.MethodGet, "/api/v1/me/stats/totals?tz=Mars/Base", "", "", http.StatusBadRequest},
		{"BadRange", http.MethodGet, "/api/v1/me/stats/top?range=forever", "", "", http.StatusBadRequest},
		{"BadKind", http.MethodGet, "/api/v1/me/stats/top?kind=genres", "", "", http.StatusBadRequest},
		{"BadBucket", http.MethodGet, "/api/v1/me/stats/over-time?bucket=hour", "", "", http.StatusBadRequest},
		{"BadFrom", http.MethodGet, "/api/v1/me/stats/totals?from=yesterday", "", "", http.StatusBadRequest},
		{"FromAfterTo", http.MethodGet, "/api/v1/me/stats/totals?from=2025-02-01&to=2025-01-01", "", "", http.StatusBadRequest},
		{"BadLimit", http.MethodGet, "/api/v1/me/history?limit=100000", "", "", http.StatusBadRequest},
		{"BadCursor", http.MethodGet, "/api/v1/me/history?cursor=bm90LWEtY3Vyc29y", "", "", http.StatusBadRequest},
		{"NotAnExport", http.MethodPost, "/api/v1/me/imports?name=x.zip", "application/zip", "this is not a zip", http.StatusUnprocessableEntity},
		{"EmptyUpload", http.MethodPost, "/api/v1/me/imports", "application/zip", "", http.StatusBadRequest},
		{"OversizedUpload", http.MethodPost, "/api/v1/me/imports", "application/zip", strings.Repeat("x", 2<<20), http.StatusRequestEntityTooLarge},
		{"UnknownImport", http.MethodPost, "/api/v1/me/imports/nope/execute", "", "", http.StatusNotFound},
		{"UnknownEndpoint", http.MethodGet, "/api/v1/nothing", "", "", http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			resp := b.do(tc.method, tc.path, body, hdr(tc.ct))
			require.Equal(t, tc.want, resp.StatusCode)
			e := decode[apiError](t, resp)
			require.Equal(t, tc.want, e.Error.Status)
			require.NotEmpty(t, e.Error.Message)
		})
	}
	// Nothing was written: no plays, no import, no upload left behind.
	tot, err := h.store.Totals(context.Background(), &store.StatsFilter{UserID: LocalUserIDDefault})
	require.NoError(t, err)
	require.Zero(t, tot.Plays)
	entries, _ := os.ReadDir(h.upload)
	require.Empty(t, entries, "rejected uploads are removed")
	u, err := h.store.GetUser(context.Background(), LocalUserIDDefault)
	require.NoError(t, err)
	require.Equal(t, store.ModeDefault, u.Mode)
}

func exportZip(t *testing.T, rows int) []byte {
	t.Helper()
	var entries []map[string]any
	base := time.Date(2024, 6, 1, 8, 0, 0, 0, time.UTC)
	for i := range rows {
		entries = append(entries, map[string]any{
			"ts": base.Add(time.Duration(i) * 5 * time.Minute).Format(time.RFC3339), "platform": "linux",
			"ms_played": 200000, "conn_country": "DE",
			"master_metadata_track_name":        fmt.Sprintf("Track %d", i%7),
			"master_metadata_album_artist_name": "Artist", "master_metadata_album_album_name": "Album",
			"spotify_track_uri": fmt.Sprintf("spotify:track:%022d", i%7),
			"reason_start":      "trackdone", "reason_end": "trackdone", "shuffle": false, "skipped": false,
			"offline": false, "incognito_mode": false,
		})
	}
	entries = append(entries, map[string]any{"ts": base.Format(time.RFC3339), "ms_played": 1000, "master_metadata_track_name": "Short",
		"spotify_track_uri": "spotify:track:0000000000000000000001", "incognito_mode": false})
	raw, err := json.Marshal(entries)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, spotifyhisttest.WriteExportZip(&buf, map[string][]byte{
		"Spotify Extended Streaming History/Streaming_History_Audio_2024_0.json": raw,
	}))
	return buf.Bytes()
}

func TestImportRoundTrip(t *testing.T) {
	t.Parallel()
	h := newHarness(t, true)
	b := h.browser()
	b.me()
	zip := exportZip(t, 40)
	resp := b.do(http.MethodPost, "/api/v1/me/imports?name=my_spotify_data.zip", bytes.NewReader(zip),
		map[string]string{csrfHeader: b.csrf, "Content-Type": "application/zip"})
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	job := decode[importJobJSON](t, resp)
	require.Equal(t, jobAnalysed, job.State)
	require.Equal(t, 41, job.Analysis.Total)
	require.Equal(t, 40, job.Analysis.ToImport)

	resp = b.send(http.MethodPost, "/api/v1/me/imports/"+job.ID+"/execute", nil)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	require.Eventually(t, func() bool {
		j := decode[importJobJSON](t, b.get("/api/v1/me/imports/"+job.ID))
		return j.State == jobDone
	}, 10*time.Second, 20*time.Millisecond)
	list := decode[struct{ Items []importJobJSON }](t, b.get("/api/v1/me/imports"))
	require.Len(t, list.Items, 1)
	require.Equal(t, 40, list.Items[0].Imported)
	tot := decode[totalsJSON](t, b.get("/api/v1/me/stats/totals"))
	require.Equal(t, 40, tot.Plays)
	require.Equal(t, http.StatusConflict, b.send(http.MethodPost, "/api/v1/me/imports/"+job.ID+"/execute", nil).StatusCode, "a finished import does not run twice")

	// Another user never sees the job.
	require.Nil(t, h.web.imports.get("someone-else", job.ID))
}

func TestPublicStatsSwitch(t *testing.T) {
	t.Parallel()
	h := newHarness(t, true)
	b := h.browser()
	b.me()
	insertPlays(t, h.store, "local", "A", "B")
	tot := decode[totalsJSON](t, b.get("/api/v1/stats/totals"))
	require.Equal(t, 2, tot.Plays)
	h.web.cfg.PublicStats = false
	require.Equal(t, http.StatusNotFound, b.get("/api/v1/stats/totals").StatusCode)
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	h := newHarness(t, true)
	resp := h.browser().get("/api/v1/openapi.json")
	require.Contains(t, resp.Header.Get("Content-Security-Policy"), "script-src 'self'")
	require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	require.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"))
}

// TestOpenAPIMatchesRoutes holds the OpenAPI document against the routes
// the server really registers, both ways.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, true)
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(openAPIDoc, &doc))
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	registered := map[string]bool{}
	for _, p := range h.web.patterns {
		method, path, ok := strings.Cut(p, " ")
		if !ok || !strings.HasPrefix(path, "/api/v1/") {
			continue
		}
		registered[method+" "+path] = true
	}
	for op := range registered {
		require.True(t, documented[op], "route %s is not in openapi.json", op)
	}
	for op := range documented {
		require.True(t, registered[op], "openapi.json documents %s, which is not routed", op)
	}
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u
}
