package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/store"
)

func runPlays(t *testing.T, newStore func(t *testing.T) store.Store) {
	runCases(t, newStore, []testCase{
		{"InsertAndList", testInsertAndList},
		{"ReinsertIsIdempotent", testReinsertIdempotent},
		{"DuplicateWithinBatch", testDuplicateWithinBatch},
		{"SubMillisecondDuplicate", testSubMillisecondDuplicate},
		{"ReplayAtAnotherTimeIsNewPlay", testReplayIsNewPlay},
		{"SameInstantDifferentTracks", testSameInstantDifferentTracks},
		{"SameInstantDifferentUsers", testSameInstantDifferentUsers},
		{"InsertUpsertsTracksByRules", testInsertUpsertsTracks},
		{"InsertErrors", testInsertErrors},
		{"ListPlaysRange", testListPlaysRange},
		{"LatestPlay", testLatestPlay},
	})
}

func requirePlays(t testing.TB, want []store.Play, got []store.PlayWithTrack, what string) {
	t.Helper()
	require.Len(t, got, len(want), "%s: number of plays", what)
	for i := range want {
		w, g := want[i], got[i].Play
		require.Equal(t, w.UserID, g.UserID, "%s: play %d UserID", what, i)
		require.Equal(t, w.TrackID, g.TrackID, "%s: play %d TrackID", what, i)
		requireTime(t, w.PlayedAt, g.PlayedAt, what+": PlayedAt")
		require.Equal(t, w.MSPlayed, g.MSPlayed, "%s: play %d MSPlayed", what, i)
		require.Equal(t, w.Source, g.Source, "%s: play %d Source", what, i)
		require.Equal(t, w.ImportID, g.ImportID, "%s: play %d ImportID", what, i)
		require.Equal(t, g.TrackID, got[i].Track.ID, "%s: play %d is joined with its own track", what, i)
	}
}

func listPlays(t testing.TB, b *bundle, userID string, from, to time.Time) []store.PlayWithTrack {
	t.Helper()
	got, err := b.s.ListPlays(b.ctx, &store.ListPlaysParams{UserID: userID, From: from, To: to})
	require.NoError(t, err)
	for i := 1; i < len(got); i++ {
		require.False(t, got[i].PlayedAt.Before(got[i-1].PlayedAt), "ListPlays returns plays oldest first")
	}
	return got
}

func testInsertAndList(t *testing.T, b *bundle) {
	ctx, s := b.ctx, b.s
	u := NewUser(ctx, t, s, nil)
	tr1 := MakeTrack(&TrackOpts{Artists: []store.Artist{{ID: "ar-1", Name: "One"}, {ID: "ar-2", Name: "Two"}}})
	tr2 := MakeTrack(&TrackOpts{Unlinked: true})
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	require.NoError(t, err)
	t1 := baseTime()                                   // sub-millisecond digits are dropped
	t2 := baseTime().Add(90 * time.Second).In(kolkata) // stored as the same instant
	in := []store.PlayInput{
		{Track: tr2, PlayedAt: t2, MSPlayed: 0, Source: store.SourceRealtime},
		{Track: tr1, PlayedAt: t1, MSPlayed: 123_456, Source: store.SourceHistory},
	}
	res := InsertPlays(ctx, t, s, u.ID, in...)
	require.Equal(t, store.InsertPlaysResult{Inserted: 2}, *res)

	got := listPlays(t, b, u.ID, time.Time{}, time.Time{})
	requirePlays(t, []store.Play{
		{UserID: u.ID, TrackID: tr1.ID, PlayedAt: t1, MSPlayed: 123_456, Source: store.SourceHistory},
		{UserID: u.ID, TrackID: tr2.ID, PlayedAt: t2, MSPlayed: 0, Source: store.SourceRealtime},
	}, got, "ListPlays after InsertPlays")
	requireTrack(t, tr1, got[0].Track, "ListPlays joins the track")
	requireTrack(t, tr2, got[1].Track, "ListPlays joins the track")
	requireTrack(t, tr1, getTrack(t, b, tr1.ID), "InsertPlays upserts the track")
	require.Equal(t, time.UTC, got[0].PlayedAt.Location(), "PlayedAt is returned in UTC")
	require.Zero(t, got[0].PlayedAt.Nanosecond()%int(time.Millisecond), "PlayedAt is truncated to the millisecond")

	res = InsertPlays(ctx, t, s, u.ID)
	require.Equal(t, store.InsertPlaysResult{}, *res, "InsertPlays of nothing")
}

func testReinsertIdempotent(t *testing.T, b *bundle) {
	ctx, s := b.ctx, b.s
	u := NewUser(ctx, t, s, nil)
	tr := MakeTrack(nil)
	var in []store.PlayInput
	for i := range 10 {
		in = append(in, PlayOf(tr, baseTime().Add(time.Duration(i)*time.Minute), i))
	}
	require.Equal(t, store.InsertPlaysResult{Inserted: 10}, *InsertPlays(ctx, t, s, u.ID, in...))
	require.Equal(t, store.InsertPlaysResult{Duplicates: 10}, *InsertPlays(ctx, t, s, u.ID, in...),
		"re-inserting the same plays skips them all and counts them as duplicates")
	extra := PlayOf(tr, baseTime().Add(time.Hour), 1)
	require.Equal(t, store.InsertPlaysResult{Inserted: 1, Duplicates: 3}, *InsertPlays(ctx, t, s, u.ID, in[0], extra, in[5], in[9]))
	require.Len(t, listPlays(t, b, u.ID, time.Time{}, time.Time{}), 11)
}

