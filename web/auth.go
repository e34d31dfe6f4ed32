package web

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/store"
)

const (
	oauthCookie = "spotifyhist_oauth"
	oauthTTL    = 10 * time.Minute
	// oauthPurpose marks a sealed value as login state, so that nothing else
	// the Sealer encrypts (stored tokens) is ever taken for one.
	oauthPurpose = "login"
	// maxPendingStates bounds the states remembered as used: under a flood
	// of callbacks, logins fail until old states expire instead of the
	// memory growing.
	maxPendingStates = 10_000
)

// oauthState travels sealed in a cookie from /login to /auth/callback. The
// cookie binds the state and the PKCE verifier to the browser that started
// the login; it expires after oauthTTL and is used once: the callback clears
// it whatever the outcome, and the server remembers the states it consumed
// until they expire.
type oauthState struct {
	Purpose  string    `json:"p"`
	State    string    `json:"s"`
	Verifier string    `json:"v"`
	Expires  time.Time `json:"e"`
}

// stateLedger remembers consumed login states until they expire, so that a
// copied cookie cannot complete a second login on this replica (another
// replica would still need the authorisation code, which Spotify accepts
// once).
type stateLedger struct {
	mu   sync.Mutex
	used map[string]time.Time // state → expiry
}

func newStateLedger() *stateLedger { return &stateLedger{used: map[string]time.Time{}} }

// consume records state as used and reports whether it was unused.
func (l *stateLedger) consume(state string, expires, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.used[state]; ok {
		return false
	}
	if len(l.used) >= maxPendingStates {
		for st, exp := range l.used {
			if !now.Before(exp) {
				delete(l.used, st)
			}
		}
		if len(l.used) >= maxPendingStates {
			return false
		}
	}
	l.used[state] = expires
	return true
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if s.LocalMode() {
		http.Redirect(w, r, "/me", http.StatusSeeOther)
		return
	}
	state, verifier, err := s.cfg.App.NewPKCE()
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	st := oauthState{Purpose: oauthPurpose, State: state, Verifier: verifier, Expires: s.now().Add(oauthTTL)}
	plain, err := json.Marshal(st)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	sealed, err := s.cfg.Sealer.Seal(plain)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	http.SetCookie(w, s.oauthCookie(base64.RawURLEncoding.EncodeToString(sealed), int(oauthTTL/time.Second)))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, s.cfg.App.AuthCodeURL(st.State, st.Verifier), http.StatusFound)
}

// oauthCookie is the login-state cookie; maxAge -1 deletes it.
func (s *Server) oauthCookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     oauthCookie,
		Value:    value,
		Path:     "/auth/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   s.secure,
		SameSite: http.SameSiteLaxMode,
	}
}

// loginError shows a login failure as a page a person can act on.
func (s *Server) loginError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.renderPage(w, r, status, "error.html", pageData{Title: "Login failed", Message: msg})
}

