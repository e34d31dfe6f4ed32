package dedupetest

import (
	"archive/zip"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/spotifyhist/spotifyhist/dedupe"
	"github.com/spotifyhist/spotifyhist/store"
)

var (
	oldPlatforms = []string{
		"Android OS 9 API 28 (samsung, SM-G960F)",
		"iOS 12.1.4 (iPhone9,3)",
		"Windows 10 (10.0.19041; x64)",
		"OS X 10.15.7 [x86 8]",
	}
	newPlatforms = []string{"android", "ios", "windows", "osx", "linux"}
)

// export writes the extended-history rows (and their entries) for every
// stream, with Spotify's duplicate rows.
func (g *generator) export() {
	c := g.c
	span := c.End.Sub(g.cfg.Start)
	skipFlagFrom := g.cfg.Start.Add(span * 3 / 10)
	newEra := g.cfg.Start.Add(span * 6 / 10)
	c.Rows = make([]Row, 0, len(c.Plays)+len(c.Plays)/200)
	for i := range c.Plays {
		p := &c.Plays[i]
		r := Row{
			Truth:    i,
			TS:       p.End.Truncate(time.Second).UTC(),
			MSPlayed: p.MSPlayed,
			Country:  "DE",
			Shuffle:  g.chance(0.4),
		}
		if p.End.Before(newEra) {
			r.Platform = oldPlatforms[g.rng.IntN(len(oldPlatforms))]
		} else {
			r.Platform = newPlatforms[g.rng.IntN(len(newPlatforms))]
		}
		if p.Episode {
			r.EpisodeName = g.title(4)
			r.ShowName = "The " + g.title(2) + " Show"
			r.EpisodeURI = "spotify:episode:" + g.id()
			r.ReasonStart, r.ReasonEnd = "clickrow", "endplay"
			c.Rows = append(c.Rows, r)
			continue
		}
		rec := &c.Recordings[p.Recording]
		r.TrackName, r.AlbumArtist, r.AlbumName = rec.Name, rec.AlbumArtist, rec.Album.Name
		switch {
		case p.Unavailable:
		case rec.Local:
			r.TrackURI = rec.URI
		default:
			r.TrackURI = "spotify:track:" + p.TrackID
		}
		r.ReasonStart, r.ReasonEnd = "trackdone", "trackdone"
		if g.chance(0.1) {
			r.ReasonStart = "clickrow"
		}
		if p.Skip {
			r.ReasonEnd = "fwdbtn"
			r.Skipped = !p.End.Before(skipFlagFrom)
		}
		r.Offline, r.Incognito = p.Offline, p.Incognito
		if p.Offline {
			if p.End.Before(newEra) {
				r.OfflineTS = p.Start.Unix()
			} else {
				r.OfflineTS = p.Start.UnixMilli()
			}
		}
		c.Rows = append(c.Rows, r)
		switch x := g.rng.Float64(); {
		case x < 0.002: // the same row twice
			d := r
			d.Duplicate = true
			c.Rows = append(c.Rows, d)
		case x < 0.004: // the same stream again, about a minute later
			d := r
			d.Duplicate = true
			d.TS = r.TS.Add(59*time.Second + time.Duration(g.rng.IntN(3))*time.Second)
			c.Rows = append(c.Rows, d)
		}
	}
	c.keyOf = make(map[rowKey]int)
	artists := make(map[string][]string)
	for i := range c.Rows {
		r := &c.Rows[i]
		if r.EpisodeURI != "" {
			continue
		}
		a, ok := artists[r.AlbumArtist]
		if !ok {
			a = []string{r.AlbumArtist}
			artists[r.AlbumArtist] = a
		}
		e := dedupe.Entry{
			Key:       i,
			TrackID:   g.importID(r.TrackURI),
			TrackName: r.TrackName,
			Artists:   a,
			Album:     r.AlbumName,
			PlayedAt:  r.TS,
			MSPlayed:  r.MSPlayed,
			Precision: time.Second,
			Source:    store.SourceImport,
			Excluded:  r.MSPlayed < int(MinPlay.Milliseconds()) || r.Incognito || r.TrackURI == "",
		}
		c.Entries = append(c.Entries, e)
		if !e.Excluded {
			k := rowKey{e.TrackID, e.PlayedAt.UnixMilli()}
			if _, ok := c.keyOf[k]; !ok {
				c.keyOf[k] = i
			}
		}
	}
}

