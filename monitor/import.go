package monitor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/spotifyhist/spotifyhist/dedupe"
	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/store"
)

// Defaults of [ImporterConfig].
const (
	// ImportBatchSizeDefault is the number of export entries per transaction.
	ImportBatchSizeDefault = 5000
	// ImportRecheckWindowDefault: batches of plays this recent are checked
	// again, just before they are written, against what live monitoring stored
	// since the analysis (recently-played reaches a few days back at most;
	// offline plays can arrive weeks late).
	ImportRecheckWindowDefault = 30 * 24 * time.Hour
	// ImportStaleAfterDefault: an import left "running" without progress for
	// this long is taken to have crashed and may be resumed.
	ImportStaleAfterDefault = 2 * time.Minute
	// ImportExamplesDefault is the number of duplicate examples an analysis
	// shows per reason.
	ImportExamplesDefault = 5
)

// importMargin widens the period of stored plays an analysis loads around the
// export's first and last plays: it covers every tolerance of the dedupe
// policy, including a paused stream.
const importMargin = 2 * time.Hour

// Errors of the [Importer]. Test with errors.Is.
var (
	// ErrImportInProgress: the same user's import of the same file is running
	// (in this process, or updated by another within ImporterConfig.StaleAfter).
	ErrImportInProgress = errors.New("monitor: import already in progress")
)

// importStore is what the importer needs from the database.
type importStore interface {
	GetUser(ctx context.Context, id string) (*store.User, error)
	ListPlays(ctx context.Context, p *store.ListPlaysParams) ([]store.PlayWithTrack, error)
	InsertPlays(ctx context.Context, p *store.InsertPlaysParams) (*store.InsertPlaysResult, error)
	CreateImport(ctx context.Context, imp *store.Import) error
	FindImport(ctx context.Context, userID, digest string) (*store.Import, error)
	GetImport(ctx context.Context, id string) (*store.Import, error)
	UpdateImport(ctx context.Context, p *store.UpdateImportParams) error
}

var _ importStore = store.Store(nil)

// ImporterConfig configures an [Importer]. Store is required; every other zero
// field means its documented default.
type ImporterConfig struct {
	// Store is the database (any store.Store). Required.
	Store importStore
	// Policy decides which entries are already stored. Default
	// dedupe.OneToOne(nil).
	Policy dedupe.Policy
	// BatchSize is the number of export entries (plays and excluded entries)
	// written per transaction. Default ImportBatchSizeDefault (5,000).
	BatchSize int
	// Limits protect the export reader against hostile uploads; zero fields
	// mean spotifyhist's defaults.
	Limits spotifyhist.ExportLimits
	// RecheckWindow: before a batch whose plays end within this of Now is
	// written, the plays stored since the analysis (by live monitoring) in its
	// period are matched against it again. Default ImportRecheckWindowDefault
	// (30 days); negative disables the recheck.
	RecheckWindow time.Duration
	// StaleAfter: an import left running without an update for this long is
	// resumable by another call. Default ImportStaleAfterDefault (2 min).
	StaleAfter time.Duration
	// Examples is the number of duplicate examples per reason in an analysis.
	// Default ImportExamplesDefault (5); negative means none.
	Examples int
	// Now is the wall clock for import records. Default time.Now.
	Now func() time.Time
	// Logger receives the importer's logs. Nil means slog.Default().
	Logger *slog.Logger
	// Registerer receives the importer's metrics
	// (spotifyhist_import_entries_total{outcome},
	// spotifyhist_import_runs_total{op,result},
	// spotifyhist_import_duration_seconds{op}). Nil means none.
	Registerer prometheus.Registerer
}

