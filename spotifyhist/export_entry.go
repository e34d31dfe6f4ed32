package spotifyhist

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// emit turns the parsed row into an ExportEntry, counts it and hands it to the callback.
// off is the stream offset of the entry.
func (r *exportReader) emit(fs *fileState, off int64) error {
	if m := r.lim.MaxEntries; m >= 0 && r.sum.Total >= m {
		return &ExportLimitError{Limit: LimitEntries, Max: int64(m), Value: int64(r.sum.Total) + 1, File: fs.name}
	}
	row := &r.p.row
	if fs.index == 0 && fs.kind == fileSingle && !row.recognised() {
		// A single file of unknown name must show it is listening history from its first
		// entry, so that another JSON file is refused rather than read as malformed rows.
		return fmt.Errorf("spotifyhist: read export: %s: the first entry has none of the keys ts, endTime, played_at: %w", fs.name, ErrNotExport)
	}
	e := &ExportEntry{File: fs.name, Index: fs.index, Offset: off}
	r.buildEntry(e, fs)

	fs.index++
	fi := &r.sum.Files[fs.info]
	fi.Entries++
	if fi.Format == "" && e.Exclusion != ReasonMalformed {
		fi.Format = e.Format
		fs.format = e.Format
	}
	r.sum.Total++
	if e.Exclusion == "" {
		r.sum.Plays++
	} else {
		r.sum.Excluded[e.Exclusion]++
	}
	if r.sum.Total%1024 == 0 {
		if err := r.ctx.Err(); err != nil {
			return err
		}
	}
	return r.fn(e)
}

// recognised reports whether the row is an object with a timestamp key of a known format.
func (row *rawRow) recognised() bool {
	return row.isObject && (row.f[fTS].kind != kAbsent || row.f[fEndTime].kind != kAbsent || row.f[fPlayedAt].kind != kAbsent)
}

// buildEntry fills e from r.p.row.
func (r *exportReader) buildEntry(e *ExportEntry, fs *fileState) {
	c := &r.conv
	*c = rowConv{r: r, b: r.p.b, row: &r.p.row}
	kind := fs.kind
	if c.row.isObject {
		c.gather()
	}
	switch {
	case !c.row.isObject:
		e.Format = fs.format
		e.Exclusion = ReasonMalformed
		return
	case c.row.f[fTS].kind != kAbsent:
		c.extended(e)
	case c.row.f[fEndTime].kind != kAbsent:
		c.account(e, kind)
	case c.row.f[fPlayedAt].kind != kAbsent:
		c.jsonl(e)
	default:
		e.Format = fs.format
		e.Exclusion = ReasonMalformed
		return
	}
	switch {
	case c.bad:
		e.Exclusion = ReasonMalformed
	case kind == fileVideo:
		e.Kind, e.Exclusion = KindVideo, ReasonVideo
	case e.Kind == KindEpisode || e.Kind == KindAudiobook:
		e.Exclusion = ReasonEpisode
	case e.Incognito:
		e.Exclusion = ReasonIncognito
	case e.Format != ExportFormatJSONL && int64(e.MSPlayed) < r.minPlayMS:
		e.Exclusion = ReasonTooShort
	case e.Format == ExportFormatExtended && e.TrackURI == "":
		e.Exclusion = ReasonNoTrackURI
	case r.excludeSkipped && e.Skipped:
		e.Exclusion = ReasonSkipped
	}
}

// rowConv reads typed values out of a raw row; a value of the wrong type sets bad.
type rowConv struct {
	r   *exportReader
	b   []byte
	row *rawRow
	bad bool
	// all holds every string value of the row but the low-cardinality ones, decoded, in
	// one allocation; spans locate each field in it.
	all   string
	spans [numFields]struct{ s, e int }
}

// lowCardinality marks fields with a handful of distinct values, interned instead.
var lowCardinality = [numFields]bool{fPlatform: true, fReasonStart: true, fReasonEnd: true, fSource: true}

// gather decodes the row's string values into c.all.
func (c *rowConv) gather() {
	buf := c.r.rowBuf[:0]
	for fi := range c.row.f {
		f := &c.row.f[fi]
		if f.kind != kString || lowCardinality[fi] || f.s == f.e {
			continue
		}
		start := len(buf)
		if f.esc {
			buf = appendUnescaped(buf, c.b[f.s:f.e])
		} else {
			buf = append(buf, c.b[f.s:f.e]...)
		}
		if v := buf[start:]; !utf8.Valid(v) || bytes.IndexByte(v, 0) >= 0 {
			clean := sanitizeString(string(v))
			buf = append(buf[:start], clean...)
		}
		c.spans[fi].s, c.spans[fi].e = start, len(buf)
	}
	c.r.rowBuf = buf
	if len(buf) > 0 {
		c.all = string(buf)
	}
}

