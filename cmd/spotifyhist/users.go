package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spotifyhist/spotifyhist/store"
)

// userJSON is the shape of `users list --json` (DESIGN §8).
type userJSON struct {
	ID           string     `json:"id"`
	DisplayName  string     `json:"display_name"`
	Enabled      bool       `json:"enabled"`
	Mode         store.Mode `json:"mode"`
	NeedsReauth  bool       `json:"needs_reauth"`
	WorkerID     string     `json:"worker_id"`
	AuthorizedAt *time.Time `json:"authorized_at,omitempty"`
}

func usersCommand() command {
	var asJSON bool
	return command{
		name:    "users",
		args:    "list [--json] | enable ID | disable ID | mode ID MODE | delete ID",
		summary: "list and administer users",
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&asJSON, "json", false, "print JSON (list)")
		},
		run: func(ctx context.Context, e *env, _ *flag.FlagSet, args []string) error {
			if len(args) == 0 {
				return usagef("users: want list, enable, disable, mode or delete")
			}
			want := map[string]int{"list": 1, "enable": 2, "disable": 2, "mode": 3, "delete": 2}
			n, ok := want[args[0]]
			if !ok {
				return usagef("users: unknown action %q (want list, enable, disable, mode or delete)", args[0])
			}
			if len(args) != n {
				return usagef("users %s: wrong number of arguments", args[0])
			}
			s, err := openStore(ctx, e, nil)
			if err != nil {
				return err
			}
			defer s.Close()
			now := time.Now()
			switch args[0] {
			case "list":
				return listUsers(ctx, e, s, asJSON)
			case "enable", "disable":
				enabled := args[0] == "enable"
				_, err = s.UpdateUser(ctx, &store.UpdateUserParams{ID: args[1], Enabled: &enabled, Now: now})
			case "mode":
				mode := store.Mode(args[2])
				if !mode.Valid() {
					return usagef("users mode: unknown mode %q (want history, realtime, hybrid or adaptive)", args[2])
				}
				_, err = s.UpdateUser(ctx, &store.UpdateUserParams{ID: args[1], Mode: &mode, Now: now})
			case "delete":
				err = s.DeleteUser(ctx, args[1])
			}
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("users %s: no user %q", args[0], args[1])
			}
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(e.stdout, "users %s %s: done\n", args[0], args[1])
			return err
		},
	}
}

func listUsers(ctx context.Context, e *env, s store.UserStore, asJSON bool) error {
	users, err := s.ListUsers(ctx)
	if err != nil {
		return err
	}
	out := make([]userJSON, 0, len(users))
	for _, u := range users {
		j := userJSON{ID: u.ID, DisplayName: u.DisplayName, Enabled: u.Enabled, Mode: u.Mode, NeedsReauth: u.NeedsReauth, WorkerID: u.WorkerID}
		if !u.AuthorizedAt.IsZero() {
			t := u.AuthorizedAt.UTC()
			j.AuthorizedAt = &t
		}
		out = append(out, j)
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tENABLED\tMODE\tNEEDS LOGIN\tWORKER")
	for _, u := range out {
		fmt.Fprintf(tw, "%s\t%s\t%t\t%s\t%t\t%s\n", u.ID, u.DisplayName, u.Enabled, u.Mode, u.NeedsReauth, u.WorkerID)
	}
	return tw.Flush()
}
