package web

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
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
			require.Equal(t, "/auth/", c.Path)
			require.Equal(t, int(oauthTTL/time.Second), c.MaxAge)
			require.False(t, c.Secure, "plain http base URL")
		}
	}
	require.True(t, found, "login sets the sealed state cookie")
}

// TestCookiesSecureBehindTLS checks the flags of both cookies when the base
// URL is https.
func TestCookiesSecureBehindTLS(t *testing.T) {
	t.Parallel()
	h := newHarness(t, true)
	srv, err := New(Config{Store: h.store, Sealer: h.sealer, BaseURL: "https://music.example", Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://music.example/api/v1/me", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	cookies := rec.Result().Cookies()
	require.Len(t, cookies, 1)
	require.Equal(t, sessionCookie, cookies[0].Name)
	require.True(t, cookies[0].Secure)
	require.True(t, cookies[0].HttpOnly)
	require.Equal(t, http.SameSiteLaxMode, cookies[0].SameSite)
	require.Contains(t, rec.Header().Get("Strict-Transport-Security"), "max-age=")
	require.True(t, srv.oauthCookie("x", 1).Secure)
}

// sealState seals login state as /login does.
func sealState(t *testing.T, sealer *spotifyhist.Sealer, st oauthState) string {
	t.Helper()
	plain, err := json.Marshal(st)
	require.NoError(t, err)
	sealed, err := sealer.Seal(plain)
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(sealed)
}

// setOAuthCookie puts a login-state cookie into the browser's jar.
func (b *browser) setOAuthCookie(value string) {
	b.c.Jar.SetCookies(mustURL(b.t, b.h.srv.URL+"/auth/callback"), []*http.Cookie{{Name: oauthCookie, Value: value, Path: "/auth/"}})
}

// startLogin runs /login and the fake's /authorize in b and returns the
// callback URL and the login-state cookie's value, without finishing.
func (b *browser) startLogin() (callback, cookie string) {
	b.t.Helper()
	resp := b.get("/login")
	require.Equal(b.t, http.StatusFound, resp.StatusCode)
	for _, c := range resp.Cookies() {
		if c.Name == oauthCookie {
			cookie = c.Value
		}
	}
	require.NotEmpty(b.t, cookie)
	resp = b.get(resp.Header.Get("Location"))
	require.Equal(b.t, http.StatusFound, resp.StatusCode, "fake authorize")
	return resp.Header.Get("Location"), cookie
}

func TestCallbackRejectsBadState(t *testing.T) {
	t.Parallel()
	h := newHarness(t, false)
	h.fake.AddUser(spotifyhisttest.User{ID: "bob"})
	h.fake.AuthorizeUser("bob")
	stateOf := func(t *testing.T, callback string) string {
		u, err := url.Parse(callback)
		require.NoError(t, err)
		return u.Query().Get("state")
	}
	rejected := func(t *testing.T, b *browser, callback string) {
		t.Helper()
		resp := b.get(callback)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		require.Empty(t, sessionCookies(resp), "no session for a rejected login")
		require.Equal(t, http.StatusUnauthorized, b.get("/api/v1/me").StatusCode)
	}

	t.Run("Mismatched", func(t *testing.T) {
		b := h.browser()
		callback, _ := b.startLogin()
		cb := mustURL(t, callback)
		q := cb.Query()
		q.Set("state", "forged")
		cb.RawQuery = q.Encode()
		rejected(t, b, cb.String())
	})
	t.Run("MissingState", func(t *testing.T) {
		b := h.browser()
		callback, _ := b.startLogin()
		cb := mustURL(t, callback)
		q := cb.Query()
		q.Del("state")
		cb.RawQuery = q.Encode()
		rejected(t, b, cb.String())
	})
	t.Run("NoCookie", func(t *testing.T) {
		// The state was started by another browser: login CSRF.
		callback, _ := h.browser().startLogin()
		rejected(t, h.browser(), callback)
	})
	t.Run("Replayed", func(t *testing.T) {
		b := h.browser()
		callback, _ := b.startLogin()
		require.Equal(t, http.StatusSeeOther, b.get(callback).StatusCode)
		require.Equal(t, http.StatusBadRequest, b.get(callback).StatusCode, "a state is single-use")
	})
	t.Run("CookieReplayedInAnotherBrowser", func(t *testing.T) {
		// The victim logs in; whoever copied the cookie and the callback
		// URL cannot use them again, even with a jar of their own.
		victim := h.browser()
		callback, cookie := victim.startLogin()
		require.Equal(t, http.StatusSeeOther, victim.get(callback).StatusCode)
		attacker := h.browser()
		attacker.setOAuthCookie(cookie)
		rejected(t, attacker, callback)
	})
	t.Run("CookieForged", func(t *testing.T) {
		b := h.browser()
		callback, cookie := b.startLogin()
		raw, err := base64.RawURLEncoding.DecodeString(cookie)
		require.NoError(t, err)
		raw[len(raw)-1] ^= 1
		b.setOAuthCookie(base64.RawURLEncoding.EncodeToString(raw))
		rejected(t, b, callback)
	})
	t.Run("CookieSealedWithAnotherKey", func(t *testing.T) {
		b := h.browser()
		callback, _ := b.startLogin()
		other, err := spotifyhist.NewSealer(spotifyhist.DeriveKey("another secret"))
		require.NoError(t, err)
		b.setOAuthCookie(sealState(t, other, oauthState{Purpose: oauthPurpose, State: stateOf(t, callback), Verifier: strings.Repeat("v", 43), Expires: time.Now().Add(time.Minute)}))
		rejected(t, b, callback)
	})
	t.Run("CookieExpired", func(t *testing.T) {
		b := h.browser()
		callback, _ := b.startLogin()
		b.setOAuthCookie(sealState(t, h.sealer, oauthState{Purpose: oauthPurpose, State: stateOf(t, callback), Verifier: strings.Repeat("v", 43), Expires: time.Now().Add(-time.Second)}))
		rejected(t, b, callback)
	})
	t.Run("SealedValueOfAnotherKind", func(t *testing.T) {
		// Anything else the key seals (stored tokens) is no login state.
		b := h.browser()
		callback, _ := b.startLogin()
		b.setOAuthCookie(sealState(t, h.sealer, oauthState{State: stateOf(t, callback), Verifier: strings.Repeat("v", 43), Expires: time.Now().Add(time.Minute)}))
		rejected(t, b, callback)
	})
	t.Run("Denied", func(t *testing.T) {
		b := h.browser()
		resp := b.get("/login")
		st := stateOf(t, resp.Header.Get("Location"))
		resp = b.get("/auth/callback?error=access_denied&state=" + url.QueryEscape(st))
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Contains(t, string(body), "declined")
	})
	t.Run("ErrorNotEchoed", func(t *testing.T) {
		b := h.browser()
		resp := b.get("/login")
		st := stateOf(t, resp.Header.Get("Location"))
		resp = b.get("/auth/callback?error=" + url.QueryEscape("Call +1-555 to restore your account") + "&state=" + url.QueryEscape(st))
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.NotContains(t, string(body), "555", "the error parameter is not shown to the user")
	})
}

func sessionCookies(resp *http.Response) []*http.Cookie {
	var out []*http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie && c.Value != "" {
			out = append(out, c)
		}
	}
	return out
}

// sessionValue returns the browser's session cookie value.
func (b *browser) sessionValue() string {
	b.t.Helper()
	for _, c := range b.c.Jar.Cookies(mustURL(b.t, b.h.srv.URL)) {
		if c.Name == sessionCookie {
			return c.Value
		}
	}
	b.t.Fatal("no session cookie")
	return ""
}

// withSession returns a new browser that carries the given session cookie.
func (h *harness) withSession(value string) *browser {
	b := h.browser()
	b.c.Jar.SetCookies(mustURL(h.t, h.srv.URL), []*http.Cookie{{Name: sessionCookie, Value: value, Path: "/"}})
	return b
}

func TestLogoutRevokesStolenCookie(t *testing.T) {
	t.Parallel()
	h := newHarness(t, false)
	b := h.browser()
	b.login("frank")
	stolen := b.sessionValue()
	thief := h.withSession(stolen)
	require.Equal(t, http.StatusOK, thief.get("/api/v1/me").StatusCode, "a copied cookie works while the session lives")

	resp := b.send(http.MethodPost, "/logout", nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, http.StatusUnauthorized, thief.get("/api/v1/me").StatusCode, "logout ends the session on the server, not only the cookie")
	require.Equal(t, http.StatusUnauthorized, b.get("/api/v1/me").StatusCode)
}

func TestLogout(t *testing.T) {
	t.Parallel()
	h := newHarness(t, false)
	t.Run("WithoutSession", func(t *testing.T) {
		resp := h.browser().do(http.MethodPost, "/logout", nil, nil)
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, "nothing to protect: just clear the cookie")
	})
	t.Run("JSON", func(t *testing.T) {
		b := h.browser()
		b.login("gina")
		resp := b.do(http.MethodPost, "/logout", nil, map[string]string{csrfHeader: b.csrf, "Accept": "application/json"})
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
	})
	t.Run("CrossSiteRefused", func(t *testing.T) {
		b := h.browser()
		b.login("hank")
		resp := b.do(http.MethodPost, "/logout", strings.NewReader("csrf_token="+b.csrf),
			map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "cross-site"})
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
		require.Equal(t, http.StatusOK, b.get("/api/v1/me").StatusCode, "still logged in")
	})
	t.Run("Form", func(t *testing.T) {
		b := h.browser()
		b.login("ida")
		resp := b.do(http.MethodPost, "/logout", strings.NewReader("csrf_token="+url.QueryEscape(b.csrf)),
			map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8", "Sec-Fetch-Site": "same-origin"})
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		require.Equal(t, http.StatusUnauthorized, b.get("/api/v1/me").StatusCode)
	})
}

