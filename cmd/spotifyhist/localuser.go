package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spotifyhist/spotifyhist/store"
)

// localUserID is the user of an instance without Spotify credentials.
const localUserID = "local"

// resolveUser picks the user a command acts on: the --user value; else the
// only user; else, without Spotify credentials, the local user (created when
// create is set and it does not exist yet).
func resolveUser(ctx context.Context, e *env, s store.UserStore, id string, create bool) (*store.User, error) {
	if id != "" {
		u, err := s.GetUser(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			if create && (id == localUserID || e.cfg.localMode()) {
				return ensureLocalUser(ctx, s, id)
			}
			return nil, fmt.Errorf("no user %q (see `spotifyhist users list`)", id)
		}
		return u, err
	}
	users, err := s.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	if len(users) == 1 {
		return &users[0], nil
	}
	if e.cfg.localMode() {
		for i := range users {
			if users[i].ID == localUserID {
				return &users[i], nil
			}
		}
		if create {
			return ensureLocalUser(ctx, s, localUserID)
		}
		if len(users) == 0 {
			return nil, errors.New("no user yet: import an export first")
		}
	}
	if len(users) == 0 {
		return nil, errors.New("no user yet: log in with Spotify first, or pass --user")
	}
	return nil, fmt.Errorf("this instance has %d users: pass --user ID (see `spotifyhist users list`)", len(users))
}

func ensureLocalUser(ctx context.Context, s store.UserStore, id string) (*store.User, error) {
	return s.UpsertUser(ctx, &store.UpsertUserParams{ID: id, DisplayName: "Local user", Now: time.Now()})
}