// handleCallback finishes the login: the state must be the one sealed in
// this browser's cookie, unused and unexpired; then the code is exchanged
// (with the cookie's PKCE verifier), the user is created or refreshed with
// the sealed token, and a new session replaces any the browser had.
func (s *Server) handleCallback(w http.ResponseWriter, r *http.Request) {
	if s.LocalMode() {
		http.NotFound(w, r)
		return
	}
	// The cookie is single-use whatever happens next.
	http.SetCookie(w, s.oauthCookie("", -1))
	st, ok := s.readOAuthCookie(r)
	q := r.URL.Query()
	got := q.Get("state")
	if !ok || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(st.State)) != 1 ||
		!s.states.consume(st.State, st.Expires, s.now()) {
		s.loginError(w, r, http.StatusBadRequest, "This login link is invalid, expired or was already used. Start again from the login button.")
		return
	}
	if e := q.Get("error"); e != "" {
		msg := "Spotify did not authorise the login."
		if e == "access_denied" {
			msg = "You declined the authorisation on Spotify, so nothing was recorded."
		}
		s.log.InfoContext(r.Context(), "login: authorisation refused", "reason", truncate(e, 64))
		s.loginError(w, r, http.StatusForbidden, msg)
		return
	}
	code := q.Get("code")
	if code == "" {
		s.loginError(w, r, http.StatusBadRequest, "Spotify's answer had no authorisation code.")
		return
	}
	ctx := spotifyhist.WithPriority(r.Context(), spotifyhist.PriorityInteractive)
	tok, err := s.cfg.App.Exchange(ctx, code, st.Verifier)
	if err != nil {
		s.log.WarnContext(ctx, "login: code exchange failed", "error", err)
		s.loginError(w, r, http.StatusBadGateway, "Spotify refused the login: "+publicSpotifyError(err))
		return
	}
	me, err := s.cfg.App.Client(tok, nil).Me(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "login: reading /me failed", "error", err)
		s.loginError(w, r, http.StatusBadGateway, "Could not read your Spotify profile: "+publicSpotifyError(err))
		return
	}
	sealed, err := s.cfg.Sealer.SealToken(tok)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	u, err := s.cfg.Store.UpsertUser(ctx, &store.UpsertUserParams{
		ID:           me.ID,
		AccountID:    me.AccountID,
		DisplayName:  me.DisplayName,
		Token:        sealed,
		AuthorizedAt: tok.AuthorizedAt,
		Mode:         s.cfg.DefaultMode,
		Now:          s.now(),
	})
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	// A new session id at every login (no fixation), and the browser's
	// previous session, whoever it belonged to, ends here.
	if old, err := s.session(r); err != nil {
		s.serverError(w, r, err)
		return
	} else if old != nil {
		if err := s.cfg.Store.DeleteSession(ctx, old.ID); err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	if _, err := s.startSession(ctx, w, u.ID); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.log.InfoContext(ctx, "user logged in", "user_id", u.ID)
	http.Redirect(w, r, "/me", http.StatusSeeOther)
}

// readOAuthCookie opens the login-state cookie; it reports false for a
// missing, forged (sealed with another key or altered), foreign or expired
// one.
func (s *Server) readOAuthCookie(r *http.Request) (oauthState, bool) {
	var st oauthState
	c, err := r.Cookie(oauthCookie)
	if err != nil {
		return st, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return st, false
	}
	plain, err := s.cfg.Sealer.Open(raw)
	if err != nil {
		return st, false
	}
	if json.Unmarshal(plain, &st) != nil || st.Purpose != oauthPurpose || st.State == "" || st.Verifier == "" || !s.now().Before(st.Expires) {
		return st, false
	}
	return st, true
}

// publicSpotifyError says what went wrong without echoing tokens or bodies.
func publicSpotifyError(err error) string {
	var apiErr *spotifyhist.Error
	switch {
	case errors.Is(err, spotifyhist.ErrReauthRequired):
		return "the authorisation code was rejected (it may have expired); try again."
	case errors.Is(err, spotifyhist.ErrInvalidClient):
		return "this instance's Spotify client id or secret is wrong; tell its operator."
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusForbidden:
		return "your account is not allowed to use this Spotify app (development mode allows only allow-listed users); ask the operator to add you."
	case errors.As(err, &apiErr) && apiErr.Message != "":
		return truncate(apiErr.Message, 200)
	}
	return "Spotify could not be reached; try again later."
}

// handleLogout ends the browser's session. Without a valid session there is
// nothing to protect: the cookie is cleared and that is all. With one, the
// request must pass the CSRF check, so another site cannot log users out.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	sess, err := s.session(r)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if sess != nil {
		if !s.checkCSRF(w, r, sess) {
			return
		}
		if err := s.cfg.Store.DeleteSession(r.Context(), sess.ID); err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	s.clearSessionCookie(w)
	if wantsJSON(r) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// truncate shortens s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
