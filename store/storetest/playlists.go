package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/store"
)

func runPlaylists(t *testing.T, newStore func(t *testing.T) store.Store) {
	runCases(t, newStore, []testCase{
		{"SyncOwned", testSyncOwned},
		{"SyncOwnedKeepsAddedLinks", testSyncOwnedKeepsAdded},
		{"SyncOwnedLeavesOtherUsers", testSyncOwnedLeavesOthers},
		{"SyncKeepsScannedSnapshot", testSyncKeepsSnapshot},
		{"AddKeepsOwnedLink", testAddKeepsOwned},
		{"RemoveUserPlaylist", testRemoveUserPlaylist},
		{"ReplaceAndListTracks", testReplaceAndListTracks},
		{"ReplaceIsAllOrNothing", testReplaceAllOrNothing},
		{"ReplaceUnknownPlaylist", testReplaceUnknownPlaylist},
		{"ReplaceUpsertsTracksByRules", testReplaceUpsertsTracks},
	})
}

func requirePlaylist(t testing.TB, want store.Playlist, got store.Playlist, what string) {
	t.Helper()
	require.Equal(t, want.ID, got.ID, "%s: ID", what)
	require.Equal(t, want.Name, got.Name, "%s: Name of %s", what, want.ID)
	require.Equal(t, want.OwnerID, got.OwnerID, "%s: OwnerID of %s", what, want.ID)
	require.Equal(t, want.OwnerName, got.OwnerName, "%s: OwnerName of %s", what, want.ID)
	require.Equal(t, want.SnapshotID, got.SnapshotID, "%s: SnapshotID of %s", what, want.ID)
	require.Equal(t, want.Collaborative, got.Collaborative, "%s: Collaborative of %s", what, want.ID)
	require.Equal(t, want.Public, got.Public, "%s: Public of %s", what, want.ID)
	require.Equal(t, want.TrackCount, got.TrackCount, "%s: TrackCount of %s", what, want.ID)
	requireTime(t, want.ScannedAt, got.ScannedAt, what+": ScannedAt of "+want.ID)
}

type linkWant struct {
	pl     store.Playlist
	origin store.PlaylistOrigin
	added  time.Time
}

func requireUserPlaylists(t testing.TB, b *bundle, userID string, want []linkWant, what string) {
	t.Helper()
	got, err := b.s.ListUserPlaylists(b.ctx, userID)
	require.NoError(t, err)
	require.Len(t, got, len(want), "%s: number of playlists of %s", what, userID)
	for i := range want {
		requirePlaylist(t, want[i].pl, got[i].Playlist, what+" (ordered by name)")
		require.Equal(t, want[i].origin, got[i].Origin, "%s: origin of %s", what, want[i].pl.ID)
		requireTime(t, want[i].added, got[i].AddedAt, what+": AddedAt of "+want[i].pl.ID)
	}
}

// unscanned is p as stored before any scan: SnapshotID and ScannedAt are
// recorded by ReplacePlaylistTracks only.
func unscanned(p store.Playlist) store.Playlist {
	p.SnapshotID, p.ScannedAt = "", time.Time{}
	return p
}

func syncOwned(t testing.TB, b *bundle, userID string, now time.Time, pls ...store.Playlist) {
	t.Helper()
	require.NoError(t, b.s.SyncOwnedPlaylists(b.ctx, &store.SyncOwnedPlaylistsParams{UserID: userID, Playlists: pls, Now: now}))
}

func add(t testing.TB, b *bundle, userID string, now time.Time, pl store.Playlist) {
	t.Helper()
	require.NoError(t, b.s.AddUserPlaylist(b.ctx, &store.AddUserPlaylistParams{UserID: userID, Playlist: pl, Now: now}))
}

