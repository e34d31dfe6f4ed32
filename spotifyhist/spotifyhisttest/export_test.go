package spotifyhisttest_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/spotifyhist/spotifyhisttest"
)

func decodeRows(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var rows []map[string]any
	require.NoError(t, json.Unmarshal(b, &rows))
	return rows
}

func TestExportExtendedHistoryMatchesTruth(t *testing.T) {
	t.Parallel()
	sim := spotifyhisttest.NewSimulator(spotifyhisttest.SimConfig{Seed: 21, Start: simStart, End: simStart.Add(72 * time.Hour), Users: 2,
		PrivateShare: 0.2, EpisodeShare: 0.1, LocalShare: 0.1})
	from, to := simStart.Add(6*time.Hour), simStart.Add(60*time.Hour)
	for _, id := range sim.UserIDs() {
		var want []spotifyhisttest.Stream
		for _, s := range sim.Streams(id) {
			ts := s.End.Truncate(time.Second)
			if s.Kind != spotifyhisttest.StreamAd && !ts.Before(from) && ts.Before(to) {
				want = append(want, s)
			}
		}
		rows := decodeRows(t, sim.ExportExtendedHistory(id, from, to))
		require.Len(t, rows, len(want))
		var sawPrivate, sawEpisode, sawLocal, sawShortSkip bool
		for i, row := range rows {
			s := want[i]
			require.Equal(t, s.End.Truncate(time.Second).Format(time.RFC3339), row["ts"])
			require.EqualValues(t, s.MSPlayed, row["ms_played"])
			require.Equal(t, s.Private, row["incognito_mode"])
			require.Equal(t, s.ReasonStart, row["reason_start"])
			require.Equal(t, s.ReasonEnd, row["reason_end"])
			require.Equal(t, s.Shuffle, row["shuffle"])
			require.Contains(t, row, "ip_addr")
			require.NotContains(t, row, "username")
			require.Contains(t, row, "audiobook_uri")
			require.Contains(t, []string{"android", "ios", "windows", "osx", "linux"}, row["platform"])
			require.Contains(t, row, "offline_timestamp")
			if sk, ok := row["skipped"].(bool); ok {
				require.Equal(t, s.Skipped, sk)
			}
			if s.Offline {
				require.Equal(t, true, row["offline"])
			}
			switch {
			case s.Kind == spotifyhisttest.StreamEpisode:
				sawEpisode = true
				require.Equal(t, s.Episode.EpisodeURI(), row["spotify_episode_uri"])
				require.Equal(t, s.Episode.Show.Name, row["episode_show_name"])
				require.Nil(t, row["spotify_track_uri"])
				require.Nil(t, row["master_metadata_track_name"])
			case s.Track.IsLocal:
				sawLocal = true
				require.Nil(t, row["spotify_track_uri"])
				require.Equal(t, s.Track.Name, row["master_metadata_track_name"])
			default:
				require.Equal(t, s.Track.TrackURI(), row["spotify_track_uri"])
				require.Equal(t, s.Track.Name, row["master_metadata_track_name"])
				require.Equal(t, s.Track.Album.Name, row["master_metadata_album_album_name"])
				require.Equal(t, s.Track.Album.Artists[0].Name, row["master_metadata_album_artist_name"])
				require.Nil(t, row["spotify_episode_uri"])
			}
			if s.Private {
				sawPrivate = true
			}
			if s.Skipped && s.MSPlayed < 30_000 {
				sawShortSkip = true
			}
		}
		require.True(t, sawPrivate && sawEpisode && sawLocal && sawShortSkip, "private %v episode %v local %v short skip %v", sawPrivate, sawEpisode, sawLocal, sawShortSkip)
	}
	require.Equal(t, "[]", string(sim.ExportExtendedHistory("nobody", from, to)))
	require.Equal(t, "[]", string(sim.ExportExtendedHistory(sim.UserID(0), from, from)))
}

func TestExportEraQuirks(t *testing.T) {
	t.Parallel()
	start := time.Date(2018, 6, 1, 0, 0, 0, 0, time.UTC)
	sim := spotifyhisttest.NewSimulator(spotifyhisttest.SimConfig{Seed: 2, Start: start, End: start.Add(48 * time.Hour), SkipRate: 0.5, OfflineShare: 0.3})
	rows := decodeRows(t, sim.ExportExtendedHistory(sim.UserID(0), start, start.Add(48*time.Hour)))
	require.NotEmpty(t, rows)
	for _, row := range rows {
		require.Equal(t, sim.UserID(0), row["username"])
		require.Contains(t, row, "ip_addr_decrypted")
		require.Contains(t, row, "user_agent_decrypted")
		require.NotContains(t, row, "ip_addr")
		require.NotContains(t, row, "audiobook_uri")
		require.Contains(t, row["platform"], " ")
		require.Nil(t, row["reason_end"], "reason_end is null throughout 2018")
		require.Equal(t, false, row["skipped"], "skipped is always false from 2015-04 to 2022-10")
		if ts, ok := row["offline_timestamp"].(float64); ok && ts != 0 {
			require.Less(t, ts, 1e10, "offline_timestamp is in seconds in older data")
		}
	}
}

