package monitor

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spotifyhist/spotifyhist/dedupe"
	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/store"
)

// importReasons are the exclusion reasons in output order; a row's reason is
// an index into it plus one (0 = a play to import).
var importReasons = func() []string {
	var out []string
	for _, r := range spotifyhist.ExclusionReasons() {
		out = append(out, string(r))
	}
	return out
}()

func importReasonCode(r string) uint8 {
	if r == "" {
		return 0
	}
	if i := slices.Index(importReasons, r); i >= 0 {
		return uint8(i + 1)
	}
	// An unknown reason from a newer reader is still counted, as malformed.
	return uint8(slices.Index(importReasons, string(spotifyhist.ReasonMalformed)) + 1)
}

func importReasonName(c uint8) string {
	if c == 0 {
		return ""
	}
	return importReasons[c-1]
}

var (
	reasonDupExisting = importReasonCode(string(spotifyhist.ReasonDuplicateExisting))
	reasonDupInFile   = importReasonCode(string(spotifyhist.ReasonDuplicateInFile))
)

var importSources = []store.Source{store.SourceImport, store.SourceHistory, store.SourceRealtime}

// importRow is one export entry, reduced to what the import needs.
type importRow struct {
	at     int64 // PlayedAt, Unix ms
	ms     int32
	prec   int32 // precision of at, ms
	track  int32 // index into importRun.tracks; -1 without a usable identity
	file   int32
	index  int32
	reason uint8 // importReasonCode
	source uint8 // index into importSources
	entry  int32 // index into importRun.entries; -1 when not matched
}

// importTrack is a distinct track of the export.
type importTrack struct {
	track   store.Track // what InsertPlays stores (ID set once resolved)
	matchID string      // the id the dedupe policy sees ("" = names only)
	artists []string    // artist names the export gives
	nameKey string      // for account data: normalised artist + name
}

// importRun is one analysis, kept for the execution.
type importRun struct {
	digest   string
	fileName string
	summary  *spotifyhist.ExportSummary
	rows     []importRow
	tracks   []importTrack
	entries  []dedupe.Entry
	decided  []dedupe.Decision
	analysis *Analysis
	policy   dedupe.Policy
	// recent are the stored plays (not this import's) ending after the
	// recheck cut, sorted, for the recheck before writing recent batches.
	recent    []importKey
	recentCut int64
	exclude   string // the import whose own plays were left out
	byName    map[string]string
}

type importKey struct {
	at    int64
	track string
}

func compareImportKey(a, b importKey) int {
	if c := cmp.Compare(a.at, b.at); c != 0 {
		return c
	}
	return strings.Compare(a.track, b.track)
}

// importCollector turns export entries into rows and tracks.
type importCollector struct {
	run *importRun
	// Tracks by local-file URI, by id, by artist and name.
	byURI, byID, byName map[string]int32
	files               map[string]int32
	names               []string
	artists             map[string][]string
}

func (c *importCollector) add(e *spotifyhist.ExportEntry) error {
	fi, ok := c.files[e.File]
	if !ok {
		fi = int32(len(c.names))
		c.files[e.File] = fi
		c.names = append(c.names, e.File)
	}
	r := importRow{
		at:     e.PlayedAt.UnixMilli(),
		ms:     int32(min(max(e.MSPlayed, 0), 1<<31-1)),
		prec:   int32(max(e.Precision.Milliseconds(), 1)),
		track:  -1,
		file:   fi,
		index:  int32(e.Index),
		reason: importReasonCode(string(e.Exclusion)),
		entry:  -1,
	}
	if e.Format == spotifyhist.ExportFormatJSONL {
		if i := slices.Index(importSources, store.Source(e.Source)); i >= 0 {
			r.source = uint8(i)
		}
	}
	if importUsable(e) {
		r.track = c.track(e)
	}
	c.run.rows = append(c.run.rows, r)
	return nil
}

