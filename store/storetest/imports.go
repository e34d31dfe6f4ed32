package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/store"
)

func runImports(t *testing.T, newStore func(t *testing.T) store.Store) {
	runCases(t, newStore, []testCase{
		{"CreateAndGet", testCreateAndGetImport},
		{"CreateConflict", testCreateImportConflict},
		{"CreateForUnknownUser", testCreateImportUnknownUser},
		{"GetNotFound", testGetImportNotFound},
		{"FindNewestByDigest", testFindImport},
		{"ListNewestFirst", testListImports},
		{"UpdateKeepsCounters", testUpdateImport},
		{"ProgressThroughInsertPlays", testImportProgress},
		{"ProgressUnknownImport", testImportProgressUnknown},
	})
}

func requireImport(t testing.TB, want, got *store.Import, what string) {
	t.Helper()
	require.NotNil(t, got, "%s: nil import", what)
	require.Equal(t, want.ID, got.ID, "%s: ID", what)
	require.Equal(t, want.UserID, got.UserID, "%s: UserID", what)
	require.Equal(t, want.Digest, got.Digest, "%s: Digest", what)
	require.Equal(t, want.FileName, got.FileName, "%s: FileName", what)
	require.Equal(t, want.State, got.State, "%s: State", what)
	require.Equal(t, want.Total, got.Total, "%s: Total", what)
	require.Equal(t, want.Processed, got.Processed, "%s: Processed", what)
	require.Equal(t, want.Imported, got.Imported, "%s: Imported", what)
	require.Equal(t, want.Duplicates, got.Duplicates, "%s: Duplicates", what)
	require.Equal(t, nonEmpty(want.Excluded), nonEmpty(got.Excluded), "%s: Excluded", what)
	require.Equal(t, want.Error, got.Error, "%s: Error", what)
	requireTime(t, want.CreatedAt, got.CreatedAt, what+": CreatedAt")
	requireTime(t, want.UpdatedAt, got.UpdatedAt, what+": UpdatedAt")
}

func nonEmpty(m map[string]int) map[string]int {
	if len(m) == 0 {
		return nil
	}
	return m
}

func newImport(t testing.TB, b *bundle, id, userID, digest string, created time.Time) *store.Import {
	t.Helper()
	imp := &store.Import{ID: id, UserID: userID, Digest: digest, FileName: "Streaming_History_Audio_2024.json",
		State: store.ImportPending, Total: 100, CreatedAt: created, UpdatedAt: created}
	require.NoError(t, b.s.CreateImport(b.ctx, imp), "CreateImport(%q)", id)
	return imp
}

func getImport(t testing.TB, b *bundle, id string) *store.Import {
	t.Helper()
	got, err := b.s.GetImport(b.ctx, id)
	require.NoError(t, err, "GetImport(%q)", id)
	return got
}

func testCreateAndGetImport(t *testing.T, b *bundle) {
	u := NewUser(b.ctx, t, b.s, nil)
	imp := &store.Import{
		ID: "imp-1", UserID: u.ID, Digest: "ab12", FileName: "my_spotify_data.zip", State: store.ImportRunning,
		Total: 131_000, Processed: 5, Imported: 3, Duplicates: 1, Excluded: map[string]int{"short": 1, "podcast": 0, "über": 2},
		Error: "", CreatedAt: baseTime(), UpdatedAt: baseTime().Add(time.Second),
	}
	require.NoError(t, b.s.CreateImport(b.ctx, imp))
	requireImport(t, imp, getImport(t, b, "imp-1"), "GetImport after CreateImport")
}

func testCreateImportConflict(t *testing.T, b *bundle) {
	u := NewUser(b.ctx, t, b.s, nil)
	first := newImport(t, b, "imp-1", u.ID, "d1", baseTime())
	err := b.s.CreateImport(b.ctx, &store.Import{ID: "imp-1", UserID: u.ID, Digest: "d2", State: store.ImportPending, CreatedAt: baseTime(), UpdatedAt: baseTime()})
	requireErrorIs(t, err, store.ErrConflict, "CreateImport with an existing id")
	requireImport(t, first, getImport(t, b, "imp-1"), "a conflicting CreateImport changes nothing")
}

func testCreateImportUnknownUser(t *testing.T, b *bundle) {
	err := b.s.CreateImport(b.ctx, &store.Import{ID: "imp-1", UserID: "ghost", Digest: "d", State: store.ImportPending, CreatedAt: baseTime(), UpdatedAt: baseTime()})
	requireErrorIs(t, err, store.ErrNotFound, "CreateImport for an unknown user")
}

func testGetImportNotFound(t *testing.T, b *bundle) {
	_, err := b.s.GetImport(b.ctx, "ghost")
	requireErrorIs(t, err, store.ErrNotFound, "GetImport of an unknown id")
}

func testFindImport(t *testing.T, b *bundle) {
	u := NewUser(b.ctx, t, b.s, nil)
	other := NewUser(b.ctx, t, b.s, nil)
	newImport(t, b, "old", u.ID, "same", baseTime())
	newest := newImport(t, b, "new", u.ID, "same", baseTime().Add(time.Hour))
	newImport(t, b, "mid", u.ID, "same", baseTime().Add(time.Minute))
	newImport(t, b, "else", u.ID, "different", baseTime().Add(2*time.Hour))
	newImport(t, b, "theirs", other.ID, "same", baseTime().Add(3*time.Hour))
	got, err := b.s.FindImport(b.ctx, u.ID, "same")
	require.NoError(t, err)
	requireImport(t, newest, got, "FindImport returns the user's newest import with that digest")
	_, err = b.s.FindImport(b.ctx, u.ID, "unknown")
	requireErrorIs(t, err, store.ErrNotFound, "FindImport of an unknown digest")
	_, err = b.s.FindImport(b.ctx, NewUser(b.ctx, t, b.s, nil).ID, "same")
	requireErrorIs(t, err, store.ErrNotFound, "FindImport never returns another user's import")
}

