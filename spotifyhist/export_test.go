package spotifyhist

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"
)

const fixtureDir = "testdata/export"

// readResult is what one ReadExport call produced.
type readResult struct {
	entries []*ExportEntry
	sum     *ExportSummary
	err     error
}

// readExport runs ReadExport and checks the accounting invariants that hold whatever
// happens, error or not: one callback per counted entry, Plays + excluded = Total, Total =
// the sum of the files' entries, and every entry's reason counted under that reason.
func readExport(tb testing.TB, src ExportSource, opts *ExportOptions) readResult {
	tb.Helper()
	var res readResult
	res.sum, res.err = ReadExport(context.Background(), src, opts, func(e *ExportEntry) error {
		res.entries = append(res.entries, e)
		return nil
	})
	checkSummary(tb, res)
	return res
}

func checkSummary(tb testing.TB, res readResult) {
	tb.Helper()
	require.NotNil(tb, res.sum, "the summary is returned even with an error")
	s := res.sum
	excluded, files := 0, 0
	for reason, n := range s.Excluded {
		require.Positive(tb, n, "reason %q is listed with a zero count", reason)
		require.NotEmpty(tb, reason)
		excluded += n
	}
	for _, f := range s.Files {
		files += f.Entries
	}
	require.Equal(tb, s.Total, s.Plays+excluded, "plays + excluded must equal total")
	require.Equal(tb, s.Total, files, "the files' entries must sum to total")
	require.Len(tb, res.entries, s.Total, "one callback per counted entry")
	byReason := map[Reason]int{}
	plays := 0
	for _, e := range res.entries {
		if e.IsPlay() {
			plays++
			continue
		}
		byReason[e.Exclusion]++
	}
	require.Equal(tb, s.Plays, plays)
	require.Equal(tb, s.Excluded, byReason)
}

func bytesSource(name string, data []byte) ExportSource {
	return ExportSource{ReaderAt: bytes.NewReader(data), Size: int64(len(data)), Name: name}
}

func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(fixtureDir, name))
	require.NoError(tb, err)
	return data
}

func gzipBytes(tb testing.TB, data []byte) []byte {
	tb.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, err := zw.Write(data)
	require.NoError(tb, err)
	require.NoError(tb, zw.Close())
	return b.Bytes()
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// fixtureSummary is the summary of testdata/export read with default options.
func fixtureSummary() *ExportSummary {
	return &ExportSummary{
		Files: []ExportFileInfo{
			{Name: "StreamingHistory0.json", Format: ExportFormatAccount, Entries: 3},
			{Name: "StreamingHistory_music_0.json", Format: ExportFormatAccount, Entries: 3},
			{Name: "StreamingHistory_podcast_0.json", Format: ExportFormatAccount, Entries: 1},
			{Name: "Streaming_History_Audio_2014-2016_0.json", Format: ExportFormatExtended, Entries: 7},
			{Name: "Streaming_History_Audio_2023-2024_1.json", Format: ExportFormatExtended, Entries: 3},
			{Name: "Streaming_History_Video_2020-2024.json", Format: ExportFormatExtended, Entries: 2},
			{Name: "endsong_0.json", Format: ExportFormatExtended, Entries: 2},
			{Name: "plays.jsonl", Format: ExportFormatJSONL, Entries: 3},
		},
		Total: 24,
		Plays: 12,
		Excluded: map[Reason]int{
			ReasonTooShort: 3, ReasonEpisode: 4, ReasonNoTrackURI: 2, ReasonIncognito: 1, ReasonVideo: 2,
		},
		IgnoredFiles: []string{"ReadMeFirst_ExtendedStreamingHistory.pdf", "Userdata.json"},
	}
}

func TestReadExportFixtureDirectory(t *testing.T) {
	t.Parallel()
	res := readExport(t, ExportSource{Path: fixtureDir}, nil)
	require.NoError(t, res.err)
	require.Equal(t, fixtureSummary(), res.sum)
}

func TestReadExportExcludeSkipped(t *testing.T) {
	t.Parallel()
	res := readExport(t, ExportSource{Path: fixtureDir}, &ExportOptions{ExcludeSkipped: true})
	require.NoError(t, res.err)
	want := fixtureSummary()
	want.Plays--
	want.Excluded[ReasonSkipped] = 1
	require.Equal(t, want, res.sum)
}

// fixtureZip builds the ZIP Spotify sends, with the fixtures in its two folders, plus the
// macOS debris and unrelated files real uploads contain.
func fixtureZip(tb testing.TB) []byte {
	tb.Helper()
	ext := "Spotify Extended Streaming History/"
	acct := "Spotify Account Data/"
	return buildZip(tb,
		zipFile{name: ext},
		zipFile{name: ext + "Streaming_History_Audio_2023-2024_1.json", data: readFixture(tb, "Streaming_History_Audio_2023-2024_1.json")},
		zipFile{name: ext + "Streaming_History_Audio_2014-2016_0.json", data: readFixture(tb, "Streaming_History_Audio_2014-2016_0.json")},
		zipFile{name: ext + "Streaming_History_Video_2020-2024.json", data: readFixture(tb, "Streaming_History_Video_2020-2024.json"), method: zipStore},
		zipFile{name: ext + "ReadMeFirst_ExtendedStreamingHistory.pdf", data: readFixture(tb, "ReadMeFirst_ExtendedStreamingHistory.pdf")},
		zipFile{name: "__MACOSX/" + ext + "._Streaming_History_Audio_2014-2016_0.json", data: []byte("\x00\x05\x16\x07 AppleDouble")},
		zipFile{name: ext + "._Streaming_History_Audio_2023-2024_1.json", data: []byte("\x00\x05\x16\x07")},
		zipFile{name: acct + "StreamingHistory_music_0.json", data: readFixture(tb, "StreamingHistory_music_0.json")},
		zipFile{name: acct + "StreamingHistory_podcast_0.json", data: readFixture(tb, "StreamingHistory_podcast_0.json")},
		zipFile{name: acct + "Userdata.json", data: readFixture(tb, "Userdata.json")},
		zipFile{name: "MyData/endsong_0.json", data: readFixture(tb, "endsong_0.json")},
		zipFile{name: "MyData/StreamingHistory0.json", data: readFixture(tb, "StreamingHistory0.json")},
		zipFile{name: "plays.jsonl", data: readFixture(tb, "plays.jsonl")},
	)
}

// entryKey is what must not depend on how the export was packaged.
type entryKey struct {
	base    string
	index   int
	format  string
	at      time.Time
	uri     string
	name    string
	reason  Reason
	kind    string
	msPlayd int
}

func keysOf(entries []*ExportEntry) map[entryKey]bool {
	out := map[entryKey]bool{}
	for _, e := range entries {
		out[entryKey{filepath.Base(e.File), e.Index, e.Format, e.PlayedAt, e.TrackURI, e.TrackName, e.Exclusion, e.Kind, e.MSPlayed}] = true
	}
	return out
}

func TestReadExportSources(t *testing.T) {
	t.Parallel()
	zipData := fixtureZip(t)
	dir := t.TempDir()
	zipPath := filepath.Join(dir, "my_spotify_data.zip")
	require.NoError(t, os.WriteFile(zipPath, zipData, 0o600))

	mapFS := fstest.MapFS{}
	entries, err := os.ReadDir(fixtureDir)
	require.NoError(t, err)
	for _, de := range entries {
		mapFS["deep/er/"+de.Name()] = &fstest.MapFile{Data: readFixture(t, de.Name())}
	}
	mapFS["__MACOSX/deep/._plays.jsonl"] = &fstest.MapFile{Data: []byte("junk")}
	mapFS["deep/.DS_Store"] = &fstest.MapFile{Data: []byte("junk")}

	want := readExport(t, ExportSource{Path: fixtureDir}, nil)
	require.NoError(t, want.err)

	tests := []struct {
		name    string
		src     ExportSource
		ignored []string
	}{
		{"ZipPath", ExportSource{Path: zipPath}, []string{
			"Spotify Extended Streaming History/ReadMeFirst_ExtendedStreamingHistory.pdf",
			"Spotify Account Data/Userdata.json",
		}},
		{"ZipReaderAt", bytesSource("upload", zipData), []string{
			"Spotify Extended Streaming History/ReadMeFirst_ExtendedStreamingHistory.pdf",
			"Spotify Account Data/Userdata.json",
		}},
		{"FS", ExportSource{FS: mapFS}, []string{
			"deep/er/ReadMeFirst_ExtendedStreamingHistory.pdf",
			"deep/er/Userdata.json",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := readExport(t, tc.src, nil)
			require.NoError(t, res.err)
			require.Equal(t, want.sum.Total, res.sum.Total)
			require.Equal(t, want.sum.Plays, res.sum.Plays)
			require.Equal(t, want.sum.Excluded, res.sum.Excluded)
			require.ElementsMatch(t, tc.ignored, res.sum.IgnoredFiles)
			require.Equal(t, keysOf(want.entries), keysOf(res.entries))
		})
	}
}

func TestReadExportZipLayout(t *testing.T) {
	t.Parallel()
	res := readExport(t, bytesSource("my_spotify_data.zip", fixtureZip(t)), nil)
	require.NoError(t, res.err)
	var names []string
	for _, f := range res.sum.Files {
		names = append(names, f.Name)
	}
	require.Equal(t, []string{
		"MyData/StreamingHistory0.json",
		"MyData/endsong_0.json",
		"Spotify Account Data/StreamingHistory_music_0.json",
		"Spotify Account Data/StreamingHistory_podcast_0.json",
		"Spotify Extended Streaming History/Streaming_History_Audio_2014-2016_0.json",
		"Spotify Extended Streaming History/Streaming_History_Audio_2023-2024_1.json",
		"Spotify Extended Streaming History/Streaming_History_Video_2020-2024.json",
		"plays.jsonl",
	}, names)
	require.Equal(t, "MyData/StreamingHistory0.json", res.entries[0].File)
}

func TestReadExportNaturalOrder(t *testing.T) {
	t.Parallel()
	row := []byte(`[{"ts":"2020-01-01T00:00:00Z","ms_played":40000,"spotify_track_uri":"spotify:track:4uLU6hMCjMI75M1A2tKUQC"}]`)
	data := buildZip(t,
		zipFile{name: "h/Streaming_History_Audio_2020_10.json", data: row},
		zipFile{name: "h/Streaming_History_Audio_2020_2.json", data: row},
		zipFile{name: "h/Streaming_History_Audio_2020_1.json", data: row},
		zipFile{name: "h/endsong_0.json", data: row},
	)
	res := readExport(t, bytesSource("x.zip", data), nil)
	require.NoError(t, res.err)
	var names []string
	for _, f := range res.sum.Files {
		names = append(names, f.Name)
	}
	require.Equal(t, []string{
		"h/Streaming_History_Audio_2020_1.json",
		"h/Streaming_History_Audio_2020_2.json",
		"h/Streaming_History_Audio_2020_10.json",
		"h/endsong_0.json",
	}, names)
}

func TestCompareNatural(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{"a", "a", 0},
		{"a_2", "a_10", -1},
		{"a_10", "a_2", 1},
		{"a_002", "a_2", 0},
		{"a_2x", "a_2y", -1},
		{"a", "ab", -1},
		{"2014-2016_0", "2016-2018_1", -1},
		{"x9999999999999999999999", "x10000000000000000000000", -1},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, compareNatural(tc.a, tc.b), "%q vs %q", tc.a, tc.b)
	}
}

