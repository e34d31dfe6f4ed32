package sqlite_test

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"testing"
	"time"
	_ "time/tzdata" // the suite checks statistics in named zones

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/store"
	"github.com/spotifyhist/spotifyhist/store/sqlite"
	"github.com/spotifyhist/spotifyhist/store/storetest"
)

func newStore(tb testing.TB) store.Store {
	tb.Helper()
	return openAt(tb, filepath.Join(tb.TempDir(), "spotifyhist.db"))
}

func openAt(tb testing.TB, path string) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.New(context.Background(), sqlite.Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, s.Close()) })
	return s
}

func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store { return newStore(t) })
}

func TestReopenKeepsData(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "db")
	s, err := sqlite.New(ctx, sqlite.Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	u := storetest.NewUser(ctx, t, s, nil)
	require.NoError(t, s.Close())

	s2 := openAt(t, path)
	got, err := s2.GetUser(ctx, u.ID)
	require.NoError(t, err)
	require.Equal(t, u.ID, got.ID)
	v, err := s2.Migrate(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, v)
}

func TestSchemaTooNew(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "db")
	s, err := sqlite.New(ctx, sqlite.Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	require.NoError(t, s.Close())

	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (99, 0)`)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	_, err = sqlite.New(ctx, sqlite.Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
	require.ErrorIs(t, err, store.ErrSchemaTooNew)
	require.ErrorContains(t, err, "99", "the error names the database's version")
	require.ErrorContains(t, err, "1", "the error names the binary's newest version")
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	_, err := sqlite.New(t.Context(), sqlite.Config{})
	require.ErrorIs(t, err, store.ErrInvalid)
	_, err = sqlite.New(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "missing", "dir", "db"), Logger: slog.New(slog.DiscardHandler)})
	require.Error(t, err, "a database in a missing directory cannot be created")
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewPedanticRegistry()
	s, err := sqlite.New(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "db"), Logger: slog.New(slog.DiscardHandler), Registerer: reg})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	u := storetest.NewUser(t.Context(), t, s, nil)
	storetest.InsertPlays(t.Context(), t, s, u.ID, storetest.PlayOf(storetest.MakeTrack(nil), time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), 1))
	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	require.Empty(t, problems)
	n, err := testutil.GatherAndCount(reg, "spotifyhist_store_operation_duration_seconds")
	require.NoError(t, err)
	require.Positive(t, n)
}

func BenchmarkInsert131K(b *testing.B) { storetest.BenchInsert(b, newStore, 131_000) }

func BenchmarkInsert1M(b *testing.B) { storetest.BenchInsert(b, newStore, 1_000_000) }

func BenchmarkQueries1M(b *testing.B) { storetest.BenchQueries(b, newStore) }

func BenchmarkQueries100K(b *testing.B) { storetest.BenchQueriesN(b, newStore, 100_000) }

// TestReadsNotBlockedByWriter holds the write lock from another connection
// (as a long import in another process would) and reads through the store.
func TestReadsNotBlockedByWriter(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "db")
	s, err := sqlite.New(ctx, sqlite.Config{Path: path, Logger: slog.New(slog.DiscardHandler), BusyTimeout: 50 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	u := storetest.NewUser(ctx, t, s, nil)
	storetest.InsertPlays(ctx, t, s, u.ID, storetest.PlayOf(storetest.MakeTrack(nil), time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), 1000))

	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, other.Close()) })
	other.SetMaxOpenConns(1)
	conn, err := other.Conn(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	_, err = conn.ExecContext(ctx, `BEGIN IMMEDIATE`)
	require.NoError(t, err)
	_, err = conn.ExecContext(ctx, `UPDATE users SET display_name = 'changed, uncommitted'`)
	require.NoError(t, err)

	got, err := s.GetUser(ctx, u.ID)
	require.NoError(t, err, "a read while another connection writes")
	require.Equal(t, u.DisplayName, got.DisplayName, "reads see the last committed state")
	tot, err := s.Totals(ctx, &store.StatsFilter{UserID: u.ID})
	require.NoError(t, err)
	require.Equal(t, 1, tot.Plays)
	_, err = s.UpdateUser(ctx, &store.UpdateUserParams{ID: u.ID, Enabled: new(bool), Now: time.Now()})
	require.Error(t, err, "a write waits for the lock for BusyTimeout, then fails")

	_, err = conn.ExecContext(ctx, `ROLLBACK`)
	require.NoError(t, err)
	_, err = s.UpdateUser(ctx, &store.UpdateUserParams{ID: u.ID, Enabled: new(bool), Now: time.Now()})
	require.NoError(t, err, "the write succeeds once the lock is free")
}

func TestBackup(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	s := openAt(t, filepath.Join(dir, "db"))
	u := storetest.NewUser(ctx, t, s, nil)
	storetest.InsertPlays(ctx, t, s, u.ID, storetest.PlayOf(storetest.MakeTrack(nil), time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), 1000))

	copyPath := filepath.Join(dir, "backups", "copy.db")
	require.NoError(t, s.Backup(ctx, copyPath))
	require.Error(t, s.Backup(ctx, copyPath), "a backup never overwrites a file")

	c := openAt(t, copyPath)
	got, err := c.GetUser(ctx, u.ID)
	require.NoError(t, err)
	require.Equal(t, u.ID, got.ID)
	tot, err := c.Totals(ctx, &store.StatsFilter{UserID: u.ID})
	require.NoError(t, err)
	require.Equal(t, 1, tot.Plays, "the copy carries the plays and their rollups")
}
