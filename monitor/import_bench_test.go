package monitor

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/dedupe/dedupetest"
	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/store"
)

// benchExport writes an extended-history ZIP of about n entries to a file
// and returns it with the plays monitoring stored (history mode, over the
// last 40% of the history).
func benchExport(b *testing.B, n int, withCapture bool) (spotifyhist.ExportSource, []store.PlayWithTrack, string) {
	b.Helper()
	c := dedupetest.Generate(dedupetest.Config{
		Seed: 99, Streams: n * 996 / 1000, PlaysPerDay: max(30, float64(n)/365/20), LocalTrackID: spotifyhist.LocalTrackID,
		MonitorFrom: 0.6, PriorImportUntil: -1,
	})
	path := filepath.Join(b.TempDir(), "my_spotify_data.zip")
	f, err := os.Create(path)
	require.NoError(b, err)
	require.NoError(b, c.WriteExtendedZip(f))
	require.NoError(b, f.Close())
	var rows []store.PlayWithTrack
	if withCapture {
		rows = c.Capture(store.ModeHistory).Rows
	}
	b.Logf("%d entries, %d stored plays", len(c.Rows), len(rows))
	return spotifyhist.ExportSource{Path: path}, rows, c.Config.UserID
}

// benchImport analyses and executes the import into a fresh store per
// iteration (store set-up excluded from the time).
func benchImport(b *testing.B, n int, withCapture bool) {
	for _, be := range importBackends(b) {
		b.Run(be.name, func(b *testing.B) {
			src, rows, user := benchExport(b, n, withCapture)
			runtime.GC()
			ctx := context.Background()
			var analyse, execute, cpu time.Duration
			var imported int
			for b.Loop() {
				b.StopTimer()
				st := be.open(b)
				addImportUser(b, st, user)
				if len(rows) > 0 {
					prefill(b, st, user, &dedupetest.Capture{Rows: rows})
				}
				im := newTestImporter(b, st, ImporterConfig{})
				b.StartTimer()
				start, startCPU := time.Now(), importProcessCPU()
				_, err := im.Analyze(ctx, user, src, nil)
				require.NoError(b, err)
				mid := time.Now()
				res, err := im.Execute(ctx, user, src, nil, nil)
				require.NoError(b, err)
				analyse += mid.Sub(start)
				execute += time.Since(mid)
				cpu += importProcessCPU() - startCPU
				imported = res.Imported
				b.StopTimer()
				require.NoError(b, st.Close())
				b.StartTimer()
			}
			b.ReportMetric(analyse.Seconds()/float64(b.N), "analyze-s/op")
			b.ReportMetric(execute.Seconds()/float64(b.N), "execute-s/op")
			// With PostgreSQL the server's CPU is not counted.
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
			b.ReportMetric(float64(imported), "imported")
		})
	}
}

// BenchmarkImport131K: a 131,000-entry extended-history ZIP (about twelve
// years), analysed and executed end to end, into an empty history and into
// one that live monitoring filled for the last 40% of the period. Bar
// (DESIGN §7): ≤ 3 s per backend.
func BenchmarkImport131K(b *testing.B) {
	b.Run("Empty", func(b *testing.B) { benchImport(b, 131_000, false) })
	b.Run("Monitored", func(b *testing.B) { benchImport(b, 131_000, true) })
}

// BenchmarkImport1M: 1,000,000 entries into an empty history; linear in the
// entries.
func BenchmarkImport1M(b *testing.B) {
	benchImport(b, 1_000_000, false)
}
