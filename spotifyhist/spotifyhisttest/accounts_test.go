package spotifyhisttest_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/spotifyhist/spotifyhist/spotifyhist/spotifyhisttest"
)

const redirectURI = "http://127.0.0.1:8080/callback"

// authorize follows /authorize and returns the callback's query.
func authorize(t *testing.T, srv *spotifyhisttest.Server, authURL string) url.Values {
	t.Helper()
	resp, err := srv.Client().Get(authURL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	return loc.Query()
}

func oauthConfig(srv *spotifyhisttest.Server, secret string, style oauth2.AuthStyle) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     srv.ClientID(),
		ClientSecret: secret,
		RedirectURL:  redirectURI,
		Scopes:       spotifyhisttest.AllScopes(),
		Endpoint:     oauth2.Endpoint{AuthURL: srv.AuthorizeURL(), TokenURL: srv.TokenURL(), AuthStyle: style},
	}
}

func TestOAuthPKCEFlowWithXOAuth2(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.srv.AddUser(spotifyhisttest.User{ID: "bob"})
	b.srv.AuthorizeUser("bob")
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, b.srv.Client())
	conf := oauthConfig(b.srv, "", oauth2.AuthStyleInParams)
	verifier := oauth2.GenerateVerifier()

	cb := authorize(t, b.srv, conf.AuthCodeURL("state-123", oauth2.S256ChallengeOption(verifier)))
	require.Equal(t, "state-123", cb.Get("state"))
	require.NotEmpty(t, cb.Get("code"))

	tok, err := conf.Exchange(ctx, cb.Get("code"), oauth2.VerifierOption(verifier))
	require.NoError(t, err)
	require.NotEmpty(t, tok.RefreshToken)
	require.EqualValues(t, 3600, tok.ExpiresIn)
	require.Equal(t, strings.Join(spotifyhisttest.AllScopes(), " "), tok.Extra("scope"))

	me := get(t, b.srv, tok.AccessToken, "/v1/me")
	require.Equal(t, http.StatusOK, me.status)
	require.Equal(t, "bob", me.json(t)["id"])

	// The code is single use.
	_, err = conf.Exchange(ctx, cb.Get("code"), oauth2.VerifierOption(verifier))
	var re *oauth2.RetrieveError
	require.ErrorAs(t, err, &re)
	require.Equal(t, "invalid_grant", re.ErrorCode)
}

func TestOAuthConfidentialFlowWithBasicAuth(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, b.srv.Client())
	conf := oauthConfig(b.srv, b.srv.ClientSecret(), oauth2.AuthStyleInHeader)
	cb := authorize(t, b.srv, conf.AuthCodeURL("s"))
	tok, err := conf.Exchange(ctx, cb.Get("code"))
	require.NoError(t, err)
	// The first user added logs in by default.
	require.Equal(t, "alice", get(t, b.srv, tok.AccessToken, "/v1/me").json(t)["id"])
	reqs := b.srv.Requests()
	last := reqs[len(reqs)-2]
	require.Equal(t, "/api/token", last.Route)
	require.Equal(t, "alice", last.UserID)
	require.True(t, strings.HasPrefix(last.Authorization, "Basic "))
}

