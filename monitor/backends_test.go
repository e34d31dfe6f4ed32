package monitor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/store/postgres"
	"github.com/spotifyhist/spotifyhist/store/sqlite"
)

// testPostgresURL returns SPOTIFYHIST_TEST_DATABASE_URL, or "" when it is
// unset (failing instead when SPOTIFYHIST_TEST_REQUIRE_POSTGRES=1).
func testPostgresURL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv("SPOTIFYHIST_TEST_DATABASE_URL")
	if url == "" && os.Getenv("SPOTIFYHIST_TEST_REQUIRE_POSTGRES") == "1" {
		tb.Fatal("SPOTIFYHIST_TEST_REQUIRE_POSTGRES=1 but SPOTIFYHIST_TEST_DATABASE_URL is not set")
	}
	return url
}

// postgresURL is testPostgresURL for tests that need PostgreSQL: they skip
// without it.
func postgresURL(tb testing.TB) string {
	tb.Helper()
	url := testPostgresURL(tb)
	if url == "" {
		tb.Skip("SPOTIFYHIST_TEST_DATABASE_URL is not set; set it to a PostgreSQL URL " +
			"(e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL tests")
	}
	return url
}

// postgresSchema names an empty schema for one test and drops it, with
// everything in it, when the test ends.
func postgresSchema(tb testing.TB, url string) string {
	tb.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_monitor_" + hex.EncodeToString(b[:])
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

// openTestPostgres opens a store in a schema of its own.
func openTestPostgres(tb testing.TB, url string) *postgres.Store {
	tb.Helper()
	schema := postgresSchema(tb, url)
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
