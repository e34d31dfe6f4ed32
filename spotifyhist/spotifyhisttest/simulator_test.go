package spotifyhisttest_test

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/spotifyhist/spotifyhisttest"
)

var simStart = time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)

func simConfig(seed int64, users int) spotifyhisttest.SimConfig {
	return spotifyhisttest.SimConfig{Seed: seed, Start: simStart, End: simStart.Add(24 * time.Hour), Users: users}
}

func simServer(t *testing.T, sim *spotifyhisttest.Simulator) *testBundle {
	t.Helper()
	c := newClock(simStart)
	srv := spotifyhisttest.NewServer(t, &spotifyhisttest.Options{Now: c.Now, BaseURL: spotifyhisttest.InProcessURL, Simulator: sim, AccessTokenTTL: 100 * 24 * time.Hour})
	return &testBundle{srv: srv, clock: c}
}

func TestSimulatorDeterminism(t *testing.T) {
	t.Parallel()
	a := spotifyhisttest.NewSimulator(simConfig(42, 3))
	b := spotifyhisttest.NewSimulator(simConfig(42, 3))
	c := spotifyhisttest.NewSimulator(simConfig(43, 3))
	require.Equal(t, a.UserIDs(), b.UserIDs())
	// Access order does not matter: users are generated independently.
	_ = b.Truth(b.UserID(2))
	for _, id := range a.UserIDs() {
		require.Equal(t, a.Streams(id), b.Streams(id))
		require.Equal(t, a.Truth(id), b.Truth(id))
		require.Equal(t, a.Playlists(id), b.Playlists(id))
		require.Equal(t, a.ExportExtendedHistory(id, simStart, simStart.Add(24*time.Hour)), b.ExportExtendedHistory(id, simStart, simStart.Add(24*time.Hour)))
		require.NotEqual(t, a.Truth(id), c.Truth(id))
	}
	require.Equal(t, a.Catalogue(), b.Catalogue())
	require.Nil(t, a.Truth("nobody"))
}

func TestSimulatorTimelineInvariants(t *testing.T) {
	t.Parallel()
	sim := spotifyhisttest.NewSimulator(spotifyhisttest.SimConfig{Seed: 7, Start: simStart, End: simStart.Add(7 * 24 * time.Hour), Users: 20})
	var total, local, episodes, ads, skipped, private, offline, replays, paused, qualifies int
	for _, id := range sim.UserIDs() {
		streams := sim.Streams(id)
		truth := sim.Truth(id)
		require.Len(t, truth, len(streams))
		for i, s := range streams {
			total++
			require.Equal(t, s.Start.Add(time.Duration(s.MSPlayed)*time.Millisecond+s.Paused), s.End)
			if i > 0 {
				require.False(t, s.Start.Before(streams[i-1].End), "streams overlap")
				prev := streams[i-1]
				if s.Kind == spotifyhisttest.StreamTrack && prev.Kind == spotifyhisttest.StreamTrack && s.Track.TrackURI() == prev.Track.TrackURI() && s.Start.Equal(prev.End) {
					replays++
				}
			}
			tp := truth[i]
			require.Equal(t, s.End, tp.End)
			require.Equal(t, s.Qualifies(), tp.Qualifies)
			require.Equal(t, s.Kind == spotifyhisttest.StreamTrack && !s.Private && s.MSPlayed >= 30_000, tp.Qualifies)
			if tp.Qualifies {
				qualifies++
			}
			if !tp.RecentlyPlayedAt.IsZero() {
				// Only qualifying Spotify tracks reach recently-played, and only after
				// they end and sync.
				require.True(t, tp.Qualifies)
				require.False(t, tp.IsLocal)
				require.False(t, tp.RecentlyPlayedAt.Before(s.SyncedAt))
				require.False(t, s.SyncedAt.Before(s.End))
			}
			switch {
			case s.Kind == spotifyhisttest.StreamEpisode:
				episodes++
				require.NotEmpty(t, s.Episode.ID)
			case s.Kind == spotifyhisttest.StreamAd:
				ads++
				require.False(t, s.Offline, "no ads offline")
			case s.Track.IsLocal:
				local++
				require.Empty(t, tp.TrackID)
				require.Equal(t, s.Track.URI, tp.TrackURI)
			}
			if s.Skipped {
				skipped++
			}
			if s.Private {
				private++
				require.False(t, tp.LiveVisible)
			}
			if s.Offline {
				offline++
				require.True(t, s.SyncedAt.After(s.End))
			}
			if s.Paused > 0 {
				paused++
				require.Less(t, s.PausedAt, time.Duration(s.MSPlayed)*time.Millisecond)
			}
			require.NotEmpty(t, s.ReasonStart)
			require.NotEmpty(t, s.ReasonEnd)
		}
	}
	share := func(n int) float64 { return float64(n) / float64(total) }
	require.Greater(t, total, 1000)
	require.InDelta(t, 0.03, share(local), 0.02)
	require.InDelta(t, 0.02, share(episodes), 0.015)
	require.InDelta(t, 0.02, share(ads), 0.015)
	require.InDelta(t, 0.25*0.93, share(skipped), 0.06)
	require.Positive(t, private)
	require.Positive(t, offline)
	require.Positive(t, replays)
	require.Positive(t, paused)
	require.Greater(t, share(qualifies), 0.6)
}

