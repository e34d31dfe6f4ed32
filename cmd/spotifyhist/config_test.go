package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func parseConfig(t *testing.T, env map[string]string, args ...string) (config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	build := configFlags(fs, func(k string) string { return env[k] })
	require.NoError(t, fs.Parse(args))
	return build()
}

func TestConfig(t *testing.T) {
	t.Parallel()
	secretFile := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secretFile, []byte("from-file\n"), 0o600))
	dbFile := filepath.Join(t.TempDir(), "db-url")
	require.NoError(t, os.WriteFile(dbFile, []byte("postgres://u:pw@db:5432/x\r\n"), 0o600))

	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		check   func(t *testing.T, c config)
		wantErr string
		alsoErr string // a second mistake the same error must name
	}{
		{
			name: "Defaults",
			check: func(t *testing.T, c config) {
				require.Equal(t, "127.0.0.1:8080", c.Listen)
				require.Equal(t, "./data", c.DataDir)
				require.Equal(t, 20*time.Minute, c.HistoryPollInterval)
				require.Equal(t, 5*time.Second, c.RealtimePollInterval)
				require.True(t, c.localMode())
				db, err := c.database()
				require.NoError(t, err)
				require.Equal(t, "sqlite", db.kind)
				require.Equal(t, filepath.Join("data", "spotifyhist.db"), filepath.Clean(db.path))
				require.LessOrEqual(t, c.LeaseTTL+c.HeartbeatInterval, 30*time.Second, "failover must stay within 30 s")
				require.Equal(t, "http://127.0.0.1:8080", c.BaseURL)
				require.Equal(t, "https://api.spotify.com/v1/", c.APIURL)
				require.Equal(t, "https://accounts.spotify.com/", c.AccountsURL)
				require.Equal(t, "info", c.LogLevel)
				require.Equal(t, "text", c.LogFormat)
				require.Empty(t, c.MetricsListen)
			},
		},
		{
			name: "FlagsOverEnvironmentOverDefaults",
			env: map[string]string{
				"SPOTIFYHIST_REALTIME_POLL_INTERVAL": "7s", "SPOTIFYHIST_PUBLIC_STATS": "false",
				"SPOTIFYHIST_MAX_UPLOAD_BYTES": "1000", "SPOTIFYHIST_LOG_LEVEL": "debug", "SPOTIFYHIST_DATA_DIR": "/env",
			},
			args: []string{"--realtime-poll-interval", "9s", "--public-stats", "--max-upload-bytes=2000", "--data-dir", "/flag"},
			check: func(t *testing.T, c config) {
				require.Equal(t, 9*time.Second, c.RealtimePollInterval)
				require.True(t, c.PublicStats)
				require.Equal(t, int64(2000), c.MaxUploadBytes)
				require.Equal(t, "debug", c.LogLevel, "environment over default")
				require.Equal(t, "/flag", c.DataDir)
				require.Equal(t, 20*time.Minute, c.HistoryPollInterval, "default")
			},
		},
		{
			name: "FlagCanSetFalse",
			env:  map[string]string{"SPOTIFYHIST_PUBLIC_STATS": "true"},
			args: []string{"--public-stats=false"},
			check: func(t *testing.T, c config) {
				require.False(t, c.PublicStats)
			},
		},
		{
			name: "BaseURLFollowsListen",
			env:  map[string]string{"SPOTIFYHIST_LISTEN": "0.0.0.0:9000"},
			check: func(t *testing.T, c config) {
				require.Equal(t, "http://127.0.0.1:9000", c.BaseURL)
			},
		},
		{
			name: "BaseURLFollowsListenIPv6",
			args: []string{"--listen", "[::1]:9001"},
			check: func(t *testing.T, c config) {
				require.Equal(t, "http://[::1]:9001", c.BaseURL)
			},
		},
		{
			name: "ExplicitBaseURL",
			env:  map[string]string{"SPOTIFYHIST_LISTEN": ":9000", "SPOTIFYHIST_BASE_URL": "https://music.example"},
			check: func(t *testing.T, c config) {
				require.Equal(t, "https://music.example", c.BaseURL)
			},
		},
		{
			name: "DatabaseURLFromFile",
			env:  map[string]string{"SPOTIFYHIST_DATABASE_URL_FILE": dbFile, "SPOTIFYHIST_SECRET_KEY": "k"},
			check: func(t *testing.T, c config) {
				require.Equal(t, "postgres://u:pw@db:5432/x", c.DatabaseURL, "trailing newline trimmed")
			},
		},
		{
			name:    "SecretAndFileBothSet",
			env:     map[string]string{"SPOTIFYHIST_SECRET_KEY": "k", "SPOTIFYHIST_SECRET_KEY_FILE": secretFile},
			wantErr: "SPOTIFYHIST_SECRET_KEY and SPOTIFYHIST_SECRET_KEY_FILE are both set",
		},
		{
			name: "FileVariantOnlyForSecrets",
			env:  map[string]string{"SPOTIFYHIST_LISTEN_FILE": "/nonexistent"},
			check: func(t *testing.T, c config) {
				require.Equal(t, "127.0.0.1:8080", c.Listen)
			},
		},
		{
			name:    "MalformedPostgresURL",
			env:     map[string]string{"SPOTIFYHIST_DATABASE_URL": "postgres://u:secretpw@db:port/x", "SPOTIFYHIST_SECRET_KEY": "k"},
			wantErr: "SPOTIFYHIST_DATABASE_URL: malformed PostgreSQL URL",
		},
		{
			name:    "BadListen",
			env:     map[string]string{"SPOTIFYHIST_LISTEN": "8080"},
			wantErr: "SPOTIFYHIST_LISTEN: want HOST:PORT",
		},
		{
			name:    "BadMetricsListen",
			env:     map[string]string{"SPOTIFYHIST_METRICS_LISTEN": "metrics"},
			wantErr: "SPOTIFYHIST_METRICS_LISTEN",
		},
		{
			name:    "SecretWithoutClientID",
			env:     map[string]string{"SPOTIFYHIST_SPOTIFY_CLIENT_SECRET": "s"},
			wantErr: "SPOTIFYHIST_SPOTIFY_CLIENT_ID: required",
		},
		{
			name:    "HistoryPollTooFast",
			env:     map[string]string{"SPOTIFYHIST_HISTORY_POLL_INTERVAL": "10s"},
			wantErr: "SPOTIFYHIST_HISTORY_POLL_INTERVAL: must be at least 1m",
		},
		{
			name:    "MachineZoneRejected",
			env:     map[string]string{"SPOTIFYHIST_DISPLAY_TIMEZONE": "Local"},
			wantErr: "SPOTIFYHIST_DISPLAY_TIMEZONE",
		},
		{
			name:    "EveryMistakeReported",
			env:     map[string]string{"SPOTIFYHIST_LOG_LEVEL": "loud", "SPOTIFYHIST_LOG_FORMAT": "xml"},
			wantErr: "SPOTIFYHIST_LOG_LEVEL",
			alsoErr: "SPOTIFYHIST_LOG_FORMAT",
		},
		{
			name: "EnvironmentAndFlagOverride",
			env:  map[string]string{"SPOTIFYHIST_LISTEN": "0.0.0.0:9000", "SPOTIFYHIST_HISTORY_POLL_INTERVAL": "30m"},
			args: []string{"--listen", "127.0.0.1:9999"},
			check: func(t *testing.T, c config) {
				require.Equal(t, "127.0.0.1:9999", c.Listen)
				require.Equal(t, 30*time.Minute, c.HistoryPollInterval)
			},
		},
		{
			name: "SecretFromFile",
			env:  map[string]string{"SPOTIFYHIST_SECRET_KEY_FILE": secretFile},
			check: func(t *testing.T, c config) {
				require.Equal(t, "from-file", c.SecretKey)
			},
		},
		{
			name:    "MissingSecretFile",
			env:     map[string]string{"SPOTIFYHIST_SPOTIFY_CLIENT_SECRET_FILE": "/nonexistent/secret"},
			wantErr: "SPOTIFYHIST_SPOTIFY_CLIENT_SECRET_FILE",
		},
		{
			name:    "PostgresNeedsSecretKey",
			env:     map[string]string{"SPOTIFYHIST_DATABASE_URL": "postgres://u:pw@db:5432/x"},
			wantErr: "SPOTIFYHIST_SECRET_KEY: required with PostgreSQL",
		},
		{
			name: "Postgres",
			env:  map[string]string{"SPOTIFYHIST_DATABASE_URL": "postgres://u:pw@db:5432/x", "SPOTIFYHIST_SECRET_KEY": "k"},
			check: func(t *testing.T, c config) {
				db, err := c.database()
				require.NoError(t, err)
				require.Equal(t, "postgres", db.kind)
			},
		},
		{
			name: "SQLitePath",
			env:  map[string]string{"SPOTIFYHIST_DATABASE_URL": "sqlite:/var/lib/x.db"},
			check: func(t *testing.T, c config) {
				db, err := c.database()
				require.NoError(t, err)
				require.Equal(t, "/var/lib/x.db", db.path)
			},
		},
		{
			name:    "UnknownDatabase",
			env:     map[string]string{"SPOTIFYHIST_DATABASE_URL": "mysql://u:secretpw@x/y"},
			wantErr: "SPOTIFYHIST_DATABASE_URL: want sqlite:PATH or postgres://…",
		},
		{
			name:    "BadDuration",
			env:     map[string]string{"SPOTIFYHIST_REALTIME_POLL_INTERVAL": "fast"},
			wantErr: "SPOTIFYHIST_REALTIME_POLL_INTERVAL: want a duration",
		},
		{
			name:    "LocalhostRedirectRejected",
			env:     map[string]string{"SPOTIFYHIST_SPOTIFY_CLIENT_ID": "id", "SPOTIFYHIST_BASE_URL": "http://localhost:8080"},
			wantErr: "SPOTIFYHIST_BASE_URL: Spotify rejects redirect URIs on localhost",
		},
		{
			name:    "LeaseShorterThanHeartbeats",
			env:     map[string]string{"SPOTIFYHIST_HEARTBEAT_INTERVAL": "10s", "SPOTIFYHIST_LEASE_TTL": "15s"},
			wantErr: "SPOTIFYHIST_LEASE_TTL",
		},
		{
			name:    "BadLogFormat",
			args:    []string{"--log-format", "xml"},
			wantErr: "SPOTIFYHIST_LOG_FORMAT",
		},
		{
			name:    "BadZone",
			env:     map[string]string{"SPOTIFYHIST_DISPLAY_TIMEZONE": "Mars/Olympus"},
			wantErr: "SPOTIFYHIST_DISPLAY_TIMEZONE",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := parseConfig(t, tt.env, tt.args...)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.NotContains(t, err.Error(), "secretpw", "errors must not echo passwords")
				require.ErrorContains(t, err, tt.alsoErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}

func TestInterleave(t *testing.T) {
	t.Parallel()
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "")
	user := fs.String("user", "", "")
	require.NoError(t, fs.Parse(interleave(fs, []string{"export.zip", "--json", "--user", "bob"})))
	require.True(t, *asJSON)
	require.Equal(t, "bob", *user)
	require.Equal(t, []string{"export.zip"}, fs.Args())
}
