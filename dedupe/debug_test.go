package dedupe_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/spotifyhist/spotifyhist/dedupe"
	"github.com/spotifyhist/spotifyhist/dedupe/dedupetest"
	"github.com/spotifyhist/spotifyhist/store"
)

func TestDebugDoubles(t *testing.T) {
	c := dedupetest.Generate(dedupetest.Config{Seed: *seedFlag, Streams: *streamsFlag, AccountData: true})
	cp := c.Capture(store.Mode(*modeFlag))
	entries := c.Entries
	if *accFlag {
		entries = c.AccountEntries
	}
	dec := dedupe.OneToOne(nil).Match(entries, cp.Rows)
	count := map[int]int{}
	for _, tr := range cp.Truth {
		count[tr]++
	}
	byTruthEntries := map[int][]int{}
	for i, d := range dec {
		tr := c.TruthOf(d.Entry)
		byTruthEntries[tr] = append(byTruthEntries[tr], i)
		if d.IsImport() {
			count[tr]++
		}
	}
	rowsOf := map[int][]int{}
	for i, tr := range cp.Truth {
		rowsOf[tr] = append(rowsOf[tr], i)
	}
	n := 0
	for tr, k := range count {
		if k < 2 || n > 12 || (*truthFlag >= 0 && tr != *truthFlag) {
			continue
		}
		n++
		p := c.Plays[tr]
		fmt.Printf("== truth %d rec %d start %s end %s ms %d pause %v skip %v coll %v visEnd %s\n", tr, p.Recording, p.Start.Format("15:04:05.000"), p.End.Format("15:04:05.000"), p.MSPlayed, p.Pause, p.Skip, p.Collision, p.VisibleEnd.Format("15:04:05.000"))
		for _, ri := range rowsOf[tr] {
			r := cp.Rows[ri]
			fmt.Printf("   row %s ms %d src %s\n", r.PlayedAt.Format("15:04:05.000"), r.MSPlayed, r.Source)
		}
		for _, ei := range byTruthEntries[tr] {
			e := entries[ei]
			d := dec[ei]
			m := ""
			if d.Matched != nil {
				m = fmt.Sprintf("matched %s (%s) delta %v", d.Matched.PlayedAt.Format("15:04:05.000"), d.Matched.Source, d.Delta)
			}
			fmt.Printf("   entry %d ts %s ms %d dup %v reason %q rule %s %s\n", e.Key, e.PlayedAt.Format("15:04:05"), e.MSPlayed, e.Key < len(c.Rows) && c.Rows[e.Key].Duplicate, d.Reason, d.Rule, m)
		}
		// neighbours same recording
		for j := max(tr-6, 0); j < min(tr+6, len(c.Plays)); j++ {
			q := c.Plays[j]
			if q.Recording == p.Recording && j != tr {
				fmt.Printf("   same-rec play %d start %s end %s ms %d\n", j, q.Start.Format("15:04:05.000"), q.End.Format("15:04:05.000"), q.MSPlayed)
				for _, ri := range rowsOf[j] {
					fmt.Printf("      row %s ms %d\n", cp.Rows[ri].PlayedAt.Format("15:04:05.000"), cp.Rows[ri].MSPlayed)
				}
			}
		}
	}
	_ = time.Second
}