// TestLoginReplacesSession: a login always starts a new session id, and the
// browser's previous session ends (no fixation, no orphaned sessions).
func TestLoginReplacesSession(t *testing.T) {
	t.Parallel()
	h := newHarness(t, false)
	b := h.browser()
	b.login("jane")
	first := b.sessionValue()
	firstCSRF := b.csrf
	b.login("kurt")
	second := b.sessionValue()
	require.NotEqual(t, first, second)
	require.NotEqual(t, firstCSRF, b.csrf)
	require.Equal(t, http.StatusUnauthorized, h.withSession(first).get("/api/v1/me").StatusCode, "the old session ended")
	require.Equal(t, "kurt", h.withSession(second).me().User.ID)
}

// TestStateChangingRoutesNeedCSRF holds every registered non-GET route to
// the CSRF check, so a new route cannot forget it.
func TestStateChangingRoutesNeedCSRF(t *testing.T) {
	t.Parallel()
	h := newHarness(t, true)
	b := h.browser()
	b.me()
	n := 0
	for _, p := range h.web.patterns {
		method, path, ok := strings.Cut(p, " ")
		if !ok || method == http.MethodGet {
			continue
		}
		n++
		path = strings.ReplaceAll(path, "{id}", "some-id")
		t.Run(method+path, func(t *testing.T) {
			for name, hdr := range map[string]map[string]string{
				"NoToken":   {"Content-Type": "application/json"},
				"BadToken":  {"Content-Type": "application/json", csrfHeader: b.csrf + "x"},
				"CrossSite": {"Content-Type": "application/json", csrfHeader: b.csrf, "Sec-Fetch-Site": "cross-site"},
			} {
				resp := b.do(method, path, strings.NewReader(`{}`), hdr)
				require.Equal(t, http.StatusForbidden, resp.StatusCode, name)
			}
		})
	}
	require.GreaterOrEqual(t, n, 11, "every state-changing route was checked")
	u, err := h.store.GetUser(context.Background(), LocalUserIDDefault)
	require.NoError(t, err)
	require.True(t, u.Enabled, "nothing changed")
}

