package monitor

import (
	"github.com/spotifyhist/spotifyhist/store/postgres/postgrestest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/store"
	"github.com/spotifyhist/spotifyhist/store/storetest"
)

// songIDBackend opens a fresh, empty store of one backend for one test.
type songIDBackend struct {
	name string
	open func(t *testing.T) store.Store
}

// songIDBackends returns the backends the background-task tests run on:
// SQLite always, PostgreSQL when SPOTIFYHIST_TEST_DATABASE_URL is set (each
// test in its own schema, dropped afterwards).
func songIDBackends(t *testing.T) []songIDBackend {
	t.Helper()
	bs := []songIDBackend{{name: "SQLite", open: func(t *testing.T) store.Store { return openTestSQLite(t) }}}
	if url := postgrestest.OptionalURL(t); url != "" {
		bs = append(bs, songIDBackend{name: "PostgreSQL", open: func(t *testing.T) store.Store { return openTestPostgres(t, url) }})
	}
	return bs
}

// songIDTime is the base time of the song-ID tests.
var songIDTime = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func songIDTrack(id, name string, artistIDs ...string) store.Track {
	t := store.Track{ID: id, Name: name, DurationMS: 200_000, Linked: true, Album: store.Album{ID: "album" + id, Name: "Album " + id}}
	for _, a := range artistIDs {
		t.Artists = append(t.Artists, store.Artist{ID: a, Name: "Artist " + a})
	}
	return t
}

func TestUpdateSongIDs(t *testing.T) {
	t.Parallel()
	for _, b := range songIDBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()

			t.Run("MergesIntoMostRecentlyPlayed", func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				st := b.open(t)
				storetest.NewUser(ctx, t, st, &storetest.UserOpts{ID: "alice", Now: songIDTime})
				storetest.NewUser(ctx, t, st, &storetest.UserOpts{ID: "bob", Now: songIDTime})

				// The same recording under its old and its re-issued id,
				// with the artists in another order; the newest play is of
				// the new id.
				oldID := songIDTrack("oldid", "Halo (Remastered)", "artistA", "artistB")
				newID := songIDTrack("newid", "halo – remastered", "artistB", "artistA")
				other := songIDTrack("other", "Halo (Remastered)", "artistC")
				t1, t2, t3 := songIDTime.Add(-3*time.Hour), songIDTime.Add(-2*time.Hour), songIDTime.Add(-time.Hour)
				storetest.InsertPlays(ctx, t, st, "alice",
					storetest.PlayOf(oldID, t1, 180_000),
					storetest.PlayOf(oldID, t2, 180_000), // the same instant as a play of newID: dropped
					storetest.PlayOf(newID, t2, 180_000),
					storetest.PlayOf(newID, t3, 180_000),
					storetest.PlayOf(other, t3, 180_000),
				)
				storetest.InsertPlays(ctx, t, st, "bob", storetest.PlayOf(oldID, t1, 60_000))

				// A playlist row that refers to the old id follows the merge.
				pl := store.Playlist{ID: "playlist1", Name: "Mix"}
				require.NoError(t, st.SyncOwnedPlaylists(ctx, &store.SyncOwnedPlaylistsParams{UserID: "alice", Playlists: []store.Playlist{pl}, Now: songIDTime}))
				require.NoError(t, st.ReplacePlaylistTracks(ctx, &store.ReplacePlaylistTracksParams{
					PlaylistID: pl.ID, SnapshotID: "s1", Now: songIDTime,
					Tracks: []store.PlaylistTrack{{Position: 0, Track: oldID, Status: store.PlaylistTrackPlayable}},
				}))

				res, err := UpdateSongIDs(ctx, st)
				require.NoError(t, err)
				require.Equal(t, &SongIDResult{Groups: 1, TracksMerged: 1, PlaysMoved: 2}, res)

				_, err = st.GetTrack(ctx, oldID.ID)
				require.ErrorIs(t, err, store.ErrNotFound, "the old id is gone")
				_, err = st.GetTrack(ctx, other.ID)
				require.NoError(t, err, "a track by other artists is not merged")

				plays, err := st.ListPlays(ctx, &store.ListPlaysParams{UserID: "alice"})
				require.NoError(t, err)
				got := make([]string, 0, len(plays))
				for _, p := range plays {
					got = append(got, p.PlayedAt.UTC().Format(time.TimeOnly)+" "+p.TrackID)
				}
				require.Equal(t, []string{
					"09:00:00 newid",
					"10:00:00 newid",
					"11:00:00 newid",
					"11:00:00 other",
				}, got, "alice's plays, moved, with the would-be duplicate dropped")
				plays, err = st.ListPlays(ctx, &store.ListPlaysParams{UserID: "bob"})
				require.NoError(t, err)
				require.Len(t, plays, 1)
				require.Equal(t, "newid", plays[0].TrackID, "bob's play moved too")

				rows, err := st.ListPlaylistTracks(ctx, "alice", pl.ID)
				require.NoError(t, err)
				require.Len(t, rows, 1)
				require.Equal(t, "newid", rows[0].Track.ID)
				require.Equal(t, 3, rows[0].Plays)

				res, err = UpdateSongIDs(ctx, st)
				require.NoError(t, err)
				require.Equal(t, &SongIDResult{}, res, "a second run has nothing to do")
			})

			t.Run("NeverMergesTracksWithoutKnownArtists", func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				st := b.open(t)
				storetest.NewUser(ctx, t, st, &storetest.UserOpts{ID: "alice", Now: songIDTime})

				tracks := []store.Track{
					// Linked, but Spotify gave no artists.
					songIDTrack("intro1", "Intro"),
					songIDTrack("intro2", "Intro"),
					// Same name, different artists.
					songIDTrack("intro3", "Intro", "artistA"),
					songIDTrack("intro4", "Intro", "artistB"),
				}
				// Known only by name from an export: not linked, never a
				// candidate even with the same provisional artist.
				for _, id := range []string{"intro5", "intro6"} {
					tracks = append(tracks, store.Track{
						ID: id, Name: "Intro",
						Album:   store.Album{ID: store.ProvisionalID("album", "Debut"), Name: "Debut"},
						Artists: []store.Artist{{ID: store.ProvisionalID("artist", "Band"), Name: "Band"}},
					})
				}
				plays := make([]store.PlayInput, 0, len(tracks))
				for i, tr := range tracks {
					plays = append(plays, storetest.PlayOf(tr, songIDTime.Add(time.Duration(i)*time.Minute), 90_000))
				}
				storetest.InsertPlays(ctx, t, st, "alice", plays...)

				res, err := UpdateSongIDs(ctx, st)
				require.NoError(t, err)
				require.Equal(t, &SongIDResult{}, res)
				for _, tr := range tracks {
					_, err := st.GetTrack(ctx, tr.ID)
					require.NoError(t, err, "track %s must survive", tr.ID)
				}
			})

			t.Run("DatabaseErrorIsReturned", func(t *testing.T) {
				t.Parallel()
				st := b.open(t)
				require.NoError(t, st.Close())
				res, err := UpdateSongIDs(t.Context(), st)
				require.ErrorContains(t, err, "monitor: update song ids: find candidates")
				require.Equal(t, &SongIDResult{}, res)
			})
		})
	}
}
