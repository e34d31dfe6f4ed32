package spotifyhist_test

import (
	"net/http"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/spotifyhist/spotifyhisttest"
)

func TestRecentlyPlayed(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	times := []time.Time{
		base.Add(123 * time.Millisecond),
		base.Add(4*time.Minute + 7*time.Millisecond),
		base.Add(8*time.Minute + 999*time.Millisecond),
	}
	for i, at := range times {
		tr := track(trackID(i+1), "Song "+strconv.Itoa(i))
		ctxURI := ""
		if i == 1 {
			ctxURI = "spotify:playlist:37i9dQZF1DXcBWIGoYBM5M"
		}
		b.srv.AddRecentPlay(testUser, spotifyhisttest.RecentPlay{Track: &tr, PlayedAt: at, ContextURI: ctxURI})
	}

	plays, err := b.client.RecentlyPlayed(t.Context(), time.Time{})
	require.NoError(t, err)
	require.Len(t, plays, 3)
	for i, p := range plays {
		require.Equal(t, times[i], p.PlayedAt, "oldest first, millisecond precision kept")
		require.Equal(t, trackID(i+1), p.Track.ID)
		require.Equal(t, "spotify:track:"+trackID(i+1), p.Track.URI)
		require.Equal(t, "Song "+strconv.Itoa(i), p.Track.Name)
		require.Equal(t, 200_000, p.Track.DurationMS)
		require.Equal(t, "USRC1"+trackID(i + 1)[:7], p.Track.ISRC)
		require.Equal(t, "Album of Song "+strconv.Itoa(i), p.Track.Album.Name)
		require.NotEmpty(t, p.Track.Album.ID)
		require.Len(t, p.Track.Artists, 1)
		require.False(t, p.Track.IsLocal)
	}
	require.Equal(t, "spotify:playlist:37i9dQZF1DXcBWIGoYBM5M", plays[1].ContextURI)
	require.Empty(t, plays[0].ContextURI)

	// A cursor: strictly after, in ms.
	plays, err = b.client.RecentlyPlayed(t.Context(), times[0])
	require.NoError(t, err)
	require.Len(t, plays, 2)
	require.Equal(t, times[1], plays[0].PlayedAt)

	reqs := b.srv.Requests()
	require.Len(t, reqs, 2)
	require.Equal(t, "50", reqs[0].Query.Get("limit"))
	require.False(t, reqs[0].Query.Has("after"), "zero time sends no cursor")
	require.Equal(t, strconv.FormatInt(times[0].UnixMilli(), 10), reqs[1].Query.Get("after"))
	for _, r := range reqs {
		require.False(t, r.Query.Has("before"), "never sends before")
	}

	// Nothing new: an empty page (cursors and next null) is no error.
	plays, err = b.client.RecentlyPlayed(t.Context(), times[2])
	require.NoError(t, err)
	require.Empty(t, plays)
}

