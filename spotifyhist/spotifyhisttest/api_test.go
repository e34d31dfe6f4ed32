package spotifyhisttest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/spotifyhist/spotifyhisttest"
)

func testTrack(i int) spotifyhisttest.Track {
	return spotifyhisttest.Track{
		ID:         spotifyhisttest.ID(fmt.Sprintf("track-%d", i)),
		Name:       fmt.Sprintf("Song %d", i),
		DurationMS: 200_000,
		ISRC:       fmt.Sprintf("USABC26%05d", i),
		Album: spotifyhisttest.Album{
			ID:   spotifyhisttest.ID("album"),
			Name: "Album",
		},
		Artists: []spotifyhisttest.Artist{{ID: spotifyhisttest.ID("artist"), Name: "Artist"}},
	}
}

func TestMe(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.srv.AddUser(spotifyhisttest.User{ID: "nameless", AccountID: "acc-1"})
	tests := []struct {
		name        string
		user        string
		displayName any
		accountID   string
	}{
		{name: "WithDisplayName", user: "alice", displayName: "Alice"},
		{name: "NullDisplayName", user: "nameless", displayName: nil, accountID: "acc-1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tok := b.srv.IssueToken(tc.user)
			r := get(t, b.srv, tok.AccessToken, "/v1/me")
			require.Equal(t, http.StatusOK, r.status)
			require.Equal(t, "application/json; charset=utf-8", r.header.Get("Content-Type"))
			m := r.json(t)
			require.Equal(t, tc.user, m["id"])
			require.Equal(t, tc.displayName, m["display_name"])
			require.Equal(t, "spotify:user:"+tc.user, m["uri"])
			require.Equal(t, b.srv.URL()+"/v1/users/"+tc.user, m["href"])
			require.Equal(t, "user", m["type"])
			require.NotEmpty(t, m["account_id"])
			if tc.accountID != "" {
				require.Equal(t, tc.accountID, m["account_id"])
			}
			for _, gone := range []string{"country", "email", "product", "followers", "explicit_content"} {
				require.NotContains(t, m, gone)
			}
		})
	}
}

// seedPlays adds n plays of distinct tracks, one a minute, the newest at
// t0 - 1 min, and returns their played_at in ms, newest first.
func seedPlays(t *testing.T, b *testBundle, n int) []int64 {
	t.Helper()
	var out []int64
	for i := range n {
		tr := testTrack(i)
		at := t0.Add(-time.Duration(n-i)*time.Minute + time.Duration(i)*time.Millisecond)
		b.srv.AddRecentPlay("alice", spotifyhisttest.RecentPlay{Track: &tr, PlayedAt: at, ContextURI: "spotify:album:" + tr.Album.ID})
		out = append([]int64{at.UnixMilli()}, out...)
	}
	return out
}

func playedAtMS(t *testing.T, it map[string]any) int64 {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, it["played_at"].(string))
	require.NoError(t, err)
	return ts.UnixMilli()
}

func TestRecentlyPlayedParameters(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	seedPlays(t, b, 3)
	tests := []struct {
		name   string
		query  string
		status int
		count  int
	}{
		{name: "Default", query: "", status: 200, count: 3},
		{name: "Limit1", query: "limit=1", status: 200, count: 1},
		{name: "Limit50", query: "limit=50", status: 200, count: 3},
		{name: "Limit0", query: "limit=0", status: 400},
		{name: "Limit51", query: "limit=51", status: 400},
		{name: "LimitNotNumber", query: "limit=ten", status: 400},
		{name: "AfterAndBefore", query: "after=1&before=2", status: 400},
		{name: "NegativeAfter", query: "after=-5", status: 400},
		{name: "BeforeNotNumber", query: "before=2026-01-01", status: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := get(t, b.srv, b.token, "/v1/me/player/recently-played?"+tc.query)
			require.Equal(t, tc.status, r.status, "%s", r.body)
			if tc.status != 200 {
				st, msg := apiError(t, r)
				require.Equal(t, tc.status, st)
				require.NotEmpty(t, msg)
				return
			}
			require.Len(t, items(t, r.json(t)), tc.count)
		})
	}
}

