package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/spotifyhist/spotifyhist/monitor"
	"github.com/spotifyhist/spotifyhist/spotifyhist"
)

func linkArtistsCommand() command {
	var asJSON bool
	return command{
		name:    "link-artists",
		summary: "run the artist linker once (for a CronJob); exit 0 on success, 1 on fatal error",
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&asJSON, "json", false, "print the run's summary as JSON")
		},
		run: func(ctx context.Context, e *env, _ *flag.FlagSet, args []string) error {
			if len(args) > 0 {
				return usagef("link-artists takes no arguments")
			}
			if e.cfg.localMode() {
				return errors.New("link-artists needs Spotify credentials (SPOTIFYHIST_SPOTIFY_CLIENT_ID) to look tracks up")
			}
			s, err := openStore(ctx, e, nil)
			if err != nil {
				return err
			}
			defer s.Close()
			key, err := secretKey(e)
			if err != nil {
				return err
			}
			sealer, err := spotifyhist.NewSealer(spotifyhist.DeriveKey(key))
			if err != nil {
				return err
			}
			sc := e.cfg.spotifyConfig()
			sc.RedirectURL, sc.Logger = "", e.logger // stored tokens only: no login
			app, err := spotifyhist.New(sc)
			if err != nil {
				return fmt.Errorf("Spotify configuration: %w", err)
			}
			linker, err := monitor.NewLinker(monitor.LinkerConfig{Store: s, Clients: monitor.NewClients(app, sealer, s, time.Now), Logger: e.logger})
			if err != nil {
				return err
			}
			res, err := linker.Run(ctx)
			if err != nil {
				return fmt.Errorf("link-artists: %w", err)
			}
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				return enc.Encode(res)
			}
			fmt.Fprintf(e.stdout, "linked %d tracks, %d failed, %d remaining", res.Linked, res.Failed, res.Remaining)
			if res.Stopped != "" {
				fmt.Fprintf(e.stdout, " (stopped: %s)", res.Stopped)
			}
			fmt.Fprintln(e.stdout)
			return nil
		},
	}
}

// backuper is implemented by stores that can copy themselves consistently.
type backuper interface {
	Backup(ctx context.Context, path string) error
}

func backupCommand() command {
	return command{
		name:    "backup",
		args:    "PATH",
		summary: "write a consistent copy of the embedded database (SQLite); use pg_dump for PostgreSQL",
		run: func(ctx context.Context, e *env, _ *flag.FlagSet, args []string) error {
			if len(args) != 1 {
				return usagef("backup: want exactly one PATH")
			}
			target, err := e.cfg.database()
			if err != nil {
				return err
			}
			if target.kind == "postgres" {
				return fmt.Errorf("backup copies the embedded SQLite database; for PostgreSQL use pg_dump, e.g. pg_dump --format=custom --file=%s %q", args[0], redactURL(target.url))
			}
			s, err := openStore(ctx, e, nil)
			if err != nil {
				return err
			}
			defer s.Close()
			b, ok := s.(backuper)
			if !ok {
				return errors.New("this store cannot back itself up")
			}
			if err := b.Backup(ctx, args[0]); err != nil {
				return fmt.Errorf("backup: %w", err)
			}
			_, err = fmt.Fprintf(e.stdout, "backup written to %s\n", args[0])
			return err
		},
	}
}
