package spotifyhist

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Export entry formats, the values of [ExportEntry.Format] and [ExportFileInfo.Format].
const (
	// ExportFormatExtended: "Extended streaming history" rows
	// (Streaming_History_Audio_*.json, Streaming_History_Video_*.json, endsong_*.json).
	ExportFormatExtended = "extended"
	// ExportFormatAccount: "Account data" rows (StreamingHistory_music_*.json,
	// StreamingHistory_podcast_*.json, legacy StreamingHistory*.json).
	ExportFormatAccount = "account"
	// ExportFormatJSONL: the JSON Lines written by `spotifyhist export --format jsonl`.
	ExportFormatJSONL = "jsonl"
)

// Kinds of content an export entry describes, the values of [ExportEntry.Kind].
const (
	KindTrack     = "track"
	KindEpisode   = "episode"
	KindAudiobook = "audiobook"
	KindVideo     = "video"
)

// Reason says why an export entry is not imported as a play. The values are part of the
// product's contract: they are the keys of "excluded" in `spotifyhist analyze --json` and
// `import --json`. The empty Reason means the entry is a play.
type Reason string

// Exclusion reasons. [ReadExport] assigns the first seven; the import layer assigns
// [ReasonDuplicateExisting] and [ReasonDuplicateInFile]. When several apply, ReadExport
// reports the first in this order: malformed, video, episode, incognito, too_short,
// no_track_uri, skipped.
const (
	// ReasonMalformed: the entry is not a JSON object, its timestamp is missing or
	// unparseable, a field it needs is missing, or a field has the wrong type or an
	// impossible value (a negative ms_played, a track URI that is not a Spotify track or
	// local-file URI, an unknown JSON Lines source).
	ReasonMalformed Reason = "malformed"
	// ReasonVideo: an entry of a Streaming_History_Video_*.json file.
	ReasonVideo Reason = "video"
	// ReasonEpisode: a podcast episode or an audiobook chapter (podcasts may be stored
	// later; they are counted apart from music for that reason).
	ReasonEpisode Reason = "episode"
	// ReasonIncognito: extended history with incognito_mode true (private listening).
	ReasonIncognito Reason = "incognito"
	// ReasonTooShort: fewer than [ExportOptions.MinPlay] milliseconds were played.
	ReasonTooShort Reason = "too_short"
	// ReasonNoTrackURI: an extended-history stream that is neither an episode, an
	// audiobook nor a video yet has no spotify_track_uri (null or ""): a track that is no
	// longer available (its name is usually still there) or a stream Spotify recorded
	// without any metadata. Account data has no URIs at all and is matched by name, so this
	// reason never applies to it, nor to JSON Lines (where a missing track_id is malformed).
	ReasonNoTrackURI Reason = "no_track_uri"
	// ReasonSkipped: the entry is flagged skipped and [ExportOptions.ExcludeSkipped] is set.
	ReasonSkipped Reason = "skipped"
	// ReasonDuplicateExisting: the play is already stored (assigned by the import layer).
	ReasonDuplicateExisting Reason = "duplicate_existing"
	// ReasonDuplicateInFile: the play occurs earlier in the same import (assigned by the
	// import layer).
	ReasonDuplicateInFile Reason = "duplicate_in_file"
)

// ExclusionReasons returns every [Reason] in a fixed order, for stable output.
func ExclusionReasons() []Reason {
	return []Reason{
		ReasonTooShort, ReasonIncognito, ReasonEpisode, ReasonVideo, ReasonNoTrackURI,
		ReasonMalformed, ReasonSkipped, ReasonDuplicateExisting, ReasonDuplicateInFile,
	}
}

