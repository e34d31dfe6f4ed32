package spotifyhist

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/oauth2"
)

// Defaults for [Config] and [BudgetConfig]. A zero field in a config means the default below.
const (
	// APIURLDefault is the Spotify Web API base URL.
	APIURLDefault = "https://api.spotify.com/v1/"
	// AccountsURLDefault is the Spotify accounts service base URL; the authorize endpoint is
	// AccountsURL+"authorize" and the token endpoint AccountsURL+"api/token".
	AccountsURLDefault = "https://accounts.spotify.com/"
	// HTTPTimeoutDefault bounds one HTTP attempt (connect, request, response headers and body)
	// of the default HTTP client.
	HTTPTimeoutDefault = 30 * time.Second
	// MaxRetryWaitDefault is the longest Retry-After (or remaining block) a call waits for
	// before it fails fast with a rate-limit error instead.
	MaxRetryWaitDefault = 30 * time.Second
	// MaxRetriesDefault is how many times an idempotent request is retried after a 5xx, a
	// timeout or a connection error.
	MaxRetriesDefault = 3
	// RetryBackoffDefault is the first backoff delay after a 5xx or network error; it doubles
	// with each retry (with ±50 % jitter) up to RetryBackoffMaxDefault.
	RetryBackoffDefault = 500 * time.Millisecond
	// RetryBackoffMaxDefault caps one backoff delay.
	RetryBackoffMaxDefault = 8 * time.Second
)

// OAuth scopes the tracker asks for (reference: Spotify Web API, 2026).
const (
	ScopeUserReadRecentlyPlayed    = "user-read-recently-played"
	ScopeUserReadCurrentlyPlaying  = "user-read-currently-playing"
	ScopeUserReadPlaybackState     = "user-read-playback-state"
	ScopePlaylistReadPrivate       = "playlist-read-private"
	ScopePlaylistReadCollaborative = "playlist-read-collaborative"
)

// Scopes returns the five scopes requested at login, in a new slice. user-read-private and
// user-read-email are deliberately absent: they only unlock /me fields Spotify removed.
func Scopes() []string {
	return []string{
		ScopeUserReadRecentlyPlayed,
		ScopeUserReadCurrentlyPlaying,
		ScopeUserReadPlaybackState,
		ScopePlaylistReadPrivate,
		ScopePlaylistReadCollaborative,
	}
}

// Config configures an [App]. Only ClientID is required; every other zero field means the
// documented default.
type Config struct {
	// ClientID is the Spotify application's client ID. Required.
	ClientID string
	// ClientSecret is the application's client secret. Empty means a public client: the
	// authorization code flow with PKCE only, client_id sent in the token request body.
	ClientSecret string
	// RedirectURL is the OAuth callback registered with Spotify. Spotify accepts HTTPS URLs
	// and loopback IP literals (http://127.0.0.1:PORT/…, http://[::1]:PORT/…) and rejects
	// "localhost"; so does New. Needed for AuthCodeURL and Exchange; an App that only uses
	// stored tokens may leave it empty.
	RedirectURL string
	// APIURL is the Web API base URL. Default APIURLDefault. A missing trailing "/" is added.
	APIURL string
	// AccountsURL is the accounts service base URL. Default AccountsURLDefault. A missing
	// trailing "/" is added.
	AccountsURL string
	// HTTPClient provides the network transport (HTTPClient.Transport, nil meaning
	// http.DefaultTransport) and the per-attempt timeout (HTTPClient.Timeout, 0 meaning
	// none). Default: a client with HTTPTimeoutDefault. The App wraps the transport; it
	// never modifies the client.
	HTTPClient *http.Client
	// Registerer receives the App's metrics. Nil means no metrics are registered.
	Registerer prometheus.Registerer
	// Logger receives rate-limit, retry and token-refresh events. Nil means slog.Default().
	Logger *slog.Logger
	// Now is the wall clock used for token expiry, authorisation times, rate-limit blocks and
	// the pacing budget. Default time.Now. Waiting always uses real timers (use
	// testing/synctest in tests).
	Now func() time.Time
	// MaxRetryWait is the longest wait for a Retry-After or an active block before a call
	// fails fast with an [*Error] carrying BlockedUntil. Default MaxRetryWaitDefault.
	MaxRetryWait time.Duration
	// MaxRetries bounds retries of idempotent requests after 5xx responses, timeouts and
	// connection errors. Default MaxRetriesDefault; negative means no retries.
	MaxRetries int
	// RetryBackoff is the first retry delay; it doubles per retry. Default
	// RetryBackoffDefault.
	RetryBackoff time.Duration
	// RetryBackoffMax caps one retry delay. Default RetryBackoffMaxDefault.
	RetryBackoffMax time.Duration
	// Budget configures the app-wide request pacing shared by every Client of the App.
	Budget BudgetConfig
	// Test holds knobs for tests only.
	Test TestConfig
}

