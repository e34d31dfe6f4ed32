package main

import (
	"context"
	"flag"
	"fmt"
)

func migrateCommand() command {
	return command{
		name:    "migrate",
		summary: "apply database schema migrations and exit",
		run: func(ctx context.Context, e *env, _ *flag.FlagSet, args []string) error {
			if len(args) > 0 {
				return usagef("migrate takes no arguments")
			}
			s, err := openStore(ctx, e, nil)
			if err != nil {
				return err
			}
			defer s.Close()
			v, err := s.Migrate(ctx)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(e.stdout, "database schema at version %d\n", v)
			return err
		},
	}
}