func testListImports(t *testing.T, b *bundle) {
	u := NewUser(b.ctx, t, b.s, nil)
	other := NewUser(b.ctx, t, b.s, nil)
	list, err := b.s.ListImports(b.ctx, u.ID)
	require.NoError(t, err)
	require.Empty(t, list)
	newImport(t, b, "b", u.ID, "1", baseTime().Add(time.Minute))
	newImport(t, b, "a", u.ID, "2", baseTime().Add(time.Hour))
	newImport(t, b, "c", u.ID, "3", baseTime())
	newImport(t, b, "x", other.ID, "1", baseTime().Add(2*time.Hour))
	list, err = b.s.ListImports(b.ctx, u.ID)
	require.NoError(t, err)
	var ids []string
	for _, imp := range list {
		ids = append(ids, imp.ID)
	}
	require.Equal(t, []string{"a", "b", "c"}, ids, "ListImports returns the user's imports newest first")
}

func testUpdateImport(t *testing.T, b *bundle) {
	u := NewUser(b.ctx, t, b.s, nil)
	imp := newImport(t, b, "imp", u.ID, "d", baseTime())
	tr := MakeTrack(nil)
	_, err := b.s.InsertPlays(b.ctx, &store.InsertPlaysParams{UserID: u.ID, Plays: []store.PlayInput{PlayOf(tr, baseTime(), 1)},
		Import: &store.ImportProgress{ImportID: imp.ID, Processed: 2, Excluded: map[string]int{"short": 1}}})
	require.NoError(t, err)

	t1 := baseTime().Add(time.Hour)
	require.NoError(t, b.s.UpdateImport(b.ctx, &store.UpdateImportParams{ID: imp.ID, State: store.ImportFailed, Total: 250, Error: "disk full", Now: t1}))
	want := *imp
	want.State, want.Total, want.Error, want.UpdatedAt = store.ImportFailed, 250, "disk full", t1
	want.Processed, want.Imported, want.Excluded = 2, 1, map[string]int{"short": 1}
	requireImport(t, &want, getImport(t, b, imp.ID), "UpdateImport sets State, Total, Error and UpdatedAt and keeps the counters")

	err = b.s.UpdateImport(b.ctx, &store.UpdateImportParams{ID: "ghost", State: store.ImportDone, Now: t1})
	requireErrorIs(t, err, store.ErrNotFound, "UpdateImport of an unknown id")
}

func testImportProgress(t *testing.T, b *bundle) {
	ctx, s := b.ctx, b.s
	u := NewUser(ctx, t, s, nil)
	imp := newImport(t, b, "imp", u.ID, "d", baseTime())
	tr := MakeTrack(&TrackOpts{Unlinked: true})
	p := func(i int) store.PlayInput {
		in := PlayOf(tr, baseTime().Add(time.Duration(i)*time.Minute), 1000)
		in.Source = store.SourceImport
		return in
	}
	InsertPlays(ctx, t, s, u.ID, p(0)) // monitored before the import

	res, err := s.InsertPlays(ctx, &store.InsertPlaysParams{UserID: u.ID, Plays: []store.PlayInput{p(0), p(1), p(2)},
		Import: &store.ImportProgress{ImportID: imp.ID, Processed: 5, Excluded: map[string]int{"short": 1, "podcast": 1}}})
	require.NoError(t, err)
	require.Equal(t, store.InsertPlaysResult{Inserted: 2, Duplicates: 1}, *res)
	res, err = s.InsertPlays(ctx, &store.InsertPlaysParams{UserID: u.ID, Plays: []store.PlayInput{p(2), p(3)},
		Import: &store.ImportProgress{ImportID: imp.ID, Processed: 3, Excluded: map[string]int{"short": 1}}})
	require.NoError(t, err)
	require.Equal(t, store.InsertPlaysResult{Inserted: 1, Duplicates: 1}, *res)
	res, err = s.InsertPlays(ctx, &store.InsertPlaysParams{UserID: u.ID, Import: &store.ImportProgress{ImportID: imp.ID, Processed: 4, Excluded: map[string]int{"unknown": 4}}})
	require.NoError(t, err, "a batch of only excluded entries advances progress")
	require.Equal(t, store.InsertPlaysResult{}, *res)

	want := *imp
	want.Processed, want.Imported, want.Duplicates = 12, 3, 2
	want.Excluded = map[string]int{"short": 2, "podcast": 1, "unknown": 4}
	requireImport(t, &want, getImport(t, b, imp.ID), "InsertPlays advances the import's counters")

	plays := listPlays(t, b, u.ID, time.Time{}, time.Time{})
	require.Len(t, plays, 4)
	require.Empty(t, plays[0].ImportID, "a play stored before the import keeps no import id")
	for _, pl := range plays[1:] {
		require.Equal(t, imp.ID, pl.ImportID, "plays added by an import carry its id")
		require.Equal(t, store.SourceImport, pl.Source)
	}
}

func testImportProgressUnknown(t *testing.T, b *bundle) {
	u := NewUser(b.ctx, t, b.s, nil)
	_, err := b.s.InsertPlays(b.ctx, &store.InsertPlaysParams{UserID: u.ID, Plays: []store.PlayInput{PlayOf(MakeTrack(nil), baseTime(), 1)},
		Import: &store.ImportProgress{ImportID: "ghost", Processed: 1}})
	requireErrorIs(t, err, store.ErrNotFound, "InsertPlays with progress for an unknown import")
	require.Empty(t, listPlays(t, b, u.ID, time.Time{}, time.Time{}), "plays are never written without their progress")
}
