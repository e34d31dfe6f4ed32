package monitor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/dedupe/dedupetest"
	"github.com/spotifyhist/spotifyhist/store"
)

// TestImportCorpusEndToEnd imports a synthetic export into a store holding
// what monitoring captured, and checks the result against the truth.
func TestImportCorpusEndToEnd(t *testing.T) {
	t.Parallel()
	c := importCorpus(6000/importScale, 7)
	src := zipSource(t, c)
	forEachImportBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		for _, mode := range []store.Mode{store.ModeHistory, store.ModeRealtime} {
			t.Run(string(mode), func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				st := open(t)
				user := c.Config.UserID
				addImportUser(t, st, user)
				cp := c.Capture(mode)
				prefill(t, st, user, cp)
				im := newTestImporter(t, st, ImporterConfig{BatchSize: 1000})

				a, err := im.Analyze(ctx, user, src, nil)
				require.NoError(t, err)
				requireAnalysisSums(t, a)
				require.Equal(t, len(c.Rows), a.Total)

				res, err := im.Execute(ctx, user, src, nil, nil)
				require.NoError(t, err)
				requireResultSums(t, res)
				require.Equal(t, a.ToImport, res.Imported, "the import writes what the analysis announced")
				require.Equal(t, string(store.ImportDone), res.State)

				plays := allPlays(t, st, user)
				require.Len(t, plays, len(cp.Rows)+res.Imported)
				q := c.Evaluate(cp, importedKeys(t, c, plays, res.ImportID))
				t.Logf("%v", q)
				require.GreaterOrEqual(t, q.MissedImportedRate(), 0.99)
				require.LessOrEqual(t, q.ReplaysMergedRate(), 0.005)
				require.Zero(t, q.Spurious)
				require.Zero(t, q.Lost)
				requireOnlyShortQuirkDoubles(t, c, q)
			})
		}
	})
}

// requireOnlyShortQuirkDoubles checks that every play stored twice is one of
// the few whose duplicate row (Spotify's ~1-minute quirk) overlaps its
// original too little to be recognised.
func requireOnlyShortQuirkDoubles(t testing.TB, c *dedupetest.Corpus, q dedupetest.Quality) {
	t.Helper()
	short := c.ShortQuirkPlays()
	for _, p := range q.DoubledPlays {
		require.Contains(t, short, p, "play %d stored twice", p)
	}
}

// TestImportTwiceAddsNothing: a second import of the same file adds no play.
func TestImportTwiceAddsNothing(t *testing.T) {
	t.Parallel()
	c := importCorpus(3000/importScale, 11)
	src := zipSource(t, c)
	forEachImportBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		ctx := context.Background()
		st := open(t)
		user := c.Config.UserID
		addImportUser(t, st, user)
		prefill(t, st, user, c.Capture(store.ModeHistory))
		im := newTestImporter(t, st, ImporterConfig{BatchSize: 700})

		first, err := im.Execute(ctx, user, src, nil, nil)
		require.NoError(t, err)
		require.Positive(t, first.Imported)
		before := allPlays(t, st, user)

		second, err := im.Execute(ctx, user, src, nil, nil)
		require.NoError(t, err)
		require.True(t, second.AlreadyImported)
		require.Zero(t, second.Imported)
		require.Equal(t, first.ImportID, second.ImportID)
		require.Equal(t, first.Total, second.Total)
		requireResultSums(t, second)
		require.Equal(t, before, allPlays(t, st, user))

		a, err := im.Analyze(ctx, user, src, nil)
		require.NoError(t, err)
		require.Zero(t, a.ToImport, "everything is stored now")
		require.NotNil(t, a.PreviousImport)
		require.Equal(t, first.ImportID, a.PreviousImport.ID)
		require.Equal(t, string(store.ImportDone), a.PreviousImport.State)

		imports, err := st.ListImports(ctx, user)
		require.NoError(t, err)
		require.Len(t, imports, 2, "the earlier import and this one")
	})
}

// TestImportNewUser: the first import of a user with no history works; the
// user must exist.
func TestImportNewUser(t *testing.T) {
	t.Parallel()
	c := importCorpus(1500/importScale, 3)
	src := zipSource(t, c)
	forEachImportBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		ctx := context.Background()
		st := open(t)
		im := newTestImporter(t, st, ImporterConfig{})

		a, err := im.Analyze(ctx, "newcomer", src, nil)
		require.NoError(t, err, "analysing for an unknown user finds nothing stored")
		requireAnalysisSums(t, a)
		require.Zero(t, a.Excluded["duplicate_existing"])

		_, err = im.Execute(ctx, "newcomer", src, nil, nil)
		require.ErrorIs(t, err, store.ErrNotFound)
		imports, err := st.ListImports(ctx, "newcomer")
		require.NoError(t, err)
		require.Empty(t, imports)

		addImportUser(t, st, "newcomer")
		res, err := im.Execute(ctx, "newcomer", src, nil, nil)
		require.NoError(t, err)
		require.Equal(t, a.ToImport, res.Imported)
		require.Len(t, allPlays(t, st, "newcomer"), res.Imported)
		requireResultSums(t, res)
	})
}
