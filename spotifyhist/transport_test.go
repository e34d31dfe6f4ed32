package spotifyhist_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/spotifyhist/spotifyhisttest"
)

func TestRateLimitShortRetryAfterIsWaitedOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		retryAfter func(now time.Time) string
		wantWait   time.Duration
	}{
		{"Seconds", func(time.Time) string { return "7" }, 7 * time.Second},
		{"HTTPDate", func(now time.Time) string { return spotifyhisttest.RetryAfterDate(now.Add(12 * time.Second)) }, 12 * time.Second},
		{"Missing", func(time.Time) string { return "" }, spotifyhist.RetryAfterMissingDefault},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				b := setup(t, nil)
				start := time.Now()
				b.srv.FailNext("/v1/me", spotifyhisttest.Fault{Status: http.StatusTooManyRequests, RetryAfter: tt.retryAfter(start)})
				me, err := b.client.Me(t.Context())
				require.NoError(t, err)
				require.Equal(t, testUser, me.ID)
				require.Equal(t, tt.wantWait, time.Since(start))
				require.Equal(t, []string{"/v1/me", "/v1/me"}, routes(b.srv))
				require.Equal(t, 1.0, metricValue(t, b, "spotifyhist_api_rate_limited_total", "reason", "rate_limit"))
			})
		})
	}
}

func TestRateLimitRetriedOnlyOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, nil)
		b.srv.FailNext("/v1/me", spotifyhisttest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "2", Times: 5})
		_, err := b.client.Me(t.Context())
		require.ErrorIs(t, err, spotifyhist.ErrRateLimited)
		require.NotErrorIs(t, err, spotifyhist.ErrBlocked, "this one came from Spotify")
		require.True(t, spotifyhist.IsRetryable(err))
		ra, ok := spotifyhist.RetryAfter(err)
		require.True(t, ok)
		require.Equal(t, 2*time.Second, ra)
		require.Equal(t, 2, b.srv.CallCount("/v1/me"))
	})
}

func TestRateLimitLongRetryAfterFailsFast(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, nil)
		start := time.Now()
		b.srv.FailNext("/v1/me/player/recently-played", spotifyhisttest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "74523"})
		_, err := b.client.RecentlyPlayed(t.Context(), time.Time{})
		require.ErrorIs(t, err, spotifyhist.ErrRateLimited)
		require.Zero(t, time.Since(start), "no waiting for a day")
		ra, ok := spotifyhist.RetryAfter(err)
		require.True(t, ok)
		require.Equal(t, 74523*time.Second, ra)
		until, ok := spotifyhist.BlockedUntil(err)
		require.True(t, ok)
		require.Equal(t, start.Add(spotifyhist.BlockCapDefault), until, "monitor blocks are capped")
		require.Equal(t, float64(until.Unix()), metricValue(t, b, "spotifyhist_api_blocked_until_timestamp_seconds", "priority", "monitor"))
		require.Equal(t, float64(start.Add(74523*time.Second).Unix()), metricValue(t, b, "spotifyhist_api_blocked_until_timestamp_seconds", "priority", "enrichment"))
		require.Zero(t, metricValue(t, b, "spotifyhist_api_blocked_until_timestamp_seconds", "priority", "interactive"))

		// Later monitor calls fail fast without contacting Spotify.
		calls := b.srv.CallCount("*")
		_, err = b.client.Me(t.Context())
		require.ErrorIs(t, err, spotifyhist.ErrBlocked)
		require.ErrorIs(t, err, spotifyhist.ErrRateLimited)
		var e *spotifyhist.Error
		require.ErrorAs(t, err, &e)
		require.Equal(t, "/me", e.Endpoint)
		require.Equal(t, calls, b.srv.CallCount("*"))
		require.Equal(t, 1.0, metricValue(t, b, "spotifyhist_api_rate_limited_total", "reason", "blocked"))

		// Interactive calls are not blocked by a monitor rate limit.
		_, err = b.client.Me(spotifyhist.WithPriority(t.Context(), spotifyhist.PriorityInteractive))
		require.NoError(t, err)

		// After the cap, monitoring probes again.
		time.Sleep(spotifyhist.BlockCapDefault)
		_, err = b.client.RecentlyPlayed(t.Context(), time.Time{})
		require.NoError(t, err)
	})
}

