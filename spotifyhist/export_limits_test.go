package spotifyhist

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

func TestReadExportLimits(t *testing.T) {
	t.Parallel()
	row := extRow()
	threeRows := []byte("[" + row + "," + row + "," + row + "]")
	// 3 MiB of whitespace inside an array deflates about 1000 times; real exports about
	// 10 times.
	bombJSON := append(append([]byte("["), bytes.Repeat([]byte(" "), 3<<20)...), ']')
	zipBomb := buildZip(t, zipFile{name: "Streaming_History_Audio_0.json", data: bombJSON})
	gzipBomb := gzipBytes(t, bombJSON)
	nested := func(depth int) string { return strings.Repeat("[", depth) + strings.Repeat("]", depth) }
	manyFiles := func(n int) []zipFile {
		files := make([]zipFile, n)
		for i := range files {
			files[i] = zipFile{name: fmt.Sprintf("Streaming_History_Audio_%d.json", i), data: []byte("[]"), method: zipStore}
		}
		return files
	}
	dirFS := fstest.MapFS{}
	for i := range 5 {
		dirFS[fmt.Sprintf("d/Streaming_History_Audio_%d.json", i)] = &fstest.MapFile{Data: []byte("[]")}
	}
	twoFiles := fstest.MapFS{
		"Streaming_History_Audio_0.json": {Data: threeRows},
		"Streaming_History_Audio_1.json": {Data: threeRows},
	}

	tests := []struct {
		name    string
		src     ExportSource
		limits  ExportLimits
		limit   string
		max     int64
		entries int // entries read before the limit stopped the read
	}{
		{"ZipBomb", bytesSource("bomb.zip", zipBomb), ExportLimits{}, LimitCompressionRatio, ExportMaxCompressionRatioDefault, 0},
		{"GzipBomb", bytesSource("bomb.json.gz", gzipBomb), ExportLimits{}, LimitCompressionRatio, ExportMaxCompressionRatioDefault, 0},
		{"LowRatio", bytesSource("x.zip", buildZip(t, zipFile{name: "Streaming_History_Audio_0.json", data: bytes.Repeat([]byte(" "), 2<<20)})), ExportLimits{MaxCompressionRatio: 10}, LimitCompressionRatio, 10, 0},
		{"ZipEntries", bytesSource("x.zip", buildZip(t, manyFiles(5)...)), ExportLimits{MaxFiles: 3}, LimitFiles, 3, 0},
		{"ZipEntriesDefault", bytesSource("x.zip", fakeZipTail(ExportMaxFilesDefault+1, false)), ExportLimits{}, LimitFiles, ExportMaxFilesDefault, 0},
		{"ZipEntriesZip64", bytesSource("x.zip", fakeZipTail(1<<40, true)), ExportLimits{}, LimitFiles, ExportMaxFilesDefault, 0},
		{"DirectoryFiles", ExportSource{FS: dirFS}, ExportLimits{MaxFiles: 3}, LimitFiles, 3, 0},
		{"Entries", bytesSource("Streaming_History_Audio_0.json", threeRows), ExportLimits{MaxEntries: 2}, LimitEntries, 2, 2},
		{"EntriesAcrossFiles", ExportSource{FS: twoFiles}, ExportLimits{MaxEntries: 4}, LimitEntries, 4, 4},
		{"DepthArrays", bytesSource("Streaming_History_Audio_0.json", []byte(nested(17))), ExportLimits{}, LimitDepth, ExportMaxDepthDefault, 0},
		{"DepthInsideEntry", bytesSource("Streaming_History_Audio_0.json", []byte(`[`+row+`,{"ts":"2023-08-07T21:07:25Z","x":`+nested(15)+`}]`)), ExportLimits{}, LimitDepth, ExportMaxDepthDefault, 1},
		{"DepthObjects", bytesSource("Streaming_History_Audio_0.json", []byte(`[{"a":{"a":{"a":{"a":1}}}}]`)), ExportLimits{MaxDepth: 4}, LimitDepth, 4, 0},
		{"DepthJSONL", bytesSource("plays.jsonl", []byte(`{"played_at":"2024-05-01T12:34:56.789Z","track_id":"x","a":`+nested(16)+"}\n")), ExportLimits{}, LimitDepth, ExportMaxDepthDefault, 0},
		{"DepthDisabledHardLimit", bytesSource("Streaming_History_Audio_0.json", []byte(nested(100_000))), ExportLimits{MaxDepth: -1, MaxEntryBytes: -1}, LimitDepth, hardMaxDepth, 0},
		{"EntryBytes", bytesSource("Streaming_History_Audio_0.json", threeRows), ExportLimits{MaxEntryBytes: 100}, LimitEntryBytes, 100, 0},
		{"EntryBytesDefault", bytesSource("Streaming_History_Audio_0.json", []byte(`[{"ts":"2023-08-07T21:07:25Z","x":"`+strings.Repeat("x", 2<<20)+`"}]`)), ExportLimits{}, LimitEntryBytes, ExportMaxEntryBytesDefault, 0},
		{"LineBytes", bytesSource("plays.jsonl", []byte(`{"played_at":"2024-05-01T12:34:56.789Z","track_id":"`+strings.Repeat("x", 200)+"\"}\n")), ExportLimits{MaxEntryBytes: 100}, LimitEntryBytes, 100, 0},
		{"LineBytesUnterminated", bytesSource("plays.jsonl", []byte(`{"played_at":"2024-05-01T12:34:56.789Z","track_id":"`+strings.Repeat("x", 2<<20))), ExportLimits{}, LimitEntryBytes, ExportMaxEntryBytesDefault, 0},
		{"Uncompressed", bytesSource("Streaming_History_Audio_0.json", threeRows), ExportLimits{MaxUncompressedBytes: 300}, LimitUncompressedBytes, 300, 0},
		{"UncompressedAcrossFiles", ExportSource{FS: twoFiles}, ExportLimits{MaxUncompressedBytes: int64(len(threeRows)) + 10}, LimitUncompressedBytes, int64(len(threeRows)) + 10, 3},
		{"UncompressedZip", bytesSource("bomb.zip", zipBomb), ExportLimits{MaxUncompressedBytes: 1 << 20}, LimitUncompressedBytes, 1 << 20, 0},
		{"ArchiveZip", bytesSource("x.zip", zipBomb), ExportLimits{MaxArchiveBytes: 1000}, LimitArchiveBytes, 1000, 0},
		{"ArchiveGzip", bytesSource("x.json.gz", gzipBomb), ExportLimits{MaxArchiveBytes: 1000}, LimitArchiveBytes, 1000, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := readExport(t, tc.src, &ExportOptions{Limits: tc.limits})
			require.ErrorIs(t, res.err, ErrExportTooLarge)
			var le *ExportLimitError
			require.ErrorAs(t, res.err, &le)
			require.Equal(t, tc.limit, le.Limit, "error: %v", res.err)
			require.Equal(t, tc.max, le.Max)
			require.Greater(t, le.Value, le.Max)
			require.NotEmpty(t, le.File, "the error names the file")
			require.Contains(t, res.err.Error(), fmt.Sprint(le.Max))
			require.Contains(t, res.err.Error(), le.File)
			require.Len(t, res.entries, tc.entries)
		})
	}
}

