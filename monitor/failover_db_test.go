package monitor

import (
	"context"
	"github.com/spotifyhist/spotifyhist/store/postgres/postgrestest"
	"log/slog"
	"path/filepath"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/store/postgres"
	"github.com/spotifyhist/spotifyhist/store/sqlite"
)

func TestFailoverMemory(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) { testFailover(t, newMemStore()) })
}

func TestFailoverSQLite(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "spotifyhist.db")
	synctest.Test(t, func(t *testing.T) {
		st, err := sqlite.New(context.Background(), sqlite.Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		defer func() { require.NoError(t, st.Close()) }()
		testFailover(t, st)
	})
}

func TestFailoverPostgres(t *testing.T) {
	t.Parallel()
	url := postgrestest.URL(t)
	schema := postgrestest.Schema(t, url)
	// The pool is opened inside the bubble: its goroutines and timers must
	// belong to it. Network I/O is not durably blocking, so virtual time
	// simply waits for the database.
	synctest.Test(t, func(t *testing.T) {
		st, err := postgres.New(context.Background(), postgres.Config{URL: url, Schema: schema, MaxConns: 8, Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		defer func() { require.NoError(t, st.Close()) }()
		testFailover(t, st)
	})
}
