package monitor

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/spotifyhist/spotifyhisttest"
	"github.com/spotifyhist/spotifyhist/store"
	"github.com/spotifyhist/spotifyhist/store/storetest"
)

// playlistScannerTime is the base time of the playlist tests.
var playlistScannerTime = time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)

const playlistScannerItemsRoute = "/v1/playlists/{id}/items"

// playlistScannerID pads prefix to a 22-character Spotify id.
func playlistScannerID(prefix string) string {
	return prefix + strings.Repeat("0", 22-len(prefix))
}

// playlistScannerEnv is a fake Spotify, an App talking to it and a store.
type playlistScannerEnv struct {
	srv *spotifyhisttest.Server
	app *spotifyhist.App
	st  store.Store
	// failOffset, when not negative, makes /items requests with that offset
	// fail with a 500 at the network level.
	failOffset atomic.Int64
}

func newPlaylistScannerEnv(t *testing.T, b songIDBackend, users ...string) *playlistScannerEnv {
	t.Helper()
	e := &playlistScannerEnv{
		srv: spotifyhisttest.NewServer(t, &spotifyhisttest.Options{BaseURL: spotifyhisttest.InProcessURL}),
		st:  b.open(t),
	}
	e.failOffset.Store(-1)
	app, err := spotifyhist.New(spotifyhist.Config{
		ClientID:     e.srv.ClientID(),
		ClientSecret: e.srv.ClientSecret(),
		APIURL:       e.srv.APIURL(),
		AccountsURL:  e.srv.AccountsURL(),
		HTTPClient:   &http.Client{Transport: playlistScannerFailing{e: e, base: e.srv.Transport()}},
		Logger:       slog.New(slog.DiscardHandler),
		// No retries and a budget that never makes a call wait: these
		// tests must not sleep.
		MaxRetries: -1,
		Budget:     spotifyhist.BudgetConfig{Requests: 1_000_000},
	})
	require.NoError(t, err)
	e.app = app
	for _, u := range users {
		storetest.NewUser(t.Context(), t, e.st, &storetest.UserOpts{ID: u, Now: playlistScannerTime})
	}
	return e
}

// client returns a Spotify client for userID with a fresh token.
func (e *playlistScannerEnv) client(userID string) *spotifyhist.Client {
	tok := e.srv.IssueToken(userID)
	return e.app.Client(&spotifyhist.Token{
		AccessToken:  tok.AccessToken,
		RefreshToken: tok.RefreshToken,
		TokenType:    tok.TokenType,
		Expiry:       tok.Expiry,
		Scope:        tok.Scope,
	}, nil)
}

func (e *playlistScannerEnv) scan(t *testing.T, userID string) *PlaylistScanResult {
	t.Helper()
	res, err := ScanPlaylists(t.Context(), e.st, e.client(userID), userID, playlistScannerTime)
	require.NoError(t, err)
	return res
}

// rows returns the stored rows of a playlist as "position status track".
func (e *playlistScannerEnv) rows(t *testing.T, userID, playlistID string) []string {
	t.Helper()
	rows, err := e.st.ListPlaylistTracks(t.Context(), userID, playlistID)
	require.NoError(t, err)
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%d %s %s", r.Position, r.Status, r.Track.ID))
	}
	return out
}

// playlistIDs returns the ids of the user's stored playlists with their origin.
func (e *playlistScannerEnv) playlistIDs(t *testing.T, userID string) []string {
	t.Helper()
	pls, err := e.st.ListUserPlaylists(t.Context(), userID)
	require.NoError(t, err)
	out := make([]string, 0, len(pls))
	for _, p := range pls {
		out = append(out, p.ID+" "+string(p.Origin))
	}
	slices.Sort(out)
	return out
}

type playlistScannerFailing struct {
	e    *playlistScannerEnv
	base http.RoundTripper
}

func (f playlistScannerFailing) RoundTrip(req *http.Request) (*http.Response, error) {
	if off := f.e.failOffset.Load(); off >= 0 && strings.HasSuffix(req.URL.Path, "/items") &&
		req.URL.Query().Get("offset") == fmt.Sprint(off) {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return &http.Response{
			StatusCode: http.StatusInternalServerError,
			Header:     http.Header{"Content-Type": {"application/json"}},
			Body:       io.NopCloser(strings.NewReader(`{"error":{"status":500,"message":"Server error"}}`)),
			Request:    req,
		}, nil
	}
	return f.base.RoundTrip(req)
}