func TestQuotaExceededByEnrichmentSparesMonitor(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, nil)
		b.srv.AddTrack(track(trackID(1), "a"))
		b.srv.AddTrack(track(trackID(2), "b"))
		enrich := spotifyhist.WithPriority(t.Context(), spotifyhist.PriorityEnrichment)
		start := time.Now()
		b.srv.FailNext("/v1/tracks/{id}", spotifyhisttest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "86400", Reason: spotifyhist.ReasonQuotaExceeded})
		_, err := b.client.Track(enrich, trackID(1))
		require.ErrorIs(t, err, spotifyhist.ErrRateLimited)
		var e *spotifyhist.Error
		require.ErrorAs(t, err, &e)
		require.Equal(t, spotifyhist.ReasonQuotaExceeded, e.Reason)
		require.Equal(t, "/tracks/{id}", e.Endpoint)
		require.Equal(t, start.Add(24*time.Hour), e.BlockedUntil)
		require.Equal(t, 1, b.srv.CallCount("/v1/tracks/{id}"), "QUOTA_EXCEEDED is never retried in the call")
		require.Equal(t, 1.0, metricValue(t, b, "spotifyhist_api_rate_limited_total", "reason", "quota_exceeded"))

		// Enrichment stays blocked for the day, without requests.
		_, err = b.client.Track(enrich, trackID(2))
		require.ErrorIs(t, err, spotifyhist.ErrBlocked)
		require.Equal(t, 1, b.srv.CallCount("/v1/tracks/{id}"))

		// Monitoring is untouched.
		_, err = b.client.RecentlyPlayed(t.Context(), time.Time{})
		require.NoError(t, err)
		_, err = b.client.Track(t.Context(), trackID(2))
		require.NoError(t, err)

		time.Sleep(24 * time.Hour)
		_, err = b.client.Track(enrich, trackID(2))
		require.NoError(t, err)
	})
}

func TestRateLimitBlockIsAppWide(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, nil)
		b.srv.AddUser(spotifyhisttest.User{ID: "bob"})
		bob := b.app.Client(fromFake(b.srv.IssueToken("bob"), time.Now()), nil)
		b.srv.FailNext("/v1/me/player/recently-played", spotifyhisttest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "3600"})
		_, err := b.client.RecentlyPlayed(t.Context(), time.Time{})
		require.ErrorIs(t, err, spotifyhist.ErrRateLimited)
		calls := b.srv.CallCount("*")
		_, err = bob.RecentlyPlayed(t.Context(), time.Time{})
		require.ErrorIs(t, err, spotifyhist.ErrBlocked, "the budget is shared by every Client of the App")
		require.Equal(t, calls, b.srv.CallCount("*"))
	})
}

func TestRollingWindowLimitIsPacedBelow(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		// The fake admits 20 requests per 30 s; the budget allows 15.
		b := setup(t, &setupOpts{
			server: &spotifyhisttest.Options{RateLimit: 20},
			config: func(c *spotifyhist.Config) { c.Budget = spotifyhist.BudgetConfig{Requests: 15} },
		})
		start := time.Now()
		for range 60 {
			_, err := b.client.Me(t.Context())
			require.NoError(t, err)
		}
		require.Zero(t, metricValue(t, b, "spotifyhist_api_rate_limited_total", "reason", "rate_limit"), "never hit a 429")
		require.Equal(t, 60, b.srv.CallCount("/v1/me"))
		require.GreaterOrEqual(t, time.Since(start), 90*time.Second, "60 calls at 15 per 30 s")
	})
}

