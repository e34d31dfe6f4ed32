package web

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/store"
)

const (
	oauthCookie = "spotifyhist_oauth"
	oauthTTL    = 10 * time.Minute
)

// oauthState travels sealed in a cookie from /login to /auth/callback: it
// binds the state to the browser that started the login, and it is
// single-use because the callback clears it whatever the outcome.
type oauthState struct {
	State    string    `json:"s"`
	Verifier string    `json:"v"`
	Expires  time.Time `json:"e"`
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if s.LocalMode() {
		http.Redirect(w, r, "/me", http.StatusSeeOther)
		return
	}
	st := oauthState{State: randomToken(), Verifier: randomToken() + randomToken(), Expires: s.now().Add(oauthTTL)}
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
	http.SetCookie(w, &http.Cookie{
		Name:     oauthCookie,
		Value:    base64.RawURLEncoding.EncodeToString(sealed),
		Path:     "/auth/",
		MaxAge:   int(oauthTTL / time.Second),
		HttpOnly: true,
		Secure:   s.secure,
		SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, s.cfg.App.AuthCodeURL(st.State, st.Verifier), http.StatusFound)
}

// loginError shows a login failure as a page a person can act on.
func (s *Server) loginError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.renderPage(w, r, status, "error.html", pageData{Title: "Login failed", Message: msg})
}

func (s *Server) handleCallback(w http.ResponseWriter, r *http.Request) {
	if s.LocalMode() {
		http.NotFound(w, r)
		return
	}
	// The cookie is single-use whatever happens next.
	http.SetCookie(w, &http.Cookie{Name: oauthCookie, Value: "", Path: "/auth/", MaxAge: -1, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	st, ok := s.readOAuthCookie(r)
	q := r.URL.Query()
	if !ok || q.Get("state") == "" || q.Get("state") != st.State {
		s.loginError(w, r, http.StatusBadRequest, "This login link is invalid, expired or was already used. Start again from the login button.")
		return
	}
	if e := q.Get("error"); e != "" {
		msg := "Spotify did not authorise the login (" + e + ")."
		if e == "access_denied" {
			msg = "You declined the authorisation on Spotify, so nothing was recorded."
		}
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
	if _, err := s.startSession(ctx, w, u.ID); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.log.InfoContext(ctx, "user logged in", "user_id", u.ID)
	http.Redirect(w, r, "/me", http.StatusSeeOther)
}

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
	if json.Unmarshal(plain, &st) != nil || st.State == "" || !s.now().Before(st.Expires) {
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
	case errors.As(err, &apiErr):
		return apiErr.Message
	}
	return "Spotify could not be reached; try again later."
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if sess, _ := s.session(r); sess != nil {
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
