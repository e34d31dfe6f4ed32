package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/spotifyhist/spotifyhist/monitor"
	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/spotifyhist/spotifyhisttest"
	"github.com/spotifyhist/spotifyhist/store"
	"github.com/spotifyhist/spotifyhist/store/sqlite"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "embed-monitor:", err)
		os.Exit(1)
	}
}

// options are the command-line settings.
type options struct {
	users    int
	simulate time.Duration
	speed    int
	show     int
	db       string
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("embed-monitor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.users, "users", 2, "simulated Spotify users")
	fs.DurationVar(&o.simulate, "simulate", 3*time.Hour, "simulated time to monitor")
	fs.IntVar(&o.speed, "speed", 720, "simulated seconds per real second")
	fs.IntVar(&o.show, "show", 8, "latest plays to print per user (0: all)")
	fs.StringVar(&o.db, "db", "", "SQLite database file (default: a temporary one)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.users < 1:
		return nil, errors.New("-users: want at least 1")
	case o.simulate < 10*time.Minute:
		return nil, errors.New("-simulate: want at least 10m")
	case o.speed < 1:
		return nil, errors.New("-speed: want at least 1")
	case o.show < 0:
		return nil, errors.New("-show: want 0 or more")
	}
	return o, nil
}

// run monitors the simulated users for o.simulate of simulated time and
// reports what was stored.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	// Simulated time: the fake Spotify, its listeners and the App's token
	// handling read this clock; it ends at the real present. The monitor and
	// the store keep the wall clock for leases and heartbeats.
	realStart := time.Now()
	speed := time.Duration(o.speed)
	simStart := realStart.UTC().Truncate(time.Minute).Add(-o.simulate)
	clock := func() time.Time { return simStart.Add(time.Since(realStart) * speed) }
	runFor := o.simulate / speed

	sim := spotifyhisttest.NewSimulator(spotifyhisttest.SimConfig{
		Seed:              1,
		Start:             simStart.Add(-6 * time.Hour), // some listening before the monitor starts
		End:               simStart.Add(o.simulate + time.Hour),
		Users:             o.users,
		SessionsPerDay:    12,
		DisableIdleNights: true,
		PlaylistsPerUser:  -1,
	})
	// BaseURL without a listener: the fake is reached in process through
	// its Transport, as tests inside testing/synctest need.
	fake := spotifyhisttest.New(&spotifyhisttest.Options{Now: clock, Simulator: sim, BaseURL: spotifyhisttest.InProcessURL})
	defer fake.Close()

	// Against the real Spotify: ClientID and ClientSecret of your app, and
	// nothing else (the default URLs and HTTP client).
	app, err := spotifyhist.New(spotifyhist.Config{
		ClientID:     fake.ClientID(),
		ClientSecret: fake.ClientSecret(),
		APIURL:       fake.APIURL(),
		AccountsURL:  fake.AccountsURL(),
		HTTPClient:   &http.Client{Transport: fake.Transport()},
		Logger:       logger,
		Now:          clock,
	})
	if err != nil {
		return err
	}

	path := o.db
	if path == "" {
		dir, err := os.MkdirTemp("", "embed-monitor-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "spotifyhist.db")
	}
	st, err := sqlite.New(ctx, sqlite.Config{Path: path, Logger: logger})
	if err != nil {
		return err
	}
	defer st.Close()

	// Tokens are stored sealed; keep the key as safely as the database.
	key := make([]byte, spotifyhist.KeySize)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	sealer, err := spotifyhist.NewSealer(key)
	if err != nil {
		return err
	}

	// Register each user as a login would: a token, sealed, in the store.
	for _, id := range sim.UserIDs() {
		ft := fake.IssueToken(id)
		sealed, err := sealer.SealToken(&spotifyhist.Token{
			AccessToken: ft.AccessToken, RefreshToken: ft.RefreshToken, TokenType: ft.TokenType,
			Scope: ft.Scope, Expiry: ft.Expiry, AuthorizedAt: clock(),
		})
		if err != nil {
			return err
		}
		u, _ := sim.User(id)
		if _, err := st.UpsertUser(ctx, &store.UpsertUserParams{
			ID: id, DisplayName: u.DisplayName, Token: sealed, AuthorizedAt: clock(),
			Mode: store.ModeHistory, Now: time.Now(),
		}); err != nil {
			return err
		}
	}

	// recently-played every second of real time, i.e. every 12 simulated
	// minutes at the default speed: well inside Spotify's 50-play window.
	const pollEvery = time.Second
	mon, err := monitor.New(monitor.Config{
		Store:                st,
		Clients:              monitor.NewClients(app, sealer, st, nil),
		HistoryPollInterval:  pollEvery,
		PlaylistScanInterval: -1,
		SongIDInterval:       -1,
		Logger:               logger,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "monitoring %d simulated users for %s of simulated time (%s at ×%d), SQLite at %s\n\n",
		o.users, o.simulate, runFor, o.speed, path)
	runCtx, cancel := context.WithTimeout(ctx, runFor)
	defer cancel()
	if err := mon.Run(runCtx); err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	end := clock()

	// What was stored, against the simulator's ground truth: every play
	// that showed in recently-played while the monitor ran (up to its last
	// poll) should be there, and nothing else.
	lastPoll := end.Add(-pollEvery * speed)
	shown := func(p spotifyhisttest.TruthPlay) bool {
		return p.RecentlyPlayedReachable && !p.RecentlyPlayedAt.IsZero() &&
			!p.RecentlyPlayedAt.Before(simStart) && p.RecentlyPlayedAt.Before(lastPoll)
	}
	var stored, visible, captured, bogus int
	for _, id := range sim.UserIDs() {
		plays, err := st.ListPlays(ctx, &store.ListPlaysParams{UserID: id, From: simStart.Add(-24 * time.Hour)})
		if err != nil {
			return err
		}
		got := map[string]bool{}
		for _, p := range plays {
			got[playKey(p.TrackID, p.PlayedAt)] = true
		}
		truth := map[string]bool{}
		for _, p := range sim.Truth(id) {
			truth[playKey(p.TrackID, p.End)] = true
			if shown(p) {
				visible++
				if got[playKey(p.TrackID, p.End)] {
					captured++
				}
			}
		}
		for k := range got {
			if !truth[k] {
				bogus++
			}
		}
		stored += len(plays)
		printPlays(stdout, id, plays, o.show)
	}
	fmt.Fprintf(stdout, "stored %d plays; captured %d of the %d that appeared in recently-played during the run; %d not in the ground truth\n",
		stored, captured, visible, bogus)
	return nil
}

func playKey(trackID string, playedAt time.Time) string {
	return trackID + "@" + playedAt.UTC().Truncate(time.Millisecond).Format(time.RFC3339Nano)
}

// printPlays prints the user's latest plays, newest last.
func printPlays(w io.Writer, userID string, plays []store.PlayWithTrack, show int) {
	fmt.Fprintf(w, "%s: %d plays\n", userID, len(plays))
	from := 0
	if show > 0 && len(plays) > show {
		from = len(plays) - show
		fmt.Fprintf(w, "  … %d earlier\n", from)
	}
	for _, p := range plays[from:] {
		artist := ""
		if len(p.Track.Artists) > 0 {
			artist = p.Track.Artists[0].Name
		}
		fmt.Fprintf(w, "  %s  %s — %s\n", p.PlayedAt.UTC().Format("2006-01-02 15:04:05"), p.Track.Name, artist)
	}
	fmt.Fprintln(w)
}
