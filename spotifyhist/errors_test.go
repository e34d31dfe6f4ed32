package spotifyhist

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 7, 23, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header string
		want   time.Duration
		ok     bool
	}{
		{"Empty", "", 0, false},
		{"Seconds", "7", 7 * time.Second, true},
		{"Huge", "86400", 24 * time.Hour, true},
		{"Padded", " 12 ", 12 * time.Second, true},
		{"Zero", "0", 0, true},
		{"Negative", "-5", 0, true},
		{"Overflow", "99999999999999999", time.Duration(int64(1<<63-1)/int64(time.Second)) * time.Second, true},
		{"HTTPDate", "Thu, 23 Jul 2026 12:00:30 GMT", 30 * time.Second, true},
		{"HTTPDatePast", "Thu, 23 Jul 2026 11:00:00 GMT", 0, true},
		{"Garbage", "soon", 0, false},
		{"Float", "1.5", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := parseRetryAfter(tt.header, now)
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestParseRetryAfterHTTPDateRoundsUp(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 7, 23, 12, 0, 0, 300_000_000, time.UTC)
	got, ok := parseRetryAfter("Thu, 23 Jul 2026 12:00:10 GMT", now)
	require.True(t, ok)
	require.Equal(t, 10*time.Second, got, "9.7 s rounds up to whole seconds")
}

func TestParseAPIError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
		want   Error
		is     error
	}{
		{"Expired", 401, `{"error":{"status":401,"message":"The access token expired"}}`,
			Error{Status: 401, Message: "The access token expired"}, ErrUnauthorized},
		{"Quota", 429, `{"error":{"status":429,"message":"Too many requests","reason":"QUOTA_EXCEEDED"}}`,
			Error{Status: 429, Message: "Too many requests", Reason: "QUOTA_EXCEEDED"}, ErrRateLimited},
		{"OAuthShape", 400, `{"error":"invalid_request","error_description":"bad"}`,
			Error{Status: 400, Message: "bad", Reason: "invalid_request"}, nil},
		{"NotJSON", 502, `<html>Bad gateway</html>`, Error{Status: 502, Message: "Bad Gateway"}, nil},
		{"Empty", 404, ``, Error{Status: 404, Message: "Not Found"}, ErrNotFound},
		{"Forbidden", 403, `{"error":{"status":403,"message":"User not registered in the Developer Dashboard"}}`,
			Error{Status: 403, Message: "User not registered in the Developer Dashboard"}, ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := parseAPIError(tt.status, []byte(tt.body))
			require.Equal(t, tt.want, *got)
			if tt.is != nil {
				require.ErrorIs(t, got, tt.is)
			}
			require.NotErrorIs(t, got, ErrBlocked)
		})
	}
}

func TestErrorMessage(t *testing.T) {
	t.Parallel()
	e := &Error{Status: 429, Message: "Too many requests", Reason: "QUOTA_EXCEEDED", Endpoint: "/tracks/{id}",
		BlockedUntil: time.Date(2026, 7, 24, 12, 0, 0, 0, time.UTC)}
	require.Equal(t, "spotifyhist: spotify /tracks/{id}: 429 Too many requests (QUOTA_EXCEEDED); blocked until 2026-07-24T12:00:00Z", e.Error())
	e = &Error{Status: 503, Message: "Service unavailable", RetryAfter: 2 * time.Second}
	require.Equal(t, "spotifyhist: spotify 503 Service unavailable; retry after 2s", e.Error())
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestIsRetryable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"Nil", nil, false},
		{"RateLimited", &Error{Status: 429}, true},
		{"ServerError", fmt.Errorf("wrapped: %w", &Error{Status: 503}), true},
		{"NotFound", &Error{Status: 404}, false},
		{"NotFoundInURLError", &url.Error{Op: "Get", URL: "x", Err: &Error{Status: 404}}, false},
		{"Reauth", fmt.Errorf("x: %w", ErrReauthRequired), false},
		{"InvalidClient", ErrInvalidClient, false},
		{"Canceled", context.Canceled, false},
		{"Deadline", context.DeadlineExceeded, true},
		{"NetTimeout", &url.Error{Op: "Get", URL: "x", Err: timeoutErr{}}, true},
		{"ConnRefused", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{"UnexpectedEOF", io.ErrUnexpectedEOF, true},
		{"PlainURLError", &url.Error{Op: "Get", URL: "x", Err: errors.New("refused to send token")}, false},
		{"Decode", errors.New("decode response: unexpected end of JSON input"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, IsRetryable(tt.err))
		})
	}
}

func TestEndpointTemplate(t *testing.T) {
	t.Parallel()
	tests := []struct{ path, want string }{
		{"/v1/me", "/me"},
		{"/v1/me/", "/me"},
		{"/v1/me/player/recently-played", "/me/player/recently-played"},
		{"/v1/me/player/currently-playing", "/me/player/currently-playing"},
		{"/v1/me/playlists", "/me/playlists"},
		{"/v1/playlists/37i9dQZF1DXcBWIGoYBM5M", "/playlists/{id}"},
		{"/v1/playlists/37i9dQZF1DXcBWIGoYBM5M/items", "/playlists/{id}/items"},
		{"/v1/playlists/37i9dQZF1DXcBWIGoYBM5M/tracks", "/playlists/{id}/tracks"},
		{"/v1/tracks/11dFghVXANMlKmJXsNCbNl", "/tracks/{id}"},
		{"/v1/tracks", "/tracks"},
		{"/v1/users/someone/playlists", "/users/{id}/playlists"},
		{"/v1/whatever/abc123", "other"},
		{"/v2/me", "other"},
		{"/v1/playlists/a/b/c/d", "other"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, endpointTemplate("/v1/", &url.URL{Path: tt.path}))
		})
	}
}
