package spotifyhist

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds the streaming JSON reader of export files. It is hand-written rather than
// built on encoding/json because export rows are flat objects read by the hundred thousand:
// the reflection-based decoder spends most of its time on fields we never use, and it cannot
// bound nesting depth or the size of one element. The reader keeps one refillable window
// over the stream; an element that runs past the window is parsed again from its start
// once more data is in (which happens once per window, so the cost is negligible).

// readBufferSize is the initial size of the read window; it grows only for entries that
// do not fit.
const readBufferSize = 256 << 10

// kindError is an error matching a sentinel (kind) with its own message.
type kindError struct {
	kind  error
	msg   string
	cause error
}

func (e *kindError) Error() string {
	if e.cause != nil {
		return e.msg + ": " + e.cause.Error()
	}
	return e.msg
}

func (e *kindError) Is(target error) bool { return target == e.kind }
func (e *kindError) Unwrap() error        { return e.cause }

func corrupt(msg string, cause error) error {
	return &kindError{kind: ErrExportCorrupt, msg: msg, cause: cause}
}

// readStream reads one file's content: gzip is detected and unwrapped, then the JSON array
// or JSON Lines inside. size is the stored size when known, else -1.
func (r *exportReader) readStream(src io.Reader, size int64, name string, kind fileKind) error {
	var head [2]byte
	n, err := io.ReadFull(src, head[:])
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return r.fileErr(name, -1, err)
	}
	in := io.MultiReader(bytes.NewReader(head[:n]), src)
	if n == 2 && head[0] == 0x1f && head[1] == 0x8b {
		if r.lim.MaxArchiveBytes >= 0 && size > r.lim.MaxArchiveBytes {
			return &ExportLimitError{Limit: LimitArchiveBytes, Max: r.lim.MaxArchiveBytes, Value: size, File: name}
		}
		cr := &countingReader{r: in}
		zr, err := gzip.NewReader(cr)
		if err != nil {
			return r.fileErr(name, -1, err)
		}
		defer zr.Close()
		in = &ratioReader{r: zr, compressed: &cr.n, max: int64(r.lim.MaxCompressionRatio), file: name}
	}
	return r.readJSON(in, name, kind)
}

