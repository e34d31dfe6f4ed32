package spotifyhisttest

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"
)

// ExtendedHistoryPath returns the path of an extended-history file inside
// a Spotify export ZIP, e.g.
// "Spotify Extended Streaming History/Streaming_History_Audio_2023-2024_0.json".
func ExtendedHistoryPath(firstYear, lastYear, n int) string {
	years := strconv.Itoa(firstYear)
	if lastYear != firstYear {
		years += "-" + strconv.Itoa(lastYear)
	}
	return fmt.Sprintf("Spotify Extended Streaming History/Streaming_History_Audio_%s_%d.json", years, n)
}

// AccountDataPath returns the path of an account-data music history file,
// e.g. "Spotify Account Data/StreamingHistory_music_0.json".
func AccountDataPath(n int) string {
	return fmt.Sprintf("Spotify Account Data/StreamingHistory_music_%d.json", n)
}

// verboseUntil is when exports switch from verbose platform strings to
// short ones.
var verboseUntil = time.Date(2023, 10, 1, 0, 0, 0, 0, time.UTC)

// legacyFieldsUntil is when exports switch from ip_addr_decrypted,
// user_agent_decrypted and username to ip_addr.
var legacyFieldsUntil = time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)

// skippedAlwaysFalse is the period in which one account's export reports
// skipped:false for every row.
var (
	skippedAlwaysFalseFrom = time.Date(2015, 4, 1, 0, 0, 0, 0, time.UTC)
	skippedAlwaysFalseTo   = time.Date(2022, 10, 1, 0, 0, 0, 0, time.UTC)
)

// ExportExtendedHistory renders userID's streams whose end (ts) is in
// [from, to) as one Streaming_History_Audio JSON array, as in Spotify's
// extended streaming history: every stream including short skips, private
// streams (incognito_mode), offline streams and podcast episodes; ads are
// not exported. ts is the end of the stream at second precision. Local
// files carry their names and a null URI unless SimConfig.ExportLocalURIs.
// Field quirks follow the era of each row: verbose platform strings and
// legacy field names in older rows, offline_timestamp in seconds before
// 2019 and in milliseconds (sometimes fractional) after, null
// reason_end in 2018 and skipped always false from 2015-04 to 2022-10.
func (sim *Simulator) ExportExtendedHistory(userID string, from, to time.Time) []byte {
	u := sim.get(userID)
	if u == nil {
		return []byte("[]")
	}
	r := sim.rng(3, uint64(u.idx), uint64(from.UnixMilli()), uint64(to.UnixMilli()))
	var buf bytes.Buffer
	buf.WriteByte('[')
	n := 0
	var locals []Track
	write := func(row []kv) {
		if n > 0 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
		writeObject(&buf, row, "  ")
		n++
	}
	for i := range u.streams {
		st := &u.streams[i]
		if st.kind == kindAd {
			continue
		}
		s := sim.expand(u, st, &locals)
		ts := s.End.Truncate(time.Second)
		if ts.Before(from) || !ts.Before(to) {
			continue
		}
		row := sim.exportRow(r, u, s, ts)
		write(row)
		if sim.cfg.ExportDuplicateShare > 0 && r.Float64() < sim.cfg.ExportDuplicateShare {
			dup := slices.Clone(row)
			dup[0].v = ts.Add(simExportDuplicateOffsetMin + time.Duration(r.IntN(20))*time.Second).Format(time.RFC3339)
			write(dup)
		}
	}
	if n > 0 {
		buf.WriteString("\n")
	}
	buf.WriteByte(']')
	return buf.Bytes()
}

type kv struct {
	k string
	v any
}

// writeObject writes one pretty-printed row, keys in the given order, as
// Spotify's files do (no HTML escaping).
func writeObject(buf *bytes.Buffer, row []kv, indent string) {
	buf.WriteString(indent + "{")
	for i, f := range row {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString("\n" + indent + "  ")
		writeValue(buf, f.k)
		buf.WriteString(": ")
		writeValue(buf, f.v)
	}
	buf.WriteString("\n" + indent + "}")
}

func writeValue(buf *bytes.Buffer, v any) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	buf.Truncate(buf.Len() - 1) // Encode's newline
}