func TestReadExportLimitsDisabled(t *testing.T) {
	t.Parallel()
	bombJSON := append(append([]byte("["), bytes.Repeat([]byte(" "), ratioGraceBytes+(64<<10))...), ']')
	res := readExport(t, bytesSource("bomb.zip", buildZip(t, zipFile{name: "Streaming_History_Audio_0.json", data: bombJSON})),
		&ExportOptions{Limits: ExportLimits{MaxCompressionRatio: -1}})
	require.NoError(t, res.err)
	require.Zero(t, res.sum.Total)
}

func TestExportLimitErrorMessage(t *testing.T) {
	t.Parallel()
	err := &ExportLimitError{Limit: LimitCompressionRatio, Max: 200, Value: 1017, File: "a/Streaming_History_Audio_0.json"}
	require.Equal(t, "spotifyhist: read export: a/Streaming_History_Audio_0.json: compression ratio 1017 exceeds the limit of 200", err.Error())
	require.ErrorIs(t, err, ErrExportTooLarge)
}

// fakeZipTail returns a ZIP start marker followed by only an end-of-central-directory
// record declaring count entries, in its ZIP64 form if zip64 is set: what an archive with
// that many entries ends with, without its megabytes of headers.
func fakeZipTail(count uint64, zip64 bool) []byte {
	b := []byte("PK\x03\x04")
	b = append(b, make([]byte, 26)...)
	le := binary.LittleEndian
	short := uint16(min(count, 0xffff))
	if zip64 {
		off := uint64(len(b))
		rec := make([]byte, 56)
		copy(rec, "PK\x06\x06")
		le.PutUint64(rec[4:], 44)
		le.PutUint64(rec[24:], count)
		le.PutUint64(rec[32:], count)
		b = append(b, rec...)
		loc := make([]byte, 20)
		copy(loc, "PK\x06\x07")
		le.PutUint64(loc[8:], off)
		le.PutUint32(loc[16:], 1)
		b = append(b, loc...)
		short = 0xffff
	}
	end := make([]byte, 22)
	copy(end, "PK\x05\x06")
	le.PutUint16(end[8:], short)
	le.PutUint16(end[10:], short)
	return append(b, end...)
}

