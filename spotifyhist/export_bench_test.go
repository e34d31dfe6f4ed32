package spotifyhist

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkReadExport131K reads a 131,000-entry extended-history export (the size of the
// import quality bar) as a ZIP of 9 files, and as one bare JSON file (parsing without
// decompression). MB/s is uncompressed JSON.
func BenchmarkReadExport131K(b *testing.B) {
	const n = 131_000
	zipData, size := genExportZip(b, 1, n)
	bare := encodeRows(b, genExtendedRows(1, n))
	b.Logf("zip %d bytes, %d bytes of JSON (%.1fx); bare %d bytes", len(zipData), size, float64(size)/float64(len(zipData)), len(bare))
	cases := []struct {
		name string
		src  ExportSource
		size int64
	}{
		{"Zip", ExportSource{ReaderAt: bytes.NewReader(zipData), Size: int64(len(zipData)), Name: "my_spotify_data.zip"}, size},
		{"JSON", ExportSource{ReaderAt: bytes.NewReader(bare), Size: int64(len(bare)), Name: "Streaming_History_Audio_2014.json"}, int64(len(bare))},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(tc.size)
			b.ReportAllocs()
			var plays int
			for b.Loop() {
				sum, err := ReadExport(context.Background(), tc.src, nil, func(e *ExportEntry) error { return nil })
				require.NoError(b, err)
				require.Equal(b, n, sum.Total)
				plays = sum.Plays
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/entry")
			b.ReportMetric(float64(plays), "plays")
		})
	}
}