func TestAuthorizeRejections(t *testing.T) {
	t.Parallel()
	challenge := spotifyhisttest.S256Challenge(strings.Repeat("v", 43))
	tests := []struct {
		name      string
		opts      *spotifyhisttest.Options
		params    url.Values
		wantPage  string // 400 page substring; empty means a redirect
		wantError string // error= in the redirect
	}{
		{name: "UnknownClient", params: url.Values{"client_id": {"nope"}}, wantPage: "INVALID_CLIENT: Invalid client"},
		{name: "Localhost", params: url.Values{"redirect_uri": {"http://localhost:8080/cb"}}, wantPage: "Invalid redirect URI"},
		{name: "PlainHTTP", params: url.Values{"redirect_uri": {"http://example.com/cb"}}, wantPage: "Invalid redirect URI"},
		{name: "MissingRedirect", params: url.Values{"redirect_uri": {""}}, wantPage: "Invalid redirect URI"},
		{
			name:     "NotRegistered",
			opts:     &spotifyhisttest.Options{RedirectURIs: []string{"https://app.example/cb"}},
			params:   url.Values{"redirect_uri": {"https://app.example/other"}},
			wantPage: "Invalid redirect URI",
		},
		{name: "ResponseTypeToken", params: url.Values{"response_type": {"token"}}, wantError: "unsupported_response_type"},
		{name: "PlainChallenge", params: url.Values{"code_challenge": {challenge}, "code_challenge_method": {"plain"}}, wantError: "invalid_request"},
		{name: "MalformedChallenge", params: url.Values{"code_challenge": {"short"}, "code_challenge_method": {"S256"}}, wantError: "invalid_request"},
		{name: "UnknownScope", params: url.Values{"scope": {"user-read-recently-played bogus"}}, wantError: "invalid_scope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tc.opts)
			q := url.Values{
				"client_id":     {b.srv.ClientID()},
				"response_type": {"code"},
				"redirect_uri":  {redirectURI},
				"state":         {"st"},
			}
			for k, v := range tc.params {
				q[k] = v
			}
			r := get(t, b.srv, "", "/authorize?"+q.Encode())
			if tc.wantPage != "" {
				require.Equal(t, http.StatusBadRequest, r.status)
				require.Contains(t, string(r.body), tc.wantPage)
				return
			}
			require.Equal(t, http.StatusFound, r.status)
			loc, err := url.Parse(r.header.Get("Location"))
			require.NoError(t, err)
			require.Equal(t, tc.wantError, loc.Query().Get("error"))
			require.Equal(t, "st", loc.Query().Get("state"))
			require.Empty(t, loc.Query().Get("code"))
		})
	}
}

func TestAuthorizeRedirectURIRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		registered []string
		redirect   string
		ok         bool
	}{
		{name: "AnyLoopbackV4", redirect: "http://127.0.0.1:9999/cb", ok: true},
		{name: "AnyLoopbackV6", redirect: "http://[::1]:9999/cb", ok: true},
		{name: "AnyHTTPS", redirect: "https://app.example/cb", ok: true},
		{name: "ExactMatch", registered: []string{"https://app.example/cb"}, redirect: "https://app.example/cb", ok: true},
		{name: "TrailingSlashDiffers", registered: []string{"https://app.example/cb"}, redirect: "https://app.example/cb/", ok: false},
		{name: "LoopbackWithoutPortAcceptsAnyPort", registered: []string{"http://127.0.0.1/cb"}, redirect: "http://127.0.0.1:41234/cb", ok: true},
		{name: "LoopbackWithPortIsExact", registered: []string{"http://127.0.0.1:8080/cb"}, redirect: "http://127.0.0.1:8081/cb", ok: false},
		{name: "LocalhostEvenIfRegistered", registered: []string{"http://localhost:8080/cb"}, redirect: "http://localhost:8080/cb", ok: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, &spotifyhisttest.Options{RedirectURIs: tc.registered})
			q := url.Values{"client_id": {b.srv.ClientID()}, "response_type": {"code"}, "redirect_uri": {tc.redirect}}
			r := get(t, b.srv, "", "/authorize?"+q.Encode())
			if !tc.ok {
				require.Equal(t, http.StatusBadRequest, r.status)
				return
			}
			require.Equal(t, http.StatusFound, r.status)
			require.True(t, strings.HasPrefix(r.header.Get("Location"), tc.redirect+"?code="), r.header.Get("Location"))
		})
	}
}

func TestAuthorizeDenied(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.srv.DenyAuthorization(true)
	cb := authorize(t, b.srv, oauthConfig(b.srv, "", oauth2.AuthStyleInParams).AuthCodeURL("xyz"))
	require.Equal(t, url.Values{"error": {"access_denied"}, "state": {"xyz"}}, cb)
}

