package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/store"
)

// Run runs the conformance suite against the stores newStore makes. newStore
// is called once per subtest; it must return an empty, migrated store that is
// isolated from every other store it returns and closed by t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	groups := []struct {
		name string
		run  func(t *testing.T, newStore func(t *testing.T) store.Store)
	}{
		{"Migrate", runMigrate},
		{"Users", runUsers},
		{"Workers", runWorkers},
		{"Catalog", runCatalog},
		{"Plays", runPlays},
		{"Playlists", runPlaylists},
		{"Imports", runImports},
		{"Sessions", runSessions},
		{"Stats", runStats},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			g.run(t, newStore)
		})
	}
}

// bundle is what every subtest starts from.
type bundle struct {
	ctx context.Context
	s   store.Store
}

func setup(t *testing.T, newStore func(t *testing.T) store.Store) *bundle {
	t.Helper()
	s := newStore(t)
	require.NotNil(t, s, "the store factory returned nil")
	return &bundle{ctx: t.Context(), s: s}
}

// testCase is a named subtest of one area.
type testCase struct {
	name string
	run  func(t *testing.T, b *bundle)
}

// runCases runs every case in parallel, each with its own store.
func runCases(t *testing.T, newStore func(t *testing.T) store.Store, cases []testCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, setup(t, newStore))
		})
	}
}

// baseTime() returns the instant the suite's clocks start from. It carries
// sub-millisecond digits on purpose: stores keep milliseconds only.
func baseTime() time.Time { return time.Date(2025, time.March, 14, 15, 9, 26, 535_897_932, time.UTC) }

// ms truncates t to the millisecond precision stores keep.
func ms(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.UnixMilli(t.UnixMilli()).UTC()
}

// requireTime asserts that got is the instant want at millisecond
// precision, or zero when want is zero.
func requireTime(t testing.TB, want, got time.Time, what string) {
	t.Helper()
	if want.IsZero() {
		require.True(t, got.IsZero(), "%s: want the zero time, got %s", what, got)
		return
	}
	require.False(t, got.IsZero(), "%s: want %s, got the zero time", what, ms(want).Format(time.RFC3339Nano))
	require.Equal(t, want.UnixMilli(), got.UnixMilli(),
		"%s: want %s, got %s (compared at millisecond precision)", what,
		ms(want).Format(time.RFC3339Nano), got.UTC().Format(time.RFC3339Nano))
}

// randomID returns prefix followed by random hex, unique across stores.
func randomID(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// requireErrorIs asserts err matches target with errors.Is, naming the rule.
func requireErrorIs(t testing.TB, err, target error, rule string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(rule, args...)
	require.Error(t, err, "%s: want an error matching %q, got nil", msg, target)
	require.ErrorIs(t, err, target, "%s: want an error matching %q", msg, target)
}