func TestSimulatorShares(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cfg   spotifyhisttest.SimConfig
		check func(t *testing.T, streams []spotifyhisttest.Stream)
	}{
		{
			name: "NoSkipsNoAdsNoLocal",
			cfg:  spotifyhisttest.SimConfig{SkipRate: -1, AdShare: -1, LocalShare: -1, EpisodeShare: -1, PrivateShare: -1, OfflineShare: -1, SkippedOmitShare: -1},
			check: func(t *testing.T, streams []spotifyhisttest.Stream) {
				for _, s := range streams {
					require.False(t, s.Skipped)
					require.Equal(t, spotifyhisttest.StreamTrack, s.Kind)
					require.False(t, s.Track.IsLocal)
					require.False(t, s.RecentlyPlayedAt.IsZero(), "every full track shows up")
				}
			},
		},
		{
			name: "AllPrivate",
			cfg:  spotifyhisttest.SimConfig{PrivateShare: 1},
			check: func(t *testing.T, streams []spotifyhisttest.Stream) {
				for _, s := range streams {
					require.True(t, s.Private)
					require.True(t, s.RecentlyPlayedAt.IsZero())
					require.False(t, s.Qualifies())
				}
			},
		},
		{
			name: "NoIdleNightsStillSequential",
			cfg:  spotifyhisttest.SimConfig{DisableIdleNights: true, SessionsPerDay: 20},
			check: func(t *testing.T, streams []spotifyhisttest.Stream) {
				require.NotEmpty(t, streams)
				for i := 1; i < len(streams); i++ {
					require.False(t, streams[i].Start.Before(streams[i-1].End))
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := tc.cfg
			cfg.Seed, cfg.Start, cfg.End, cfg.Users = 3, simStart, simStart.Add(48*time.Hour), 2
			sim := spotifyhisttest.NewSimulator(cfg)
			for _, id := range sim.UserIDs() {
				tc.check(t, sim.Streams(id))
			}
		})
	}
}

// TestSimulatedRecentlyPlayedShowsOnlyTruth polls recently-played through
// the day and checks each page is exactly the newest 50 truth plays visible
// at that moment.
func TestSimulatedRecentlyPlayedShowsOnlyTruth(t *testing.T) {
	t.Parallel()
	sim := spotifyhisttest.NewSimulator(spotifyhisttest.SimConfig{Seed: 11, Start: simStart, End: simStart.Add(24 * time.Hour), Users: 4, OfflineShare: 0.2, LagLongShare: 0.05})
	b := simServer(t, sim)
	for _, id := range sim.UserIDs() {
		truth := sim.Truth(id)
		byEnd := map[int64]spotifyhisttest.TruthPlay{}
		for _, tp := range truth {
			byEnd[tp.End.UnixMilli()] = tp
		}
		tok := b.srv.IssueToken(id).AccessToken
		for now := simStart; now.Before(simStart.Add(26 * time.Hour)); now = now.Add(53 * time.Minute) {
			b.clock.Set(now)
			var want []int64
			for i := len(truth) - 1; i >= 0 && len(want) < spotifyhisttest.RecentlyPlayedWindow; i-- {
				tp := truth[i]
				if !tp.RecentlyPlayedAt.IsZero() && !tp.RecentlyPlayedAt.After(now) && !tp.End.After(now) {
					want = append(want, tp.End.UnixMilli())
				}
			}
			m := get(t, b.srv, tok, "/v1/me/player/recently-played?limit=50").json(t)
			var got []int64
			for _, it := range items(t, m) {
				ms := playedAtMS(t, it)
				got = append(got, ms)
				tp, ok := byEnd[ms]
				require.True(t, ok, "played_at %d is not a truth play end", ms)
				require.True(t, tp.Qualifies)
				require.False(t, tp.IsLocal)
				require.True(t, tp.RecentlyPlayedReachable)
				require.Equal(t, tp.TrackURI, obj(t, it["track"])["uri"])
			}
			require.Equal(t, want, got, "at %s", now)
		}
	}
}

