package spotifyhisttest_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zmb3/spotify/v2"

	"github.com/spotifyhist/spotifyhist/spotifyhist/spotifyhisttest"
)

// bearer adds a static bearer token, standing in for an oauth2 transport.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// TestZmb3Compatibility checks that zmb3/spotify v2.4.3 decodes the fake's
// responses as reference §5 describes for the real API.
func TestZmb3Compatibility(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	want := seedPlays(t, b, 5)
	local := spotifyhisttest.LocalTrack("Halsey", "Manic (Deluxe)", "929", 174)
	tr := testTrack(1)
	b.srv.AddTrack(tr)
	b.srv.AddPlaylist(spotifyhisttest.Playlist{ID: spotifyhisttest.ID("p"), Name: "P", OwnerID: "alice",
		Rows: []spotifyhisttest.PlaylistRow{{TrackID: tr.ID}, {Track: &local}}})
	hc := &http.Client{Transport: bearer{b.token, b.srv.Transport()}}
	c := spotify.New(hc, spotify.WithBaseURL(b.srv.APIURL()))
	ctx := t.Context()

	me, err := c.CurrentUser(ctx)
	require.NoError(t, err)
	require.Equal(t, "alice", me.ID)

	rp, err := c.PlayerRecentlyPlayedOpt(ctx, &spotify.RecentlyPlayedOptions{Limit: 50, AfterEpochMs: want[3]})
	require.NoError(t, err)
	require.Len(t, rp, 3)
	require.Equal(t, want[0], rp[0].PlayedAt.UnixMilli())
	require.Equal(t, "Album", rp[0].Track.Album.Name)

	cp, err := c.PlayerCurrentlyPlaying(ctx)
	require.NoError(t, err)
	require.Nil(t, cp.Item, "204 decodes as a zero struct")

	b.srv.SetPlayback("alice", &spotifyhisttest.Playback{Track: &local, IsPlaying: true, Progress: 3 * time.Second})
	cp, err = c.PlayerCurrentlyPlaying(ctx)
	require.NoError(t, err)
	require.Equal(t, spotify.URI(local.URI), cp.Item.URI)
	require.Equal(t, 3000, int(cp.Progress))

	got, err := c.GetTrack(ctx, spotify.ID(tr.ID))
	require.NoError(t, err)
	require.Equal(t, tr.Name, got.Name)
	_, err = c.GetTrack(ctx, spotify.ID(spotifyhisttest.ID("missing")))
	var se spotify.Error
	require.ErrorAs(t, err, &se)
	require.Equal(t, http.StatusNotFound, se.Status)

	pls, err := c.CurrentUsersPlaylists(ctx)
	require.NoError(t, err)
	require.Len(t, pls.Playlists, 1)
	require.Zero(t, pls.Playlists[0].Tracks.Total, "zmb3 reads the deprecated tracks field")

	_, err = c.GetPlaylistItems(ctx, spotify.ID(spotifyhisttest.ID("p")))
	require.ErrorAs(t, err, &se)
	require.Equal(t, http.StatusForbidden, se.Status, "zmb3 still calls /tracks")
	_, err = c.GetTracks(ctx, []spotify.ID{spotify.ID(tr.ID)})
	require.ErrorAs(t, err, &se)
	require.Equal(t, http.StatusForbidden, se.Status)
}
