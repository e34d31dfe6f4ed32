package storetest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/store"
)

func runMigrate(t *testing.T, newStore func(t *testing.T) store.Store) {
	runCases(t, newStore, []testCase{
		{"Idempotent", testMigrateIdempotent},
		{"Ping", testPing},
	})
}

func testMigrateIdempotent(t *testing.T, b *bundle) {
	u := NewUser(b.ctx, t, b.s, nil)
	v1, err := b.s.Migrate(b.ctx)
	require.NoError(t, err, "Migrate on a store that is already migrated")
	require.Positive(t, v1, "Migrate returns the schema version reached")
	v2, err := b.s.Migrate(b.ctx)
	require.NoError(t, err)
	require.Equal(t, v1, v2, "Migrate is idempotent")
	got, err := b.s.GetUser(b.ctx, u.ID)
	require.NoError(t, err, "Migrate keeps the data")
	requireUser(t, u, got, "after Migrate")
}

func testPing(t *testing.T, b *bundle) {
	require.NoError(t, b.s.Ping(b.ctx))
}
