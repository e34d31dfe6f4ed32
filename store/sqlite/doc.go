// Package sqlite is the embedded [store.Store]: one SQLite file, pure Go
// (modernc.org/sqlite, no cgo), the default backend of spotifyhist.
//
// # Connections
//
// The database runs in WAL mode. Writes go through a single connection that
// opens every transaction with BEGIN IMMEDIATE, so writers queue on the
// connection instead of failing with SQLITE_BUSY; reads use a separate pool
// of query-only connections, so the dashboard is never blocked by an import.
//
// # Schema
//
// Migrations are embedded (migrations/NNNN_name.sql) and applied by [New]
// and [Store.Migrate]; the version reached is kept in schema_migrations. A
// database migrated by a newer binary is refused with an error wrapping
// [store.ErrSchemaTooNew].
//
// # Rollups
//
// Statistics over a million plays are answered from rollups derived from the
// plays and maintained in the same transaction as every write that changes
// plays (InsertPlays, MergeTracks, DeleteUser), so they can never drift:
//
//   - rollups: plays, time and last play per user, kind (track, artist,
//     album), period (all time, UTC year, UTC month) and item;
//   - rollup_counts: distinct items per user, kind and period;
//   - rollup_days: plays and time per user and UTC day, split into the 96
//     quarter hours of the day. Every real time zone offset is a multiple of
//     15 minutes, so days, weeks, months, years and hours in any zone are
//     sums of whole quarters, aggregated in Go with the caller's location.
//
// A range with arbitrary edges is answered exactly: whole UTC years and
// months from the rollups, the ragged ends from the plays themselves.
package sqlite