// Defaults of [ExportOptions] and [ExportLimits]. They are sized for real exports (files
// of 10–12 MB, a few hundred thousand entries for a lifetime of listening) with a wide
// margin, while keeping a hostile upload from exhausting memory, disk or time.
const (
	// ExportMinPlayDefault is Spotify's own definition of a stream.
	ExportMinPlayDefault = 30 * time.Second
	// ExportMaxArchiveBytesDefault bounds the size of a ZIP or gzip file.
	ExportMaxArchiveBytesDefault int64 = 1 << 30 // 1 GiB
	// ExportMaxUncompressedBytesDefault bounds the bytes of JSON actually read, summed
	// over every file.
	ExportMaxUncompressedBytesDefault int64 = 2 << 30 // 2 GiB
	// ExportMaxCompressionRatioDefault bounds uncompressed / compressed bytes of each ZIP
	// entry or gzip stream; JSON exports compress about 10–30 times.
	ExportMaxCompressionRatioDefault = 200
	// ExportMaxFilesDefault bounds the files in a ZIP archive or directory tree, ignored
	// ones included.
	ExportMaxFilesDefault = 10_000
	// ExportMaxEntriesDefault bounds the entries read, summed over every file.
	ExportMaxEntriesDefault = 20_000_000
	// ExportMaxDepthDefault bounds JSON nesting; a file's top-level array is depth 1,
	// its entries depth 2.
	ExportMaxDepthDefault = 16
	// ExportMaxEntryBytesDefault bounds one entry: a JSON Lines line or one element of a
	// JSON array. Real entries are under 1 KiB.
	ExportMaxEntryBytesDefault = 1 << 20 // 1 MiB
)

// ratioGraceBytes: the compression ratio is only enforced past this many uncompressed
// bytes of a stream, because tiny streams (an empty array, a short file of repeated
// whitespace) legitimately compress far better than real files.
const ratioGraceBytes = 1 << 20

// ExportLimits protect [ReadExport] against hostile uploads. A zero field means its
// documented default; a negative field disables that limit. Exceeding a limit stops the
// read with an [*ExportLimitError].
type ExportLimits struct {
	// MaxArchiveBytes bounds the size of a ZIP or gzip file. Default
	// ExportMaxArchiveBytesDefault (1 GiB).
	MaxArchiveBytes int64
	// MaxUncompressedBytes bounds the bytes of JSON read, summed over all files, counted
	// as they are read (headers are not trusted). Default
	// ExportMaxUncompressedBytesDefault (2 GiB).
	MaxUncompressedBytes int64
	// MaxCompressionRatio bounds uncompressed / compressed bytes of each ZIP entry or
	// gzip stream, checked as bytes are read once a stream has produced 1 MiB. Default
	// ExportMaxCompressionRatioDefault (200).
	MaxCompressionRatio int
	// MaxFiles bounds the files of a ZIP archive or directory tree, counting ignored
	// files. Default ExportMaxFilesDefault (10,000).
	MaxFiles int
	// MaxEntries bounds the entries read, summed over all files. Default
	// ExportMaxEntriesDefault (20,000,000).
	MaxEntries int
	// MaxDepth bounds JSON nesting (top-level array = 1). Default ExportMaxDepthDefault
	// (16). Disabling it still leaves a hard bound of 10,000.
	MaxDepth int
	// MaxEntryBytes bounds one JSON Lines line or one JSON array element, in bytes.
	// Default ExportMaxEntryBytesDefault (1 MiB).
	MaxEntryBytes int
}

// Names of the limits, the values of [ExportLimitError.Limit].
const (
	LimitArchiveBytes      = "archive_bytes"
	LimitUncompressedBytes = "uncompressed_bytes"
	LimitCompressionRatio  = "compression_ratio"
	LimitFiles             = "files"
	LimitEntries           = "entries"
	LimitDepth             = "json_depth"
	LimitEntryBytes        = "entry_bytes"
)

// hardMaxDepth keeps the recursive JSON parser's stack bounded even when MaxDepth is
// disabled.
const hardMaxDepth = 10_000