func replaceRows(t testing.TB, b *bundle, plID, snapshot string, now time.Time, rows ...store.PlaylistTrack) {
	t.Helper()
	require.NoError(t, b.s.ReplacePlaylistTracks(b.ctx, &store.ReplacePlaylistTracksParams{PlaylistID: plID, SnapshotID: snapshot, Tracks: rows, Now: now}))
}

func testSyncOwned(t *testing.T, b *bundle) {
	u := NewUser(b.ctx, t, b.s, nil)
	t0, t1 := baseTime(), baseTime().Add(time.Hour)
	p1 := store.Playlist{ID: "p1", Name: "Bravo <script>", OwnerID: u.ID, OwnerName: "Me", SnapshotID: "s1", Public: ptr(true), TrackCount: 3}
	p2 := store.Playlist{ID: "p2", Name: "Alpha", OwnerID: u.ID, OwnerName: "Me", SnapshotID: "s2", Collaborative: true, Public: nil, TrackCount: 0}
	syncOwned(t, b, u.ID, t0, p1, p2)
	requireUserPlaylists(t, b, u.ID, []linkWant{
		{unscanned(p2), store.PlaylistOwned, t0},
		{unscanned(p1), store.PlaylistOwned, t0},
	}, "after SyncOwnedPlaylists")

	p2b := p2
	p2b.Name, p2b.Public, p2b.TrackCount = "Charlie", ptr(false), 7
	syncOwned(t, b, u.ID, t1, p2b)
	requireUserPlaylists(t, b, u.ID, []linkWant{{unscanned(p2b), store.PlaylistOwned, t0}},
		"a second sync drops links not listed, updates metadata and keeps AddedAt")
	err := b.s.ReplacePlaylistTracks(b.ctx, &store.ReplacePlaylistTracksParams{PlaylistID: "p1", SnapshotID: "s", Now: t1})
	requireErrorIs(t, err, store.ErrNotFound, "a playlist no user tracks any more is deleted")

	syncOwned(t, b, u.ID, t1)
	requireUserPlaylists(t, b, u.ID, nil, "a sync with no playlists")
}

func testSyncOwnedKeepsAdded(t *testing.T, b *bundle) {
	u := NewUser(b.ctx, t, b.s, nil)
	owned := store.Playlist{ID: "owned", Name: "A", OwnerID: u.ID}
	added := store.Playlist{ID: "added", Name: "B", OwnerID: "someone"}
	syncOwned(t, b, u.ID, baseTime(), owned)
	add(t, b, u.ID, baseTime(), added)
	replaceRows(t, b, added.ID, "snap", baseTime(), store.PlaylistTrack{Position: 0, Track: MakeTrack(nil), Status: store.PlaylistTrackPlayable})
	syncOwned(t, b, u.ID, baseTime().Add(time.Hour))
	scanned := added
	scanned.SnapshotID, scanned.ScannedAt = "snap", baseTime()
	requireUserPlaylists(t, b, u.ID, []linkWant{{scanned, store.PlaylistAdded, baseTime()}}, "SyncOwnedPlaylists keeps added links")
	rows, err := b.s.ListPlaylistTracks(b.ctx, u.ID, added.ID)
	require.NoError(t, err)
	require.Len(t, rows, 1, "an added playlist keeps its rows through a sync")
}

func testSyncOwnedLeavesOthers(t *testing.T, b *bundle) {
	u1 := NewUser(b.ctx, t, b.s, nil)
	u2 := NewUser(b.ctx, t, b.s, nil)
	shared := store.Playlist{ID: "shared", Name: "Collab", OwnerID: u1.ID, Collaborative: true}
	syncOwned(t, b, u1.ID, baseTime(), shared)
	syncOwned(t, b, u2.ID, baseTime(), shared)
	replaceRows(t, b, shared.ID, "s1", baseTime(), store.PlaylistTrack{Position: 0, Track: MakeTrack(nil), Status: store.PlaylistTrackPlayable})
	syncOwned(t, b, u1.ID, baseTime().Add(time.Hour))
	requireUserPlaylists(t, b, u1.ID, nil, "u1 no longer owns it")
	want := shared
	want.SnapshotID, want.ScannedAt = "s1", baseTime()
	requireUserPlaylists(t, b, u2.ID, []linkWant{{want, store.PlaylistOwned, baseTime()}}, "another user's sync leaves u2's link")
	rows, err := b.s.ListPlaylistTracks(b.ctx, u2.ID, shared.ID)
	require.NoError(t, err)
	require.Len(t, rows, 1, "a playlist another user still tracks keeps its rows")
}

