package monitor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jackc/pgx/v5"
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
	url := postgresURL(t)
	schema := postgresSchema(t, url)
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

// postgresURL returns the test database, or skips the test when none is
// configured (failing instead when SPOTIFYHIST_TEST_REQUIRE_POSTGRES=1).
func postgresURL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv("SPOTIFYHIST_TEST_DATABASE_URL")
	if url == "" {
		if os.Getenv("SPOTIFYHIST_TEST_REQUIRE_POSTGRES") == "1" {
			tb.Fatal("SPOTIFYHIST_TEST_REQUIRE_POSTGRES=1 but SPOTIFYHIST_TEST_DATABASE_URL is not set")
		}
		tb.Skip("SPOTIFYHIST_TEST_DATABASE_URL is not set; set it to a PostgreSQL URL " +
			"(e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL tests")
	}
	return url
}

// postgresSchema creates an empty schema for one test and drops it when the
// test ends.
func postgresSchema(tb testing.TB, url string) string {
	tb.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}
