package dedupe_test

import (
	"testing"

	"github.com/spotifyhist/spotifyhist/dedupe"
	"github.com/spotifyhist/spotifyhist/dedupe/dedupetest"
	"github.com/spotifyhist/spotifyhist/store"
)

// benchCorpus has about 131,000 entries and 131,000 stored plays: an
// earlier import holds the first 60% of the history and history-mode
// monitoring the rest.
func benchCorpus(b *testing.B) (*dedupetest.Corpus, *dedupetest.Capture) {
	b.Helper()
	c := dedupetest.Generate(dedupetest.Config{Seed: 42, Streams: 165_000, PlaysPerDay: 40, PriorImportUntil: 0.6, MonitorFrom: 0.6})
	cp := c.Capture(store.ModeHistory)
	b.Logf("%d entries, %d stored plays", len(c.Entries), len(cp.Rows))
	return c, cp
}

func BenchmarkOneToOne131K(b *testing.B) {
	c, cp := benchCorpus(b)
	p := dedupe.OneToOne(nil)
	b.ReportAllocs()
	for b.Loop() {
		p.Match(c.Entries, cp.Rows)
	}
}

func BenchmarkOriginal131K(b *testing.B) {
	c, cp := benchCorpus(b)
	p := dedupe.Original()
	b.ReportAllocs()
	for b.Loop() {
		p.Match(c.Entries, cp.Rows)
	}
}

func BenchmarkGenerate30K(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		dedupetest.Generate(dedupetest.Config{Seed: 1, AccountData: true})
	}
}