func TestCurrentlyPlaying(t *testing.T) {
	t.Parallel()
	song := track(trackID(7), "Now")
	local := spotifyhisttest.LocalTrack("Halsey", "Manic (Deluxe)", "929", 174)
	episode := spotifyhisttest.Episode{ID: "epi0000000000000000001", Name: "Episode 1", DurationMS: 3_600_000,
		Show: spotifyhisttest.Show{ID: "sho0000000000000000001", Name: "The Show"}}
	localURI := spotifyhisttest.LocalURI("Halsey", "Manic (Deluxe)", "929", 174)

	tests := []struct {
		name     string
		playback *spotifyhisttest.Playback
		want     *spotifyhist.Playback // Timestamp not compared
	}{
		{name: "Idle", playback: nil, want: nil},
		{
			name:     "Track",
			playback: &spotifyhisttest.Playback{Track: &song, Progress: 30 * time.Second, IsPlaying: true, ContextURI: "spotify:album:alb0000000000000000007"},
			want: &spotifyhist.Playback{ProgressMS: 30_000, ProgressKnown: true, IsPlaying: true, Type: spotifyhist.PlaybackTrack,
				ContextURI: "spotify:album:alb0000000000000000007",
				Track: &spotifyhist.Track{ID: trackID(7), URI: "spotify:track:" + trackID(7), Name: "Now", DurationMS: 200_000,
					ISRC: "USRC1" + trackID(7)[:7], Album: spotifyhist.Album{ID: "alb0000000000000000007", Name: "Album of Now", URI: "spotify:album:alb0000000000000000007"},
					Artists: []spotifyhist.Artist{{ID: "art0000000000000000007", Name: "Artist of Now", URI: "spotify:artist:art0000000000000000007"}}}},
		},
		{
			name:     "Paused",
			playback: &spotifyhisttest.Playback{Track: &song, Progress: 5 * time.Second},
			want: &spotifyhist.Playback{ProgressMS: 5000, ProgressKnown: true, Type: spotifyhist.PlaybackTrack,
				Track: &spotifyhist.Track{ID: trackID(7), URI: "spotify:track:" + trackID(7), Name: "Now", DurationMS: 200_000,
					ISRC: "USRC1" + trackID(7)[:7], Album: spotifyhist.Album{ID: "alb0000000000000000007", Name: "Album of Now", URI: "spotify:album:alb0000000000000000007"},
					Artists: []spotifyhist.Artist{{ID: "art0000000000000000007", Name: "Artist of Now", URI: "spotify:artist:art0000000000000000007"}}}},
		},
		{
			name:     "Ad",
			playback: &spotifyhisttest.Playback{Type: spotifyhisttest.PlaybackAd, IsPlaying: true},
			want:     &spotifyhist.Playback{IsPlaying: true, Type: spotifyhist.PlaybackAd},
		},
		{
			name:     "Episode",
			playback: &spotifyhisttest.Playback{Episode: &episode, Progress: time.Minute, IsPlaying: true},
			want: &spotifyhist.Playback{ProgressMS: 60_000, ProgressKnown: true, IsPlaying: true, Type: spotifyhist.PlaybackEpisode,
				EpisodeName: "Episode 1", ShowName: "The Show", EpisodeURI: "spotify:episode:epi0000000000000000001"},
		},
		{
			name:     "LocalFile",
			playback: &spotifyhisttest.Playback{Track: &local, Progress: 10 * time.Second, IsPlaying: true},
			want: &spotifyhist.Playback{ProgressMS: 10_000, ProgressKnown: true, IsPlaying: true, Type: spotifyhist.PlaybackTrack,
				Track: &spotifyhist.Track{ID: spotifyhist.LocalTrackID(localURI), URI: localURI, Name: "929", DurationMS: 174_000, IsLocal: true,
					Album: spotifyhist.Album{Name: "Manic (Deluxe)"}, Artists: []spotifyhist.Artist{{Name: "Halsey"}}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// In a bubble, so progress does not advance between SetPlayback and the call.
			synctest.Test(t, func(t *testing.T) {
				b := setup(t, nil)
				b.srv.SetPlayback(testUser, tt.playback)
				got, err := b.client.CurrentlyPlaying(t.Context())
				require.NoError(t, err)
				reqs := b.srv.Requests()
				require.Len(t, reqs, 1)
				require.Equal(t, "track,episode", reqs[0].Query.Get("additional_types"))
				if tt.want == nil {
					require.Nil(t, got)
					return
				}
				require.NotNil(t, got)
				require.Equal(t, time.Now().UTC(), got.Timestamp)
				got.Timestamp = time.Time{}
				require.Equal(t, tt.want, got)
			})
		})
	}
}

func TestMe(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.srv.AddUser(spotifyhisttest.User{ID: testUser, DisplayName: "Alice", AccountID: "acc-123"})
	me, err := b.client.Me(t.Context())
	require.NoError(t, err)
	require.Equal(t, &spotifyhist.Me{ID: testUser, DisplayName: "Alice", AccountID: "acc-123"}, me)
}

func TestMyPlaylistsFollowsNext(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	yes := true
	for i := range 120 {
		p := spotifyhisttest.Playlist{ID: "pl" + trackID(i)[2:], Name: "List " + strconv.Itoa(i), OwnerID: testUser}
		switch i % 3 {
		case 0:
			p.Public = &yes
		case 1:
			p.DeprecatedTracks = spotifyhisttest.TracksFieldNull
		case 2:
			p.DeprecatedTracks = spotifyhisttest.TracksFieldPresent
		}
		if i == 5 {
			p.Rows = []spotifyhisttest.PlaylistRow{{Track: ptr(track(trackID(1), "x"))}, {}}
		}
		b.srv.AddPlaylist(p)
	}
	pls, err := b.client.MyPlaylists(t.Context())
	require.NoError(t, err)
	require.Len(t, pls, 120)
	for i, p := range pls {
		require.Equal(t, "List "+strconv.Itoa(i), p.Name)
		require.Equal(t, testUser, p.OwnerID)
		require.NotEmpty(t, p.SnapshotID)
		if i%3 == 0 {
			require.NotNil(t, p.Public)
			require.True(t, *p.Public)
		} else {
			require.Nil(t, p.Public, "public:null stays unknown")
		}
	}
	require.Equal(t, 2, pls[5].Total, "total comes from items.total")
	reqs := b.srv.Requests()
	require.Len(t, reqs, 3, "three pages of 50")
	for i, r := range reqs {
		require.Equal(t, "/v1/me/playlists", r.Path)
		if i > 0 {
			require.Equal(t, strconv.Itoa(50*i), r.Query.Get("offset"), "next URL followed verbatim")
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestPlaylist(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		tracks spotifyhisttest.TracksField
	}{
		{"TracksAbsent", spotifyhisttest.TracksFieldAbsent},
		{"TracksNull", spotifyhisttest.TracksFieldNull},
		{"TracksPresent", spotifyhisttest.TracksFieldPresent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			b.srv.AddUser(spotifyhisttest.User{ID: "bob", DisplayName: "Bob"})
			rows := make([]spotifyhisttest.PlaylistRow, 70)
			for i := range rows {
				rows[i].Track = ptr(track(trackID(i+1), "t"))
			}
			b.srv.AddPlaylist(spotifyhisttest.Playlist{ID: "pl0000000000000000000A", Name: "Bob's", OwnerID: "bob",
				Collaborative: true, Collaborators: []string{testUser}, Rows: rows, DeprecatedTracks: tt.tracks, SnapshotID: "snap1"})
			p, err := b.client.Playlist(t.Context(), "pl0000000000000000000A")
			require.NoError(t, err)
			require.Equal(t, &spotifyhist.Playlist{ID: "pl0000000000000000000A", Name: "Bob's", OwnerID: "bob", OwnerName: "Bob",
				SnapshotID: "snap1", Collaborative: true, Total: 70}, p)
		})
	}
}

func TestPlaylistErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.srv.AddPlaylist(spotifyhisttest.Playlist{ID: "pl0000000000000000000B", Name: "Not mine", OwnerID: "carol", Followers: []string{testUser}})

	_, err := b.client.PlaylistItems(t.Context(), "pl0000000000000000000B")
	require.ErrorIs(t, err, spotifyhist.ErrForbidden)
	var e *spotifyhist.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, "/playlists/{id}/items", e.Endpoint)
	require.False(t, spotifyhist.IsRetryable(err))

	_, err = b.client.Playlist(t.Context(), "pl0000000000000000000C")
	require.ErrorIs(t, err, spotifyhist.ErrNotFound)

	n := len(b.srv.Requests())
	for _, bad := range []string{"", "../me", "a/b", "id?x=1"} {
		_, err = b.client.PlaylistItems(t.Context(), bad)
		require.ErrorIs(t, err, spotifyhist.ErrInvalidID)
		_, err = b.client.Playlist(t.Context(), bad)
		require.ErrorIs(t, err, spotifyhist.ErrInvalidID)
	}
	require.Len(t, b.srv.Requests(), n, "invalid IDs are rejected before any request")
}