// ExportOptions tune [ReadExport]. A nil *ExportOptions means all defaults.
type ExportOptions struct {
	// MinPlay is the shortest ms_played that counts as a play. Zero means
	// ExportMinPlayDefault (30 s); a negative value means no minimum. It does not apply
	// to JSON Lines, whose entries are plays already stored by an instance (history
	// plays there may have no ms_played at all).
	MinPlay time.Duration
	// ExcludeSkipped also excludes extended-history entries flagged skipped, as the
	// original system did. Off by default: Spotify's flag is unreliable and marks streams
	// of several minutes.
	ExcludeSkipped bool
	// Limits against hostile input; zero fields mean defaults.
	Limits ExportLimits
}

// ExportSource says where an export is. Set exactly one of Path, ReaderAt or FS.
type ExportSource struct {
	// Path is a file (a ZIP as downloaded, a JSON file, a .json.gz, a JSON Lines file)
	// or a directory holding the unpacked export at any depth.
	Path string
	// ReaderAt and Size give the bytes of one file, e.g. an upload; the format is
	// detected from the content.
	ReaderAt io.ReaderAt
	Size     int64
	// FS is a directory tree read like a directory Path.
	FS fs.FS
	// Name names the source in summaries and errors. For a single file it is also a
	// hint: "Streaming_History_Video_2020.json" marks entries as videos and
	// "StreamingHistory_podcast_0.json" as episodes. Default: the base name of Path, or
	// "export".
	Name string
}

// ExportEntry is one entry of a listening-history file.
type ExportEntry struct {
	// File is the file's path inside the ZIP or directory (slash-separated), or the name
	// of a single-file source.
	File string
	// Index is the 0-based position of the entry in File; Offset the byte offset of its
	// first byte in the uncompressed file.
	Index  int
	Offset int64
	// Format is ExportFormatExtended, ExportFormatAccount or ExportFormatJSONL. Each entry
	// is recognised by its keys (ts, endTime, played_at), so one file may mix formats.
	Format string
	// PlayedAt is the END of the stream, in UTC. Precision says how precise it is:
	// a second for extended history, a minute for account data, a millisecond for JSON
	// Lines.
	PlayedAt  time.Time
	Precision time.Duration
	// MSPlayed is how long the stream played (not the track's length). In JSON Lines it is
	// 0 when the exporting instance did not know it.
	MSPlayed int
	// TrackURI is "spotify:track:<id>" or a local-file URI "spotify:local:…". Account
	// data has none: match it by TrackName and ArtistName.
	TrackURI string
	// TrackID is the base-62 ID of a spotify:track: URI; empty for local files (derive
	// their ID from TrackURI). In JSON Lines it is track_id as written (the ID of a
	// spotify:track: URI written there); TrackURI is then "spotify:track:<id>" for a
	// base-62 ID, the URI for a spotify:local: URI, and empty for any other ID (such as
	// the "local:…" IDs of local files).
	TrackID   string
	TrackName string
	// ArtistName is the album artist in extended history, the artist in account data,
	// the first of Artists in JSON Lines.
	ArtistName string
	// Artists are all the artists of a JSON Lines entry, in order.
	Artists   []string
	AlbumName string
	// Kind is KindTrack, KindEpisode, KindAudiobook or KindVideo. Legacy
	// StreamingHistoryN.json files mix podcasts in without saying so; only entries with
	// podcast keys (episodeName, podcastName, showName) are recognised there.
	Kind string
	// EpisodeURI, EpisodeName and ShowName describe an episode; for an audiobook they are
	// the chapter URI, chapter title and book title.
	EpisodeURI  string
	EpisodeName string
	ShowName    string
	// Skipped, Incognito, Offline and Shuffle are extended-history flags (null = false).
	// Skipped is unreliable: it is false for years in some accounts.
	Skipped   bool
	Incognito bool
	Offline   bool
	Shuffle   bool
	// OfflineAt is offline_timestamp (seconds in older data, milliseconds later, both
	// accepted); zero when null or 0. It is not a play time.
	OfflineAt time.Time
	// ReasonStart, ReasonEnd and Platform are extended-history fields, verbatim.
	ReasonStart string
	ReasonEnd   string
	Platform    string
	// Source is the JSON Lines source: "history", "realtime" or "import".
	Source string
	// Exclusion is why the entry is not a play; empty for a play.
	Exclusion Reason
}

