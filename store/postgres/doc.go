// Package postgres is the PostgreSQL implementation of store.Store, for
// deployments that run several replicas against one database.
//
// It uses pgx/v5 through a pgxpool.Pool. New migrates the schema from
// embedded migrations/NNNN_name.sql files, recorded in schema_migrations,
// under an advisory lock so that replicas starting together migrate once.
//
// Leases are claimed with SELECT … FOR UPDATE SKIP LOCKED inside the claim
// transaction: concurrent claimers skip each other's rows and re-check a row
// committed meanwhile, so no user is ever leased to two workers.
//
// Plays are written with unnest arrays in one INSERT … ON CONFLICT DO
// NOTHING … RETURNING, and the statistics rollups (user_tracks, user_days)
// are updated from the rows actually inserted, in the same transaction.
// Statistics in any time zone are exact: user_days keeps running totals per
// UTC quarter-hour, and every real zone offset is a multiple of fifteen
// minutes, so local days and hours are differences of those totals; days on
// which a zone changes its offset, and partial days at the edges of a
// filter, are read from the plays.
package postgres
