package spotifyhist

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
)

// Token is a user's OAuth token. Its JSON form (snake_case) is meant for storage, sealed
// with a [Sealer]; String, GoString and LogValue redact the secrets.
type Token struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	TokenType    string    `json:"token_type,omitempty"`
	Expiry       time.Time `json:"expiry"`
	// Scope is the space-separated list of granted scopes.
	Scope string `json:"scope,omitempty"`
	// AuthorizedAt is when the user authorised the App (the code exchange). Refreshing does
	// not change it: the refresh token dies 6 months after it.
	AuthorizedAt time.Time `json:"authorized_at"`
}

// RefreshTokenExpiry returns when tok's refresh token stops working: AuthorizedAt plus 6
// months. It returns the zero time when AuthorizedAt is unknown.
func RefreshTokenExpiry(tok *Token) time.Time {
	if tok == nil || tok.AuthorizedAt.IsZero() {
		return time.Time{}
	}
	return tok.AuthorizedAt.AddDate(0, 6, 0)
}

const redacted = "[redacted]"

func redact(s string) string {
	if s == "" {
		return ""
	}
	return redacted
}

// String describes the token without its secrets.
func (t Token) String() string {
	return fmt.Sprintf("Token{type=%s access_token=%s refresh_token=%s expiry=%s scope=%q authorized_at=%s}",
		t.TokenType, redact(t.AccessToken), redact(t.RefreshToken), t.Expiry.UTC().Format(time.RFC3339),
		t.Scope, t.AuthorizedAt.UTC().Format(time.RFC3339))
}

// GoString keeps %#v from printing the secrets.
func (t Token) GoString() string { return t.String() }

// LogValue implements slog.LogValuer without the secrets.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("token_type", t.TokenType),
		slog.String("access_token", redact(t.AccessToken)),
		slog.String("refresh_token", redact(t.RefreshToken)),
		slog.Time("expiry", t.Expiry),
		slog.String("scope", t.Scope),
		slog.Time("authorized_at", t.AuthorizedAt),
	)
}

// expiryDelta is how early a token counts as expired (x/oauth2 uses the same margin), so a
// request never leaves with a token that expires in flight.
const expiryDelta = 10 * time.Second

func (t *Token) validAt(now time.Time) bool {
	return t != nil && t.AccessToken != "" && (t.Expiry.IsZero() || now.Before(t.Expiry.Add(-expiryDelta)))
}