func TestSameOrigin(t *testing.T) {
	t.Parallel()
	h := newHarness(t, true)
	base := h.srv.URL
	for _, tc := range []struct {
		name   string
		header map[string]string
		host   string
		want   bool
	}{
		{"NoSignals", nil, "", true},
		{"SameOriginFetch", map[string]string{"Sec-Fetch-Site": "same-origin"}, "", true},
		{"UserTyped", map[string]string{"Sec-Fetch-Site": "none"}, "", true},
		{"SameSiteSubdomain", map[string]string{"Sec-Fetch-Site": "same-site"}, "", false},
		{"CrossSite", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": base}, "", false},
		{"OriginIsBaseURL", map[string]string{"Origin": base}, "internal:8080", true},
		{"OriginIsHost", map[string]string{"Origin": "http://proxy.example"}, "proxy.example", true},
		{"ForeignOrigin", map[string]string{"Origin": "https://evil.example"}, "", false},
		{"NullOrigin", map[string]string{"Origin": "null"}, "", false},
		{"BaseURLOtherScheme", map[string]string{"Origin": strings.Replace(base, "http:", "https:", 1)}, "elsewhere", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, base+"/api/v1/me/stop", nil)
			if tc.host != "" {
				r.Host = tc.host
			}
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			require.Equal(t, tc.want, h.web.sameOrigin(r))
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, true)
	b := h.browser()
	for _, tc := range []struct {
		method, path, allow string
	}{
		{http.MethodGet, "/api/v1/me/stop", "POST"},
		{http.MethodPost, "/api/v1/me/history", "GET"},
		{http.MethodPatch, "/api/v1/me", "GET, DELETE"},
		{http.MethodPut, "/api/v1/me/imports/abc", "GET, DELETE"},
		{http.MethodDelete, "/api/v1/stats/totals", "GET"},
	} {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			resp := b.do(tc.method, tc.path, nil, nil)
			require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
			require.Equal(t, tc.allow, resp.Header.Get("Allow"))
			require.Equal(t, http.StatusMethodNotAllowed, decode[apiError](t, resp).Error.Status)
		})
	}
}

// TestLocalModeSessions: in local mode a visitor is the local user; only the
// calls that hand out a CSRF token create a session.
func TestLocalModeSessions(t *testing.T) {
	t.Parallel()
	h := newHarness(t, true)
	resp := h.browser().get("/api/v1/me/stats/totals")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Empty(t, sessionCookies(resp), "a read-only call creates no session")
	resp = h.browser().get("/api/v1/me")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, sessionCookies(resp), 1)
	require.NotEmpty(t, decode[meJSON](t, resp).CSRFToken)

	// A session of another user (the instance ran with Spotify before) is
	// ignored: every visitor is the local user.
	_, err := h.store.UpsertUser(context.Background(), &store.UpsertUserParams{ID: "spotify-user", Now: time.Now()})
	require.NoError(t, err)
	foreign := randomToken()
	require.NoError(t, h.store.CreateSession(context.Background(), &store.Session{
		ID: sessionKey(foreign), UserID: "spotify-user", CSRFToken: "t", CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour),
	}))
	require.Equal(t, LocalUserIDDefault, h.withSession(foreign).me().User.ID)
}

// TestDeleteMeRemovesImports: deleting the account removes the uploads that
// were analysed but not imported, and in local mode the next visit is a new,
// empty local user who sees none of the old jobs.
func TestDeleteMeRemovesImports(t *testing.T) {
	t.Parallel()
	h := newHarness(t, true)
	b := h.browser()
	b.me()
	insertPlays(t, h.store, LocalUserIDDefault, "Old Song")
	job := b.upload(exportZip(t, 5))
	require.Len(t, uploads(t, h), 1)

	resp := b.send(http.MethodDelete, "/api/v1/me", nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Empty(t, uploads(t, h), "the pending upload is removed")
	require.Nil(t, h.web.imports.get(LocalUserIDDefault, job.ID))

	fresh := h.browser()
	require.Equal(t, LocalUserIDDefault, fresh.me().User.ID)
	require.Empty(t, decode[struct{ Items []importJobJSON }](t, fresh.get("/api/v1/me/imports")).Items)
	require.Zero(t, decode[totalsJSON](t, fresh.get("/api/v1/me/stats/totals")).Plays)
	require.Equal(t, http.StatusNotFound, fresh.send(http.MethodPost, "/api/v1/me/imports/"+job.ID+"/execute", nil).StatusCode)
}

func TestImportJobLifecycle(t *testing.T) {
	t.Parallel()
	h := newHarness(t, true)
	b := h.browser()
	b.me()

	t.Run("Discard", func(t *testing.T) {
		job := b.upload(exportZip(t, 3))
		require.Equal(t, http.StatusNoContent, b.send(http.MethodDelete, "/api/v1/me/imports/"+job.ID, nil).StatusCode)
		require.Equal(t, http.StatusNotFound, b.get("/api/v1/me/imports/"+job.ID).StatusCode)
		require.Equal(t, http.StatusNotFound, b.send(http.MethodDelete, "/api/v1/me/imports/"+job.ID, nil).StatusCode)
		require.Empty(t, uploads(t, h))
	})
	t.Run("ConcurrentExecute", func(t *testing.T) {
		job := b.upload(exportZip(t, 20))
		reqs := make([]*http.Request, 4)
		for i := range reqs {
			req, err := http.NewRequest(http.MethodPost, h.srv.URL+"/api/v1/me/imports/"+job.ID+"/execute", nil)
			require.NoError(t, err)
			req.Header.Set(csrfHeader, b.csrf)
			reqs[i] = req
		}
		codes := make([]int, len(reqs))
		errs := make([]error, len(reqs))
		var wg sync.WaitGroup
		for i, req := range reqs {
			wg.Go(func() {
				resp, err := b.c.Do(req)
				if err == nil {
					codes[i] = resp.StatusCode
					resp.Body.Close()
				}
				errs[i] = err
			})
		}
		wg.Wait()
		require.NoError(t, errors.Join(errs...))
		got := map[int]int{}
		for _, c := range codes {
			got[c]++
		}
		require.Equal(t, map[int]int{http.StatusAccepted: 1, http.StatusConflict: 3}, got, "one execute starts the job")
		h.waitImport(job.ID)
		j := decode[importJobJSON](t, b.get("/api/v1/me/imports/"+job.ID))
		require.Equal(t, jobDone, j.State)
		require.Equal(t, 20, j.Imported)
		require.Equal(t, j.Total, j.Processed)
		// A finished job can be removed from the list.
		require.Equal(t, http.StatusNoContent, b.send(http.MethodDelete, "/api/v1/me/imports/"+job.ID, nil).StatusCode)
		require.Equal(t, http.StatusNotFound, b.get("/api/v1/me/imports/"+job.ID).StatusCode)
	})
	t.Run("OtherUsersJob", func(t *testing.T) {
		job := b.upload(exportZip(t, 2))
		other := h.web.imports.get(LocalUserIDDefault, job.ID)
		require.NotNil(t, other)
		require.Nil(t, h.web.imports.get("mallory", job.ID))
		found, err := h.web.imports.discard("mallory", job.ID)
		require.False(t, found)
		require.NoError(t, err)
		require.NotNil(t, h.web.imports.get(LocalUserIDDefault, job.ID), "untouched")
	})
}

func TestImportLimits(t *testing.T) {
	t.Parallel()
	h := newHarness(t, true)
	b := h.browser()
	b.me()
	for range maxOpenImports {
		b.upload(exportZip(t, 1))
	}
	resp := b.do(http.MethodPost, "/api/v1/me/imports", bytes.NewReader(exportZip(t, 1)),
		map[string]string{csrfHeader: b.csrf, "Content-Type": "application/zip"})
	require.Equal(t, http.StatusConflict, resp.StatusCode)
	require.Len(t, uploads(t, h), maxOpenImports, "the refused upload left no file")

	// Jobs idle past their TTL are forgotten with their files.
	h.web.imports.expire(time.Now().Add(importJobTTL + time.Minute))
	require.Empty(t, uploads(t, h))
	require.Empty(t, h.web.imports.list(LocalUserIDDefault))
}

func TestUploadsRemovedAtCloseAndStart(t *testing.T) {
	t.Parallel()
	h := newHarness(t, true)
	b := h.browser()
	b.me()
	b.upload(exportZip(t, 2))
	require.Len(t, uploads(t, h), 1)
	require.NoError(t, h.web.Close())
	require.Empty(t, uploads(t, h), "jobs live in memory: Close removes their files")

	// Files left by a process that died: old ones of ours go, the rest stay.
	old := time.Now().Add(-importJobTTL - time.Hour)
	for name, mtime := range map[string]time.Time{
		uploadPrefix + "old": old, uploadPrefix + "fresh": time.Now(), "someone-elses-file": old,
	} {
		path := filepath.Join(h.upload, name)
		require.NoError(t, os.WriteFile(path, []byte("x"), 0o600))
		require.NoError(t, os.Chtimes(path, mtime, mtime))
	}
	srv, err := New(Config{Store: h.store, Sealer: h.sealer, BaseURL: h.srv.URL, UploadDir: h.upload, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	require.NoError(t, srv.Close())
	require.ElementsMatch(t, []string{uploadPrefix + "fresh", "someone-elses-file"}, uploads(t, h))
}

func TestUploadName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, in, want string }{
		{"Plain", "my_spotify_data.zip", "my_spotify_data.zip"},
		{"Empty", "", "upload"},
		{"Traversal", "../../etc/passwd", "passwd"},
		{"WindowsPath", `C:\Users\me\Streaming_History_Video_2020.json`, "Streaming_History_Video_2020.json"},
		{"Dots", "..", "upload"},
		{"Slash", "/", "upload"},
		{"ControlAndFormatCharacters", "a\x00b\nc\u202egpj.zip", "abcgpj.zip"},
		{"Long", strings.Repeat("é", 300), strings.Repeat("é", 100) + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, uploadName(tc.in))
		})
	}
}

func TestImportErrorStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"Limit", &spotifyhist.ExportLimitError{Limit: spotifyhist.LimitEntries, Max: 1, Value: 2}, http.StatusRequestEntityTooLarge},
		{"NotExport", fmt.Errorf("x: %w", spotifyhist.ErrNotExport), http.StatusUnprocessableEntity},
		{"Corrupt", &spotifyhist.ExportFileError{File: "a.json", Err: spotifyhist.ErrExportCorrupt}, http.StatusUnprocessableEntity},
		{"InsecureZip", fmt.Errorf("x: %w", zip.ErrInsecurePath), http.StatusUnprocessableEntity},
		{"InProgress", fmt.Errorf("x: %w", monitor.ErrImportInProgress), http.StatusConflict},
		// Errors of the server itself are never shown: they may name paths.
		{"IO", &spotifyhist.ExportFileError{File: "a.json", Err: &fs.PathError{Op: "read", Path: "/srv/data/uploads/upload-1", Err: errors.New("i/o error")}}, 0},
		{"Database", errors.New("store/sqlite: insert plays: disk I/O error"), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, msg := importErrorStatus(tc.err)
			require.Equal(t, tc.want, status)
			require.NotContains(t, msg, "/srv/data")
		})
	}
}

func TestStateLedger(t *testing.T) {
	t.Parallel()
	now := time.Now()
	l := newStateLedger()
	require.True(t, l.consume("a", now.Add(time.Minute), now))
	require.False(t, l.consume("a", now.Add(time.Minute), now), "single use")
	for i := range maxPendingStates - 1 {
		require.True(t, l.consume(fmt.Sprint(i), now.Add(time.Minute), now))
	}
	require.False(t, l.consume("full", now.Add(time.Minute), now), "bounded while every state is live")
	later := now.Add(2 * time.Minute)
	require.True(t, l.consume("after", later.Add(time.Minute), later), "expired states make room")
	require.Len(t, l.used, 1)
}

func TestUserStatus(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	login, local := &Server{cfg: Config{App: &spotifyhist.App{}}, now: func() time.Time { return now }}, &Server{now: func() time.Time { return now }}
	live, expired := now.Add(time.Minute), now.Add(-time.Second)
	for _, tc := range []struct {
		name string
		srv  *Server
		user store.User
		want string
	}{
		{"LocalWithoutToken", local, store.User{Enabled: true}, statusLocal},
		{"LocalWithToken", local, store.User{Enabled: true, Token: []byte("t"), WorkerID: "w", LeaseExpires: live}, statusRunning},
		{"NeedsReauth", login, store.User{Enabled: true, NeedsReauth: true, WorkerID: "w", LeaseExpires: live}, statusNeedsReauth},
		{"Running", login, store.User{Enabled: true, WorkerID: "w", LeaseExpires: live}, statusRunning},
		{"LeaseExpired", login, store.User{Enabled: true, WorkerID: "w", LeaseExpires: expired}, statusStarting},
		{"Unclaimed", login, store.User{Enabled: true}, statusStarting},
		{"Stopping", login, store.User{WorkerID: "w", LeaseExpires: live}, statusStopping},
		{"Stopped", login, store.User{WorkerID: "w", LeaseExpires: expired}, statusStopped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, tc.srv.userStatus(&tc.user))
		})
	}
	j := login.userJSON(&store.User{AuthorizedAt: time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)})
	require.Equal(t, time.Date(2026, 7, 31, 0, 0, 0, 0, time.UTC), *j.ReauthBy, "refresh tokens die six calendar months after authorisation")
}

