package recap_test

import (
	"errors"
	"log/slog"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	recap "github.com/spotifyhist/spotifyhist/examples/test-your-code"
	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/spotifyhist/spotifyhisttest"
)

const route = "/v1/me/player/recently-played"

// testBundle is a fake Spotify and a client for one of its users.
type testBundle struct {
	srv    *spotifyhisttest.Server
	client *spotifyhist.Client
}

// setup starts a fake Spotify reached in process (no sockets, so it also
// works inside synctest bubbles, where it reads the bubble's clock), seeds
// three plays for alice and returns her client.
func setup(t *testing.T) *testBundle {
	t.Helper()
	srv := spotifyhisttest.NewServer(t, &spotifyhisttest.Options{BaseURL: spotifyhisttest.InProcessURL})
	app, err := spotifyhist.New(spotifyhist.Config{
		ClientID:     srv.ClientID(),
		ClientSecret: srv.ClientSecret(),
		APIURL:       srv.APIURL(),
		AccountsURL:  srv.AccountsURL(),
		HTTPClient:   &http.Client{Transport: srv.Transport()},
		Logger:       slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)

	end := time.Now().Add(-time.Hour)
	for i, p := range []struct{ track, artist string }{
		{"Harbour", "The Breakwaters"},
		{"Morning", "Aurora Lane"},
		{"Pier", "The Breakwaters"},
	} {
		srv.AddRecentPlay("alice", spotifyhisttest.RecentPlay{
			Track: &spotifyhisttest.Track{
				ID: spotifyhisttest.ID(p.track), Name: p.track, DurationMS: 200_000,
				Artists: []spotifyhisttest.Artist{{ID: spotifyhisttest.ID(p.artist), Name: p.artist}},
			},
			PlayedAt: end.Add(time.Duration(i) * 4 * time.Minute),
		})
	}
	ft := srv.IssueToken("alice")
	tok := &spotifyhist.Token{AccessToken: ft.AccessToken, RefreshToken: ft.RefreshToken, Expiry: ft.Expiry, AuthorizedAt: time.Now()}
	return &testBundle{srv: srv, client: app.Client(tok, nil)}
}

func TestRecent(t *testing.T) {
	t.Parallel()
	b := setup(t)

	got, err := recap.Recent(t.Context(), b.client)
	require.NoError(t, err)
	require.Equal(t, 3, got.Plays)
	require.Equal(t, "The Breakwaters", got.TopArtist)
	require.Equal(t, 2, got.TopArtistPlays)
	require.Equal(t, 1, b.srv.CallCount(route))
}

// A short 429 (Retry-After within spotifyhist.Config.MaxRetryWait) is waited
// out and retried by the client: the caller never sees it. synctest makes the
// two-second wait instant and exact.
func TestRecentShortRateLimitIsRetried(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t)
		b.srv.FailNext(route, spotifyhisttest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "2"})

		start := time.Now()
		got, err := recap.Recent(t.Context(), b.client)
		require.NoError(t, err)
		require.Equal(t, 3, got.Plays)
		require.Equal(t, 2, b.srv.CallCount(route))
		require.Equal(t, 2*time.Second, time.Since(start))
	})
}

// A long 429 (here Development Mode's daily quota) fails at once. The App
// then refuses calls of the same priority locally, without asking Spotify,
// for at most spotifyhist.BlockCapDefault; after that one call probes again.
func TestRecentQuotaExceeded(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t)
		b.srv.FailNext(route, spotifyhisttest.Fault{
			Status: http.StatusTooManyRequests, RetryAfter: "86400", Reason: spotifyhist.ReasonQuotaExceeded,
		})

		_, err := recap.Recent(t.Context(), b.client)
		require.ErrorIs(t, err, spotifyhist.ErrRateLimited)
		require.True(t, spotifyhist.IsRetryable(err))
		require.Equal(t, "Spotify is busy: try again in 24h0m0s", recap.Explain(err))

		_, err = recap.Recent(t.Context(), b.client)
		require.ErrorIs(t, err, spotifyhist.ErrBlocked)
		until, ok := spotifyhist.BlockedUntil(err)
		require.True(t, ok)
		require.Equal(t, time.Now().Add(spotifyhist.BlockCapDefault), until)
		require.Equal(t, 1, b.srv.CallCount(route), "a blocked call must not reach Spotify")

		time.Sleep(spotifyhist.BlockCapDefault) // instant in the bubble
		got, err := recap.Recent(t.Context(), b.client)
		require.NoError(t, err)
		require.Equal(t, 3, got.Plays)
		require.Equal(t, 2, b.srv.CallCount(route))
	})
}

// A revoked authorisation is terminal: the client stops calling Spotify.
func TestRecentReauthRequired(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.srv.ExpireAccessTokens("alice")
	b.srv.RevokeRefreshToken("alice")

	_, err := recap.Recent(t.Context(), b.client)
	require.ErrorIs(t, err, spotifyhist.ErrReauthRequired)
	require.Equal(t, "Spotify no longer accepts your login: please log in again", recap.Explain(err))
}

func TestExplain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "Nil", err: nil, want: "ok"},
		{name: "ServerError", err: &spotifyhist.Error{Status: http.StatusBadGateway}, want: "Spotify did not answer: try again in a moment"},
		{name: "RateLimitedWithoutRetryAfter", err: &spotifyhist.Error{Status: http.StatusTooManyRequests}, want: "Spotify is busy: try again later"},
		{name: "Other", err: errors.New("boom"), want: "something went wrong: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, recap.Explain(tt.err))
		})
	}
}
