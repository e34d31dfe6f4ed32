package spotifyhist

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// genRow is one synthetic extended-history row, encoded with encoding/json so that the
// reader is checked against an independent encoder.
type genRow struct {
	TS               string   `json:"ts"`
	Username         string   `json:"username,omitempty"`
	Platform         string   `json:"platform"`
	MSPlayed         int      `json:"ms_played"`
	ConnCountry      string   `json:"conn_country"`
	IPAddr           string   `json:"ip_addr"`
	TrackName        *string  `json:"master_metadata_track_name"`
	AlbumArtist      *string  `json:"master_metadata_album_artist_name"`
	AlbumName        *string  `json:"master_metadata_album_album_name"`
	TrackURI         *string  `json:"spotify_track_uri"`
	EpisodeName      *string  `json:"episode_name"`
	EpisodeShowName  *string  `json:"episode_show_name"`
	EpisodeURI       *string  `json:"spotify_episode_uri"`
	AudiobookTitle   *string  `json:"audiobook_title"`
	AudiobookURI     *string  `json:"audiobook_uri"`
	ChapterURI       *string  `json:"audiobook_chapter_uri"`
	ChapterTitle     *string  `json:"audiobook_chapter_title"`
	ReasonStart      string   `json:"reason_start"`
	ReasonEnd        *string  `json:"reason_end"`
	Shuffle          bool     `json:"shuffle"`
	Skipped          *bool    `json:"skipped"`
	Offline          *bool    `json:"offline"`
	OfflineTimestamp *float64 `json:"offline_timestamp"`
	Incognito        *bool    `json:"incognito_mode"`
}

func ptr[T any](v T) *T { return &v }

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func genID(rng *rand.Rand) string {
	b := make([]byte, 22)
	for i := range b {
		b[i] = base62[rng.IntN(len(base62))]
	}
	return string(b)
}

var genWords = []string{"Love", "Night", "Über", "Café", "Río", "東京", "Ночь", "Don't", "Stop", "\"Live\"", "Remastered 2011", "Back\\Slash", "Heart", "Fire", "Blue", "—", "Sky", "🎵", "Song", "Dreams"}

func genName(rng *rand.Rand) string {
	n := 1 + rng.IntN(4)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = genWords[rng.IntN(len(genWords))]
	}
	return strings.Join(parts, " ")
}

// genCatalog is a fixed pool of tracks, replayed with a skewed distribution as real
// listening is.
type genTrack struct{ uri, name, artist, album string }

func genCatalog(rng *rand.Rand, n int) []genTrack {
	artists := make([]string, n/8+1)
	for i := range artists {
		artists[i] = genName(rng)
	}
	out := make([]genTrack, n)
	for i := range out {
		out[i] = genTrack{
			uri:    "spotify:track:" + genID(rng),
			name:   genName(rng),
			artist: artists[rng.IntN(len(artists))],
			album:  genName(rng),
		}
	}
	return out
}

var genPlatforms = []string{"android", "ios", "windows", "osx", "linux", "Android OS 7.0 API 24 (samsung, SM-G930F)", "not_applicable"}
var genReasons = []string{"trackdone", "fwdbtn", "clickrow", "playbtn", "backbtn", "appload", "remote", "endplay", "unknown"}

