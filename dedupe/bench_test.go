package dedupe_test

import (
	"testing"

	"github.com/spotifyhist/spotifyhist/dedupe"
	"github.com/spotifyhist/spotifyhist/dedupe/dedupetest"
	"github.com/spotifyhist/spotifyhist/store"
)

// benchCorpus has 165,000 entries (137,000 of them plays, the rest excluded
// streams that take part in matching) against 129,000 stored plays: an
// earlier import holds the first 60% of the history and history-mode
// monitoring the rest.
func benchCorpus(b *testing.B) (*dedupetest.Corpus, *dedupetest.Capture) {
	b.Helper()
	c := dedupetest.Generate(dedupetest.Config{Seed: 42, Streams: 165_000, PlaysPerDay: 40, PriorImportUntil: 0.6, MonitorFrom: 0.6})
	cp := c.Capture(store.ModeHistory)
	plays := 0
	for _, e := range c.Entries {
		if !e.Excluded {
			plays++
		}
	}
	b.Logf("%d entries (%d plays), %d stored plays", len(c.Entries), plays, len(cp.Rows))
	return c, cp
}

// BenchmarkOneToOne131K: bar (DESIGN §7 and the dedupe brief) well under
// 0.5 s on 2 cores. cpu-s/op is the process CPU time per match (GC included),
// a steadier figure than wall time on a shared machine.
func BenchmarkOneToOne131K(b *testing.B) {
	benchMatch(b, dedupe.OneToOne(nil))
}

func BenchmarkOriginal131K(b *testing.B) {
	benchMatch(b, dedupe.Original())
}

func benchMatch(b *testing.B, p dedupe.Policy) {
	c, cp := benchCorpus(b)
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		p.Match(c.Entries, cp.Rows)
	}
	b.ReportMetric((processCPU()-cpu).Seconds()/float64(b.N), "cpu-s/op")
}

func BenchmarkGenerate30K(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		dedupetest.Generate(dedupetest.Config{Seed: 1, AccountData: true})
	}
}
