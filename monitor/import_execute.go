package monitor

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/spotifyhist/spotifyhist/dedupe"
	"github.com/spotifyhist/spotifyhist/store"
)

// execute writes an analysed run. rec is the import found for the file (nil
// for a new file).
func (im *Importer) execute(ctx context.Context, userID string, run *importRun, rec *store.Import, progress ImportProgressFunc) (*ImportResult, error) {
	a := run.analysis
	if progress == nil {
		progress = func(ImportUpdate) {}
	}
	if rec != nil && rec.State == store.ImportDone {
		if a.ToImport == 0 {
			res := &ImportResult{
				Total: a.Total, Excluded: maps.Clone(a.Excluded), Years: map[string]int{},
				ImportID: rec.ID, State: string(rec.State), AlreadyImported: true, Analysis: a,
			}
			res.Duplicates = res.Excluded[reasonName(reasonDupExisting)] + res.Excluded[reasonName(reasonDupInFile)]
			progress(ImportUpdate{ImportID: rec.ID, Phase: ImportPhaseDone, Processed: a.Total, Total: a.Total})
			return res, nil
		}
		// The options now select plays the earlier import left out: a new
		// import, which the earlier one's plays dedupe against.
		rec = nil
	}
	now := im.cfg.Now()
	resumed := rec != nil
	if rec == nil {
		rec = &store.Import{
			ID: newImportID(), UserID: userID, Digest: run.digest, FileName: run.fileName, State: store.ImportRunning,
			Total: a.Total, Excluded: map[string]int{}, CreatedAt: now, UpdatedAt: now,
		}
		if err := im.cfg.Store.CreateImport(ctx, rec); err != nil {
			return nil, fmt.Errorf("monitor: import: create import: %w", err)
		}
	} else if err := im.cfg.Store.UpdateImport(ctx, &store.UpdateImportParams{ID: rec.ID, State: store.ImportRunning, Total: a.Total, Now: now}); err != nil {
		return nil, fmt.Errorf("monitor: import: resume %s: %w", rec.ID, err)
	}
	im.log.InfoContext(ctx, "import started", "user_id", userID, "import_id", rec.ID, "resumed", resumed,
		"processed", rec.Processed, "total", a.Total, "to_import", a.ToImport)

	// Entries are written in time order, so that a batch covers a short
	// period (cheap to recheck) and a resumed import knows where it stopped.
	order := make([]int32, len(run.rows))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(x, y int32) int {
		if c := cmp.Compare(run.rows[x].at, run.rows[y].at); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	})
	run.separate(order)
	processed, imported := min(max(rec.Processed, 0), len(order)), rec.Imported
	progress(ImportUpdate{ImportID: rec.ID, Phase: ImportPhaseAnalyzed, Processed: processed, Total: a.Total, Imported: imported})
	lastBeat := now
	fail := func(err error) (*ImportResult, error) {
		if ferr := im.finish(ctx, rec.ID, store.ImportFailed, a.Total, err); ferr != nil {
			im.log.ErrorContext(ctx, "import state not recorded", "import_id", rec.ID, "error", ferr)
		}
		im.log.WarnContext(ctx, "import stopped", "user_id", userID, "import_id", rec.ID, "processed", processed, "error", err)
		return &ImportResult{ImportID: rec.ID, Total: a.Total, Imported: imported, State: string(store.ImportFailed), Analysis: a},
			fmt.Errorf("monitor: import %s: %w", rec.ID, err)
	}
	for processed < len(order) {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		batch := order[processed:min(processed+im.cfg.BatchSize, len(order))]
		excluded := map[string]int{}
		var write []int32
		for _, ri := range batch {
			if r := &run.rows[ri]; r.reason != 0 {
				excluded[importReasonName(r.reason)]++
			} else {
				write = append(write, ri)
			}
		}
		write, err := im.recheck(ctx, userID, run, rec.ID, write, excluded)
		if err != nil {
			return fail(err)
		}
		plays := make([]store.PlayInput, len(write))
		for i, ri := range write {
			r := &run.rows[ri]
			plays[i] = store.PlayInput{
				Track: run.tracks[r.track].track, PlayedAt: time.UnixMilli(r.at).UTC(),
				MSPlayed: int(r.ms), Source: importSources[r.source],
			}
		}
		res, err := im.cfg.Store.InsertPlays(ctx, &store.InsertPlaysParams{
			UserID: userID, Plays: plays,
			Import: &store.ImportProgress{ImportID: rec.ID, Processed: len(batch), Excluded: excluded},
		})
		if err != nil {
			return fail(err)
		}
		processed += len(batch)
		imported += res.Inserted
		im.metrics.batch(res, excluded)
		if t := im.cfg.Now(); t.Sub(lastBeat) >= im.cfg.StaleAfter/4 {
			// Show other processes that the import is alive.
			if err := im.cfg.Store.UpdateImport(ctx, &store.UpdateImportParams{ID: rec.ID, State: store.ImportRunning, Total: a.Total, Now: t}); err != nil {
				return fail(err)
			}
			lastBeat = t
		}
		progress(ImportUpdate{ImportID: rec.ID, Phase: ImportPhaseImporting, Processed: processed, Total: a.Total, Imported: imported})
	}
	if err := im.finish(ctx, rec.ID, store.ImportDone, a.Total, nil); err != nil {
		return nil, fmt.Errorf("monitor: import %s: record completion: %w", rec.ID, err)
	}
	final, err := im.cfg.Store.GetImport(ctx, rec.ID)
	if err != nil {
		return nil, fmt.Errorf("monitor: import %s: %w", rec.ID, err)
	}
	res := &ImportResult{
		Imported: final.Imported, Total: final.Total, Excluded: map[string]int{}, Years: maps.Clone(a.Years),
		ImportID: final.ID, State: string(final.State), Resumed: resumed, Analysis: a,
	}
	for _, r := range importReasons {
		res.Excluded[r] = final.Excluded[r]
	}
	res.Excluded[reasonName(reasonDupExisting)] += final.Duplicates
	res.Duplicates = res.Excluded[reasonName(reasonDupExisting)] + res.Excluded[reasonName(reasonDupInFile)]
	progress(ImportUpdate{ImportID: rec.ID, Phase: ImportPhaseDone, Processed: final.Processed, Total: final.Total, Imported: final.Imported})
	return res, nil
}

