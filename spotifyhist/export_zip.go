package spotifyhist

import (
	"archive/zip"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// isZipMagic recognises a ZIP local file header, an empty archive, or a spanning marker.
func isZipMagic(b []byte) bool {
	return len(b) >= 4 && b[0] == 'P' && b[1] == 'K' &&
		((b[2] == 3 && b[3] == 4) || (b[2] == 5 && b[3] == 6) || (b[2] == 7 && b[3] == 8))
}

// isCorruptionError reports errors of damaged compressed data.
func isCorruptionError(err error) bool {
	var ce flate.CorruptInputError
	return errors.As(err, &ce) || errors.Is(err, zip.ErrChecksum) || errors.Is(err, zip.ErrFormat) ||
		errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF)
}

// readZip reads every listening-history file of a ZIP archive.
func (r *exportReader) readZip(ra io.ReaderAt, size int64, name string) error {
	if m := r.lim.MaxArchiveBytes; m >= 0 && size > m {
		return &ExportLimitError{Limit: LimitArchiveBytes, Max: m, Value: size, File: name}
	}
	// archive/zip loads the whole central directory; refuse an absurd one before that.
	if n, ok := zipDeclaredEntries(ra, size); ok && r.lim.MaxFiles >= 0 && n > uint64(r.lim.MaxFiles) {
		return &ExportLimitError{Limit: LimitFiles, Max: int64(r.lim.MaxFiles), Value: int64(min(n, 1<<62)), File: name}
	}
	zr, err := zip.NewReader(ra, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // insecure names are checked below
		return &ExportFileError{File: name, Offset: -1, Err: corrupt("not a valid ZIP archive", err)}
	}
	if r.lim.MaxFiles >= 0 && len(zr.File) > r.lim.MaxFiles {
		return &ExportLimitError{Limit: LimitFiles, Max: int64(r.lim.MaxFiles), Value: int64(len(zr.File)), File: name}
	}
	type zipEntry struct {
		name string
		f    *zip.File
		kind fileKind
	}
	var files []zipEntry
	for _, f := range zr.File {
		n := strings.ReplaceAll(f.Name, `\`, "/")
		if !safeZipName(n) {
			return fmt.Errorf("spotifyhist: read export: %s: entry %q: %w", name, f.Name, zip.ErrInsecurePath)
		}
		if strings.HasSuffix(n, "/") || f.Mode().IsDir() || inMacMetadata(n) {
			continue
		}
		k := classifyName(n)
		if k == fileUnknown || !f.Mode().IsRegular() {
			r.sum.IgnoredFiles = append(r.sum.IgnoredFiles, n)
			continue
		}
		files = append(files, zipEntry{name: n, f: f, kind: k})
	}
	if len(files) == 0 {
		return fmt.Errorf("spotifyhist: read export: %s: no listening-history file among %d entries: %w", name, len(zr.File), ErrNotExport)
	}
	sortNatural(files, func(z zipEntry) string { return z.name })
	for _, z := range files {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		if err := r.readZipFile(z.f, z.name, z.kind); err != nil {
			return err
		}
	}
	return nil
}

func (r *exportReader) readZipFile(f *zip.File, name string, kind fileKind) error {
	if f.Flags&0x1 != 0 {
		return &ExportFileError{File: name, Offset: -1, Err: &kindError{kind: ErrUnsupportedFormat, msg: "encrypted ZIP entry"}}
	}
	rc, err := f.Open()
	if errors.Is(err, zip.ErrAlgorithm) {
		return &ExportFileError{File: name, Offset: -1, Err: &kindError{
			kind: ErrUnsupportedFormat, msg: fmt.Sprintf("ZIP compression method %d (only stored and deflate are supported)", f.Method), cause: err,
		}}
	}
	if err != nil {
		return &ExportFileError{File: name, Offset: -1, Err: corrupt("damaged ZIP entry", err)}
	}
	defer rc.Close()
	// CompressedSize64 bounds what the decompressor can consume (archive/zip reads the
	// entry through a section of that size), so the ratio below is an honest bound
	// whatever the headers claim about the uncompressed size.
	compressed := int64(min(f.CompressedSize64, 1<<62))
	in := &ratioReader{r: zipEntryReader{rc}, compressed: &compressed, max: int64(r.lim.MaxCompressionRatio), file: name}
	return r.readStream(in, -1, name, kind)
}

// zipEntryReader reports every read error of a ZIP entry as damage: with header offsets
// and sizes taken from the archive, a bad value surfaces as any error of the underlying
// reader (for instance a negative offset), not only as a zip or flate error.
type zipEntryReader struct{ r io.Reader }

func (z zipEntryReader) Read(p []byte) (int, error) {
	n, err := z.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, ErrExportCorrupt) {
		err = corrupt("damaged ZIP entry", err)
	}
	return n, err
}

// safeZipName refuses names that would escape a directory if extracted: absolute paths,
// drive letters, ".." elements, NUL bytes, and the empty name.
func safeZipName(n string) bool {
	if n == "" || strings.HasPrefix(n, "/") || strings.IndexByte(n, 0) >= 0 {
		return false
	}
	if len(n) >= 2 && n[1] == ':' {
		return false
	}
	for _, el := range strings.Split(n, "/") {
		if el == ".." {
			return false
		}
	}
	return true
}

// inMacMetadata reports a path inside __MACOSX/ or an AppleDouble ._* file.
func inMacMetadata(n string) bool {
	for _, el := range strings.Split(n, "/") {
		if el == "__MACOSX" {
			return true
		}
	}
	return isMacMetadata(path.Base(n))
}

// zipDeclaredEntries reads the entry count of the end-of-central-directory record (or its
// ZIP64 form). ok is false when the record is not found; zip.NewReader then reports it.
func zipDeclaredEntries(ra io.ReaderAt, size int64) (uint64, bool) {
	const eocdLen = 22
	if size < eocdLen {
		return 0, false
	}
	tail := make([]byte, min(size, eocdLen+65535))
	if n, err := ra.ReadAt(tail, size-int64(len(tail))); n != len(tail) && err != nil {
		return 0, false
	}
	for i := len(tail) - eocdLen; i >= 0; i-- {
		if string(tail[i:i+4]) != "PK\x05\x06" {
			continue
		}
		count := uint64(binary.LittleEndian.Uint16(tail[i+10:]))
		if count != 0xffff || i < 20 || string(tail[i-20:i-16]) != "PK\x06\x07" {
			return count, true
		}
		// ZIP64 locator: the offset of the ZIP64 end record, whose count is 64-bit.
		off := binary.LittleEndian.Uint64(tail[i-20+8:])
		var rec [56]byte
		if off > uint64(size) {
			return count, true
		}
		if n, err := ra.ReadAt(rec[:], int64(off)); n != len(rec) && err != nil {
			return count, true
		}
		if string(rec[:4]) != "PK\x06\x06" {
			return count, true
		}
		return binary.LittleEndian.Uint64(rec[32:]), true
	}
	return 0, false
}
