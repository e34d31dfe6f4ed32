package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spotifyhist/spotifyhist/spotifyhist"
)

// Defaults of the configuration (DESIGN §8). The lease TTL and heartbeat
// interval are chosen so that a dead replica's users are polled again by the
// survivors within 30 s: a lease expires at most LeaseTTL after its last
// renewal, and survivors look for free users every heartbeat.
const (
	defaultDataDir          = "./data"
	defaultListen           = "127.0.0.1:8080"
	defaultAPIURL           = "https://api.spotify.com/v1/"
	defaultAccountsURL      = "https://accounts.spotify.com/"
	defaultHistoryInterval  = 20 * time.Minute
	defaultRealtimeInterval = 5 * time.Second
	defaultHeartbeat        = 5 * time.Second
	defaultLeaseTTL         = 20 * time.Second
	defaultMaxUpload        = 512 << 20
	// defaultEnrichmentPerDay keeps the artist linker under the daily
	// Development Mode ceiling reported for /tracks/{id} (about 500–600).
	defaultEnrichmentPerDay = 450
	sqliteFileName          = "spotifyhist.db"
	secretKeyFileName       = "secret.key"
)

// config is the daemon's configuration after environment and flags.
type config struct {
	DatabaseURL          string
	DataDir              string
	Listen               string
	MetricsListen        string
	BaseURL              string
	ClientID             string
	ClientSecret         string
	APIURL               string
	AccountsURL          string
	SecretKey            string
	HistoryPollInterval  time.Duration
	RealtimePollInterval time.Duration
	HeartbeatInterval    time.Duration
	LeaseTTL             time.Duration
	LogLevel             string
	LogFormat            string
	PublicStats          bool
	MaxUploadBytes       int64
	LinkArtistsInterval  time.Duration
	DisplayTimezone      string
	SpotifyRequests      int64
	EnrichmentPerDay     int64
}

// setting describes one configuration variable: its environment name, the
// flag that overrides it, and where it lands.
type setting struct {
	env    string
	flag   string
	usage  string
	secret bool // also read from env+"_FILE"
	bind   func(c *config) flag.Value
}