// IsPlay reports whether the entry is a play to import (before duplicate detection).
func (e *ExportEntry) IsPlay() bool { return e.Exclusion == "" }

// ExportFileInfo describes one listening-history file that was read.
type ExportFileInfo struct {
	// Name is the path inside the ZIP or directory, or the single file's name.
	Name string
	// Format is the format of the file's first well-formed entry (or the one its name
	// implies); empty for a file with no entries.
	Format string
	// Entries counts every entry of the file, excluded ones included.
	Entries int
}

// ExportSummary counts what [ReadExport] read. Plays plus the sum of Excluded always
// equals Total, and Total equals the sum of Files[i].Entries.
type ExportSummary struct {
	// Files are the listening-history files read, in reading order.
	Files []ExportFileInfo
	// Total counts every entry of every listening-history file.
	Total int
	// Plays counts entries with no exclusion reason.
	Plays int
	// Excluded counts excluded entries by reason; reasons with no entries are absent.
	Excluded map[Reason]int
	// IgnoredFiles are the other files of a ZIP or directory (PDFs, playlists, …),
	// except macOS metadata (__MACOSX/, ._*).
	IgnoredFiles []string
}

// Errors of [ReadExport]. Test with errors.Is.
var (
	// ErrExportTooLarge matches every [*ExportLimitError].
	ErrExportTooLarge = errors.New("spotifyhist: export exceeds a limit")
	// ErrNotExport: a ZIP or directory without any listening-history file, or a single
	// JSON file whose first entry is not a listening-history entry.
	ErrNotExport = errors.New("spotifyhist: not a spotify listening-history export")
	// ErrUnsupportedFormat: a file that is none of ZIP, gzip, JSON array or JSON Lines.
	ErrUnsupportedFormat = errors.New("spotifyhist: unsupported export format")
	// ErrExportCorrupt: a truncated or syntactically broken JSON file, or a damaged ZIP or
	// gzip stream. The error is an [*ExportFileError] naming file and offset.
	ErrExportCorrupt = errors.New("spotifyhist: corrupt export file")
)

// ExportLimitError reports an exceeded [ExportLimits] field. It matches
// [ErrExportTooLarge].
type ExportLimitError struct {
	// Limit is one of the Limit* constants, e.g. LimitCompressionRatio.
	Limit string
	// Max is the configured limit; Value the value seen when the read stopped (the first
	// value past Max: reading stops there, so it may be below the file's real value).
	Max   int64
	Value int64
	// File is the file being read, if any.
	File string
}

func (e *ExportLimitError) Error() string {
	var b strings.Builder
	b.WriteString("spotifyhist: read export: ")
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "%s %d exceeds the limit of %d", limitNoun(e.Limit), e.Value, e.Max)
	return b.String()
}

// Is makes every ExportLimitError match ErrExportTooLarge.
func (e *ExportLimitError) Is(target error) bool { return target == ErrExportTooLarge }

func limitNoun(limit string) string {
	switch limit {
	case LimitArchiveBytes:
		return "archive size (bytes)"
	case LimitUncompressedBytes:
		return "uncompressed size (bytes)"
	case LimitCompressionRatio:
		return "compression ratio"
	case LimitFiles:
		return "number of files"
	case LimitEntries:
		return "number of entries"
	case LimitDepth:
		return "JSON nesting depth"
	case LimitEntryBytes:
		return "entry or line size (bytes)"
	}
	return limit
}

// ExportFileError reports a file that could not be read: truncated or broken JSON
// (matching [ErrExportCorrupt]), not JSON at all ([ErrUnsupportedFormat]), or an I/O error.
type ExportFileError struct {
	// File is the file's name; Offset the byte offset of the problem in its uncompressed
	// content, or -1 when unknown.
	File   string
	Offset int64
	Err    error
}