// fileErr turns a read error into the error ReadExport returns.
func (r *exportReader) fileErr(name string, off int64, err error) error {
	var le *ExportLimitError
	if errors.As(err, &le) {
		if le.File == "" {
			le.File = name
		}
		return le
	}
	if isCorruptionError(err) && !errors.Is(err, ErrExportCorrupt) {
		err = corrupt("damaged compressed data", err)
	}
	return &ExportFileError{File: name, Offset: off, Err: err}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ratioReader fails once the bytes it produced exceed max times *compressed (and the grace
// allowance): a decompression bomb is stopped after reading at most that much.
type ratioReader struct {
	r          io.Reader
	compressed *int64
	out        int64
	max        int64 // negative: no limit
	file       string
}

func (q *ratioReader) Read(p []byte) (int, error) {
	n, err := q.r.Read(p)
	q.out += int64(n)
	if q.max >= 0 && q.out > ratioGraceBytes {
		c := max(*q.compressed, 1)
		if q.out > q.max*c {
			return n, &ExportLimitError{Limit: LimitCompressionRatio, Max: q.max, Value: (q.out + c - 1) / c, File: q.file}
		}
	}
	return n, err
}

// jsonSource is a refillable window buf[:end] over a stream; pos is the next unread byte
// and base the stream offset of buf[0].
type jsonSource struct {
	r      io.Reader
	buf    []byte
	pos    int
	end    int
	base   int64
	eof    bool
	onRead func(n int) error
}

// fill keeps buf[keep:end], moves it to the front, grows the window if it is full, and
// reads until the window is full or the stream ends.
func (s *jsonSource) fill(keep int) error {
	if s.eof {
		return nil
	}
	if keep > 0 {
		copy(s.buf, s.buf[keep:s.end])
		s.end -= keep
		s.pos -= keep
		s.base += int64(keep)
	}
	if s.end == len(s.buf) {
		nb := make([]byte, 2*len(s.buf))
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	for empty := 0; s.end < len(s.buf); {
		n, err := s.r.Read(s.buf[s.end:])
		if n > 0 {
			s.end += n
			if err := s.onRead(n); err != nil {
				return err
			}
			empty = 0
		}
		if errors.Is(err, io.EOF) {
			s.eof = true
			return nil
		}
		if err != nil {
			return err
		}
		if n == 0 {
			if empty++; empty > 100 {
				return io.ErrNoProgress
			}
		}
	}
	return nil
}

// peekNonSpace skips whitespace and returns the next byte; ok is false at the end of the
// stream.
func (s *jsonSource) peekNonSpace() (c byte, ok bool, err error) {
	for {
		for s.pos < s.end {
			if c := s.buf[s.pos]; !isSpace(c) {
				return c, true, nil
			}
			s.pos++
		}
		if s.eof {
			return 0, false, nil
		}
		if err := s.fill(s.pos); err != nil {
			return 0, false, err
		}
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

// fileState tracks the file being read.
type fileState struct {
	name  string
	kind  fileKind
	info  int // index in ExportSummary.Files
	index int // entries so far
	// format is what the file holds: JSON Lines, the format its name implies, or that of
	// its first well-formed entry. Malformed entries get it.
	format string
}

// readJSON reads a JSON array or JSON Lines stream.
func (r *exportReader) readJSON(in io.Reader, name string, kind fileKind) error {
	if r.buf == nil {
		r.buf = make([]byte, readBufferSize)
	}
	s := &jsonSource{r: in, buf: r.buf, onRead: r.countRead}
	defer func() { r.buf = s.buf }() // keep a grown window for the next file
	r.sum.Files = append(r.sum.Files, ExportFileInfo{Name: name})
	fs := &fileState{name: name, kind: kind, info: len(r.sum.Files) - 1, format: kind.format()}
	defer func() {
		if fi := &r.sum.Files[fs.info]; fi.Format == "" && fi.Entries > 0 {
			fi.Format = fs.format
		}
	}()

	if err := s.fill(0); err != nil {
		return r.fileErr(name, s.base+int64(s.pos), err)
	}
	if bytes.HasPrefix(s.buf[:s.end], []byte("\xef\xbb\xbf")) { // UTF-8 byte order mark
		s.pos = 3
	}
	c, ok, err := s.peekNonSpace()
	switch {
	case err != nil:
		return r.fileErr(name, s.base+int64(s.pos), err)
	case !ok:
		return &ExportFileError{File: name, Offset: s.base + int64(s.pos), Err: corrupt("empty file", nil)}
	case c == '[':
		return r.readArray(s, fs)
	case c == '{':
		fs.format = ExportFormatJSONL
		return r.readLines(s, fs)
	}
	return &ExportFileError{File: name, Offset: s.base + int64(s.pos), Err: &kindError{
		kind: ErrUnsupportedFormat, msg: "not a ZIP archive, gzip file, JSON array or JSON Lines",
	}}
}

// countRead enforces MaxUncompressedBytes over every byte of JSON read.
func (r *exportReader) countRead(n int) error {
	r.uncompressed += int64(n)
	if m := r.lim.MaxUncompressedBytes; m >= 0 && r.uncompressed > m {
		return &ExportLimitError{Limit: LimitUncompressedBytes, Max: m, Value: r.uncompressed}
	}
	return nil
}

// readArray reads a top-level JSON array element by element; s.pos is at '['.
func (r *exportReader) readArray(s *jsonSource, fs *fileState) error {
	s.pos++
	p := &r.p
	for first := true; ; first = false {
		c, ok, err := s.peekNonSpace()
		if err != nil {
			return r.fileErr(fs.name, s.base+int64(s.pos), err)
		}
		if !ok {
			return &ExportFileError{File: fs.name, Offset: s.base + int64(s.pos), Err: corrupt("truncated JSON: unexpected end of input in the top-level array", nil)}
		}
		if first && c == ']' {
			s.pos++
			break
		}
		start := s.pos
		var next int
		for {
			p.reset(s.buf[:s.end], s.eof, r.lim.MaxDepth)
			next, err = p.parseEntry(start, 2)
			if !errors.Is(err, errShort) {
				break
			}
			if m := r.lim.MaxEntryBytes; s.end-start > m {
				return &ExportLimitError{Limit: LimitEntryBytes, Max: int64(m), Value: int64(s.end - start), File: fs.name}
			}
			if err := s.fill(start); err != nil {
				return r.fileErr(fs.name, s.base+int64(s.end), err)
			}
			start = 0
		}
		if err != nil {
			return r.parseErr(fs.name, s.base, err)
		}
		if m := r.lim.MaxEntryBytes; next-start > m {
			return &ExportLimitError{Limit: LimitEntryBytes, Max: int64(m), Value: int64(next - start), File: fs.name}
		}
		s.pos = next
		if err := r.emit(fs, s.base+int64(start)); err != nil {
			return err
		}
		c, ok, err = s.peekNonSpace()
		if err != nil {
			return r.fileErr(fs.name, s.base+int64(s.pos), err)
		}
		if !ok {
			return &ExportFileError{File: fs.name, Offset: s.base + int64(s.pos), Err: corrupt("truncated JSON: unexpected end of input in the top-level array", nil)}
		}
		if c == ']' {
			s.pos++
			break
		}
		if c != ',' {
			return &ExportFileError{File: fs.name, Offset: s.base + int64(s.pos), Err: corrupt("invalid JSON: expected ',' or ']' after an array element, found "+quoteByte(c), nil)}
		}
		s.pos++
	}
	// Only whitespace may follow; reading to the end also makes archive/zip verify the
	// entry's checksum.
	c, ok, err := s.peekNonSpace()
	if err != nil {
		return r.fileErr(fs.name, s.base+int64(s.pos), err)
	}
	if ok {
		return &ExportFileError{File: fs.name, Offset: s.base + int64(s.pos), Err: corrupt("invalid JSON: data after the top-level array, found "+quoteByte(c), nil)}
	}
	return nil
}

// readLines reads JSON Lines: one value per line, blank lines ignored. A broken line is a
// malformed entry, except the first (the file is then not JSON Lines at all, or a corrupt
// one if its name ends in .jsonl) and an unterminated last line (the file is truncated).
func (r *exportReader) readLines(s *jsonSource, fs *fileState) error {
	p := &r.p
	maxLine := r.lim.MaxEntryBytes
	for {
		nl := bytes.IndexByte(s.buf[s.pos:s.end], '\n')
		if nl < 0 && !s.eof {
			if s.end-s.pos > maxLine {
				return &ExportLimitError{Limit: LimitEntryBytes, Max: int64(maxLine), Value: int64(s.end - s.pos), File: fs.name}
			}
			if err := s.fill(s.pos); err != nil {
				return r.fileErr(fs.name, s.base+int64(s.end), err)
			}
			continue
		}
		lineEnd, next, last := s.pos+nl, s.pos+nl+1, false
		if nl < 0 {
			lineEnd, next, last = s.end, s.end, true
		}
		line := s.buf[s.pos:lineEnd]
		if len(line) > maxLine {
			return &ExportLimitError{Limit: LimitEntryBytes, Max: int64(maxLine), Value: int64(len(line)), File: fs.name}
		}
		off := s.base + int64(s.pos)
		i := skipSpace(line, 0)
		if i == len(line) {
			if last {
				return nil
			}
			s.pos = next
			continue
		}
		p.reset(line, true, r.lim.MaxDepth)
		end, err := p.parseEntry(i, 1)
		if err == nil {
			if j := skipSpace(line, end); j != len(line) {
				err = &syntaxError{pos: j, msg: "data after the value on this line, found " + quoteByte(line[j])}
			}
		}
		if err != nil {
			var se *syntaxError
			if !errors.As(err, &se) {
				return r.parseErr(fs.name, off, err)
			}
			switch {
			case fs.index == 0 && fs.kind != fileJSONL: // content and name both fail to say JSON Lines
				return &ExportFileError{File: fs.name, Offset: off + int64(se.pos), Err: &kindError{
					kind: ErrUnsupportedFormat, msg: "not a ZIP archive, gzip file, JSON array or JSON Lines: " + se.msg,
				}}
			case fs.index == 0 || last:
				return r.parseErr(fs.name, off, err)
			}
			p.row.setMalformed()
		}
		if err := r.emit(fs, off); err != nil {
			return err
		}
		if last {
			return nil
		}
		s.pos = next
	}
}

// parseErr converts a parser error; base is the stream offset of the parser's buffer.
func (r *exportReader) parseErr(name string, base int64, err error) error {
	var se *syntaxError
	if errors.As(err, &se) {
		return &ExportFileError{File: name, Offset: base + int64(se.pos), Err: corrupt(se.msg, nil)}
	}
	var le *ExportLimitError
	if errors.As(err, &le) {
		le.File = name
		return le
	}
	return &ExportFileError{File: name, Offset: -1, Err: err}
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return "'" + string(rune(c)) + "'"
	}
	const hex = "0123456789abcdef"
	return "byte 0x" + string([]byte{hex[c>>4], hex[c&15]})
}

// errShort: the parser reached the end of a window that is not the end of the input.
var errShort = errors.New("need more input")

// syntaxError is a JSON syntax error at pos in the parser's buffer.
type syntaxError struct {
	pos int
	msg string
}

func (e *syntaxError) Error() string { return e.msg }

// Field indexes of rawRow: the keys of every format we read.
const (
	fTS = iota
	fPlatform
	fMSPlayed
	fTrackName
	fAlbumArtist
	fAlbumName
	fTrackURI
	fEpisodeName
	fShowName
	fEpisodeURI
	fBookTitle
	fBookURI
	fChapterURI
	fChapterTitle
	fReasonStart
	fReasonEnd
	fShuffle
	fSkipped
	fOffline
	fOfflineTS
	fIncognito
	fEndTime     // account data
	fArtistName  // account data
	fAcctTrack   // account data trackName
	fAcctMS      // account data msPlayed
	fPodcastName // account data
	fAcctShow    // account data showName
	fAcctEpisode // account data episodeName
	fPlayedAt    // JSON Lines
	fTrackID     // JSON Lines
	fJSONLTrack  // JSON Lines track_name
	fArtists     // JSON Lines
	fJSONLAlbum  // JSON Lines album
	fSource      // JSON Lines
	numFields
)

// fieldIndex maps a key to its field, or -1 for keys we do not read. The string(key)
// conversion in a switch does not allocate.
func fieldIndex(key []byte) int {
	switch string(key) {
	case "ts":
		return fTS
	case "platform":
		return fPlatform
	case "ms_played":
		return fMSPlayed
	case "master_metadata_track_name":
		return fTrackName
	case "master_metadata_album_artist_name":
		return fAlbumArtist
	case "master_metadata_album_album_name":
		return fAlbumName
	case "spotify_track_uri":
		return fTrackURI
	case "episode_name":
		return fEpisodeName
	case "episode_show_name":
		return fShowName
	case "spotify_episode_uri":
		return fEpisodeURI
	case "audiobook_title":
		return fBookTitle
	case "audiobook_uri":
		return fBookURI
	case "audiobook_chapter_uri":
		return fChapterURI
	case "audiobook_chapter_title":
		return fChapterTitle
	case "reason_start":
		return fReasonStart
	case "reason_end":
		return fReasonEnd
	case "shuffle":
		return fShuffle
	case "skipped":
		return fSkipped
	case "offline":
		return fOffline
	case "offline_timestamp":
		return fOfflineTS
	case "incognito_mode":
		return fIncognito
	case "endTime":
		return fEndTime
	case "artistName":
		return fArtistName
	case "trackName":
		return fAcctTrack
	case "msPlayed":
		return fAcctMS
	case "podcastName":
		return fPodcastName
	case "showName":
		return fAcctShow
	case "episodeName":
		return fAcctEpisode
	case "played_at":
		return fPlayedAt
	case "track_id":
		return fTrackID
	case "track_name":
		return fJSONLTrack
	case "artists":
		return fArtists
	case "album":
		return fJSONLAlbum
	case "source":
		return fSource
	}
	return -1
}

// rawKind is the JSON type of a field's value.
type rawKind uint8

const (
	kAbsent rawKind = iota
	kNull
	kString
	kNumber
	kTrue
	kFalse
	kArray
	kObject
)

// rawField locates a value in the parser's buffer: the content between the quotes of a
// string (esc: it has escapes), the text of a number, or the whole array/object.
type rawField struct {
	kind rawKind
	esc  bool
	s, e int
}

// rawRow is one parsed entry, valid until the window is refilled.
type rawRow struct {
	isObject bool
	f        [numFields]rawField
}

func (row *rawRow) setMalformed() { *row = rawRow{} }

// parser parses one entry from b. final says that the input ends at len(b); otherwise
// running out of bytes returns errShort.
type parser struct {
	b        []byte
	final    bool
	maxDepth int
	row      rawRow
	key      []byte // unescaped key scratch
}

func (p *parser) reset(b []byte, final bool, maxDepth int) {
	p.b, p.final, p.maxDepth = b, final, maxDepth
}

// short reports running out of input at i.
func (p *parser) short(i int) error {
	if p.final {
		return &syntaxError{pos: i, msg: "truncated JSON: unexpected end of input"}
	}
	return errShort
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

func (p *parser) depthErr(depth int) error {
	return &ExportLimitError{Limit: LimitDepth, Max: int64(p.maxDepth), Value: int64(depth)}
}

// parseEntry parses the value at b[i] (not whitespace) at nesting depth, filling p.row.
func (p *parser) parseEntry(i, depth int) (int, error) {
	p.row = rawRow{}
	if depth > p.maxDepth {
		return i, p.depthErr(depth)
	}
	if p.b[i] != '{' {
		return p.skipValue(i, depth)
	}
	p.row.isObject = true
	i = skipSpace(p.b, i+1)
	if i >= len(p.b) {
		return i, p.short(i)
	}
	if p.b[i] == '}' {
		return i + 1, nil
	}
	for {
		if p.b[i] != '"' {
			return i, &syntaxError{pos: i, msg: "invalid JSON: expected a string key, found " + quoteByte(p.b[i])}
		}
		ks, ke, esc, next, err := p.scanString(i)
		if err != nil {
			return i, err
		}
		key := p.b[ks:ke]
		if esc {
			p.key = appendUnescaped(p.key[:0], key)
			key = p.key
		}
		fi := fieldIndex(key)
		if i, err = p.colon(next); err != nil {
			return i, err
		}
		if fi < 0 {
			i, err = p.skipValue(i, depth+1)
		} else {
			i, err = p.fieldValue(i, depth+1, &p.row.f[fi])
		}
		if err != nil {
			return i, err
		}
		i = skipSpace(p.b, i)
		if i >= len(p.b) {
			return i, p.short(i)
		}
		switch p.b[i] {
		case ',':
			i = skipSpace(p.b, i+1)
			if i >= len(p.b) {
				return i, p.short(i)
			}
		case '}':
			return i + 1, nil
		default:
			return i, &syntaxError{pos: i, msg: "invalid JSON: expected ',' or '}' in an object, found " + quoteByte(p.b[i])}
		}
	}
}

// colon expects optional whitespace, ':', optional whitespace, and a value start.
func (p *parser) colon(i int) (int, error) {
	i = skipSpace(p.b, i)
	if i >= len(p.b) {
		return i, p.short(i)
	}
	if p.b[i] != ':' {
		return i, &syntaxError{pos: i, msg: "invalid JSON: expected ':' after a key, found " + quoteByte(p.b[i])}
	}
	i = skipSpace(p.b, i+1)
	if i >= len(p.b) {
		return i, p.short(i)
	}
	return i, nil
}

// fieldValue parses a value into f.
func (p *parser) fieldValue(i, depth int, f *rawField) (int, error) {
	var err error
	start := i
	switch c := p.b[i]; {
	case c == '"':
		var s, e int
		s, e, f.esc, i, err = p.scanString(i)
		f.kind, f.s, f.e = kString, s, e
		return i, err
	case c == 'n':
		f.kind = kNull
		return p.literal(i, "null")
	case c == 't':
		f.kind = kTrue
		return p.literal(i, "true")
	case c == 'f':
		f.kind = kFalse
		return p.literal(i, "false")
	case c == '-' || isDigit(c):
		f.kind = kNumber
		i, err = p.scanNumber(i)
	case c == '[':
		f.kind = kArray
		i, err = p.skipValue(i, depth)
	case c == '{':
		f.kind = kObject
		i, err = p.skipValue(i, depth)
	default:
		return i, &syntaxError{pos: i, msg: "invalid JSON: unexpected " + quoteByte(c) + " at the start of a value"}
	}
	f.s, f.e = start, i
	return i, err
}

// skipValue validates and skips the value at b[i] at nesting depth.
func (p *parser) skipValue(i, depth int) (int, error) {
	if i >= len(p.b) {
		return i, p.short(i)
	}
	switch c := p.b[i]; {
	case c == '"':
		_, _, _, next, err := p.scanString(i)
		return next, err
	case c == 'n':
		return p.literal(i, "null")
	case c == 't':
		return p.literal(i, "true")
	case c == 'f':
		return p.literal(i, "false")
	case c == '-' || isDigit(c):
		return p.scanNumber(i)
	case c == '[' || c == '{':
		if depth > p.maxDepth {
			return i, p.depthErr(depth)
		}
		closing := byte(']')
		if c == '{' {
			closing = '}'
		}
		i = skipSpace(p.b, i+1)
		if i >= len(p.b) {
			return i, p.short(i)
		}
		if p.b[i] == closing {
			return i + 1, nil
		}
		for {
			var err error
			if c == '{' {
				if p.b[i] != '"' {
					return i, &syntaxError{pos: i, msg: "invalid JSON: expected a string key, found " + quoteByte(p.b[i])}
				}
				if _, _, _, i, err = p.scanString(i); err != nil {
					return i, err
				}
				if i, err = p.colon(i); err != nil {
					return i, err
				}
			}
			if i, err = p.skipValue(i, depth+1); err != nil {
				return i, err
			}
			i = skipSpace(p.b, i)
			if i >= len(p.b) {
				return i, p.short(i)
			}
			switch p.b[i] {
			case ',':
				i = skipSpace(p.b, i+1)
				if i >= len(p.b) {
					return i, p.short(i)
				}
			case closing:
				return i + 1, nil
			default:
				return i, &syntaxError{pos: i, msg: "invalid JSON: expected ',' or " + quoteByte(closing) + ", found " + quoteByte(p.b[i])}
			}
		}
	default:
		return i, &syntaxError{pos: i, msg: "invalid JSON: unexpected " + quoteByte(c) + " at the start of a value"}
	}
}

// strPlain marks bytes that need no attention inside a string.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanString scans the string starting at b[i] == '"'; [s, e) is its raw content.
func (p *parser) scanString(i int) (s, e int, esc bool, next int, err error) {
	b := p.b
	j := i + 1
	for {
		// Eight bytes at a time while none is '"', '\\' or a control character.
		for j+8 <= len(b) {
			v := binary.LittleEndian.Uint64(b[j:])
			if swarSpecial(v) {
				break
			}
			j += 8
		}
		for j < len(b) && strPlain[b[j]] {
			j++
		}
		if j >= len(b) {
			return 0, 0, false, j, p.short(j)
		}
		switch c := b[j]; {
		case c == '"':
			return i + 1, j, esc, j + 1, nil
		case c == '\\':
			esc = true
			if j+1 >= len(b) {
				return 0, 0, false, j, p.short(j)
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(b) {
					for k := j + 2; k < len(b); k++ {
						if !isHex(b[k]) {
							return 0, 0, false, k, &syntaxError{pos: k, msg: "invalid JSON: bad \\u escape in a string"}
						}
					}
					return 0, 0, false, j, p.short(j)
				}
				for k := j + 2; k < j+6; k++ {
					if !isHex(b[k]) {
						return 0, 0, false, k, &syntaxError{pos: k, msg: "invalid JSON: bad \\u escape in a string"}
					}
				}
				j += 6
			default:
				return 0, 0, false, j, &syntaxError{pos: j, msg: "invalid JSON: bad escape " + quoteByte(b[j+1]) + " in a string"}
			}
		default:
			return 0, 0, false, j, &syntaxError{pos: j, msg: "invalid JSON: control character " + quoteByte(c) + " in a string"}
		}
	}
}

// swarSpecial reports whether any byte of v is '"', '\\' or below 0x20 (bit tricks from
// "Bit Twiddling Hacks": haszero and hasless).
func swarSpecial(v uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	hasZero := func(x uint64) uint64 { return (x - ones) & ^x & highs }
	less := (v - ones*0x20) & ^v & highs
	return less|hasZero(v^(ones*'"'))|hasZero(v^(ones*'\\')) != 0
}

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// literal expects lit (null, true, false) at b[i].
func (p *parser) literal(i int, lit string) (int, error) {
	n := min(len(lit), len(p.b)-i)
	if string(p.b[i:i+n]) != lit[:n] {
		return i, &syntaxError{pos: i, msg: "invalid JSON: invalid literal, expected " + lit}
	}
	if n < len(lit) {
		return i, p.short(i + n)
	}
	return i + len(lit), nil
}

// scanNumber scans a JSON number at b[i].
func (p *parser) scanNumber(i int) (int, error) {
	b := p.b
	j := i
	if b[j] == '-' {
		j++
	}
	digits := func(j int) (int, error) {
		if j >= len(b) {
			return j, p.short(j)
		}
		if !isDigit(b[j]) {
			return j, &syntaxError{pos: j, msg: "invalid JSON: expected a digit in a number, found " + quoteByte(b[j])}
		}
		for j < len(b) && isDigit(b[j]) {
			j++
		}
		return j, nil
	}
	if j < len(b) && b[j] == '0' {
		j++
	} else {
		var err error
		if j, err = digits(j); err != nil {
			return j, err
		}
	}
	if j < len(b) && b[j] == '.' {
		var err error
		if j, err = digits(j + 1); err != nil {
			return j, err
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		var err error
		if j, err = digits(j); err != nil {
			return j, err
		}
	}
	if j >= len(b) && !p.final {
		return j, errShort // the number may go on
	}
	return j, nil
}

// appendUnescaped appends the decoded content of a JSON string (already validated by
// scanString) to dst. Invalid surrogates become U+FFFD, as encoding/json does.
func appendUnescaped(dst, src []byte) []byte {
	for i := 0; i < len(src); {
		if src[i] != '\\' {
			j := bytes.IndexByte(src[i:], '\\')
			if j < 0 {
				return append(dst, src[i:]...)
			}
			dst = append(dst, src[i:i+j]...)
			i += j
			continue
		}
		switch c := src[i+1]; c {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r1 := hex4(src[i+2 : i+6])
			i += 6
			if utf16.IsSurrogate(r1) {
				if i+6 <= len(src) && src[i] == '\\' && src[i+1] == 'u' {
					if r := utf16.DecodeRune(r1, hex4(src[i+2:i+6])); r != unicode.ReplacementChar {
						dst = utf8.AppendRune(dst, r)
						i += 6
						continue
					}
				}
				r1 = unicode.ReplacementChar
			}
			dst = utf8.AppendRune(dst, r1)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, c)
		}
		i += 2
	}
	return dst
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case isDigit(c):
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		default:
			c = c - 'A' + 10
		}
		r = r<<4 | rune(c)
	}
	return r
}