func TestRecentlyPlayedShapeAndCursors(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	want := seedPlays(t, b, 60)

	r := get(t, b.srv, b.token, "/v1/me/player/recently-played?limit=2")
	require.Equal(t, http.StatusOK, r.status)
	m := r.json(t)
	require.Equal(t, b.srv.URL()+"/v1/me/player/recently-played?limit=2", m["href"])
	require.EqualValues(t, 2, m["limit"])
	its := items(t, m)
	require.Len(t, its, 2)
	require.Equal(t, want[0], playedAtMS(t, its[0]))
	require.Equal(t, want[1], playedAtMS(t, its[1]))
	require.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`, its[0]["played_at"])
	cur := obj(t, m["cursors"])
	require.Equal(t, strconv.FormatInt(want[0], 10), cur["after"])
	require.Equal(t, strconv.FormatInt(want[1], 10), cur["before"])
	require.Equal(t, b.srv.URL()+"/v1/me/player/recently-played?before="+strconv.FormatInt(want[1], 10)+"&limit=2", m["next"])

	tr := obj(t, its[0]["track"])
	require.Equal(t, "track", tr["type"])
	require.Equal(t, "spotify:track:"+tr["id"].(string), tr["uri"])
	require.Equal(t, b.srv.URL()+"/v1/tracks/"+tr["id"].(string), tr["href"])
	require.EqualValues(t, 200000, tr["duration_ms"])
	require.Equal(t, false, tr["is_local"])
	require.Contains(t, obj(t, tr["external_ids"]), "isrc")
	album := obj(t, tr["album"])
	require.Equal(t, "Album", album["name"])
	require.NotEmpty(t, album["images"])
	require.Len(t, tr["artists"], 1)
	for _, gone := range []string{"popularity", "available_markets", "linked_from"} {
		require.NotContains(t, tr, gone)
		require.NotContains(t, album, gone)
	}
	ctx := obj(t, its[0]["context"])
	require.Equal(t, "album", ctx["type"])
	require.Equal(t, b.srv.URL()+"/v1/albums/"+tr["album"].(map[string]any)["id"].(string), ctx["href"])

	// Following next reaches exactly the 50 most recent plays.
	var seen []int64
	next := b.srv.URL() + "/v1/me/player/recently-played?limit=7"
	for next != "" {
		page := get(t, b.srv, b.token, next).json(t)
		for _, it := range items(t, page) {
			seen = append(seen, playedAtMS(t, it))
		}
		n, _ := page["next"].(string)
		if len(items(t, page)) == 0 {
			require.Nil(t, page["next"])
			require.Nil(t, page["cursors"])
		}
		next = n
	}
	require.Equal(t, want[:spotifyhisttest.RecentlyPlayedWindow], seen)

	// A cursor older than the window gives nothing.
	old := get(t, b.srv, b.token, "/v1/me/player/recently-played?before="+strconv.FormatInt(want[55], 10)).json(t)
	require.Empty(t, items(t, old))
	require.Nil(t, old["cursors"])
	require.Nil(t, old["next"])
}

func TestRecentlyPlayedAfterIsExclusive(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	want := seedPlays(t, b, 10)
	tests := []struct {
		name  string
		query string
		want  []int64
	}{
		{name: "AfterNewest", query: "after=" + strconv.FormatInt(want[0], 10), want: nil},
		{name: "AfterThird", query: "after=" + strconv.FormatInt(want[3], 10), want: want[:3]},
		{name: "AfterThirdLimit2TakesClosest", query: "limit=2&after=" + strconv.FormatInt(want[3], 10), want: want[1:3]},
		{name: "AfterZero", query: "after=0&limit=50", want: want},
		{name: "BeforeIsExclusive", query: "before=" + strconv.FormatInt(want[7], 10), want: want[8:]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := get(t, b.srv, b.token, "/v1/me/player/recently-played?"+tc.query).json(t)
			var got []int64
			for _, it := range items(t, m) {
				got = append(got, playedAtMS(t, it))
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestRecentlyPlayedLagAndLateOfflinePlays(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	a, c := testTrack(1), testTrack(2)
	b.srv.AddTrack(a)
	b.srv.AddRecentPlay("alice", spotifyhisttest.RecentPlay{TrackID: a.ID, PlayedAt: t0.Add(-10 * time.Minute)})
	// Played offline an hour ago, synced in 5 minutes.
	b.srv.AddRecentPlay("alice", spotifyhisttest.RecentPlay{Track: &c, PlayedAt: t0.Add(-time.Hour), VisibleAt: t0.Add(5 * time.Minute)})
	// Not yet played.
	b.srv.AddRecentPlay("alice", spotifyhisttest.RecentPlay{TrackID: a.ID, PlayedAt: t0.Add(time.Minute)})

	count := func() int {
		return len(items(t, get(t, b.srv, b.token, "/v1/me/player/recently-played?after="+strconv.FormatInt(t0.Add(-20*time.Minute).UnixMilli(), 10)).json(t)))
	}
	all := func() int { return len(items(t, get(t, b.srv, b.token, "/v1/me/player/recently-played").json(t))) }
	require.Equal(t, 1, all())
	b.clock.Advance(5 * time.Minute)
	require.Equal(t, 3, all())
	// A strict after cursor misses the late play.
	require.Equal(t, 2, count())
}

func TestRecentlyPlayedEmpty(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	m := get(t, b.srv, b.token, "/v1/me/player/recently-played").json(t)
	require.Empty(t, items(t, m))
	require.Contains(t, m, "cursors")
	require.Nil(t, m["cursors"])
	require.Contains(t, m, "next")
	require.Nil(t, m["next"])
}

func TestPlayback(t *testing.T) {
	t.Parallel()
	episode := spotifyhisttest.Episode{ID: spotifyhisttest.ID("ep"), Name: "Ep 1", DurationMS: 3_600_000, Show: spotifyhisttest.Show{ID: spotifyhisttest.ID("show"), Name: "Show"}}
	local := spotifyhisttest.LocalTrack("Halsey", "Manic (Deluxe)", "929", 174)
	track := testTrack(1)
	tests := []struct {
		name     string
		pb       *spotifyhisttest.Playback
		query    string
		advance  time.Duration
		cpStatus int
		check    func(t *testing.T, cp, player map[string]any)
	}{
		{name: "Idle", pb: nil, cpStatus: 204},
		{
			name: "TrackProgressAdvances", pb: &spotifyhisttest.Playback{Track: &track, Progress: 10 * time.Second, IsPlaying: true, ContextURI: "spotify:playlist:" + spotifyhisttest.ID("pl")},
			advance: 5 * time.Second, cpStatus: 200,
			check: func(t *testing.T, cp, player map[string]any) {
				require.EqualValues(t, 15000, cp["progress_ms"])
				require.Equal(t, "track", cp["currently_playing_type"])
				require.Equal(t, true, cp["is_playing"])
				require.EqualValues(t, t0.Add(5*time.Second).UnixMilli(), cp["timestamp"])
				require.Equal(t, track.ID, obj(t, cp["item"])["id"])
				require.Equal(t, "playlist", obj(t, cp["context"])["type"])
				require.NotContains(t, cp, "device")
				require.EqualValues(t, t0.UnixMilli(), player["timestamp"])
				dev := obj(t, player["device"])
				require.Equal(t, true, dev["is_active"])
				require.Contains(t, dev, "volume_percent")
				require.Equal(t, "off", player["repeat_state"])
				require.Equal(t, false, player["shuffle_state"])
			},
		},
		{
			name: "ProgressClampsAtEnd", pb: &spotifyhisttest.Playback{Track: &track, Progress: 190 * time.Second, IsPlaying: true},
			advance: time.Minute, cpStatus: 200,
			check: func(t *testing.T, cp, _ map[string]any) { require.EqualValues(t, 200000, cp["progress_ms"]) },
		},
		{
			name: "PausedDoesNotAdvance", pb: &spotifyhisttest.Playback{Track: &track, Progress: 10 * time.Second},
			advance: time.Minute, cpStatus: 200,
			check: func(t *testing.T, cp, _ map[string]any) {
				require.EqualValues(t, 10000, cp["progress_ms"])
				require.Equal(t, false, cp["is_playing"])
			},
		},
		{
			name: "Ad", pb: &spotifyhisttest.Playback{Type: spotifyhisttest.PlaybackAd, IsPlaying: true}, cpStatus: 200,
			check: func(t *testing.T, cp, player map[string]any) {
				for _, m := range []map[string]any{cp, player} {
					require.Equal(t, "ad", m["currently_playing_type"])
					require.Contains(t, m, "item")
					require.Nil(t, m["item"])
					require.Contains(t, m, "progress_ms")
					require.Nil(t, m["progress_ms"])
					require.Equal(t, true, m["is_playing"])
				}
			},
		},
		{
			name: "Unknown", pb: &spotifyhisttest.Playback{Type: spotifyhisttest.PlaybackUnknown, IsPlaying: true}, cpStatus: 200,
			check: func(t *testing.T, cp, _ map[string]any) {
				require.Equal(t, "unknown", cp["currently_playing_type"])
				require.Nil(t, cp["item"])
			},
		},
		{
			name: "EpisodeNotRequested", pb: &spotifyhisttest.Playback{Episode: &episode, IsPlaying: true}, cpStatus: 200,
			check: func(t *testing.T, cp, _ map[string]any) {
				require.Equal(t, "episode", cp["currently_playing_type"])
				require.Nil(t, cp["item"])
				require.NotNil(t, cp["progress_ms"])
			},
		},
		{
			name: "EpisodeRequested", pb: &spotifyhisttest.Playback{Episode: &episode, IsPlaying: true}, query: "?additional_types=track,episode", cpStatus: 200,
			check: func(t *testing.T, cp, player map[string]any) {
				for _, m := range []map[string]any{cp, player} {
					item := obj(t, m["item"])
					require.Equal(t, "episode", item["type"])
					require.Equal(t, "Show", obj(t, item["show"])["name"])
				}
			},
		},
		{
			name: "LocalFile", pb: &spotifyhisttest.Playback{Track: &local, IsPlaying: true}, cpStatus: 200,
			check: func(t *testing.T, cp, _ map[string]any) {
				item := obj(t, cp["item"])
				require.Equal(t, true, item["is_local"])
				require.Equal(t, "spotify:local:Halsey:Manic+%28Deluxe%29:929:174", item["uri"])
				require.EqualValues(t, 174000, item["duration_ms"])
				require.Nil(t, item["id"])
				require.Nil(t, item["href"])
				require.Empty(t, item["external_urls"])
				require.EqualValues(t, 0, item["track_number"])
				album := obj(t, item["album"])
				require.Nil(t, album["id"])
				require.Nil(t, album["uri"])
				require.Nil(t, album["release_date"])
				require.Equal(t, "Manic (Deluxe)", album["name"])
				artist := obj(t, item["artists"].([]any)[0])
				require.Nil(t, artist["id"])
				require.Equal(t, "Halsey", artist["name"])
			},
		},
		{
			name: "PrivateSession", pb: &spotifyhisttest.Playback{Track: &track, IsPlaying: true, Device: &spotifyhisttest.Device{IsPrivateSession: true}}, cpStatus: 204,
			check: func(t *testing.T, _, player map[string]any) {
				require.Equal(t, true, obj(t, player["device"])["is_private_session"])
				require.Nil(t, obj(t, player["device"])["id"])
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			b.srv.SetPlayback("alice", tc.pb)
			b.clock.Advance(tc.advance)
			cp := get(t, b.srv, b.token, "/v1/me/player/currently-playing"+tc.query)
			player := get(t, b.srv, b.token, "/v1/me/player"+tc.query)
			require.Equal(t, tc.cpStatus, cp.status)
			if tc.pb == nil {
				require.Empty(t, cp.body)
				require.Equal(t, http.StatusNoContent, player.status)
				require.Empty(t, player.body)
				return
			}
			require.Equal(t, http.StatusOK, player.status)
			var cpm map[string]any
			if cp.status == http.StatusOK {
				cpm = cp.json(t)
			} else {
				require.Empty(t, cp.body)
			}
			if tc.check != nil {
				tc.check(t, cpm, player.json(t))
			}
		})
	}
}

// playlistFixture adds tracks and playlists owned by alice, followed by
// bob, and returns the rows' playlist.
func playlistFixture(b *testBundle) spotifyhisttest.Playlist {
	local := spotifyhisttest.LocalTrack("", "", "Untitled", 123)
	ep := spotifyhisttest.Episode{ID: spotifyhisttest.ID("ep"), Name: "Episode", DurationMS: 1000, Show: spotifyhisttest.Show{ID: spotifyhisttest.ID("show"), Name: "Show"}}
	var rows []spotifyhisttest.PlaylistRow
	for i := range 45 {
		tr := testTrack(i)
		b.srv.AddTrack(tr)
		rows = append(rows, spotifyhisttest.PlaylistRow{TrackID: tr.ID, AddedAt: t0.Add(-time.Duration(i) * time.Hour), AddedBy: "alice"})
	}
	rows[1] = spotifyhisttest.PlaylistRow{Track: &local, AddedBy: "alice"}
	rows[2] = spotifyhisttest.PlaylistRow{Episode: &ep, AddedByBlank: true}
	rows[3] = spotifyhisttest.PlaylistRow{} // removed content
	p := spotifyhisttest.Playlist{
		ID: spotifyhisttest.ID("mix"), Name: "Mix", OwnerID: "alice", Followers: []string{"bob"},
		Collaborators: []string{"carol"}, Rows: rows, Public: nil,
	}
	b.srv.AddPlaylist(p)
	return p
}

func TestPlaylistItems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		keys    spotifyhisttest.RowKeys
		hasItem bool
		hasTrk  bool
	}{
		{name: "ItemKey", keys: spotifyhisttest.RowKeysItem, hasItem: true},
		{name: "TrackKey", keys: spotifyhisttest.RowKeysTrack, hasTrk: true},
		{name: "BothKeys", keys: spotifyhisttest.RowKeysBoth, hasItem: true, hasTrk: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			p := playlistFixture(b)
			p.RowKeys = tc.keys
			b.srv.AddPlaylist(p)
			m := get(t, b.srv, b.token, "/v1/playlists/"+p.ID+"/items?limit=10&offset=0").json(t)
			require.EqualValues(t, 45, m["total"])
			require.EqualValues(t, 10, m["limit"])
			require.Equal(t, b.srv.URL()+"/v1/playlists/"+p.ID+"/items?offset=10&limit=10", m["next"])
			require.Nil(t, m["previous"])
			rows := items(t, m)
			require.Len(t, rows, 10)
			key := "item"
			if !tc.hasItem {
				key = "track"
			}
			for _, r := range rows {
				_, hasItem := r["item"]
				_, hasTrack := r["track"]
				require.Equal(t, tc.hasItem, hasItem)
				require.Equal(t, tc.hasTrk, hasTrack)
			}
			require.Equal(t, "track", obj(t, rows[0][key])["type"])
			require.Equal(t, "alice", obj(t, rows[0]["added_by"])["id"])
			require.NotNil(t, rows[0]["added_at"])
			require.Equal(t, true, rows[1]["is_local"])
			require.Equal(t, "spotify:local:::Untitled:123", obj(t, rows[1][key])["uri"])
			require.Nil(t, rows[1]["added_at"])
			require.Equal(t, "episode", obj(t, rows[2][key])["type"])
			require.Equal(t, "", obj(t, rows[2]["added_by"])["id"])
			require.Contains(t, rows[3], key)
			require.Nil(t, rows[3][key])
			require.Nil(t, rows[3]["added_by"])

			last := get(t, b.srv, b.token, "/v1/playlists/"+p.ID+"/items?offset=40&limit=10").json(t)
			require.Len(t, items(t, last), 5)
			require.Nil(t, last["next"])
			require.Equal(t, b.srv.URL()+"/v1/playlists/"+p.ID+"/items?offset=30&limit=10", last["previous"])
		})
	}
}

func TestPlaylistAccess(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	p := playlistFixture(b)
	tests := []struct {
		name       string
		user       string
		path       string
		status     int
		wantRows   bool
		checkShape bool
	}{
		{name: "OwnerItems", user: "alice", path: "/items", status: 200},
		{name: "CollaboratorItems", user: "carol", path: "/items", status: 200},
		{name: "FollowerItemsForbidden", user: "bob", path: "/items", status: 403},
		{name: "StrangerItemsForbidden", user: "mallory", path: "/items", status: 403},
		{name: "DeprecatedTracksForbidden", user: "alice", path: "/tracks", status: 403},
		{name: "OwnerFull", user: "alice", path: "", status: 200, wantRows: true, checkShape: true},
		{name: "FollowerFullWithoutRows", user: "bob", path: "", status: 200},
		{name: "LimitTooLarge", user: "alice", path: "/items?limit=51", status: 400},
		{name: "BadOffset", user: "alice", path: "/items?offset=-1", status: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tok := b.srv.IssueToken(tc.user)
			r := get(t, b.srv, tok.AccessToken, "/v1/playlists/"+p.ID+tc.path)
			require.Equal(t, tc.status, r.status, "%s", r.body)
			if tc.status != 200 {
				st, _ := apiError(t, r)
				require.Equal(t, tc.status, st)
				return
			}
			if tc.path != "" {
				return
			}
			m := r.json(t)
			itemsObj := obj(t, m["items"])
			require.EqualValues(t, 45, itemsObj["total"])
			require.Equal(t, b.srv.URL()+"/v1/playlists/"+p.ID+"/items", strings.Split(itemsObj["href"].(string), "?")[0])
			if tc.wantRows {
				require.Len(t, itemsObj["items"], 45)
				require.Contains(t, itemsObj, "next")
			} else {
				require.NotContains(t, itemsObj, "items")
			}
			if tc.checkShape {
				require.Contains(t, m, "public")
				require.Nil(t, m["public"])
				require.Contains(t, m, "followers")
				require.Equal(t, "alice", obj(t, m["owner"])["id"])
				require.NotContains(t, m, "tracks")
			}
		})
	}
	t.Run("UnknownIs404", func(t *testing.T) {
		t.Parallel()
		r := get(t, b.srv, b.token, "/v1/playlists/"+spotifyhisttest.ID("nope"))
		require.Equal(t, http.StatusNotFound, r.status)
	})
}

func TestMyPlaylists(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	yes, no := true, false
	for i := range 25 {
		p := spotifyhisttest.Playlist{ID: spotifyhisttest.ID(fmt.Sprint("pl", i)), Name: fmt.Sprint("P", i), OwnerID: "alice"}
		switch i % 3 {
		case 0:
			p.Public = &yes
			p.DeprecatedTracks = spotifyhisttest.TracksFieldPresent
		case 1:
			p.Public = &no
			p.DeprecatedTracks = spotifyhisttest.TracksFieldNull
		}
		b.srv.AddPlaylist(p)
	}
	// Another user's playlist alice does not follow.
	b.srv.AddPlaylist(spotifyhisttest.Playlist{ID: spotifyhisttest.ID("other"), OwnerID: "bob", Public: &yes})

	m := get(t, b.srv, b.token, "/v1/me/playlists?limit=10&offset=10").json(t)
	require.EqualValues(t, 25, m["total"])
	require.EqualValues(t, 10, m["offset"])
	require.Equal(t, b.srv.URL()+"/v1/me/playlists?offset=20&limit=10", m["next"])
	require.Equal(t, b.srv.URL()+"/v1/me/playlists?offset=0&limit=10", m["previous"])
	its := items(t, m)
	require.Len(t, its, 10)
	for i, p := range its {
		n := 10 + i
		require.Equal(t, fmt.Sprint("P", n), p["name"])
		require.Equal(t, map[string]any{"href": b.srv.URL() + "/v1/playlists/" + p["id"].(string) + "/items", "total": float64(0)}, p["items"])
		switch n % 3 {
		case 0:
			require.Equal(t, true, p["public"])
			require.Equal(t, float64(0), obj(t, p["tracks"])["total"])
		case 1:
			require.Equal(t, false, p["public"])
			require.Contains(t, p, "tracks")
			require.Nil(t, p["tracks"])
		case 2:
			require.Nil(t, p["public"])
			require.NotContains(t, p, "tracks")
		}
		require.NotContains(t, p, "followers")
	}

	t.Run("WithoutPrivateScopeOnlyPublic", func(t *testing.T) {
		t.Parallel()
		tok := b.srv.IssueToken("alice", spotifyhisttest.ScopeRecentlyPlayed)
		m := get(t, b.srv, tok.AccessToken, "/v1/me/playlists?limit=50").json(t)
		require.EqualValues(t, 9, m["total"])
	})
	t.Run("BadParameters", func(t *testing.T) {
		t.Parallel()
		for _, q := range []string{"limit=51", "limit=0", "offset=100001", "offset=x"} {
			require.Equal(t, http.StatusBadRequest, get(t, b.srv, b.token, "/v1/me/playlists?"+q).status, q)
		}
	})
}

func TestCatalogueAndRemovedEndpoints(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	tr := testTrack(1)
	b.srv.AddTrack(tr)
	tests := []struct {
		name    string
		method  string
		path    string
		status  int
		message string
	}{
		{name: "Track", path: "/v1/tracks/" + tr.ID, status: 200},
		{name: "Artist", path: "/v1/artists/" + tr.Artists[0].ID, status: 200},
		{name: "UnknownTrack", path: "/v1/tracks/" + spotifyhisttest.ID("nope"), status: 404, message: spotifyhisttest.MsgNotFound},
		{name: "MalformedTrackID", path: "/v1/tracks/not-an-id", status: 400, message: spotifyhisttest.MsgInvalidID},
		{name: "LocalURIAsID", path: "/v1/tracks/" + url.PathEscape("spotify:local:a:b:c:1"), status: 400},
		{name: "BatchTracks", path: "/v1/tracks?ids=" + tr.ID, status: 403},
		{name: "UserPlaylists", path: "/v1/users/alice/playlists", status: 403},
		{name: "User", path: "/v1/users/alice", status: 403},
		{name: "BatchAlbums", path: "/v1/albums?ids=x", status: 403},
		{name: "TopTracks", path: "/v1/artists/" + tr.Artists[0].ID + "/top-tracks", status: 403},
		{name: "UnknownEndpoint", path: "/v1/nothing/here", status: 404, message: spotifyhisttest.MsgServiceNotFound},
		{name: "WrongMethod", method: http.MethodPost, path: "/v1/me", status: 405},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			req, err := http.NewRequest(method, b.srv.URL()+tc.path, nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+b.token)
			r := do(t, b.srv, req)
			require.Equal(t, tc.status, r.status, "%s", r.body)
			if tc.status >= 400 {
				st, msg := apiError(t, r)
				require.Equal(t, tc.status, st)
				if tc.message != "" {
					require.Equal(t, tc.message, msg)
				}
				return
			}
			m := r.json(t)
			require.Contains(t, m["href"], b.srv.URL()+"/v1/")
		})
	}
	t.Run("RemovedStillNeedsToken", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, http.StatusUnauthorized, get(t, b.srv, "", "/v1/tracks?ids="+tr.ID).status)
	})
}

// TestListenerAndTransportAgree checks the socket path and that absolute
// URLs use the listener's base.
func TestListenerAndTransportAgree(t *testing.T) {
	t.Parallel()
	srv := spotifyhisttest.NewServer(t, &spotifyhisttest.Options{Now: func() time.Time { return t0 }})
	require.True(t, strings.HasPrefix(srv.URL(), "http://127.0.0.1:"))
	require.Equal(t, srv.URL()+"/v1/", srv.APIURL())
	require.Equal(t, srv.URL()+"/", srv.AccountsURL())
	tok := srv.IssueToken("alice")
	tr := testTrack(1)
	srv.AddRecentPlay("alice", spotifyhisttest.RecentPlay{Track: &tr, PlayedAt: t0.Add(-time.Minute)})

	req, err := http.NewRequest(http.MethodGet, srv.APIURL()+"me/player/recently-played?limit=1", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	viaSocket, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	resp.Body.Close()
	viaTransport := get(t, srv, tok.AccessToken, srv.APIURL()+"me/player/recently-played?limit=1")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.JSONEq(t, string(viaSocket), string(viaTransport.body))
	require.Contains(t, string(viaSocket), `"next":"`+srv.URL()+"/v1/me/player/recently-played?before=")

	// Spotify's own hosts are served in process too.
	r := get(t, srv, tok.AccessToken, "https://api.spotify.com/v1/me")
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, srv.URL()+"/v1/users/alice", r.json(t)["href"])
	_, err = srv.Client().Get("https://example.com/")
	require.ErrorContains(t, err, "not served by this fake")
}

