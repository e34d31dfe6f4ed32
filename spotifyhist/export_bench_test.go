package spotifyhist

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	rtmetrics "runtime/metrics"
	"strconv"
	"testing"
	"time"

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
			cpu0, cpuOK := processCPU()
			for b.Loop() {
				sum, err := ReadExport(context.Background(), tc.src, nil, func(e *ExportEntry) error { return nil })
				require.NoError(b, err)
				require.Equal(b, n, sum.Total)
				plays = sum.Plays
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/entry")
			if cpu1, ok := processCPU(); ok && cpuOK {
				b.ReportMetric(float64(cpu1-cpu0)/float64(b.N)/n, "cpu-ns/entry")
			}
			b.ReportMetric(float64(plays), "plays")
		})
	}
}

// BenchmarkReadExportStream1M reads one 1,000,000-entry file (about 500 MB) generated on
// the fly, so that nothing holds the file in memory, and reports the largest live heap
// seen: it stays flat whatever the file size.
func BenchmarkReadExportStream1M(b *testing.B) {
	const n = 1_000_000
	fsys := &streamFS{name: "Streaming_History_Audio_2014-2024_0.json", rows: n}
	sample := []rtmetrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var peak uint64
	var size int64
	b.ReportAllocs()
	for b.Loop() {
		sum, err := ReadExport(context.Background(), ExportSource{FS: fsys}, nil, func(e *ExportEntry) error {
			if e.Index%(1<<16) == 0 {
				rtmetrics.Read(sample)
				peak = max(peak, sample[0].Value.Uint64())
			}
			return nil
		})
		require.NoError(b, err)
		require.Equal(b, n, sum.Total)
		size = fsys.lastSize
		fsys.lastSize = 0
	}
	b.SetBytes(size)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/entry")
	b.ReportMetric(float64(peak)/(1<<20), "peak-live-heap-MB")
}

// streamFS is a directory holding one generated extended-history file.
type streamFS struct {
	name     string
	rows     int
	lastSize int64
}

type streamInfo struct {
	name string
	dir  bool
}

func (i streamInfo) Name() string { return i.name }
func (i streamInfo) Size() int64  { return -1 }
func (i streamInfo) Mode() fs.FileMode {
	return map[bool]fs.FileMode{true: fs.ModeDir | 0o555, false: 0o444}[i.dir]
}
func (i streamInfo) ModTime() time.Time { return time.Time{} }
func (i streamInfo) IsDir() bool        { return i.dir }
func (i streamInfo) Sys() any           { return nil }

func (s *streamFS) Stat(name string) (fs.FileInfo, error) {
	switch name {
	case ".":
		return streamInfo{".", true}, nil
	case s.name:
		return streamInfo{s.name, false}, nil
	}
	return nil, fs.ErrNotExist
}

func (s *streamFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if name != "." {
		return nil, fs.ErrNotExist
	}
	return []fs.DirEntry{fs.FileInfoToDirEntry(streamInfo{s.name, false})}, nil
}

func (s *streamFS) Open(name string) (fs.File, error) {
	if name != s.name {
		return nil, fs.ErrNotExist
	}
	return &streamFile{fs: s, buf: []byte("[\n")}, nil
}

// streamFile generates rows as it is read.
type streamFile struct {
	fs   *streamFS
	i    int
	buf  []byte
	done bool
}

func (f *streamFile) Stat() (fs.FileInfo, error) { return streamInfo{f.fs.name, false}, nil }
func (f *streamFile) Close() error               { return nil }

func (f *streamFile) Read(p []byte) (int, error) {
	for len(f.buf) < len(p) && !f.done {
		if f.i == f.fs.rows {
			f.buf = append(f.buf, "\n]"...)
			f.done = true
			break
		}
		if f.i > 0 {
			f.buf = append(f.buf, ",\n"...)
		}
		t := time.Date(2014, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(f.i) * 3 * time.Minute)
		f.buf = append(f.buf, `{"ts":"`...)
		f.buf = t.AppendFormat(f.buf, time.RFC3339)
		f.buf = append(f.buf, `","platform":"android","ms_played":`...)
		f.buf = strconv.AppendInt(f.buf, int64(f.i*7919%400_000), 10)
		f.buf = append(f.buf, `,"conn_country":"DE","ip_addr":"192.0.2.1","master_metadata_track_name":"Track `...)
		f.buf = strconv.AppendInt(f.buf, int64(f.i%20_000), 10)
		f.buf = append(f.buf, `","master_metadata_album_artist_name":"Artist `...)
		f.buf = strconv.AppendInt(f.buf, int64(f.i%3_000), 10)
		f.buf = append(f.buf, `","master_metadata_album_album_name":"Album `...)
		f.buf = strconv.AppendInt(f.buf, int64(f.i%5_000), 10)
		f.buf = append(f.buf, `","spotify_track_uri":"spotify:track:4uLU6hMCjMI75M1A2tKUQC","episode_name":null,"episode_show_name":null,"spotify_episode_uri":null,"audiobook_title":null,"audiobook_uri":null,"audiobook_chapter_uri":null,"audiobook_chapter_title":null,"reason_start":"trackdone","reason_end":"trackdone","shuffle":false,"skipped":false,"offline":false,"offline_timestamp":1691442244000,"incognito_mode":false}`...)
		f.i++
	}
	n := copy(p, f.buf)
	f.buf = f.buf[:copy(f.buf, f.buf[n:])]
	f.fs.lastSize += int64(n)
	if n == 0 && f.done {
		return 0, io.EOF
	}
	return n, nil
}