// str returns a string field; null and absent are "".
func (c *rowConv) str(fi int) string {
	f := &c.row.f[fi]
	switch f.kind {
	case kString:
		if lowCardinality[fi] {
			return c.r.stringOf(c.b[f.s:f.e], f.esc)
		}
		return c.all[c.spans[fi].s:c.spans[fi].e]
	case kAbsent, kNull:
		return ""
	}
	c.bad = true
	return ""
}

// flag returns a boolean field; null and absent are false.
func (c *rowConv) flag(fi int) bool {
	switch c.row.f[fi].kind {
	case kTrue:
		return true
	case kFalse, kAbsent, kNull:
		return false
	}
	c.bad = true
	return false
}

// count returns a non-negative integer field; ok is false when null or absent.
func (c *rowConv) count(fi int) (n int, ok bool) {
	f := &c.row.f[fi]
	switch f.kind {
	case kAbsent, kNull:
		return 0, false
	case kNumber:
		if v, good := parseCount(c.b[f.s:f.e]); good {
			return v, true
		}
	}
	c.bad = true
	return 0, false
}

// number returns a numeric field; null and absent are 0.
func (c *rowConv) number(fi int) float64 {
	f := &c.row.f[fi]
	switch f.kind {
	case kAbsent, kNull:
		return 0
	case kNumber:
		if v, err := strconv.ParseFloat(string(c.b[f.s:f.e]), 64); err == nil {
			return v
		}
	}
	c.bad = true
	return 0
}

// timestamp parses a string field with parse; a missing or unparseable value sets bad.
func (c *rowConv) timestamp(fi int, parse func([]byte) (time.Time, time.Duration, bool)) (time.Time, time.Duration) {
	f := &c.row.f[fi]
	if f.kind != kString {
		c.bad = true
		return time.Time{}, 0
	}
	raw := c.b[f.s:f.e]
	if f.esc {
		c.r.scratch = appendUnescaped(c.r.scratch[:0], raw)
		raw = c.r.scratch
	}
	t, prec, ok := parse(raw)
	if !ok {
		c.bad = true
	}
	return t, prec
}

func (c *rowConv) extended(e *ExportEntry) {
	e.Format = ExportFormatExtended
	e.PlayedAt, e.Precision = c.timestamp(fTS, parseISOTime)
	ms, ok := c.count(fMSPlayed)
	if !ok {
		c.bad = true
	}
	e.MSPlayed = ms
	e.TrackName = c.str(fTrackName)
	e.ArtistName = c.str(fAlbumArtist)
	e.AlbumName = c.str(fAlbumName)
	e.TrackURI = c.str(fTrackURI)
	if e.TrackURI != "" {
		if id, ok := parseTrackURI(e.TrackURI); ok {
			e.TrackID = id
		} else if !strings.HasPrefix(e.TrackURI, "spotify:local:") {
			c.bad = true
		}
	}
	e.ReasonStart = c.str(fReasonStart)
	e.ReasonEnd = c.str(fReasonEnd)
	e.Platform = c.str(fPlatform)
	e.Shuffle = c.flag(fShuffle)
	e.Skipped = c.flag(fSkipped)
	e.Offline = c.flag(fOffline)
	e.Incognito = c.flag(fIncognito)
	e.OfflineAt = offlineTime(c.number(fOfflineTS))

	e.Kind = KindTrack
	episodeURI, episodeName, show := c.str(fEpisodeURI), c.str(fEpisodeName), c.str(fShowName)
	bookTitle, bookURI := c.str(fBookTitle), c.str(fBookURI)
	chapterURI, chapterTitle := c.str(fChapterURI), c.str(fChapterTitle)
	switch {
	case episodeURI != "" || episodeName != "":
		e.Kind, e.EpisodeURI, e.EpisodeName, e.ShowName = KindEpisode, episodeURI, episodeName, show
	case bookURI != "" || chapterURI != "" || bookTitle != "" || chapterTitle != "":
		e.Kind, e.EpisodeName, e.ShowName = KindAudiobook, chapterTitle, bookTitle
		e.EpisodeURI = cmpOr(chapterURI, bookURI)
	}
}

