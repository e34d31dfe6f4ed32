package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/dedupe/dedupetest"
	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/store"
)

// TestImportAccountData imports the account data of the last year (names
// only, minute precision) into a store holding what monitoring captured.
func TestImportAccountData(t *testing.T) {
	t.Parallel()
	c := dedupetest.Generate(dedupetest.Config{Seed: 13, Streams: 10_000 / importScale, AccountData: true, MonitorFrom: 0.6})
	var buf bytes.Buffer
	require.NoError(t, c.WriteAccountZip(&buf))
	src := bytesSource(buf.Bytes(), "my_spotify_data.zip")
	forEachImportBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		ctx := context.Background()
		st := open(t)
		user := c.Config.UserID
		addImportUser(t, st, user)
		cp := c.Capture(store.ModeHistory)
		prefill(t, st, user, cp)
		res, err := newTestImporter(t, st, ImporterConfig{}).Execute(ctx, user, src, nil, nil)
		require.NoError(t, err)
		requireResultSums(t, res)
		require.Equal(t, len(c.AccountRows), res.Total)

		// Map the imported plays back to account rows by artist, name, minute
		// and length.
		type key struct {
			artist, name string
			minute       int64
			ms           int
		}
		rows := map[key][]int{}
		for _, e := range c.AccountEntries {
			if !e.Excluded {
				k := key{store.NormalizeName(e.Artists[0]), store.NormalizeName(e.TrackName), e.PlayedAt.Unix() / 60, e.MSPlayed}
				rows[k] = append(rows[k], e.Key)
			}
		}
		var keys []int
		resolved := 0
		for _, p := range allPlays(t, st, user) {
			if p.ImportID != res.ImportID {
				continue
			}
			if !store.IsProvisionalID(p.TrackID) {
				resolved++
			}
			k := key{store.NormalizeName(p.Track.Artists[0].Name), store.NormalizeName(p.Track.Name), p.PlayedAt.Unix() / 60, p.MSPlayed}
			require.NotEmpty(t, rows[k], "imported play %v is no account row", k)
			keys, rows[k] = append(keys, rows[k][0]), rows[k][1:]
		}
		require.Positive(t, resolved, "plays of tracks the instance knows join those tracks")
		q := c.EvaluateAccount(cp, keys)
		t.Logf("%v", q)
		require.GreaterOrEqual(t, q.MissedImportedRate(), 0.99)
		require.LessOrEqual(t, q.ReplaysMergedRate(), 0.005)
		require.Zero(t, q.Doubled)
		require.Zero(t, q.Lost)

		again, err := newTestImporter(t, st, ImporterConfig{}).Execute(ctx, user, src, nil, nil)
		require.NoError(t, err)
		require.True(t, again.AlreadyImported, "plays moved apart within their minute are recognised again")
	})
}

// TestImportJSONL imports the JSON Lines another instance exported: each
// play keeps its source, and importing it again adds nothing.
func TestImportJSONL(t *testing.T) {
	t.Parallel()
	base := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	var lines []string
	sources := []store.Source{store.SourceHistory, store.SourceRealtime, store.SourceImport}
	for i := range 30 {
		at := base.Add(time.Duration(i)*4*time.Minute + 123*time.Millisecond)
		lines = append(lines, fmt.Sprintf(`{"played_at":%q,"track_id":"jsonl%017d","track_name":"T %d","artists":["A %d","B"],"album":"Al","ms_played":%d,"source":%q}`,
			at.Format("2006-01-02T15:04:05.000Z"), i%7, i%7, i%7, 200_000, sources[i%3]))
	}
	data := []byte(strings.Join(lines, "\n") + "\n")
	forEachImportBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		ctx := context.Background()
		st := open(t)
		addImportUser(t, st, "u")
		im := newTestImporter(t, st, ImporterConfig{})
		src := bytesSource(data, "plays.jsonl")
		res, err := im.Execute(ctx, "u", src, nil, nil)
		require.NoError(t, err)
		require.Equal(t, 30, res.Imported)
		plays := allPlays(t, st, "u")
		require.Len(t, plays, 30)
		for i, p := range plays {
			require.Equal(t, sources[i%3], p.Source)
			require.Equal(t, base.Add(time.Duration(i)*4*time.Minute+123*time.Millisecond), p.PlayedAt.UTC())
			require.Equal(t, []string{fmt.Sprintf("A %d", i%7), "B"}, []string{p.Track.Artists[0].Name, p.Track.Artists[1].Name})
		}
		again, err := im.Execute(ctx, "u", src, nil, nil)
		require.NoError(t, err)
		require.True(t, again.AlreadyImported)
		require.Len(t, allPlays(t, st, "u"), 30)
	})
}

