// Package store defines spotifyhist's domain types and its storage contract.
//
// The contract is split into small role interfaces (UserStore, WorkerStore,
// CatalogStore, PlayStore, PlaylistStore, ImportStore, SessionStore,
// StatsStore) composed into Store. Consumers should declare the narrower
// interface they need.
//
// Two implementations ship with the module: store/sqlite (the embedded
// default) and store/postgres (for several replicas). Both pass the
// conformance suite in store/storetest, which also fixes the meaning of the
// sentinel errors (ErrNotFound, ErrConflict, ErrLeaseLost, ErrSchemaTooNew,
// ErrInvalid) on every backend.
//
// # Time
//
// Every method that stamps or compares time takes it from its parameters
// (Now, Before, ...) rather than the database clock, so results are the same
// on every backend and tests can pin time. Times are stored in UTC with
// millisecond precision. A play's PlayedAt is the end of the stream, as in
// Spotify's API and export.
//
// # Stability
//
// Implementations outside this module must pass storetest.Run. The interface
// may grow in minor versions.
package store