func (c *rowConv) account(e *ExportEntry, kind fileKind) {
	e.Format = ExportFormatAccount
	e.PlayedAt, e.Precision = c.timestamp(fEndTime, parseAccountTime)
	ms, ok := c.count(fAcctMS)
	if !ok {
		c.bad = true
	}
	e.MSPlayed = ms
	artist, track := c.str(fArtistName), c.str(fAcctTrack)
	podcast, show, episode := c.str(fPodcastName), c.str(fAcctShow), c.str(fAcctEpisode)
	hasPodcastKeys := c.row.f[fPodcastName].kind != kAbsent || c.row.f[fAcctShow].kind != kAbsent || c.row.f[fAcctEpisode].kind != kAbsent
	if kind == fileAccountPodcast || hasPodcastKeys {
		// Legacy files put the show in artistName and the episode in trackName.
		e.Kind = KindEpisode
		e.ShowName = cmpOr(podcast, show, artist)
		e.EpisodeName = cmpOr(episode, track)
		return
	}
	e.Kind = KindTrack
	e.TrackName, e.ArtistName = track, artist
	if track == "" {
		c.bad = true // no URI and no name: nothing identifies the track
	}
}

// jsonlSources are the accepted values of the JSON Lines "source".
func validJSONLSource(s string) bool {
	return s == "" || s == "history" || s == "realtime" || s == "import"
}

func (c *rowConv) jsonl(e *ExportEntry) {
	e.Format = ExportFormatJSONL
	e.Kind = KindTrack
	e.PlayedAt, e.Precision = c.timestamp(fPlayedAt, parseISOTime)
	e.Precision = time.Millisecond
	e.TrackID = c.str(fTrackID)
	switch {
	case e.TrackID == "":
		c.bad = true
	case isBase62ID(e.TrackID):
		e.TrackURI = "spotify:track:" + e.TrackID
	case strings.HasPrefix(e.TrackID, "spotify:track:"):
		if id, ok := parseTrackURI(e.TrackID); ok {
			e.TrackURI, e.TrackID = e.TrackID, id
		}
	case strings.HasPrefix(e.TrackID, "spotify:local:"):
		e.TrackURI = e.TrackID
	}
	e.TrackName = c.str(fJSONLTrack)
	e.AlbumName = c.str(fJSONLAlbum)
	if ms, ok := c.count(fMSPlayed); ok {
		e.MSPlayed = ms
	}
	e.Source = c.str(fSource)
	if !validJSONLSource(e.Source) {
		c.bad = true
	}
	switch f := &c.row.f[fArtists]; f.kind {
	case kAbsent, kNull:
	case kArray:
		e.Artists = c.stringArray(f)
		if len(e.Artists) > 0 {
			e.ArtistName = e.Artists[0]
		}
	default:
		c.bad = true
	}
}

// stringArray decodes an array of strings (already validated JSON); any other element
// sets bad.
func (c *rowConv) stringArray(f *rawField) []string {
	b := c.b[:f.e]
	i := skipSpace(b, f.s+1)
	if b[i] == ']' {
		return []string{}
	}
	var out []string
	p := parser{b: b, final: true, maxDepth: hardMaxDepth}
	for {
		if b[i] != '"' {
			c.bad = true
			return nil
		}
		s, e, esc, next, err := p.scanString(i)
		if err != nil { // cannot happen: validated
			c.bad = true
			return nil
		}
		v := b[s:e]
		if esc {
			c.r.scratch = appendUnescaped(c.r.scratch[:0], v)
			v = c.r.scratch
		}
		out = append(out, sanitizeString(string(v)))
		i = skipSpace(b, next)
		if b[i] == ']' {
			return out
		}
		i = skipSpace(b, i+1) // ','
	}
}

// stringOf converts raw string content to a string: unescaped, invalid UTF-8 and NUL
// bytes replaced by U+FFFD (names go to databases that reject both), and interned. It is
// used for the low-cardinality fields (platform, reasons, source).
func (r *exportReader) stringOf(raw []byte, esc bool) string {
	if esc {
		r.scratch = appendUnescaped(r.scratch[:0], raw)
		raw = r.scratch
	}
	return r.strs.get(raw)
}

// Interning keeps one copy of each low-cardinality value, up to a bounded number. (Interning
// names and URIs too was measured: the map lookups cost more than one allocation per entry.)
const (
	maxInternLen     = 64
	maxInternEntries = 4096
)

type internTable struct {
	m map[string]string
}

func (t *internTable) init() { t.m = make(map[string]string, 1024) }

func (t *internTable) get(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > maxInternLen {
		return sanitizeString(string(b))
	}
	if s, ok := t.m[string(b)]; ok {
		return s
	}
	s := sanitizeString(string(b))
	if len(t.m) < maxInternEntries {
		if len(s) == len(b) && s == string(b) {
			t.m[s] = s
		} else {
			t.m[string(b)] = s
		}
	}
	return s
}