func testSyncKeepsSnapshot(t *testing.T, b *bundle) {
	u := NewUser(b.ctx, t, b.s, nil)
	pl := store.Playlist{ID: "p", Name: "P", OwnerID: u.ID, SnapshotID: "listed-1"}
	syncOwned(t, b, u.ID, baseTime(), pl)
	t1 := baseTime().Add(time.Minute)
	replaceRows(t, b, pl.ID, "scanned-1", t1)
	pl.SnapshotID = "listed-2"
	pl.Name = "P renamed"
	syncOwned(t, b, u.ID, baseTime().Add(time.Hour), pl)
	add(t, b, u.ID, baseTime().Add(2*time.Hour), pl)
	want := pl
	want.SnapshotID, want.ScannedAt = "scanned-1", t1
	requireUserPlaylists(t, b, u.ID, []linkWant{{want, store.PlaylistOwned, baseTime()}},
		"SnapshotID and ScannedAt describe the stored rows: only ReplacePlaylistTracks sets them")
}

func testAddKeepsOwned(t *testing.T, b *bundle) {
	u := NewUser(b.ctx, t, b.s, nil)
	pl := store.Playlist{ID: "p", Name: "Mine", OwnerID: u.ID}
	syncOwned(t, b, u.ID, baseTime(), pl)
	pl.Name = "Mine, renamed"
	add(t, b, u.ID, baseTime().Add(time.Hour), pl)
	requireUserPlaylists(t, b, u.ID, []linkWant{{pl, store.PlaylistOwned, baseTime()}}, "adding an owned playlist keeps it owned")

	other := store.Playlist{ID: "q", Name: "Theirs", OwnerID: "x", Public: ptr(true)}
	add(t, b, u.ID, baseTime(), other)
	add(t, b, u.ID, baseTime().Add(time.Hour), other)
	requireUserPlaylists(t, b, u.ID, []linkWant{{pl, store.PlaylistOwned, baseTime()}, {other, store.PlaylistAdded, baseTime()}},
		"adding twice links once and keeps AddedAt")
}

func testRemoveUserPlaylist(t *testing.T, b *bundle) {
	u1 := NewUser(b.ctx, t, b.s, nil)
	u2 := NewUser(b.ctx, t, b.s, nil)
	pl := store.Playlist{ID: "p", Name: "P", OwnerID: "x"}
	add(t, b, u1.ID, baseTime(), pl)
	add(t, b, u2.ID, baseTime(), pl)
	replaceRows(t, b, pl.ID, "s", baseTime(), store.PlaylistTrack{Position: 0, Track: MakeTrack(nil), Status: store.PlaylistTrackPlayable})

	require.NoError(t, b.s.RemoveUserPlaylist(b.ctx, u1.ID, pl.ID))
	requireUserPlaylists(t, b, u1.ID, nil, "after RemoveUserPlaylist")
	want := pl
	want.SnapshotID, want.ScannedAt = "s", baseTime()
	requireUserPlaylists(t, b, u2.ID, []linkWant{{want, store.PlaylistAdded, baseTime()}}, "removing for one user never touches another's link")
	rows, err := b.s.ListPlaylistTracks(b.ctx, u2.ID, pl.ID)
	require.NoError(t, err)
	require.Len(t, rows, 1, "removing for one user never touches the rows another user sees")

	requireErrorIs(t, b.s.RemoveUserPlaylist(b.ctx, u1.ID, pl.ID), store.ErrNotFound, "RemoveUserPlaylist of a playlist not linked")
	requireErrorIs(t, b.s.RemoveUserPlaylist(b.ctx, u1.ID, "ghost"), store.ErrNotFound, "RemoveUserPlaylist of an unknown playlist")
}

