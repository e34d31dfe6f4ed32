package spotifyhisttest

import (
	"crypto/sha256"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// DefaultUserID is the user /authorize logs in when no user is known.
const DefaultUserID = "spotifyhisttest-user"

// handleAuthorize implements GET /authorize. The user is taken to have
// consented at once (or refused, see DenyAuthorization).
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != s.opts.ClientID {
		authorizePage(w, "INVALID_CLIENT: Invalid client")
		return
	}
	redirect := q.Get("redirect_uri")
	ru, err := url.Parse(redirect)
	if redirect == "" || err != nil || !s.redirectAllowed(ru) {
		authorizePage(w, "INVALID_CLIENT: Invalid redirect URI")
		return
	}
	state := q.Get("state")
	fail := func(code, desc string) {
		redirectWith(w, r, ru, url.Values{"error": {code}, "error_description": {desc}}, state)
	}
	if q.Get("response_type") != "code" {
		fail("unsupported_response_type", "response_type must be code")
		return
	}
	challenge := q.Get("code_challenge")
	method := q.Get("code_challenge_method")
	switch {
	case challenge == "" && method != "":
		fail("invalid_request", "code_challenge is missing")
		return
	case challenge != "" && method != "S256":
		fail("invalid_request", "code_challenge_method must be S256")
		return
	case challenge != "" && !validChallenge(challenge):
		fail("invalid_request", "code_challenge must be an unpadded base64url SHA-256 digest")
		return
	}
	var scopes []string
	for sc := range strings.FieldsSeq(q.Get("scope")) {
		if !knownScope(sc) {
			fail("invalid_scope", "Invalid scope: "+sc)
			return
		}
		if !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}

	s.mu.Lock()
	if s.denyAuth {
		s.mu.Unlock()
		redirectWith(w, r, ru, url.Values{"error": {"access_denied"}}, state)
		return
	}
	userID := s.authorizeUser
	if userID == "" {
		userID = s.defaultUserLocked()
	}
	now := s.now()
	code := "AQ" + randomToken(120)
	s.codes[code] = &authCode{
		clientID:      s.opts.ClientID,
		redirectURI:   redirect,
		challenge:     challenge,
		hasChallenge:  challenge != "",
		challengeMeth: method,
		userID:        userID,
		scopes:        scopes,
		expiry:        now.Add(AuthorizationCodeTTL),
		authorizedAt:  now,
	}
	s.mu.Unlock()
	setReqUser(r, userID)
	redirectWith(w, r, ru, url.Values{"code": {code}}, state)
}

func (s *Server) defaultUserLocked() string {
	if len(s.userOrder) > 0 {
		return s.userOrder[0]
	}
	if s.sim != nil && s.sim.cfg.Users > 0 {
		return s.sim.UserID(0)
	}
	s.addUserLocked(User{ID: DefaultUserID})
	return DefaultUserID
}

func authorizePage(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write([]byte("<!DOCTYPE html><html><head><title>Error</title></head><body><h1>" + msg + "</h1></body></html>"))
}

