package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/spotifyhist/spotifyhist/store"
)

const (
	sessionCookie = "spotifyhist_session"
	csrfHeader    = "X-CSRF-Token"
	csrfField     = "csrf_token"
	// sessionSweepEvery is how often starting a session also deletes the
	// expired ones (nothing else does).
	sessionSweepEvery = time.Hour
	// maxCSRFForm caps the form body read for a csrf_token field.
	maxCSRFForm = 4 << 10
)

type ctxKey int

const (
	ctxSession ctxKey = iota
	ctxUser
)

// randomToken returns 32 random bytes, base64url without padding.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails: crypto/rand crashes the program instead
	return base64.RawURLEncoding.EncodeToString(b)
}

// sessionKey is what the store keeps for a cookie value: its SHA-256, so a
// leaked database cannot be replayed as cookies.
func sessionKey(cookie string) string {
	sum := sha256.Sum256([]byte(cookie))
	return hex.EncodeToString(sum[:])
}

// startSession creates a session for userID and sets its cookie.
func (s *Server) startSession(ctx context.Context, w http.ResponseWriter, userID string) (*store.Session, error) {
	value := randomToken()
	now := s.now()
	sess := &store.Session{
		ID:        sessionKey(value),
		UserID:    userID,
		CSRFToken: randomToken(),
		CreatedAt: now,
		ExpiresAt: now.Add(s.cfg.SessionTTL),
	}
	if err := s.cfg.Store.CreateSession(ctx, sess); err != nil {
		return nil, err
	}
	s.sweepSessions(ctx, now)
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    value,
		Path:     "/",
		Expires:  sess.ExpiresAt,
		HttpOnly: true,
		Secure:   s.secure,
		SameSite: http.SameSiteLaxMode,
	})
	return sess, nil
}

// sweepSessions deletes expired sessions, at most once per sessionSweepEvery
// per server.
func (s *Server) sweepSessions(ctx context.Context, now time.Time) {
	last := s.pruned.Load()
	if now.Unix()-last < int64(sessionSweepEvery/time.Second) || !s.pruned.CompareAndSwap(last, now.Unix()) {
		return
	}
	if n, err := s.cfg.Store.DeleteExpiredSessions(ctx, now); err != nil {
		s.log.WarnContext(ctx, "delete expired sessions", "error", err)
	} else if n > 0 {
		s.log.DebugContext(ctx, "deleted expired sessions", "sessions", n)
	}
}

func (s *Server) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	})
}