// playlistScannerTracks adds n catalogue tracks to the fake and returns
// them; names and ids start with prefix.
func playlistScannerTracks(srv *spotifyhisttest.Server, prefix string, n int) []spotifyhisttest.Track {
	out := make([]spotifyhisttest.Track, n)
	for i := range out {
		id := playlistScannerID(fmt.Sprintf("%s%03d", prefix, i))
		out[i] = spotifyhisttest.Track{
			ID:         id,
			Name:       fmt.Sprintf("%s song %d", prefix, i),
			DurationMS: 180_000 + i,
			ISRC:       fmt.Sprintf("USRC1%07d", i),
			Album:      spotifyhisttest.Album{ID: playlistScannerID(prefix + "alb"), Name: prefix + " album"},
			Artists: []spotifyhisttest.Artist{
				{ID: playlistScannerID(prefix + "art1"), Name: prefix + " singer"},
				{ID: playlistScannerID(prefix + "art2"), Name: prefix + " guest"},
			},
		}
		srv.AddTrack(out[i])
	}
	return out
}

// playlistScannerRowsOf makes one row per track.
func playlistScannerRowsOf(tracks []spotifyhisttest.Track) []spotifyhisttest.PlaylistRow {
	rows := make([]spotifyhisttest.PlaylistRow, len(tracks))
	for i, tr := range tracks {
		rows[i] = spotifyhisttest.PlaylistRow{TrackID: tr.ID, AddedAt: playlistScannerTime.Add(-time.Duration(i) * time.Hour), AddedBy: "alice"}
	}
	return rows
}

// playlistScannerWant is the expected stored form of rows made by
// playlistScannerRowsOf.
func playlistScannerWant(tracks []spotifyhisttest.Track) []string {
	out := make([]string, len(tracks))
	for i, tr := range tracks {
		out[i] = fmt.Sprintf("%d playable %s", i, tr.ID)
	}
	return out
}