func reasonName(c uint8) string { return importReasonName(c) }

// separate gives distinct times to plays to import that would share a
// (played_at, track) key: two plays of one short track ending in the same
// minute of account data. The later one moves by a millisecond, well within
// the minute its time is known to; the result depends only on the file, so a
// resumed or repeated import moves the same plays.
func (run *importRun) separate(order []int32) {
	type key struct {
		at    int64
		track int32
	}
	seen := make(map[key]bool)
	for _, ri := range order {
		r := &run.rows[ri]
		if r.reason != 0 || r.prec < 60_000 {
			// Finer timestamps never collide: two plays of one track ending in
			// the same second are one stream, dropped as duplicate_in_file.
			continue
		}
		k := key{r.at, r.track}
		for seen[k] {
			k.at++
		}
		seen[k] = true
		r.at = k.at
	}
}

// recheck matches the plays about to be written against the plays stored in
// their period since the analysis (live monitoring keeps writing while an
// import runs), so that a play polled meanwhile is not stored twice. It
// returns the rows still to write and counts the others in excluded.
func (im *Importer) recheck(ctx context.Context, userID string, run *importRun, importID string, write []int32, excluded map[string]int) ([]int32, error) {
	if im.cfg.RecheckWindow < 0 || len(write) == 0 {
		return write, nil
	}
	lo, hi := int64(1<<62), int64(-1<<62)
	for _, ri := range write {
		r := &run.rows[ri]
		lo, hi = min(lo, r.at), max(hi, r.at+int64(r.prec))
	}
	if hi < run.recentCut {
		return write, nil
	}
	// Plays before the cut were all in the analysis: list only later ones,
	// which run.recent holds.
	margin := importMargin.Milliseconds()
	from := max(lo-margin, run.recentCut-margin)
	stored, err := im.cfg.Store.ListPlays(ctx, &store.ListPlaysParams{UserID: userID, From: time.UnixMilli(from), To: time.UnixMilli(hi + margin)})
	if err != nil {
		return nil, fmt.Errorf("recheck stored plays: %w", err)
	}
	fresh := slices.DeleteFunc(stored, func(p store.PlayWithTrack) bool {
		if p.ImportID == importID {
			return true
		}
		_, known := slices.BinarySearchFunc(run.recent, importKey{p.PlayedAt.UnixMilli(), p.TrackID}, compareImportKey)
		return known
	})
	if len(fresh) == 0 {
		return write, nil
	}
	entries := make([]dedupe.Entry, len(write))
	for i, ri := range write {
		entries[i] = run.entries[run.rows[ri].entry]
	}
	dec := run.policy.Match(entries, fresh)
	kept := write[:0]
	for i, ri := range write {
		if dec[i].Reason == dedupe.ReasonDuplicateExisting {
			run.rows[ri].reason = reasonDupExisting
			excluded[reasonName(reasonDupExisting)]++
			im.log.InfoContext(ctx, "import: play stored meanwhile", "user_id", userID, "played_at", entries[i].PlayedAt.UTC(),
				"track_id", entries[i].TrackID, "matched_source", dec[i].Matched.Source)
			continue
		}
		kept = append(kept, ri)
	}
	return kept, nil
}