func TestServerErrorsRetriedBoundedly(t *testing.T) {
	t.Parallel()
	t.Run("RecoversWithinRetries", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			b := setup(t, nil)
			start := time.Now()
			b.srv.FailNext("/v1/me", spotifyhisttest.Fault{Status: http.StatusBadGateway, Times: 3})
			_, err := b.client.Me(t.Context())
			require.NoError(t, err)
			require.Equal(t, 4, b.srv.CallCount("/v1/me"))
			// Backoff 0.5 s, 1 s, 2 s without jitter.
			require.Equal(t, 3500*time.Millisecond, time.Since(start))
			require.Equal(t, 3.0, metricValue(t, b, "spotifyhist_api_retries_total", "endpoint", "/me", "cause", "server_error"))
		})
	})
	t.Run("GivesUp", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			b := setup(t, nil)
			b.srv.FailNext("/v1/me", spotifyhisttest.Fault{Status: http.StatusInternalServerError, Times: -1})
			_, err := b.client.Me(t.Context())
			var e *spotifyhist.Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, http.StatusInternalServerError, e.Status)
			require.True(t, spotifyhist.IsRetryable(err))
			require.Equal(t, 1+spotifyhist.MaxRetriesDefault, b.srv.CallCount("/v1/me"))
		})
	})
	t.Run("HonoursRetryAfterOn503", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			b := setup(t, nil)
			start := time.Now()
			b.srv.FailNext("/v1/me", spotifyhisttest.Fault{Status: http.StatusServiceUnavailable, RetryAfter: "4"})
			_, err := b.client.Me(t.Context())
			require.NoError(t, err)
			require.Equal(t, 4*time.Second, time.Since(start))
		})
	})
	t.Run("ClientErrorsNotRetried", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		b.srv.FailNext("/v1/me", spotifyhisttest.Fault{Status: http.StatusBadRequest})
		_, err := b.client.Me(t.Context())
		require.Error(t, err)
		require.False(t, spotifyhist.IsRetryable(err))
		require.Equal(t, 1, b.srv.CallCount("/v1/me"))
	})
	t.Run("Jitter", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			b := setup(t, &setupOpts{config: func(c *spotifyhist.Config) { c.Test.DisableJitter = false }})
			start := time.Now()
			b.srv.FailNext("/v1/me", spotifyhisttest.Fault{Status: http.StatusBadGateway})
			_, err := b.client.Me(t.Context())
			require.NoError(t, err)
			waited := time.Since(start)
			require.GreaterOrEqual(t, waited, 250*time.Millisecond)
			require.Less(t, waited, 750*time.Millisecond)
		})
	})
}

// flakyTransport fails the first n requests with a connection error.
type flakyTransport struct {
	base http.RoundTripper
	n    atomic.Int32
}

func (f *flakyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if f.n.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	}
	return f.base.RoundTrip(req)
}

func TestNetworkErrorsRetried(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		flaky := &flakyTransport{}
		b := setup(t, &setupOpts{config: func(c *spotifyhist.Config) {
			flaky.base = c.HTTPClient.Transport
			c.HTTPClient = &http.Client{Transport: flaky}
		}})
		flaky.n.Store(2)
		_, err := b.client.Me(t.Context())
		require.NoError(t, err)
		require.Equal(t, 1, b.srv.CallCount("/v1/me"))

		flaky.n.Store(100)
		_, err = b.client.Me(t.Context())
		require.Error(t, err)
		require.True(t, spotifyhist.IsRetryable(err))
		require.Equal(t, int32(100-1-spotifyhist.MaxRetriesDefault), flaky.n.Load(), "1 attempt + 3 retries")
		require.Equal(t, 6.0, metricValue(t, b, "spotifyhist_api_requests_total", "endpoint", "/me", "status", "error"), "2 + 4 failed attempts")
	})
}

