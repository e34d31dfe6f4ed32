package monitor

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/store"
)

// tokenStore is the part of the storage contract [Clients] needs: it writes
// rotated (re-sealed) tokens back to the user row.
type tokenStore interface {
	UpdateUser(ctx context.Context, p *store.UpdateUserParams) (*store.User, error)
}

// Clients hands out Spotify clients for stored users. It opens each user's
// sealed token, and builds the client with a callback that seals and stores
// every token the client obtains by refreshing, so a rotated refresh token
// is never lost.
//
// Clients keeps one client per user and gives it to every task of that
// user, so that all of them share one token source: two token sources for
// one user would each rotate the refresh token and the older one could be
// revoked under the other's feet. Call [Clients.Forget] when a user leaves
// this process.
//
// A Clients is safe for concurrent use.
type Clients struct {
	app    *spotifyhist.App
	sealer *spotifyhist.Sealer
	st     tokenStore
	now    func() time.Time

	mu    sync.Mutex
	cache map[string]*clientEntry
}

// clientEntry is a cached client and the sealed token blobs it is known to
// correspond to: the one it was built from and the last one it persisted.
type clientEntry struct {
	client    *spotifyhist.Client
	built     string
	persisted string
}

// NewClients returns a Clients that builds clients with app, opens and seals
// tokens with sealer and stores rotated tokens through st. A nil now means
// time.Now.
func NewClients(app *spotifyhist.App, sealer *spotifyhist.Sealer, st tokenStore, now func() time.Time) *Clients {
	if now == nil {
		now = time.Now
	}
	return &Clients{app: app, sealer: sealer, st: st, now: now, cache: map[string]*clientEntry{}}
}

// For returns the Spotify client of u. It returns an error wrapping
// [spotifyhist.ErrReauthRequired] when u has no token, or when the stored
// token cannot be opened (for example because the secret key changed): in
// both cases only a new login helps.
//
// When u carries the token this Clients built or last stored for that user,
// the cached client is returned; a different token (the user logged in
// again) replaces it.
func (c *Clients) For(ctx context.Context, u *store.User) (*spotifyhist.Client, error) {
	if u == nil || u.ID == "" {
		return nil, fmt.Errorf("monitor: spotify client: %w", store.ErrInvalid)
	}
	if len(u.Token) == 0 {
		return nil, fmt.Errorf("monitor: spotify client for user %q: no token stored: %w", u.ID, spotifyhist.ErrReauthRequired)
	}
	blob := string(u.Token)
	c.mu.Lock()
	if e, ok := c.cache[u.ID]; ok && (e.built == blob || e.persisted == blob) {
		c.mu.Unlock()
		return e.client, nil
	}
	c.mu.Unlock()

	tok, err := c.sealer.OpenToken(u.Token)
	if err != nil {
		return nil, fmt.Errorf("monitor: spotify client for user %q: open token: %w (%w)", u.ID, spotifyhist.ErrReauthRequired, err)
	}
	e := &clientEntry{built: blob}
	userID := u.ID
	e.client = c.app.Client(tok, func(ctx context.Context, t *spotifyhist.Token) error {
		sealed, err := c.sealer.SealToken(t)
		if err != nil {
			return fmt.Errorf("monitor: persist token of user %q: seal: %w", userID, err)
		}
		if _, err := c.st.UpdateUser(ctx, &store.UpdateUserParams{ID: userID, Token: sealed, Now: c.now()}); err != nil {
			return fmt.Errorf("monitor: persist token of user %q: %w", userID, err)
		}
		c.mu.Lock()
		e.persisted = string(sealed)
		c.mu.Unlock()
		return nil
	})

	c.mu.Lock()
	defer c.mu.Unlock()
	// Another goroutine may have built one meanwhile; keep the first so the
	// user's tasks share a token source.
	if old, ok := c.cache[u.ID]; ok && (old.built == blob || old.persisted == blob) {
		return old.client, nil
	}
	c.cache[u.ID] = e
	return e.client, nil
}

// Forget drops the cached client of the user, for example when this process
// releases the user's lease. The next For builds a new one from the stored
// token.
func (c *Clients) Forget(userID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.cache, userID)
}