func (t *Token) clone() *Token {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

// TokenSource hands out a user's access token, refreshing it shortly before it expires (or
// when the API answered 401) and persisting every new token. It is safe for concurrent use;
// concurrent refreshes of one user are coalesced.
//
// Semantics:
//   - a refresh response without refresh_token keeps the old refresh token; AuthorizedAt is
//     carried over;
//   - every new token is passed to persist before it is used; when persist fails the call
//     returns that error, the new token is kept in memory and persisting is retried on the
//     next call (a returned token has always been persisted);
//   - invalid_grant is terminal: the source returns an error wrapping ErrReauthRequired
//     from then on without contacting Spotify again;
//   - 429 and 5xx from the token endpoint return a retryable [*Error] (Endpoint
//     "/api/token"); the next call tries again.
type TokenSource struct {
	app     *App
	persist func(context.Context, *Token) error
	sem     chan struct{} // one holder: guards the fields below
	tok     *Token
	pending bool  // tok not yet persisted
	dead    error // terminal error
	current atomic.Pointer[Token]
}

// TokenSource returns a token source for one user starting from tok. persist is called with
// each refreshed token (nil: tokens are not persisted).
func (a *App) TokenSource(tok *Token, persist func(context.Context, *Token) error) *TokenSource {
	if persist == nil {
		persist = func(context.Context, *Token) error { return nil }
	}
	if tok == nil {
		tok = &Token{}
	}
	s := &TokenSource{app: a, persist: persist, sem: make(chan struct{}, 1)}
	s.setLocked(tok.clone())
	return s
}

func (s *TokenSource) setLocked(t *Token) {
	s.tok = t
	s.current.Store(t.clone())
}

func (s *TokenSource) lock(ctx context.Context) error {
	select {
	case s.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *TokenSource) unlock() { <-s.sem }

// Token returns a valid token, refreshing it when it expires within 10 seconds.
func (s *TokenSource) Token(ctx context.Context) (*Token, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.unlock()
	if s.dead != nil {
		return nil, s.dead
	}
	if err := s.persistPendingLocked(ctx); err != nil {
		return nil, err
	}
	if s.tok.validAt(s.app.cfg.Now()) {
		return s.tok.clone(), nil
	}
	return s.refreshLocked(ctx)
}

// Current returns the token held now, without refreshing or waiting for a refresh.
func (s *TokenSource) Current() *Token {
	return s.current.Load().clone()
}

// Refresh refreshes the token now, whatever its expiry.
func (s *TokenSource) Refresh(ctx context.Context) (*Token, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.unlock()
	if s.dead != nil {
		return nil, s.dead
	}
	if err := s.persistPendingLocked(ctx); err != nil {
		return nil, err
	}
	return s.refreshLocked(ctx)
}

// refreshAfterUnauthorized refreshes unless another caller already replaced the access
// token that got a 401.
func (s *TokenSource) refreshAfterUnauthorized(ctx context.Context, stale string) (*Token, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.unlock()
	if s.dead != nil {
		return nil, s.dead
	}
	if err := s.persistPendingLocked(ctx); err != nil {
		return nil, err
	}
	if s.tok.AccessToken != stale && s.tok.validAt(s.app.cfg.Now()) {
		return s.tok.clone(), nil
	}
	return s.refreshLocked(ctx)
}

func (s *TokenSource) persistPendingLocked(ctx context.Context) error {
	if !s.pending {
		return nil
	}
	if err := s.persist(ctx, s.tok.clone()); err != nil {
		return wrap("persist token", err)
	}
	s.pending = false
	return nil
}

func (s *TokenSource) refreshLocked(ctx context.Context) (*Token, error) {
	a := s.app
	if s.tok.RefreshToken == "" {
		s.dead = fmt.Errorf("spotifyhist: refresh token: %w: no refresh token", ErrReauthRequired)
		return nil, s.dead
	}
	octx := context.WithValue(ctx, oauth2.HTTPClient, a.tokenHTTP)
	// An oauth2 token without an access token is invalid, so Token() refreshes at once.
	ot, err := a.oauth.TokenSource(octx, &oauth2.Token{RefreshToken: s.tok.RefreshToken}).Token()
	if err != nil {
		err = a.tokenError("refresh token", "refresh_token", err)
		if errors.Is(err, ErrReauthRequired) {
			s.dead = err
			a.log.WarnContext(ctx, "spotify refresh token rejected: user must re-authorise",
				"authorized_at", s.tok.AuthorizedAt, "error", err)
		}
		return nil, err
	}
	a.m.tokenRequests.WithLabelValues("refresh_token", "ok").Inc()
	s.setLocked(a.tokenFromOAuth(ot, s.tok))
	s.pending = true
	if err := s.persistPendingLocked(ctx); err != nil {
		a.log.ErrorContext(ctx, "spotify token refreshed but not persisted", "error", err)
		return nil, err
	}
	return s.tok.clone(), nil
}

// tokenFromOAuth converts an x/oauth2 token, carrying over what a refresh response omits.
func (a *App) tokenFromOAuth(ot *oauth2.Token, prev *Token) *Token {
	now := a.cfg.Now()
	t := &Token{
		AccessToken:  ot.AccessToken,
		RefreshToken: ot.RefreshToken,
		TokenType:    ot.TokenType,
		Expiry:       ot.Expiry,
	}
	if ot.ExpiresIn > 0 {
		// Use the App's clock, not x/oauth2's time.Now.
		t.Expiry = now.Add(time.Duration(ot.ExpiresIn) * time.Second)
	}
	if sc, ok := ot.Extra("scope").(string); ok {
		t.Scope = sc
	}
	if prev != nil {
		if t.RefreshToken == "" {
			t.RefreshToken = prev.RefreshToken
		}
		if t.Scope == "" {
			t.Scope = prev.Scope
		}
		t.AuthorizedAt = prev.AuthorizedAt
	} else {
		t.AuthorizedAt = now
	}
	return t
}

// tokenError maps token endpoint failures: invalid_grant → ErrReauthRequired,
// invalid_client → ErrInvalidClient, other HTTP errors → *Error (retryable for 429/5xx).
func (a *App) tokenError(op, grant string, err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		a.m.tokenRequests.WithLabelValues(grant, "error").Inc()
		return wrap(op, err)
	}
	switch re.ErrorCode {
	case "invalid_grant":
		a.m.tokenRequests.WithLabelValues(grant, "invalid_grant").Inc()
		return fmt.Errorf("spotifyhist: %s: %w: %s", op, ErrReauthRequired, describe(re))
	case "invalid_client":
		a.m.tokenRequests.WithLabelValues(grant, "invalid_client").Inc()
		return fmt.Errorf("spotifyhist: %s: %w: %s", op, ErrInvalidClient, describe(re))
	}
	a.m.tokenRequests.WithLabelValues(grant, "error").Inc()
	e := &Error{Reason: re.ErrorCode, Message: re.ErrorDescription, Endpoint: "/api/token"}
	if re.Response != nil {
		e.Status = re.Response.StatusCode
		if ra, ok := parseRetryAfter(re.Response.Header.Get("Retry-After"), a.cfg.Now()); ok {
			e.RetryAfter = ra
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(e.Status)
	}
	return wrap(op, e)
}

func describe(re *oauth2.RetrieveError) string {
	if re.ErrorDescription != "" {
		return fmt.Sprintf("%s (%s)", re.ErrorCode, re.ErrorDescription)
	}
	return re.ErrorCode
}
