package spotifyhist_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/spotifyhist/spotifyhisttest"
)

// newExampleApp starts an in-process fake Spotify and an App wired to it.
func newExampleApp() (*spotifyhisttest.Server, *spotifyhist.App) {
	srv := spotifyhisttest.New(&spotifyhisttest.Options{BaseURL: spotifyhisttest.InProcessURL})
	app, err := spotifyhist.New(spotifyhist.Config{
		ClientID:     srv.ClientID(),
		ClientSecret: srv.ClientSecret(),
		RedirectURL:  "http://127.0.0.1:8080/auth/callback",
		APIURL:       srv.APIURL(),
		AccountsURL:  srv.AccountsURL(),
		HTTPClient:   &http.Client{Transport: srv.Transport()},
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	return srv, app
}

// Logging a user in: a state and PKCE verifier per attempt, the authorize URL, and the code
// exchange when the browser comes back.
func ExampleApp_Exchange() {
	srv, app := newExampleApp()
	defer srv.Close()
	srv.AddUser(spotifyhisttest.User{ID: "alice", DisplayName: "Alice"})

	state, verifier, err := app.NewPKCE()
	if err != nil {
		panic(err)
	}
	// Keep state and verifier in the browser's session, then redirect it here:
	authURL := app.AuthCodeURL(state, verifier)

	// The browser logs in at Spotify and comes back to the callback (simulated here).
	resp, err := srv.Client().Get(authURL)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	callback, _ := url.Parse(resp.Header.Get("Location"))
	if callback.Query().Get("state") != state {
		panic("state mismatch: reject the callback")
	}

	tok, err := app.Exchange(context.Background(), callback.Query().Get("code"), verifier)
	if err != nil {
		panic(err)
	}
	me, err := app.Client(tok, nil).Me(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Println("logged in:", me.ID, me.DisplayName)
	fmt.Println("refresh token dies:", spotifyhist.RefreshTokenExpiry(tok).Sub(tok.AuthorizedAt).Round(24*time.Hour) >= 181*24*time.Hour)
	// Output:
	// logged in: alice Alice
	// refresh token dies: true
}

// Polling the recently-played history with an after cursor, persisting refreshed tokens.
func ExampleClient_RecentlyPlayed() {
	srv, app := newExampleApp()
	defer srv.Close()
	start := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for i, name := range []string{"First", "Second", "Third"} {
		srv.AddRecentPlay("alice", spotifyhisttest.RecentPlay{
			Track:    &spotifyhisttest.Track{ID: fmt.Sprintf("trk00000000000000000%02d", i), Name: name, DurationMS: 180_000},
			PlayedAt: start.Add(time.Duration(i)*4*time.Minute + 250*time.Millisecond),
		})
	}
	ft := srv.IssueToken("alice")
	tok := &spotifyhist.Token{AccessToken: ft.AccessToken, RefreshToken: ft.RefreshToken, Expiry: ft.Expiry, AuthorizedAt: time.Now()}
	persist := func(ctx context.Context, tok *spotifyhist.Token) error {
		return nil // seal and store the refreshed token here
	}
	client := app.Client(tok, persist)

	cursor := start.Add(time.Minute) // latest played_at already stored
	plays, err := client.RecentlyPlayed(context.Background(), cursor)
	if err != nil {
		panic(err)
	}
	for _, p := range plays {
		fmt.Println(p.PlayedAt.Format(time.RFC3339Nano), p.Track.Name)
	}
	// Output:
	// 2026-05-01T12:04:00.25Z Second
	// 2026-05-01T12:08:00.25Z Third
}

// Reacting to errors: re-authorisation, rate-limit blocks and transient failures.
func ExampleIsRetryable() {
	srv, app := newExampleApp()
	defer srv.Close()
	ft := srv.IssueToken("alice")
	client := app.Client(&spotifyhist.Token{AccessToken: ft.AccessToken, RefreshToken: ft.RefreshToken, Expiry: ft.Expiry}, nil)

	srv.FailNext("/v1/tracks/{id}", spotifyhisttest.Fault{Status: 429, RetryAfter: "86400", Reason: "QUOTA_EXCEEDED"})
	ctx := spotifyhist.WithPriority(context.Background(), spotifyhist.PriorityEnrichment)
	_, err := client.Track(ctx, "trk0000000000000000001")

	switch {
	case errors.Is(err, spotifyhist.ErrReauthRequired):
		fmt.Println("ask the user to log in again")
	case spotifyhist.IsRetryable(err):
		until, _ := spotifyhist.BlockedUntil(err)
		fmt.Println("retry later; blocked for", until.Sub(time.Now()).Round(time.Hour))
	default:
		fmt.Println("give up:", err)
	}
	// Output:
	// retry later; blocked for 24h0m0s
}

// Local files get a stable ID from their whole URI, whatever its encoding.
func ExampleLocalTrackID() {
	a := spotifyhist.LocalTrackID("spotify:local:Halsey:Manic+%28Deluxe%29:929:174")
	b := spotifyhist.LocalTrackID("spotify:local:Halsey:Manic%20(Deluxe):929:174")
	fmt.Println(a == b, len(a))

	f, err := spotifyhist.ParseLocalURI("spotify:local:Halsey:Manic+%28Deluxe%29:929:174")
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s / %s / %s / %s\n", f.Artist, f.Album, f.Title, f.Duration)
	// Output:
	// true 58
	// Halsey / Manic (Deluxe) / 929 / 2m54s
}

// Tokens are sealed with AES-256-GCM before they are stored.
func ExampleSealer() {
	sealer, err := spotifyhist.NewSealer(spotifyhist.DeriveKey("a long random secret from the configuration"))
	if err != nil {
		panic(err)
	}
	sealed, err := sealer.SealToken(&spotifyhist.Token{AccessToken: "BQ…", RefreshToken: "AQ…"})
	if err != nil {
		panic(err)
	}
	tok, err := sealer.OpenToken(sealed)
	if err != nil {
		panic(err)
	}
	fmt.Println(tok)

	other, _ := spotifyhist.NewSealer(spotifyhist.DeriveKey("another secret"))
	_, err = other.OpenToken(sealed)
	fmt.Println(errors.Is(err, spotifyhist.ErrWrongKey))
	// Output:
	// Token{type= access_token=[redacted] refresh_token=[redacted] expiry=0001-01-01T00:00:00Z scope="" authorized_at=0001-01-01T00:00:00Z}
	// true
}
