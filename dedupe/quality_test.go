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

func TestQualityOneToOne(t *testing.T) {
	t.Parallel()
	c := dedupetest.Generate(dedupetest.Config{Seed: 1, AccountData: true})
	for _, mode := range []store.Mode{store.ModeHistory, store.ModeRealtime, store.ModeHybrid} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			cp := c.Capture(mode)
			q := c.Evaluate(cp, importedKeys(dedupe.OneToOne(nil).Match(c.Entries, cp.Rows)))
			t.Logf("one_to_one: %v", q)
			o := c.Evaluate(cp, importedKeys(dedupe.Original().Match(c.Entries, cp.Rows)))
			t.Logf("original:   %v", o)
			qa := c.EvaluateAccount(cp, importedKeys(dedupe.OneToOne(nil).Match(c.AccountEntries, cp.Rows)))
			t.Logf("account one_to_one: %v", qa)
			require.GreaterOrEqual(t, q.Plays, 20_000)
		})
	}
}
