package postgres_test

import (
	"context"
	"log/slog"
	"testing"
	"time"
	_ "time/tzdata" // the suite's time zones, whatever the host has

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/store"
	"github.com/spotifyhist/spotifyhist/store/postgres"
	"github.com/spotifyhist/spotifyhist/store/postgres/postgrestest"
	"github.com/spotifyhist/spotifyhist/store/storetest"
)

// newTestStore opens a store in a schema of its own.
func newTestStore(tb testing.TB) *postgres.Store {
	tb.Helper()
	url := postgrestest.URL(tb)
	schema := postgrestest.Schema(tb, url)
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
	postgrestest.URL(t)
	storetest.Run(t, func(t *testing.T) store.Store { return newTestStore(t) })
}

func factory(tb testing.TB) store.Store { return newTestStore(tb) }

func BenchmarkInsert131K(b *testing.B) { storetest.BenchInsert(b, factory, 131_000) }

func BenchmarkInsert1M(b *testing.B) { storetest.BenchInsert(b, factory, 1_000_000) }

func BenchmarkQueries1M(b *testing.B) { storetest.BenchQueries(b, factory) }
