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
// plays (InsertPlays, MergeTracks, DeleteUser) or a played track's credits
// (UpsertTracks relinking a track), so they can never drift; the
// conformance suite checks every statistic against a recomputation from the
// plays after each of those writes.
//
//   - rollups: plays, time listened and last play per user, kind, period
//     (all time, UTC year, UTC month) and item. Kinds are every play (one
//     item), tracks, artists and albums; tracks keep all three periods,
//     artists all time and years, albums all time. A period a kind does not
//     keep is read through the track rollups.
//   - rollup_counts: distinct items per user, kind and period (all time and
//     years), for unique counts without counting rows.
//   - rollup_days: plays and time per user and UTC day, split into the 96
//     quarter hours of the day. Every real time zone offset, and every change
//     of offset, falls on a quarter hour, so days, weeks, months and hours in
//     any zone are sums of whole quarters, aggregated in Go with the caller's
//     location.
//
// A range with arbitrary edges is answered exactly as a signed sum: whole UTC
// years and months from the rollups (a period more than half covered is
// taken whole, minus its outside part) and the ragged ends from the plays.
//
// InsertPlays binds a batch once into a temporary table and derives the
// plays, rollups, counters and quarters from it with a few set-based
// statements, so that an import costs little more than SQLite's own b-tree
// work.
package sqlite