func TestTokenExchangeErrors(t *testing.T) {
	t.Parallel()
	verifier := strings.Repeat("a1-._~", 8)
	tests := []struct {
		name     string
		pkce     bool
		mutate   func(f url.Values)
		basic    bool
		advance  time.Duration
		wantCode string
	}{
		{name: "WrongVerifier", pkce: true, mutate: func(f url.Values) { f.Set("code_verifier", strings.Repeat("b", 43)) }, wantCode: "invalid_grant"},
		{name: "MissingVerifier", pkce: true, mutate: func(f url.Values) { f.Del("code_verifier") }, wantCode: "invalid_grant"},
		{name: "DifferentRedirectURI", pkce: true, mutate: func(f url.Values) { f.Set("redirect_uri", "http://127.0.0.1:8080/other") }, wantCode: "invalid_grant"},
		{name: "UnknownCode", pkce: true, mutate: func(f url.Values) { f.Set("code", "AQnope") }, wantCode: "invalid_grant"},
		{name: "ExpiredCode", pkce: true, advance: 11 * time.Minute, wantCode: "invalid_grant"},
		{name: "UnknownClient", pkce: true, mutate: func(f url.Values) { f.Set("client_id", "other") }, wantCode: "invalid_client"},
		{name: "WrongSecret", pkce: true, mutate: func(f url.Values) { f.Set("client_secret", "bad") }, wantCode: "invalid_client"},
		{name: "NoPKCENoSecret", pkce: false, wantCode: "invalid_client"},
		{name: "MissingGrantType", pkce: true, mutate: func(f url.Values) { f.Del("grant_type") }, wantCode: "unsupported_grant_type"},
		{name: "ImplicitGrant", pkce: true, mutate: func(f url.Values) { f.Set("grant_type", "implicit") }, wantCode: "unsupported_grant_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			q := url.Values{"client_id": {b.srv.ClientID()}, "response_type": {"code"}, "redirect_uri": {redirectURI}}
			if tc.pkce {
				q.Set("code_challenge_method", "S256")
				q.Set("code_challenge", spotifyhisttest.S256Challenge(verifier))
			}
			cb := authorize(t, b.srv, b.srv.AuthorizeURL()+"?"+q.Encode())
			b.clock.Advance(tc.advance)
			form := url.Values{
				"grant_type":   {"authorization_code"},
				"code":         {cb.Get("code")},
				"redirect_uri": {redirectURI},
				"client_id":    {b.srv.ClientID()},
			}
			if tc.pkce {
				form.Set("code_verifier", verifier)
			}
			if tc.mutate != nil {
				tc.mutate(form)
			}
			r := postForm(t, b.srv, form, tc.basic)
			require.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
			m := r.json(t)
			require.Equal(t, tc.wantCode, m["error"])
			require.NotEmpty(t, m["error_description"])
		})
	}
}