func settings() []setting {
	return []setting{
		{env: "SPOTIFYHIST_DATABASE_URL", flag: "database-url", usage: "database: sqlite:PATH or postgres://… (default sqlite file spotifyhist.db in the data dir)", secret: true,
			bind: func(c *config) flag.Value { return (*stringValue)(&c.DatabaseURL) }},
		{env: "SPOTIFYHIST_DATA_DIR", flag: "data-dir", usage: "directory for the embedded database, the generated secret key and uploads",
			bind: func(c *config) flag.Value { return (*stringValue)(&c.DataDir) }},
		{env: "SPOTIFYHIST_LISTEN", flag: "listen", usage: "address the web server listens on",
			bind: func(c *config) flag.Value { return (*stringValue)(&c.Listen) }},
		{env: "SPOTIFYHIST_METRICS_LISTEN", flag: "metrics-listen", usage: "separate address for /metrics (empty: on the main listener)",
			bind: func(c *config) flag.Value { return (*stringValue)(&c.MetricsListen) }},
		{env: "SPOTIFYHIST_BASE_URL", flag: "base-url", usage: "public URL; the OAuth redirect is BASE_URL/auth/callback (default http:// and the listen address, http://127.0.0.1:8080)",
			bind: func(c *config) flag.Value { return (*stringValue)(&c.BaseURL) }},
		{env: "SPOTIFYHIST_SPOTIFY_CLIENT_ID", flag: "spotify-client-id", usage: "Spotify app client id (empty: local single-user mode)",
			bind: func(c *config) flag.Value { return (*stringValue)(&c.ClientID) }},
		{env: "SPOTIFYHIST_SPOTIFY_CLIENT_SECRET", flag: "spotify-client-secret", usage: "Spotify app client secret (empty with a client id: PKCE without secret)", secret: true,
			bind: func(c *config) flag.Value { return (*stringValue)(&c.ClientSecret) }},
		{env: "SPOTIFYHIST_SPOTIFY_API_URL", flag: "spotify-api-url", usage: "Spotify Web API base URL",
			bind: func(c *config) flag.Value { return (*stringValue)(&c.APIURL) }},
		{env: "SPOTIFYHIST_SPOTIFY_ACCOUNTS_URL", flag: "spotify-accounts-url", usage: "Spotify accounts service base URL",
			bind: func(c *config) flag.Value { return (*stringValue)(&c.AccountsURL) }},
		{env: "SPOTIFYHIST_SECRET_KEY", flag: "secret-key", usage: "key that encrypts tokens at rest (required with PostgreSQL; generated into the data dir with SQLite)", secret: true,
			bind: func(c *config) flag.Value { return (*stringValue)(&c.SecretKey) }},
		{env: "SPOTIFYHIST_HISTORY_POLL_INTERVAL", flag: "history-poll-interval", usage: "recently-played poll interval",
			bind: func(c *config) flag.Value { return (*durationValue)(&c.HistoryPollInterval) }},
		{env: "SPOTIFYHIST_REALTIME_POLL_INTERVAL", flag: "realtime-poll-interval", usage: "currently-playing poll interval",
			bind: func(c *config) flag.Value { return (*durationValue)(&c.RealtimePollInterval) }},
		{env: "SPOTIFYHIST_HEARTBEAT_INTERVAL", flag: "heartbeat-interval", usage: "worker heartbeat and rebalance interval",
			bind: func(c *config) flag.Value { return (*durationValue)(&c.HeartbeatInterval) }},
		{env: "SPOTIFYHIST_LEASE_TTL", flag: "lease-ttl", usage: "how long a user lease lasts without renewal",
			bind: func(c *config) flag.Value { return (*durationValue)(&c.LeaseTTL) }},
		{env: "SPOTIFYHIST_LOG_LEVEL", flag: "log-level", usage: "debug, info, warn or error",
			bind: func(c *config) flag.Value { return (*stringValue)(&c.LogLevel) }},
		{env: "SPOTIFYHIST_LOG_FORMAT", flag: "log-format", usage: "text or json",
			bind: func(c *config) flag.Value { return (*stringValue)(&c.LogFormat) }},
		{env: "SPOTIFYHIST_PUBLIC_STATS", flag: "public-stats", usage: "serve global statistics on the public page and API",
			bind: func(c *config) flag.Value { return (*boolValue)(&c.PublicStats) }},
		{env: "SPOTIFYHIST_MAX_UPLOAD_BYTES", flag: "max-upload-bytes", usage: "largest accepted export upload",
			bind: func(c *config) flag.Value { return (*int64Value)(&c.MaxUploadBytes) }},
		{env: "SPOTIFYHIST_LINK_ARTISTS_INTERVAL", flag: "link-artists-interval", usage: "how often serve runs the artist linker (0: never; use the link-artists command)",
			bind: func(c *config) flag.Value { return (*durationValue)(&c.LinkArtistsInterval) }},
		{env: "SPOTIFYHIST_SPOTIFY_REQUESTS_PER_30S", flag: "spotify-requests-per-30s", usage: "app-wide Spotify Web API calls allowed in any rolling 30 s, per process (Spotify limits the app, not the user)",
			bind: func(c *config) flag.Value { return (*int64Value)(&c.SpotifyRequests) }},
		{env: "SPOTIFYHIST_SPOTIFY_ENRICHMENT_PER_DAY", flag: "spotify-enrichment-per-day", usage: "track lookups (artist linker) allowed in any rolling 24 h; 0: no daily cap",
			bind: func(c *config) flag.Value { return (*int64Value)(&c.EnrichmentPerDay) }},
		{env: "SPOTIFYHIST_DISPLAY_TIMEZONE", flag: "display-timezone", usage: "IANA zone of API statistics that name none (the dashboard sends the browser's zone)",
			bind: func(c *config) flag.Value { return (*stringValue)(&c.DisplayTimezone) }},
	}
}

func defaultConfig() config {
	return config{
		DataDir:              defaultDataDir,
		Listen:               defaultListen,
		APIURL:               defaultAPIURL,
		AccountsURL:          defaultAccountsURL,
		HistoryPollInterval:  defaultHistoryInterval,
		RealtimePollInterval: defaultRealtimeInterval,
		HeartbeatInterval:    defaultHeartbeat,
		LeaseTTL:             defaultLeaseTTL,
		LogLevel:             "info",
		LogFormat:            "text",
		PublicStats:          true,
		MaxUploadBytes:       defaultMaxUpload,
		LinkArtistsInterval:  24 * time.Hour,
		SpotifyRequests:      spotifyhist.BudgetRequestsDefault,
		EnrichmentPerDay:     defaultEnrichmentPerDay,
		DisplayTimezone:      "UTC",
	}
}