func TestScanPlaylists(t *testing.T) {
	t.Parallel()
	for _, b := range songIDBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()

			t.Run("AllRowKinds", func(t *testing.T) {
				t.Parallel()
				for _, tc := range []struct {
					name string
					keys spotifyhisttest.RowKeys
				}{
					{"ItemKey", spotifyhisttest.RowKeysItem},
					{"DeprecatedTrackKey", spotifyhisttest.RowKeysTrack},
					{"BothKeys", spotifyhisttest.RowKeysBoth},
				} {
					t.Run(tc.name, func(t *testing.T) {
						t.Parallel()
						testScanAllRowKinds(t, b, tc.keys)
					})
				}
			})

			t.Run("FailedPageLeavesRowsUntouched", func(t *testing.T) {
				t.Parallel()
				e := newPlaylistScannerEnv(t, b, "alice")
				v1 := playlistScannerTracks(e.srv, "v1", 120)
				v2 := playlistScannerTracks(e.srv, "v2", 130)
				pid := playlistScannerID("plfail")
				e.srv.AddPlaylist(spotifyhisttest.Playlist{ID: pid, Name: "Big", OwnerID: "alice", SnapshotID: "snap1", Rows: playlistScannerRowsOf(v1)})
				res := e.scan(t, "alice")
				require.Equal(t, 1, res.Scanned)
				require.Equal(t, playlistScannerWant(v1), e.rows(t, "alice", pid))

				// The playlist changes; its third page fails.
				e.srv.AddPlaylist(spotifyhisttest.Playlist{ID: pid, Name: "Big", OwnerID: "alice", SnapshotID: "snap2", Rows: playlistScannerRowsOf(v2)})
				e.failOffset.Store(100)
				res, err := ScanPlaylists(t.Context(), e.st, e.client("alice"), "alice", playlistScannerTime)
				var apiErr *spotifyhist.Error
				require.ErrorAs(t, err, &apiErr)
				require.Equal(t, http.StatusInternalServerError, apiErr.Status)
				require.Equal(t, []string{pid}, res.Failed)
				require.Zero(t, res.Scanned)
				require.Equal(t, playlistScannerWant(v1), e.rows(t, "alice", pid), "the stored rows must be untouched")
				pls, err := e.st.ListUserPlaylists(t.Context(), "alice")
				require.NoError(t, err)
				require.Len(t, pls, 1)
				require.Equal(t, "snap1", pls[0].SnapshotID, "the stored snapshot still describes the stored rows")

				// The next scan tries again, even though the metadata was
				// refreshed by the failed one.
				e.failOffset.Store(-1)
				res = e.scan(t, "alice")
				require.Equal(t, 1, res.Scanned)
				require.Equal(t, 130, res.Rows)
				require.Equal(t, playlistScannerWant(v2), e.rows(t, "alice", pid))
			})

			t.Run("UnchangedSnapshotIsNotRefetched", func(t *testing.T) {
				t.Parallel()
				e := newPlaylistScannerEnv(t, b, "alice")
				tracks := playlistScannerTracks(e.srv, "un", 60)
				pid := playlistScannerID("plsame")
				e.srv.AddPlaylist(spotifyhisttest.Playlist{ID: pid, Name: "Same", OwnerID: "alice", Rows: playlistScannerRowsOf(tracks[:50])})
				require.Equal(t, 1, e.scan(t, "alice").Scanned)
				require.Equal(t, 1, e.srv.CallCount(playlistScannerItemsRoute))

				e.srv.ResetRequests()
				res := e.scan(t, "alice")
				require.Equal(t, &PlaylistScanResult{Playlists: 1, Unchanged: 1}, res)
				require.Zero(t, e.srv.CallCount(playlistScannerItemsRoute), "an unchanged snapshot must not be fetched again")

				// Adding rows changes the snapshot.
				e.srv.AddPlaylist(spotifyhisttest.Playlist{ID: pid, Name: "Same", OwnerID: "alice", Rows: playlistScannerRowsOf(tracks)})
				res = e.scan(t, "alice")
				require.Equal(t, 1, res.Scanned)
				require.Equal(t, 2, e.srv.CallCount(playlistScannerItemsRoute), "two pages")
				require.Equal(t, playlistScannerWant(tracks), e.rows(t, "alice", pid))
			})

			t.Run("ForbiddenRowsAreKept", func(t *testing.T) {
				t.Parallel()
				e := newPlaylistScannerEnv(t, b, "alice", "bob")
				tracks := playlistScannerTracks(e.srv, "fb", 5)
				shared := playlistScannerID("plbobs")
				own := playlistScannerID("plalices")
				e.srv.AddPlaylist(spotifyhisttest.Playlist{ID: shared, Name: "Bob's", OwnerID: "bob", Followers: []string{"alice"}, Rows: playlistScannerRowsOf(tracks[:4])})
				e.srv.AddPlaylist(spotifyhisttest.Playlist{ID: own, Name: "Alice's", OwnerID: "alice", Rows: playlistScannerRowsOf(tracks[:2])})

				require.Equal(t, 1, e.scan(t, "bob").Scanned)
				require.Equal(t, playlistScannerWant(tracks[:4]), e.rows(t, "bob", shared))

				// Bob adds a row; alice, a follower, may not read the rows.
				e.srv.AddPlaylist(spotifyhisttest.Playlist{ID: shared, Name: "Bob's", OwnerID: "bob", Followers: []string{"alice"}, Rows: playlistScannerRowsOf(tracks)})
				res := e.scan(t, "alice")
				require.Equal(t, []string{shared}, res.Unreadable)
				require.Equal(t, 1, res.Scanned, "alice's own playlist is still scanned")
				require.Equal(t, []string{own + " owned", shared + " owned"}, e.playlistIDs(t, "alice"))
				require.Equal(t, playlistScannerWant(tracks[:4]), e.rows(t, "alice", shared), "bob's rows are not wiped")
				pls, err := e.st.ListUserPlaylists(t.Context(), "alice")
				require.NoError(t, err)
				i := slices.IndexFunc(pls, func(p store.UserPlaylist) bool { return p.ID == shared })
				require.Equal(t, "Bob's", pls[i].Name)
				require.Equal(t, "bob", pls[i].OwnerID)
				require.Equal(t, 5, pls[i].TrackCount, "metadata is up to date")

				// Unreadable is not a failure: the next scan tries again and
				// gets the same answer, until bob's scan stores the rows.
				res = e.scan(t, "alice")
				require.Equal(t, []string{shared}, res.Unreadable)
				require.Equal(t, 1, res.Unchanged)
				require.Equal(t, 1, e.scan(t, "bob").Scanned)
				require.Equal(t, playlistScannerWant(tracks), e.rows(t, "alice", shared))
				res = e.scan(t, "alice")
				require.Empty(t, res.Unreadable)
				require.Equal(t, 2, res.Unchanged)
			})

			t.Run("UserLeavingSharedPlaylistKeepsOthersData", func(t *testing.T) {
				t.Parallel()
				e := newPlaylistScannerEnv(t, b, "alice", "bob")
				tracks := playlistScannerTracks(e.srv, "sh", 3)
				pid := playlistScannerID("plshared")
				pl := spotifyhisttest.Playlist{ID: pid, Name: "Ours", OwnerID: "carol", Collaborative: true, Collaborators: []string{"alice", "bob"}, Rows: playlistScannerRowsOf(tracks)}
				e.srv.AddPlaylist(pl)
				require.Equal(t, 1, e.scan(t, "alice").Scanned)
				require.Equal(t, 1, e.scan(t, "bob").Unchanged, "alice already stored the rows")

				pl.Collaborators = []string{"bob"}
				e.srv.AddPlaylist(pl)
				res := e.scan(t, "alice")
				require.Zero(t, res.Playlists)
				require.Empty(t, e.playlistIDs(t, "alice"))
				require.Equal(t, []string{pid + " owned"}, e.playlistIDs(t, "bob"))
				require.Equal(t, playlistScannerWant(tracks), e.rows(t, "bob", pid))
				require.Equal(t, 1, e.scan(t, "bob").Unchanged)

				// Bob adds a playlist by hand that alice also added; alice
				// removes hers.
				other := playlistScannerID("plother")
				e.srv.AddPlaylist(spotifyhisttest.Playlist{ID: other, Name: "Other", OwnerID: "dave", Collaborative: true, Collaborators: []string{"bob"}, Rows: playlistScannerRowsOf(tracks[:1])})
				_, err := AddPlaylistByURL(t.Context(), e.st, e.client("alice"), "alice", "spotify:playlist:"+other, playlistScannerTime)
				require.NoError(t, err)
				require.Equal(t, 1, e.scan(t, "bob").Scanned, "bob collaborates: /me/playlists lists it")
				require.NoError(t, e.st.RemoveUserPlaylist(t.Context(), "alice", other))
				require.Equal(t, []string{other + " owned", pid + " owned"}, e.playlistIDs(t, "bob"))
				require.Equal(t, playlistScannerWant(tracks[:1]), e.rows(t, "bob", other))
			})

			t.Run("AddedPlaylists", func(t *testing.T) {
				t.Parallel()
				e := newPlaylistScannerEnv(t, b, "alice")
				tracks := playlistScannerTracks(e.srv, "ad", 3)
				pid := playlistScannerID("pladded")
				gone := playlistScannerID("plgone")
				pl := spotifyhisttest.Playlist{ID: pid, Name: "Someone's", OwnerID: "erin", Rows: playlistScannerRowsOf(tracks)}
				e.srv.AddPlaylist(pl)
				e.srv.AddPlaylist(spotifyhisttest.Playlist{ID: gone, Name: "Soon gone", OwnerID: "erin"})

				got, err := AddPlaylistByURL(t.Context(), e.st, e.client("alice"), "alice",
					"https://open.spotify.com/playlist/"+pid+"?si=0123456789abcdef", playlistScannerTime)
				require.NoError(t, err)
				require.Equal(t, pid, got.ID)
				require.Equal(t, "Someone's", got.Name)
				require.Equal(t, 3, got.TrackCount)
				_, err = AddPlaylistByURL(t.Context(), e.st, e.client("alice"), "alice", gone, playlistScannerTime)
				require.NoError(t, err)
				require.Equal(t, []string{pid + " added", gone + " added"}, e.playlistIDs(t, "alice"))

				// Renamed on Spotify; the other one deleted. Development
				// Mode refuses the rows of a playlist alice does not own.
				pl.Name = "Renamed"
				e.srv.AddPlaylist(pl)
				e.srv.FailNext("/v1/playlists/"+gone, spotifyhisttest.Fault{Status: http.StatusNotFound})
				res := e.scan(t, "alice")
				require.Equal(t, []string{pid}, res.Unreadable)
				require.Equal(t, []string{gone}, res.Missing)
				require.Zero(t, res.Scanned)
				pls, err := e.st.ListUserPlaylists(t.Context(), "alice")
				require.NoError(t, err)
				names := make([]string, 0, len(pls))
				for _, p := range pls {
					names = append(names, p.Name)
				}
				require.ElementsMatch(t, []string{"Renamed", "Soon gone"}, names, "metadata refreshed, the missing one kept")
				require.Equal(t, []string{pid + " added", gone + " added"}, e.playlistIDs(t, "alice"), "nothing is unlinked")
			})
		})
	}
}

