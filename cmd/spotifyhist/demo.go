package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/spotifyhist/spotifyhisttest"
	"github.com/spotifyhist/spotifyhist/store"
)

// Demo mode runs the real daemon against the in-process fake Spotify: a
// simulated listener in each listening mode, plays arriving live, and a
// year of synthetic history imported for the first listener (the one the
// demo login signs in as).
const (
	demoUsers   = 4
	demoHistory = 365 * 24 * time.Hour
	demoAhead   = 60 * 24 * time.Hour
)

var demoModes = []store.Mode{store.ModeAdaptive, store.ModeHistory, store.ModeRealtime, store.ModeHybrid}

type demoSpotify struct {
	fake *spotifyhisttest.Server
	sim  *spotifyhisttest.Simulator
}

// startDemo starts the fake Spotify and points the configuration at it.
func startDemo(_ context.Context, e *env) (*demoSpotify, error) {
	if !e.cfg.localMode() {
		return nil, errors.New("--demo runs against the built-in fake Spotify: unset SPOTIFYHIST_SPOTIFY_CLIENT_ID")
	}
	now := time.Now().UTC().Truncate(time.Hour)
	sim := spotifyhisttest.NewSimulator(spotifyhisttest.SimConfig{
		Seed:         20261130,
		Start:        now.Add(-demoHistory),
		End:          now.Add(demoAhead),
		Users:        demoUsers,
		UserIDPrefix: "demo",
	})
	fake := spotifyhisttest.New(&spotifyhisttest.Options{Simulator: sim})
	e.cfg.ClientID = fake.ClientID()
	e.cfg.ClientSecret = fake.ClientSecret()
	e.cfg.APIURL = fake.APIURL()
	e.cfg.AccountsURL = fake.AccountsURL()
	// A short history interval so that a newcomer sees plays arrive within
	// a minute even in history mode.
	e.cfg.HistoryPollInterval = time.Minute
	e.logger.Info("demo: fake Spotify running", "url", fake.URL(), "listeners", demoUsers)
	return &demoSpotify{fake: fake, sim: sim}, nil
}

func (d *demoSpotify) Close() { d.fake.Close() }

// seed registers the simulated listeners with fresh tokens and imports the
// first listener's synthetic export once.
func (d *demoSpotify) seed(ctx context.Context, dm *daemon) error {
	now := time.Now()
	ids := d.sim.UserIDs()
	for i, id := range ids {
		ft := d.fake.IssueToken(id)
		tok := &spotifyhist.Token{
			AccessToken: ft.AccessToken, RefreshToken: ft.RefreshToken, TokenType: "Bearer",
			Scope: ft.Scope, Expiry: ft.Expiry, AuthorizedAt: now,
		}
		sealed, err := dm.sealer.SealToken(tok)
		if err != nil {
			return err
		}
		name := id
		if u, ok := d.sim.User(id); ok && u.DisplayName != "" {
			name = u.DisplayName
		}
		if _, err := dm.store.UpsertUser(ctx, &store.UpsertUserParams{
			ID: id, DisplayName: name, Token: sealed, AuthorizedAt: now,
			Mode: demoModes[i%len(demoModes)], Now: now,
		}); err != nil {
			return err
		}
	}
	first := ids[0]
	if _, err := dm.store.LatestPlay(ctx, first, store.SourceImport); err == nil {
		return nil // imported on an earlier start
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	export := d.sim.ExportExtendedHistory(first, now.Add(-demoHistory), now.Add(-time.Hour))
	var zip bytes.Buffer
	if err := spotifyhisttest.WriteExportZip(&zip, map[string][]byte{
		"Spotify Extended Streaming History/Streaming_History_Audio_demo_0.json": export,
	}); err != nil {
		return err
	}
	src := spotifyhist.ExportSource{ReaderAt: bytes.NewReader(zip.Bytes()), Size: int64(zip.Len()), Name: "my_spotify_data.zip"}
	res, err := dm.importer.Execute(ctx, first, src, nil, nil)
	if err != nil {
		return fmt.Errorf("import the synthetic export: %w", err)
	}
	dm.e.logger.Info("demo: synthetic export imported", "user_id", first, "imported", res.Imported)
	return nil
}
