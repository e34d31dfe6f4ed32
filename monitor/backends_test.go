package monitor

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/store/postgres"
	"github.com/spotifyhist/spotifyhist/store/postgres/postgrestest"
	"github.com/spotifyhist/spotifyhist/store/sqlite"
)

// openTestPostgres opens a store in a schema of its own.
func openTestPostgres(tb testing.TB, url string) *postgres.Store {
	tb.Helper()
	schema := postgrestest.Schema(tb, url)
	s, err := postgres.New(context.Background(), postgres.Config{URL: url, Schema: schema, MaxConns: 4, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() }) // runs before the schema is dropped
	return s
}

// openTestSQLite opens a store in a file of its own.
func openTestSQLite(tb testing.TB) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.New(context.Background(), sqlite.Config{Path: filepath.Join(tb.TempDir(), "db"), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() })
	return s
}