// importID is the track id an import stores for a URI.
func (g *generator) importID(uri string) string {
	switch {
	case uri == "":
		return ""
	case len(uri) > len("spotify:local:") && uri[:len("spotify:local:")] == "spotify:local:":
		return g.cfg.LocalTrackID(uri)
	}
	return uri[len("spotify:track:"):]
}

// account writes account-data rows for the last 365 days.
func (g *generator) account() {
	c := g.c
	from := c.End.Add(-365 * 24 * time.Hour)
	artists := make(map[string][]string)
	for i := range c.Plays {
		p := &c.Plays[i]
		if p.End.Before(from) || p.Episode || p.Incognito || p.Unavailable {
			continue
		}
		rec := &c.Recordings[p.Recording]
		ar := AccountRow{Truth: i, EndTime: p.End.Truncate(time.Minute).UTC(), ArtistName: rec.Artists[0].Name, TrackName: rec.Name, MSPlayed: p.MSPlayed}
		c.AccountRows = append(c.AccountRows, ar)
		a, ok := artists[ar.ArtistName]
		if !ok {
			a = []string{ar.ArtistName}
			artists[ar.ArtistName] = a
		}
		c.AccountEntries = append(c.AccountEntries, dedupe.Entry{
			Key:       len(c.Rows) + len(c.AccountRows) - 1,
			TrackName: ar.TrackName,
			Artists:   a,
			PlayedAt:  ar.EndTime,
			MSPlayed:  ar.MSPlayed,
			Precision: time.Minute,
			Source:    store.SourceImport,
			Excluded:  ar.MSPlayed < int(MinPlay.Milliseconds()),
		})
	}
}

// File is one file of an export.
type File struct {
	Name string // path inside the ZIP
	Data []byte
}

// ExtendedDir and AccountDir are the folders of Spotify's ZIPs.
const (
	ExtendedDir = "Spotify Extended Streaming History/"
	AccountDir  = "Spotify Account Data/"
)

// fileSpans splits n rows into files of at most per rows.
func fileSpans(n, per int) [][2]int {
	var out [][2]int
	for from := 0; from < n; from += per {
		out = append(out, [2]int{from, min(from+per, n)})
	}
	return out
}

// ExtendedFiles returns the extended history as Spotify names and writes it
// (Streaming_History_Audio_<years>_<n>.json, one JSON array each).
func (c *Corpus) ExtendedFiles() []File {
	var out []File
	for n, sp := range fileSpans(len(c.Rows), c.Config.RowsPerFile) {
		out = append(out, File{Name: ExtendedDir + c.extendedName(n, sp), Data: c.appendExtended(nil, sp)})
	}
	return out
}

func (c *Corpus) extendedName(n int, sp [2]int) string {
	y1, y2 := c.Rows[sp[0]].TS.Year(), c.Rows[sp[1]-1].TS.Year()
	if y1 == y2 {
		return fmt.Sprintf("Streaming_History_Audio_%d_%d.json", y1, n)
	}
	return fmt.Sprintf("Streaming_History_Audio_%d-%d_%d.json", y1, y2, n)
}

func (c *Corpus) appendExtended(b []byte, sp [2]int) []byte {
	b = append(b, '[')
	for i := sp[0]; i < sp[1]; i++ {
		if i > sp[0] {
			b = append(b, ',')
		}
		b = append(b, "\n  "...)
		b = c.Rows[i].AppendJSON(b)
	}
	return append(b, "\n]\n"...)
}

// WriteExtendedZip writes the extended history as the ZIP Spotify delivers
// (with its ReadMe PDF beside the JSON files).
func (c *Corpus) WriteExtendedZip(w io.Writer) error {
	zw := zip.NewWriter(w)
	var buf []byte
	for n, sp := range fileSpans(len(c.Rows), c.Config.RowsPerFile) {
		f, err := zw.Create(ExtendedDir + c.extendedName(n, sp))
		if err != nil {
			return fmt.Errorf("dedupetest: write zip: %w", err)
		}
		// Write in slices of rows to keep memory flat.
		for from := sp[0]; from < sp[1]; from += 1000 {
			to := min(from+1000, sp[1])
			buf = buf[:0]
			if from == sp[0] {
				buf = append(buf, '[')
			}
			for i := from; i < to; i++ {
				if i > sp[0] {
					buf = append(buf, ',')
				}
				buf = append(buf, "\n  "...)
				buf = c.Rows[i].AppendJSON(buf)
			}
			if to == sp[1] {
				buf = append(buf, "\n]\n"...)
			}
			if _, err := f.Write(buf); err != nil {
				return fmt.Errorf("dedupetest: write zip: %w", err)
			}
		}
	}
	if err := writeZipFile(zw, ExtendedDir+"ReadMeFirst_ExtendedStreamingHistory.pdf", []byte("%PDF-1.4\n%%EOF\n")); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("dedupetest: write zip: %w", err)
	}
	return nil
}