func (sim *Simulator) exportRow(r interface {
	Float64() float64
	IntN(int) int
}, u *simUser, s Stream, ts time.Time) []kv {
	platform := []string{"android", "ios", "windows", "osx", "linux"}[u.idx%5]
	if ts.Before(verboseUntil) {
		platform = []string{
			"Android OS 12 API 31 (Google, Pixel 6)",
			"iOS 16.5 (iPhone14,2)",
			"Windows 10 (10.0.19045; x64)",
			"OS X 13.4.1 [x86 8]",
			"Linux [x86-64 0]",
		}[u.idx%5]
	}
	row := []kv{{"ts", ts.Format(time.RFC3339)}}
	legacy := ts.Before(legacyFieldsUntil)
	if legacy {
		row = append(row, kv{"username", sim.UserID(u.idx)})
	}
	row = append(row, kv{"platform", platform}, kv{"ms_played", s.MSPlayed}, kv{"conn_country", countries[u.country]})
	ip := fmt.Sprintf("198.51.100.%d", u.ip)
	if legacy {
		row = append(row, kv{"ip_addr_decrypted", ip}, kv{"user_agent_decrypted", nil})
	} else {
		row = append(row, kv{"ip_addr", ip})
	}
	var trackName, albumArtist, albumName, trackURI, epName, showName, epURI any
	switch s.Kind {
	case StreamTrack:
		trackName = s.Track.Name
		albumName = s.Track.Album.Name
		switch {
		case len(s.Track.Album.Artists) > 0:
			albumArtist = s.Track.Album.Artists[0].Name
		case len(s.Track.Artists) > 0:
			albumArtist = s.Track.Artists[0].Name
		}
		if !s.Track.IsLocal || sim.cfg.ExportLocalURIs {
			trackURI = s.Track.TrackURI()
		}
	case StreamEpisode:
		epName, showName, epURI = s.Episode.Name, s.Episode.Show.Name, s.Episode.EpisodeURI()
	}
	row = append(row,
		kv{"master_metadata_track_name", trackName},
		kv{"master_metadata_album_artist_name", albumArtist},
		kv{"master_metadata_album_album_name", albumName},
		kv{"spotify_track_uri", trackURI},
		kv{"episode_name", epName},
		kv{"episode_show_name", showName},
		kv{"spotify_episode_uri", epURI},
	)
	if ts.Year() >= 2024 {
		row = append(row,
			kv{"audiobook_title", nil},
			kv{"audiobook_uri", nil},
			kv{"audiobook_chapter_uri", nil},
			kv{"audiobook_chapter_title", nil},
		)
	}
	var reasonEnd any = s.ReasonEnd
	if ts.Year() == 2018 {
		reasonEnd = nil
	}
	var skipped any = s.Skipped
	switch {
	case !ts.Before(skippedAlwaysFalseFrom) && ts.Before(skippedAlwaysFalseTo):
		skipped = false
	case r.IntN(100) == 0:
		skipped = nil
	}
	// offline_timestamp is not a play time: usually near the start, in
	// seconds in older data and milliseconds later, and disagreeing with
	// offline in about a quarter of rows.
	var offlineTS any
	switch x := r.Float64(); {
	case x < 0.12:
		offlineTS = 0
	case x < 0.2:
		offlineTS = nil
	default:
		base := s.Start.Add(-time.Duration(r.IntN(5000)) * time.Millisecond)
		switch {
		case ts.Year() < 2019:
			offlineTS = base.Unix()
		case r.IntN(4) == 0:
			offlineTS = float64(base.UnixMilli()) + 0.5
		default:
			offlineTS = base.UnixMilli()
		}
	}
	offline := s.Offline
	if !offline && r.IntN(100) < 3 {
		offline = true // the flag disagrees with reality in some rows
	}
	row = append(row,
		kv{"reason_start", s.ReasonStart},
		kv{"reason_end", reasonEnd},
		kv{"shuffle", s.Shuffle},
		kv{"skipped", skipped},
		kv{"offline", offline},
		kv{"offline_timestamp", offlineTS},
		kv{"incognito_mode", s.Private},
	)
	return row
}

// ExportAccountData renders userID's music streams whose end is in
// [from, to) as a StreamingHistory_music JSON array of the account-data
// package: endTime in UTC at minute precision, names only, no URIs.
// Private streams, episodes and ads are left out.
func (sim *Simulator) ExportAccountData(userID string, from, to time.Time) []byte {
	u := sim.get(userID)
	if u == nil {
		return []byte("[]")
	}
	var buf bytes.Buffer
	buf.WriteByte('[')
	n := 0
	var locals []Track
	for i := range u.streams {
		st := &u.streams[i]
		if st.kind != kindTrack && st.kind != kindLocal || st.flags&flagPrivate != 0 {
			continue
		}
		s := sim.expand(u, st, &locals)
		if s.End.Before(from) || !s.End.Before(to) {
			continue
		}
		artist := ""
		if len(s.Track.Artists) > 0 {
			artist = s.Track.Artists[0].Name
		}
		if n > 0 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
		writeObject(&buf, []kv{
			{"endTime", s.End.UTC().Format("2006-01-02 15:04")},
			{"artistName", artist},
			{"trackName", s.Track.Name},
			{"msPlayed", s.MSPlayed},
		}, "  ")
		n++
	}
	if n > 0 {
		buf.WriteString("\n")
	}
	buf.WriteByte(']')
	return buf.Bytes()
}

// exportModTime is the fixed modification time of ZIP entries, so equal
// inputs give byte-identical archives.
var exportModTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// WriteExportZip writes files (path → content) as a ZIP archive like
// my_spotify_data.zip, entries in path order, deflated, with a fixed
// modification time.
func WriteExportZip(w io.Writer, files map[string][]byte) error {
	zw := zip.NewWriter(w)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: exportModTime})
		if err != nil {
			return fmt.Errorf("spotifyhisttest: write export zip: %w", err)
		}
		if _, err := fw.Write(files[name]); err != nil {
			return fmt.Errorf("spotifyhisttest: write export zip: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("spotifyhisttest: write export zip: %w", err)
	}
	return nil
}