func (e *ExportFileError) Error() string {
	if e.Offset >= 0 {
		return fmt.Sprintf("spotifyhist: read export: %s: offset %d: %v", e.File, e.Offset, e.Err)
	}
	return fmt.Sprintf("spotifyhist: read export: %s: %v", e.File, e.Err)
}

func (e *ExportFileError) Unwrap() error { return e.Err }

// ReadExport reads every listening-history entry of an export and calls fn once per
// entry, in file order then entry order, plays and excluded entries alike, so that a
// caller can account for each. fn runs on the calling goroutine; every call gets a new
// entry, which fn may keep. An error from fn stops the read and is returned as is.
//
// Sources (detected by content, not by name): a ZIP as downloaded from Spotify, a
// directory of unpacked files (at any depth), a single JSON file, a .json.gz, or JSON
// Lines as written by `spotifyhist export --format jsonl`. In a ZIP or directory these
// files are read (names compared case-insensitively, an optional .gz accepted):
// Streaming_History_Audio_*.json and endsong_*.json (extended history),
// Streaming_History_Video_*.json (every entry a video), StreamingHistory_music_*.json,
// StreamingHistory_podcast_*.json (every entry an episode), legacy StreamingHistory*.json
// (account data), and *.jsonl. __MACOSX/ and ._* files are skipped silently; other files
// are listed in [ExportSummary.IgnoredFiles]. Files are read in natural name order
// (…_2 before …_10).
//
// JSON is parsed as a stream, entry by entry, without reflection: memory stays flat
// whatever the file size. Which entry is a play is documented on [Reason] and
// [ExportOptions]. An entry that is not an object, lacks a parseable timestamp, or has a
// field of the wrong type is reported with [ReasonMalformed]; the file goes on. A file
// that is not JSON, is truncated, or breaks JSON syntax fails the read with an
// [*ExportFileError]; a limit with an [*ExportLimitError]. A ZIP entry with an absolute
// name, a drive letter or a ".." element fails the read, before anything is read, with an
// error matching [archive/zip.ErrInsecurePath] (nothing is ever extracted, but such an archive is
// hostile); an encrypted entry or a compression method other than stored and deflate with
// [ErrUnsupportedFormat].
//
// The summary is returned even with an error, describing what was read until then.
func ReadExport(ctx context.Context, src ExportSource, opts *ExportOptions, fn func(e *ExportEntry) error) (*ExportSummary, error) {
	r := newExportReader(ctx, opts, fn)
	err := r.read(src)
	return r.sum, err
}

// exportReader holds the state of one ReadExport call.
type exportReader struct {
	ctx            context.Context
	fn             func(*ExportEntry) error
	sum            *ExportSummary
	minPlayMS      int64
	excludeSkipped bool
	lim            ExportLimits // normalised: negative = unlimited, never zero

	uncompressed int64 // bytes of JSON read so far, all files
	strs         internTable
	buf          []byte // read buffer, reused across files
	scratch      []byte // unescaping buffer
	rowBuf       []byte // string values of the current entry
	p            parser
	conv         rowConv
}

func newExportReader(ctx context.Context, opts *ExportOptions, fn func(*ExportEntry) error) *exportReader {
	var o ExportOptions
	if opts != nil {
		o = *opts
	}
	r := &exportReader{
		ctx:            ctx,
		fn:             fn,
		sum:            &ExportSummary{Excluded: map[Reason]int{}},
		excludeSkipped: o.ExcludeSkipped,
		lim:            o.Limits.withDefaults(),
	}
	switch {
	case o.MinPlay == 0:
		r.minPlayMS = ExportMinPlayDefault.Milliseconds()
	case o.MinPlay > 0:
		r.minPlayMS = o.MinPlay.Milliseconds()
	}
	r.strs.init()
	return r
}