// importUsable reports whether an entry names a track well enough to take
// part in duplicate detection: plays, and excluded streams that monitoring
// may have stored (too short, private, skipped, no longer available).
func importUsable(e *spotifyhist.ExportEntry) bool {
	switch e.Exclusion {
	case "", spotifyhist.ReasonTooShort, spotifyhist.ReasonIncognito, spotifyhist.ReasonSkipped, spotifyhist.ReasonNoTrackURI:
	default:
		return false
	}
	if e.Kind != "" && e.Kind != spotifyhist.KindTrack || e.PlayedAt.IsZero() {
		return false
	}
	return e.TrackID != "" || e.TrackURI != "" || e.TrackName != "" && e.ArtistName != ""
}

func (c *importCollector) artistList(e *spotifyhist.ExportEntry) []string {
	if len(e.Artists) > 0 {
		return slices.Clone(e.Artists)
	}
	if e.ArtistName == "" {
		return nil
	}
	a, ok := c.artists[e.ArtistName]
	if !ok {
		a = []string{e.ArtistName}
		c.artists[e.ArtistName] = a
	}
	return a
}

// track returns the index of the entry's track, adding it on first sight.
func (c *importCollector) track(e *spotifyhist.ExportEntry) int32 {
	local := spotifyhist.IsLocalURI(e.TrackURI)
	var seen map[string]int32
	var key string
	switch {
	case local:
		seen, key = c.byURI, e.TrackURI
	case e.TrackID != "":
		seen, key = c.byID, e.TrackID
	default:
		seen, key = c.byName, e.ArtistName+"\x00"+e.TrackName
	}
	if i, ok := seen[key]; ok {
		return i
	}
	it := importTrack{artists: c.artistList(e)}
	t := store.Track{Name: e.TrackName}
	album := e.AlbumName
	switch {
	case local:
		t.ID, t.IsLocal = spotifyhist.LocalTrackID(e.TrackURI), true
		if lf, err := spotifyhist.ParseLocalURI(e.TrackURI); err == nil {
			t.DurationMS = int(lf.Duration.Milliseconds())
			if t.Name == "" {
				t.Name = lf.Title
			}
			if len(it.artists) == 0 && lf.Artist != "" {
				it.artists = []string{lf.Artist}
			}
			if album == "" {
				album = lf.Album
			}
		}
		it.matchID = t.ID
	case e.TrackID != "":
		t.ID = e.TrackID
		t.IsLocal = strings.HasPrefix(t.ID, spotifyhist.LocalIDPrefix)
		it.matchID = t.ID
	default:
		// Names only (account data, withdrawn tracks): the id is resolved
		// against the stored catalogue after the read.
		it.nameKey = store.NormalizeName(e.ArtistName) + "\x00" + store.NormalizeName(e.TrackName)
	}
	if album != "" {
		t.Album = store.Album{ID: store.ProvisionalID("album", album), Name: album}
	}
	for _, a := range it.artists {
		if a != "" {
			t.Artists = append(t.Artists, store.Artist{ID: store.ProvisionalID("artist", a), Name: a})
		}
	}
	it.track = t
	i := int32(len(c.run.tracks))
	c.run.tracks = append(c.run.tracks, it)
	seen[key] = i
	return i
}

