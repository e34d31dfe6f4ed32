package dedupetest_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/dedupe/dedupetest"
	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/store"
)

func TestGenerateIsDeterministic(t *testing.T) {
	t.Parallel()
	cfg := dedupetest.Config{Seed: 3, Streams: 2000, AccountData: true}
	a, b := dedupetest.Generate(cfg), dedupetest.Generate(cfg)
	require.Equal(t, a.Plays, b.Plays)
	require.Equal(t, a.Rows, b.Rows)
	require.Equal(t, a.Entries, b.Entries)
	require.Equal(t, a.AccountRows, b.AccountRows)
	for _, m := range []store.Mode{store.ModeHistory, store.ModeRealtime, store.ModeHybrid} {
		require.Equal(t, a.Capture(m), b.Capture(m))
	}
	cfg.Seed = 4
	require.NotEqual(t, a.Rows, dedupetest.Generate(cfg).Rows)
	require.Nil(t, a.Capture(store.ModeAdaptive))
}

// TestCorpusHasEveryScenario checks that a corpus of ordinary size holds each
// situation duplicate detection must handle.
func TestCorpusHasEveryScenario(t *testing.T) {
	t.Parallel()
	c := dedupetest.Generate(dedupetest.Config{Seed: 1, Streams: 20_000})
	count := map[string]int{}
	recIDs := map[int]map[string]bool{}
	for i, p := range c.Plays {
		r := c.Recordings[max(p.Recording, 0)]
		switch {
		case p.Episode:
			count["episode"]++
			continue
		case p.Incognito:
			count["incognito"]++
		case p.Offline:
			count["offline"]++
		}
		if p.Replay {
			count["replay"]++
		}
		if p.Collision {
			count["collision"]++
		}
		if p.Pause > 0 {
			count["pause"]++
		}
		if p.Unavailable {
			count["unavailable"]++
		}
		if r.Local {
			count["local"]++
		}
		if p.Skip && p.IsPlay {
			count["long skip"]++
		}
		if p.MSPlayed < int(dedupetest.MinPlay.Milliseconds()) {
			count["too short"]++
		}
		if p.VisibleEnd.Before(p.End) {
			count["crossfade"]++
		}
		if r.OldID != "" {
			if recIDs[p.Recording] == nil {
				recIDs[p.Recording] = map[string]bool{}
			}
			recIDs[p.Recording][p.TrackID] = true
		}
		if i > 0 && c.Plays[i-1].End.Truncate(time.Second).Equal(p.End.Truncate(time.Second)) && c.Plays[i-1].Recording != p.Recording {
			count["same second"]++
		}
	}
	for _, ids := range recIDs {
		if len(ids) == 2 {
			count["relinked, both ids played"]++
		}
	}
	for _, r := range c.Rows {
		if r.Duplicate {
			count["duplicate row"]++
		}
		if r.Skipped {
			count["skipped flag"]++
		}
	}
	for _, k := range []string{"episode", "incognito", "offline", "replay", "collision", "pause", "unavailable", "local",
		"long skip", "too short", "crossfade", "relinked, both ids played", "same second", "duplicate row", "skipped flag"} {
		require.Positive(t, count[k], "no %s in the corpus", k)
	}
	t.Logf("%v", count)

	hist := c.Capture(store.ModeHistory)
	starts, ends := 0, 0
	for i, row := range hist.Rows {
		p := c.Plays[hist.Truth[i]]
		require.NotEqual(t, store.SourceRealtime, row.Source)
		if row.Source != store.SourceHistory {
			continue
		}
		require.Zero(t, row.MSPlayed, "recently-played has no ms_played")
		require.False(t, row.Track.IsLocal, "recently-played has no local files")
		switch {
		case absDur(row.PlayedAt.Sub(p.End)) <= 2*time.Second:
			ends++
		case absDur(row.PlayedAt.Sub(p.Start)) <= 2*time.Second:
			starts++
		default:
			t.Fatalf("history row %v is neither the start nor the end of play %d", row.PlayedAt, hist.Truth[i])
		}
	}
	require.Positive(t, starts, "Spotify reports starts on some days")
	require.Greater(t, ends, 10*starts)
	require.NotEmpty(t, hist.Outages)

	rt := c.Capture(store.ModeRealtime)
	locals := 0
	for i, row := range rt.Rows {
		if row.Source != store.SourceRealtime {
			continue
		}
		p := c.Plays[rt.Truth[i]]
		require.LessOrEqual(t, row.MSPlayed, p.MSPlayed, "a monitor sees no more than was played")
		require.GreaterOrEqual(t, row.MSPlayed, int(dedupetest.MinPlay.Milliseconds()))
		start := row.PlayedAt.Add(-time.Duration(row.MSPlayed) * time.Millisecond)
		require.False(t, start.Before(p.Start.Add(-time.Millisecond)), "the start is seen at or after the real one")
		require.False(t, p.Offline || p.Incognito)
		if row.Track.IsLocal {
			locals++
		}
	}
	require.Positive(t, locals)
	hyb := c.Capture(store.ModeHybrid)
	require.Greater(t, len(hyb.Rows), len(hist.Rows))
	require.Less(t, len(hyb.Missed), len(hist.Missed))
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// TestExportReadsBack reads the generated ZIP with spotifyhist's export
// reader and checks it sees the rows and entries the corpus describes.
func TestExportReadsBack(t *testing.T) {
	t.Parallel()
	c := dedupetest.Generate(dedupetest.Config{Seed: 2, Streams: 5000, RowsPerFile: 2000, AccountData: true, LocalTrackID: spotifyhist.LocalTrackID})
	var buf bytes.Buffer
	require.NoError(t, c.WriteExtendedZip(&buf))

	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	require.NoError(t, err)
	files := c.ExtendedFiles()
	require.Len(t, zr.File, len(files)+1, "the JSON files and the ReadMe")
	name := regexp.MustCompile(`^Spotify Extended Streaming History/Streaming_History_Audio_\d{4}(-\d{4})?_\d+\.json$`)
	for i, f := range files {
		require.Regexp(t, name, f.Name)
		rc, err := zr.File[i].Open()
		require.NoError(t, err)
		data, err := io.ReadAll(rc)
		require.NoError(t, err)
		require.Equal(t, f.Data, data, "ZIP and ExtendedFiles agree")
		var rows []map[string]any
		require.NoError(t, json.Unmarshal(data, &rows), "valid JSON")
	}

	var got []spotifyhist.ExportEntry
	sum, err := spotifyhist.ReadExport(context.Background(), spotifyhist.ExportSource{ReaderAt: bytes.NewReader(buf.Bytes()), Size: int64(buf.Len())}, nil,
		func(e *spotifyhist.ExportEntry) error { got = append(got, *e); return nil })
	require.NoError(t, err)
	require.Equal(t, len(c.Rows), sum.Total)
	byKey := map[int]int{}
	for i, e := range c.Entries {
		byKey[e.Key] = i
	}
	for i, e := range got {
		r := c.Rows[i]
		require.True(t, r.TS.Equal(e.PlayedAt), "row %d", i)
		require.Equal(t, r.MSPlayed, e.MSPlayed)
		k, isEntry := byKey[i]
		if !isEntry {
			require.Equal(t, spotifyhist.ReasonEpisode, e.Exclusion, "rows without an entry are episodes")
			continue
		}
		want := c.Entries[k]
		require.Equal(t, want.Excluded, e.Exclusion != "", "row %d: %q", i, e.Exclusion)
		id := e.TrackID
		if spotifyhist.IsLocalURI(e.TrackURI) {
			id = spotifyhist.LocalTrackID(e.TrackURI)
		}
		require.Equal(t, want.TrackID, id)
		require.Equal(t, want.TrackName, e.TrackName)
		require.Equal(t, want.Artists, []string{e.ArtistName})
		require.Equal(t, want.Album, e.AlbumName)
	}

	buf.Reset()
	require.NoError(t, c.WriteAccountZip(&buf))
	n := 0
	_, err = spotifyhist.ReadExport(context.Background(), spotifyhist.ExportSource{ReaderAt: bytes.NewReader(buf.Bytes()), Size: int64(buf.Len())}, nil,
		func(e *spotifyhist.ExportEntry) error {
			want := c.AccountEntries[n]
			require.Equal(t, spotifyhist.ExportFormatAccount, e.Format)
			require.True(t, want.PlayedAt.Equal(e.PlayedAt))
			require.Equal(t, time.Minute, e.Precision)
			require.Equal(t, want.TrackName, e.TrackName)
			require.Equal(t, want.Excluded, e.Exclusion != "")
			n++
			return nil
		})
	require.NoError(t, err)
	require.Equal(t, len(c.AccountEntries), n)
}

// TestEvaluate checks the scoring on the two trivial imports.
func TestEvaluate(t *testing.T) {
	t.Parallel()
	c := dedupetest.Generate(dedupetest.Config{Seed: 5, Streams: 3000})
	cp := c.Capture(store.ModeHistory)
	none := c.Evaluate(cp, nil)
	require.Zero(t, none.MissedImported)
	require.Equal(t, none.Missed, none.Lost)
	require.Zero(t, none.Doubled)
	require.Equal(t, none.Plays, none.Captured+none.Missed)

	var all []int
	for _, e := range c.Entries {
		if !e.Excluded {
			all = append(all, e.Key)
		}
	}
	every := c.Evaluate(cp, all)
	require.Equal(t, every.Missed, every.MissedImported)
	require.Zero(t, every.Lost)
	require.GreaterOrEqual(t, every.Doubled, every.Captured, "every captured play is stored again")
	require.Zero(t, every.Spurious)
	require.Equal(t, 1, c.Evaluate(cp, []int{-1}).Spurious)
}
