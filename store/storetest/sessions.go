package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/store"
)

func runSessions(t *testing.T, newStore func(t *testing.T) store.Store) {
	runCases(t, newStore, []testCase{
		{"CreateAndGet", testCreateAndGetSession},
		{"CreateConflict", testCreateSessionConflict},
		{"Expiry", testSessionExpiry},
		{"Delete", testDeleteSession},
		{"DeleteExpired", testDeleteExpiredSessions},
	})
}

func newSession(t testing.TB, b *bundle, id, userID string, expires time.Time) *store.Session {
	t.Helper()
	s := &store.Session{ID: id, UserID: userID, CSRFToken: "csrf-" + id, CreatedAt: baseTime(), ExpiresAt: expires}
	require.NoError(t, b.s.CreateSession(b.ctx, s), "CreateSession(%q)", id)
	return s
}

func requireSession(t testing.TB, want, got *store.Session, what string) {
	t.Helper()
	require.NotNil(t, got, "%s: nil session", what)
	require.Equal(t, want.ID, got.ID, "%s: ID", what)
	require.Equal(t, want.UserID, got.UserID, "%s: UserID", what)
	require.Equal(t, want.CSRFToken, got.CSRFToken, "%s: CSRFToken", what)
	requireTime(t, want.CreatedAt, got.CreatedAt, what+": CreatedAt")
	requireTime(t, want.ExpiresAt, got.ExpiresAt, what+": ExpiresAt")
}

func testCreateAndGetSession(t *testing.T, b *bundle) {
	u := NewUser(b.ctx, t, b.s, nil)
	want := newSession(t, b, "hash-1", u.ID, baseTime().Add(time.Hour))
	got, err := b.s.GetSession(b.ctx, "hash-1", baseTime())
	require.NoError(t, err)
	requireSession(t, want, got, "GetSession after CreateSession")
	_, err = b.s.GetSession(b.ctx, "ghost", baseTime())
	requireErrorIs(t, err, store.ErrNotFound, "GetSession of an unknown id")
}

func testCreateSessionConflict(t *testing.T, b *bundle) {
	u := NewUser(b.ctx, t, b.s, nil)
	want := newSession(t, b, "hash-1", u.ID, baseTime().Add(time.Hour))
	err := b.s.CreateSession(b.ctx, &store.Session{ID: "hash-1", UserID: u.ID, CSRFToken: "other", CreatedAt: baseTime(), ExpiresAt: baseTime().Add(2 * time.Hour)})
	requireErrorIs(t, err, store.ErrConflict, "CreateSession with an existing id")
	got, err := b.s.GetSession(b.ctx, "hash-1", baseTime())
	require.NoError(t, err)
	requireSession(t, want, got, "a conflicting CreateSession changes nothing")
}

func testSessionExpiry(t *testing.T, b *bundle) {
	u := NewUser(b.ctx, t, b.s, nil)
	exp := baseTime().Add(time.Hour)
	newSession(t, b, "s", u.ID, exp)
	cases := []struct {
		name  string
		now   time.Time
		valid bool
	}{
		{"Before", ms(exp).Add(-time.Millisecond), true},
		{"AtExpiry", ms(exp), false},
		{"After", exp.Add(time.Minute), false},
	}
	for _, tc := range cases {
		_, err := b.s.GetSession(b.ctx, "s", tc.now)
		if tc.valid {
			require.NoError(t, err, "GetSession %s expiry", tc.name)
		} else {
			requireErrorIs(t, err, store.ErrNotFound, "GetSession %s expiry (ExpiresAt <= now)", tc.name)
		}
	}
}

func testDeleteSession(t *testing.T, b *bundle) {
	u := NewUser(b.ctx, t, b.s, nil)
	newSession(t, b, "s1", u.ID, baseTime().Add(time.Hour))
	newSession(t, b, "s2", u.ID, baseTime().Add(time.Hour))
	require.NoError(t, b.s.DeleteSession(b.ctx, "s1"))
	_, err := b.s.GetSession(b.ctx, "s1", baseTime())
	requireErrorIs(t, err, store.ErrNotFound, "GetSession after DeleteSession")
	_, err = b.s.GetSession(b.ctx, "s2", baseTime())
	require.NoError(t, err, "DeleteSession removes only that session")
}

func testDeleteExpiredSessions(t *testing.T, b *bundle) {
	u := NewUser(b.ctx, t, b.s, nil)
	now := baseTime().Add(time.Hour)
	newSession(t, b, "past", u.ID, baseTime())
	newSession(t, b, "exact", u.ID, now)
	newSession(t, b, "future", u.ID, now.Add(time.Millisecond))
	n, err := b.s.DeleteExpiredSessions(b.ctx, ms(now))
	require.NoError(t, err)
	require.Equal(t, 2, n, "DeleteExpiredSessions removes sessions with ExpiresAt <= now and counts them")
	_, err = b.s.GetSession(b.ctx, "future", baseTime())
	require.NoError(t, err, "an unexpired session survives DeleteExpiredSessions")
	for _, id := range []string{"past", "exact"} {
		_, err = b.s.GetSession(b.ctx, id, baseTime())
		requireErrorIs(t, err, store.ErrNotFound, "an expired session is deleted")
	}
	n, err = b.s.DeleteExpiredSessions(b.ctx, ms(now))
	require.NoError(t, err)
	require.Zero(t, n)
}