func testScanAllRowKinds(t *testing.T, b songIDBackend, keys spotifyhisttest.RowKeys) {
	e := newPlaylistScannerEnv(t, b, "alice")
	tracks := playlistScannerTracks(e.srv, "rk", 120)
	local := spotifyhisttest.LocalTrack("Halsey", "Manic (Deluxe)", "929", 174)
	local2 := spotifyhisttest.LocalTrack("", "", "One More Time", 320)
	episode := spotifyhisttest.Episode{ID: playlistScannerID("ep1"), Name: "Episode", DurationMS: 1_800_000, Show: spotifyhisttest.Show{ID: playlistScannerID("show1"), Name: "Show"}}
	rows := playlistScannerRowsOf(tracks)
	rows[5] = spotifyhisttest.PlaylistRow{} // removed content, no added_at
	rows[10] = spotifyhisttest.PlaylistRow{Track: &local, AddedAt: playlistScannerTime}
	rows[20] = spotifyhisttest.PlaylistRow{Episode: &episode, AddedAt: playlistScannerTime}
	rows[60] = spotifyhisttest.PlaylistRow{AddedByBlank: true}
	rows[110] = spotifyhisttest.PlaylistRow{Track: &local2}
	pid := playlistScannerID("plkinds")
	e.srv.AddPlaylist(spotifyhisttest.Playlist{ID: pid, Name: "Kinds", OwnerID: "alice", RowKeys: keys, Rows: rows})

	res := e.scan(t, "alice")
	require.Equal(t, &PlaylistScanResult{Playlists: 1, Scanned: 1, Rows: 119, Unplayable: 2, Local: 2, SkippedRows: 1}, res)
	require.Equal(t, 3, e.srv.CallCount(playlistScannerItemsRoute), "three pages of 50")

	want := make([]string, 0, 119)
	for i, tr := range tracks {
		switch i {
		case 5, 60:
			want = append(want, fmt.Sprintf("%d unplayable %s", i, PlaylistUnavailableTrackID))
		case 10:
			want = append(want, fmt.Sprintf("%d local %s", i, spotifyhist.LocalTrackID(local.URI)))
		case 20: // the episode is not stored
		case 110:
			want = append(want, fmt.Sprintf("%d local %s", i, spotifyhist.LocalTrackID(local2.URI)))
		default:
			want = append(want, fmt.Sprintf("%d playable %s", i, tr.ID))
		}
	}
	require.Equal(t, want, e.rows(t, "alice", pid))

	stored, err := e.st.ListPlaylistTracks(t.Context(), "alice", pid)
	require.NoError(t, err)
	byPos := map[int]store.PlaylistTrackStats{}
	for _, r := range stored {
		byPos[r.Position] = r
	}
	first := byPos[1]
	require.True(t, first.AddedAt.Equal(playlistScannerTime.Add(-time.Hour)), "added_at %v", first.AddedAt)
	require.Equal(t, store.Track{
		ID:         tracks[1].ID,
		Name:       tracks[1].Name,
		DurationMS: tracks[1].DurationMS,
		ISRC:       tracks[1].ISRC,
		Linked:     true,
		Album:      store.Album{ID: tracks[1].Album.ID, Name: tracks[1].Album.Name},
		Artists: []store.Artist{
			{ID: tracks[1].Artists[0].ID, Name: tracks[1].Artists[0].Name},
			{ID: tracks[1].Artists[1].ID, Name: tracks[1].Artists[1].Name},
		},
	}, first.Track)
	require.True(t, byPos[5].AddedAt.IsZero(), "null added_at")

	loc := byPos[10].Track
	require.True(t, loc.IsLocal)
	require.Equal(t, "929", loc.Name)
	require.Equal(t, 174_000, loc.DurationMS)
	require.Equal(t, "Manic (Deluxe)", loc.Album.Name)
	require.Len(t, loc.Artists, 1)
	require.Equal(t, "Halsey", loc.Artists[0].Name)
	require.True(t, store.IsProvisionalID(loc.Artists[0].ID), "a local file's artist has a name-based id")
	require.NotEqual(t, byPos[10].Track.ID, byPos[110].Track.ID)

	// Stored tracks from a playlist are linked: the artist linker has
	// nothing to do for them.
	unlinked, err := e.st.UnlinkedTracks(t.Context(), &store.UnlinkedTracksParams{Limit: 10})
	require.NoError(t, err)
	require.Empty(t, unlinked)
}

