package spotifyhist

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors. Test with errors.Is; an [*Error] matches the sentinel of its status.
var (
	// ErrUnauthorized: HTTP 401, the access token was missing, invalid or expired even
	// after one refresh.
	ErrUnauthorized = errors.New("spotifyhist: unauthorized")
	// ErrForbidden: HTTP 403, e.g. a playlist the user neither owns nor collaborates on, a
	// user not allow-listed in the developer dashboard, or an endpoint removed for
	// Development Mode.
	ErrForbidden = errors.New("spotifyhist: forbidden")
	// ErrNotFound: HTTP 404.
	ErrNotFound = errors.New("spotifyhist: not found")
	// ErrRateLimited: HTTP 429 from Spotify, or a call refused locally because an earlier
	// 429 blocked its priority class (see [ErrBlocked]).
	ErrRateLimited = errors.New("spotifyhist: rate limited")
	// ErrBlocked matches rate-limit errors produced locally, without contacting Spotify,
	// because an earlier 429 or the pacing budget blocks the call's priority class for longer
	// than Config.MaxRetryWait. Every such error also matches ErrRateLimited.
	ErrBlocked = errors.New("spotifyhist: blocked by an earlier rate limit")
	// ErrReauthRequired: the refresh token (or authorization code) was rejected with
	// invalid_grant: expired (6 months after authorisation), revoked, or never valid. It is
	// terminal for that user: stop calling Spotify for them and ask them to log in again.
	ErrReauthRequired = errors.New("spotifyhist: user must re-authorise")
	// ErrInvalidClient: the accounts service rejected the client credentials
	// (invalid_client); it affects every user of the App.
	ErrInvalidClient = errors.New("spotifyhist: invalid client credentials")
	// ErrInvalidID: an ID or URI given to a method is not a Spotify base-62 ID.
	ErrInvalidID = errors.New("spotifyhist: invalid spotify id")
)

// Error is an error response of the Spotify Web API or the accounts service, or a rate-limit
// refusal produced locally (then Is(ErrBlocked) is true).
type Error struct {
	// Status is the HTTP status code (429 for local refusals).
	Status int
	// Message is Spotify's error message, e.g. "The access token expired".
	Message string
	// Reason is Spotify's machine-readable reason, e.g. "QUOTA_EXCEEDED", or the OAuth error
	// code ("invalid_request") for the token endpoint.
	Reason string
	// RetryAfter is the server's Retry-After, or for a local refusal the time left until the
	// block ends. Zero when unknown.
	RetryAfter time.Duration
	// BlockedUntil is set for rate-limit errors: the time until which the App refuses calls
	// of the priority class that got this error.
	BlockedUntil time.Time
	// Endpoint is the route template of the request, e.g. "/playlists/{id}/items".
	Endpoint string

	local bool
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("spotifyhist: spotify ")
	if e.Endpoint != "" {
		b.WriteString(e.Endpoint)
		b.WriteString(": ")
	}
	if e.local {
		b.WriteString("not sent: ")
	}
	b.WriteString(strconv.Itoa(e.Status))
	if e.Message != "" {
		b.WriteString(" ")
		b.WriteString(e.Message)
	}
	if e.Reason != "" {
		b.WriteString(" (")
		b.WriteString(e.Reason)
		b.WriteString(")")
	}
	if !e.BlockedUntil.IsZero() {
		b.WriteString("; blocked until ")
		b.WriteString(e.BlockedUntil.UTC().Format(time.RFC3339))
	} else if e.RetryAfter > 0 {
		b.WriteString("; retry after ")
		b.WriteString(e.RetryAfter.String())
	}
	return b.String()
}

// Is maps the status to the sentinels ErrUnauthorized, ErrForbidden, ErrNotFound and
// ErrRateLimited, and local refusals to ErrBlocked.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	case ErrBlocked:
		return e.local
	}
	return false
}