func (c ImporterConfig) withDefaults() ImporterConfig {
	if c.Policy == nil {
		c.Policy = dedupe.OneToOne(nil)
	}
	if c.BatchSize <= 0 {
		c.BatchSize = ImportBatchSizeDefault
	}
	if c.RecheckWindow == 0 {
		c.RecheckWindow = ImportRecheckWindowDefault
	}
	if c.StaleAfter <= 0 {
		c.StaleAfter = ImportStaleAfterDefault
	}
	if c.Examples == 0 {
		c.Examples = ImportExamplesDefault
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// ImportOptions tune one analysis or import. A nil *ImportOptions means the
// defaults.
type ImportOptions struct {
	// ExcludeSkipped also drops entries Spotify flagged skipped, as the
	// original system did (Spotify's flag is unreliable; off by default).
	ExcludeSkipped bool
	// MinPlay is the shortest stream that counts as a play. Zero means
	// spotifyhist.ExportMinPlayDefault (30 s); negative means no minimum.
	MinPlay time.Duration
	// Policy overrides ImporterConfig.Policy for this call.
	Policy dedupe.Policy
	// FileName names the file in the import record. Default: the source's
	// name.
	FileName string
}

// ImportProgressFunc receives the progress of [Importer.Execute] after the
// analysis and after every batch. It runs on the importer's goroutine and
// should return quickly.
type ImportProgressFunc func(ImportUpdate)

// ImportUpdate is one progress report.
type ImportUpdate struct {
	ImportID string `json:"import_id"`
	// Phase is "analyzed", "importing" or "done".
	Phase string `json:"phase"`
	// Processed counts the export entries handled so far (of Total), Imported
	// the plays added, both including an earlier interrupted run.
	Processed int `json:"processed"`
	Total     int `json:"total"`
	Imported  int `json:"imported"`
}

// Import phases, the values of [ImportUpdate.Phase].
const (
	ImportPhaseAnalyzed  = "analyzed"
	ImportPhaseImporting = "importing"
	ImportPhaseDone      = "done"
)

// Importer imports Spotify exports (and spotifyhist's JSON Lines) into a
// user's history without duplicates. Make one with [NewImporter]; it is safe
// for concurrent use.
//
// # Pipeline
//
// The export is read by spotifyhist.ReadExport, which gives every entry a
// reason when it is no play (too short, private, podcast, ...) while the
// file's SHA-256 is computed alongside. The user's stored plays over the
// export's period (plus two hours each side) are loaded once, and the dedupe
// policy decides, for every entry that names a track (plays, and the
// excluded streams that monitoring may still have stored, which absorb their
// own rows), whether it is already stored or repeats another entry. Every
// entry ends up counted under exactly one reason or as a play to import.
//
// Plays are stored under the export's track ids (local files under
// spotifyhist.LocalTrackID of their URI) as unlinked tracks whose album and
// artists carry store.ProvisionalID ids from the export's names; the artist
// linker upgrades them later. Account data names tracks only: a play joins
// the stored track with the same normalised name and artist, or a track with
// a provisional id. JSON Lines plays keep their own source.
//
// # Live monitoring meanwhile
//
// Monitoring keeps storing plays while an import runs. Plays stored before
// the analysis are matched as any stored play. For plays stored later, every
// batch whose plays end within RecheckWindow of now lists the stored plays of
// its period again just before it is written and matches its plays against
// those the analysis had not seen. What remains is the moment between that
// listing and the batch's commit, and a monitor storing a play after the
// import stored it: the unique key (user, played_at, track) only catches a
// play reported with the very same time.
type Importer struct {
	cfg     ImporterConfig
	log     *slog.Logger
	metrics *importMetrics

	mu      sync.Mutex
	running map[string]bool // user id + digest of imports running in this process
}

// NewImporter returns an importer.
func NewImporter(cfg ImporterConfig) (*Importer, error) {
	if cfg.Store == nil {
		return nil, errors.New("monitor: new importer: Store is required")
	}
	cfg = cfg.withDefaults()
	m, err := newImportMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("monitor: new importer: %w", err)
	}
	return &Importer{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "monitor.importer"),
		metrics: m,
		running: make(map[string]bool),
	}, nil
}

func (im *Importer) policy(opts *ImportOptions) dedupe.Policy {
	if opts != nil && opts.Policy != nil {
		return opts.Policy
	}
	return im.cfg.Policy
}