func TestScanPlaylistsStopsOnRejectedToken(t *testing.T) {
	t.Parallel()
	e := newPlaylistScannerEnv(t, songIDBackends(t)[0], "alice")
	c := e.client("alice")
	e.srv.RevokeRefreshToken("alice")
	e.srv.ExpireAccessTokens("alice")
	res, err := ScanPlaylists(t.Context(), e.st, c, "alice", playlistScannerTime)
	require.ErrorIs(t, err, spotifyhist.ErrReauthRequired)
	require.ErrorContains(t, err, `monitor: scan playlists of user "alice"`)
	require.Equal(t, &PlaylistScanResult{}, res)
}

func TestAddPlaylistByURLErrors(t *testing.T) {
	t.Parallel()
	e := newPlaylistScannerEnv(t, songIDBackends(t)[0], "alice")
	pid := playlistScannerID("plforbid")
	e.srv.AddPlaylist(spotifyhisttest.Playlist{ID: pid, Name: "Private", OwnerID: "bob"})

	for _, tc := range []struct {
		name  string
		input string
		fault *spotifyhisttest.Fault
		want  error
	}{
		{"NotAPlaylist", "https://open.spotify.com/track/" + pid, nil, ErrInvalidPlaylistRef},
		{"Unknown", playlistScannerID("plnothere"), nil, spotifyhist.ErrNotFound},
		{"Forbidden", pid, &spotifyhisttest.Fault{Status: http.StatusForbidden, Message: "User not registered in the Developer Dashboard"}, spotifyhist.ErrForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Not parallel: faults are queued on the shared fake.
			if tc.fault != nil {
				e.srv.FailNext("/v1/playlists/{id}", *tc.fault)
			}
			before := e.srv.CallCount("*")
			p, err := AddPlaylistByURL(t.Context(), e.st, e.client("alice"), "alice", tc.input, playlistScannerTime)
			require.ErrorIs(t, err, tc.want)
			require.Nil(t, p)
			if tc.want == ErrInvalidPlaylistRef {
				require.Equal(t, before, e.srv.CallCount("*"), "bad input never reaches Spotify")
			}
			require.Empty(t, e.playlistIDs(t, "alice"))
		})
	}
}

