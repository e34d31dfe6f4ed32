package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/store"
)

func runCatalog(t *testing.T, newStore func(t *testing.T) store.Store) {
	runCases(t, newStore, []testCase{
		{"UpsertAndGet", testUpsertAndGet},
		{"GetTrackNotFound", testGetTrackNotFound},
		{"UpsertRejectsEmptyID", testUpsertRejectsEmptyID},
		{"LinkedReplaces", testLinkedReplaces},
		{"UnlinkedNeverOverwrites", testUnlinkedNeverOverwrites},
		{"UnlinkedNeverRenamesSharedEntries", testUnlinkedNeverRenames},
		{"LinkedUpgradesUnlinked", testLinkedUpgradesUnlinked},
		{"UnlinkedTracksPaging", testUnlinkedTracksPaging},
		{"MergeCandidates", testMergeCandidates},
		{"MergeTracks", testMergeTracks},
		{"MergeTracksUnknownInto", testMergeTracksUnknownInto},
	})
}

// requireTrack asserts got is want as GetTrack returns it.
func requireTrack(t testing.TB, want, got store.Track, what string) {
	t.Helper()
	require.Equal(t, want.ID, got.ID, "%s: ID", what)
	require.Equal(t, want.Name, got.Name, "%s: Name of %s", what, want.ID)
	require.Equal(t, want.DurationMS, got.DurationMS, "%s: DurationMS of %s", what, want.ID)
	require.Equal(t, want.ISRC, got.ISRC, "%s: ISRC of %s", what, want.ID)
	require.Equal(t, want.IsLocal, got.IsLocal, "%s: IsLocal of %s", what, want.ID)
	require.Equal(t, want.Linked, got.Linked, "%s: Linked of %s", what, want.ID)
	require.Equal(t, want.Album, got.Album, "%s: Album of %s", what, want.ID)
	require.Equal(t, normArtists(want.Artists), normArtists(got.Artists), "%s: Artists of %s, in order", what, want.ID)
}

func normArtists(a []store.Artist) []store.Artist {
	if len(a) == 0 {
		return nil
	}
	return a
}

func getTrack(t testing.TB, b *bundle, id string) store.Track {
	t.Helper()
	got, err := b.s.GetTrack(b.ctx, id)
	require.NoError(t, err, "GetTrack(%q)", id)
	require.NotNil(t, got)
	return *got
}

func testUpsertAndGet(t *testing.T, b *bundle) {
	a1 := store.Artist{ID: "ar-1", Name: "Beyoncé"}
	a2 := store.Artist{ID: "ar-0", Name: "JAY-Z"} // ids out of order: position, not id, orders artists
	tracks := []store.Track{
		{ID: "t-full", Name: "Déjà <Vu>", DurationMS: 240_000, ISRC: "USSM10603618", Linked: true,
			Album: store.Album{ID: "al-1", Name: "B'Day"}, Artists: []store.Artist{a1, a2}},
		{ID: "spotify:local:Artist:Album:Title:174", Name: "Title", DurationMS: 174_000, IsLocal: true, Linked: true,
			Album:   store.Album{ID: store.ProvisionalID("album", "Album"), Name: "Album"},
			Artists: []store.Artist{{ID: store.ProvisionalID("artist", "Artist"), Name: "Artist"}}},
		{ID: "t-bare", Name: "No album, no artists", Linked: true},
		{ID: "t-export", Name: "From an export", Album: store.Album{ID: store.ProvisionalID("album", "X"), Name: "X"},
			Artists: []store.Artist{{ID: store.ProvisionalID("artist", "Y"), Name: "Y"}}},
	}
	require.NoError(t, b.s.UpsertTracks(b.ctx, tracks))
	require.NoError(t, b.s.UpsertTracks(b.ctx, nil), "UpsertTracks of nothing")
	for _, want := range tracks {
		requireTrack(t, want, getTrack(t, b, want.ID), "GetTrack after UpsertTracks")
	}
}

func testGetTrackNotFound(t *testing.T, b *bundle) {
	_, err := b.s.GetTrack(b.ctx, "nope")
	requireErrorIs(t, err, store.ErrNotFound, "GetTrack of an unknown id")
}