func testDuplicateWithinBatch(t *testing.T, b *bundle) {
	u := NewUser(b.ctx, t, b.s, nil)
	tr := MakeTrack(nil)
	p := PlayOf(tr, baseTime(), 1)
	require.Equal(t, store.InsertPlaysResult{Inserted: 1, Duplicates: 2}, *InsertPlays(b.ctx, t, b.s, u.ID, p, p, p),
		"a play repeated within one batch is stored once")
	require.Len(t, listPlays(t, b, u.ID, time.Time{}, time.Time{}), 1)
}

func testSubMillisecondDuplicate(t *testing.T, b *bundle) {
	u := NewUser(b.ctx, t, b.s, nil)
	tr := MakeTrack(nil)
	at := time.Date(2024, 5, 1, 12, 0, 0, 7_000_000, time.UTC)
	res := InsertPlays(b.ctx, t, b.s, u.ID, PlayOf(tr, at.Add(100*time.Microsecond), 1), PlayOf(tr, at.Add(900*time.Microsecond), 2))
	require.Equal(t, store.InsertPlaysResult{Inserted: 1, Duplicates: 1}, *res, "plays in the same millisecond are the same play")
	got := listPlays(t, b, u.ID, time.Time{}, time.Time{})
	require.Len(t, got, 1)
	requireTime(t, at, got[0].PlayedAt, "PlayedAt truncated to the millisecond")
	require.Equal(t, at.UnixNano(), got[0].PlayedAt.UnixNano(), "PlayedAt is truncated, not rounded")
}

func testReplayIsNewPlay(t *testing.T, b *bundle) {
	u := NewUser(b.ctx, t, b.s, nil)
	tr := MakeTrack(nil)
	InsertPlays(b.ctx, t, b.s, u.ID, PlayOf(tr, baseTime(), 1))
	res := InsertPlays(b.ctx, t, b.s, u.ID, PlayOf(tr, baseTime().Add(time.Millisecond), 1), PlayOf(tr, baseTime().Add(3*time.Minute), 1))
	require.Equal(t, store.InsertPlaysResult{Inserted: 2}, *res, "a replay at another time is a new play")
	require.Len(t, listPlays(t, b, u.ID, time.Time{}, time.Time{}), 3)
}

func testSameInstantDifferentTracks(t *testing.T, b *bundle) {
	u := NewUser(b.ctx, t, b.s, nil)
	t1, t2, t3 := MakeTrack(&TrackOpts{ID: "a"}), MakeTrack(&TrackOpts{ID: "b"}), MakeTrack(&TrackOpts{ID: "c"})
	sameSecond := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	res := InsertPlays(b.ctx, t, b.s, u.ID,
		PlayOf(t1, sameSecond, 1), PlayOf(t2, sameSecond, 2), // the same millisecond
		PlayOf(t3, sameSecond.Add(500*time.Millisecond), 3), // the same second
	)
	require.Equal(t, store.InsertPlaysResult{Inserted: 3}, *res, "different tracks at the same instant are different plays")
	got := listPlays(t, b, u.ID, time.Time{}, time.Time{})
	require.Len(t, got, 3)
	ids := []string{got[0].TrackID, got[1].TrackID}
	require.ElementsMatch(t, []string{"a", "b"}, ids)
	require.Equal(t, "c", got[2].TrackID)
}

func testSameInstantDifferentUsers(t *testing.T, b *bundle) {
	u1 := NewUser(b.ctx, t, b.s, nil)
	u2 := NewUser(b.ctx, t, b.s, nil)
	tr := MakeTrack(nil)
	InsertPlays(b.ctx, t, b.s, u1.ID, PlayOf(tr, baseTime(), 1))
	require.Equal(t, store.InsertPlaysResult{Inserted: 1}, *InsertPlays(b.ctx, t, b.s, u2.ID, PlayOf(tr, baseTime(), 1)),
		"the same play of another user is not a duplicate")
	require.Len(t, listPlays(t, b, u1.ID, time.Time{}, time.Time{}), 1)
	require.Len(t, listPlays(t, b, u2.ID, time.Time{}, time.Time{}), 1)
}