func TestParseStatsQuery(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	require.NoError(t, err)
	// 2025-03-31 00:30 in Berlin (summer time began the day before) is
	// still 2025-03-30 in UTC.
	now := time.Date(2025, 3, 31, 0, 30, 0, 0, berlin)
	h := newHarness(t, true)
	srv, err := New(Config{Store: h.store, Sealer: h.sealer, BaseURL: "http://127.0.0.1", Location: kolkata,
		Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	at := func(loc *time.Location, y int, m time.Month, d, hh, mm int) time.Time {
		return time.Date(y, m, d, hh, mm, 0, 0, loc)
	}
	for _, tc := range []struct {
		name     string
		query    string
		from, to time.Time
		loc      *time.Location
		wantErr  string
	}{
		{name: "DefaultZone", query: "", loc: kolkata},
		{name: "FourWeeksFromLocalMidnight", query: "tz=Europe/Berlin&range=4w", from: at(berlin, 2025, 3, 3, 0, 0), loc: berlin},
		{name: "SixMonths", query: "tz=Europe/Berlin&range=6m", from: at(berlin, 2024, 9, 30, 0, 0), loc: berlin},
		{name: "OneYearInUTC", query: "tz=UTC&range=1y", from: at(time.UTC, 2024, 3, 30, 0, 0), loc: time.UTC},
		{name: "All", query: "tz=UTC&range=all", loc: time.UTC},
		{name: "DatesAreWholeLocalDays", query: "tz=Europe/Berlin&from=2025-03-30&to=2025-03-30",
			from: at(berlin, 2025, 3, 30, 0, 0), to: at(berlin, 2025, 3, 31, 0, 0), loc: berlin},
		{name: "InstantsAsGiven", query: "tz=Europe/Berlin&from=2025-01-01T10:00:00Z&to=2025-01-02T10:00:00%2B05:30",
			from: at(time.UTC, 2025, 1, 1, 10, 0), to: at(time.UTC, 2025, 1, 2, 4, 30), loc: berlin},
		{name: "FromWinsOverRange", query: "tz=UTC&range=4w&from=2020-01-01", from: at(time.UTC, 2020, 1, 1, 0, 0), loc: time.UTC},
		{name: "RangeWithTo", query: "tz=UTC&range=4w&to=2025-03-20", from: at(time.UTC, 2025, 3, 2, 0, 0), to: at(time.UTC, 2025, 3, 21, 0, 0), loc: time.UTC},
		{name: "EmptySpan", query: "from=2025-01-02&to=2025-01-01", wantErr: "from must be before to"},
		{name: "UnknownZone", query: "tz=Mars/Base", wantErr: "tz: unknown time zone"},
		{name: "UncleanZoneName", query: "tz=Europe//Berlin", wantErr: "tz: unknown time zone"},
		{name: "DotZoneName", query: "tz=Europe/./Berlin", wantErr: "tz: unknown time zone"},
		{name: "MachineZone", query: "tz=Local", wantErr: "tz: unknown time zone"},
		{name: "HalfHourZone", query: "tz=Asia/Kolkata&range=4w", from: at(kolkata, 2025, 3, 3, 0, 0), loc: kolkata},
		{name: "BadRange", query: "range=2w", wantErr: "range: want"},
		{name: "BadTo", query: "to=tomorrow", wantErr: "to: want YYYY-MM-DD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sq, err := srv.parseStatsQuery(httptest.NewRequest(http.MethodGet, "/api/v1/stats/totals?"+tc.query, nil))
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.loc, sq.loc)
			require.True(t, tc.from.Equal(sq.filter.From), "from: want %v, got %v", tc.from, sq.filter.From)
			require.True(t, tc.to.Equal(sq.filter.To), "to: want %v, got %v", tc.to, sq.filter.To)
			require.Empty(t, sq.filter.UserID, "global statistics")
		})
	}
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
	require.Equal(t, http.StatusMethodNotAllowed, b.get("/api/v1/me/stop").StatusCode)
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

// pages follows the history's next cursors with the given page size and
// returns the track names in order and the size of every page.
func (b *browser) pages(limit int) (names []string, sizes []int) {
	b.t.Helper()
	next := ""
	for range 100 {
		path := fmt.Sprintf("/api/v1/me/history?limit=%d", limit)
		if next != "" {
			path += "&cursor=" + url.QueryEscape(next)
		}
		resp := b.get(path)
		require.Equal(b.t, http.StatusOK, resp.StatusCode)
		page := decode[historyJSON](b.t, resp)
		sizes = append(sizes, len(page.Items))
		for _, it := range page.Items {
			names = append(names, it.Track.Name)
		}
		if page.Next == nil {
			return names, sizes
		}
		next = *page.Next
	}
	b.t.Fatal("history paging does not end")
	return nil, nil
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
	want := []string{"Song 6", "Song 5", "Song 4", "Song 3", "Song 2", "Song 1", "Song 0"}
	for _, tc := range []struct {
		name  string
		limit int
		sizes []int
	}{
		{"Uneven", 3, []int{3, 3, 1}},
		{"ExactMultiple", 7, []int{7}},
		{"OneByOne", 1, []int{1, 1, 1, 1, 1, 1, 1}},
		{"LargerThanAll", 500, []int{7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, sizes := b.pages(tc.limit)
			require.Equal(t, want, got)
			require.Equal(t, tc.sizes, sizes, "no empty last page: next is null on the last one")
		})
	}
}

// TestHistoryPagingSameInstant pages over plays that share one millisecond:
// the cursor's track id tie-breaker neither loses nor repeats any.
func TestHistoryPagingSameInstant(t *testing.T) {
	t.Parallel()
	h := newHarness(t, true)
	b := h.browser()
	me := b.me()
	at := time.Date(2025, 5, 1, 10, 0, 0, 123e6, time.UTC)
	var in []store.PlayInput
	for i := range 5 {
		in = append(in, store.PlayInput{
			Track: store.Track{ID: fmt.Sprintf("track%017d", i), Name: fmt.Sprintf("Same %d", i), Linked: true,
				Album: store.Album{ID: "album", Name: "Album"}, Artists: []store.Artist{{ID: "artist", Name: "Artist"}}},
			PlayedAt: at, MSPlayed: 1000, Source: store.SourceRealtime,
		})
	}
	in = append(in, store.PlayInput{Track: in[0].Track, PlayedAt: at.Add(-time.Millisecond), MSPlayed: 1000, Source: store.SourceHistory})
	_, err := h.store.InsertPlays(context.Background(), &store.InsertPlaysParams{UserID: me.User.ID, Plays: in})
	require.NoError(t, err)
	got, _ := b.pages(2)
	require.Equal(t, []string{"Same 4", "Same 3", "Same 2", "Same 1", "Same 0", "Same 0"}, got)
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
		{"BadLimit", http.MethodGet, "/api/v1/me/history?limit=501", "", "", http.StatusBadRequest},
		{"ZeroLimit", http.MethodGet, "/api/v1/me/history?limit=0", "", "", http.StatusBadRequest},
		{"BadCursor", http.MethodGet, "/api/v1/me/history?cursor=bm90LWEtY3Vyc29y", "", "", http.StatusBadRequest},
		{"CursorWithoutTrack", http.MethodGet, "/api/v1/me/history?cursor=" + encodeCursor(time.Now(), ""), "", "", http.StatusBadRequest},
		{"BadTo", http.MethodGet, "/api/v1/me/stats/totals?to=2025-13-01", "", "", http.StatusBadRequest},
		{"LocalTZ", http.MethodGet, "/api/v1/me/stats/totals?tz=Local", "", "", http.StatusBadRequest},
		{"BadBy", http.MethodGet, "/api/v1/me/stats/top?by=loudness", "", "", http.StatusBadRequest},
		{"NegativeOffset", http.MethodGet, "/api/v1/me/stats/top?offset=-1", "", "", http.StatusBadRequest},
		{"PlaylistNoURL", http.MethodPost, "/api/v1/me/playlists", "application/json", `{"url":""}`, http.StatusBadRequest},
		{"PlaylistsWithoutSpotify", http.MethodPost, "/api/v1/me/playlists", "application/json", `{"url":"37i9dQZF1DXcBWIGoYBM5M"}`, http.StatusConflict},
		{"UnknownPlaylistTracks", http.MethodGet, "/api/v1/me/playlists/nope/tracks", "", "", http.StatusNotFound},
		{"MultipartWithoutFile", http.MethodPost, "/api/v1/me/imports", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nv\r\n--x--\r\n", http.StatusBadRequest},
		{"NotAnExport", http.MethodPost, "/api/v1/me/imports?name=x.zip", "application/zip", "this is not a zip", http.StatusUnprocessableEntity},
		{"EmptyUpload", http.MethodPost, "/api/v1/me/imports", "application/zip", "", http.StatusBadRequest},
		{"OversizedUpload", http.MethodPost, "/api/v1/me/imports", "application/zip", strings.Repeat("x", 2<<20), http.StatusRequestEntityTooLarge},
		{"UnknownImport", http.MethodPost, "/api/v1/me/imports/nope/execute", "", "", http.StatusNotFound},
		{"UnknownEndpoint", http.MethodGet, "/api/v1/nothing", "", "", http.StatusNotFound},
		{"WrongMethod", http.MethodPatch, "/api/v1/me", "", "", http.StatusMethodNotAllowed},
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
	require.Empty(t, uploads(t, h), "rejected uploads are removed")
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
	require.Equal(t, jobRunning, decode[importJobJSON](t, resp).State)
	h.waitImport(job.ID)
	require.Equal(t, jobDone, decode[importJobJSON](t, b.get("/api/v1/me/imports/"+job.ID)).State)
	require.Empty(t, uploads(t, h), "an imported upload is removed")
	list := decode[struct{ Items []importJobJSON }](t, b.get("/api/v1/me/imports"))
	require.Len(t, list.Items, 1)
	require.Equal(t, 40, list.Items[0].Imported)
	tot := decode[totalsJSON](t, b.get("/api/v1/me/stats/totals"))
	require.Equal(t, 40, tot.Plays)
	require.Equal(t, http.StatusConflict, b.send(http.MethodPost, "/api/v1/me/imports/"+job.ID+"/execute", nil).StatusCode, "a finished import does not run twice")

	// Another user never sees the job.
	require.Nil(t, h.web.imports.get("someone-else", job.ID))

	// After a restart (a new server on the same store) the finished import
	// is still listed, from its stored record.
	restarted, err := New(h.web.cfg)
	require.NoError(t, err)
	t.Cleanup(func() { restarted.Close() })
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/api/v1/me/imports", nil)
	for _, c := range b.c.Jar.Cookies(mustURL(t, h.srv.URL)) {
		req.AddCookie(c)
	}
	restarted.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code)
	var after struct{ Items []importJobJSON }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &after))
	require.Len(t, after.Items, 1)
	require.Equal(t, jobDone, after.Items[0].State)
	require.Equal(t, 40, after.Items[0].Imported)
	require.Equal(t, 41, after.Items[0].Total)
}

