package monitor

import (
	"bytes"
	"context"
	"github.com/spotifyhist/spotifyhist/store/postgres/postgrestest"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/dedupe/dedupetest"
	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/store"
)

// importBackend opens a fresh, empty store of one backend.
type importBackend struct {
	name string
	open func(t testing.TB) store.Store
}

// importBackends are SQLite always and PostgreSQL when
// SPOTIFYHIST_TEST_DATABASE_URL is set (a schema per store, dropped after).
func importBackends(t testing.TB) []importBackend {
	bs := []importBackend{{name: "SQLite", open: func(t testing.TB) store.Store { return openTestSQLite(t) }}}
	if url := postgrestest.OptionalURL(t); url != "" {
		bs = append(bs, importBackend{name: "PostgreSQL", open: func(t testing.TB) store.Store { return openTestPostgres(t, url) }})
	}
	return bs
}

// forEachImportBackend runs fn as a parallel subtest per backend.
func forEachImportBackend(t *testing.T, fn func(t *testing.T, open func(t testing.TB) store.Store)) {
	t.Helper()
	for _, b := range importBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, b.open)
		})
	}
}

// importNow is the importer's clock in tests: after every corpus.
var importNow = time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)

func newTestImporter(t testing.TB, st store.Store, cfg ImporterConfig) *Importer {
	t.Helper()
	cfg.Store = st
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return importNow }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	im, err := NewImporter(cfg)
	require.NoError(t, err)
	return im
}

// importCorpus generates a corpus whose local files carry the ids the
// importer gives them.
func importCorpus(streams int, seed uint64) *dedupetest.Corpus {
	return dedupetest.Generate(dedupetest.Config{Seed: seed, Streams: streams, LocalTrackID: spotifyhist.LocalTrackID, RowsPerFile: max(streams/3, 100)})
}

// zipSource writes the corpus's extended history as a ZIP.
func zipSource(t testing.TB, c *dedupetest.Corpus) spotifyhist.ExportSource {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, c.WriteExtendedZip(&buf))
	return bytesSource(buf.Bytes(), "my_spotify_data.zip")
}

func bytesSource(b []byte, name string) spotifyhist.ExportSource {
	return spotifyhist.ExportSource{ReaderAt: bytes.NewReader(b), Size: int64(len(b)), Name: name}
}

// addImportUser creates a user.
func addImportUser(t testing.TB, st store.Store, id string) {
	t.Helper()
	_, err := st.UpsertUser(context.Background(), &store.UpsertUserParams{ID: id, DisplayName: id, Now: importNow})
	require.NoError(t, err)
}

// prefill stores what the capture holds: the plays of the earlier import
// under an import record, and the monitored plays.
func prefill(t testing.TB, st store.Store, userID string, cp *dedupetest.Capture) {
	t.Helper()
	ctx := context.Background()
	var prior, live []store.PlayInput
	for _, r := range cp.Rows {
		in := store.PlayInput{Track: r.Track, PlayedAt: r.PlayedAt, MSPlayed: r.MSPlayed, Source: r.Source}
		if r.ImportID != "" {
			prior = append(prior, in)
		} else {
			live = append(live, in)
		}
	}
	if len(prior) > 0 {
		require.NoError(t, st.CreateImport(ctx, &store.Import{ID: dedupetest.PriorImportID, UserID: userID, Digest: "prior",
			State: store.ImportDone, Excluded: map[string]int{}, CreatedAt: importNow, UpdatedAt: importNow}))
	}
	for chunk := range slices.Chunk(prior, 5000) {
		res, err := st.InsertPlays(ctx, &store.InsertPlaysParams{UserID: userID, Plays: chunk,
			Import: &store.ImportProgress{ImportID: dedupetest.PriorImportID, Processed: len(chunk)}})
		require.NoError(t, err)
		require.Equal(t, len(chunk), res.Inserted)
	}
	for chunk := range slices.Chunk(live, 5000) {
		res, err := st.InsertPlays(ctx, &store.InsertPlaysParams{UserID: userID, Plays: chunk})
		require.NoError(t, err)
		require.Equal(t, len(chunk), res.Inserted)
	}
}

// allPlays lists every play of the user.
func allPlays(t testing.TB, st store.Store, userID string) []store.PlayWithTrack {
	t.Helper()
	plays, err := st.ListPlays(context.Background(), &store.ListPlaysParams{UserID: userID})
	require.NoError(t, err)
	return plays
}

// importedKeys maps the plays an import stored back to corpus entry keys.
func importedKeys(t testing.TB, c *dedupetest.Corpus, plays []store.PlayWithTrack, importID string) []int {
	t.Helper()
	var keys []int
	for _, p := range plays {
		if p.ImportID != importID {
			continue
		}
		k, ok := c.KeyOf(p.TrackID, p.PlayedAt)
		require.True(t, ok, "imported play %s %s is no row of the export", p.PlayedAt, p.TrackID)
		keys = append(keys, k)
	}
	return keys
}

// requireAnalysisSums checks the invariants of an analysis.
func requireAnalysisSums(t testing.TB, a *Analysis) {
	t.Helper()
	sum := a.ToImport
	for _, n := range a.Excluded {
		sum += n
	}
	require.Equal(t, a.Total, sum, "to_import + sum(excluded) == total")
	years := 0
	for _, n := range a.Years {
		years += n
	}
	require.Equal(t, a.ToImport, years, "sum(years) == to_import")
}

// requireResultSums checks the invariants of an import result.
func requireResultSums(t testing.TB, r *ImportResult) {
	t.Helper()
	sum := r.Imported
	for _, n := range r.Excluded {
		sum += n
	}
	require.Equal(t, r.Total, sum, "imported + sum(excluded) == total")
}