// Analyze reads the export and says what an import would do, without
// writing anything: every entry is counted under exactly one reason (or
// to_import), duplicates come with examples of what they matched, and the
// plays to import are broken down by UTC year. The user need not exist (the
// analysis of a new user's first export finds nothing stored).
func (im *Importer) Analyze(ctx context.Context, userID string, src spotifyhist.ExportSource, opts *ImportOptions) (_ *Analysis, err error) {
	start := time.Now()
	defer func() { im.metrics.observe("analyze", start, "ok", err) }()
	run, err := im.analyze(ctx, userID, src, opts, nil)
	if err != nil {
		return nil, err
	}
	if prev, err := im.cfg.Store.FindImport(ctx, userID, run.digest); err == nil {
		run.analysis.PreviousImport = newImportRecord(prev)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("monitor: analyze import: %w", err)
	}
	im.log.InfoContext(ctx, "import analysed", "user_id", userID, "digest", run.digest,
		"total", run.analysis.Total, "to_import", run.analysis.ToImport, "duration", time.Since(start))
	return run.analysis, nil
}

// Execute imports the export for the user, who must exist
// (store.ErrNotFound otherwise).
//
// The import is recorded under the file's SHA-256 digest. A new file is
// analysed as by Analyze, then its entries are written in batches of
// BatchSize, each in one transaction together with the import's progress,
// in the order of their time. A file whose import completed before is
// analysed again and adds nothing (unless the options now select plays it
// did not import, which makes a new import). An import that was interrupted
// (a cancelled context, a crash, a database error) is resumed where it stopped
// and ends as a clean run would have; its own plays are left out of the
// analysis so that it makes the same decisions again.
//
// Bad input (not an export, truncated JSON, over a limit) fails before
// anything is written, with an error matching the spotifyhist export errors.
func (im *Importer) Execute(ctx context.Context, userID string, src spotifyhist.ExportSource, opts *ImportOptions, progress ImportProgressFunc) (res *ImportResult, err error) {
	start := time.Now()
	defer func() {
		result := "ok"
		if res != nil && res.AlreadyImported {
			result = "already_imported"
		}
		im.metrics.observe("execute", start, result, err)
	}()
	if _, err := im.cfg.Store.GetUser(ctx, userID); err != nil {
		return nil, fmt.Errorf("monitor: import: user %q: %w", userID, err)
	}
	var rec *store.Import
	var release func()
	run, err := im.analyze(ctx, userID, src, opts, func(ctx context.Context, digest string) (string, error) {
		var err error
		rec, release, err = im.claim(ctx, userID, digest)
		if err != nil || rec == nil || rec.State == store.ImportDone {
			return "", err
		}
		return rec.ID, nil
	})
	if release != nil {
		defer release()
	}
	if err != nil {
		return nil, err
	}
	res, err = im.execute(ctx, userID, run, rec, progress)
	if err != nil {
		return res, err
	}
	im.log.InfoContext(ctx, "import done", "user_id", userID, "import_id", res.ImportID, "imported", res.Imported,
		"total", res.Total, "already_imported", res.AlreadyImported, "duration", time.Since(start))
	return res, nil
}

// claim finds the import record of (user, digest) and marks the pair as
// running in this process. It returns nil for a file never imported.
func (im *Importer) claim(ctx context.Context, userID, digest string) (*store.Import, func(), error) {
	key := userID + "\x00" + digest
	im.mu.Lock()
	if im.running[key] {
		im.mu.Unlock()
		return nil, nil, fmt.Errorf("monitor: import: %w", ErrImportInProgress)
	}
	im.running[key] = true
	im.mu.Unlock()
	release := func() {
		im.mu.Lock()
		delete(im.running, key)
		im.mu.Unlock()
	}
	rec, err := im.cfg.Store.FindImport(ctx, userID, digest)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, release, nil
	case err != nil:
		release()
		return nil, nil, fmt.Errorf("monitor: import: %w", err)
	}
	if rec.State == store.ImportRunning && im.cfg.Now().Sub(rec.UpdatedAt) < im.cfg.StaleAfter {
		release()
		return nil, nil, fmt.Errorf("monitor: import: %s updated %s ago: %w", rec.ID,
			im.cfg.Now().Sub(rec.UpdatedAt).Round(time.Second), ErrImportInProgress)
	}
	return rec, release, nil
}

func newImportID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "imp-" + hex.EncodeToString(b[:])
}

// finish records the final state of an import, even when ctx was cancelled.
func (im *Importer) finish(ctx context.Context, id string, state store.ImportState, total int, cause error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	msg := ""
	if cause != nil {
		msg = cause.Error()
	}
	return im.cfg.Store.UpdateImport(ctx, &store.UpdateImportParams{ID: id, State: state, Total: total, Error: msg, Now: im.cfg.Now()})
}