func TestReadExportExtendedEntries(t *testing.T) {
	t.Parallel()
	const file = "Streaming_History_Audio_2014-2016_0.json"
	res := readExport(t, bytesSource(file, readFixture(t, file)), nil)
	require.NoError(t, res.err)
	const android = "Android OS 4.4.2 API 19 (samsung, GT-I9505)"
	base := func(i int, ts string, ms int) ExportEntry {
		return ExportEntry{File: file, Index: i, Format: ExportFormatExtended, PlayedAt: utc(ts), Precision: time.Second, MSPlayed: ms, Platform: android, Kind: KindTrack}
	}
	e0 := base(0, "2014-06-01T18:42:11Z", 215893)
	e0.TrackURI, e0.TrackID, e0.TrackName, e0.ArtistName, e0.AlbumName = "spotify:track:3n3Ppam7vgaVa1iaRUc9Lp", "3n3Ppam7vgaVa1iaRUc9Lp", "Mr. Brightside", "The Killers", "Hot Fuss"
	e0.ReasonStart, e0.ReasonEnd, e0.OfflineAt = "clickrow", "trackdone", utc("2014-06-01T18:41:55Z")

	e1 := base(1, "2014-06-01T18:42:20Z", 8200)
	e1.TrackURI, e1.TrackID, e1.TrackName, e1.ArtistName, e1.AlbumName = "spotify:track:0aym2LBJBk9DAYuHHutrIl", "0aym2LBJBk9DAYuHHutrIl", "Hey Jude", "The Beatles", "1 (Remastered)"
	e1.ReasonStart, e1.ReasonEnd, e1.OfflineAt, e1.Exclusion = "trackdone", "fwdbtn", utc("2014-06-01T18:45:31Z"), ReasonTooShort

	e2 := base(2, "2014-06-02T07:15:00Z", 1800000)
	e2.Kind, e2.EpisodeURI, e2.EpisodeName, e2.ShowName = KindEpisode, "spotify:episode:5Xt5DXGzch68nYYamXrNxZ", "Episode 12: Tea", "The Daily Brew"
	e2.ReasonStart, e2.ReasonEnd, e2.OfflineAt, e2.Exclusion = "clickrow", "endplay", utc("2014-06-02T06:45:00Z"), ReasonEpisode

	e3 := base(3, "2014-06-02T08:00:00Z", 180000)
	e3.TrackName, e3.ArtistName, e3.AlbumName = "Lost Song", "Gone Band", "Vanished"
	e3.ReasonStart, e3.ReasonEnd, e3.OfflineAt, e3.Exclusion = "trackdone", "trackdone", utc("2014-06-02T07:57:00Z"), ReasonNoTrackURI

	e4 := base(4, "2014-06-02T08:05:00Z", 120000)
	e4.ReasonStart, e4.Exclusion = "unknown", ReasonNoTrackURI

	e5 := base(5, "2014-06-02T09:00:00Z", 200040)
	e5.TrackURI, e5.TrackID, e5.TrackName, e5.ArtistName, e5.AlbumName = "spotify:track:0VjIjW4GlUZAMYd2vXMi3b", "0VjIjW4GlUZAMYd2vXMi3b", "Blinding Lights", "The Weeknd", "After Hours"
	e5.ReasonStart, e5.ReasonEnd, e5.Shuffle, e5.Incognito, e5.OfflineAt, e5.Exclusion = "clickrow", "trackdone", true, true, utc("2014-06-02T08:56:40Z"), ReasonIncognito

	e6 := base(6, "2014-06-02T09:03:31Z", 95000)
	e6.TrackURI, e6.TrackID, e6.TrackName, e6.ArtistName, e6.AlbumName = "spotify:track:4uLU6hMCjMI75M1A2tKUQC", "4uLU6hMCjMI75M1A2tKUQC", "Never Gonna Give You Up", "Rick Astley", "Whenever You Need Somebody"
	e6.ReasonStart, e6.ReasonEnd, e6.Shuffle, e6.Skipped, e6.Offline = "trackdone", "fwdbtn", true, true, true
	e6.OfflineAt = utc("2014-06-02T09:01:40.5Z")

	want := []ExportEntry{e0, e1, e2, e3, e4, e5, e6}
	require.Len(t, res.entries, len(want))
	for i := range want {
		got := *res.entries[i]
		require.Positive(t, got.Offset)
		got.Offset = 0
		require.Equal(t, want[i], got, "entry %d", i)
	}
	// Offsets point at each entry's '{'.
	data := readFixture(t, file)
	for _, e := range res.entries {
		require.Equal(t, byte('{'), data[e.Offset])
	}
}

