package spotifyhist_test

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/spotifyhist/spotifyhisttest"
)

// login runs the browser part of the flow against the fake: GET the authorize URL and read
// the callback's code and state from the redirect.
func login(t *testing.T, srv *spotifyhisttest.Server, authURL string) (code, state string) {
	t.Helper()
	resp, err := srv.Client().Get(authURL)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:8080", loc.Host)
	require.Empty(t, loc.Query().Get("error"))
	return loc.Query().Get("code"), loc.Query().Get("state")
}

func TestLogin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		secret    bool
		wantBasic bool
	}{
		{"ConfidentialClientUsesBasic", true, true},
		{"PublicClientSendsClientIDInBody", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				b := setup(t, &setupOpts{config: func(c *spotifyhist.Config) {
					if !tt.secret {
						c.ClientSecret = ""
					}
				}})
				state, verifier, err := b.app.NewPKCE()
				require.NoError(t, err)
				require.GreaterOrEqual(t, len(verifier), 43)
				state2, verifier2, err := b.app.NewPKCE()
				require.NoError(t, err)
				require.NotEqual(t, state, state2)
				require.NotEqual(t, verifier, verifier2)

				authURL := b.app.AuthCodeURL(state, verifier)
				u, err := url.Parse(authURL)
				require.NoError(t, err)
				q := u.Query()
				sum := sha256.Sum256([]byte(verifier))
				require.Equal(t, base64.RawURLEncoding.EncodeToString(sum[:]), q.Get("code_challenge"))
				require.Equal(t, "S256", q.Get("code_challenge_method"))
				require.Equal(t, strings.Join(spotifyhist.Scopes(), " "), q.Get("scope"))
				require.Equal(t, testRedirectURL, q.Get("redirect_uri"))
				require.Equal(t, "code", q.Get("response_type"))
				require.Equal(t, state, q.Get("state"))

				code, gotState := login(t, b.srv, authURL)
				require.Equal(t, state, gotState)
				b.srv.ResetRequests()
				tok, err := b.app.Exchange(t.Context(), code, verifier)
				require.NoError(t, err)
				require.NotEmpty(t, tok.AccessToken)
				require.NotEmpty(t, tok.RefreshToken)
				require.Equal(t, "Bearer", tok.TokenType)
				require.Equal(t, time.Now(), tok.AuthorizedAt)
				require.Equal(t, time.Now().Add(time.Hour), tok.Expiry)
				require.Equal(t, strings.Join(spotifyhist.Scopes(), " "), tok.Scope)
				reqs := b.srv.Requests()
				require.Len(t, reqs, 1)
				require.Equal(t, tt.wantBasic, strings.HasPrefix(reqs[0].Authorization, "Basic "))

				me, err := b.app.Client(tok, nil).Me(t.Context())
				require.NoError(t, err)
				require.Equal(t, testUser, me.ID)

				// Codes are single use.
				_, err = b.app.Exchange(t.Context(), code, verifier)
				require.ErrorIs(t, err, spotifyhist.ErrReauthRequired)
			})
		})
	}
}

func TestExchangeErrors(t *testing.T) {
	t.Parallel()
	t.Run("WrongVerifier", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		state, verifier, err := b.app.NewPKCE()
		require.NoError(t, err)
		code, _ := login(t, b.srv, b.app.AuthCodeURL(state, verifier))
		_, other, err := b.app.NewPKCE()
		require.NoError(t, err)
		_, err = b.app.Exchange(t.Context(), code, other)
		require.ErrorIs(t, err, spotifyhist.ErrReauthRequired)
		require.False(t, spotifyhist.IsRetryable(err))
	})
	t.Run("WrongSecret", func(t *testing.T) {
		t.Parallel()
		b := setup(t, &setupOpts{config: func(c *spotifyhist.Config) { c.ClientSecret = "wrong" }})
		state, verifier, err := b.app.NewPKCE()
		require.NoError(t, err)
		code, _ := login(t, b.srv, b.app.AuthCodeURL(state, verifier))
		_, err = b.app.Exchange(t.Context(), code, verifier)
		require.ErrorIs(t, err, spotifyhist.ErrInvalidClient)
		require.False(t, spotifyhist.IsRetryable(err))
	})
	t.Run("NoRedirectURL", func(t *testing.T) {
		t.Parallel()
		b := setup(t, &setupOpts{config: func(c *spotifyhist.Config) { c.RedirectURL = "" }})
		_, err := b.app.Exchange(t.Context(), "code", "verifier")
		require.ErrorContains(t, err, "RedirectURL")
	})
}

func TestRefreshBeforeExpiry(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, nil)
		_, err := b.client.Me(t.Context())
		require.NoError(t, err)
		time.Sleep(time.Hour - 5*time.Second) // within 10 s of expiry
		_, err = b.client.Me(t.Context())
		require.NoError(t, err)
		require.Equal(t, []string{"/v1/me", "/api/token", "/v1/me"}, routes(b.srv), "refreshed before the call, no 401")

		saved := b.store.all()
		require.Len(t, saved, 1)
		require.NotEqual(t, b.tok.AccessToken, saved[0].AccessToken)
		require.NotEqual(t, b.tok.RefreshToken, saved[0].RefreshToken, "the fake rotates refresh tokens")
		require.Equal(t, b.tok.AuthorizedAt, saved[0].AuthorizedAt, "AuthorizedAt is carried over")
		require.Equal(t, time.Now().Add(time.Hour), saved[0].Expiry)
		require.Equal(t, b.tok.Scope, saved[0].Scope)
		require.Equal(t, saved[0], b.client.TokenSource().Current())
	})
}

func TestUnauthorizedRefreshesAndRetriesOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.srv.ExpireAccessTokens(testUser)
	me, err := b.client.Me(t.Context())
	require.NoError(t, err)
	require.Equal(t, testUser, me.ID)
	require.Equal(t, []string{"/v1/me", "/api/token", "/v1/me"}, routes(b.srv))
	require.Len(t, b.store.all(), 1, "the refreshed token is persisted")

	// A second 401 after the refresh is returned, not retried again.
	b.srv.ResetRequests()
	b.srv.FailNext("/v1/me", spotifyhisttest.Fault{Status: http.StatusUnauthorized, Times: 2})
	_, err = b.client.Me(t.Context())
	require.ErrorIs(t, err, spotifyhist.ErrUnauthorized)
	require.Equal(t, []string{"/v1/me", "/api/token", "/v1/me"}, routes(b.srv))
}

func TestConcurrentRefreshIsCoalesced(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.srv.ExpireAccessTokens(testUser)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := b.client.Me(t.Context())
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, 1, b.srv.CallCount("/api/token"), "one refresh for concurrent 401s")
	require.Len(t, b.store.all(), 1)
}

func TestInvalidGrantIsTerminal(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.srv.RevokeRefreshToken(testUser)
	b.srv.ExpireAccessTokens(testUser)
	_, err := b.client.RecentlyPlayed(t.Context(), time.Time{})
	require.ErrorIs(t, err, spotifyhist.ErrReauthRequired)
	require.False(t, spotifyhist.IsRetryable(err))
	require.NotErrorIs(t, err, spotifyhist.ErrUnauthorized)
	require.Empty(t, b.store.all(), "nothing persisted")
	require.Equal(t, 1.0, metricValue(t, b, "spotifyhist_oauth_token_requests_total", "grant", "refresh_token", "result", "invalid_grant"))
	calls := b.srv.CallCount("*")

	_, err = b.client.Me(t.Context())
	require.ErrorIs(t, err, spotifyhist.ErrReauthRequired)
	_, err = b.client.Token(t.Context())
	require.ErrorIs(t, err, spotifyhist.ErrReauthRequired)
	require.Equal(t, calls, b.srv.CallCount("*"), "never retried: no further requests")
}

func TestRefreshWithoutRefreshTokenKeepsOld(t *testing.T) {
	t.Parallel()
	b := setup(t, &setupOpts{server: &spotifyhisttest.Options{OmitRefreshToken: true}})
	for range 2 {
		b.srv.ExpireAccessTokens(testUser)
		_, err := b.client.Me(t.Context())
		require.NoError(t, err)
	}
	saved := b.store.all()
	require.Len(t, saved, 2)
	for _, tok := range saved {
		require.Equal(t, b.tok.RefreshToken, tok.RefreshToken)
		require.NotEqual(t, b.tok.AccessToken, tok.AccessToken)
	}
}

func TestRotatedRefreshTokenIsUsed(t *testing.T) {
	t.Parallel()
	// The fake revokes a refresh token once rotated: a client that kept the old one fails.
	b := setup(t, &setupOpts{server: &spotifyhisttest.Options{RevokeRotatedRefreshTokens: true}})
	for range 3 {
		b.srv.ExpireAccessTokens(testUser)
		_, err := b.client.Me(t.Context())
		require.NoError(t, err)
	}
	saved := b.store.all()
	require.Len(t, saved, 3)
	require.NotEqual(t, saved[0].RefreshToken, saved[1].RefreshToken)
	require.NotEqual(t, saved[1].RefreshToken, saved[2].RefreshToken)
}

func TestPersistFailure(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	errDown := errors.New("database down")
	b.store.setFail(errDown)
	b.srv.ExpireAccessTokens(testUser)
	_, err := b.client.Me(t.Context())
	require.ErrorIs(t, err, errDown)

	b.store.setFail(nil)
	_, err = b.client.Me(t.Context())
	require.NoError(t, err)
	require.Equal(t, 1, b.srv.CallCount("/api/token"), "the refreshed token was kept; only persisting was retried")
	saved := b.store.all()
	require.Len(t, saved, 1)
	require.Equal(t, saved[0], b.client.TokenSource().Current())
}

func TestTokenEndpointTransientErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		fault  spotifyhisttest.Fault
		status int
	}{
		{"ServerError", spotifyhisttest.Fault{Status: http.StatusServiceUnavailable}, 503},
		{"RateLimited", spotifyhisttest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "3"}, 429},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			b.srv.ExpireAccessTokens(testUser)
			b.srv.FailNext("/api/token", tt.fault)
			_, err := b.client.Me(t.Context())
			require.Error(t, err)
			require.True(t, spotifyhist.IsRetryable(err), "%v", err)
			require.NotErrorIs(t, err, spotifyhist.ErrReauthRequired)
			var e *spotifyhist.Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, tt.status, e.Status)
			require.Equal(t, "/api/token", e.Endpoint)
			if tt.status == 429 {
				ra, ok := spotifyhist.RetryAfter(err)
				require.True(t, ok)
				require.Equal(t, 3*time.Second, ra)
			}
			require.Empty(t, b.store.all())

			// The next call refreshes successfully.
			_, err = b.client.Me(t.Context())
			require.NoError(t, err)
			require.Len(t, b.store.all(), 1)
		})
	}
}

func TestTokenSourceWithoutRefreshToken(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	c := b.app.Client(&spotifyhist.Token{AccessToken: "expired", Expiry: time.Now().Add(-time.Minute)}, nil)
	_, err := c.Me(t.Context())
	require.ErrorIs(t, err, spotifyhist.ErrReauthRequired)
	require.Zero(t, b.srv.CallCount("*"))
}