// genExtendedRows makes n realistic rows: mostly tracks, some episodes, audiobooks,
// unavailable tracks, incognito and short streams, with every nullable field sometimes null.
func genExtendedRows(seed uint64, n int) []genRow {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	cat := genCatalog(rng, max(n/6, 10))
	t := time.Date(2014, 3, 1, 10, 0, 0, 0, time.UTC)
	rows := make([]genRow, n)
	for i := range rows {
		t = t.Add(time.Duration(30+rng.IntN(600)) * time.Second)
		r := genRow{
			TS:          t.Format(time.RFC3339),
			Platform:    genPlatforms[rng.IntN(len(genPlatforms))],
			MSPlayed:    rng.IntN(400_000),
			ConnCountry: "DE",
			IPAddr:      fmt.Sprintf("192.0.2.%d", rng.IntN(256)),
			ReasonStart: genReasons[rng.IntN(len(genReasons))],
			ReasonEnd:   ptr(genReasons[rng.IntN(len(genReasons))]),
			Shuffle:     rng.IntN(2) == 0,
			Skipped:     ptr(rng.IntN(5) == 0),
			Offline:     ptr(false),
			Incognito:   ptr(rng.IntN(50) == 0),
		}
		if i%3 == 0 {
			r.Username = "user"
		}
		switch k := rng.IntN(100); {
		case k < 4: // podcast episode
			r.EpisodeName, r.EpisodeShowName, r.EpisodeURI = ptr(genName(rng)), ptr(genName(rng)), ptr("spotify:episode:"+genID(rng))
		case k < 5: // audiobook chapter
			r.AudiobookTitle, r.AudiobookURI = ptr(genName(rng)), ptr("spotify:audiobook:"+genID(rng))
			r.ChapterURI, r.ChapterTitle = ptr("spotify:chapter:"+genID(rng)), ptr("Chapter 1")
		case k < 6: // unavailable track
			tr := cat[rng.IntN(len(cat))]
			r.TrackName, r.AlbumArtist, r.AlbumName = ptr(tr.name), ptr(tr.artist), ptr(tr.album)
		default:
			// Skewed replays: low indexes far more often.
			tr := cat[int(float64(len(cat))*rng.Float64()*rng.Float64())]
			r.TrackName, r.AlbumArtist, r.AlbumName, r.TrackURI = ptr(tr.name), ptr(tr.artist), ptr(tr.album), ptr(tr.uri)
		}
		switch rng.IntN(4) {
		case 0:
			r.OfflineTimestamp = ptr(float64(t.Unix()))
		case 1:
			r.OfflineTimestamp = ptr(float64(t.UnixMilli()))
		case 2:
			r.OfflineTimestamp = ptr(float64(t.Unix()) + 0.25)
		}
		if rng.IntN(10) == 0 {
			r.ReasonEnd, r.Skipped, r.Offline, r.Incognito = nil, nil, nil, nil
		}
		rows[i] = r
	}
	return rows
}

// encodeRows encodes rows as Spotify does: one JSON array, one element per line.
func encodeRows(tb testing.TB, rows any) []byte {
	tb.Helper()
	raw, err := json.Marshal(rows)
	require.NoError(tb, err)
	var elems []json.RawMessage
	require.NoError(tb, json.Unmarshal(raw, &elems))
	var b bytes.Buffer
	b.WriteString("[\n")
	for i, e := range elems {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString("  ")
		b.Write(e)
	}
	b.WriteString("\n]")
	return b.Bytes()
}

// zipFile is one entry of a test ZIP.
type zipFile struct {
	name   string
	data   []byte
	method uint16 // zip.Deflate by default; zipStore for zip.Store
}

// zipStore asks buildZip for an uncompressed entry (zip.Store is 0, the default value).
const zipStore = 0xfffe

func buildZip(tb testing.TB, files ...zipFile) []byte {
	tb.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, f := range files {
		m := f.method
		switch {
		case m == zipStore || strings.HasSuffix(f.name, "/"):
			m = zip.Store
		case m == 0:
			m = zip.Deflate
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: m})
		require.NoError(tb, err)
		_, err = w.Write(f.data)
		require.NoError(tb, err)
	}
	require.NoError(tb, zw.Close())
	return b.Bytes()
}

// genExportZip splits n rows into files of about 16,000 rows (10–12 MB), as Spotify does.
func genExportZip(tb testing.TB, seed uint64, n int) (zipData []byte, uncompressed int64) {
	tb.Helper()
	rows := genExtendedRows(seed, n)
	var files []zipFile
	for i, part := 0, 0; i < len(rows); part++ {
		j := min(i+16_000, len(rows))
		data := encodeRows(tb, rows[i:j])
		uncompressed += int64(len(data))
		files = append(files, zipFile{
			name: fmt.Sprintf("Spotify Extended Streaming History/Streaming_History_Audio_%d_%d.json", 2014+part, part),
			data: data,
		})
		i = j
	}
	files = append(files, zipFile{name: "Spotify Extended Streaming History/ReadMeFirst_ExtendedStreamingHistory.pdf", data: []byte("%PDF-1.4\n")})
	return buildZip(tb, files...), uncompressed
}

// patchZipMethod sets the compression method of every entry of a ZIP, in the local and the
// central headers, to produce archives zip.Writer refuses to write.
func patchZipMethod(tb testing.TB, data []byte, method uint16) []byte {
	tb.Helper()
	out := bytes.Clone(data)
	n := 0
	for i := 0; i+12 <= len(out); i++ {
		switch string(out[i : i+4]) {
		case "PK\x03\x04":
			binary.LittleEndian.PutUint16(out[i+8:], method)
			n++
		case "PK\x01\x02":
			binary.LittleEndian.PutUint16(out[i+10:], method)
			n++
		}
	}
	require.Positive(tb, n)
	return out
}
