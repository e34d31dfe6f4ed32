package monitor

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, newMemStore(), envOpts{})
	m, err := New(Config{Store: e.st, Clients: e.clients})
	require.NoError(t, err)
	c := m.cfg
	require.True(t, strings.HasPrefix(c.WorkerID, "w-") && len(c.WorkerID) == 18, "random worker id %q", c.WorkerID)
	require.Equal(t, HeartbeatIntervalDefault, c.HeartbeatInterval)
	require.Equal(t, LeaseTTLDefault, c.LeaseTTL)
	require.LessOrEqual(t, c.LeaseTTL+c.HeartbeatInterval, 30*time.Second, "failover within 30 s")
	require.Equal(t, HistoryPollIntervalDefault, c.HistoryPollInterval)
	require.Equal(t, RealtimePollIntervalDefault, c.RealtimePollInterval)
	require.Equal(t, PlaylistScanIntervalDefault, c.PlaylistScanInterval)
	require.Equal(t, SongIDIntervalDefault, c.SongIDInterval)
	require.Equal(t, ShutdownTimeoutDefault, c.ShutdownTimeout)
	require.Equal(t, HistoryOverlapDefault, c.HistoryOverlap)
	require.Equal(t, AdaptiveIdleMaxDefault, c.Adaptive.IdleMax)
	require.Equal(t, AdaptivePlayingMaxDefault, c.Adaptive.PlayingMax)
	require.Equal(t, AdaptiveHistoryIntervalDefault, c.Adaptive.HistoryInterval)
	require.NotNil(t, c.Logger)
	require.NotNil(t, c.Now)

	other, err := New(Config{Store: e.st, Clients: e.clients})
	require.NoError(t, err)
	require.NotEqual(t, m.WorkerID(), other.WorkerID())
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, newMemStore(), envOpts{})
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{"Valid", func(*Config) {}, ""},
		{"NoStore", func(c *Config) { c.Store = nil }, "Store is required"},
		{"NoClients", func(c *Config) { c.Clients = nil }, "Clients is required"},
		{"NegativeInterval", func(c *Config) { c.RealtimePollInterval = -time.Second }, "must not be negative"},
		{"HeartbeatTooSlow", func(c *Config) { c.HeartbeatInterval, c.LeaseTTL = 10*time.Second, 20*time.Second }, "less than half of LeaseTTL"},
		{"DisabledScanners", func(c *Config) { c.PlaylistScanInterval, c.SongIDInterval = -1, -1 }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := Config{Store: e.st, Clients: e.clients}
			tc.mutate(&cfg)
			_, err := New(cfg)
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
			require.ErrorContains(t, err, "monitor: config: ")
		})
	}
}
