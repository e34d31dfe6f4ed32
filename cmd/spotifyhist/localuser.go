package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/spotifyhist/spotifyhist/store"
	"github.com/spotifyhist/spotifyhist/web"
)

// localUserID is the user of an instance without Spotify credentials; the
// web server uses the same id.
const localUserID = web.LocalUserIDDefault

// userUse says what a command does with the user it resolves.
type userUse int

const (
	// readUser: the user must exist (export).
	readUser userUse = iota
	// analyzeUser: read-only; the local user need not exist yet (analyze).
	analyzeUser
	// writeUser: the local user is created when missing (import).
	writeUser
)

// resolveUser picks the user a command acts on (DESIGN §8):
//   - --user ID when given; an unknown ID is accepted only for the local
//     user or in local mode, and only by analyze (as is) and import
//     (created);
//   - without --user, the only user when the instance has exactly one;
//   - else, without Spotify credentials, the local user (created by import,
//     assumed by analyze);
//   - else an error that asks for --user.
func resolveUser(ctx context.Context, e *env, s store.UserStore, id string, use userUse) (string, error) {
	if id != "" {
		_, err := s.GetUser(ctx, id)
		switch {
		case err == nil:
			return id, nil
		case !errors.Is(err, store.ErrNotFound):
			return "", err
		case use == readUser || !(e.cfg.localMode() || id == localUserID):
			return "", fmt.Errorf("no user %q (see `spotifyhist users list`)", id)
		case use == writeUser:
			return ensureUser(ctx, s, id)
		}
		return id, nil
	}
	users, err := s.ListUsers(ctx)
	if err != nil {
		return "", err
	}
	if len(users) == 1 {
		return users[0].ID, nil
	}
	if e.cfg.localMode() {
		switch {
		case slices.ContainsFunc(users, func(u store.User) bool { return u.ID == localUserID }):
			return localUserID, nil
		case use == writeUser:
			return ensureUser(ctx, s, localUserID)
		case use == analyzeUser:
			return localUserID, nil
		case len(users) == 0:
			return "", errors.New("no user yet: import an export first")
		}
	}
	if len(users) == 0 {
		return "", errors.New("no user yet: log in with Spotify first, or pass --user")
	}
	return "", fmt.Errorf("this instance has %d users: pass --user ID (see `spotifyhist users list`)", len(users))
}

// ensureUser creates a user for imports (enabled, default mode).
func ensureUser(ctx context.Context, s store.UserStore, id string) (string, error) {
	name := id
	if id == localUserID {
		name = "Local user"
	}
	u, err := s.UpsertUser(ctx, &store.UpsertUserParams{ID: id, DisplayName: name, Now: time.Now()})
	if err != nil {
		return "", fmt.Errorf("create user %q: %w", id, err)
	}
	return u.ID, nil
}
