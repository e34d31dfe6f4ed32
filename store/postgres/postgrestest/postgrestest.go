// Package postgrestest gives tests a PostgreSQL database of their own: the
// server named by SPOTIFYHIST_TEST_DATABASE_URL and a fresh schema per test,
// dropped when the test ends. Pass the schema to postgres.Config.Schema.
package postgrestest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// OptionalURL returns SPOTIFYHIST_TEST_DATABASE_URL, or "" when it is unset;
// with SPOTIFYHIST_TEST_REQUIRE_POSTGRES=1 an unset URL fails the test.
func OptionalURL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv("SPOTIFYHIST_TEST_DATABASE_URL")
	if url == "" && os.Getenv("SPOTIFYHIST_TEST_REQUIRE_POSTGRES") == "1" {
		tb.Fatal("SPOTIFYHIST_TEST_REQUIRE_POSTGRES=1 but SPOTIFYHIST_TEST_DATABASE_URL is not set")
	}
	return url
}

// URL is OptionalURL for tests that need PostgreSQL: they skip without it.
func URL(tb testing.TB) string {
	tb.Helper()
	url := OptionalURL(tb)
	if url == "" {
		tb.Skip("SPOTIFYHIST_TEST_DATABASE_URL is not set; set it to a PostgreSQL URL " +
			"(e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL tests")
	}
	return url
}

// Schema names a new, empty schema for one test and drops it, with
// everything in it, when the test ends. Register it before opening a store
// in it, so the store's own cleanup (closing) runs first.
func Schema(tb testing.TB, url string) string {
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
