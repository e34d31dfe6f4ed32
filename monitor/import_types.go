package monitor

import (
	"time"

	"github.com/spotifyhist/spotifyhist/store"
)

// Analysis is what an import of an export would do. Its JSON form is the
// output of `spotifyhist analyze --json`: total, to_import, excluded and years
// come first, and to_import + sum(excluded) == total, sum(years) == to_import.
type Analysis struct {
	// Total counts every entry of every listening-history file.
	Total int `json:"total"`
	// ToImport counts the plays an import would add.
	ToImport int `json:"to_import"`
	// Excluded counts the other entries by reason; every reason is present,
	// with 0 when no entry has it.
	Excluded map[string]int `json:"excluded"`
	// Years breaks ToImport down by UTC year of played_at ("2024": n).
	Years map[string]int `json:"years"`
	// First and Last are the oldest and newest plays to import.
	First *time.Time `json:"first_played_at,omitempty"`
	Last  *time.Time `json:"last_played_at,omitempty"`
	// Examples are the first duplicates of each kind, with what they matched.
	Examples []ImportExample `json:"examples,omitempty"`
	// Files are the listening-history files read; IgnoredFiles the others.
	Files        []ImportFile `json:"files"`
	IgnoredFiles []string     `json:"ignored_files,omitempty"`
	// Digest identifies the file (hex SHA-256; "tree-…" for a directory,
	// computed over what was read); FileName names it.
	Digest   string `json:"digest"`
	FileName string `json:"file_name"`
	// Policy names the dedupe policy.
	Policy string `json:"policy"`
	// PreviousImport is the latest import of the same file for the user.
	PreviousImport *ImportRecord `json:"previous_import,omitempty"`
}

// ImportFile is one listening-history file of an export.
type ImportFile struct {
	Name    string `json:"name"`
	Format  string `json:"format"`
	Entries int    `json:"entries"`
}

// ImportExample is one duplicate found by an analysis.
type ImportExample struct {
	// Reason is duplicate_existing or duplicate_in_file; Rule how it was
	// recognised (dedupe.Rule*); ByName whether by name rather than id.
	Reason string `json:"reason"`
	Rule   string `json:"rule"`
	ByName bool   `json:"by_name,omitempty"`
	// File and Index locate the entry.
	File      string    `json:"file"`
	Index     int       `json:"index"`
	PlayedAt  time.Time `json:"played_at"`
	TrackID   string    `json:"track_id"`
	TrackName string    `json:"track_name"`
	Artist    string    `json:"artist,omitempty"`
	MSPlayed  int       `json:"ms_played"`
	// Matched is the stored play (duplicate_existing); MatchedEntry the entry
	// repeated (duplicate_in_file).
	Matched      *ImportMatched      `json:"matched,omitempty"`
	MatchedEntry *ImportMatchedEntry `json:"matched_entry,omitempty"`
	// DeltaMS is the matched time minus the entry's, in milliseconds.
	DeltaMS int64 `json:"delta_ms"`
}

// ImportMatched is a stored play an entry duplicates: its key (user,
// played_at, track_id) and how it was captured.
type ImportMatched struct {
	PlayedAt time.Time `json:"played_at"`
	TrackID  string    `json:"track_id"`
	Source   string    `json:"source"`
	MSPlayed int       `json:"ms_played"`
	ImportID string    `json:"import_id,omitempty"`
}

// ImportMatchedEntry is the entry another entry repeats.
type ImportMatchedEntry struct {
	File     string    `json:"file"`
	Index    int       `json:"index"`
	PlayedAt time.Time `json:"played_at"`
}

// ImportRecord summarises a stored import.
type ImportRecord struct {
	ID        string    `json:"id"`
	State     string    `json:"state"`
	Imported  int       `json:"imported"`
	Processed int       `json:"processed"`
	Total     int       `json:"total"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func newImportRecord(imp *store.Import) *ImportRecord {
	return &ImportRecord{
		ID: imp.ID, State: string(imp.State), Imported: imp.Imported, Processed: imp.Processed, Total: imp.Total,
		CreatedAt: imp.CreatedAt.UTC(), UpdatedAt: imp.UpdatedAt.UTC(),
	}
}

// ImportResult is what an import did. Its JSON form is the output of
// `spotifyhist import --json`: imported + sum(excluded) == total.
type ImportResult struct {
	// Imported counts the plays the import added (over every run of a resumed
	// import); 0 when the file was imported before.
	Imported int `json:"imported"`
	// Total and Excluded are as in the analysis; plays found already stored
	// while writing (stored by monitoring meanwhile, or by the interrupted run
	// of a resumed import) count as duplicate_existing.
	Total    int            `json:"total"`
	Excluded map[string]int `json:"excluded"`
	// Duplicates counts duplicate_existing plus duplicate_in_file.
	Duplicates int `json:"duplicates"`
	// Years breaks the plays of this import down by UTC year, as analysed.
	Years map[string]int `json:"years"`
	// ImportID identifies the import record; State is its final state.
	ImportID string `json:"import_id"`
	State    string `json:"state"`
	// AlreadyImported: the file's import had completed before; nothing was
	// written.
	AlreadyImported bool `json:"already_imported,omitempty"`
	// Resumed: an interrupted import was continued.
	Resumed bool `json:"resumed,omitempty"`
	// Analysis is the analysis the import acted on.
	Analysis *Analysis `json:"-"`
}
