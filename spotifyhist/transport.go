package spotifyhist

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Transport is the App's http.RoundTripper for Web API calls, below the per-user
// authorisation layer. For every attempt it takes a token from the App's [Budget] (priority
// from the request context), records metrics under the request's route template, and
// handles failures:
//   - 429: Retry-After (seconds or HTTP-date) and reason are recorded on the Budget (see
//     [Budget] for the blocking policy) and returned as an [*Error]; a short rate limit
//     (Retry-After ≤ Config.MaxRetryWait, not QUOTA_EXCEEDED) is waited out and the request
//     retried once;
//   - 5xx, timeouts and connection errors of GET/HEAD requests: up to Config.MaxRetries
//     retries with jittered exponential backoff; the last 5xx response is returned as is;
//   - anything else is returned untouched.
//
// It never loops without bound and never waits longer than Config.MaxRetryWait for a rate
// limit. Each attempt is bounded by Config.HTTPClient.Timeout.
type Transport struct {
	base       http.RoundTripper
	timeout    time.Duration
	budget     *Budget
	m          *metrics
	log        *slog.Logger
	now        func() time.Time
	apiPath    string
	maxWait    time.Duration
	maxRetries int
	backoff    time.Duration
	backoffMax time.Duration
	jitter     bool
}

func newTransport(cfg Config, b *Budget, m *metrics, apiPath string) *Transport {
	base := cfg.HTTPClient.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	return &Transport{
		base:       base,
		timeout:    cfg.HTTPClient.Timeout,
		budget:     b,
		m:          m,
		log:        cfg.Logger,
		now:        cfg.Now,
		apiPath:    apiPath,
		maxWait:    cfg.MaxRetryWait,
		maxRetries: cfg.MaxRetries,
		backoff:    cfg.RetryBackoff,
		backoffMax: cfg.RetryBackoffMax,
		jitter:     !cfg.Test.DisableJitter,
	}
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	p := PriorityFromContext(ctx)
	ep := endpointTemplate(t.apiPath, req.URL)
	idempotent := (req.Method == http.MethodGet || req.Method == http.MethodHead) &&
		(req.Body == nil || req.Body == http.NoBody)
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	rateRetried := false
	for retry := 0; ; {
		if err := t.budget.Acquire(ctx, p); err != nil {
			var e *Error
			if errors.As(err, &e) {
				e.Endpoint = ep
				reason := rateLimitReasonBlocked
				if e.Reason == ReasonDailyBudget {
					reason = rateLimitReasonDaily
				}
				t.m.rateLimited.WithLabelValues(reason).Inc()
				t.log.DebugContext(ctx, "spotify api call refused: priority blocked",
					"endpoint", ep, "priority", p.String(), "blocked_until", e.BlockedUntil, "reason", e.Reason)
			}
			return nil, err
		}
		r := req
		if retry > 0 || rateRetried {
			r = req.Clone(ctx)
			if req.GetBody != nil {
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				r.Body = body
			}
		}
		resp, err := t.attempt(r, ep)
		if err != nil {
			if ctx.Err() == nil && idempotent && retry < t.maxRetries && (isTransientNetError(err) || errors.Is(err, context.DeadlineExceeded)) {
				if werr := t.sleepBackoff(ctx, ep, retry, "network", 0, err); werr != nil {
					return nil, werr
				}
				retry++
				continue
			}
			return nil, err
		}
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			e := apiErrorFromResponse(resp, ep, t.now())
			e.BlockedUntil = t.budget.NoteRateLimit(p, e.RetryAfter, e.Reason)
			quota := e.Reason == ReasonQuotaExceeded
			label := rateLimitReasonWindow
			if quota {
				label = rateLimitReasonQuota
			}
			t.m.rateLimited.WithLabelValues(label).Inc()
			t.log.WarnContext(ctx, "spotify api rate limited",
				"endpoint", ep, "priority", p.String(), "reason", e.Reason,
				"retry_after", e.RetryAfter, "blocked_until", e.BlockedUntil)
			if !quota && !rateRetried && replayable && !e.BlockedUntil.After(t.now().Add(t.maxWait)) {
				// The next Acquire waits until the block ends.
				rateRetried = true
				t.m.retries.WithLabelValues(ep, "rate_limit").Inc()
				continue
			}
			return nil, e
		case retryableStatus(resp.StatusCode) && idempotent && retry < t.maxRetries:
			ra, _ := parseRetryAfter(resp.Header.Get("Retry-After"), t.now())
			drain(resp)
			if werr := t.sleepBackoff(ctx, ep, retry, "server_error", ra, errors.New(resp.Status)); werr != nil {
				return nil, werr
			}
			retry++
			continue
		}
		return resp, nil
	}
}