func testInsertUpsertsTracks(t *testing.T, b *bundle) {
	u := NewUser(b.ctx, t, b.s, nil)
	linked := MakeTrack(&TrackOpts{ID: "t1", Name: "Spotify name"})
	InsertPlays(b.ctx, t, b.s, u.ID, PlayOf(linked, baseTime(), 1))
	exported := MakeTrack(&TrackOpts{ID: "t1", Name: "export name", Unlinked: true})
	InsertPlays(b.ctx, t, b.s, u.ID, PlayOf(exported, baseTime().Add(time.Minute), 1))
	requireTrack(t, linked, getTrack(t, b, "t1"), "InsertPlays never lets an unlinked track overwrite a stored one")
	renamed := MakeTrack(&TrackOpts{ID: "t1", Name: "Spotify rename"})
	InsertPlays(b.ctx, t, b.s, u.ID, PlayOf(renamed, baseTime().Add(2*time.Minute), 1))
	requireTrack(t, renamed, getTrack(t, b, "t1"), "InsertPlays lets a linked track replace the stored one")
}

func testInsertErrors(t *testing.T, b *bundle) {
	ctx, s := b.ctx, b.s
	u := NewUser(ctx, t, s, nil)
	tr := MakeTrack(nil)
	good := PlayOf(tr, baseTime(), 1)
	bad := PlayOf(tr, baseTime().Add(time.Minute), 1)
	bad.Source = "radio"
	_, err := s.InsertPlays(ctx, &store.InsertPlaysParams{UserID: u.ID, Plays: []store.PlayInput{good, bad}})
	requireErrorIs(t, err, store.ErrInvalid, "InsertPlays with an unknown source")
	_, err = s.InsertPlays(ctx, &store.InsertPlaysParams{UserID: "ghost", Plays: []store.PlayInput{good}})
	requireErrorIs(t, err, store.ErrNotFound, "InsertPlays for an unknown user")
	require.Empty(t, listPlays(t, b, u.ID, time.Time{}, time.Time{}), "a failed InsertPlays writes nothing")
	_, err = s.GetTrack(ctx, tr.ID)
	requireErrorIs(t, err, store.ErrNotFound, "a failed InsertPlays writes no track either")
}

func testListPlaysRange(t *testing.T, b *bundle) {
	u := NewUser(b.ctx, t, b.s, nil)
	other := NewUser(b.ctx, t, b.s, nil)
	tr := MakeTrack(nil)
	var all []store.Play
	var in []store.PlayInput
	for i := range 6 {
		at := baseTime().Add(time.Duration(i) * time.Hour)
		in = append(in, PlayOf(tr, at, i))
		all = append(all, store.Play{UserID: u.ID, TrackID: tr.ID, PlayedAt: at, MSPlayed: i, Source: store.SourceHistory})
	}
	InsertPlays(b.ctx, t, b.s, u.ID, in...)
	InsertPlays(b.ctx, t, b.s, other.ID, in...)
	at := func(i int) time.Time { return baseTime().Add(time.Duration(i) * time.Hour) }
	cases := []struct {
		name     string
		from, to time.Time
		want     []store.Play
	}{
		{"Unbounded", time.Time{}, time.Time{}, all},
		{"FromInclusive", ms(at(2)), time.Time{}, all[2:]},
		{"ToExclusive", time.Time{}, ms(at(2)), all[:2]},
		{"Both", ms(at(1)), ms(at(4)), all[1:4]},
		{"Empty", ms(at(2)), ms(at(2)), nil},
		{"JustAfter", ms(at(2)).Add(time.Millisecond), ms(at(4)).Add(time.Millisecond), all[3:5]},
	}
	for _, tc := range cases {
		requirePlays(t, tc.want, listPlays(t, b, u.ID, tc.from, tc.to), "ListPlays "+tc.name)
	}
}

func testLatestPlay(t *testing.T, b *bundle) {
	ctx, s := b.ctx, b.s
	u := NewUser(ctx, t, s, nil)
	_, err := s.LatestPlay(ctx, u.ID, "")
	requireErrorIs(t, err, store.ErrNotFound, "LatestPlay without plays")
	tr := MakeTrack(nil)
	hist := PlayOf(tr, baseTime().Add(2*time.Hour), 10)
	rt := PlayOf(tr, baseTime().Add(time.Hour), 20)
	rt.Source = store.SourceRealtime
	old := PlayOf(tr, baseTime(), 30)
	InsertPlays(ctx, t, s, u.ID, old, hist, rt)
	other := NewUser(ctx, t, s, nil)
	InsertPlays(ctx, t, s, other.ID, PlayOf(tr, baseTime().Add(5*time.Hour), 1))

	cases := []struct {
		source store.Source
		want   *store.PlayInput
	}{
		{"", &hist},
		{store.SourceHistory, &hist},
		{store.SourceRealtime, &rt},
		{store.SourceImport, nil},
	}
	for _, tc := range cases {
		got, err := s.LatestPlay(ctx, u.ID, tc.source)
		if tc.want == nil {
			requireErrorIs(t, err, store.ErrNotFound, "LatestPlay(%q) without plays from that source", tc.source)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, u.ID, got.UserID)
		require.Equal(t, tc.want.Track.ID, got.TrackID)
		require.Equal(t, tc.want.Source, got.Source, "LatestPlay(%q)", tc.source)
		require.Equal(t, tc.want.MSPlayed, got.MSPlayed, "LatestPlay(%q)", tc.source)
		requireTime(t, tc.want.PlayedAt, got.PlayedAt, "LatestPlay")
	}
}