func testReplaceAndListTracks(t *testing.T, b *bundle) {
	ctx, s := b.ctx, b.s
	u := NewUser(ctx, t, s, nil)
	other := NewUser(ctx, t, s, nil)
	pl := store.Playlist{ID: "p", Name: "P", OwnerID: u.ID}
	syncOwned(t, b, u.ID, baseTime(), pl)
	trA := MakeTrack(&TrackOpts{ID: "a"})
	trB := MakeTrack(&TrackOpts{ID: "b", Artists: []store.Artist{{ID: "x1", Name: "X1"}, {ID: "x0", Name: "X0"}}})
	local := MakeTrack(&TrackOpts{ID: "spotify:local:A:B:T:100", IsLocal: true, Album: &store.Album{}, Artists: []store.Artist{}})
	InsertPlays(ctx, t, s, u.ID, PlayOf(trA, baseTime(), 1), PlayOf(trA, baseTime().Add(time.Hour), 1), PlayOf(local, baseTime().Add(-time.Hour), 1))
	InsertPlays(ctx, t, s, other.ID, PlayOf(trA, baseTime().Add(5*time.Hour), 1), PlayOf(trB, baseTime(), 1))

	added := baseTime().Add(-24 * time.Hour)
	rows := []store.PlaylistTrack{
		{Position: 0, Track: trB, Status: store.PlaylistTrackUnplayable, AddedAt: added},
		{Position: 1, Track: trA, Status: store.PlaylistTrackPlayable, AddedAt: added.Add(time.Minute)},
		{Position: 2, Track: local, Status: store.PlaylistTrackLocal},
		{Position: 3, Track: trA, Status: store.PlaylistTrackPlayable, AddedAt: added},
	}
	t1 := baseTime().Add(time.Minute)
	replaceRows(t, b, pl.ID, "snap-1", t1, rows[3], rows[1], rows[0], rows[2]) // any input order
	got, err := s.ListPlaylistTracks(ctx, u.ID, pl.ID)
	require.NoError(t, err)
	require.Len(t, got, 4)
	wantStats := []struct {
		plays int
		last  time.Time
	}{{0, time.Time{}}, {2, baseTime().Add(time.Hour)}, {1, baseTime().Add(-time.Hour)}, {2, baseTime().Add(time.Hour)}}
	for i, r := range rows {
		require.Equal(t, r.Position, got[i].Position, "ListPlaylistTracks in position order")
		requireTrack(t, r.Track, got[i].Track, "playlist row track")
		require.Equal(t, r.Status, got[i].Status, "row %d Status", i)
		requireTime(t, r.AddedAt, got[i].AddedAt, "row AddedAt")
		require.Equal(t, wantStats[i].plays, got[i].Plays, "row %d: the user's play count (never another user's)", i)
		requireTime(t, wantStats[i].last, got[i].LastPlayed, "row LastPlayed")
	}
	want := pl
	want.SnapshotID, want.ScannedAt = "snap-1", t1
	requireUserPlaylists(t, b, u.ID, []linkWant{{want, store.PlaylistOwned, baseTime()}}, "ReplacePlaylistTracks records SnapshotID and ScannedAt")

	replaceRows(t, b, pl.ID, "snap-2", t1.Add(time.Minute), store.PlaylistTrack{Position: 0, Track: local, Status: store.PlaylistTrackLocal})
	got, err = s.ListPlaylistTracks(ctx, u.ID, pl.ID)
	require.NoError(t, err)
	require.Len(t, got, 1, "ReplacePlaylistTracks replaces every row")
	require.Equal(t, local.ID, got[0].Track.ID)

	replaceRows(t, b, pl.ID, "snap-3", t1.Add(2*time.Minute))
	got, err = s.ListPlaylistTracks(ctx, u.ID, pl.ID)
	require.NoError(t, err)
	require.Empty(t, got, "a playlist can be emptied")
}