// ReasonQuotaExceeded is the 429 reason Spotify gives when the developer account's
// Development Mode quota is used up; Retry-After is then often many hours.
const ReasonQuotaExceeded = "QUOTA_EXCEEDED"

// RetryAfter returns how long to wait before retrying when err carries a Retry-After (or the
// remaining time of a local block).
func RetryAfter(err error) (time.Duration, bool) {
	var e *Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		return e.RetryAfter, true
	}
	return 0, false
}

// BlockedUntil returns the time until which calls of the failed call's priority class are
// refused, when err is a rate-limit error.
func BlockedUntil(err error) (time.Time, bool) {
	var e *Error
	if errors.As(err, &e) && !e.BlockedUntil.IsZero() {
		return e.BlockedUntil, true
	}
	return time.Time{}, false
}

// IsRetryable reports whether the same call may succeed later without anyone's action:
// rate limits (after RetryAfter), 5xx, timeouts and network errors, including those of the
// token endpoint. It is false for ErrReauthRequired, ErrInvalidClient, other 4xx errors,
// malformed responses and context cancellation.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrReauthRequired) || errors.Is(err, ErrInvalidClient) || errors.Is(err, context.Canceled) {
		return false
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Status == http.StatusTooManyRequests || e.Status >= 500
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	return isTransientNetError(err)
}

// isTransientNetError reports whether a transport error is worth retrying: timeouts,
// refused/reset connections, unexpected EOFs; not certificate problems.
func isTransientNetError(err error) bool {
	// *url.Error implements net.Error whatever it wraps: judge what it wraps.
	for {
		var ue *url.Error
		if !errors.As(err, &ue) {
			break
		}
		err = ue.Err
	}
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verify           *tls.CertificateVerificationError
		recordHeader     tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &unknownAuthority), errors.As(err, &hostname), errors.As(err, &invalid),
		errors.As(err, &verify), errors.As(err, &recordHeader):
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed)
}

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 64 << 10

// apiErrorFromResponse builds an *Error from a non-2xx Web API response and closes its body.
func apiErrorFromResponse(resp *http.Response, endpoint string, now time.Time) *Error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_ = resp.Body.Close()
	e := parseAPIError(resp.StatusCode, body)
	e.Endpoint = endpoint
	if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
		e.RetryAfter = ra
	}
	return e
}

// parseAPIError decodes {"error":{"status","message","reason"}}, tolerating the OAuth shape
// {"error":"code","error_description":"…"} and non-JSON bodies.
func parseAPIError(status int, body []byte) *Error {
	e := &Error{Status: status}
	var wire struct {
		Error json.RawMessage `json:"error"`
		Desc  string          `json:"error_description"`
	}
	if json.Unmarshal(body, &wire) == nil && len(wire.Error) > 0 {
		var obj struct {
			Status  int    `json:"status"`
			Message string `json:"message"`
			Reason  string `json:"reason"`
		}
		var code string
		switch {
		case json.Unmarshal(wire.Error, &obj) == nil:
			e.Message, e.Reason = obj.Message, obj.Reason
		case json.Unmarshal(wire.Error, &code) == nil:
			e.Reason, e.Message = code, wire.Desc
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// parseRetryAfter parses a Retry-After header: delay-seconds or an HTTP-date (relative to
// now). Negative or past values give 0, true.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		const maxSecs = int64(1<<63-1) / int64(time.Second)
		switch {
		case secs <= 0:
			return 0, true
		case secs > maxSecs:
			return time.Duration(maxSecs) * time.Second, true
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		// HTTP-dates have whole-second precision: round up so a retry never comes early.
		if r := d % time.Second; r != 0 {
			d += time.Second - r
		}
		return d, true
	}
	return 0, false
}

// wrap adds the package prefix and operation to err.
func wrap(op string, err error) error {
	return fmt.Errorf("spotifyhist: %s: %w", op, err)
}