// configFlags registers every setting as a flag on fs and returns a function
// that, after fs.Parse, builds the configuration: defaults, then the
// environment (and *_FILE for secrets), then the flags that were set; an
// unset base URL follows the listen address.
func configFlags(fs *flag.FlagSet, getenv func(string) string) func() (config, error) {
	flagged := config{}
	for _, s := range settings() {
		fs.Var(s.bind(&flagged), s.flag, s.usage+" (env "+s.env+")")
	}
	return func() (config, error) {
		c := defaultConfig()
		var errs []error
		for _, s := range settings() {
			val, ok, err := lookupEnv(getenv, s)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if ok {
				if err := s.bind(&c).Set(val); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", s.env, err))
				}
			}
		}
		fs.Visit(func(f *flag.Flag) {
			for _, s := range settings() {
				if s.flag == f.Name {
					_ = s.bind(&c).Set(s.bind(&flagged).String())
				}
			}
		})
		if err := errors.Join(errs...); err != nil {
			return c, err
		}
		if c.BaseURL == "" {
			c.BaseURL = baseURLFor(c.Listen)
		}
		return c, c.validate()
	}
}

// baseURLFor is the default public URL of a listen address: http on the
// same port, on the loopback address when the listener takes every address
// (Spotify accepts plain http only on a loopback IP literal).
func baseURLFor(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// lookupEnv reads a setting's variable; a secret may instead come from the
// file named by its _FILE variable (not both: which one wins would be a
// guess).
func lookupEnv(getenv func(string) string, s setting) (string, bool, error) {
	v := getenv(s.env)
	path := ""
	if s.secret {
		path = getenv(s.env + "_FILE")
	}
	switch {
	case v != "" && path != "":
		return "", false, fmt.Errorf("%s and %s_FILE are both set: set one", s.env, s.env)
	case v != "":
		return v, true, nil
	case path == "":
		return "", false, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false, fmt.Errorf("%s_FILE: %w", s.env, err)
	}
	return strings.TrimRight(string(b), "\r\n"), true, nil
}

// validate checks the configuration and names the variable at fault.
func (c *config) validate() error {
	var errs []error
	bad := func(env, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{env}, args...)...))
	}
	if c.DataDir == "" {
		bad("SPOTIFYHIST_DATA_DIR", "must not be empty")
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("SPOTIFYHIST_LISTEN", "want HOST:PORT, got %q", c.Listen)
	}
	if _, _, err := net.SplitHostPort(c.MetricsListen); c.MetricsListen != "" && err != nil {
		bad("SPOTIFYHIST_METRICS_LISTEN", "want HOST:PORT or empty, got %q", c.MetricsListen)
	}
	if _, err := c.database(); err != nil {
		bad("SPOTIFYHIST_DATABASE_URL", "%v", err)
	}
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("SPOTIFYHIST_BASE_URL", "want an absolute http(s) URL, got %q", c.BaseURL)
	} else if u.Hostname() == "localhost" && c.ClientID != "" {
		bad("SPOTIFYHIST_BASE_URL", "Spotify rejects redirect URIs on localhost; use http://127.0.0.1:PORT or https")
	}
	for env, v := range map[string]string{"SPOTIFYHIST_SPOTIFY_API_URL": c.APIURL, "SPOTIFYHIST_SPOTIFY_ACCOUNTS_URL": c.AccountsURL} {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(env, "want an absolute http(s) URL, got %q", v)
		}
	}
	if c.ClientSecret != "" && c.ClientID == "" {
		bad("SPOTIFYHIST_SPOTIFY_CLIENT_ID", "required when SPOTIFYHIST_SPOTIFY_CLIENT_SECRET is set")
	}
	if c.HistoryPollInterval < time.Minute {
		bad("SPOTIFYHIST_HISTORY_POLL_INTERVAL", "must be at least 1m, got %s", c.HistoryPollInterval)
	}
	if c.RealtimePollInterval < time.Second {
		bad("SPOTIFYHIST_REALTIME_POLL_INTERVAL", "must be at least 1s, got %s", c.RealtimePollInterval)
	}
	if c.HeartbeatInterval <= 0 {
		bad("SPOTIFYHIST_HEARTBEAT_INTERVAL", "must be positive, got %s", c.HeartbeatInterval)
	}
	if c.LeaseTTL < 2*c.HeartbeatInterval {
		bad("SPOTIFYHIST_LEASE_TTL", "must be at least twice SPOTIFYHIST_HEARTBEAT_INTERVAL (%s), got %s", c.HeartbeatInterval, c.LeaseTTL)
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		bad("SPOTIFYHIST_LOG_LEVEL", "%v", err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("SPOTIFYHIST_LOG_FORMAT", "want text or json, got %q", c.LogFormat)
	}
	if c.MaxUploadBytes <= 0 {
		bad("SPOTIFYHIST_MAX_UPLOAD_BYTES", "must be positive")
	}
	if c.LinkArtistsInterval < 0 {
		bad("SPOTIFYHIST_LINK_ARTISTS_INTERVAL", "must not be negative")
	}
	if c.SpotifyRequests < 10 {
		bad("SPOTIFYHIST_SPOTIFY_REQUESTS_PER_30S", "must be at least 10, got %d", c.SpotifyRequests)
	}
	if c.EnrichmentPerDay < 0 {
		bad("SPOTIFYHIST_SPOTIFY_ENRICHMENT_PER_DAY", "must not be negative")
	}
	if _, err := c.displayLocation(); err != nil {
		bad("SPOTIFYHIST_DISPLAY_TIMEZONE", "unknown zone %q (want an IANA name such as Europe/Berlin)", c.DisplayTimezone)
	}
	if db, err := c.database(); err == nil && db.kind == "postgres" && c.SecretKey == "" {
		bad("SPOTIFYHIST_SECRET_KEY", "required with PostgreSQL (every replica must share it)")
	}
	return errors.Join(errs...)
}

