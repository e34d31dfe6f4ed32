package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"testing"
	"time"
	_ "time/tzdata" // the suite's time zones, whatever the host has

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/store"
	"github.com/spotifyhist/spotifyhist/store/postgres"
	"github.com/spotifyhist/spotifyhist/store/storetest"
)

// testURL returns the database the tests use, or skips the test when none
// is configured (failing instead when SPOTIFYHIST_TEST_REQUIRE_POSTGRES=1).
func testURL(tb testing.TB) string {
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

// testSchema creates an empty schema for one test and drops it, with
// everything in it, when the test ends.
func testSchema(tb testing.TB, url string) string {
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

// newTestStore opens a store in a schema of its own.
func newTestStore(tb testing.TB) *postgres.Store {
	tb.Helper()
	url := testURL(tb)
	schema := testSchema(tb, url)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := postgres.New(ctx, postgres.Config{
		URL:      url,
		Schema:   schema,
		MaxConns: 8,
		Logger:   slog.New(slog.DiscardHandler),
	})
	require.NoError(tb, err, "open a store in schema %s", schema)
	// Registered after the schema's cleanup, so it runs first.
	tb.Cleanup(func() { require.NoError(tb, s.Close()) })
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	testURL(t)
	storetest.Run(t, func(t *testing.T) store.Store { return newTestStore(t) })
}

func factory(tb testing.TB) store.Store { return newTestStore(tb) }

func BenchmarkInsert131K(b *testing.B) { storetest.BenchInsert(b, factory, 131_000) }

func BenchmarkInsert1M(b *testing.B) { storetest.BenchInsert(b, factory, 1_000_000) }

func BenchmarkQueries1M(b *testing.B) { storetest.BenchQueries(b, factory) }
