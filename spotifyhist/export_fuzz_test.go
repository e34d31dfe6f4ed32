package spotifyhist

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// fuzzNames are the file names the JSON fuzzer reads its input under, chosen by the hint.
var fuzzNames = []string{
	"upload", "Streaming_History_Audio_2020_0.json", "Streaming_History_Video_2020.json",
	"StreamingHistory_music_0.json", "StreamingHistory_podcast_0.json", "StreamingHistory0.json", "plays.jsonl",
}

func FuzzReadExportJSON(f *testing.F) {
	entries, err := os.ReadDir(fixtureDir)
	require.NoError(f, err)
	for i, de := range entries {
		data := readFixture(f, de.Name())
		f.Add(data, uint8(i))
		f.Add(gzipBytes(f, data), uint8(i))
	}
	for _, s := range []string{
		"[" + extRow() + "]",
		"[" + extRow("ts", "null", "ms_played", "1.5e3", "skipped", "true") + "," + extRow("offline_timestamp", "1691443236123.0") + "]",
		"[" + extRow("master_metadata_track_name", `"\ud83c\udfb5 \u0000 \ud800"`) + "]",
		`[{"endTime":"2024-03-01 18:42","artistName":"A","trackName":"T","msPlayed":60000}]`,
		"\xef\xbb\xbf[]",
		`[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]`,
		`[{"ts":"2023-08-07T21:07:25Z","ms_pla`,
		`{"played_at":"2024-05-01T12:34:56.789Z","track_id":"4uLU6hMCjMI75M1A2tKUQC","artists":["a","b"],"source":"import"}` + "\n{bad\n",
		"[1,\"x\",null,true,{}]",
	} {
		f.Add([]byte(s), uint8(1))
	}
	f.Fuzz(func(t *testing.T, data []byte, hint uint8) {
		opts := &ExportOptions{
			ExcludeSkipped: hint&0x80 != 0,
			Limits:         ExportLimits{MaxEntryBytes: 1 << 16, MaxUncompressedBytes: 8 << 20},
		}
		res := readExport(t, bytesSource(fuzzNames[int(hint&0x7f)%len(fuzzNames)], data), opts)
		checkFuzzResult(t, res)

		// Differential check against encoding/json for plain JSON arrays: we accept exactly
		// the valid ones (limits and not-an-export aside) and see the same elements.
		plain := bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
		trimmed := bytes.TrimLeft(plain, " \t\r\n")
		if len(trimmed) == 0 || trimmed[0] != '[' {
			return
		}
		valid := json.Valid(plain)
		if res.err == nil {
			require.True(t, valid, "accepted invalid JSON")
			var elems []json.RawMessage
			require.NoError(t, json.Unmarshal(plain, &elems))
			require.Len(t, elems, res.sum.Total)
		}
		if valid {
			require.NotErrorIs(t, res.err, ErrExportCorrupt, "refused valid JSON")
		}
	})
}

func FuzzReadExportZip(f *testing.F) {
	row := []byte("[" + extRow() + "]")
	f.Add(fixtureZip(f))
	f.Add(buildZip(f, zipFile{name: "Streaming_History_Audio_0.json", data: row, method: zipStore}))
	f.Add(buildZip(f, zipFile{name: "a/Streaming_History_Audio_0.json.gz", data: gzipBytes(f, row)}))
	f.Add(buildZip(f, zipFile{name: "../Streaming_History_Audio_0.json", data: row}))
	f.Add(buildZip(f, zipFile{name: "__MACOSX/._x", data: row}, zipFile{name: "x.pdf", data: row}))
	f.Add(buildZip(f, zipFile{name: "plays.jsonl", data: readFixture(f, "plays.jsonl")}))
	f.Add(buildZip(f))
	f.Add(fakeZipTail(3, false))
	f.Add(fakeZipTail(1<<20, true))
	full := buildZip(f, zipFile{name: "Streaming_History_Audio_0.json", data: row})
	f.Add(full[:len(full)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := &ExportOptions{Limits: ExportLimits{MaxUncompressedBytes: 8 << 20, MaxFiles: 1000}}
		res := readExport(t, bytesSource("upload.zip", data), opts)
		checkFuzzResult(t, res)
	})
}

// checkFuzzResult checks what must hold for any input: errors are typed, and every entry is
// either a well-formed play or carries a reader-level reason, with clean strings.
func checkFuzzResult(t *testing.T, res readResult) {
	t.Helper()
	if err := res.err; err != nil {
		var fe *ExportFileError
		var le *ExportLimitError
		switch {
		case errors.As(err, &le):
			require.Greater(t, le.Value, le.Max)
		case errors.As(err, &fe):
			require.True(t, errors.Is(err, ErrExportCorrupt) || errors.Is(err, ErrUnsupportedFormat), "file error of no known kind: %v", err)
		case errors.Is(err, ErrNotExport), errors.Is(err, zip.ErrInsecurePath):
		default:
			require.Failf(t, "untyped error", "%v", err)
		}
	}
	readerReasons := map[Reason]bool{
		ReasonTooShort: true, ReasonIncognito: true, ReasonEpisode: true, ReasonVideo: true,
		ReasonNoTrackURI: true, ReasonMalformed: true, ReasonSkipped: true,
	}
	for _, e := range res.entries {
		require.NotEmpty(t, e.File)
		if !e.IsPlay() {
			require.True(t, readerReasons[e.Exclusion], "unknown reason %q", e.Exclusion)
			continue
		}
		require.Equal(t, KindTrack, e.Kind)
		require.NotEmpty(t, e.Format)
		require.False(t, e.PlayedAt.IsZero())
		require.Equal(t, "UTC", e.PlayedAt.Location().String())
		require.NotZero(t, e.Precision)
		require.GreaterOrEqual(t, e.MSPlayed, 0)
		switch e.Format {
		case ExportFormatExtended:
			require.NotEmpty(t, e.TrackURI)
		case ExportFormatAccount:
			require.NotEmpty(t, e.TrackName)
		case ExportFormatJSONL:
			require.NotEmpty(t, e.TrackID)
		}
		for _, s := range append([]string{e.TrackURI, e.TrackID, e.TrackName, e.ArtistName, e.AlbumName, e.Platform, e.ReasonStart, e.ReasonEnd, e.Source}, e.Artists...) {
			require.True(t, utf8.ValidString(s), "invalid UTF-8 %q", s)
			require.NotContains(t, s, "\x00")
		}
		if e.TrackID != "" && e.TrackURI != "" {
			require.Equal(t, "spotify:track:"+e.TrackID, e.TrackURI)
		}
	}
}
