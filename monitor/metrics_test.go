package monitor

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/store"
)

func TestMetrics(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := newMemStore()
		e := newTestEnv(t, st, envOpts{sim: listeningSim(2, 3*time.Hour, 3)})
		ids := e.addSimUsers(ctx, store.ModeHistory)
		reg := prometheus.NewPedanticRegistry()
		cfg := e.config("w1")
		cfg.Registerer = reg
		m := e.newMonitor(cfg)
		stop := run(ctx, m)
		time.Sleep(3 * time.Hour)

		problems, err := testutil.GatherAndLint(reg)
		require.NoError(t, err)
		require.Empty(t, problems)

		const want = `
# HELP spotifyhist_users_assigned Users whose lease this worker holds and monitors.
# TYPE spotifyhist_users_assigned gauge
spotifyhist_users_assigned 2
# HELP spotifyhist_workers_live Workers with a fresh heartbeat, as this worker last counted them.
# TYPE spotifyhist_workers_live gauge
spotifyhist_workers_live 1
# HELP spotifyhist_users_needing_reauth Users whose Spotify authorisation was rejected and who must log in again.
# TYPE spotifyhist_users_needing_reauth gauge
spotifyhist_users_needing_reauth 0
# HELP spotifyhist_task_panics_total Panics recovered in per-user tasks.
# TYPE spotifyhist_task_panics_total counter
spotifyhist_task_panics_total 0
# HELP spotifyhist_rate_limited_total Listening polls that could not run because Spotify rate-limited the app.
# TYPE spotifyhist_rate_limited_total counter
spotifyhist_rate_limited_total 0
`
		require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want),
			"spotifyhist_users_assigned", "spotifyhist_workers_live", "spotifyhist_users_needing_reauth",
			"spotifyhist_task_panics_total", "spotifyhist_rate_limited_total"))
		require.InDelta(t, float64(time.Now().Unix()), testutil.ToFloat64(m.met.heartbeat), cfg.HeartbeatInterval.Seconds())

		stored := 0
		for _, id := range ids {
			for _, p := range storedPlays(t, st, id) {
				if p.Source == store.SourceHistory {
					stored++
				}
			}
		}
		require.Positive(t, stored)
		require.Equal(t, float64(stored), testutil.ToFloat64(m.met.playsIngested.WithLabelValues("history")))
		require.Equal(t, 0.0, testutil.ToFloat64(m.met.taskErrors.WithLabelValues("listening")))
		n, err := testutil.GatherAndCount(reg, "spotifyhist_poll_duration_seconds")
		require.NoError(t, err)
		require.Equal(t, 4, n, "one histogram per mode")

		require.NoError(t, stop())
		require.Equal(t, 0.0, testutil.ToFloat64(m.met.usersAssigned))
	})
}

func TestMetricsNilRegisterer(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, newMemStore(), envOpts{})
	cfg := e.config("w1")
	cfg.Registerer = nil
	_, err := New(cfg)
	require.NoError(t, err)
	// Two monitors in one process need wrapped registerers; with one each,
	// they never collide.
	reg := prometheus.NewPedanticRegistry()
	for _, w := range []string{"a", "b"} {
		cfg := e.config(w)
		cfg.Registerer = prometheus.WrapRegistererWith(prometheus.Labels{"monitor": w}, reg)
		_, err := New(cfg)
		require.NoError(t, err)
	}
}
