package monitor

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/spotifyhist/spotifyhisttest"
	"github.com/spotifyhist/spotifyhist/store"
)

// TestModesCaptureTruth runs each listening mode for simulated hours against
// the fake Spotify and its listening simulator, and checks that the stored
// plays are exactly the simulator's qualifying plays within the mode's
// capability: none missing, none stored twice, none invented, replays
// counted.
func TestModesCaptureTruth(t *testing.T) {
	t.Parallel()
	const dur = 6 * time.Hour
	rpVisibleBy := func(tp *spotifyhisttest.TruthPlay, by time.Time) bool {
		return !tp.RecentlyPlayedAt.IsZero() && !tp.RecentlyPlayedAt.After(by)
	}
	tests := []struct {
		name string
		mode store.Mode
		// want builds the capability given the end of the run.
		want func(end time.Time) capability
		tol  time.Duration
	}{
		{
			name: "History",
			mode: store.ModeHistory,
			tol:  time.Millisecond,
			want: func(end time.Time) capability {
				return func(tp *spotifyhisttest.TruthPlay, _ time.Time) bool {
					return rpVisibleBy(tp, end.Add(-HistoryPollIntervalDefault-time.Minute))
				}
			},
		},
		{
			name: "Realtime",
			mode: store.ModeRealtime,
			tol:  RealtimePollIntervalDefault + time.Second,
			want: func(end time.Time) capability {
				return func(tp *spotifyhisttest.TruthPlay, _ time.Time) bool {
					return tp.LiveVisible && tp.End.Before(end.Add(-time.Minute))
				}
			},
		},
		{
			name: "Hybrid",
			mode: store.ModeHybrid,
			tol:  RealtimePollIntervalDefault + time.Second,
			want: func(end time.Time) capability {
				return func(tp *spotifyhisttest.TruthPlay, _ time.Time) bool {
					if tp.IsLocal {
						return tp.LiveVisible && tp.End.Before(end.Add(-time.Minute))
					}
					return rpVisibleBy(tp, end.Add(-HistoryPollIntervalDefault-time.Minute))
				}
			},
		},
		{
			name: "Adaptive",
			mode: store.ModeAdaptive,
			tol:  AdaptivePlayingMaxDefault + 6*time.Second,
			want: func(end time.Time) capability {
				return func(tp *spotifyhisttest.TruthPlay, session time.Time) bool {
					if rpVisibleBy(tp, end.Add(-AdaptiveHistoryIntervalDefault-time.Minute)) {
						return true
					}
					// Currently-playing sees every play of a session that is
					// still playing once the idle backoff noticed the session.
					return tp.LiveVisible && tp.End.After(session.Add(AdaptiveIdleMaxDefault+5*time.Second)) &&
						tp.End.Before(end.Add(-time.Minute))
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				st := newMemStore()
				e := newTestEnv(t, st, envOpts{sim: listeningSim(2, dur, 11)})
				ids := e.addSimUsers(ctx, tc.mode)
				m := e.newMonitor(e.config("w1"))
				stop := run(ctx, m)
				time.Sleep(dur)
				require.NoError(t, stop())
				end := time.Now()

				total := 0
				for _, id := range ids {
					rep := compareTruth(id, e.sim.Truth(id), storedPlays(t, st, id), tc.want(end), end, tc.tol)
					require.Empty(t, rep.extra, "stored plays that are not in the truth (or stored twice)")
					require.Empty(t, rep.missing, "plays the mode should have captured")
					total += rep.expected
				}
				require.Greater(t, total, 40, "the simulation should have produced plays")
				t.Logf("%s: %d plays captured", tc.mode, total)
			})
		})
	}
}