func TestPlaylistItems(t *testing.T) {
	t.Parallel()
	local := spotifyhisttest.LocalTrack("Daft Punk", "Discovery", "One More Time", 320)
	localURI := spotifyhisttest.LocalURI("Daft Punk", "Discovery", "One More Time", 320)
	episode := spotifyhisttest.Episode{ID: "epi0000000000000000001", Name: "Ep", DurationMS: 1000, Show: spotifyhisttest.Show{ID: "sho0000000000000000001", Name: "Show"}}
	added := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, keys := range []struct {
		name string
		keys spotifyhisttest.RowKeys
	}{{"Item", spotifyhisttest.RowKeysItem}, {"DeprecatedTrack", spotifyhisttest.RowKeysTrack}, {"Both", spotifyhisttest.RowKeysBoth}} {
		t.Run(keys.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			var rows []spotifyhisttest.PlaylistRow
			for i := range 55 { // two pages
				rows = append(rows, spotifyhisttest.PlaylistRow{Track: ptr(track(trackID(i+1), "t"+strconv.Itoa(i))), AddedAt: added, AddedBy: testUser})
			}
			rows = append(rows,
				spotifyhisttest.PlaylistRow{},                                      // removed content: item null
				spotifyhisttest.PlaylistRow{Track: &local, AddedAt: added},         // local file
				spotifyhisttest.PlaylistRow{Episode: &episode, AddedByBlank: true}, // episode, added_at null
			)
			b.srv.AddPlaylist(spotifyhisttest.Playlist{ID: "pl0000000000000000000D", Name: "Mine", OwnerID: testUser, Rows: rows, RowKeys: keys.keys})

			items, err := b.client.PlaylistItems(t.Context(), "pl0000000000000000000D")
			require.NoError(t, err)
			require.Len(t, items, 58)
			for i, it := range items[:55] {
				require.Equal(t, i, it.Position)
				require.Equal(t, spotifyhist.ItemTrack, it.Type)
				require.Equal(t, added, it.AddedAt)
				require.Equal(t, testUser, it.AddedBy)
				require.NotNil(t, it.Track)
				require.Equal(t, trackID(i+1), it.Track.ID)
				require.Equal(t, "t"+strconv.Itoa(i), it.Track.Name)
			}
			require.Equal(t, spotifyhist.PlaylistItem{Position: 55, Type: spotifyhist.ItemUnavailable}, items[55])
			require.Equal(t, spotifyhist.PlaylistItem{Position: 56, AddedAt: added, IsLocal: true, Type: spotifyhist.ItemTrack,
				Track: &spotifyhist.Track{ID: spotifyhist.LocalTrackID(localURI), URI: localURI, Name: "One More Time", DurationMS: 320_000,
					IsLocal: true, Album: spotifyhist.Album{Name: "Discovery"}, Artists: []spotifyhist.Artist{{Name: "Daft Punk"}}}}, items[56])
			require.Equal(t, spotifyhist.PlaylistItem{Position: 57, Type: spotifyhist.ItemEpisode}, items[57])

			require.Equal(t, []string{"/v1/playlists/{id}/items", "/v1/playlists/{id}/items"}, routes(b.srv))
			require.Zero(t, b.srv.CallCount("/v1/playlists/{id}/tracks"), "the removed /tracks endpoint is never called")
			reqs := b.srv.Requests()
			require.Equal(t, "50", reqs[1].Query.Get("offset"))
			require.Equal(t, "track,episode", reqs[1].Query.Get("additional_types"), "next keeps the query")
		})
	}
}

