package dedupe_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/dedupe"
	"github.com/spotifyhist/spotifyhist/dedupe/dedupetest"
	"github.com/spotifyhist/spotifyhist/store"
)

func importedKeys(dec []dedupe.Decision) []int {
	var keys []int
	for _, d := range dec {
		if d.IsImport() {
			keys = append(keys, d.Entry)
		}
	}
	return keys
}

// qualityCorpus is the labelled corpus of the quality bar (DESIGN §7): about
// 40,000 plays over four years; an earlier import holds the first 20%,
// monitoring runs from 40% on, so missed plays are both whole stretches and
// single plays among stored ones.
func qualityCorpus() *dedupetest.Corpus {
	return dedupetest.Generate(dedupetest.Config{Seed: 1, Streams: 55_000, MonitorFrom: 0.4, AccountData: true})
}

// TestQualityOneToOne measures OneToOne on the labelled corpus in every
// monitoring mode: at least 99% of the plays monitoring missed are imported,
// at most 0.5% of genuine replays are merged, and every play ends up stored
// exactly once, except the few whose duplicate row Spotify wrote a minute
// later overlaps too little to be told from a replay (see the
// in_file_minute_quirk_short golden case). The original policy's figures are
// logged for comparison.
func TestQualityOneToOne(t *testing.T) {
	t.Parallel()
	c := qualityCorpus()
	short := c.ShortQuirkPlays()
	for _, mode := range []store.Mode{store.ModeHistory, store.ModeRealtime, store.ModeHybrid} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			cp := c.Capture(mode)
			dec := dedupe.OneToOne(nil).Match(c.Entries, cp.Rows)
			require.Len(t, dec, len(c.Entries))
			q := c.Evaluate(cp, importedKeys(dec))
			t.Logf("%s one_to_one: %v", mode, q)

			require.GreaterOrEqual(t, q.Plays, 20_000, "corpus size")
			require.GreaterOrEqual(t, q.Replays, 1_000, "corpus size")
			require.GreaterOrEqual(t, q.MissedLive, 2_000, "corpus size")

			require.GreaterOrEqual(t, q.MissedImportedRate(), 0.99, "missed plays imported")
			require.GreaterOrEqual(t, q.MissedLiveImportedRate(), 0.99, "missed plays among stored ones imported")
			require.LessOrEqual(t, q.ReplaysMergedRate(), 0.005, "genuine replays merged")
			require.Zero(t, q.Lost, "plays stored nowhere")
			require.Zero(t, q.Spurious, "excluded rows imported")
			for _, p := range q.DoubledPlays {
				require.Contains(t, short, p, "play %d stored twice", p)
			}
			t.Logf("doubled: %d, all short streams with Spotify's minute-later duplicate row (%d such streams in the export)", q.Doubled, len(short))

			orig := dedupe.Original().Match(c.Entries, cp.Rows)
			require.Len(t, orig, len(c.Entries))
			o := c.Evaluate(cp, importedKeys(orig))
			t.Logf("%s original:   %v", mode, o)
			require.Equal(t, q.Plays, o.Plays)
		})
	}
	t.Run("AccountData", func(t *testing.T) {
		t.Parallel()
		cp := c.Capture(store.ModeHistory)
		q := c.EvaluateAccount(cp, importedKeys(dedupe.OneToOne(nil).Match(c.AccountEntries, cp.Rows)))
		t.Logf("one_to_one: %v", q)
		o := c.EvaluateAccount(cp, importedKeys(dedupe.Original().Match(c.AccountEntries, cp.Rows)))
		t.Logf("original:   %v", o)
		require.GreaterOrEqual(t, q.MissedImportedRate(), 0.99)
		require.LessOrEqual(t, q.ReplaysMergedRate(), 0.005)
		require.Zero(t, q.Lost)
		require.Zero(t, q.Doubled)
	})
}