func testReplaceAllOrNothing(t *testing.T, b *bundle) {
	u := NewUser(b.ctx, t, b.s, nil)
	pl := store.Playlist{ID: "p", Name: "P", OwnerID: u.ID}
	syncOwned(t, b, u.ID, baseTime(), pl)
	keep := MakeTrack(nil)
	replaceRows(t, b, pl.ID, "good", baseTime(), store.PlaylistTrack{Position: 0, Track: keep, Status: store.PlaylistTrackPlayable})

	fresh := MakeTrack(nil)
	err := b.s.ReplacePlaylistTracks(b.ctx, &store.ReplacePlaylistTracksParams{PlaylistID: pl.ID, SnapshotID: "bad", Now: baseTime().Add(time.Hour),
		Tracks: []store.PlaylistTrack{
			{Position: 0, Track: fresh, Status: store.PlaylistTrackPlayable},
			{Position: 1, Track: keep, Status: "lost"},
		}})
	requireErrorIs(t, err, store.ErrInvalid, "ReplacePlaylistTracks with an unknown row status")
	got, err := b.s.ListPlaylistTracks(b.ctx, u.ID, pl.ID)
	require.NoError(t, err)
	require.Len(t, got, 1, "a failed replace keeps the old rows")
	require.Equal(t, keep.ID, got[0].Track.ID, "a failed replace keeps the old rows")
	want := pl
	want.SnapshotID, want.ScannedAt = "good", baseTime()
	requireUserPlaylists(t, b, u.ID, []linkWant{{want, store.PlaylistOwned, baseTime()}}, "a failed replace keeps the old snapshot")
	_, err = b.s.GetTrack(b.ctx, fresh.ID)
	requireErrorIs(t, err, store.ErrNotFound, "a failed replace upserts no track")
}

func testReplaceUnknownPlaylist(t *testing.T, b *bundle) {
	err := b.s.ReplacePlaylistTracks(b.ctx, &store.ReplacePlaylistTracksParams{PlaylistID: "ghost", SnapshotID: "s", Now: baseTime(),
		Tracks: []store.PlaylistTrack{{Position: 0, Track: MakeTrack(nil), Status: store.PlaylistTrackPlayable}}})
	requireErrorIs(t, err, store.ErrNotFound, "ReplacePlaylistTracks of an unknown playlist")
}

func testReplaceUpsertsTracks(t *testing.T, b *bundle) {
	u := NewUser(b.ctx, t, b.s, nil)
	pl := store.Playlist{ID: "p", Name: "P", OwnerID: u.ID}
	syncOwned(t, b, u.ID, baseTime(), pl)
	linked := NewTrack(b.ctx, t, b.s, &TrackOpts{ID: "t1", Name: "Spotify"})
	unlinked := MakeTrack(&TrackOpts{ID: "t1", Name: "export", Unlinked: true})
	renamed := MakeTrack(&TrackOpts{ID: "t2", Name: "new"})
	NewTrack(b.ctx, t, b.s, &TrackOpts{ID: "t2", Name: "old"})
	replaceRows(t, b, pl.ID, "s", baseTime(),
		store.PlaylistTrack{Position: 0, Track: unlinked, Status: store.PlaylistTrackPlayable},
		store.PlaylistTrack{Position: 1, Track: renamed, Status: store.PlaylistTrackPlayable})
	requireTrack(t, linked, getTrack(t, b, "t1"), "an unlinked playlist track never overwrites the stored one")
	requireTrack(t, renamed, getTrack(t, b, "t2"), "a linked playlist track replaces the stored one")
}
