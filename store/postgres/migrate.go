package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/spotifyhist/spotifyhist/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one embedded migrations/NNNN_name.sql file.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations returns the embedded migrations in version order. Their
// names are checked by the package's tests, so a malformed name is a
// programming error reported as such.
func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		base := strings.TrimSuffix(e.Name(), ".sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration file %q is not named NNNN_name.sql", e.Name())
		}
		b, err := migrationFS.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := range ms {
		if ms[i].version != i+1 {
			return nil, fmt.Errorf("migration versions must be 1..n without gaps, found %d at position %d", ms[i].version, i+1)
		}
	}
	return ms, nil
}

// Migrate applies pending migrations, each in its own transaction, and
// returns the schema version reached. Concurrent callers (several replicas
// starting at once) are serialised by an advisory lock. A database whose
// version is newer than the newest embedded migration is left untouched and
// reported with store.ErrSchemaTooNew.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	ms, err := loadMigrations()
	if err != nil {
		return 0, fmt.Errorf("store/postgres: migrate: %w", err)
	}
	latest := len(ms)
	current := 0
	for {
		var applied bool
		err := s.inTx(ctx, func(tx pgx.Tx) error {
			applied = false
			// One lock per schema, so that stores in different schemas of
			// one database migrate independently.
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('spotifyhist.migrate.' || current_schema()))`); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version    integer PRIMARY KEY,
				name       text NOT NULL,
				applied_at timestamptz NOT NULL DEFAULT now()
			)`); err != nil {
				return err
			}
			if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
				return err
			}
			if current > latest {
				return fmt.Errorf("database schema version %d, this binary knows up to %d: %w", current, latest, store.ErrSchemaTooNew)
			}
			if current == latest {
				return nil
			}
			m := ms[current]
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("apply %04d_%s: %w", m.version, m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
				return err
			}
			current = m.version
			applied = true
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("store/postgres: migrate: %w", err)
		}
		if !applied {
			return current, nil
		}
		s.logger.InfoContext(ctx, "applied migration", "schema_version", current, "schema", s.schema)
	}
}