func TestSimulatedOfflinePlayArrivesLate(t *testing.T) {
	t.Parallel()
	sim := spotifyhisttest.NewSimulator(spotifyhisttest.SimConfig{Seed: 5, Start: simStart, End: simStart.Add(24 * time.Hour), Users: 3, OfflineShare: 0.5, SessionsPerDay: 1})
	b := simServer(t, sim)
	var user string
	var late spotifyhisttest.TruthPlay
	for _, id := range sim.UserIDs() {
		for _, tp := range sim.Truth(id) {
			if tp.Offline && !tp.RecentlyPlayedAt.IsZero() {
				user, late = id, tp
				break
			}
		}
		if user != "" {
			break
		}
	}
	require.NotEmpty(t, user, "no offline play in the simulation")
	require.Greater(t, late.RecentlyPlayedAt.Sub(late.End), 5*time.Minute)
	tok := b.srv.IssueToken(user).AccessToken
	after := strconv.FormatInt(late.End.UnixMilli()-1, 10)
	has := func() bool {
		m := get(t, b.srv, tok, "/v1/me/player/recently-played?limit=50&after="+after).json(t)
		for _, it := range items(t, m) {
			if playedAtMS(t, it) == late.End.UnixMilli() {
				return true
			}
		}
		return false
	}
	b.clock.Set(late.RecentlyPlayedAt.Add(-time.Millisecond))
	require.False(t, has())
	b.clock.Set(late.RecentlyPlayedAt)
	require.True(t, has())
	// While the offline session played, currently-playing showed nothing.
	b.clock.Set(late.Start.Add(time.Second))
	require.Equal(t, http.StatusNoContent, get(t, b.srv, tok, "/v1/me/player/currently-playing").status)
}

func TestSimulatedCurrentlyPlayingMatchesCoveringStream(t *testing.T) {
	t.Parallel()
	sim := spotifyhisttest.NewSimulator(spotifyhisttest.SimConfig{Seed: 9, Start: simStart, End: simStart.Add(24 * time.Hour), Users: 4,
		LocalShare: 0.1, EpisodeShare: 0.1, AdShare: 0.1, PauseShare: 0.2, PrivateShare: 0.25})
	b := simServer(t, sim)
	kinds := map[string]int{}
	for _, id := range sim.UserIDs() {
		tok := b.srv.IssueToken(id).AccessToken
		// Probe the middle of every stream, inside every pause, the instant a
		// stream ends, and idle hours.
		var times []time.Time
		for now := simStart; now.Before(simStart.Add(24 * time.Hour)); now = now.Add(47 * time.Minute) {
			times = append(times, now)
		}
		for _, s := range sim.Streams(id) {
			times = append(times, s.Start.Add(s.End.Sub(s.Start)/2), s.End)
			if s.Paused > 0 {
				times = append(times, s.Start.Add(s.PausedAt+time.Second), s.Start.Add(s.PausedAt+s.Paused))
			}
		}
		for _, now := range times {
			b.clock.Set(now)
			r := get(t, b.srv, tok, "/v1/me/player/currently-playing?additional_types=episode")
			s, ok := sim.StreamAt(id, now)
			if !ok || s.Offline || s.Private {
				require.Equal(t, http.StatusNoContent, r.status, "at %s", now)
				require.Empty(t, r.body)
				if ok && s.Private {
					kinds["private"]++
					p := get(t, b.srv, tok, "/v1/me/player").json(t)
					require.Equal(t, true, obj(t, p["device"])["is_private_session"])
				}
				continue
			}
			require.Equal(t, http.StatusOK, r.status)
			m := r.json(t)
			pos := now.Sub(s.Start)
			playing := true
			switch {
			case s.Paused == 0 || pos < s.PausedAt:
			case pos < s.PausedAt+s.Paused:
				pos, playing = s.PausedAt, false
			default:
				pos -= s.Paused
			}
			require.Equal(t, playing, m["is_playing"])
			if !playing {
				kinds["paused"]++
			}
			switch s.Kind {
			case spotifyhisttest.StreamAd:
				kinds["ad"]++
				require.Equal(t, "ad", m["currently_playing_type"])
				require.Nil(t, m["item"])
				require.Nil(t, m["progress_ms"])
				continue
			case spotifyhisttest.StreamEpisode:
				kinds["episode"]++
				require.Equal(t, "episode", m["currently_playing_type"])
				require.Equal(t, s.Episode.EpisodeURI(), obj(t, m["item"])["uri"])
			default:
				if s.Track.IsLocal {
					kinds["local"]++
				} else {
					kinds["track"]++
				}
				require.Equal(t, "track", m["currently_playing_type"])
				item := obj(t, m["item"])
				require.Equal(t, s.Track.TrackURI(), item["uri"])
				require.Equal(t, s.Track.IsLocal, item["is_local"])
			}
			require.EqualValues(t, pos.Milliseconds(), m["progress_ms"])
			require.EqualValues(t, now.UnixMilli(), m["timestamp"])
		}
	}
	for _, k := range []string{"track", "local", "episode", "ad", "private", "paused"} {
		require.Positive(t, kinds[k], "never saw %s", k)
	}
}