func testUpsertRejectsEmptyID(t *testing.T, b *bundle) {
	good := MakeTrack(nil)
	bad := MakeTrack(nil)
	bad.ID = ""
	requireErrorIs(t, b.s.UpsertTracks(b.ctx, []store.Track{good, bad}), store.ErrInvalid, "UpsertTracks of a track without an id")
	_, err := b.s.GetTrack(b.ctx, good.ID)
	requireErrorIs(t, err, store.ErrNotFound, "a rejected UpsertTracks writes nothing")
}

func testLinkedReplaces(t *testing.T, b *bundle) {
	v1 := MakeTrack(&TrackOpts{ID: "t1", Name: "Old", DurationMS: 1000, ISRC: "A",
		Artists: []store.Artist{{ID: "ar-a", Name: "A"}, {ID: "ar-b", Name: "B"}}})
	require.NoError(t, b.s.UpsertTracks(b.ctx, []store.Track{v1}))
	v2 := store.Track{ID: "t1", Name: "New", DurationMS: 2000, ISRC: "B", Linked: true,
		Album: store.Album{ID: "al-new", Name: "New Album"}, Artists: []store.Artist{{ID: "ar-c", Name: "C"}}}
	require.NoError(t, b.s.UpsertTracks(b.ctx, []store.Track{v2}))
	requireTrack(t, v2, getTrack(t, b, "t1"), "a linked track replaces name, duration, ISRC, album and artists")

	// Spotify's names are authoritative: a linked upsert renames shared entries.
	v3 := v2
	v3.Album.Name = "New Album (Deluxe)"
	v3.Artists = []store.Artist{{ID: "ar-c", Name: "C renamed"}, {ID: "ar-a", Name: "A"}}
	require.NoError(t, b.s.UpsertTracks(b.ctx, []store.Track{v3}))
	requireTrack(t, v3, getTrack(t, b, "t1"), "a linked track updates its album's and artists' names")
}

func testUnlinkedNeverOverwrites(t *testing.T, b *bundle) {
	linked := NewTrack(b.ctx, t, b.s, &TrackOpts{ID: "t-linked", Name: "Spotify name"})
	imp := MakeTrack(&TrackOpts{ID: "t-linked", Name: "export name", Unlinked: true, DurationMS: 5})
	require.NoError(t, b.s.UpsertTracks(b.ctx, []store.Track{imp}))
	requireTrack(t, linked, getTrack(t, b, "t-linked"), "an unlinked track never overwrites a linked one")

	first := NewTrack(b.ctx, t, b.s, &TrackOpts{ID: "t-unlinked", Name: "first", Unlinked: true})
	second := MakeTrack(&TrackOpts{ID: "t-unlinked", Name: "second", Unlinked: true})
	require.NoError(t, b.s.UpsertTracks(b.ctx, []store.Track{second}))
	requireTrack(t, first, getTrack(t, b, "t-unlinked"), "an unlinked track never overwrites an unlinked one either")
}

func testUnlinkedNeverRenames(t *testing.T, b *bundle) {
	artist := store.Artist{ID: "ar-1", Name: "Right Name"}
	album := store.Album{ID: "al-1", Name: "Right Album"}
	linked := NewTrack(b.ctx, t, b.s, &TrackOpts{ID: "t1", Album: &album, Artists: []store.Artist{artist}})
	// A second track, unlinked, that names the same artist and album differently.
	other := NewTrack(b.ctx, t, b.s, &TrackOpts{ID: "t2", Unlinked: true,
		Album: &store.Album{ID: "al-1", Name: "wrong album"}, Artists: []store.Artist{{ID: "ar-1", Name: "wrong name"}}})
	requireTrack(t, linked, getTrack(t, b, "t1"), "an unlinked track never renames a shared artist or album")
	got := getTrack(t, b, "t2")
	require.Equal(t, album, got.Album, "the unlinked track points at the stored album")
	require.Equal(t, []store.Artist{artist}, got.Artists, "the unlinked track points at the stored artist")
	require.Equal(t, other.Name, got.Name)
}

func testLinkedUpgradesUnlinked(t *testing.T, b *bundle) {
	NewTrack(b.ctx, t, b.s, &TrackOpts{ID: "t1", Name: "from export", Unlinked: true})
	linked := NewTrack(b.ctx, t, b.s, &TrackOpts{ID: "t1", Name: "from Spotify"})
	requireTrack(t, linked, getTrack(t, b, "t1"), "a linked track replaces an unlinked row")
	got, err := b.s.UnlinkedTracks(b.ctx, &store.UnlinkedTracksParams{Limit: 10})
	require.NoError(t, err)
	require.Empty(t, got, "a linked track is no longer returned by UnlinkedTracks")
}

