package monitor

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/store"
)

// importListCounter counts ListPlays calls.
type importListCounter struct {
	store.Store
	lists atomic.Int32
}

func (s *importListCounter) ListPlays(ctx context.Context, p *store.ListPlaysParams) ([]store.PlayWithTrack, error) {
	s.lists.Add(1)
	return s.Store.ListPlays(ctx, p)
}

// recentExport is an extended-history file of n plays of different tracks,
// three minutes apart, ending at end.
func recentExport(n int, end time.Time) (data []byte, ids []string, ts []time.Time) {
	rows := make([]string, n)
	for i := range n {
		at := end.Add(-time.Duration(n-1-i) * 3 * time.Minute).Truncate(time.Second)
		id := fmt.Sprintf("track%017d", i)
		ids, ts = append(ids, id), append(ts, at)
		rows[i] = fmt.Sprintf(`{"ts":%q,"ms_played":170000,"master_metadata_track_name":"Song %d",`+
			`"master_metadata_album_artist_name":"Artist","master_metadata_album_album_name":"Album",`+
			`"spotify_track_uri":"spotify:track:%s"}`, at.Format(time.RFC3339), i, id)
	}
	return []byte("[" + strings.Join(rows, ",\n") + "]"), ids, ts
}

// TestImportRecheck: live monitoring stores a play while an import of a
// recent export runs; the import does not store it a second time.
func TestImportRecheck(t *testing.T) {
	t.Parallel()
	data, ids, ts := recentExport(3, importNow.Add(-2*24*time.Hour))
	for _, tc := range []struct {
		name    string
		window  time.Duration
		imports int
		plays   int
	}{
		{name: "Rechecked", imports: 2, plays: 3},
		{name: "RecheckDisabled", window: -1, imports: 3, plays: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			forEachImportBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
				ctx := context.Background()
				st := open(t)
				addImportUser(t, st, "u")
				im := newTestImporter(t, st, ImporterConfig{BatchSize: 1, RecheckWindow: tc.window})
				polled := false
				res, err := im.Execute(ctx, "u", bytesSource(data, "Streaming_History_Audio_2039.json"), nil, func(u ImportUpdate) {
					if u.Phase != ImportPhaseImporting || polled {
						return
					}
					polled = true
					// The history poll stores the last play, as Spotify reports it.
					_, err := st.InsertPlays(ctx, &store.InsertPlaysParams{UserID: "u", Plays: []store.PlayInput{{
						Track:    store.Track{ID: ids[2], Name: "Song 2", Linked: true, Album: store.Album{ID: "al", Name: "Album"}, Artists: []store.Artist{{ID: "ar", Name: "Artist"}}},
						PlayedAt: ts[2].Add(742 * time.Millisecond), Source: store.SourceHistory,
					}}})
					require.NoError(t, err)
				})
				require.NoError(t, err)
				require.Equal(t, tc.imports, res.Imported)
				require.Equal(t, 3-tc.imports, res.Excluded["duplicate_existing"])
				requireResultSums(t, res)
				require.Len(t, allPlays(t, st, "u"), tc.plays)
			})
		})
	}
}

// TestImportRecheckOnlyRecent: batches older than the recheck window cost no
// extra query.
func TestImportRecheckOnlyRecent(t *testing.T) {
	t.Parallel()
	c := importCorpus(2000/importScale, 9)
	src := zipSource(t, c)
	forEachImportBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		st := &importListCounter{Store: open(t)}
		addImportUser(t, st, "u")
		_, err := newTestImporter(t, st, ImporterConfig{BatchSize: 200}).Execute(context.Background(), "u", src, nil, nil)
		require.NoError(t, err)
		require.EqualValues(t, 1, st.lists.Load(), "only the analysis lists stored plays")
	})
}