func TestSimulatedUsersOnServer(t *testing.T) {
	t.Parallel()
	sim := spotifyhisttest.NewSimulator(simConfig(1, 3))
	b := simServer(t, sim)
	require.Same(t, sim, b.srv.Simulator())
	id := sim.UserID(1)
	require.Equal(t, "simuser00002", id)
	tok := b.srv.IssueToken(id).AccessToken

	me := get(t, b.srv, tok, "/v1/me").json(t)
	require.Equal(t, id, me["id"])
	require.Equal(t, "Sim Listener 2", me["display_name"])

	// The first simulated user logs in through /authorize by default.
	q := "client_id=" + b.srv.ClientID() + "&response_type=code&redirect_uri=" + redirectURI
	r := get(t, b.srv, "", "/authorize?"+q)
	require.Equal(t, http.StatusFound, r.status)
	require.Equal(t, sim.UserID(0), b.srv.Requests()[len(b.srv.Requests())-1].UserID)

	pls := get(t, b.srv, tok, "/v1/me/playlists?limit=50").json(t)
	require.EqualValues(t, spotifyhisttest.SimPlaylistsPerUserDefault, pls["total"])
	var rows, locals, nulls int
	for _, p := range items(t, pls) {
		pid := p["id"].(string)
		next := b.srv.URL() + "/v1/playlists/" + pid + "/items?limit=50"
		for next != "" {
			page := get(t, b.srv, tok, next).json(t)
			for _, row := range items(t, page) {
				rows++
				if row["is_local"] == true {
					locals++
				}
				if row["item"] == nil {
					nulls++
				}
			}
			next, _ = page["next"].(string)
		}
		// Other users may not read the rows.
		other := b.srv.IssueToken(sim.UserID(0)).AccessToken
		require.Equal(t, http.StatusForbidden, get(t, b.srv, other, "/v1/playlists/"+pid+"/items").status)
	}
	total := 0
	for _, p := range items(t, pls) {
		total += int(obj(t, p["items"])["total"].(float64))
	}
	require.Positive(t, rows)
	require.Equal(t, total, rows)

	tr := sim.Catalogue()[7]
	got := get(t, b.srv, tok, "/v1/tracks/"+tr.ID).json(t)
	require.Equal(t, tr.Name, got["name"])
	require.Equal(t, `<script>alert("x")</script>`, got["name"])

	require.Panics(t, func() { b.srv.SetPlayback(id, nil) })
	require.Panics(t, func() { b.srv.AddRecentPlay(id, spotifyhisttest.RecentPlay{TrackID: tr.ID}) })
}