func TestReadExportNewerExtendedEntries(t *testing.T) {
	t.Parallel()
	const file = "Streaming_History_Audio_2023-2024_1.json"
	res := readExport(t, bytesSource(file, readFixture(t, file)), nil)
	require.NoError(t, res.err)
	require.Len(t, res.entries, 3)

	play := res.entries[0]
	require.Equal(t, "0VjIjW4GlUZAMYd2vXMi3b", play.TrackID)
	require.Equal(t, "android", play.Platform)
	require.Equal(t, utc("2023-08-07T21:04:04Z"), play.OfflineAt, "millisecond offline_timestamp")
	require.True(t, play.IsPlay())

	book := res.entries[1]
	require.Equal(t, KindAudiobook, book.Kind)
	require.Equal(t, ReasonEpisode, book.Exclusion)
	require.Equal(t, "spotify:chapter:0D5wENdkdwbqlrHoaJ9g29", book.EpisodeURI)
	require.Equal(t, "Chapter 1", book.EpisodeName)
	require.Equal(t, "Pride and Prejudice", book.ShowName)

	local := res.entries[2]
	require.True(t, local.IsPlay(), "a local file has a track URI")
	require.Equal(t, "spotify:local:Halsey:Manic+%28Deluxe%29:929:174", local.TrackURI)
	require.Empty(t, local.TrackID, "local files have no base-62 ID")
	require.Equal(t, utc("2023-08-07T21:20:36.123Z"), local.OfflineAt)
	require.True(t, local.Offline)
}

func TestReadExportAccountEntries(t *testing.T) {
	t.Parallel()
	t.Run("Music", func(t *testing.T) {
		t.Parallel()
		const file = "StreamingHistory_music_0.json"
		res := readExport(t, bytesSource(file, readFixture(t, file)), nil)
		require.NoError(t, res.err)
		require.Len(t, res.entries, 3)
		got := *res.entries[0]
		got.Offset = 0
		require.Equal(t, ExportEntry{
			File: file, Format: ExportFormatAccount, PlayedAt: utc("2024-03-01T18:42:00Z"), Precision: time.Minute,
			MSPlayed: 222075, TrackName: "Mr. Brightside", ArtistName: "The Killers", Kind: KindTrack,
		}, got)
		require.Equal(t, ReasonTooShort, res.entries[1].Exclusion)
		require.Equal(t, "Unknown Track", res.entries[2].TrackName)
		require.True(t, res.entries[2].IsPlay(), "account data has no URIs: plays are matched by name")
	})
	t.Run("Podcast", func(t *testing.T) {
		t.Parallel()
		const file = "StreamingHistory_podcast_0.json"
		res := readExport(t, bytesSource(file, readFixture(t, file)), nil)
		require.NoError(t, res.err)
		require.Len(t, res.entries, 1)
		e := res.entries[0]
		require.Equal(t, KindEpisode, e.Kind)
		require.Equal(t, ReasonEpisode, e.Exclusion)
		require.Equal(t, "The Daily Brew", e.ShowName)
		require.Equal(t, "Episode 13: Coffee", e.EpisodeName)
		require.Equal(t, utc("2024-03-03T06:30:00Z"), e.PlayedAt)
	})
	t.Run("Legacy", func(t *testing.T) {
		t.Parallel()
		const file = "StreamingHistory0.json"
		res := readExport(t, bytesSource(file, readFixture(t, file)), nil)
		require.NoError(t, res.err)
		require.Len(t, res.entries, 3)
		require.True(t, res.entries[0].IsPlay())
		require.Equal(t, KindEpisode, res.entries[1].Kind, "podcast keys mark an episode")
		require.Equal(t, "The Daily Brew", res.entries[1].ShowName)
		require.Equal(t, "Episode 2: Water", res.entries[1].EpisodeName)
		// Spotify's legacy files also write episodes with music keys; those cannot be told
		// apart and read as tracks (documented on ExportEntry.Kind).
		require.Equal(t, KindTrack, res.entries[2].Kind)
	})
	t.Run("MinutePrecision", func(t *testing.T) {
		t.Parallel()
		data := []byte(`[{"endTime":"2024-02-29 23:59","artistName":"A","trackName":"T","msPlayed":60000},
			{"endTime":"2024-02-29 23:59:30","artistName":"A","trackName":"T","msPlayed":60000},
			{"endTime":"2023-02-29 10:00","artistName":"A","trackName":"T","msPlayed":60000},
			{"endTime":"2024-03-01T18:42:00Z","artistName":"A","trackName":"T","msPlayed":60000},
			{"endTime":"2024-03-01 24:00","artistName":"A","trackName":"T","msPlayed":60000}]`)
		res := readExport(t, bytesSource("StreamingHistory_music_1.json", data), nil)
		require.NoError(t, res.err)
		require.Equal(t, utc("2024-02-29T23:59:00Z"), res.entries[0].PlayedAt)
		require.Equal(t, time.Minute, res.entries[0].Precision)
		require.Equal(t, utc("2024-02-29T23:59:30Z"), res.entries[1].PlayedAt)
		require.Equal(t, time.Second, res.entries[1].Precision)
		for _, e := range res.entries[2:] {
			require.Equal(t, ReasonMalformed, e.Exclusion, "entry %d", e.Index)
		}
	})
}

// jsonlPlay is one line of `spotifyhist export --format jsonl`, as the product's contract
// spells it.
type jsonlPlay struct {
	PlayedAt  string   `json:"played_at"`
	TrackID   string   `json:"track_id"`
	TrackName string   `json:"track_name"`
	Artists   []string `json:"artists"`
	Album     string   `json:"album"`
	MSPlayed  *int     `json:"ms_played"`
	Source    string   `json:"source"`
}

func TestReadExportJSONLRoundTrip(t *testing.T) {
	t.Parallel()
	plays := []jsonlPlay{
		{"2024-05-01T12:34:56.789Z", "4uLU6hMCjMI75M1A2tKUQC", "Never Gonna Give You Up", []string{"Rick Astley"}, "Whenever You Need Somebody", ptr(213573), "realtime"},
		{"2024-05-01T12:38:30.000Z", "0VjIjW4GlUZAMYd2vXMi3b", "Blinding \"Lights\" \\ <b>", []string{"The Weeknd", "Daft Punk", "東京"}, "After Hours 🎵", nil, "history"},
		{"2024-05-01T12:45:00.001Z", "local:abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrst", "929", []string{"Halsey"}, "Manic (Deluxe)", ptr(174000), "import"},
		{"2024-05-02T00:00:00Z", "3n3Ppam7vgaVa1iaRUc9Lp", "Mr. Brightside", []string{}, "", ptr(10), "import"},
	}
	var b bytes.Buffer
	for _, p := range plays {
		line, err := json.Marshal(p) // escapes <, > and & as \u003c…: exercises unescaping
		require.NoError(t, err)
		b.Write(line)
		b.WriteByte('\n')
	}
	res := readExport(t, bytesSource("plays.txt", b.Bytes()), nil)
	require.NoError(t, res.err)
	require.Len(t, res.entries, len(plays))
	for i, p := range plays {
		e := res.entries[i]
		require.True(t, e.IsPlay(), "JSON Lines entries are plays already; too_short does not apply (entry %d)", i)
		require.Equal(t, ExportFormatJSONL, e.Format)
		require.Equal(t, utc(p.PlayedAt), e.PlayedAt)
		require.Equal(t, time.Millisecond, e.Precision)
		require.Equal(t, p.TrackName, e.TrackName)
		require.Equal(t, p.Artists, e.Artists)
		require.Equal(t, p.Album, e.AlbumName)
		require.Equal(t, p.Source, e.Source)
		if p.MSPlayed != nil {
			require.Equal(t, *p.MSPlayed, e.MSPlayed)
		} else {
			require.Zero(t, e.MSPlayed)
		}
		if len(p.Artists) > 0 {
			require.Equal(t, p.Artists[0], e.ArtistName)
		}
		if isBase62ID(p.TrackID) {
			require.Equal(t, p.TrackID, e.TrackID)
			require.Equal(t, "spotify:track:"+p.TrackID, e.TrackURI)
		} else {
			require.Equal(t, p.TrackID, e.TrackID, "other IDs are kept verbatim")
			require.Empty(t, e.TrackURI)
		}
	}
	// Offsets are line starts.
	off := int64(0)
	for i, line := range bytes.SplitAfter(b.Bytes(), []byte("\n"))[:len(plays)] {
		require.Equal(t, off, res.entries[i].Offset)
		off += int64(len(line))
	}
}