func TestPerAttemptTimeout(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, &setupOpts{
			server: &spotifyhisttest.Options{Latency: 10 * time.Second},
			config: func(c *spotifyhist.Config) { c.HTTPClient.Timeout = 2 * time.Second; c.MaxRetries = 1 },
		})
		start := time.Now()
		_, err := b.client.Me(t.Context())
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.True(t, spotifyhist.IsRetryable(err))
		require.Equal(t, 2*time.Second+500*time.Millisecond+2*time.Second, time.Since(start), "two timed-out attempts and one backoff")

		b.srv.SetLatency(time.Second)
		_, err = b.client.Me(t.Context())
		require.NoError(t, err, "a slow but timely response is read after its attempt's deadline passed")
	})
}

func TestContextCancelStopsRetries(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, nil)
		b.srv.FailNext("/v1/me", spotifyhisttest.Fault{Status: http.StatusBadGateway, Times: -1})
		ctx, cancel := context.WithTimeout(t.Context(), 700*time.Millisecond)
		defer cancel()
		_, err := b.client.Me(ctx)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Equal(t, 2, b.srv.CallCount("/v1/me"))
	})
}

func TestTokenNeverSentElsewhere(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	// A page whose next link leaves the Web API.
	b.srv.FailNext("/v1/me/playlists", spotifyhisttest.Fault{Status: http.StatusOK,
		Body: `{"items":[],"next":"https://evil.example/v1/me/playlists?offset=50","offset":0,"total":100}`})
	_, err := b.client.MyPlaylists(t.Context())
	require.ErrorContains(t, err, "refusing to send an access token")
	require.Equal(t, 1, b.srv.CallCount("*"))
}

func TestPaginationLoopIsBounded(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	self := b.srv.APIURL() + "me/playlists?limit=50"
	b.srv.FailNext("/v1/me/playlists", spotifyhisttest.Fault{Status: http.StatusOK, Times: 2,
		Body: `{"items":[],"next":"` + self + `","offset":0,"total":100}`})
	_, err := b.client.MyPlaylists(t.Context())
	require.ErrorContains(t, err, "repeats")
	require.Equal(t, 1, b.srv.CallCount("*"))
}

func TestMalformedResponse(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.srv.FailNext("/v1/me/player/currently-playing", spotifyhisttest.Fault{Status: http.StatusOK, Body: `{"item":`})
	_, err := b.client.CurrentlyPlaying(t.Context())
	require.ErrorContains(t, err, "decode")
	require.False(t, spotifyhist.IsRetryable(err))
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.srv.AddTrack(track(trackID(1), "a"))
	_, err := b.client.Me(t.Context())
	require.NoError(t, err)
	_, err = b.client.Track(t.Context(), trackID(1))
	require.NoError(t, err)
	_, err = b.client.Track(t.Context(), trackID(2))
	require.ErrorIs(t, err, spotifyhist.ErrNotFound)
	_, err = b.client.RecentlyPlayed(t.Context(), time.Time{})
	require.NoError(t, err)

	want := `
# HELP spotifyhist_api_requests_total Spotify Web API HTTP attempts by route template and status code ("error" for transport errors).
# TYPE spotifyhist_api_requests_total counter
spotifyhist_api_requests_total{endpoint="/me",status="200"} 1
spotifyhist_api_requests_total{endpoint="/me/player/recently-played",status="200"} 1
spotifyhist_api_requests_total{endpoint="/tracks/{id}",status="200"} 1
spotifyhist_api_requests_total{endpoint="/tracks/{id}",status="404"} 1
`
	require.NoError(t, testutil.GatherAndCompare(b.reg, strings.NewReader(want), "spotifyhist_api_requests_total"))
	require.Equal(t, 3, seriesCount(t, b, "spotifyhist_api_request_duration_seconds"), "one histogram per endpoint")

	problems, err := testutil.GatherAndLint(b.reg)
	require.NoError(t, err)
	require.Empty(t, problems)
}
