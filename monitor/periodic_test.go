package monitor

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/store"
	"github.com/spotifyhist/spotifyhist/store/sqlite"
)

// TestPeriodicTasks runs the playlist scanner on its schedule and on
// demand, and the song-ID updater on the oldest worker, against SQLite.
func TestPeriodicTasks(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "spotifyhist.db")
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st, err := sqlite.New(ctx, sqlite.Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		defer func() { require.NoError(t, st.Close()) }()

		sim := listeningSim(2, 3*time.Hour, 6)
		sim.PlaylistsPerUser = 2
		e := newTestEnv(t, st, envOpts{sim: sim})
		ids := e.addSimUsers(ctx, store.ModeHistory)

		// Two ids of one song (a re-release): the song-ID updater folds
		// them into the one played last.
		artists := []store.Artist{{ID: "ar1", Name: "Artist"}}
		old := store.Track{ID: "old0000000000000000001", Name: "Song", DurationMS: 200_000, Linked: true, Album: store.Album{ID: "al1", Name: "A"}, Artists: artists}
		newer := old
		newer.ID, newer.Album = "new0000000000000000001", store.Album{ID: "al2", Name: "A (Remaster)"}
		_, err = st.InsertPlays(ctx, &store.InsertPlaysParams{UserID: ids[0], Plays: []store.PlayInput{
			{Track: old, PlayedAt: time.Now().Add(-48 * time.Hour), Source: store.SourceImport},
			{Track: newer, PlayedAt: time.Now().Add(-24 * time.Hour), Source: store.SourceImport},
		}})
		require.NoError(t, err)

		cfg := e.config("w1")
		cfg.HeartbeatInterval, cfg.LeaseTTL = 10*time.Second, 30*time.Second
		cfg.PlaylistScanInterval = 20 * time.Minute
		cfg.SongIDInterval = 24 * time.Hour
		m := e.newMonitor(cfg)
		stop := run(ctx, m)
		time.Sleep(5 * time.Minute)

		for _, id := range ids {
			u := userState(t, st, id)
			ps := u.Tasks[store.TaskPlaylists]
			require.Equal(t, store.TaskIdle, ps.Status, "user %s: %s", id, ps.LastError)
			require.False(t, ps.LastRunAt.IsZero())
			pls, err := st.ListUserPlaylists(ctx, id)
			require.NoError(t, err)
			require.Len(t, pls, 2)
		}
		scans := e.srv.CallCount("/v1/me/playlists")
		require.Equal(t, len(ids), scans, "one scan per user so far")

		require.True(t, m.ScanPlaylistsNow(ids[0]))
		require.False(t, m.ScanPlaylistsNow("nobody"))
		synctest.Wait()
		require.Equal(t, scans+1, e.srv.CallCount("/v1/me/playlists"), "scanned on demand")
		time.Sleep(cfg.PlaylistScanInterval + time.Minute)
		require.Equal(t, scans+1+len(ids), e.srv.CallCount("/v1/me/playlists"), "and again after an interval")

		_, err = st.GetTrack(ctx, old.ID)
		require.ErrorIs(t, err, store.ErrNotFound, "the old id was merged away")
		require.Equal(t, 0.0, testutil.ToFloat64(m.met.taskErrors.WithLabelValues(string(store.TaskSongIDs))))
		require.NoError(t, stop())
		for _, id := range ids {
			require.Equal(t, store.TaskStopped, userState(t, st, id).Tasks[store.TaskPlaylists].Status)
		}
	})
}