func redirectWith(w http.ResponseWriter, r *http.Request, base *url.URL, params url.Values, state string) {
	u := *base
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	if state != "" {
		q.Set("state", state)
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func knownScope(sc string) bool {
	switch sc {
	case ScopeRecentlyPlayed, ScopeCurrentlyPlaying, ScopePlaybackState,
		ScopePlaylistReadPrivate, ScopePlaylistReadCollaborative,
		"user-read-private", "user-read-email", "user-top-read", "user-library-read",
		"user-follow-read", "user-modify-playback-state", "playlist-modify-public",
		"playlist-modify-private", "user-read-playback-position", "streaming",
		"ugc-image-upload", "user-follow-modify", "user-library-modify", "app-remote-control":
		return true
	}
	return false
}

func validChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	return err == nil && len(b) == sha256.Size
}

// validVerifier checks RFC 7636's 43–128 unreserved characters.
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' ||
			c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// S256Challenge returns the PKCE S256 challenge of a verifier.
func S256Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func isLoopbackIP(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *Server) redirectAllowed(u *url.URL) bool {
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") || u.Fragment != "" || u.User != nil {
		return false
	}
	if len(s.opts.RedirectURIs) == 0 {
		switch u.Scheme {
		case "https":
			return host != ""
		case "http":
			return isLoopbackIP(host)
		}
		return false
	}
	for _, reg := range s.opts.RedirectURIs {
		if reg == u.String() {
			return true
		}
		ru, err := url.Parse(reg)
		if err != nil || !isLoopbackIP(ru.Hostname()) || ru.Port() != "" {
			continue
		}
		// A loopback URI registered without a port accepts any port.
		if ru.Scheme == u.Scheme && ru.Hostname() == host && ru.Path == u.Path && ru.RawQuery == u.RawQuery {
			return true
		}
	}
	return false
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// handleToken implements POST /api/token.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, "invalid_request", "Malformed request body")
		return
	}
	// Client authentication: HTTP Basic, or client_id (+ optional
	// client_secret) in the body.
	clientID, secret, basic := r.BasicAuth()
	if !basic {
		clientID = r.PostForm.Get("client_id")
		secret = r.PostForm.Get("client_secret")
	}
	if clientID == "" {
		writeOAuthError(w, "invalid_client", "Invalid client")
		return
	}
	if clientID != s.opts.ClientID {
		writeOAuthError(w, "invalid_client", "Invalid client")
		return
	}
	confidential := false
	if basic || secret != "" {
		if secret != s.opts.ClientSecret {
			writeOAuthError(w, "invalid_client", "Invalid client secret")
			return
		}
		confidential = true
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "authorization_code":
		s.exchangeCode(w, r, clientID, confidential)
	case "refresh_token":
		s.refreshGrant(w, r, clientID)
	case "":
		writeOAuthError(w, "unsupported_grant_type", "grant_type parameter is missing")
	default:
		writeOAuthError(w, "unsupported_grant_type", "grant_type must be client_credentials, authorization_code or refresh_token")
	}
}

func (s *Server) exchangeCode(w http.ResponseWriter, r *http.Request, clientID string, confidential bool) {
	code := r.PostForm.Get("code")
	redirect := r.PostForm.Get("redirect_uri")
	verifier := r.PostForm.Get("code_verifier")
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	c, ok := s.codes[code]
	if !ok || c.used || !now.Before(c.expiry) || c.clientID != clientID {
		writeOAuthError(w, "invalid_grant", "Invalid authorization code")
		return
	}
	// Codes are single use: a failed exchange burns it too.
	c.used = true
	setReqUser(r, c.userID)
	if redirect != c.redirectURI {
		writeOAuthError(w, "invalid_grant", "Invalid redirect URI")
		return
	}
	switch {
	case c.hasChallenge:
		if !validVerifier(verifier) || S256Challenge(verifier) != c.challenge {
			writeOAuthError(w, "invalid_grant", "code_verifier was incorrect")
			return
		}
	case verifier != "":
		writeOAuthError(w, "invalid_grant", "code_verifier was incorrect")
		return
	case !confidential:
		writeOAuthError(w, "invalid_client", "Invalid client secret")
		return
	}
	rt := s.newRefreshLocked(c.userID, clientID, c.scopes, c.authorizedAt)
	tok := s.newAccessLocked(c.userID, c.scopes, now, rt)
	writeToken(w, tok)
}

func (s *Server) refreshGrant(w http.ResponseWriter, r *http.Request, clientID string) {
	old := r.PostForm.Get("refresh_token")
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	rt, ok := s.refresh[old]
	if !ok || rt.clientID != clientID {
		writeOAuthError(w, "invalid_grant", "Invalid refresh token")
		return
	}
	setReqUser(r, rt.userID)
	if rt.revoked || s.refreshExpired(rt, now) {
		writeOAuthError(w, "invalid_grant", "Refresh token revoked")
		return
	}
	newRT := ""
	if !s.omitRefresh {
		newRT = s.newRefreshLocked(rt.userID, clientID, rt.scopes, rt.authorizedAt)
		if s.opts.RevokeRotatedRefreshTokens {
			rt.revoked = true
		}
	}
	tok := s.newAccessLocked(rt.userID, rt.scopes, now, newRT)
	writeToken(w, tok)
}

func (s *Server) refreshExpired(rt *refreshToken, now time.Time) bool {
	switch d := s.opts.RefreshTokenLifetime; {
	case d < 0:
		return false
	case d == 0:
		return !now.Before(rt.authorizedAt.AddDate(0, 6, 0))
	default:
		return !now.Before(rt.authorizedAt.Add(d))
	}
}

func writeToken(w http.ResponseWriter, t Token) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken:  t.AccessToken,
		TokenType:    t.TokenType,
		Scope:        t.Scope,
		ExpiresIn:    t.ExpiresIn,
		RefreshToken: t.RefreshToken,
	})
}
