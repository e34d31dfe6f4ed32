package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"

	"github.com/spotifyhist/spotifyhist/store"
)

const (
	sessionCookie = "spotifyhist_session"
	csrfHeader    = "X-CSRF-Token"
	csrfField     = "csrf_token"
)

type ctxKey int

const (
	ctxSession ctxKey = iota
	ctxUser
)

// randomToken returns 32 random bytes, base64url without padding.
func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
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
// mode the local user (created on first visit, with a session so that CSRF
// works the same way in both modes). It returns nil, nil for an anonymous
// visitor.
func (s *Server) currentUser(w http.ResponseWriter, r *http.Request) (*store.User, *store.Session, error) {
	sess, err := s.session(r)
	if err != nil {
		return nil, nil, err
	}
	if sess != nil {
		u, err := s.cfg.Store.GetUser(r.Context(), sess.UserID)
		if errors.Is(err, store.ErrNotFound) {
			// The user was deleted: the session dies with them.
			_ = s.cfg.Store.DeleteSession(r.Context(), sess.ID)
			s.clearSessionCookie(w)
			return nil, nil, nil
		}
		if err != nil {
			return nil, nil, err
		}
		return u, sess, nil
	}
	if !s.LocalMode() {
		return nil, nil, nil
	}
	u, err := s.localUser(r.Context())
	if err != nil {
		return nil, nil, err
	}
	sess, err = s.startSession(r.Context(), w, u.ID)
	if err != nil {
		return nil, nil, err
	}
	return u, sess, nil
}

func (s *Server) localUser(ctx context.Context) (*store.User, error) {
	u, err := s.cfg.Store.GetUser(ctx, s.cfg.LocalUserID)
	if errors.Is(err, store.ErrNotFound) {
		return s.cfg.Store.UpsertUser(ctx, &store.UpsertUserParams{
			ID: s.cfg.LocalUserID, DisplayName: "Local user", Mode: s.cfg.DefaultMode, Now: s.now(),
		})
	}
	return u, err
}

// requireUser answers 401 to anonymous API requests and puts the user and
// session in the request context.
func (s *Server) requireUser(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, sess, err := s.currentUser(w, r)
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
// CSRF token or comes from another site.
func (s *Server) requireCSRF(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.sameOrigin(r) {
			writeError(w, http.StatusForbidden, "cross-site request refused")
			return
		}
		sess := sessionFrom(r)
		if sess == nil {
			var err error
			if sess, err = s.session(r); err != nil {
				s.serverError(w, r, err)
				return
			}
		}
		token := r.Header.Get(csrfHeader)
		if token == "" && r.Header.Get("Content-Type") == "application/x-www-form-urlencoded" {
			r.Body = http.MaxBytesReader(w, r.Body, 4096)
			token = r.PostFormValue(csrfField)
		}
		if sess == nil || token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(sess.CSRFToken)) != 1 {
			writeError(w, http.StatusForbidden, "missing or wrong CSRF token (send the X-CSRF-Token header from GET /api/v1/me)")
			return
		}
		next(w, r)
	}
}

// sameOrigin uses the browser's own signals: Sec-Fetch-Site when sent, else
// Origin when sent; clients that send neither (scripts, curl) rely on the
// CSRF token alone.
func (s *Server) sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	case "":
	default:
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		return origin == ""
	}
	o, err := url.Parse(origin)
	if err != nil {
		return false
	}
	return o.Host == r.Host
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
