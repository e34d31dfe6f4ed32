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

	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		check   func(t *testing.T, c config)
		wantErr string
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
			},
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
