package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/spotifyhist/spotifyhist/store"
)

// The set-based write path of InsertPlays. A batch is bound once into a
// temporary table and everything derived from it (the plays, the rollups,
// their counters, the day slots) is written by a few INSERT … SELECT
// statements, so the cost per play stays inside SQLite.

// batchSchema creates the connection's temporary tables.
const batchSchema = `
CREATE TEMP TABLE IF NOT EXISTS batch_plays (
    played_at INTEGER NOT NULL,
    track_pk  INTEGER NOT NULL,
    ms_played INTEGER NOT NULL,
    source    INTEGER NOT NULL,
    month     INTEGER NOT NULL,
    PRIMARY KEY (played_at, track_pk)
) WITHOUT ROWID;
CREATE TEMP TABLE IF NOT EXISTS batch_months (
    month  INTEGER NOT NULL,
    track  INTEGER NOT NULL,
    plays  INTEGER NOT NULL,
    ms     INTEGER NOT NULL,
    last   INTEGER NOT NULL,
    PRIMARY KEY (month, track)
) WITHOUT ROWID;
CREATE TEMP TABLE IF NOT EXISTS batch_rollups (
    kind   INTEGER NOT NULL,
    period INTEGER NOT NULL,
    item   INTEGER NOT NULL,
    plays  INTEGER NOT NULL,
    ms     INTEGER NOT NULL,
    last   INTEGER NOT NULL,
    PRIMARY KEY (kind, period, item)
) WITHOUT ROWID;
DELETE FROM temp.batch_plays;
DELETE FROM temp.batch_months;
DELETE FROM temp.batch_rollups;`

// batchRows is the number of plays per multi-row insert into batch_plays.
const batchRows = 100

// batchSteps are the statements that turn batch_plays into plays and
// rollups. ?1 is the user's pk, ?2 the import's pk (or NULL).
func batchSteps() []string {
	type src struct {
		kind int64
		item string
		join string
	}
	srcs := []src{
		{kindPlays, "0", ""},
		{kindTrack, "m.track", ""},
		{kindArtist, "ta.artist_pk", " JOIN track_artists ta ON ta.track_pk = m.track"},
		{kindAlbum, "t.album_pk", " JOIN tracks t ON t.pk = m.track AND t.album_pk IS NOT NULL"},
	}
	// Every level is computed from the (month, track) rows, which are
	// fewer than the plays; year is the UTC year of a month period.
	year := "(m.month - " + itoa(monthBase) + ") / 12"
	var parts []string
	for _, s := range srcs {
		for _, period := range []string{"0", year, "m.month"}[:levels[s.kind]] {
			parts = append(parts, `SELECT `+itoa(s.kind)+`, `+period+`, `+s.item+`, SUM(m.plays), SUM(m.ms), MAX(m.last)
				FROM temp.batch_months m`+s.join+` GROUP BY 2, 3`)
		}
	}
	return []string{
		// Plays already stored are duplicates.
		`DELETE FROM temp.batch_plays WHERE EXISTS (SELECT 1 FROM plays p
			WHERE p.user_pk = ?1 AND p.played_at = batch_plays.played_at AND p.track_pk = batch_plays.track_pk)`,
		`INSERT INTO plays (user_pk, played_at, track_pk, ms_played, source, import_pk)
			SELECT ?1, played_at, track_pk, ms_played, source, ?2 FROM temp.batch_plays ORDER BY played_at, track_pk`,
		`INSERT INTO temp.batch_months (month, track, plays, ms, last)
			SELECT month, track_pk, COUNT(*), SUM(ms_played), MAX(played_at) FROM temp.batch_plays GROUP BY 1, 2`,
		`INSERT INTO temp.batch_rollups (kind, period, item, plays, ms, last) ` + strings.Join(parts, " UNION ALL "),
		// Count the rollup rows this batch creates where statistics read the
		// counts (all time and years), then create or add to the rows.
		`INSERT INTO rollup_counts (user_pk, kind, period, n)
			SELECT ?1, d.kind, d.period, COUNT(*) FROM temp.batch_rollups d
			WHERE d.kind <> ` + itoa(kindPlays) + ` AND d.period < ` + itoa(monthBase) + ` AND NOT EXISTS (SELECT 1 FROM rollups r
				WHERE r.user_pk = ?1 AND r.kind = d.kind AND r.period = d.period AND r.item = d.item)
			GROUP BY d.kind, d.period
			ON CONFLICT DO UPDATE SET n = n + excluded.n`,
		`INSERT INTO rollups (user_pk, kind, period, item, plays, ms, last)
			SELECT ?1, kind, period, item, plays, ms, last FROM temp.batch_rollups WHERE true ORDER BY kind, period, item
			ON CONFLICT DO UPDATE SET plays = plays + excluded.plays, ms = ms + excluded.ms, last = MAX(last, excluded.last)`,
	}
}

// writeBatch inserts the plays not stored yet with their rollups and
// returns how many it inserted.
func writeBatch(ctx context.Context, tx *sql.Tx, user int64, imp sql.NullInt64, plays []store.PlayInput, pks map[string]int64) (int, error) {
	if _, err := tx.ExecContext(ctx, batchSchema); err != nil {
		return 0, err
	}
	const head = `INSERT OR IGNORE INTO temp.batch_plays (played_at, track_pk, ms_played, source, month) VALUES `
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, batchRows*5)
	for rest := plays; len(rest) > 0; {
		n := min(len(rest), batchRows)
		args = args[:0]
		for _, in := range rest[:n] {
			at := in.PlayedAt.UnixMilli()
			t := time.UnixMilli(at).UTC()
			args = append(args, at, pks[in.Track.ID], in.MSPlayed, sourceCodes[in.Source], monthPeriod(t.Year(), t.Month()))
		}
		var err error
		if n == batchRows {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, head+valuesList(n, 5)); err != nil {
					return 0, err
				}
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, head+valuesList(n, 5), args...)
		}
		if err != nil {
			return 0, err
		}
		rest = rest[n:]
	}
	for _, query := range batchSteps() {
		args := []any{user}
		if strings.Contains(query, "?2") {
			args = append(args, imp)
		}
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return 0, err
		}
	}
	var inserted int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM temp.batch_plays`).Scan(&inserted); err != nil {
		return 0, err
	}
	if inserted == 0 {
		return 0, nil
	}
	// Day slots, aggregated per quarter hour (played_at is floored to it).
	rows, err := tx.QueryContext(ctx, `SELECT played_at - ((played_at % `+itoa(msPerQuarter)+`) + `+itoa(msPerQuarter)+`) % `+itoa(msPerQuarter)+`,
			COUNT(*), SUM(ms_played)
		FROM temp.batch_plays GROUP BY 1`)
	if err != nil {
		return 0, err
	}
	var quarters []playRow
	for rows.Next() {
		var q playRow
		var n int64
		if err := rows.Scan(&q.at, &n, &q.ms); err != nil {
			rows.Close()
			return 0, err
		}
		q.user, q.track = user, n // track carries the count here
		quarters = append(quarters, q)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	return inserted, addQuarterCounts(ctx, tx, quarters)
}