// attempt performs one HTTP exchange with the per-attempt timeout and records metrics.
func (t *Transport) attempt(req *http.Request, ep string) (*http.Response, error) {
	var cancel context.CancelFunc
	if t.timeout > 0 {
		var ctx context.Context
		ctx, cancel = context.WithTimeout(req.Context(), t.timeout)
		req = req.WithContext(ctx)
	}
	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	status := 0
	if err == nil {
		status = resp.StatusCode
	}
	t.m.observeAttempt(ep, status, time.Since(start))
	if cancel != nil {
		if err != nil {
			cancel()
		} else {
			resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
		}
	}
	return resp, err
}

// sleepBackoff waits before retry number n+1: RetryBackoff·2^n (jittered, capped), or the
// server's Retry-After when longer and within MaxRetryWait.
func (t *Transport) sleepBackoff(ctx context.Context, ep string, n int, cause string, retryAfter time.Duration, err error) error {
	d := t.backoff << min(n, 30)
	if d <= 0 || d > t.backoffMax {
		d = t.backoffMax
	}
	if t.jitter {
		d = time.Duration(float64(d) * (0.5 + rand.Float64()))
	}
	if retryAfter > d && retryAfter <= t.maxWait {
		d = retryAfter
	}
	t.m.retries.WithLabelValues(ep, cause).Inc()
	t.log.DebugContext(ctx, "spotify api retry", "endpoint", ep, "attempt", n+2, "backoff", d, "error", err)
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

func retryableStatus(code int) bool {
	switch code {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// drain discards (a bounded part of) the body so the connection can be reused, and closes it.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	_ = resp.Body.Close()
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// isIDCollection reports whether a path segment is followed by an ID.
func isIDCollection(seg string) bool {
	switch seg {
	case "albums", "artists", "audio-features", "audiobooks", "chapters", "episodes", "playlists",
		"shows", "tracks", "users":
		return true
	}
	return false
}

// isKnownEndpoint bounds the endpoint label; anything else is "other".
func isKnownEndpoint(tmpl string) bool {
	switch tmpl {
	case "/me", "/me/player", "/me/player/recently-played", "/me/player/currently-playing",
		"/me/player/devices", "/me/player/queue", "/me/playlists", "/me/tracks", "/me/top/tracks",
		"/me/top/artists", "/playlists/{id}", "/playlists/{id}/items", "/playlists/{id}/tracks",
		"/tracks", "/tracks/{id}", "/albums", "/albums/{id}", "/albums/{id}/tracks", "/artists",
		"/artists/{id}", "/artists/{id}/albums", "/artists/{id}/top-tracks", "/episodes/{id}",
		"/shows/{id}", "/users/{id}", "/users/{id}/playlists", "/search":
		return true
	}
	return false
}

// endpointOther is the endpoint label of requests outside knownEndpoints.
const endpointOther = "other"

// endpointTemplate maps a request URL to a bounded route template such as
// "/playlists/{id}/items" (never raw IDs).
func endpointTemplate(apiPath string, u *url.URL) string {
	p := u.EscapedPath()
	if !strings.HasPrefix(p, apiPath) {
		return endpointOther
	}
	segs := strings.Split(strings.Trim(p[len(apiPath):], "/"), "/")
	for i := 0; i < len(segs); i++ {
		if isIDCollection(segs[i]) && i+1 < len(segs) {
			segs[i+1] = "{id}"
			i++
		}
	}
	tmpl := "/" + strings.Join(segs, "/")
	if isKnownEndpoint(tmpl) {
		return tmpl
	}
	return endpointOther
}