// displayLocation is the zone of statistics whose request names none.
func (c *config) displayLocation() (*time.Location, error) {
	if c.DisplayTimezone == "Local" {
		return nil, errors.New("the machine's zone is not a stable choice")
	}
	return time.LoadLocation(c.DisplayTimezone)
}

// localMode reports whether the instance runs without Spotify credentials.
func (c *config) localMode() bool { return c.ClientID == "" }

// databaseTarget is a parsed SPOTIFYHIST_DATABASE_URL.
type databaseTarget struct {
	kind string // sqlite or postgres
	path string // sqlite file
	url  string // postgres URL
}

func (c *config) database() (databaseTarget, error) {
	raw := c.DatabaseURL
	switch {
	case raw == "":
		return databaseTarget{kind: "sqlite", path: filepath.Join(c.DataDir, sqliteFileName)}, nil
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		if u, err := url.Parse(raw); err != nil || u.Host == "" {
			// url.Parse's error quotes the URL, password included.
			return databaseTarget{}, errors.New("malformed PostgreSQL URL: want postgres://USER:PASSWORD@HOST:PORT/DATABASE?OPTIONS")
		}
		return databaseTarget{kind: "postgres", url: raw}, nil
	case strings.HasPrefix(raw, "sqlite:"):
		p := strings.TrimPrefix(strings.TrimPrefix(raw, "sqlite:"), "//")
		if p == "" {
			p = filepath.Join(c.DataDir, sqliteFileName)
		}
		return databaseTarget{kind: "sqlite", path: p}, nil
	}
	return databaseTarget{}, fmt.Errorf("want sqlite:PATH or postgres://…, got %q", redactURL(raw))
}

// redactURL hides a password in a database URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("want debug, info, warn or error, got %q", s)
	}
	return l, nil
}

type stringValue string

func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }
func (v *stringValue) String() string     { return string(*v) }

type durationValue time.Duration

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration such as 20m or 5s, got %q", s)
	}
	*v = durationValue(d)
	return nil
}
func (v *durationValue) String() string { return time.Duration(*v).String() }

type boolValue bool

func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("want true or false, got %q", s)
	}
	*v = boolValue(b)
	return nil
}
func (v *boolValue) String() string   { return strconv.FormatBool(bool(*v)) }
func (v *boolValue) IsBoolFlag() bool { return true }

type int64Value int64

func (v *int64Value) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("want a whole number, got %q", s)
	}
	*v = int64Value(n)
	return nil
}
func (v *int64Value) String() string { return strconv.FormatInt(int64(*v), 10) }

// spotifyConfig is the Spotify client configuration of serve and
// link-artists.
func (c *config) spotifyConfig() spotifyhist.Config {
	return spotifyhist.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		RedirectURL:  strings.TrimRight(c.BaseURL, "/") + "/auth/callback",
		APIURL:       c.APIURL,
		AccountsURL:  c.AccountsURL,
		Budget: spotifyhist.BudgetConfig{
			Requests:         int(c.SpotifyRequests),
			EnrichmentPerDay: int(c.EnrichmentPerDay),
		},
	}
}