func TestRefreshGrant(t *testing.T) {
	t.Parallel()
	refresh := func(t *testing.T, b *testBundle, rt string) response {
		return postForm(t, b.srv, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, true)
	}
	t.Run("RotatesAndKeepsOldValid", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		tok := b.srv.IssueToken("alice")
		r := refresh(t, b, tok.RefreshToken)
		require.Equal(t, http.StatusOK, r.status)
		m := r.json(t)
		require.Equal(t, "Bearer", m["token_type"])
		require.EqualValues(t, 3600, m["expires_in"])
		require.NotEmpty(t, m["refresh_token"])
		require.NotEqual(t, tok.RefreshToken, m["refresh_token"])
		require.Equal(t, http.StatusOK, refresh(t, b, tok.RefreshToken).status)
		require.Equal(t, http.StatusOK, get(t, b.srv, m["access_token"].(string), "/v1/me").status)
	})
	t.Run("RevokeRotated", func(t *testing.T) {
		t.Parallel()
		b := setup(t, &spotifyhisttest.Options{RevokeRotatedRefreshTokens: true})
		tok := b.srv.IssueToken("alice")
		require.Equal(t, http.StatusOK, refresh(t, b, tok.RefreshToken).status)
		require.Equal(t, "invalid_grant", refresh(t, b, tok.RefreshToken).json(t)["error"])
	})
	t.Run("OmitRefreshToken", func(t *testing.T) {
		t.Parallel()
		b := setup(t, &spotifyhisttest.Options{OmitRefreshToken: true})
		tok := b.srv.IssueToken("alice")
		m := refresh(t, b, tok.RefreshToken).json(t)
		require.NotContains(t, m, "refresh_token")
		require.NotEmpty(t, m["access_token"])
		b.srv.SetOmitRefreshToken(false)
		require.Contains(t, refresh(t, b, tok.RefreshToken).json(t), "refresh_token")
	})
	t.Run("Revoked", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		tok := b.srv.IssueToken("alice")
		b.srv.RevokeRefreshToken("alice")
		r := refresh(t, b, tok.RefreshToken)
		require.Equal(t, http.StatusBadRequest, r.status)
		require.Equal(t, "invalid_grant", r.json(t)["error"])
	})
	t.Run("SixMonthsAfterAuthorisation", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		tok := b.srv.IssueToken("alice")
		b.clock.Advance(90 * 24 * time.Hour)
		r := refresh(t, b, tok.RefreshToken).json(t)
		// Refreshing does not extend the lifetime, even with the new token.
		b.clock.Set(t0.AddDate(0, 6, 0))
		require.Equal(t, "invalid_grant", refresh(t, b, r["refresh_token"].(string)).json(t)["error"])
	})
	t.Run("PublicClientWithClientIDInBody", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		tok := b.srv.IssueToken("alice")
		r := postForm(t, b.srv, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {b.srv.ClientID()}}, false)
		require.Equal(t, http.StatusOK, r.status)
	})
	t.Run("UnknownToken", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		require.Equal(t, "invalid_grant", refresh(t, b, "AQunknown").json(t)["error"])
	})
	t.Run("XOAuth2RefreshesExpiredToken", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		tok := b.srv.IssueToken("alice")
		conf := oauthConfig(b.srv, b.srv.ClientSecret(), oauth2.AuthStyleInHeader)
		ctx := context.WithValue(t.Context(), oauth2.HTTPClient, b.srv.Client())
		old := &oauth2.Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}
		b.srv.RevokeRefreshToken("alice")
		_, err := conf.TokenSource(ctx, old).Token()
		var re *oauth2.RetrieveError
		require.True(t, errors.As(err, &re))
		require.Equal(t, "invalid_grant", re.ErrorCode)
	})
}

func TestBearerErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		header  string
		expire  bool
		status  int
		message string
	}{
		{name: "Missing", status: 401, message: spotifyhisttest.MsgNoToken},
		{name: "Unknown", header: "Bearer nope", status: 401, message: spotifyhisttest.MsgInvalidToken},
		{name: "Expired", expire: true, status: 401, message: spotifyhisttest.MsgTokenExpired},
		{name: "NotBearer", header: "Basic abc", status: 400, message: spotifyhisttest.MsgBearerOnly},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			h := tc.header
			if tc.expire {
				h = "Bearer " + b.token
				b.clock.Advance(time.Hour)
			}
			req, err := http.NewRequest(http.MethodGet, b.srv.APIURL()+"me", nil)
			require.NoError(t, err)
			if h != "" {
				req.Header.Set("Authorization", h)
			}
			r := do(t, b.srv, req)
			require.Equal(t, tc.status, r.status)
			st, msg := apiError(t, r)
			require.Equal(t, tc.status, st)
			require.Equal(t, tc.message, msg)
		})
	}
	t.Run("ExpireAccessTokens", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		b.srv.ExpireAccessTokens("alice")
		_, msg := apiError(t, get(t, b.srv, b.token, "/v1/me"))
		require.Equal(t, spotifyhisttest.MsgTokenExpired, msg)
	})
	t.Run("InsufficientScope", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		tok := b.srv.IssueToken("alice", spotifyhisttest.ScopeCurrentlyPlaying)
		r := get(t, b.srv, tok.AccessToken, "/v1/me/player/recently-played")
		require.Equal(t, http.StatusForbidden, r.status)
		_, msg := apiError(t, r)
		require.Equal(t, spotifyhisttest.MsgInsufficientScope, msg)
	})
	t.Run("NotAllowListed", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		b.srv.AddUser(spotifyhisttest.User{ID: "eve", NotAllowListed: true})
		tok := b.srv.IssueToken("eve")
		r := get(t, b.srv, tok.AccessToken, "/v1/me")
		require.Equal(t, http.StatusForbidden, r.status)
		_, msg := apiError(t, r)
		require.Equal(t, spotifyhisttest.MsgNotAllowListed, msg)
	})
}
