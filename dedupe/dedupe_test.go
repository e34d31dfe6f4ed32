package dedupe_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/dedupe"
	"github.com/spotifyhist/spotifyhist/dedupe/dedupetest"
	"github.com/spotifyhist/spotifyhist/store"
)

func TestOptionsDefaults(t *testing.T) {
	t.Parallel()
	require.Equal(t, dedupe.Options{
		HistoryTolerance:   dedupe.HistoryToleranceDefault,
		RealtimeTolerance:  dedupe.RealtimeToleranceDefault,
		RealtimeMinOverlap: dedupe.RealtimeMinOverlapDefault,
		ExactSlack:         dedupe.ExactSlackDefault,
		InFileMinOverlap:   dedupe.InFileMinOverlapDefault,
		MaxPause:           dedupe.MaxPauseDefault,
	}, dedupe.OneToOne(nil).Options())
	custom := dedupe.OneToOne(&dedupe.Options{HistoryTolerance: 5 * time.Second}).Options()
	require.Equal(t, 5*time.Second, custom.HistoryTolerance)
	require.Equal(t, dedupe.RealtimeToleranceDefault, custom.RealtimeTolerance)
	require.Equal(t, "one_to_one", fmt.Sprint(dedupe.OneToOne(nil)))
	require.Equal(t, "original", fmt.Sprint(dedupe.Original()))
}

func TestMatchEdgeCases(t *testing.T) {
	t.Parallel()
	at := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	stored := []store.PlayWithTrack{{
		Play:  store.Play{TrackID: "A", PlayedAt: at, Source: store.SourceHistory},
		Track: store.Track{ID: "A", Name: "Song", Artists: []store.Artist{{ID: "x", Name: "X"}}},
	}}
	for _, p := range []dedupe.Policy{dedupe.OneToOne(nil), dedupe.Original()} {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			t.Parallel()
			require.Empty(t, p.Match(nil, stored))
			require.Empty(t, p.Match(nil, nil))
			entries := []dedupe.Entry{
				{Key: 7, TrackID: "A", TrackName: "Song", Artists: []string{"X"}, PlayedAt: at.Add(-2 * time.Hour), MSPlayed: 200_000, Precision: time.Second},
				{Key: 9, PlayedAt: at.Add(-time.Hour), MSPlayed: 200_000}, // no identity at all
			}
			dec := p.Match(entries, nil)
			require.Equal(t, []dedupe.Decision{{Entry: 7}, {Entry: 9}}, dec, "nothing stored: everything imported")
			dec = p.Match(entries, stored)
			require.Equal(t, 7, dec[0].Entry)
			require.Equal(t, 9, dec[1].Entry)
			require.True(t, dec[1].IsImport())
		})
	}
}

// TestMatchDoesNotDependOnStoredOrder shuffles the stored plays.
func TestMatchDoesNotDependOnStoredOrder(t *testing.T) {
	t.Parallel()
	c := dedupetest.Generate(dedupetest.Config{Seed: 8, Streams: 6000, MonitorFrom: 0.3})
	cp := c.Capture(store.ModeHistory)
	shuffled := slices.Clone(cp.Rows)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	a := dedupe.OneToOne(nil).Match(c.Entries, cp.Rows)
	b := dedupe.OneToOne(nil).Match(c.Entries, shuffled)
	require.Len(t, b, len(a))
	for i := range a {
		require.Equal(t, a[i].Reason, b[i].Reason, "entry %d", a[i].Entry)
		require.Equal(t, a[i].Delta, b[i].Delta)
		if a[i].Matched != nil {
			require.Equal(t, *a[i].Matched, *b[i].Matched)
		}
	}
}

// TestMatchIsOneToOne: no stored play absorbs two entries, and Matched points
// into the stored slice.
func TestMatchIsOneToOne(t *testing.T) {
	t.Parallel()
	c := dedupetest.Generate(dedupetest.Config{Seed: 9, Streams: 10_000, MonitorFrom: 0.3})
	for _, mode := range []store.Mode{store.ModeHistory, store.ModeRealtime} {
		cp := c.Capture(mode)
		index := map[*store.Play]int{}
		for i := range cp.Rows {
			index[&cp.Rows[i].Play] = i
		}
		used := map[int]int{}
		keys := map[int]bool{}
		entryAt := map[int]time.Time{}
		for _, e := range c.Entries {
			entryAt[e.Key] = e.PlayedAt
		}
		for _, d := range dedupe.OneToOne(nil).Match(c.Entries, cp.Rows) {
			if d.Matched != nil {
				i, ok := index[d.Matched]
				require.True(t, ok, "Matched points into stored")
				used[i]++
				require.Equal(t, cp.Rows[i].PlayedAt.Sub(entryAt[d.Entry]), d.Delta)
			}
			if d.Reason == dedupe.ReasonDuplicateInFile {
				keys[d.MatchedEntry] = true
			}
		}
		for i, n := range used {
			require.Equal(t, 1, n, "stored play %d absorbed %d entries", i, n)
		}
		require.NotEmpty(t, keys)
	}
}