// extRow returns one extended-history entry as JSON: a 3-minute play of a track, with
// fields replaced or added by kv (key, raw JSON value; value "" removes the key).
func extRow(kv ...string) string {
	fields := [][2]string{
		{"ts", `"2023-08-07T21:07:25Z"`},
		{"platform", `"android"`},
		{"ms_played", `180000`},
		{"master_metadata_track_name", `"Song"`},
		{"master_metadata_album_artist_name", `"Artist"`},
		{"master_metadata_album_album_name", `"Album"`},
		{"spotify_track_uri", `"spotify:track:4uLU6hMCjMI75M1A2tKUQC"`},
		{"episode_name", `null`},
		{"episode_show_name", `null`},
		{"spotify_episode_uri", `null`},
		{"reason_start", `"trackdone"`},
		{"reason_end", `"trackdone"`},
		{"shuffle", `false`},
		{"skipped", `false`},
		{"offline", `false`},
		{"offline_timestamp", `null`},
		{"incognito_mode", `false`},
	}
outer:
	for i := 0; i+1 < len(kv); i += 2 {
		for j := range fields {
			if fields[j][0] == kv[i] {
				fields[j][1] = kv[i+1]
				continue outer
			}
		}
		fields = append(fields, [2]string{kv[i], kv[i+1]})
	}
	var b strings.Builder
	b.WriteByte('{')
	first := true
	for _, f := range fields {
		if f[1] == "" {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(`"` + f[0] + `":` + f[1])
	}
	b.WriteByte('}')
	return b.String()
}

// readOne reads a file holding one entry and returns it.
func readOne(tb testing.TB, name, data string, opts *ExportOptions) *ExportEntry {
	tb.Helper()
	res := readExport(tb, bytesSource(name, []byte(data)), opts)
	require.NoError(tb, res.err)
	require.Len(tb, res.entries, 1)
	return res.entries[0]
}

func TestReadExportExclusions(t *testing.T) {
	t.Parallel()
	const audio, video = "Streaming_History_Audio_2023_0.json", "Streaming_History_Video_2023.json"
	const music, jsonl = "StreamingHistory_music_0.json", "plays.jsonl"
	skipOpt := &ExportOptions{ExcludeSkipped: true}
	tests := []struct {
		name  string
		file  string
		entry string
		opts  *ExportOptions
		want  Reason
	}{
		{"Play", audio, extRow(), nil, ""},
		{"ExactlyMinPlay", audio, extRow("ms_played", "30000"), nil, ""},
		{"TooShort", audio, extRow("ms_played", "29999"), nil, ReasonTooShort},
		{"TooShortZero", audio, extRow("ms_played", "0"), nil, ReasonTooShort},
		{"CustomMinPlay", audio, extRow("ms_played", "15000"), &ExportOptions{MinPlay: 10 * time.Second}, ""},
		{"CustomMinPlayTooShort", audio, extRow("ms_played", "9999"), &ExportOptions{MinPlay: 10 * time.Second}, ReasonTooShort},
		{"NoMinPlay", audio, extRow("ms_played", "0"), &ExportOptions{MinPlay: -1}, ""},
		{"Incognito", audio, extRow("incognito_mode", "true"), nil, ReasonIncognito},
		{"IncognitoBeatsTooShort", audio, extRow("incognito_mode", "true", "ms_played", "10"), nil, ReasonIncognito},
		{"Episode", audio, extRow("master_metadata_track_name", "null", "spotify_track_uri", "null", "episode_name", `"E"`, "spotify_episode_uri", `"spotify:episode:5Xt5DXGzch68nYYamXrNxZ"`), nil, ReasonEpisode},
		{"EpisodeNameOnly", audio, extRow("spotify_track_uri", "null", "episode_name", `"E"`), nil, ReasonEpisode},
		{"EpisodeBeatsIncognito", audio, extRow("spotify_track_uri", "null", "spotify_episode_uri", `"spotify:episode:5Xt5DXGzch68nYYamXrNxZ"`, "incognito_mode", "true"), nil, ReasonEpisode},
		{"Audiobook", audio, extRow("spotify_track_uri", "null", "audiobook_uri", `"spotify:audiobook:1HGw3J3NxZO1TP1BTtVhpZ"`), nil, ReasonEpisode},
		{"AudiobookChapterOnly", audio, extRow("spotify_track_uri", "null", "audiobook_chapter_uri", `"spotify:chapter:0D5wENdkdwbqlrHoaJ9g29"`), nil, ReasonEpisode},
		{"Video", video, extRow(), nil, ReasonVideo},
		{"VideoBeatsEpisodeAndIncognito", video, extRow("episode_name", `"E"`, "incognito_mode", "true", "ms_played", "1"), nil, ReasonVideo},
		{"MalformedBeatsVideo", video, extRow("ms_played", `"1"`), nil, ReasonMalformed},
		{"NoTrackURI", audio, extRow("spotify_track_uri", "null"), nil, ReasonNoTrackURI},
		{"NoTrackURIEmpty", audio, extRow("spotify_track_uri", `""`), nil, ReasonNoTrackURI},
		{"NoTrackURIAbsent", audio, extRow("spotify_track_uri", ""), nil, ReasonNoTrackURI},
		{"NoTrackURINoMetadata", audio, extRow("spotify_track_uri", "null", "master_metadata_track_name", "null", "master_metadata_album_artist_name", "null", "master_metadata_album_album_name", "null"), nil, ReasonNoTrackURI},
		{"TooShortBeatsNoTrackURI", audio, extRow("spotify_track_uri", "null", "ms_played", "5"), nil, ReasonTooShort},
		{"LocalFile", audio, extRow("spotify_track_uri", `"spotify:local:::Title:123"`), nil, ""},
		{"SkippedKeptByDefault", audio, extRow("skipped", "true"), nil, ""},
		{"Skipped", audio, extRow("skipped", "true"), skipOpt, ReasonSkipped},
		{"SkippedNull", audio, extRow("skipped", "null"), skipOpt, ""},
		{"TooShortBeatsSkipped", audio, extRow("skipped", "true", "ms_played", "100"), skipOpt, ReasonTooShort},
		{"NoTrackURIBeatsSkipped", audio, extRow("skipped", "true", "spotify_track_uri", "null"), skipOpt, ReasonNoTrackURI},
		{"AccountPlay", music, `{"endTime":"2024-03-01 18:42","artistName":"A","trackName":"T","msPlayed":30000}`, nil, ""},
		{"AccountTooShort", music, `{"endTime":"2024-03-01 18:42","artistName":"A","trackName":"T","msPlayed":29999}`, nil, ReasonTooShort},
		{"AccountEpisode", music, `{"endTime":"2024-03-01 18:42","podcastName":"P","episodeName":"E","msPlayed":900000}`, nil, ReasonEpisode},
		{"AccountNoArtist", music, `{"endTime":"2024-03-01 18:42","artistName":null,"trackName":"T","msPlayed":60000}`, nil, ""},
		{"JSONLPlay", jsonl, `{"played_at":"2024-05-01T12:34:56.789Z","track_id":"4uLU6hMCjMI75M1A2tKUQC","ms_played":1}`, nil, ""},
		{"JSONLNoMinimum", jsonl, `{"played_at":"2024-05-01T12:34:56.789Z","track_id":"4uLU6hMCjMI75M1A2tKUQC"}`, &ExportOptions{MinPlay: time.Hour}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data := tc.entry
			if tc.file != jsonl {
				data = "[" + data + "]"
			}
			e := readOne(t, tc.file, data, tc.opts)
			require.Equal(t, tc.want, e.Exclusion)
		})
	}
}