// waitImport waits until the job's current run has ended.
func (h *harness) waitImport(id string) {
	h.t.Helper()
	j := h.web.imports.get(LocalUserIDDefault, id)
	require.NotNil(h.t, j)
	j.mu.Lock()
	done := j.done
	j.mu.Unlock()
	require.NotNil(h.t, done, "the import was started")
	<-done
}

// uploads lists the files in the harness's upload directory.
func uploads(t *testing.T, h *harness) []string {
	t.Helper()
	entries, err := os.ReadDir(h.upload)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// upload posts an export and returns the analysed job.
func (b *browser) upload(zip []byte) importJobJSON {
	b.t.Helper()
	resp := b.do(http.MethodPost, "/api/v1/me/imports?name=my_spotify_data.zip", bytes.NewReader(zip),
		map[string]string{csrfHeader: b.csrf, "Content-Type": "application/zip"})
	require.Equal(b.t, http.StatusCreated, resp.StatusCode)
	return decode[importJobJSON](b.t, resp)
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

func TestMonthsBefore(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		day  time.Time
		n    int
		want time.Time
	}{
		{"SameDay", time.Date(2025, 8, 15, 13, 0, 0, 0, time.UTC), 6, time.Date(2025, 2, 15, 0, 0, 0, 0, time.UTC)},
		{"ClampedToShortMonth", time.Date(2025, 8, 31, 13, 0, 0, 0, time.UTC), 6, time.Date(2025, 2, 28, 0, 0, 0, 0, time.UTC)},
		{"LeapDayYearBefore", time.Date(2024, 2, 29, 1, 0, 0, 0, time.UTC), 12, time.Date(2023, 2, 28, 0, 0, 0, 0, time.UTC)},
		{"AcrossYear", time.Date(2025, 1, 10, 1, 0, 0, 0, time.UTC), 6, time.Date(2024, 7, 10, 0, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, monthsBefore(tc.day, tc.n))
		})
	}
}