// analyze reads the export, computes its digest, lets claim decide which
// import's own plays to ignore, loads the stored plays of the export's period
// and runs the dedupe policy.
func (im *Importer) analyze(ctx context.Context, userID string, src spotifyhist.ExportSource, opts *ImportOptions,
	claim func(ctx context.Context, digest string) (string, error)) (*importRun, error) {
	var o ImportOptions
	if opts != nil {
		o = *opts
	}
	run := &importRun{policy: im.policy(opts), fileName: o.FileName}
	if run.fileName == "" {
		run.fileName = importSourceName(src)
	}
	col := &importCollector{
		run: run, byURI: make(map[string]int32), byID: make(map[string]int32), byName: make(map[string]int32),
		files: make(map[string]int32), artists: make(map[string][]string),
	}

	readCtx, cancelRead := context.WithCancel(ctx)
	defer cancelRead()
	digestc := make(chan importDigest, 1)
	go func() { digestc <- digestSource(readCtx, src) }()

	sum, err := spotifyhist.ReadExport(ctx, src, &spotifyhist.ExportOptions{
		MinPlay: o.MinPlay, ExcludeSkipped: o.ExcludeSkipped, Limits: im.cfg.Limits,
	}, col.add)
	if err != nil {
		cancelRead()
		<-digestc
		return nil, fmt.Errorf("monitor: import: read export: %w", err)
	}
	d := <-digestc
	if d.err != nil {
		return nil, fmt.Errorf("monitor: import: digest: %w", d.err)
	}
	if d.entries != nil {
		// A directory tree: the digest covers what was read of the
		// listening-history files (not the options' verdicts on it).
		for _, f := range sum.Files {
			fmt.Fprintf(d.entries, "%s\x00%d\x00", f.Name, f.Entries)
		}
		for _, r := range run.rows {
			fmt.Fprintf(d.entries, "%d,%d,%d,%d,%d,%d\n", r.at, r.ms, r.prec, r.source, r.track, r.index)
		}
		for _, t := range run.tracks {
			fmt.Fprintf(d.entries, "%s\x00%s\x00%s\n", t.track.ID, t.track.Name, strings.Join(t.artists, "\x00"))
		}
		d.sum = "tree-" + hex.EncodeToString(d.entries.Sum(nil))
	}
	run.digest, run.summary = d.sum, sum
	if len(run.rows) != sum.Total {
		return nil, fmt.Errorf("monitor: import: read export: %d entries reported, %d seen", sum.Total, len(run.rows))
	}
	if claim != nil {
		if run.exclude, err = claim(ctx, run.digest); err != nil {
			return nil, err
		}
	}
	stored, err := im.loadStored(ctx, userID, run)
	if err != nil {
		return nil, err
	}
	run.resolveNames(stored)
	run.match(stored)
	run.keepRecent(stored, im.cfg.Now(), im.cfg.RecheckWindow)
	run.analysis = run.analyse(col.names, im.cfg.Examples)
	run.release()
	return run, nil
}