func TestReadExportMalformed(t *testing.T) {
	t.Parallel()
	const audio, music, jsonl = "Streaming_History_Audio_2023_0.json", "StreamingHistory_music_0.json", "plays.jsonl"
	tests := []struct {
		name  string
		file  string
		entry string
	}{
		{"Number", audio, `42`},
		{"String", audio, `"ts"`},
		{"Array", audio, `[{"ts":"2023-08-07T21:07:25Z"}]`},
		{"Null", audio, `null`},
		{"True", audio, `true`},
		{"EmptyObject", audio, `{}`},
		{"UnknownKeys", audio, `{"searchTime":"2023-08-07T21:07:25Z","searchQuery":"x"}`},
		{"TSNull", audio, extRow("ts", "null")},
		{"TSNumber", audio, extRow("ts", "1691442445")},
		{"TSGarbage", audio, extRow("ts", `"yesterday"`)},
		{"TSImpossibleDate", audio, extRow("ts", `"2023-02-29T21:07:25Z"`)},
		{"TSHour24", audio, extRow("ts", `"2023-08-07T24:00:00Z"`)},
		{"TSNoZone", audio, extRow("ts", `"2023-08-07T21:07:25"`)},
		{"TSEmpty", audio, extRow("ts", `""`)},
		{"MSPlayedMissing", audio, extRow("ms_played", "")},
		{"MSPlayedNull", audio, extRow("ms_played", "null")},
		{"MSPlayedString", audio, extRow("ms_played", `"180000"`)},
		{"MSPlayedNegative", audio, extRow("ms_played", "-1")},
		{"MSPlayedFraction", audio, extRow("ms_played", "1.5")},
		{"MSPlayedHuge", audio, extRow("ms_played", "1e300")},
		{"MSPlayedObject", audio, extRow("ms_played", `{"v":1}`)},
		{"TrackNameNumber", audio, extRow("master_metadata_track_name", "42")},
		{"ArtistBool", audio, extRow("master_metadata_album_artist_name", "true")},
		{"AlbumArray", audio, extRow("master_metadata_album_album_name", `["a"]`)},
		{"URINotTrack", audio, extRow("spotify_track_uri", `"spotify:episode:5Xt5DXGzch68nYYamXrNxZ"`)},
		{"URIShortID", audio, extRow("spotify_track_uri", `"spotify:track:abc"`)},
		{"URIBadChar", audio, extRow("spotify_track_uri", `"spotify:track:4uLU6hMCjMI75M1A2tKUQ!"`)},
		{"URINumber", audio, extRow("spotify_track_uri", "7")},
		{"SkippedString", audio, extRow("skipped", `"true"`)},
		{"IncognitoNumber", audio, extRow("incognito_mode", "1")},
		{"OfflineString", audio, extRow("offline", `"false"`)},
		{"ShuffleNull", audio, extRow("shuffle", `{}`)},
		{"OfflineTimestampString", audio, extRow("offline_timestamp", `"1691442445"`)},
		{"ReasonEndNumber", audio, extRow("reason_end", "3")},
		{"EpisodeURINumber", audio, extRow("spotify_episode_uri", "3")},
		{"AccountEndTimeMissing", music, `{"artistName":"A","trackName":"T","msPlayed":60000,"endTime":null}`},
		{"AccountEndTimeISO", music, `{"endTime":"2024-03-01T18:42:00Z","artistName":"A","trackName":"T","msPlayed":60000}`},
		{"AccountMSPlayedNull", music, `{"endTime":"2024-03-01 18:42","artistName":"A","trackName":"T","msPlayed":null}`},
		{"AccountNoTrackName", music, `{"endTime":"2024-03-01 18:42","artistName":"A","msPlayed":60000}`},
		{"AccountTrackNameNumber", music, `{"endTime":"2024-03-01 18:42","artistName":"A","trackName":1,"msPlayed":60000}`},
		{"JSONLNoTrackID", jsonl, `{"played_at":"2024-05-01T12:34:56.789Z","track_name":"T"}`},
		{"JSONLEmptyTrackID", jsonl, `{"played_at":"2024-05-01T12:34:56.789Z","track_id":""}`},
		{"JSONLBadTime", jsonl, `{"played_at":"2024-05-01 12:34","track_id":"4uLU6hMCjMI75M1A2tKUQC"}`},
		{"JSONLUnknownSource", jsonl, `{"played_at":"2024-05-01T12:34:56.789Z","track_id":"4uLU6hMCjMI75M1A2tKUQC","source":"guess"}`},
		{"JSONLArtistsString", jsonl, `{"played_at":"2024-05-01T12:34:56.789Z","track_id":"4uLU6hMCjMI75M1A2tKUQC","artists":"A"}`},
		{"JSONLArtistsNumbers", jsonl, `{"played_at":"2024-05-01T12:34:56.789Z","track_id":"4uLU6hMCjMI75M1A2tKUQC","artists":["A",1]}`},
		{"JSONLArtistsNullElement", jsonl, `{"played_at":"2024-05-01T12:34:56.789Z","track_id":"4uLU6hMCjMI75M1A2tKUQC","artists":[null]}`},
		{"JSONLMSPlayedString", jsonl, `{"played_at":"2024-05-01T12:34:56.789Z","track_id":"4uLU6hMCjMI75M1A2tKUQC","ms_played":"1"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			good := extRow()
			sep := ","
			wrap := func(s string) string { return "[" + s + "]" }
			if tc.file == jsonl {
				good = `{"played_at":"2024-05-01T12:34:56.789Z","track_id":"4uLU6hMCjMI75M1A2tKUQC"}`
				sep = "\n"
				wrap = func(s string) string { return s + "\n" }
			} else if tc.file == music {
				good = `{"endTime":"2024-03-01 18:42","artistName":"A","trackName":"T","msPlayed":60000}`
			}
			// The malformed entry sits between two good ones: the file goes on.
			res := readExport(t, bytesSource(tc.file, []byte(wrap(good+sep+tc.entry+sep+good))), nil)
			require.NoError(t, res.err)
			require.Len(t, res.entries, 3)
			require.Equal(t, Reason(""), res.entries[0].Exclusion)
			require.Equal(t, ReasonMalformed, res.entries[1].Exclusion)
			require.Equal(t, 1, res.entries[1].Index)
			require.NotEmpty(t, res.entries[1].Format, "malformed entries carry the file's format")
			require.Equal(t, Reason(""), res.entries[2].Exclusion)
			require.Equal(t, map[Reason]int{ReasonMalformed: 1}, res.sum.Excluded)
		})
	}
}

func TestReadExportJSONLBrokenLine(t *testing.T) {
	t.Parallel()
	good := `{"played_at":"2024-05-01T12:34:56.789Z","track_id":"4uLU6hMCjMI75M1A2tKUQC"}`
	data := good + "\n{\"played_at\": tru\n   \n\r\n" + good + " x\n[1,2]\n" + good + "\r\n" + good
	res := readExport(t, bytesSource("plays.jsonl", []byte(data)), nil)
	require.NoError(t, res.err)
	var reasons []Reason
	for _, e := range res.entries {
		reasons = append(reasons, e.Exclusion)
	}
	require.Equal(t, []Reason{"", ReasonMalformed, ReasonMalformed, ReasonMalformed, "", ""}, reasons)
}

func TestReadExportNulls(t *testing.T) {
	t.Parallel()
	nullable := []string{
		"username", "user_agent_decrypted", "master_metadata_track_name", "master_metadata_album_artist_name",
		"master_metadata_album_album_name", "spotify_track_uri", "episode_name", "episode_show_name",
		"spotify_episode_uri", "audiobook_title", "audiobook_uri", "audiobook_chapter_uri",
		"audiobook_chapter_title", "reason_end", "skipped", "offline", "offline_timestamp", "incognito_mode",
	}
	var allNull []string
	for _, k := range nullable {
		allNull = append(allNull, k, "null")
	}
	const file = "Streaming_History_Audio_2023_0.json"
	e := readOne(t, file, "["+extRow(allNull...)+"]", &ExportOptions{ExcludeSkipped: true})
	require.Equal(t, ReasonNoTrackURI, e.Exclusion, "nulls are not malformed")
	require.Equal(t, KindTrack, e.Kind)
	require.Empty(t, e.TrackName)
	require.False(t, e.Skipped)
	require.False(t, e.Incognito)
	require.True(t, e.OfflineAt.IsZero())

	// With only a URI left, the stream is a play.
	withURI := append(append([]string{}, allNull...), "spotify_track_uri", `"spotify:track:4uLU6hMCjMI75M1A2tKUQC"`)
	e = readOne(t, file, "["+extRow(withURI...)+"]", &ExportOptions{ExcludeSkipped: true})
	require.True(t, e.IsPlay())
	require.Equal(t, "4uLU6hMCjMI75M1A2tKUQC", e.TrackID)

	// Account data and JSON Lines have nullable fields too.
	e = readOne(t, "StreamingHistory_music_0.json", `[{"endTime":"2024-03-01 18:42","artistName":null,"trackName":"T","msPlayed":60000}]`, nil)
	require.True(t, e.IsPlay())
	e = readOne(t, "plays.jsonl", `{"played_at":"2024-05-01T12:34:56.789Z","track_id":"4uLU6hMCjMI75M1A2tKUQC","track_name":null,"artists":null,"album":null,"ms_played":null,"source":null}`, nil)
	require.True(t, e.IsPlay())
	require.Nil(t, e.Artists)
}

func TestReadExportOfflineTimestamp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		value string
		want  time.Time
	}{
		{"SecondsInt", "1401648115", utc("2014-06-01T18:41:55Z")},
		{"SecondsFloat", "1401699700.5", utc("2014-06-02T09:01:40.5Z")},
		{"SecondsExponent", "1.6e9", utc("2020-09-13T12:26:40Z")},
		{"MillisInt", "1691442244000", utc("2023-08-07T21:04:04Z")},
		{"MillisFloat", "1691443236123.0", utc("2023-08-07T21:20:36.123Z")},
		{"Zero", "0", time.Time{}},
		{"Null", "null", time.Time{}},
		{"Negative", "-5", time.Time{}},
		{"Absurd", "1e300", time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := readOne(t, "endsong_0.json", "["+extRow("offline_timestamp", tc.value)+"]", nil)
			require.True(t, e.IsPlay())
			require.Equal(t, tc.want, e.OfflineAt)
		})
	}
}

func TestReadExportStrings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		raw  string // JSON string literal content
		want string
	}{
		{"Plain", `Mr. Brightside`, "Mr. Brightside"},
		{"Escapes", `a\"b\\c\/d\b\f\n\r\t`, "a\"b\\c/d\b\f\n\r\t"},
		{"Unicode", `caf\u00e9 \u6771\u4eac`, "café 東京"},
		{"SurrogatePair", `\ud83c\udfb5`, "🎵"},
		{"LoneHighSurrogate", `a\ud83cb`, "a\uFFFDb"},
		{"LoneLowSurrogate", `\udfb5`, "\uFFFD"},
		{"HighThenNonLow", `\ud83c\u0041`, "\uFFFDA"},
		{"NULEscaped", `a\u0000b`, "a\uFFFDb"},
		{"RawUTF8", "Ночь 🎵", "Ночь 🎵"},
		{"InvalidUTF8", "a\xffb\xc3", "a\uFFFDb\uFFFD"},
		{"Long", strings.Repeat("x", 5000), strings.Repeat("x", 5000)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			row := extRow("master_metadata_track_name", `"`+tc.raw+`"`, "platform", `"`+tc.raw+`"`)
			e := readOne(t, "endsong_0.json", "["+row+"]", nil)
			require.True(t, e.IsPlay())
			require.Equal(t, tc.want, e.TrackName)
			require.Equal(t, tc.want, e.Platform, "interned fields decode the same way")
		})
	}
}