// openAPI is the parsed OpenAPI document with a small JSON Schema checker
// for the subset it uses ($ref, type, enum, properties, required,
// additionalProperties, items, oneOf).
type openAPI map[string]any

func loadOpenAPI(t *testing.T) openAPI {
	t.Helper()
	var doc openAPI
	require.NoError(t, json.Unmarshal(openAPIDoc, &doc))
	return doc
}

// lookup follows a local "#/a/b" reference.
func (d openAPI) lookup(ref string) map[string]any {
	var cur any = map[string]any(d)
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		m, _ := cur.(map[string]any)
		cur = m[part]
	}
	m, _ := cur.(map[string]any)
	return m
}

func (d openAPI) deref(m map[string]any) map[string]any {
	for m != nil {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		m = d.lookup(ref)
	}
	return nil
}

// responseSchema returns the documented JSON schema of one response.
func (d openAPI) responseSchema(method, path string, status int) map[string]any {
	paths, _ := d["paths"].(map[string]any)
	item, _ := paths[path].(map[string]any)
	op, _ := item[strings.ToLower(method)].(map[string]any)
	if op == nil {
		return nil
	}
	responses, _ := op["responses"].(map[string]any)
	resp, _ := responses[strconv.Itoa(status)].(map[string]any)
	resp = d.deref(resp)
	content, _ := resp["content"].(map[string]any)
	media, _ := content["application/json"].(map[string]any)
	schema, _ := media["schema"].(map[string]any)
	return schema
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	case float64:
		if x == float64(int64(x)) {
			return "integer"
		}
		return "number"
	}
	return fmt.Sprintf("%T", v)
}

// check returns the ways v breaks schema; at says where.
func (d openAPI) check(at string, schema map[string]any, v any) []string {
	schema = d.deref(schema)
	if schema == nil {
		return nil
	}
	if alts, ok := schema["oneOf"].([]any); ok {
		var all []string
		for _, alt := range alts {
			errs := d.check(at, alt.(map[string]any), v)
			if len(errs) == 0 {
				return nil
			}
			all = append(all, errs...)
		}
		return []string{at + ": matches no oneOf branch: " + strings.Join(all, "; ")}
	}
	var types []string
	switch ty := schema["type"].(type) {
	case string:
		types = []string{ty}
	case []any:
		for _, x := range ty {
			types = append(types, x.(string))
		}
	}
	got := jsonType(v)
	if len(types) > 0 && !slices.Contains(types, got) && !(got == "integer" && slices.Contains(types, "number")) {
		return []string{fmt.Sprintf("%s: type %s, documented %v", at, got, types)}
	}
	if enum, ok := schema["enum"].([]any); ok && !slices.Contains(enum, v) {
		return []string{fmt.Sprintf("%s: %v is not in the documented enum %v", at, v, enum)}
	}
	var errs []string
	switch x := v.(type) {
	case map[string]any:
		props, _ := schema["properties"].(map[string]any)
		for _, r := range asSlice(schema["required"]) {
			if _, ok := x[r.(string)]; !ok {
				errs = append(errs, at+": lacks required property "+r.(string))
			}
		}
		for k, val := range x {
			if p, ok := props[k].(map[string]any); ok {
				errs = append(errs, d.check(at+"."+k, p, val)...)
				continue
			}
			switch extra := schema["additionalProperties"].(type) {
			case map[string]any:
				errs = append(errs, d.check(at+"."+k, extra, val)...)
			case bool:
				if !extra {
					errs = append(errs, at+": undocumented property "+k)
				}
			default:
				errs = append(errs, at+": undocumented property "+k)
			}
		}
	case []any:
		if items, ok := schema["items"].(map[string]any); ok {
			for i, it := range x {
				errs = append(errs, d.check(fmt.Sprintf("%s[%d]", at, i), items, it)...)
			}
		}
	}
	return errs
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

// TestOpenAPIResponsesMatchSchemas decodes real responses of every documented
// JSON shape and holds them to the document: every property the server
// sends is documented with its type, and every required one is sent.
func TestOpenAPIResponsesMatchSchemas(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	h := newHarness(t, true)
	b := h.browser()
	b.me()
	ctx := context.Background()
	insertPlays(t, h.store, LocalUserIDDefault, "One", "Two", "Three")
	require.NoError(t, h.store.SyncOwnedPlaylists(ctx, &store.SyncOwnedPlaylistsParams{UserID: LocalUserIDDefault, Now: time.Now(),
		Playlists: []store.Playlist{{ID: "pl1", Name: "Mix", OwnerID: LocalUserIDDefault, SnapshotID: "s1", TrackCount: 1}}}))
	require.NoError(t, h.store.ReplacePlaylistTracks(ctx, &store.ReplacePlaylistTracksParams{PlaylistID: "pl1", SnapshotID: "s1", Now: time.Now(),
		Tracks: []store.PlaylistTrack{{Position: 0, Status: store.PlaylistTrackPlayable, AddedAt: time.Now(),
			Track: store.Track{ID: "plt1", Name: "Listed", Linked: true, Album: store.Album{ID: "pla", Name: "A"}, Artists: []store.Artist{{ID: "plr", Name: "R"}}}}}}))
	job := b.upload(exportZip(t, 4))
	require.NotNil(t, job.Analysis)

	cases := []struct {
		method, template, path string
		body                   any
		status                 int
	}{
		{"GET", "/api/v1/me", "/api/v1/me", nil, 200},
		{"GET", "/api/v1/me/history", "/api/v1/me/history?limit=2", nil, 200},
		{"GET", "/api/v1/me/stats/totals", "/api/v1/me/stats/totals", nil, 200},
		{"GET", "/api/v1/me/stats/top", "/api/v1/me/stats/top?kind=tracks", nil, 200},
		{"GET", "/api/v1/me/stats/top", "/api/v1/me/stats/top?kind=artists&by=time", nil, 200},
		{"GET", "/api/v1/me/stats/top", "/api/v1/me/stats/top?kind=albums", nil, 200},
		{"GET", "/api/v1/me/stats/over-time", "/api/v1/me/stats/over-time?bucket=week&tz=Asia/Kolkata", nil, 200},
		{"GET", "/api/v1/me/stats/hour-weekday", "/api/v1/me/stats/hour-weekday?range=1y", nil, 200},
		{"GET", "/api/v1/me/stats/years", "/api/v1/me/stats/years", nil, 200},
		{"GET", "/api/v1/stats/totals", "/api/v1/stats/totals", nil, 200},
		{"GET", "/api/v1/stats/top", "/api/v1/stats/top?kind=albums", nil, 200},
		{"GET", "/api/v1/stats/over-time", "/api/v1/stats/over-time?bucket=month", nil, 200},
		{"GET", "/api/v1/stats/hour-weekday", "/api/v1/stats/hour-weekday", nil, 200},
		{"GET", "/api/v1/me/playlists", "/api/v1/me/playlists", nil, 200},
		{"GET", "/api/v1/me/playlists/{id}/tracks", "/api/v1/me/playlists/pl1/tracks", nil, 200},
		{"GET", "/api/v1/me/imports", "/api/v1/me/imports", nil, 200},
		{"GET", "/api/v1/me/imports/{id}", "/api/v1/me/imports/" + job.ID, nil, 200},
		{"PUT", "/api/v1/me/mode", "/api/v1/me/mode", map[string]string{"mode": "hybrid"}, 200},
		{"POST", "/api/v1/me/stop", "/api/v1/me/stop", nil, 200},
		{"POST", "/api/v1/me/start", "/api/v1/me/start", nil, 200},
		{"GET", "/api/v1/me/history", "/api/v1/me/history?limit=x", nil, 400},
		{"GET", "/api/v1/me/imports/{id}", "/api/v1/me/imports/nope", nil, 404},
		{"POST", "/api/v1/me/playlists/scan", "/api/v1/me/playlists/scan", nil, 409},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			schema := doc.responseSchema(tc.method, tc.template, tc.status)
			require.NotNil(t, schema, "%s %s documents no JSON response %d", tc.method, tc.template, tc.status)
			var resp *http.Response
			if tc.method == http.MethodGet {
				resp = b.get(tc.path)
			} else {
				resp = b.send(tc.method, tc.path, tc.body)
			}
			require.Equal(t, tc.status, resp.StatusCode)
			var v any
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
			require.Empty(t, doc.check("body", schema, v))
		})
	}
	// Every schema the document defines was exercised at least by name.
	for name := range doc.lookup("#/components/schemas") {
		require.Contains(t, string(openAPIDoc), `"#/components/schemas/`+name+`"`, "schema %s is referenced", name)
	}
}