// TestAnalysisJSON checks the analyze --json contract.
func TestAnalysisJSON(t *testing.T) {
	t.Parallel()
	c := importCorpus(2500, 21)
	src := zipSource(t, c)
	forEachImportBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		ctx := context.Background()
		st := open(t)
		addImportUser(t, st, "u")
		im := newTestImporter(t, st, ImporterConfig{})
		a, err := im.Analyze(ctx, "u", src, nil)
		require.NoError(t, err)
		b, err := json.Marshal(a)
		require.NoError(t, err)

		dec := json.NewDecoder(bytes.NewReader(b))
		_, err = dec.Token()
		require.NoError(t, err)
		var keys []string
		for dec.More() {
			tok, err := dec.Token()
			require.NoError(t, err)
			keys = append(keys, tok.(string))
			var skip json.RawMessage
			require.NoError(t, dec.Decode(&skip))
		}
		require.Equal(t, []string{"total", "to_import", "excluded", "years"}, keys[:4])

		var out struct {
			Total    int            `json:"total"`
			ToImport int            `json:"to_import"`
			Excluded map[string]int `json:"excluded"`
			Years    map[string]int `json:"years"`
			Examples []ImportExample
		}
		require.NoError(t, json.Unmarshal(b, &out))
		require.Equal(t, len(c.Rows), out.Total)
		sum := out.ToImport
		for _, n := range out.Excluded {
			sum += n
		}
		require.Equal(t, out.Total, sum)
		years := 0
		for y, n := range out.Years {
			require.Len(t, y, 4)
			years += n
		}
		require.Equal(t, out.ToImport, years)
		for _, r := range []string{"too_short", "incognito", "episode", "video", "no_track_uri", "malformed", "skipped", "duplicate_existing", "duplicate_in_file"} {
			require.Contains(t, out.Excluded, r)
		}
		require.Positive(t, out.Excluded["too_short"])
		require.Positive(t, out.Excluded["episode"])
		require.Positive(t, out.Excluded["duplicate_in_file"])
		require.NotEmpty(t, out.Examples)
		for _, ex := range out.Examples {
			require.Equal(t, "duplicate_in_file", ex.Reason, "nothing is stored yet")
			require.NotNil(t, ex.MatchedEntry)
		}
	})
}

// TestImportDirectory imports an unpacked export from a directory: its digest
// covers what was read, whatever the options.
func TestImportDirectory(t *testing.T) {
	t.Parallel()
	c := importCorpus(1500/importScale, 29)
	dir := t.TempDir()
	for _, f := range c.ExtendedFiles() {
		path := filepath.Join(dir, filepath.FromSlash(f.Name))
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, f.Data, 0o644))
	}
	src := spotifyhist.ExportSource{Path: dir}
	st := openTestSQLite(t)
	addImportUser(t, st, "u")
	im := newTestImporter(t, st, ImporterConfig{})
	ctx := context.Background()
	a, err := im.Analyze(ctx, "u", src, nil)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(a.Digest, "tree-"))
	b, err := im.Analyze(ctx, "u", src, &ImportOptions{MinPlay: -1, ExcludeSkipped: true})
	require.NoError(t, err)
	require.Equal(t, a.Digest, b.Digest)
	res, err := im.Execute(ctx, "u", src, nil, nil)
	require.NoError(t, err)
	require.Equal(t, a.ToImport, res.Imported)
	again, err := im.Execute(ctx, "u", src, nil, nil)
	require.NoError(t, err)
	require.True(t, again.AlreadyImported)
}