func TestTrack(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	tr := track(trackID(42), "Answer")
	b.srv.AddTrack(tr)
	got, err := b.client.Track(t.Context(), trackID(42))
	require.NoError(t, err)
	require.Equal(t, &spotifyhist.Track{
		ID: trackID(42), URI: "spotify:track:" + trackID(42), Name: "Answer", DurationMS: 200_000, ISRC: tr.ISRC,
		Album:   spotifyhist.Album{ID: tr.Album.ID, Name: "Album of Answer", URI: "spotify:album:" + tr.Album.ID},
		Artists: []spotifyhist.Artist{{ID: tr.Artists[0].ID, Name: "Artist of Answer", URI: "spotify:artist:" + tr.Artists[0].ID}},
	}, got)

	_, err = b.client.Track(t.Context(), trackID(43))
	require.ErrorIs(t, err, spotifyhist.ErrNotFound)
	var e *spotifyhist.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, http.StatusNotFound, e.Status)
	require.Equal(t, "/tracks/{id}", e.Endpoint)

	_, err = b.client.Track(t.Context(), "spotify:track:x")
	require.ErrorIs(t, err, spotifyhist.ErrInvalidID)
	require.Len(t, b.srv.Requests(), 2)
}

func TestUserNotAllowListed(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.srv.AddUser(spotifyhisttest.User{ID: testUser, NotAllowListed: true})
	_, err := b.client.RecentlyPlayed(t.Context(), time.Time{})
	require.ErrorIs(t, err, spotifyhist.ErrForbidden)
	var e *spotifyhist.Error
	require.ErrorAs(t, err, &e)
	require.Contains(t, e.Message, "Developer Dashboard")
}

func TestClientOverLoopback(t *testing.T) {
	t.Parallel()
	srv := spotifyhisttest.NewServer(t, nil) // a real listener
	app, err := spotifyhist.New(spotifyhist.Config{
		ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(),
		APIURL: srv.APIURL(), AccountsURL: srv.AccountsURL(),
	})
	require.NoError(t, err)
	tok := fromFake(srv.IssueToken(testUser), time.Now())
	me, err := app.Client(tok, nil).Me(t.Context())
	require.NoError(t, err)
	require.Equal(t, testUser, me.ID)
}