// session returns the request's valid session, or nil.
func (s *Server) session(r *http.Request) (*store.Session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	sess, err := s.cfg.Store.GetSession(r.Context(), sessionKey(c.Value), s.now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return sess, err
}

// currentUser resolves the request's user: the session's user, or in local
// mode the local user, with a session (created when the browser has none,
// so that CSRF works the same way in both modes). It returns nil, nil, nil
// for an anonymous visitor.
func (s *Server) currentUser(w http.ResponseWriter, r *http.Request) (*store.User, *store.Session, error) {
	return s.identify(w, r, true)
}

// identify resolves the request's user. In local mode a visitor without a
// session is the local user, and gets a session only when withSession is
// set: read-only API calls by scripts do not pile up sessions.
func (s *Server) identify(w http.ResponseWriter, r *http.Request, withSession bool) (*store.User, *store.Session, error) {
	ctx := r.Context()
	sess, err := s.session(r)
	if err != nil {
		return nil, nil, err
	}
	if sess != nil && s.LocalMode() && sess.UserID != s.cfg.LocalUserID {
		// A login from before the instance lost its Spotify credentials:
		// in local mode every visitor is the local user.
		sess = nil
	}
	if sess != nil {
		u, err := s.cfg.Store.GetUser(ctx, sess.UserID)
		switch {
		case err == nil:
			return u, sess, nil
		case !errors.Is(err, store.ErrNotFound):
			return nil, nil, err
		}
		// The user was deleted: the session dies with them.
		if err := s.cfg.Store.DeleteSession(ctx, sess.ID); err != nil {
			return nil, nil, err
		}
		s.clearSessionCookie(w)
	}
	if !s.LocalMode() {
		return nil, nil, nil
	}
	u, err := s.localUser(ctx)
	if err != nil || !withSession {
		return u, nil, err
	}
	sess, err = s.startSession(ctx, w, u.ID)
	if err != nil {
		return nil, nil, err
	}
	return u, sess, nil
}

// localUser returns the local user, creating it on first use (and again
// after it deleted itself).
func (s *Server) localUser(ctx context.Context) (*store.User, error) {
	u, err := s.cfg.Store.GetUser(ctx, s.cfg.LocalUserID)
	if errors.Is(err, store.ErrNotFound) {
		return s.cfg.Store.UpsertUser(ctx, &store.UpsertUserParams{
			ID: s.cfg.LocalUserID, DisplayName: "Local user", Mode: s.cfg.DefaultMode, Now: s.now(),
		})
	}
	return u, err
}

// requireUser answers 401 to anonymous API requests and puts the user (and
// the session, when there is one) in the request context.
func (s *Server) requireUser(next http.HandlerFunc) http.HandlerFunc {
	return s.withUser(false, next)
}

// requireSession is requireUser for handlers that need the session (to
// hand out its CSRF token); in local mode it creates one.
func (s *Server) requireSession(next http.HandlerFunc) http.HandlerFunc {
	return s.withUser(true, next)
}

func (s *Server) withUser(withSession bool, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, sess, err := s.identify(w, r, withSession)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		if u == nil {
			writeError(w, http.StatusUnauthorized, "not logged in: visit /login")
			return
		}
		ctx := context.WithValue(r.Context(), ctxUser, u)
		ctx = context.WithValue(ctx, ctxSession, sess)
		next(w, r.WithContext(ctx))
	}
}

func userFrom(r *http.Request) *store.User {
	u, _ := r.Context().Value(ctxUser).(*store.User)
	return u
}

func sessionFrom(r *http.Request) *store.Session {
	sess, _ := r.Context().Value(ctxSession).(*store.Session)
	return sess
}

// requireCSRF rejects a state-changing request that lacks the session's
// CSRF token or comes from another site. It runs inside requireUser.
func (s *Server) requireCSRF(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.checkCSRF(w, r, sessionFrom(r)) {
			next(w, r)
		}
	}
}

// checkCSRF reports whether r is a same-site request that carries sess's
// CSRF token (header, or csrf_token field of a urlencoded form); otherwise it
// answers 403 and reports false. A nil sess never passes.
func (s *Server) checkCSRF(w http.ResponseWriter, r *http.Request, sess *store.Session) bool {
	if !s.sameOrigin(r) {
		writeError(w, http.StatusForbidden, "cross-site request refused")
		return false
	}
	token := r.Header.Get(csrfHeader)
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); token == "" && mt == "application/x-www-form-urlencoded" {
		r.Body = http.MaxBytesReader(w, r.Body, maxCSRFForm)
		token = r.PostFormValue(csrfField)
	}
	if sess == nil || token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(sess.CSRFToken)) != 1 {
		writeError(w, http.StatusForbidden, "missing or wrong CSRF token (send the X-CSRF-Token header from GET /api/v1/me)")
		return false
	}
	return true
}

// sameOrigin uses the browser's own signals: Sec-Fetch-Site when sent, else
// Origin when sent (it must be BaseURL's origin or the request's own host,
// so a proxy that rewrites Host does not lock users out); clients that send
// neither (scripts, curl) rely on the CSRF token alone.
func (s *Server) sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	case "":
	default:
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	o, err := url.Parse(origin)
	if err != nil || o.Host == "" {
		return false // includes the opaque origin "null"
	}
	return o.Scheme+"://"+o.Host == s.origin || o.Host == r.Host
}

// requirePublic serves global statistics only when they are switched on.
func (s *Server) requirePublic(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.cfg.PublicStats {
			writeError(w, http.StatusNotFound, "public statistics are switched off on this instance")
			return
		}
		next(w, r)
	}
}
