package spotifyhisttest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/spotifyhist/spotifyhist/spotifyhist/spotifyhisttest"
)

func Example() {
	now := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	srv := spotifyhisttest.New(&spotifyhisttest.Options{
		BaseURL: spotifyhisttest.InProcessURL, // no listener: in process only
		Now:     func() time.Time { return now },
	})
	defer srv.Close()

	track := spotifyhisttest.Track{ID: spotifyhisttest.ID("song"), Name: "Song", DurationMS: 180_000}
	for i := range 3 {
		srv.AddRecentPlay("alice", spotifyhisttest.RecentPlay{Track: &track, PlayedAt: now.Add(-time.Duration(i+1) * 3 * time.Minute)})
	}
	tok := srv.IssueToken("alice")

	req, _ := http.NewRequest(http.MethodGet, srv.APIURL()+"me/player/recently-played?limit=2", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := srv.Client().Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var page struct {
		Next    string
		Cursors struct{ After, Before string }
		Items   []struct {
			PlayedAt string `json:"played_at"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		panic(err)
	}
	for _, it := range page.Items {
		fmt.Println(it.PlayedAt)
	}
	fmt.Println(page.Cursors.Before)
	fmt.Println(page.Next)
	// Output:
	// 2026-10-01T11:57:00.000Z
	// 2026-10-01T11:54:00.000Z
	// 1790855640000
	// http://spotify.test/v1/me/player/recently-played?before=1790855640000&limit=2
}

func ExampleServer_FailNext() {
	srv := spotifyhisttest.New(&spotifyhisttest.Options{BaseURL: spotifyhisttest.InProcessURL})
	defer srv.Close()
	tok := srv.IssueToken("alice")
	srv.FailNext("/v1/me", spotifyhisttest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "86400", Reason: "QUOTA_EXCEEDED"})

	for range 2 {
		req, _ := http.NewRequest(http.MethodGet, srv.APIURL()+"me", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := srv.Client().Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode, resp.Header.Get("Retry-After") != "")
	}
	fmt.Println(srv.CallCount("/v1/me"))
	// Output:
	// 429 true
	// 200 false
	// 2
}

func ExampleSimulator() {
	start := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	sim := spotifyhisttest.NewSimulator(spotifyhisttest.SimConfig{Seed: 1, Start: start, End: start.Add(7 * 24 * time.Hour), Users: 2})
	for _, id := range sim.UserIDs() {
		streams, qualifying, inRecentlyPlayed := 0, 0, 0
		for _, p := range sim.Truth(id) {
			streams++
			if p.Qualifies {
				qualifying++
			}
			if !p.RecentlyPlayedAt.IsZero() {
				inRecentlyPlayed++
			}
		}
		fmt.Println(id, streams, qualifying, inRecentlyPlayed)
	}
	// Output:
	// simuser00001 324 250 227
	// simuser00002 208 161 143
}
