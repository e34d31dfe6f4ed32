package monitor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/store"
)

func TestClientsFor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("NoToken", func(t *testing.T) {
		t.Parallel()
		st := newMemStore()
		e := newTestEnv(t, st, envOpts{})
		u, err := st.UpsertUser(ctx, &store.UpsertUserParams{ID: "u1", Now: time.Now()})
		require.NoError(t, err)
		_, err = e.clients.For(ctx, u)
		require.ErrorIs(t, err, spotifyhist.ErrReauthRequired)
	})

	t.Run("UnreadableToken", func(t *testing.T) {
		t.Parallel()
		st := newMemStore()
		e := newTestEnv(t, st, envOpts{})
		u, err := st.UpsertUser(ctx, &store.UpsertUserParams{ID: "u1", Token: []byte("sealed with another key"), Now: time.Now()})
		require.NoError(t, err)
		_, err = e.clients.For(ctx, u)
		require.ErrorIs(t, err, spotifyhist.ErrReauthRequired)
	})

	t.Run("InvalidUser", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, newMemStore(), envOpts{})
		_, err := e.clients.For(ctx, &store.User{})
		require.ErrorIs(t, err, store.ErrInvalid)
	})

	t.Run("RotatedTokenPersisted", func(t *testing.T) {
		t.Parallel()
		st := newMemStore()
		e := newTestEnv(t, st, envOpts{})
		e.addUser(ctx, "u1", store.ModeHistory)
		u := userState(t, st, "u1")
		c, err := e.clients.For(ctx, u)
		require.NoError(t, err)
		again, err := e.clients.For(ctx, u)
		require.NoError(t, err)
		require.Same(t, c, again, "one client per user: its tasks share a token source")

		before, err := e.sealer.OpenToken(u.Token)
		require.NoError(t, err)
		e.srv.ExpireAccessTokens("u1")
		_, err = c.RecentlyPlayed(ctx, time.Time{})
		require.NoError(t, err, "the client refreshes after a 401")

		u = userState(t, st, "u1")
		after, err := e.sealer.OpenToken(u.Token)
		require.NoError(t, err)
		require.NotEqual(t, before.AccessToken, after.AccessToken, "the refreshed token was sealed and stored")
		same, err := e.clients.For(ctx, u)
		require.NoError(t, err)
		require.Same(t, c, same, "the token it stored itself does not replace the client")

		// A new login stores a token the client never saw: a new client.
		e.addUser(ctx, "u1", store.ModeHistory)
		fresh, err := e.clients.For(ctx, userState(t, st, "u1"))
		require.NoError(t, err)
		require.NotSame(t, c, fresh)

		e.clients.Forget("u1")
		rebuilt, err := e.clients.For(ctx, userState(t, st, "u1"))
		require.NoError(t, err)
		require.NotSame(t, fresh, rebuilt)
	})

	t.Run("PersistFailure", func(t *testing.T) {
		t.Parallel()
		st := newMemStore()
		e := newTestEnv(t, st, envOpts{})
		e.addUser(ctx, "u1", store.ModeHistory)
		cl := NewClients(e.app, e.sealer, &failingUpdates{Store: st}, nil)
		c, err := cl.For(ctx, userState(t, st, "u1"))
		require.NoError(t, err)
		e.srv.ExpireAccessTokens("u1")
		_, err = c.RecentlyPlayed(ctx, time.Time{})
		require.Error(t, err, "a refreshed token that cannot be stored is not used")
		require.ErrorIs(t, err, errUpdateFailed)
	})
}

var errUpdateFailed = errors.New("update failed")

type failingUpdates struct{ Store }

func (f *failingUpdates) UpdateUser(context.Context, *store.UpdateUserParams) (*store.User, error) {
	return nil, errUpdateFailed
}