func TestSimulatorIsLazy(t *testing.T) {
	t.Parallel()
	// Ten thousand users cost only an index until used.
	sim := spotifyhisttest.NewSimulator(spotifyhisttest.SimConfig{Seed: 1, Users: 10_000})
	require.Len(t, sim.UserIDs(), 10_000)
	require.Equal(t, "simuser10000", sim.UserID(9999))
	require.NotEmpty(t, sim.Truth(sim.UserID(9999)))
	require.Len(t, sim.LocalFiles(sim.UserID(0)), len(sim.LocalFiles(sim.UserID(0))))
	u, ok := sim.User(sim.UserID(5))
	require.True(t, ok)
	require.Equal(t, "Sim Listener 6", u.DisplayName)
}

func TestLocalLibraryHasNearCollisions(t *testing.T) {
	t.Parallel()
	sim := spotifyhisttest.NewSimulator(simConfig(1, 1))
	locals := sim.LocalFiles(sim.UserID(0))
	require.GreaterOrEqual(t, len(locals), 10)
	a, b := locals[0], locals[1]
	require.NotEqual(t, a.URI, b.URI)
	require.Equal(t, a.DurationMS, b.DurationMS)
	require.Equal(t, a.Album.Name, b.Album.Name)
	for _, l := range locals {
		artist, album, title, secs, ok := spotifyhisttest.ParseLocalURI(l.URI)
		require.True(t, ok, l.URI)
		require.Equal(t, l.Name, title)
		require.Equal(t, l.Album.Name, album)
		require.Equal(t, l.DurationMS, secs*1000)
		if len(l.Artists) > 0 {
			require.Equal(t, l.Artists[0].Name, artist)
		} else {
			require.Empty(t, artist)
		}
	}
}

func BenchmarkSimulator10kUsersDay(b *testing.B) {
	for b.Loop() {
		sim := spotifyhisttest.NewSimulator(spotifyhisttest.SimConfig{Seed: int64(b.N), Users: 10_000})
		n := 0
		for _, id := range sim.UserIDs() {
			n += len(sim.Truth(id))
		}
		b.ReportMetric(float64(n), "streams")
	}
}

func BenchmarkSimulatedRecentlyPlayed(b *testing.B) {
	sim := spotifyhisttest.NewSimulator(spotifyhisttest.SimConfig{Seed: 1, Users: 100})
	srv := spotifyhisttest.New(&spotifyhisttest.Options{BaseURL: spotifyhisttest.InProcessURL, Simulator: sim,
		Now: func() time.Time { return simStart.Add(20 * time.Hour) }, AccessTokenTTL: 1000 * time.Hour})
	defer srv.Close()
	toks := make([]string, 100)
	for i := range toks {
		toks[i] = srv.IssueToken(sim.UserID(i)).AccessToken
	}
	client := srv.Client()
	i := 0
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodGet, srv.APIURL()+"me/player/recently-played?limit=50", nil)
		req.Header.Set("Authorization", "Bearer "+toks[i%100])
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatal(err, resp)
		}
		resp.Body.Close()
		i++
	}
	_ = fmt.Sprint()
}

func TestSimulatedWindowOverflowIsUnreachable(t *testing.T) {
	t.Parallel()
	// Long offline sessions sync more than 50 plays at once.
	sim := spotifyhisttest.NewSimulator(spotifyhisttest.SimConfig{Seed: 6, Start: simStart, End: simStart.Add(48 * time.Hour), Users: 1,
		OfflineShare: 1, SessionLength: 6 * time.Hour, SkipRate: -1, LagMedian: time.Millisecond})
	b := simServer(t, sim)
	id := sim.UserID(0)
	tok := b.srv.IssueToken(id).AccessToken
	var lost, kept int
	for _, tp := range sim.Truth(id) {
		if tp.RecentlyPlayedAt.IsZero() {
			continue
		}
		if tp.RecentlyPlayedReachable {
			kept++
			continue
		}
		lost++
		if lost > 5 {
			continue
		}
		for _, at := range []time.Time{tp.RecentlyPlayedAt, tp.RecentlyPlayedAt.Add(time.Hour)} {
			b.clock.Set(at)
			m := get(t, b.srv, tok, "/v1/me/player/recently-played?limit=50").json(t)
			for _, it := range items(t, m) {
				require.NotEqual(t, tp.End.UnixMilli(), playedAtMS(t, it))
			}
		}
	}
	require.Positive(t, lost)
	require.Positive(t, kept)
}