// TestConfig holds settings that only tests should change.
type TestConfig struct {
	// DisableJitter makes retry backoff delays exact (RetryBackoff·2^n, capped).
	DisableJitter bool
}

// withDefaults returns a copy of c with defaults filled in and URLs normalised.
func (c Config) withDefaults() Config {
	if c.APIURL == "" {
		c.APIURL = APIURLDefault
	}
	if c.AccountsURL == "" {
		c.AccountsURL = AccountsURLDefault
	}
	c.APIURL = withSlash(c.APIURL)
	c.AccountsURL = withSlash(c.AccountsURL)
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: HTTPTimeoutDefault}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MaxRetryWait == 0 {
		c.MaxRetryWait = MaxRetryWaitDefault
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = MaxRetriesDefault
	} else if c.MaxRetries < 0 {
		c.MaxRetries = 0
	}
	if c.RetryBackoff == 0 {
		c.RetryBackoff = RetryBackoffDefault
	}
	if c.RetryBackoffMax == 0 {
		c.RetryBackoffMax = RetryBackoffMaxDefault
	}
	c.Budget = c.Budget.withDefaults()
	return c
}

func withSlash(s string) string {
	if !strings.HasSuffix(s, "/") {
		return s + "/"
	}
	return s
}

// validate reports the first problem with an already defaulted config.
func (c Config) validate() error {
	if strings.TrimSpace(c.ClientID) == "" {
		return errors.New("ClientID is required")
	}
	for _, u := range []struct{ name, value string }{{"APIURL", c.APIURL}, {"AccountsURL", c.AccountsURL}} {
		p, err := url.Parse(u.value)
		if err != nil {
			return fmt.Errorf("%s: %w", u.name, err)
		}
		if (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return fmt.Errorf("%s %q: want an absolute http(s) URL", u.name, u.value)
		}
		if p.RawQuery != "" || p.Fragment != "" {
			return fmt.Errorf("%s %q: must not have a query or fragment", u.name, u.value)
		}
	}
	if c.RedirectURL != "" {
		if err := validateRedirectURL(c.RedirectURL); err != nil {
			return err
		}
	}
	if c.MaxRetryWait < 0 || c.RetryBackoff < 0 || c.RetryBackoffMax < 0 {
		return errors.New("MaxRetryWait, RetryBackoff and RetryBackoffMax must not be negative")
	}
	return c.Budget.validate()
}

// validateRedirectURL applies Spotify's redirect URI rules (since 2025-11-27): HTTPS, or
// plain HTTP to a loopback IP literal; "localhost" is rejected.
func validateRedirectURL(raw string) error {
	p, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("RedirectURL: %w", err)
	}
	if p.Host == "" {
		return fmt.Errorf("RedirectURL %q: want an absolute URL", raw)
	}
	if p.Fragment != "" {
		return fmt.Errorf("RedirectURL %q: must not have a fragment", raw)
	}
	host := p.Hostname()
	if strings.EqualFold(host, "localhost") {
		return fmt.Errorf("RedirectURL %q: Spotify rejects localhost, use http://127.0.0.1:PORT/… or http://[::1]:PORT/…", raw)
	}
	switch p.Scheme {
	case "https":
		return nil
	case "http":
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			return nil
		}
		return fmt.Errorf("RedirectURL %q: plain http is only allowed for loopback IP literals", raw)
	default:
		return fmt.Errorf("RedirectURL %q: want https, or http to a loopback IP literal", raw)
	}
}

// oauthConfig builds the x/oauth2 configuration for the accounts service. spotifyauth is not
// used because its endpoint URLs are constants.
func (c Config) oauthConfig() *oauth2.Config {
	style := oauth2.AuthStyleInHeader
	if c.ClientSecret == "" {
		style = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		RedirectURL:  c.RedirectURL,
		Scopes:       Scopes(),
		Endpoint: oauth2.Endpoint{
			AuthURL:   c.AccountsURL + "authorize",
			TokenURL:  c.AccountsURL + "api/token",
			AuthStyle: style,
		},
	}
}