func TestParsePlaylistRef(t *testing.T) {
	t.Parallel()
	const id = "37i9dQZF1DXcBWIGoYBM5M"
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"ShareLink", "https://open.spotify.com/playlist/" + id + "?si=a1b2c3d4e5f6", true},
		{"LinkWithSpaces", "  https://open.spotify.com/playlist/" + id + "  ", true},
		{"LinkWithoutScheme", "open.spotify.com/playlist/" + id, true},
		{"LocalisedLink", "https://open.spotify.com/intl-de/playlist/" + id, true},
		{"EmbedLink", "https://open.spotify.com/embed/playlist/" + id + "?utm_source=generator", true},
		{"OldUserLink", "https://open.spotify.com/user/spotify/playlist/" + id, true},
		{"URI", "spotify:playlist:" + id, true},
		{"OldUserURI", "spotify:user:someone:playlist:" + id, true},
		{"BareID", id, true},
		{"Empty", "", false},
		{"Blank", "   ", false},
		{"TrackLink", "https://open.spotify.com/track/" + id, false},
		{"AlbumURI", "spotify:album:" + id, false},
		{"OtherHost", "https://example.com/playlist/" + id, false},
		{"LookalikeHost", "https://open.spotify.com.evil.example/playlist/" + id, false},
		{"ExtraPath", "https://open.spotify.com/playlist/" + id + "/tracks", false},
		{"ShortID", "37i9dQZF1DXcBWIGoYBM5", false},
		{"LongID", id + "x", false},
		{"BadCharacters", "37i9dQZF1DXcBWIGoYBM5-", false},
		{"PathTraversal", "spotify:playlist:../../me", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParsePlaylistRef(tc.in)
			if !tc.ok {
				require.ErrorIs(t, err, ErrInvalidPlaylistRef)
				require.Empty(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, id, got)
		})
	}
}
