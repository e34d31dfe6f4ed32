package spotifyhisttest_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/spotifyhist/spotifyhisttest"
)

func TestFailNext(t *testing.T) {
	t.Parallel()
	const rp = "/v1/me/player/recently-played"
	tests := []struct {
		name       string
		route      string
		fault      spotifyhisttest.Fault
		path       string
		failures   int
		status     int
		retryAfter string
		reason     string
		message    string
		rawBody    string
	}{
		{
			name: "RateLimitedTwice", route: rp, path: rp, failures: 2,
			fault:  spotifyhisttest.Fault{Status: 429, RetryAfter: "7", Times: 2},
			status: 429, retryAfter: "7", message: spotifyhisttest.MsgRateLimited,
		},
		{
			name: "QuotaWithHugeRetryAfter", route: rp, path: rp, failures: 1,
			fault:  spotifyhisttest.Fault{Status: 429, RetryAfter: "86400", Reason: "QUOTA_EXCEEDED"},
			status: 429, retryAfter: "86400", reason: "QUOTA_EXCEEDED", message: spotifyhisttest.MsgQuotaExceeded,
		},
		{
			name: "HTTPDateRetryAfter", route: "*", path: "/v1/me", failures: 1,
			fault:  spotifyhisttest.Fault{Status: 429, RetryAfter: spotifyhisttest.RetryAfterDate(t0.Add(2 * time.Hour))},
			status: 429, retryAfter: "Thu, 01 Oct 2026 14:00:00 GMT", message: spotifyhisttest.MsgRateLimited,
		},
		{
			name: "ServerErrorBurst", route: "*", path: "/v1/me", failures: 3,
			fault:  spotifyhisttest.Fault{Status: 502, Times: 3},
			status: 502, message: spotifyhisttest.MsgServerError,
		},
		{
			name: "RoutePatternMatchesPath", route: "/v1/playlists/{id}/items", path: "/v1/playlists/" + spotifyhisttest.ID("x") + "/items", failures: 1,
			fault:  spotifyhisttest.Fault{Status: 503},
			status: 503, message: spotifyhisttest.MsgServiceUnavailable,
		},
		{
			name: "PremiumLapsedMessage", route: "*", path: "/v1/me", failures: 1,
			fault:  spotifyhisttest.Fault{Status: 403, Message: "Active premium subscription required for the owner of the app"},
			status: 403, message: "Active premium subscription required for the owner of the app",
		},
		{
			name: "RawBody", route: "*", path: "/v1/me", failures: 1,
			fault:  spotifyhisttest.Fault{Status: 500, Body: "<html>upstream error</html>"},
			status: 500, rawBody: "<html>upstream error</html>",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			b.srv.FailNext(tc.route, tc.fault)
			// Another route is unaffected unless the fault matches everything.
			if tc.route != "*" {
				require.Equal(t, http.StatusOK, get(t, b.srv, b.token, "/v1/me").status)
			}
			for range tc.failures {
				r := get(t, b.srv, b.token, tc.path)
				require.Equal(t, tc.status, r.status)
				require.Equal(t, tc.retryAfter, r.header.Get("Retry-After"))
				if tc.rawBody != "" {
					require.Equal(t, tc.rawBody, string(r.body))
					continue
				}
				m := r.json(t)
				e := obj(t, m["error"])
				require.EqualValues(t, tc.status, e["status"])
				require.Equal(t, tc.message, e["message"])
				if tc.reason != "" {
					require.Equal(t, tc.reason, e["reason"])
				} else {
					require.NotContains(t, e, "reason")
				}
			}
			r := get(t, b.srv, b.token, tc.path)
			require.NotEqual(t, tc.status, r.status, "fault outlived its Times")
		})
	}
}

func TestFailNextForeverUntilCleared(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.srv.FailNext("/v1/me", spotifyhisttest.Fault{Status: 500, Times: -1})
	for range 5 {
		require.Equal(t, 500, get(t, b.srv, b.token, "/v1/me").status)
	}
	b.srv.ClearFaults()
	require.Equal(t, 200, get(t, b.srv, b.token, "/v1/me").status)
}

func TestTokenEndpointFaultKeepsCode(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	verifier := "0123456789012345678901234567890123456789abc"
	q := url.Values{
		"client_id": {b.srv.ClientID()}, "response_type": {"code"}, "redirect_uri": {redirectURI},
		"code_challenge_method": {"S256"}, "code_challenge": {spotifyhisttest.S256Challenge(verifier)},
	}
	cb := authorize(t, b.srv, b.srv.AuthorizeURL()+"?"+q.Encode())
	b.srv.FailNext("/api/token", spotifyhisttest.Fault{Status: 503})
	form := url.Values{"grant_type": {"authorization_code"}, "code": {cb.Get("code")}, "redirect_uri": {redirectURI},
		"client_id": {b.srv.ClientID()}, "code_verifier": {verifier}}
	require.Equal(t, 503, postForm(t, b.srv, form, false).status)
	require.Equal(t, 200, postForm(t, b.srv, form, false).status)
}

func TestRollingRateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, &spotifyhisttest.Options{RateLimit: 3})
	for range 3 {
		require.Equal(t, 200, get(t, b.srv, b.token, "/v1/me").status)
		b.clock.Advance(5 * time.Second)
	}
	// Requests at t0, t0+5s, t0+10s; now t0+15s.
	r := get(t, b.srv, b.token, "/v1/me")
	require.Equal(t, 429, r.status)
	require.Equal(t, "15", r.header.Get("Retry-After"))
	_, msg := apiError(t, r)
	require.Equal(t, spotifyhisttest.MsgRateLimited, msg)
	require.NotContains(t, obj(t, r.json(t)["error"]), "reason")

	// The token endpoint is not limited.
	require.Equal(t, 200, postForm(t, b.srv, url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {b.srv.IssueToken("alice").RefreshToken}}, true).status)

	b.clock.Advance(15 * time.Second) // t0+30s: the first request left the window.
	require.Equal(t, 200, get(t, b.srv, b.token, "/v1/me").status)
	r = get(t, b.srv, b.token, "/v1/me")
	require.Equal(t, 429, r.status)
	require.Equal(t, "5", r.header.Get("Retry-After"))

	b.srv.SetRateLimit(0)
	require.Equal(t, 200, get(t, b.srv, b.token, "/v1/me").status)
}

func TestQuota(t *testing.T) {
	t.Parallel()
	b := setup(t, &spotifyhisttest.Options{Quota: 2})
	require.Equal(t, 200, get(t, b.srv, b.token, "/v1/me").status)
	b.clock.Advance(30 * time.Minute)
	require.Equal(t, 200, get(t, b.srv, b.token, "/v1/me").status)
	r := get(t, b.srv, b.token, "/v1/me")
	require.Equal(t, 429, r.status)
	require.Equal(t, "84600", r.header.Get("Retry-After"))
	e := obj(t, r.json(t)["error"])
	require.Equal(t, "QUOTA_EXCEEDED", e["reason"])
	require.Equal(t, spotifyhisttest.MsgQuotaExceeded, e["message"])
	b.clock.Advance(23*time.Hour + 30*time.Minute)
	require.Equal(t, 200, get(t, b.srv, b.srv.IssueToken("alice").AccessToken, "/v1/me").status)
}

func TestLatencyInSyncTestBubble(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := spotifyhisttest.NewServer(t, &spotifyhisttest.Options{BaseURL: spotifyhisttest.InProcessURL, Latency: 2 * time.Second})
		tok := srv.IssueToken("alice")
		start := time.Now()
		r := get(t, srv, tok.AccessToken, "/v1/me")
		require.Equal(t, 200, r.status)
		require.Equal(t, 2*time.Second, time.Since(start))

		// Token expiry follows the bubble's clock.
		time.Sleep(time.Hour)
		require.Equal(t, 401, get(t, srv, tok.AccessToken, "/v1/me").status)

		// A cancelled request gives up during the latency.
		srv.SetLatency(time.Minute)
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.APIURL()+"me", nil)
		require.NoError(t, err)
		_, err = srv.Client().Do(req)
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

func TestRequestsAndCallCount(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	pl := spotifyhisttest.ID("pl")
	b.srv.AddPlaylist(spotifyhisttest.Playlist{ID: pl, OwnerID: "alice"})
	get(t, b.srv, b.token, "/v1/me")
	b.clock.Advance(time.Second)
	get(t, b.srv, b.token, "/v1/playlists/"+pl+"/items?limit=5")
	get(t, b.srv, "", "/v1/me")

	reqs := b.srv.Requests()
	require.Len(t, reqs, 3)
	require.Equal(t, spotifyhisttest.Request{
		Method: "GET", Path: "/v1/playlists/" + pl + "/items", Route: "/v1/playlists/{id}/items",
		Query: url.Values{"limit": {"5"}}, Authorization: "Bearer " + b.token, UserID: "alice",
		Status: 200, At: t0.Add(time.Second),
	}, reqs[1])
	require.Equal(t, 401, reqs[2].Status)
	require.Empty(t, reqs[2].UserID)

	require.Equal(t, 3, b.srv.CallCount("*"))
	require.Equal(t, 2, b.srv.CallCount("/v1/me"))
	require.Equal(t, 1, b.srv.CallCount("/v1/playlists/{id}/items"))
	require.Equal(t, 1, b.srv.CallCount("/v1/playlists/"+pl+"/items"))
	require.Equal(t, 0, b.srv.CallCount("/v1/me/player"))

	get(t, b.srv, b.token, "/v1/nothing")
	require.Empty(t, b.srv.Requests()[3].Route)
	require.Equal(t, 404, b.srv.Requests()[3].Status)

	b.srv.ResetRequests()
	require.Empty(t, b.srv.Requests())
	require.Zero(t, b.srv.CallCount("*"))
}

func TestRequestLogLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		limit int
		kept  int
	}{
		{name: "Unlimited", limit: 0, kept: 5},
		{name: "KeepsNewest", limit: 2, kept: 2},
		{name: "None", limit: -1, kept: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, &spotifyhisttest.Options{RequestLogLimit: tc.limit})
			for i := range 5 {
				b.clock.Set(t0.Add(time.Duration(i) * time.Second))
				get(t, b.srv, b.token, "/v1/me")
			}
			reqs := b.srv.Requests()
			require.Len(t, reqs, tc.kept)
			if tc.kept > 0 {
				require.Equal(t, t0.Add(4*time.Second), reqs[len(reqs)-1].At)
			}
			require.Equal(t, 5, b.srv.CallCount("/v1/me"))
		})
	}
}