func TestExportOptions(t *testing.T) {
	t.Parallel()
	sim := spotifyhisttest.NewSimulator(spotifyhisttest.SimConfig{Seed: 4, Start: simStart, End: simStart.Add(72 * time.Hour), LocalShare: 0.3, ExportLocalURIs: true, ExportDuplicateShare: 1})
	id := sim.UserID(0)
	rows := decodeRows(t, sim.ExportExtendedHistory(id, simStart, simStart.Add(72*time.Hour)))
	require.NotEmpty(t, rows)
	require.Zero(t, len(rows)%2)
	sawLocal := false
	for i := 0; i < len(rows); i += 2 {
		a, b := rows[i], rows[i+1]
		ta, err := time.Parse(time.RFC3339, a["ts"].(string))
		require.NoError(t, err)
		tb, err := time.Parse(time.RFC3339, b["ts"].(string))
		require.NoError(t, err)
		require.GreaterOrEqual(t, tb.Sub(ta), 50*time.Second)
		require.Less(t, tb.Sub(ta), 70*time.Second)
		b["ts"] = a["ts"]
		require.Equal(t, a, b, "duplicates differ only in ts")
		if uri, _ := a["spotify_track_uri"].(string); strings.HasPrefix(uri, "spotify:local:") {
			sawLocal = true
		}
	}
	require.True(t, sawLocal)
}

func TestExportAccountData(t *testing.T) {
	t.Parallel()
	sim := spotifyhisttest.NewSimulator(spotifyhisttest.SimConfig{Seed: 8, Start: simStart, PrivateShare: 0.3})
	id := sim.UserID(0)
	var want []spotifyhisttest.Stream
	for _, s := range sim.Streams(id) {
		if s.Kind == spotifyhisttest.StreamTrack && !s.Private {
			want = append(want, s)
		}
	}
	var rows []map[string]any
	require.NoError(t, json.Unmarshal(sim.ExportAccountData(id, simStart, simStart.Add(48*time.Hour)), &rows))
	require.Len(t, rows, len(want))
	for i, row := range rows {
		require.Equal(t, want[i].End.Format("2006-01-02 15:04"), row["endTime"])
		require.Equal(t, want[i].Track.Name, row["trackName"])
		require.EqualValues(t, want[i].MSPlayed, row["msPlayed"])
		require.Len(t, row, 4)
	}
}

func TestWriteExportZip(t *testing.T) {
	t.Parallel()
	sim := spotifyhisttest.NewSimulator(spotifyhisttest.SimConfig{Seed: 1, Start: simStart})
	id := sim.UserID(0)
	files := map[string][]byte{
		spotifyhisttest.ExtendedHistoryPath(2026, 2026, 0): sim.ExportExtendedHistory(id, simStart, simStart.Add(24*time.Hour)),
		spotifyhisttest.AccountDataPath(0):                 sim.ExportAccountData(id, simStart, simStart.Add(24*time.Hour)),
		"__MACOSX/._Streaming_History_Audio_2026_0.json":   []byte{0, 5, 22, 7},
	}
	require.Equal(t, "Spotify Extended Streaming History/Streaming_History_Audio_2023-2024_1.json", spotifyhisttest.ExtendedHistoryPath(2023, 2024, 1))
	var a, b bytes.Buffer
	require.NoError(t, spotifyhisttest.WriteExportZip(&a, files))
	require.NoError(t, spotifyhisttest.WriteExportZip(&b, files))
	require.Equal(t, a.Bytes(), b.Bytes(), "archives are deterministic")

	zr, err := zip.NewReader(bytes.NewReader(a.Bytes()), int64(a.Len()))
	require.NoError(t, err)
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		rc, err := f.Open()
		require.NoError(t, err)
		got, err := io.ReadAll(rc)
		require.NoError(t, err)
		rc.Close()
		require.Equal(t, files[f.Name], got)
	}
	require.Equal(t, []string{
		"Spotify Account Data/StreamingHistory_music_0.json",
		"Spotify Extended Streaming History/Streaming_History_Audio_2026_0.json",
		"__MACOSX/._Streaming_History_Audio_2026_0.json",
	}, names)
}