func TestReadExportEscapedKeys(t *testing.T) {
	t.Parallel()
	// encoding/json matches keys after unescaping; so do we.
	e := readOne(t, "endsong_0.json", `[{"t\u0073":"2023-08-07T21:07:25Z","ms_played":40000,"spotify_track_uri":"spotify:track:4uLU6hMCjMI75M1A2tKUQC"}]`, nil)
	require.True(t, e.IsPlay())
	require.Equal(t, utc("2023-08-07T21:07:25Z"), e.PlayedAt)
}

func TestReadExportSingleFiles(t *testing.T) {
	t.Parallel()
	ext := readFixture(t, "Streaming_History_Audio_2014-2016_0.json")
	jsonl := readFixture(t, "plays.jsonl")
	tests := []struct {
		name    string
		src     ExportSource
		total   int
		plays   int
		format  string
		checkFn func(t *testing.T, res readResult)
	}{
		{"BareJSONAnyName", bytesSource("upload.bin", ext), 7, 2, ExportFormatExtended, nil},
		{"BareJSONNoName", ExportSource{ReaderAt: bytes.NewReader(ext), Size: int64(len(ext))}, 7, 2, ExportFormatExtended, func(t *testing.T, res readResult) {
			require.Equal(t, "export", res.sum.Files[0].Name)
		}},
		{"ByteOrderMark", bytesSource("x.json", append([]byte("\xef\xbb\xbf"), ext...)), 7, 2, ExportFormatExtended, nil},
		{"Gzip", bytesSource("Streaming_History_Audio_2014-2016_0.json.gz", gzipBytes(t, ext)), 7, 2, ExportFormatExtended, nil},
		{"GzipAnyName", bytesSource("upload", gzipBytes(t, ext)), 7, 2, ExportFormatExtended, nil},
		{"GzipJSONL", bytesSource("plays.jsonl.gz", gzipBytes(t, jsonl)), 3, 3, ExportFormatJSONL, nil},
		{"JSONLAnyName", bytesSource("backup.txt", jsonl), 3, 3, ExportFormatJSONL, nil},
		{"VideoNameHint", bytesSource("Streaming_History_Video_2020.json", ext), 7, 0, ExportFormatExtended, func(t *testing.T, res readResult) {
			require.Equal(t, map[Reason]int{ReasonVideo: 7}, res.sum.Excluded)
		}},
		{"PodcastNameHint", bytesSource("StreamingHistory_podcast_3.json", readFixture(t, "StreamingHistory_music_0.json")), 3, 0, ExportFormatAccount, func(t *testing.T, res readResult) {
			require.Equal(t, map[Reason]int{ReasonEpisode: 3}, res.sum.Excluded)
		}},
		{"EmptyArray", bytesSource("x.json", []byte(" [ ] \n")), 0, 0, "", nil},
		{"Path", ExportSource{Path: filepath.Join(fixtureDir, "endsong_0.json")}, 2, 1, ExportFormatExtended, func(t *testing.T, res readResult) {
			require.Equal(t, "endsong_0.json", res.sum.Files[0].Name)
		}},
		{"MixedFormatsInOneFile", bytesSource("x.json", []byte("["+extRow()+`,{"endTime":"2024-03-01 18:42","artistName":"A","trackName":"T","msPlayed":60000}]`)), 2, 2, ExportFormatExtended, func(t *testing.T, res readResult) {
			require.Equal(t, ExportFormatAccount, res.entries[1].Format)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := readExport(t, tc.src, nil)
			require.NoError(t, res.err)
			require.Equal(t, tc.total, res.sum.Total)
			require.Equal(t, tc.plays, res.sum.Plays)
			require.Len(t, res.sum.Files, 1)
			require.Equal(t, tc.format, res.sum.Files[0].Format)
			if tc.checkFn != nil {
				tc.checkFn(t, res)
			}
		})
	}
}