func sanitizeString(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

func cmpOr(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// parseCount parses a JSON number that must be a non-negative integer fitting in an int.
func parseCount(b []byte) (int, bool) {
	if len(b) > 0 && len(b) <= 18 {
		n := 0
		for _, c := range b {
			if !isDigit(c) {
				n = -1
				break
			}
			n = n*10 + int(c-'0')
		}
		if n >= 0 {
			return n, true
		}
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil || v < 0 || v != math.Trunc(v) || v > 1<<53 {
		return 0, false
	}
	return int(v), true
}

// offlineTime converts offline_timestamp: seconds in older exports, milliseconds later.
// Values of 1e11 and more are milliseconds (1e11 seconds is past the year 5000).
func offlineTime(v float64) time.Time {
	if v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return time.Time{}
	}
	if v < 1e11 {
		v *= 1000
	}
	if v > 1e15 { // beyond year 33658: not a timestamp
		return time.Time{}
	}
	return time.UnixMilli(int64(v)).UTC()
}

// isBase62ID reports a Spotify ID: 22 base-62 characters.
func isBase62ID(s string) bool {
	if len(s) != 22 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isDigit(c) && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// parseTrackURI returns the ID of "spotify:track:<22 base-62>".
func parseTrackURI(uri string) (string, bool) {
	id, ok := strings.CutPrefix(uri, "spotify:track:")
	if !ok || !isBase62ID(id) {
		return "", false
	}
	return id, true
}

// digits2 parses two ASCII digits.
func digits2(b []byte) (int, bool) {
	if !isDigit(b[0]) || !isDigit(b[1]) {
		return 0, false
	}
	return int(b[0]-'0')*10 + int(b[1]-'0'), true
}

// civilDate parses "YYYY-MM-DD" and checks it is a real date.
func civilDate(b []byte) (y, m, d int, ok bool) {
	if b[4] != '-' || b[7] != '-' {
		return 0, 0, 0, false
	}
	hi, ok1 := digits2(b[0:2])
	lo, ok2 := digits2(b[2:4])
	m, ok3 := digits2(b[5:7])
	d, ok4 := digits2(b[8:10])
	if !ok1 || !ok2 || !ok3 || !ok4 || m < 1 || m > 12 || d < 1 {
		return 0, 0, 0, false
	}
	y = hi*100 + lo
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m]
	if m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		days = 29
	}
	return y, m, d, d <= days
}

// clock parses "HH:MM" or "HH:MM:SS" (len 5 or 8).
func clock(b []byte) (h, mi, s int, ok bool) {
	h, ok1 := digits2(b[0:2])
	mi, ok2 := digits2(b[3:5])
	if !ok1 || !ok2 || b[2] != ':' || h > 23 || mi > 59 {
		return 0, 0, 0, false
	}
	if len(b) == 8 {
		var ok3 bool
		s, ok3 = digits2(b[6:8])
		if !ok3 || b[5] != ':' || s > 59 {
			return 0, 0, 0, false
		}
	}
	return h, mi, s, true
}

// parseISOTime parses an RFC 3339 time, fast for Spotify's "2023-08-07T21:07:25Z" and
// "…25.123Z". Precision is a second, or a millisecond with a fraction.
func parseISOTime(b []byte) (time.Time, time.Duration, bool) {
	if len(b) >= 20 && b[len(b)-1] == 'Z' && b[10] == 'T' {
		y, mo, d, ok := civilDate(b[:10])
		if !ok {
			return time.Time{}, 0, false
		}
		h, mi, s, ok := clock(b[11:19])
		if !ok {
			return time.Time{}, 0, false
		}
		frac := b[19 : len(b)-1]
		ns, prec := 0, time.Second
		if len(frac) > 0 {
			if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
				return parseISOTimeSlow(b)
			}
			scale := 100_000_000
			for _, c := range frac[1:] {
				if !isDigit(c) {
					return time.Time{}, 0, false
				}
				ns += int(c-'0') * scale
				scale /= 10
			}
			prec = time.Millisecond
		}
		return time.Date(y, time.Month(mo), d, h, mi, s, ns, time.UTC), prec, true
	}
	return parseISOTimeSlow(b)
}

func parseISOTimeSlow(b []byte) (time.Time, time.Duration, bool) {
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return time.Time{}, 0, false
	}
	prec := time.Second
	if t.Nanosecond() != 0 {
		prec = time.Millisecond
	}
	return t.UTC(), prec, true
}

// parseAccountTime parses account data's endTime, "2024-03-01 18:42" in UTC (a minute's
// precision), also accepting seconds.
func parseAccountTime(b []byte) (time.Time, time.Duration, bool) {
	if (len(b) != 16 && len(b) != 19) || b[10] != ' ' {
		return time.Time{}, 0, false
	}
	y, mo, d, ok := civilDate(b[:10])
	if !ok {
		return time.Time{}, 0, false
	}
	h, mi, s, ok := clock(b[11:])
	if !ok {
		return time.Time{}, 0, false
	}
	prec := time.Minute
	if len(b) == 19 {
		prec = time.Second
	}
	return time.Date(y, time.Month(mo), d, h, mi, s, 0, time.UTC), prec, true
}