// TestPlaylistsWithSpotify runs the playlist endpoints against the fake
// Spotify, checking the answers against the OpenAPI document too.
func TestPlaylistsWithSpotify(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	h := newHarness(t, false)
	const owned, followed = "0wnedP1aylist000000001", "F0llowedP1aylist000002"
	h.fake.AddPlaylist(spotifyhisttest.Playlist{ID: owned, Name: "Mine", OwnerID: "lena"})
	h.fake.AddPlaylist(spotifyhisttest.Playlist{ID: followed, Name: "Theirs", OwnerID: "someone"})
	lena, mark := h.browser(), h.browser()
	lena.login("lena")
	mark.login("mark")
	checked := func(resp *http.Response, method, template string, status int) map[string]any {
		t.Helper()
		require.Equal(t, status, resp.StatusCode)
		var v map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
		require.Empty(t, doc.check("body", doc.responseSchema(method, template, status), v))
		return v
	}

	scan := checked(lena.send(http.MethodPost, "/api/v1/me/playlists/scan", nil), "POST", "/api/v1/me/playlists/scan", 200)
	require.EqualValues(t, 1, scan["playlists"])
	added := checked(lena.send(http.MethodPost, "/api/v1/me/playlists", map[string]string{"url": "https://open.spotify.com/playlist/" + owned}),
		"POST", "/api/v1/me/playlists", 201)
	require.Equal(t, "owned", added["origin"], "adding an owned playlist keeps it owned")
	added = checked(lena.send(http.MethodPost, "/api/v1/me/playlists", map[string]string{"url": "spotify:playlist:" + followed}),
		"POST", "/api/v1/me/playlists", 201)
	require.Equal(t, "added", added["origin"])
	list := checked(lena.get("/api/v1/me/playlists"), "GET", "/api/v1/me/playlists", 200)
	require.Len(t, list["items"], 2)
	checked(lena.get("/api/v1/me/playlists/"+owned+"/tracks"), "GET", "/api/v1/me/playlists/{id}/tracks", 200)

	// Another user sees none of it and cannot remove it.
	require.Equal(t, http.StatusNotFound, mark.get("/api/v1/me/playlists/"+owned+"/tracks").StatusCode)
	require.Empty(t, decode[struct{ Items []playlistJSON }](t, mark.get("/api/v1/me/playlists")).Items)
	require.Equal(t, http.StatusNotFound, mark.send(http.MethodDelete, "/api/v1/me/playlists/"+followed, nil).StatusCode)

	checked(lena.send(http.MethodPost, "/api/v1/me/playlists", map[string]string{"url": "not a playlist"}), "POST", "/api/v1/me/playlists", 400)
	require.Equal(t, http.StatusNoContent, lena.send(http.MethodDelete, "/api/v1/me/playlists/"+followed, nil).StatusCode)
	require.Len(t, decode[struct{ Items []playlistJSON }](t, lena.get("/api/v1/me/playlists")).Items, 1)
}
