package monitor

import (
	"archive/zip"
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/store"
)

func makeZip(t testing.TB, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range files {
		f, err := zw.Create(name)
		require.NoError(t, err)
		_, err = f.Write(data)
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

const importRowJSON = `{"ts":"2024-03-01T18:42:05Z","ms_played":201000,"master_metadata_track_name":"Song",` +
	`"master_metadata_album_artist_name":"Artist","master_metadata_album_album_name":"Album",` +
	`"spotify_track_uri":"spotify:track:4uLU6hMCjMI75M1A2tKUQC","skipped":false,"incognito_mode":false}`

// TestImportBadInput: hostile or broken uploads fail with a clear error and
// write nothing.
func TestImportBadInput(t *testing.T) {
	t.Parallel()
	audio := "Spotify Extended Streaming History/Streaming_History_Audio_2024_0.json"
	good := []byte("[" + importRowJSON + "," + importRowJSON + "]")
	deep := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	for _, tc := range []struct {
		name   string
		data   []byte
		limits spotifyhist.ExportLimits
		want   error
	}{
		{name: "NotAZip", data: []byte("PK\x03\x04 this is not really a zip archive at all"), want: spotifyhist.ErrExportCorrupt},
		{name: "NotJSON", data: []byte("%PDF-1.4 binary"), want: spotifyhist.ErrUnsupportedFormat},
		{name: "NoListeningFiles", data: makeZip(t, map[string][]byte{"Spotify Account Data/Userdata.json": []byte(`{"username":"x"}`)}), want: spotifyhist.ErrNotExport},
		{name: "TruncatedJSON", data: makeZip(t, map[string][]byte{audio: good[:len(good)-40]}), want: spotifyhist.ErrExportCorrupt},
		{name: "ZipBomb", data: makeZip(t, map[string][]byte{audio: append(append([]byte("["), bytes.Repeat([]byte(" "), 8<<20)...), ']')}), want: spotifyhist.ErrExportTooLarge},
		{name: "Oversized", data: makeZip(t, map[string][]byte{audio: good}), limits: spotifyhist.ExportLimits{MaxArchiveBytes: 100}, want: spotifyhist.ErrExportTooLarge},
		{name: "TooManyEntries", data: makeZip(t, map[string][]byte{audio: good}), limits: spotifyhist.ExportLimits{MaxEntries: 1}, want: spotifyhist.ErrExportTooLarge},
		{name: "TooDeep", data: makeZip(t, map[string][]byte{audio: []byte(deep)}), want: spotifyhist.ErrExportTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			forEachImportBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
				ctx := context.Background()
				st := open(t)
				addImportUser(t, st, "u")
				im := newTestImporter(t, st, ImporterConfig{Limits: tc.limits})
				src := bytesSource(tc.data, "upload.zip")

				_, err := im.Analyze(ctx, "u", src, nil)
				require.ErrorIs(t, err, tc.want)
				_, err = im.Execute(ctx, "u", src, nil, nil)
				require.ErrorIs(t, err, tc.want)
				require.True(t, strings.HasPrefix(err.Error(), "monitor: import: read export: "), err.Error())

				imports, err := st.ListImports(ctx, "u")
				require.NoError(t, err)
				require.Empty(t, imports, "no import is recorded")
				require.Empty(t, allPlays(t, st, "u"), "no play is written")
			})
		})
	}
}

// TestImportGoodInputSanity: the valid file the bad ones derive from imports.
func TestImportGoodInputSanity(t *testing.T) {
	t.Parallel()
	forEachImportBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		ctx := context.Background()
		st := open(t)
		addImportUser(t, st, "u")
		good := []byte("[" + importRowJSON + "," + importRowJSON + "]")
		src := bytesSource(makeZip(t, map[string][]byte{"Streaming_History_Audio_2024_0.json": good}), "upload.zip")
		res, err := newTestImporter(t, st, ImporterConfig{}).Execute(ctx, "u", src, nil, nil)
		require.NoError(t, err)
		require.Equal(t, 1, res.Imported)
		require.Equal(t, 1, res.Excluded["duplicate_in_file"], "the same row twice")
		plays := allPlays(t, st, "u")
		require.Len(t, plays, 1)
		p := plays[0]
		require.Equal(t, "4uLU6hMCjMI75M1A2tKUQC", p.TrackID)
		require.Equal(t, store.SourceImport, p.Source)
		require.Equal(t, 201000, p.MSPlayed)
		require.False(t, p.Track.Linked)
		require.Equal(t, store.Album{ID: store.ProvisionalID("album", "Album"), Name: "Album"}, p.Track.Album)
		require.Equal(t, []store.Artist{{ID: store.ProvisionalID("artist", "Artist"), Name: "Artist"}}, p.Track.Artists)
	})
}

// TestImportEmptyExport: an export without entries imports nothing, cleanly.
func TestImportEmptyExport(t *testing.T) {
	t.Parallel()
	forEachImportBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		ctx := context.Background()
		st := open(t)
		addImportUser(t, st, "u")
		src := bytesSource(makeZip(t, map[string][]byte{"Streaming_History_Audio_2024_0.json": []byte("[]")}), "empty.zip")
		res, err := newTestImporter(t, st, ImporterConfig{}).Execute(ctx, "u", src, nil, nil)
		require.NoError(t, err)
		require.Zero(t, res.Total)
		require.Zero(t, res.Imported)
		require.Equal(t, string(store.ImportDone), res.State)
		require.Empty(t, allPlays(t, st, "u"))
	})
}