func importSourceName(src spotifyhist.ExportSource) string {
	switch {
	case src.Name != "":
		return src.Name
	case src.Path != "":
		return src.Path[strings.LastIndexAny(src.Path, `/\`)+1:]
	}
	return "export"
}

// loadStored returns the user's stored plays over the export's period,
// without the plays of run.exclude.
func (im *Importer) loadStored(ctx context.Context, userID string, run *importRun) ([]store.PlayWithTrack, error) {
	lo, hi := int64(1<<62), int64(-1<<62)
	for _, r := range run.rows {
		if r.track >= 0 {
			lo, hi = min(lo, r.at), max(hi, r.at+int64(r.prec))
		}
	}
	if lo > hi {
		return nil, nil
	}
	margin := importMargin.Milliseconds()
	stored, err := im.cfg.Store.ListPlays(ctx, &store.ListPlaysParams{
		UserID: userID, From: time.UnixMilli(lo - margin), To: time.UnixMilli(hi + margin),
	})
	if err != nil {
		return nil, fmt.Errorf("monitor: import: list stored plays: %w", err)
	}
	if run.exclude != "" {
		stored = slices.DeleteFunc(stored, func(p store.PlayWithTrack) bool { return p.ImportID == run.exclude })
	}
	return stored, nil
}

// resolveNames gives tracks known only by name (account data) the id of the
// stored track with the same normalised name and artist (the most played one),
// or a provisional id.
func (run *importRun) resolveNames(stored []store.PlayWithTrack) {
	need := false
	for i := range run.tracks {
		if run.tracks[i].nameKey != "" {
			need = true
			break
		}
	}
	if !need {
		return
	}
	counts := make(map[string]map[string]int)
	norm := make(map[string]string)
	normalize := func(s string) string {
		v, ok := norm[s]
		if !ok {
			v = store.NormalizeName(s)
			norm[s] = v
		}
		return v
	}
	for i := range stored {
		t := &stored[i].Track
		if t.IsLocal {
			continue
		}
		name := normalize(t.Name)
		for _, a := range t.Artists {
			k := normalize(a.Name) + "\x00" + name
			if counts[k] == nil {
				counts[k] = make(map[string]int)
			}
			counts[k][t.ID]++
		}
	}
	for i := range run.tracks {
		it := &run.tracks[i]
		if it.nameKey == "" {
			continue
		}
		best, n := "", 0
		for id, c := range counts[it.nameKey] {
			if c > n || c == n && id < best {
				best, n = id, c
			}
		}
		if best == "" {
			artist := ""
			if len(it.artists) > 0 {
				artist = it.artists[0]
			}
			best = store.ProvisionalID("track", artist+" – "+it.track.Name)
		}
		it.track.ID = best
	}
}

// match runs the dedupe policy over the rows that name a track and records
// the duplicates in the rows' reasons.
func (run *importRun) match(stored []store.PlayWithTrack) {
	run.entries = run.entries[:0]
	for i := range run.rows {
		r := &run.rows[i]
		if r.track < 0 {
			continue
		}
		t := &run.tracks[r.track]
		r.entry = int32(len(run.entries))
		run.entries = append(run.entries, dedupe.Entry{
			Key:       i,
			TrackID:   t.matchID,
			TrackName: t.track.Name,
			Artists:   t.artists,
			Album:     t.track.Album.Name,
			PlayedAt:  time.UnixMilli(r.at),
			MSPlayed:  int(r.ms),
			Precision: time.Duration(r.prec) * time.Millisecond,
			Source:    importSources[r.source],
			Excluded:  r.reason != 0,
		})
	}
	run.decided = run.policy.Match(run.entries, stored)
	for k := range run.decided {
		d := &run.decided[k]
		r := &run.rows[run.entries[k].Key]
		if r.reason != 0 {
			continue
		}
		switch d.Reason {
		case dedupe.ReasonDuplicateExisting:
			r.reason = reasonDupExisting
		case dedupe.ReasonDuplicateInFile:
			r.reason = reasonDupInFile
		}
	}
}

// keepRecent remembers the stored plays late enough to be rechecked.
func (run *importRun) keepRecent(stored []store.PlayWithTrack, now time.Time, window time.Duration) {
	if window < 0 {
		run.recentCut = math.MaxInt64
		return
	}
	run.recentCut = now.Add(-window).UnixMilli()
	for i := range stored {
		if at := stored[i].PlayedAt.UnixMilli(); at >= run.recentCut-importMargin.Milliseconds() {
			run.recent = append(run.recent, importKey{at, stored[i].TrackID})
		}
	}
	slices.SortFunc(run.recent, compareImportKey)
}

// release drops what the execution no longer needs: the decisions (the rows
// carry their reasons) and, when no batch will be rechecked, the entries.
func (run *importRun) release() {
	run.decided = nil
	for i := range run.rows {
		if r := &run.rows[i]; r.reason == 0 && r.at+int64(r.prec) >= run.recentCut {
			return
		}
	}
	run.entries = nil
}

// importDigest is the result of hashing a source.
type importDigest struct {
	sum     string
	entries hash.Hash // for a tree: to be fed with the entries read
	err     error
}

// digestSource hashes a file source (SHA-256 of its bytes). A directory tree
// is hashed by the analysis over what was read instead.
func digestSource(ctx context.Context, src spotifyhist.ExportSource) importDigest {
	var r io.Reader
	switch {
	case src.ReaderAt != nil:
		r = io.NewSectionReader(src.ReaderAt, 0, max(src.Size, 0))
	case src.Path != "":
		info, err := os.Stat(src.Path)
		if err != nil {
			return importDigest{err: err}
		}
		if info.IsDir() {
			return importDigest{entries: sha256.New()}
		}
		f, err := os.Open(src.Path)
		if err != nil {
			return importDigest{err: err}
		}
		defer f.Close()
		r = f
	default:
		return importDigest{entries: sha256.New()}
	}
	h := sha256.New()
	buf := make([]byte, 256<<10)
	for {
		if err := ctx.Err(); err != nil {
			return importDigest{err: err}
		}
		n, err := r.Read(buf)
		h.Write(buf[:n])
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return importDigest{err: err}
		}
	}
	return importDigest{sum: hex.EncodeToString(h.Sum(nil))}
}

// analyse counts the run's rows.
func (run *importRun) analyse(files []string, examples int) *Analysis {
	a := &Analysis{
		Total:    len(run.rows),
		Excluded: make(map[string]int, len(importReasons)),
		Years:    make(map[string]int),
		Digest:   run.digest,
		FileName: run.fileName,
		Policy:   fmt.Sprint(run.policy),
	}
	for _, r := range importReasons {
		a.Excluded[r] = 0
	}
	years := make(map[int]int)
	first, last := int64(1<<62), int64(-1<<62)
	for i := range run.rows {
		r := &run.rows[i]
		if r.reason != 0 {
			a.Excluded[importReasonName(r.reason)]++
			continue
		}
		a.ToImport++
		years[time.UnixMilli(r.at).UTC().Year()]++
		first, last = min(first, r.at), max(last, r.at)
	}
	for y, n := range years {
		a.Years[strconv.Itoa(y)] = n
	}
	if a.ToImport > 0 {
		f, l := time.UnixMilli(first).UTC(), time.UnixMilli(last).UTC()
		a.First, a.Last = &f, &l
	}
	for _, f := range run.summary.Files {
		a.Files = append(a.Files, ImportFile{Name: f.Name, Format: f.Format, Entries: f.Entries})
	}
	a.IgnoredFiles = run.summary.IgnoredFiles
	if examples > 0 {
		a.Examples = run.examples(files, examples)
	}
	return a
}

// examples returns the first duplicates of each kind, in file order.
func (run *importRun) examples(files []string, per int) []ImportExample {
	var out []ImportExample
	seen := map[string]int{}
	for k := range run.decided {
		d := &run.decided[k]
		e := &run.entries[k]
		r := &run.rows[e.Key]
		if r.reason != reasonDupExisting && r.reason != reasonDupInFile || seen[d.Reason] >= per {
			continue
		}
		seen[d.Reason]++
		ex := ImportExample{
			Reason:    d.Reason,
			Rule:      d.Rule,
			ByName:    d.ByName,
			File:      files[r.file],
			Index:     int(r.index),
			PlayedAt:  e.PlayedAt.UTC(),
			TrackID:   run.tracks[r.track].track.ID,
			TrackName: e.TrackName,
			MSPlayed:  e.MSPlayed,
			DeltaMS:   d.Delta.Milliseconds(),
		}
		if len(e.Artists) > 0 {
			ex.Artist = e.Artists[0]
		}
		if d.Matched != nil {
			ex.Matched = &ImportMatched{PlayedAt: d.Matched.PlayedAt.UTC(), TrackID: d.Matched.TrackID, Source: string(d.Matched.Source), MSPlayed: d.Matched.MSPlayed, ImportID: d.Matched.ImportID}
		}
		if d.Reason == dedupe.ReasonDuplicateInFile {
			other := &run.rows[d.MatchedEntry]
			ex.MatchedEntry = &ImportMatchedEntry{File: files[other.file], Index: int(other.index), PlayedAt: time.UnixMilli(other.at).UTC()}
		}
		out = append(out, ex)
	}
	return out
}