func (l ExportLimits) withDefaults() ExportLimits {
	def64 := func(v *int64, d int64) {
		if *v == 0 {
			*v = d
		}
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def64(&l.MaxArchiveBytes, ExportMaxArchiveBytesDefault)
	def64(&l.MaxUncompressedBytes, ExportMaxUncompressedBytesDefault)
	def(&l.MaxCompressionRatio, ExportMaxCompressionRatioDefault)
	def(&l.MaxFiles, ExportMaxFilesDefault)
	def(&l.MaxEntries, ExportMaxEntriesDefault)
	def(&l.MaxDepth, ExportMaxDepthDefault)
	def(&l.MaxEntryBytes, ExportMaxEntryBytesDefault)
	if l.MaxDepth < 0 || l.MaxDepth > hardMaxDepth {
		l.MaxDepth = hardMaxDepth
	}
	if l.MaxEntryBytes < 0 {
		l.MaxEntryBytes = int(^uint(0) >> 2)
	}
	return l
}

func (r *exportReader) read(src ExportSource) error {
	if r.fn == nil {
		return errors.New("spotifyhist: read export: nil callback")
	}
	set := 0
	for _, b := range []bool{src.Path != "", src.ReaderAt != nil, src.FS != nil} {
		if b {
			set++
		}
	}
	if set != 1 {
		return errors.New("spotifyhist: read export: set exactly one of Path, ReaderAt and FS in ExportSource")
	}
	if err := r.ctx.Err(); err != nil {
		return err
	}
	switch {
	case src.FS != nil:
		return r.readTree(src.FS, cmp.Or(src.Name, "export"))
	case src.ReaderAt != nil:
		name := cmp.Or(src.Name, "export")
		if src.Size < 0 {
			return fmt.Errorf("spotifyhist: read export: %s: negative size %d", name, src.Size)
		}
		return r.readFile(src.ReaderAt, src.Size, name, name)
	}
	info, err := os.Stat(src.Path)
	if err != nil {
		return fmt.Errorf("spotifyhist: read export: %w", err)
	}
	name := cmp.Or(src.Name, filepath.Base(src.Path))
	if info.IsDir() {
		return r.readTree(os.DirFS(src.Path), name)
	}
	f, err := os.Open(src.Path)
	if err != nil {
		return fmt.Errorf("spotifyhist: read export: %w", err)
	}
	defer f.Close()
	return r.readFile(f, info.Size(), name, name)
}

// readFile reads a single-file source: a ZIP, or a (gzipped) JSON or JSON Lines file.
// hintName is the name used to recognise the file's kind.
func (r *exportReader) readFile(ra io.ReaderAt, size int64, name, hintName string) error {
	var magic [4]byte
	n, err := ra.ReadAt(magic[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return &ExportFileError{File: name, Offset: -1, Err: err}
	}
	if isZipMagic(magic[:n]) {
		return r.readZip(ra, size, name)
	}
	fileKind := classifyName(hintName)
	if fileKind == fileUnknown {
		fileKind = fileSingle
	}
	return r.readStream(io.NewSectionReader(ra, 0, size), size, name, fileKind)
}

// readTree reads every listening-history file of a directory tree named name.
func (r *exportReader) readTree(fsys fs.FS, name string) error {
	type treeFile struct {
		name string
		kind fileKind
	}
	var files []treeFile
	count := 0
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := r.ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && isMacMetadata(d.Name()) {
				return fs.SkipDir
			}
			return nil
		}
		count++
		if r.lim.MaxFiles >= 0 && count > r.lim.MaxFiles {
			return &ExportLimitError{Limit: LimitFiles, Max: int64(r.lim.MaxFiles), Value: int64(count), File: name}
		}
		if isMacMetadata(d.Name()) {
			return nil
		}
		k := classifyName(d.Name())
		if k == fileUnknown || !d.Type().IsRegular() {
			r.sum.IgnoredFiles = append(r.sum.IgnoredFiles, p)
			return nil
		}
		files = append(files, treeFile{name: p, kind: k})
		return nil
	})
	if err != nil {
		var le *ExportLimitError
		if errors.As(err, &le) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return fmt.Errorf("spotifyhist: read export: %s: %w", name, err)
	}
	if len(files) == 0 {
		return fmt.Errorf("spotifyhist: read export: %s: no listening-history file among %d files: %w", name, count, ErrNotExport)
	}
	sortNatural(files, func(f treeFile) string { return f.name })
	for _, tf := range files {
		if err := r.readTreeFile(fsys, tf.name, tf.kind); err != nil {
			return err
		}
	}
	return nil
}