func testUnlinkedTracksPaging(t *testing.T, b *bundle) {
	var want []store.Track
	for _, id := range []string{"t5", "t1", "t3", "t4", "t2"} {
		want = append(want, NewTrack(b.ctx, t, b.s, &TrackOpts{ID: id, Unlinked: true}))
	}
	NewTrack(b.ctx, t, b.s, &TrackOpts{ID: "t0-linked"})
	NewTrack(b.ctx, t, b.s, &TrackOpts{ID: "t2-linked"})
	NewTrack(b.ctx, t, b.s, &TrackOpts{ID: "t3-local", Unlinked: true, IsLocal: true})
	slices.SortFunc(want, func(a, b store.Track) int { return cmpString(a.ID, b.ID) })

	var got []store.Track
	after := ""
	for {
		page, err := b.s.UnlinkedTracks(b.ctx, &store.UnlinkedTracksParams{After: after, Limit: 2})
		require.NoError(t, err)
		require.LessOrEqual(t, len(page), 2, "UnlinkedTracks returns at most Limit tracks")
		if len(page) == 0 {
			break
		}
		got = append(got, page...)
		after = page[len(page)-1].ID
	}
	require.Len(t, got, len(want), "UnlinkedTracks pages over every non-local unlinked track exactly once")
	for i := range want {
		requireTrack(t, want[i], got[i], "UnlinkedTracks in id order")
	}
	page, err := b.s.UnlinkedTracks(b.ctx, &store.UnlinkedTracksParams{After: "t3", Limit: 10})
	require.NoError(t, err)
	require.Equal(t, []string{"t4", "t5"}, trackIDs(page), "After is exclusive")
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func trackIDs(tracks []store.Track) []string {
	var ids []string
	for _, tr := range tracks {
		ids = append(ids, tr.ID)
	}
	return ids
}

func testMergeCandidates(t *testing.T, b *bundle) {
	ctx, s := b.ctx, b.s
	a := store.Artist{ID: "ar-a", Name: "A"}
	bb := store.Artist{ID: "ar-b", Name: "B"}
	mk := func(id, name string, unlinked bool, artists ...store.Artist) store.Track {
		return NewTrack(ctx, t, s, &TrackOpts{ID: id, Name: name, Unlinked: unlinked, Artists: artists})
	}
	halo1 := mk("h1", "Halo", false, a)
	halo2 := mk("h2", "HALO!", false, a)
	halo3 := mk("h3", "  halo ", false, a)
	mk("h4", "Halo", false, a, bb) // another artist set
	mk("h5", "Halo", true, a)      // unlinked
	mk("h6", "Halo (Live)", false, a)
	duo1 := mk("d1", "Duet", false, a, bb)
	duo2 := mk("d2", "Duet", false, bb, a) // the same set in another order
	mk("x1", "Nameless", false)
	mk("x2", "Nameless", false) // no artists: never a candidate
	mk("s1", "Solo", false, bb)

	u := NewUser(ctx, t, s, nil)
	other := NewUser(ctx, t, s, nil)
	InsertPlays(ctx, t, s, u.ID, PlayOf(halo1, baseTime(), 1), PlayOf(halo2, baseTime().Add(-time.Hour), 1), PlayOf(duo1, baseTime(), 1))
	InsertPlays(ctx, t, s, other.ID, PlayOf(halo1, baseTime().Add(-2*time.Hour), 1), PlayOf(duo2, baseTime().Add(time.Hour), 1))

	groups, err := s.MergeCandidates(ctx)
	require.NoError(t, err)
	var got [][]string
	for _, g := range groups {
		got = append(got, trackIDs(g))
	}
	slices.SortFunc(got, func(x, y []string) int { return cmpString(x[len(x)-1], y[len(y)-1]) })
	require.Equal(t, [][]string{{"d2", "d1"}, {"h1", "h2", "h3"}}, got,
		"MergeCandidates groups linked tracks by normalised name and artist set, newest play first, never-played last")
	for _, g := range groups {
		for _, tr := range g {
			if tr.ID == halo3.ID {
				requireTrack(t, halo3, tr, "MergeCandidates returns full tracks")
			}
		}
	}
}

func testMergeTracks(t *testing.T, b *bundle) {
	ctx, s := b.ctx, b.s
	into := NewTrack(ctx, t, s, &TrackOpts{ID: "into"})
	from1 := NewTrack(ctx, t, s, &TrackOpts{ID: "from1"})
	from2 := NewTrack(ctx, t, s, &TrackOpts{ID: "from2", Unlinked: true})
	u := NewUser(ctx, t, s, nil)
	other := NewUser(ctx, t, s, nil)
	t1, t2, t3, t4 := baseTime(), baseTime().Add(time.Minute), baseTime().Add(2*time.Minute), baseTime().Add(3*time.Minute)
	InsertPlays(ctx, t, s, u.ID,
		PlayOf(into, t1, 100), PlayOf(into, t2, 200),
		PlayOf(from1, t2, 999), // duplicates (u, t2, into) once moved: dropped
		PlayOf(from1, t3, 300),
		PlayOf(from2, t4, 400),
	)
	InsertPlays(ctx, t, s, other.ID, PlayOf(from1, t2, 500)) // no (other, t2, into): moved
	pl := store.Playlist{ID: "pl", Name: "P", OwnerID: u.ID}
	require.NoError(t, s.SyncOwnedPlaylists(ctx, &store.SyncOwnedPlaylistsParams{UserID: u.ID, Playlists: []store.Playlist{pl}, Now: t1}))
	require.NoError(t, s.ReplacePlaylistTracks(ctx, &store.ReplacePlaylistTracksParams{PlaylistID: pl.ID, SnapshotID: "s", Now: t1,
		Tracks: []store.PlaylistTrack{
			{Position: 0, Track: from1, Status: store.PlaylistTrackPlayable},
			{Position: 1, Track: into, Status: store.PlaylistTrackPlayable},
			{Position: 2, Track: from2, Status: store.PlaylistTrackUnplayable},
		}}))

	moved, err := s.MergeTracks(ctx, &store.MergeTracksParams{Into: into.ID, From: []string{from1.ID, from2.ID}})
	require.NoError(t, err)
	require.Equal(t, 3, moved, "MergeTracks counts the plays moved, not the duplicates dropped")

	for _, id := range []string{from1.ID, from2.ID} {
		_, err := s.GetTrack(ctx, id)
		requireErrorIs(t, err, store.ErrNotFound, "MergeTracks deletes the From tracks")
	}
	requireTrack(t, into, getTrack(t, b, into.ID), "MergeTracks keeps the Into track as it was")
	plays, err := s.ListPlays(ctx, &store.ListPlaysParams{UserID: u.ID})
	require.NoError(t, err)
	require.Len(t, plays, 4)
	for i, want := range []struct {
		at time.Time
		ms int
	}{{t1, 100}, {t2, 200}, {t3, 300}, {t4, 400}} {
		require.Equal(t, into.ID, plays[i].TrackID, "every play is now of Into")
		requireTime(t, want.at, plays[i].PlayedAt, "merged play")
		require.Equal(t, want.ms, plays[i].MSPlayed, "the play already at (user, played_at, Into) is kept")
	}
	plays, err = s.ListPlays(ctx, &store.ListPlaysParams{UserID: other.ID})
	require.NoError(t, err)
	require.Len(t, plays, 1)
	require.Equal(t, into.ID, plays[0].TrackID)

	rows, err := s.ListPlaylistTracks(ctx, u.ID, pl.ID)
	require.NoError(t, err)
	require.Len(t, rows, 3, "MergeTracks keeps playlist rows")
	for _, r := range rows {
		require.Equal(t, into.ID, r.Track.ID, "playlist rows now point at Into")
		require.Equal(t, 4, r.Plays, "the play count follows the merge")
		requireTime(t, t4, r.LastPlayed, "the last play follows the merge")
	}
	top, err := s.Top(ctx, &store.TopParams{Kind: store.TopTracks, By: store.ByCount})
	require.NoError(t, err)
	require.Len(t, top, 1, "statistics see one track after the merge")
	require.Equal(t, 5, top[0].Plays)
	require.Equal(t, int64(1500), top[0].MSPlayed)
}

func testMergeTracksUnknownInto(t *testing.T, b *bundle) {
	from := NewTrack(b.ctx, t, b.s, nil)
	_, err := b.s.MergeTracks(b.ctx, &store.MergeTracksParams{Into: "ghost", From: []string{from.ID}})
	requireErrorIs(t, err, store.ErrNotFound, "MergeTracks into an unknown track")
	getTrack(t, b, from.ID)
}