func TestReadExportCorrupt(t *testing.T) {
	t.Parallel()
	row := extRow()
	ext := []byte("[" + row + "," + row + "]")
	gz := gzipBytes(t, ext)
	zipData := buildZip(t, zipFile{name: "Streaming_History_Audio_0.json", data: ext})
	// A ZIP whose stored entry is altered after writing: the CRC no longer matches.
	stored := buildZip(t, zipFile{name: "Streaming_History_Audio_0.json", data: ext, method: zipStore})
	badCRC := bytes.Replace(stored, []byte(`"android"`), []byte(`"androix"`), 1)
	tests := []struct {
		name   string
		src    ExportSource
		offset int64 // -1: not checked
	}{
		{"TruncatedInObject", bytesSource("a.json", []byte(`[{"ts":"2023-08-07T21:07:25Z","ms_pla`)), 37},
		{"TruncatedInString", bytesSource("a.json", []byte(`[{"ts":"2023-08`)), 15},
		{"TruncatedAfterComma", bytesSource("a.json", []byte("["+row+",")), int64(len(row) + 2)},
		{"TruncatedNoClose", bytesSource("a.json", []byte("["+row+"\n")), int64(len(row) + 2)},
		{"TruncatedLiteral", bytesSource("a.json", []byte(`[{"skipped":nu`)), 14},
		{"TruncatedNumber", bytesSource("a.json", []byte(`[{"ms_played":12`)), 16},
		{"OnlyOpenBracket", bytesSource("a.json", []byte(`[`)), 1},
		{"Empty", bytesSource("a.json", nil), 0},
		{"Whitespace", bytesSource("a.json", []byte(" \n\t ")), 4},
		{"DataAfterArray", bytesSource("a.json", []byte("[] x")), 3},
		{"TwoArrays", bytesSource("a.json", []byte("[]\n[]")), 3},
		{"MissingComma", bytesSource("a.json", []byte("["+row+" "+row+"]")), int64(len(row) + 2)},
		{"TrailingComma", bytesSource("a.json", []byte("["+row+",]")), int64(len(row) + 2)},
		{"BadLiteral", bytesSource("a.json", []byte(`[{"skipped":tru}]`)), 12},
		{"BadNumber", bytesSource("a.json", []byte(`[{"ms_played":01}]`)), 15},
		{"BadNumberExponent", bytesSource("a.json", []byte(`[{"ms_played":1e}]`)), 16},
		{"ControlCharInString", bytesSource("a.json", []byte("[{\"ts\":\"a\tb\"}]")), 9},
		{"BadEscape", bytesSource("a.json", []byte(`[{"ts":"a\qb"}]`)), 9},
		{"BadUnicodeEscape", bytesSource("a.json", []byte(`[{"ts":"a\u12G4"}]`)), 13},
		{"SingleQuotes", bytesSource("a.json", []byte(`[{'ts':1}]`)), 2},
		{"UnquotedKey", bytesSource("a.json", []byte(`[{ts:1}]`)), 2},
		{"MissingColon", bytesSource("a.json", []byte(`[{"ts" 1}]`)), 7},
		{"NestedUnclosed", bytesSource("a.json", []byte(`[{"x":[1,2}]`)), 10},
		{"TruncatedGzip", bytesSource("a.json.gz", gz[:len(gz)-12]), -1},
		{"GzipBadChecksum", bytesSource("a.json.gz", append(append([]byte{}, gz[:len(gz)-8]...), 0, 0, 0, 0, 0, 0, 0, 0)), -1},
		{"TruncatedZip", bytesSource("a.zip", zipData[:len(zipData)-30]), -1},
		{"ZipBadCRC", bytesSource("a.zip", badCRC), -1},
		{"JSONLTruncatedLastLine", bytesSource("plays.jsonl", []byte(`{"played_at":"2024-05-01T12:34:56.789Z","track_id":"4uLU6hMCjMI75M1A2tKUQC"}`+"\n"+`{"played_at":"2024-05-01T12:3`)), 106},
		{"JSONLBrokenFirstLine", ExportSource{FS: fstest.MapFS{"d/plays.jsonl": {Data: []byte("{oops\n")}}}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := readExport(t, tc.src, nil)
			require.Error(t, res.err)
			require.ErrorIs(t, res.err, ErrExportCorrupt, "got %v", res.err)
			var fe *ExportFileError
			require.ErrorAs(t, res.err, &fe)
			require.NotEmpty(t, fe.File)
			require.Contains(t, res.err.Error(), fe.File)
			if tc.offset >= 0 {
				require.Equal(t, tc.offset, fe.Offset, "error: %v", res.err)
				require.Contains(t, res.err.Error(), "offset")
			}
		})
	}
}

func TestReadExportUnsupported(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data []byte
	}{
		{"Text", []byte("hello world\n")},
		{"PDF", readFixture(t, "ReadMeFirst_ExtendedStreamingHistory.pdf")},
		{"JSONString", []byte(`"Streaming_History"`)},
		{"JSONNumber", []byte(`42`)},
		{"PrettyObject", readFixture(t, "Userdata.json")},
		{"CSV", []byte("played_at,track_id\n2024-05-01T12:34:56Z,x\n")},
		{"GzipOfText", gzipBytes(t, []byte("not json"))},
		{"Binary", []byte{0, 1, 2, 3, 4, 5}},
	}
	for _, tc := range tests {
		// The name does not decide the format: a text file called .zip is no ZIP.
		for _, name := range []string{"upload", "my_spotify_data.zip", "Streaming_History_Audio_0.json"} {
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				t.Parallel()
				res := readExport(t, bytesSource(name, tc.data), nil)
				require.ErrorIs(t, res.err, ErrUnsupportedFormat)
				require.Contains(t, res.err.Error(), name)
			})
		}
	}
}

func TestReadExportUnsupportedZip(t *testing.T) {
	t.Parallel()
	ext := []byte("[" + extRow() + "]")
	stored := buildZip(t, zipFile{name: "Streaming_History_Audio_0.json", data: ext, method: zipStore})
	encrypted := bytes.Clone(stored)
	for _, sig := range []struct {
		magic string
		flags int
	}{{"PK\x03\x04", 6}, {"PK\x01\x02", 8}} {
		i := bytes.Index(encrypted, []byte(sig.magic))
		require.GreaterOrEqual(t, i, 0)
		encrypted[i+sig.flags] |= 1 // general purpose flag bit 0: encrypted
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"UnknownMethod", patchZipMethod(t, stored, 99)}, // 99: AES, which archive/zip lacks
		{"Encrypted", encrypted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := readExport(t, bytesSource("a.zip", tc.data), nil)
			require.ErrorIs(t, res.err, ErrUnsupportedFormat)
			require.ErrorContains(t, res.err, "Streaming_History_Audio_0.json")
		})
	}
}

func TestReadExportNotExport(t *testing.T) {
	t.Parallel()
	t.Run("ZipWithoutListeningFiles", func(t *testing.T) {
		t.Parallel()
		data := buildZip(t,
			zipFile{name: "Spotify Account Data/"},
			zipFile{name: "Spotify Account Data/Userdata.json", data: readFixture(t, "Userdata.json")},
			zipFile{name: "Spotify Account Data/YourLibrary.json", data: []byte(`{"tracks":[]}`)},
			zipFile{name: "ReadMeFirst.pdf", data: readFixture(t, "ReadMeFirst_ExtendedStreamingHistory.pdf")},
			zipFile{name: "__MACOSX/._ReadMeFirst.pdf", data: []byte("x")},
		)
		res := readExport(t, bytesSource("my_spotify_data.zip", data), nil)
		require.ErrorIs(t, res.err, ErrNotExport)
		require.Equal(t, []string{"Spotify Account Data/Userdata.json", "Spotify Account Data/YourLibrary.json", "ReadMeFirst.pdf"}, res.sum.IgnoredFiles)
		require.Zero(t, res.sum.Total)
	})
	t.Run("EmptyZip", func(t *testing.T) {
		t.Parallel()
		res := readExport(t, bytesSource("empty.zip", buildZip(t)), nil)
		require.ErrorIs(t, res.err, ErrNotExport)
	})
	t.Run("EmptyDirectory", func(t *testing.T) {
		t.Parallel()
		res := readExport(t, ExportSource{Path: t.TempDir()}, nil)
		require.ErrorIs(t, res.err, ErrNotExport)
	})
	t.Run("OtherJSONArray", func(t *testing.T) {
		t.Parallel()
		res := readExport(t, bytesSource("SearchQueries.json", []byte(`[{"platform":"ANDROID","searchTime":"2024-01-01T10:00:00.000Z[UTC]","searchQuery":"beatles"}]`)), nil)
		require.ErrorIs(t, res.err, ErrNotExport)
		require.Zero(t, res.sum.Total)
	})
	t.Run("ArrayOfNumbers", func(t *testing.T) {
		t.Parallel()
		res := readExport(t, bytesSource("x.json", []byte(`[1,2,3]`)), nil)
		require.ErrorIs(t, res.err, ErrNotExport)
	})
	t.Run("OtherJSONLines", func(t *testing.T) {
		t.Parallel()
		res := readExport(t, bytesSource("upload", []byte("{\"a\":1}\n{\"a\":2}\n")), nil)
		require.ErrorIs(t, res.err, ErrNotExport)
	})
}