func TestReadExportZipDeclaredEntries(t *testing.T) {
	t.Parallel()
	small := buildZip(t, zipFile{name: "a.json", data: []byte("[]")}, zipFile{name: "b.json", data: []byte("[]")})
	tests := []struct {
		name string
		data []byte
		want uint64
		ok   bool
	}{
		{"Real", small, 2, true},
		{"Fake", fakeZipTail(12345, false), 12345, true},
		{"Zip64", fakeZipTail(1<<40, true), 1 << 40, true},
		{"Zip64Exactly65535", fakeZipTail(0xffff, true), 0xffff, true},
		{"NoEndRecord", []byte("PK\x03\x04 and nothing else at all"), 0, false},
		{"Tiny", []byte("PK\x03\x04"), 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n, ok := zipDeclaredEntries(bytes.NewReader(tc.data), int64(len(tc.data)))
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.want, n)
		})
	}
	// A real ZIP64 archive (more than 65,535 entries), as archive/zip writes it.
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	const many = 1<<16 + 1
	for i := range many {
		_, err := zw.CreateHeader(&zip.FileHeader{Name: strconv.Itoa(i), Method: zip.Store})
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	n, ok := zipDeclaredEntries(bytes.NewReader(b.Bytes()), int64(b.Len()))
	require.True(t, ok)
	require.Equal(t, uint64(many), n)
}

func TestReadExportPathTraversal(t *testing.T) {
	t.Parallel()
	tests := []string{
		"../Streaming_History_Audio_0.json",
		"a/../../Streaming_History_Audio_0.json",
		"/etc/Streaming_History_Audio_0.json",
		`..\Streaming_History_Audio_0.json`,
		`a\..\..\Streaming_History_Audio_0.json`,
		"C:/Streaming_History_Audio_0.json",
		"../ReadMe.pdf", // even a file that would be ignored
		"..",
		"",
	}
	for _, name := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data := buildZip(t,
				zipFile{name: "Streaming_History_Audio_1.json", data: []byte("[" + extRow() + "]")},
				zipFile{name: name, data: []byte("[" + extRow() + "]"), method: zipStore},
			)
			res := readExport(t, bytesSource("evil.zip", data), nil)
			require.ErrorIs(t, res.err, zip.ErrInsecurePath)
			require.Contains(t, res.err.Error(), "evil.zip")
			require.Zero(t, res.sum.Total, "nothing is read from a hostile archive")
		})
	}
}

func TestSafeZipName(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"a.json", "a/b/c.json", "a..b/c.json", "./a.json", "..a/b", "dir/"} {
		require.True(t, safeZipName(name), "%q", name)
	}
	for _, name := range []string{"", "/a", "..", "../a", "a/..", "a/../../b", "C:/a", "c:a", "a\x00b"} {
		require.False(t, safeZipName(name), "%q", name)
	}
}
