package dedupe_test

import (
	"fmt"
	"testing"

	"github.com/spotifyhist/spotifyhist/dedupe"
	"github.com/spotifyhist/spotifyhist/dedupe/dedupetest"
	"github.com/spotifyhist/spotifyhist/store"
)

func TestDebugSeeds(t *testing.T) {
	for seed := uint64(2); seed < 7; seed++ {
		c := dedupetest.Generate(dedupetest.Config{Seed: seed, Streams: 60000})
		for _, mode := range []store.Mode{store.ModeHistory, store.ModeRealtime} {
			cp := c.Capture(mode)
			dec := dedupe.OneToOne(nil).Match(c.Entries, cp.Rows)
			count := map[int]int{}
			for _, tr := range cp.Truth {
				count[tr]++
			}
			imp := map[int][]int{}
			for _, d := range dec {
				if d.IsImport() {
					tr := c.TruthOf(d.Entry)
					count[tr]++
					imp[tr] = append(imp[tr], d.Entry)
				}
			}
			for tr, n := range count {
				if n < 2 {
					continue
				}
				p := c.Plays[tr]
				kind := "other"
				if len(imp[tr]) == 2 && c.Rows[imp[tr][1]].Duplicate {
					kind = fmt.Sprintf("quirk ms=%d dts=%v", p.MSPlayed, c.Rows[imp[tr][1]].TS.Sub(c.Rows[imp[tr][0]].TS))
				}
				if kind == "other" {
					fmt.Printf("seed %d %s truth %d: %s pause %v coll %v ms %d\n", seed, mode, tr, kind, p.Pause, p.Collision, p.MSPlayed)
				}
			}
		}
	}
}