func TestReadExportCallbackError(t *testing.T) {
	t.Parallel()
	errStop := errors.New("stop here")
	calls := 0
	sum, err := ReadExport(context.Background(), ExportSource{Path: fixtureDir}, nil, func(e *ExportEntry) error {
		calls++
		if calls == 5 {
			return errStop
		}
		return nil
	})
	require.Equal(t, errStop, err, "the callback's error is returned as is")
	require.Equal(t, 5, calls)
	require.Equal(t, 5, sum.Total)
}

func TestReadExportContext(t *testing.T) {
	t.Parallel()
	t.Run("CanceledBefore", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := ReadExport(ctx, ExportSource{Path: fixtureDir}, nil, func(*ExportEntry) error { return nil })
		require.ErrorIs(t, err, context.Canceled)
	})
	t.Run("CanceledDuring", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		data := []byte("[" + strings.Repeat(extRow()+",", 2999) + extRow() + "]")
		calls := 0
		_, err := ReadExport(ctx, bytesSource("Streaming_History_Audio_0.json", data), nil, func(*ExportEntry) error {
			if calls++; calls == 10 {
				cancel()
			}
			return nil
		})
		require.ErrorIs(t, err, context.Canceled)
		require.Less(t, calls, 3000)
	})
}

func TestReadExportSourceValidation(t *testing.T) {
	t.Parallel()
	noop := func(*ExportEntry) error { return nil }
	_, err := ReadExport(context.Background(), ExportSource{}, nil, noop)
	require.ErrorContains(t, err, "exactly one")
	_, err = ReadExport(context.Background(), ExportSource{Path: fixtureDir, FS: fstest.MapFS{}}, nil, noop)
	require.ErrorContains(t, err, "exactly one")
	_, err = ReadExport(context.Background(), ExportSource{Path: fixtureDir}, nil, nil)
	require.ErrorContains(t, err, "nil callback")
	_, err = ReadExport(context.Background(), ExportSource{Path: filepath.Join(t.TempDir(), "missing.zip")}, nil, noop)
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = ReadExport(context.Background(), ExportSource{ReaderAt: bytes.NewReader(nil), Size: -1}, nil, noop)
	require.ErrorContains(t, err, "negative size")
}

func TestExclusionReasons(t *testing.T) {
	t.Parallel()
	// The values are JSON keys of the analyze/import contract: they must never change.
	require.Equal(t, []Reason{
		"too_short", "incognito", "episode", "video", "no_track_uri", "malformed", "skipped",
		"duplicate_existing", "duplicate_in_file",
	}, ExclusionReasons())
}

// TestReadExportGenerated checks every entry of a large generated export against the
// generator's own data: fields, decoded strings and exclusion reasons. The file is several
// read windows long, and one entry is larger than the initial window, so entries straddle
// refills and the window grows.
func TestReadExportGenerated(t *testing.T) {
	t.Parallel()
	rows := genExtendedRows(42, 3000)
	rows[1500].TrackName = ptr(strings.Repeat("Long name ✓ ", 30_000)) // ≈ 390 KB
	data := encodeRows(t, rows)
	require.Greater(t, len(data), 3*readBufferSize)

	type view struct {
		Index                                 int
		PlayedAt                              time.Time
		MSPlayed                              int
		TrackName, ArtistName, AlbumName, URI string
		Platform, ReasonStart, ReasonEnd      string
		Shuffle, Skipped                      bool
		Exclusion                             Reason
	}
	for _, excludeSkipped := range []bool{false, true} {
		res := readExport(t, bytesSource("Streaming_History_Audio_2014-2024_0.json", data), &ExportOptions{ExcludeSkipped: excludeSkipped})
		require.NoError(t, res.err)
		want := make([]view, len(rows))
		got := make([]view, len(res.entries))
		for i, r := range rows {
			want[i] = view{i, utc(r.TS), r.MSPlayed, deref(r.TrackName), deref(r.AlbumArtist), deref(r.AlbumName), deref(r.TrackURI),
				r.Platform, r.ReasonStart, deref(r.ReasonEnd), r.Shuffle, r.Skipped != nil && *r.Skipped, wantReason(r, excludeSkipped)}
		}
		for i, e := range res.entries {
			got[i] = view{e.Index, e.PlayedAt, e.MSPlayed, e.TrackName, e.ArtistName, e.AlbumName, e.TrackURI,
				e.Platform, e.ReasonStart, e.ReasonEnd, e.Shuffle, e.Skipped, e.Exclusion}
			if data[e.Offset] != '{' {
				require.Failf(t, "bad offset", "entry %d: offset %d is not the start of the entry", i, e.Offset)
			}
		}
		require.Equal(t, want, got)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// wantReason restates the play rules for a generated row.
func wantReason(r genRow, excludeSkipped bool) Reason {
	switch {
	case r.EpisodeURI != nil || r.EpisodeName != nil || r.AudiobookURI != nil || r.ChapterURI != nil:
		return ReasonEpisode
	case r.Incognito != nil && *r.Incognito:
		return ReasonIncognito
	case r.MSPlayed < 30_000:
		return ReasonTooShort
	case r.TrackURI == nil:
		return ReasonNoTrackURI
	case excludeSkipped && r.Skipped != nil && *r.Skipped:
		return ReasonSkipped
	}
	return ""
}

func TestParseISOTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		ok   bool
		prec time.Duration
	}{
		{"2023-08-07T21:07:25Z", true, time.Second},
		{"2024-02-29T00:00:00Z", true, time.Second},
		{"2000-02-29T00:00:00Z", true, time.Second},
		{"1900-02-29T00:00:00Z", false, 0},
		{"2023-02-29T00:00:00Z", false, 0},
		{"2023-04-31T00:00:00Z", false, 0},
		{"2023-13-01T00:00:00Z", false, 0},
		{"2023-00-01T00:00:00Z", false, 0},
		{"2023-08-00T00:00:00Z", false, 0},
		{"2023-08-07T23:59:60Z", false, 0},
		{"2023-08-07T21:07:25.1Z", true, time.Millisecond},
		{"2023-08-07T21:07:25.123456789Z", true, time.Millisecond},
		{"2023-08-07T21:07:25.Z", false, 0},
		{"2023-08-07T21:07:25.12a4Z", false, 0},
		{"2023-08-07T21:07:25+02:00", true, time.Second},
		{"2023-08-07T21:07:25.5-01:30", true, time.Millisecond},
		{"2023-08-07 21:07:25Z", false, 0},
		{"2023-08-07t21:07:25z", false, 0},
		{"2023-8-07T21:07:25Z", false, 0},
		{"", false, 0},
	}
	for _, tc := range tests {
		got, prec, ok := parseISOTime([]byte(tc.in))
		require.Equal(t, tc.ok, ok, "%q", tc.in)
		if !ok {
			continue
		}
		want, err := time.Parse(time.RFC3339Nano, tc.in)
		require.NoError(t, err, "%q", tc.in)
		require.True(t, want.Equal(got), "%q: got %v want %v", tc.in, got, want)
		require.Equal(t, time.UTC, got.Location())
		require.Equal(t, tc.prec, prec, "%q", tc.in)
	}
}
