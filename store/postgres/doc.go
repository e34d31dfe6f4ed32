// Package postgres is the PostgreSQL implementation of store.Store, for
// deployments that run several replicas against one database.
//
// It uses pgx/v5 through a pgxpool.Pool:
//
//	s, err := postgres.New(ctx, postgres.Config{URL: "postgres://spotifyhist@db:5432/spotifyhist"})
//
// New migrates the schema from the embedded migrations/NNNN_name.sql files,
// recorded in schema_migrations, under an advisory lock so that replicas
// starting together migrate once; a database migrated by a newer binary is
// refused with store.ErrSchemaTooNew. A server that does not answer is
// reported with its host:port within the connect timeout.
//
// # Leases
//
// ClaimUsers selects free users with SELECT … FOR UPDATE SKIP LOCKED inside
// the claiming transaction: concurrent claimers skip each other's rows, and
// a row claimed and committed meanwhile is re-checked before it is locked,
// so no user is ever leased to two workers.
//
// # Plays and rollups
//
// InsertPlays writes a batch with one INSERT … SELECT FROM unnest(…) ON
// CONFLICT DO NOTHING RETURNING, and adds the rows actually inserted to the
// rollups in the same transaction: per user all-time totals of tracks,
// artists and albums (with a bit set of the UTC years played), per user and
// UTC year totals of tracks and artists with the year's best items, and per
// user and UTC day running totals by quarter-hour. MergeTracks, changes of
// a track's artists or album, and DeleteUser maintain them too, so they
// never drift from the plays.
//
// Statistics read the rollups and correct them exactly with the plays of
// the few spans where a query's edges cut a UTC year or day: a local day or
// hour in any zone is a difference of quarter-hour running totals (every
// real zone offset is a multiple of fifteen minutes), and days on which a
// zone changes its offset are read from the plays. Statements that read
// spans of plays use LATERAL subqueries, so that each span is an index
// range scan whatever statistics the planner has.
package postgres