func (r *exportReader) readTreeFile(fsys fs.FS, name string, kind fileKind) error {
	f, err := fsys.Open(name)
	if err != nil {
		return &ExportFileError{File: name, Offset: -1, Err: err}
	}
	defer f.Close()
	size := int64(-1)
	if info, err := f.Stat(); err == nil {
		size = info.Size()
	}
	return r.readStream(f, size, name, kind)
}

// isMacMetadata reports names macOS adds to archives and copies: __MACOSX/ and
// AppleDouble ._* files.
func isMacMetadata(base string) bool {
	return base == "__MACOSX" || strings.HasPrefix(base, "._") || base == ".DS_Store"
}

// fileKind is what a file's name says about its content.
type fileKind uint8

const (
	fileUnknown        fileKind = iota // not a listening-history file
	fileSingle                         // a single-file source with an unrecognised name
	fileExtended                       // Streaming_History_Audio_*, endsong_*
	fileVideo                          // Streaming_History_Video_*
	fileAccountMusic                   // StreamingHistory_music_*
	fileAccountPodcast                 // StreamingHistory_podcast_*
	fileAccountLegacy                  // StreamingHistoryN.json
	fileJSONL                          // *.jsonl
)

// format is the entry format the name implies.
func (k fileKind) format() string {
	switch k {
	case fileExtended, fileVideo:
		return ExportFormatExtended
	case fileAccountMusic, fileAccountPodcast, fileAccountLegacy:
		return ExportFormatAccount
	case fileJSONL:
		return ExportFormatJSONL
	}
	return ""
}

// classifyName recognises listening-history files by base name.
func classifyName(name string) fileKind {
	base := strings.ToLower(path.Base(strings.ReplaceAll(name, `\`, "/")))
	base = strings.TrimSuffix(base, ".gz")
	if strings.HasSuffix(base, ".jsonl") {
		return fileJSONL
	}
	stem, ok := strings.CutSuffix(base, ".json")
	if !ok {
		return fileUnknown
	}
	switch {
	case strings.HasPrefix(stem, "streaming_history_audio"), strings.HasPrefix(stem, "endsong"):
		return fileExtended
	case strings.HasPrefix(stem, "streaming_history_video"):
		return fileVideo
	case strings.HasPrefix(stem, "streaminghistory_music"):
		return fileAccountMusic
	case strings.HasPrefix(stem, "streaminghistory_podcast"):
		return fileAccountPodcast
	case strings.HasPrefix(stem, "streaminghistory"):
		return fileAccountLegacy
	}
	return fileUnknown
}

// sortNatural sorts by name, comparing runs of digits by value (…_2 before …_10).
func sortNatural[T any](s []T, name func(T) string) {
	slices.SortStableFunc(s, func(a, b T) int { return compareNatural(name(a), name(b)) })
}

func compareNatural(a, b string) int {
	for a != "" && b != "" {
		if isDigit(a[0]) && isDigit(b[0]) {
			na, ra := cutDigits(a)
			nb, rb := cutDigits(b)
			ta, tb := strings.TrimLeft(na, "0"), strings.TrimLeft(nb, "0")
			if c := cmp.Compare(len(ta), len(tb)); c != 0 {
				return c
			}
			if c := strings.Compare(ta, tb); c != 0 {
				return c
			}
			a, b = ra, rb
			continue
		}
		if c := cmp.Compare(a[0], b[0]); c != 0 {
			return c
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func cutDigits(s string) (digits, rest string) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i], s[i:]
}
