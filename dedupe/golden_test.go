package dedupe_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/dedupe"
	"github.com/spotifyhist/spotifyhist/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenInput is a <case>.input.json file.
type goldenInput struct {
	Description string         `json:"description"`
	Entries     []goldenEntry  `json:"entries"`
	Stored      []goldenStored `json:"stored"`
}

type goldenEntry struct {
	Key       int      `json:"key"`
	TrackID   string   `json:"track_id,omitempty"`
	TrackName string   `json:"track_name"`
	Artists   []string `json:"artists"`
	Album     string   `json:"album,omitempty"`
	PlayedAt  string   `json:"played_at"`
	MSPlayed  int      `json:"ms_played"`
	Precision string   `json:"precision,omitempty"` // a time.Duration; default 1s
	Source    string   `json:"source,omitempty"`
	Excluded  bool     `json:"excluded,omitempty"`
}

type goldenStored struct {
	PlayedAt  string   `json:"played_at"`
	TrackID   string   `json:"track_id"`
	TrackName string   `json:"track_name"`
	Artists   []string `json:"artists"`
	Album     string   `json:"album,omitempty"`
	MSPlayed  int      `json:"ms_played,omitempty"`
	Source    string   `json:"source"`
	ImportID  string   `json:"import_id,omitempty"`
}

// goldenDecision is a decision as the golden files show it.
type goldenDecision struct {
	Entry        int            `json:"entry"`
	Reason       string         `json:"reason"`
	Rule         string         `json:"rule,omitempty"`
	ByName       bool           `json:"by_name,omitempty"`
	Matched      *goldenMatched `json:"matched,omitempty"`
	MatchedEntry *int           `json:"matched_entry,omitempty"`
	DeltaMS      int64          `json:"delta_ms,omitempty"`
}

type goldenMatched struct {
	PlayedAt string `json:"played_at"`
	TrackID  string `json:"track_id"`
	Source   string `json:"source"`
}

type goldenOutput struct {
	OneToOne []goldenDecision `json:"one_to_one"`
	Original []goldenDecision `json:"original"`
}

func parseTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err, s)
	return v
}

func (in *goldenInput) convert(t *testing.T) ([]dedupe.Entry, []store.PlayWithTrack) {
	t.Helper()
	var entries []dedupe.Entry
	for _, e := range in.Entries {
		prec := time.Second
		if e.Precision != "" {
			var err error
			prec, err = time.ParseDuration(e.Precision)
			require.NoError(t, err)
		}
		src := store.SourceImport
		if e.Source != "" {
			src = store.Source(e.Source)
		}
		entries = append(entries, dedupe.Entry{
			Key: e.Key, TrackID: e.TrackID, TrackName: e.TrackName, Artists: e.Artists, Album: e.Album,
			PlayedAt: parseTime(t, e.PlayedAt), MSPlayed: e.MSPlayed, Precision: prec, Source: src, Excluded: e.Excluded,
		})
	}
	var stored []store.PlayWithTrack
	for _, s := range in.Stored {
		tr := store.Track{ID: s.TrackID, Name: s.TrackName, Linked: true, Album: store.Album{ID: "album:" + s.Album, Name: s.Album}}
		for _, a := range s.Artists {
			tr.Artists = append(tr.Artists, store.Artist{ID: "artist:" + a, Name: a})
		}
		stored = append(stored, store.PlayWithTrack{
			Play: store.Play{UserID: "u", TrackID: s.TrackID, PlayedAt: parseTime(t, s.PlayedAt), MSPlayed: s.MSPlayed,
				Source: store.Source(s.Source), ImportID: s.ImportID},
			Track: tr,
		})
	}
	return entries, stored
}

func goldenDecisions(ds []dedupe.Decision) []goldenDecision {
	out := make([]goldenDecision, len(ds))
	for i, d := range ds {
		g := goldenDecision{Entry: d.Entry, Reason: d.Reason, Rule: d.Rule, ByName: d.ByName, DeltaMS: d.Delta.Milliseconds()}
		if g.Reason == "" {
			g.Reason = "import"
		}
		if d.Matched != nil {
			g.Matched = &goldenMatched{PlayedAt: d.Matched.PlayedAt.UTC().Format("2006-01-02T15:04:05.000Z"), TrackID: d.Matched.TrackID, Source: string(d.Matched.Source)}
		}
		if d.Reason == dedupe.ReasonDuplicateInFile {
			k := d.MatchedEntry
			g.MatchedEntry = &k
		}
		out[i] = g
	}
	return out
}

// TestGolden runs both policies over the named cases in testdata and compares
// their decisions with <case>.golden.json (go test -update rewrites them).
func TestGolden(t *testing.T) {
	t.Parallel()
	inputs, err := filepath.Glob(filepath.Join("testdata", "*.input.json"))
	require.NoError(t, err)
	require.NotEmpty(t, inputs)
	for _, path := range inputs {
		name := strings.TrimSuffix(filepath.Base(path), ".input.json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(path)
			require.NoError(t, err)
			var in goldenInput
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			require.NoError(t, dec.Decode(&in))
			entries, stored := in.convert(t)
			out := goldenOutput{
				OneToOne: goldenDecisions(dedupe.OneToOne(nil).Match(entries, stored)),
				Original: goldenDecisions(dedupe.Original().Match(entries, stored)),
			}
			got, err := json.MarshalIndent(out, "", "  ")
			require.NoError(t, err)
			got = append(got, '\n')
			golden := filepath.Join("testdata", name+".golden.json")
			if *update {
				require.NoError(t, os.WriteFile(golden, got, 0o644))
				return
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test -update to create the golden file")
			require.JSONEq(t, string(want), string(got))
		})
	}
}