// AccountFiles returns the account data (StreamingHistory_music_<n>.json).
func (c *Corpus) AccountFiles() []File {
	var out []File
	for n, sp := range fileSpans(len(c.AccountRows), 10_000) {
		b := []byte{'['}
		for i := sp[0]; i < sp[1]; i++ {
			if i > sp[0] {
				b = append(b, ',')
			}
			b = append(b, "\n  "...)
			b = c.AccountRows[i].AppendJSON(b)
		}
		b = append(b, "\n]\n"...)
		out = append(out, File{Name: fmt.Sprintf("%sStreamingHistory_music_%d.json", AccountDir, n), Data: b})
	}
	return out
}

// WriteAccountZip writes the account data as the ZIP Spotify delivers.
func (c *Corpus) WriteAccountZip(w io.Writer) error {
	zw := zip.NewWriter(w)
	for _, f := range c.AccountFiles() {
		if err := writeZipFile(zw, f.Name, f.Data); err != nil {
			return err
		}
	}
	if err := writeZipFile(zw, AccountDir+"Userdata.json", []byte(`{"username":"corpus"}`)); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("dedupetest: write zip: %w", err)
	}
	return nil
}

func writeZipFile(zw *zip.Writer, name string, data []byte) error {
	f, err := zw.Create(name)
	if err == nil {
		_, err = f.Write(data)
	}
	if err != nil {
		return fmt.Errorf("dedupetest: write zip: %w", err)
	}
	return nil
}

// AppendJSON appends the row as Spotify writes it.
func (r *Row) AppendJSON(b []byte) []byte {
	b = append(b, `{"ts": "`...)
	b = r.TS.AppendFormat(b, "2006-01-02T15:04:05Z")
	b = append(b, `", "platform": `...)
	b = appendString(b, r.Platform)
	b = append(b, `, "ms_played": `...)
	b = strconv.AppendInt(b, int64(r.MSPlayed), 10)
	b = append(b, `, "conn_country": `...)
	b = appendString(b, r.Country)
	b = append(b, `, "ip_addr": "192.0.2.1", "master_metadata_track_name": `...)
	b = appendString(b, r.TrackName)
	b = append(b, `, "master_metadata_album_artist_name": `...)
	b = appendString(b, r.AlbumArtist)
	b = append(b, `, "master_metadata_album_album_name": `...)
	b = appendString(b, r.AlbumName)
	b = append(b, `, "spotify_track_uri": `...)
	b = appendString(b, r.TrackURI)
	b = append(b, `, "episode_name": `...)
	b = appendString(b, r.EpisodeName)
	b = append(b, `, "episode_show_name": `...)
	b = appendString(b, r.ShowName)
	b = append(b, `, "spotify_episode_uri": `...)
	b = appendString(b, r.EpisodeURI)
	b = append(b, `, "audiobook_title": null, "audiobook_uri": null, "audiobook_chapter_uri": null, "audiobook_chapter_title": null, "reason_start": `...)
	b = appendString(b, r.ReasonStart)
	b = append(b, `, "reason_end": `...)
	b = appendString(b, r.ReasonEnd)
	b = append(b, `, "shuffle": `...)
	b = strconv.AppendBool(b, r.Shuffle)
	b = append(b, `, "skipped": `...)
	b = strconv.AppendBool(b, r.Skipped)
	b = append(b, `, "offline": `...)
	b = strconv.AppendBool(b, r.Offline)
	b = append(b, `, "offline_timestamp": `...)
	if r.OfflineTS == 0 {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, r.OfflineTS, 10)
	}
	b = append(b, `, "incognito_mode": `...)
	b = strconv.AppendBool(b, r.Incognito)
	return append(b, '}')
}

// AppendJSON appends the row as Spotify writes account data.
func (r *AccountRow) AppendJSON(b []byte) []byte {
	b = append(b, `{"endTime": "`...)
	b = r.EndTime.AppendFormat(b, "2006-01-02 15:04")
	b = append(b, `", "artistName": `...)
	b = appendString(b, r.ArtistName)
	b = append(b, `, "trackName": `...)
	b = appendString(b, r.TrackName)
	b = append(b, `, "msPlayed": `...)
	b = strconv.AppendInt(b, int64(r.MSPlayed), 10)
	return append(b, '}')
}

// appendString appends s as a JSON string, or null when empty.
func appendString(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}