func TestBaseURLWithPath(t *testing.T) {
	t.Parallel()
	srv := spotifyhisttest.NewServer(t, &spotifyhisttest.Options{BaseURL: "http://127.0.0.1:8080/fake-spotify/"})
	require.Equal(t, "http://127.0.0.1:8080/fake-spotify/v1/", srv.APIURL())
	tok := srv.IssueToken("alice")

	r := get(t, srv, tok.AccessToken, srv.APIURL()+"me")
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, "http://127.0.0.1:8080/fake-spotify/v1/users/alice", r.json(t)["href"])

	// Mounted in another mux.
	mux := http.NewServeMux()
	mux.Handle("/fake-spotify/", http.StripPrefix("/fake-spotify", srv.Handler()))
	req := httptest.NewRequest(http.MethodGet, "/fake-spotify/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code)
}

func TestPlaylistSnapshotAndRemoval(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	a, c := testTrack(1), testTrack(2)
	id := spotifyhisttest.ID("snap")
	snapshot := func() any { return get(t, b.srv, b.token, "/v1/playlists/"+id).json(t)["snapshot_id"] }
	b.srv.AddPlaylist(spotifyhisttest.Playlist{ID: id, OwnerID: "alice", Rows: []spotifyhisttest.PlaylistRow{{Track: &a}}})
	first := snapshot()
	require.Equal(t, first, snapshot(), "stable while unchanged")
	b.srv.AddPlaylist(spotifyhisttest.Playlist{ID: id, OwnerID: "alice", Rows: []spotifyhisttest.PlaylistRow{{Track: &c}}})
	require.NotEqual(t, first, snapshot(), "same length, other row")
	b.srv.AddPlaylist(spotifyhisttest.Playlist{ID: id, OwnerID: "alice", SnapshotID: "fixed"})
	require.Equal(t, "fixed", snapshot())

	b.srv.RemovePlaylist(id)
	require.Equal(t, http.StatusNotFound, get(t, b.srv, b.token, "/v1/playlists/"+id).status)
	require.EqualValues(t, 0, get(t, b.srv, b.token, "/v1/me/playlists").json(t)["total"])
}
