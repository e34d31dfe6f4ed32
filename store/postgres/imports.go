package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/spotifyhist/spotifyhist/store"
)

const importColumns = `id, user_id, digest, file_name, state, total, processed, imported, duplicates,
	excluded, error, created_at, updated_at`

func validState(s store.ImportState) bool {
	switch s {
	case store.ImportPending, store.ImportRunning, store.ImportDone, store.ImportFailed:
		return true
	}
	return false
}

func scanImport(row pgx.Row) (*store.Import, error) {
	var (
		imp              store.Import
		state            string
		raw              []byte
		created, updated time.Time
	)
	if err := row.Scan(&imp.ID, &imp.UserID, &imp.Digest, &imp.FileName, &state, &imp.Total, &imp.Processed,
		&imp.Imported, &imp.Duplicates, &raw, &imp.Error, &created, &updated); err != nil {
		return nil, err
	}
	imp.State = store.ImportState(state)
	imp.CreatedAt, imp.UpdatedAt = created.UTC(), updated.UTC()
	if err := json.Unmarshal(raw, &imp.Excluded); err != nil {
		return nil, err
	}
	return &imp, nil
}

// CreateImport inserts a new import; ErrConflict when the id exists.
func (s *Store) CreateImport(ctx context.Context, imp *store.Import) error {
	const op = "create import"
	if imp.ID == "" {
		return invalid(op, "empty import id")
	}
	if !validState(imp.State) {
		return invalid(op, "unknown state %q", imp.State)
	}
	excluded := imp.Excluded
	if excluded == nil {
		excluded = map[string]int{}
	}
	raw, err := json.Marshal(excluded)
	if err != nil {
		return invalid(op, "excluded counters: %v", err)
	}
	return wrap(op, s.inTx(ctx, func(tx pgx.Tx) error {
		if err := userExists(ctx, tx, imp.UserID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO imports (`+importColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			imp.ID, imp.UserID, imp.Digest, imp.FileName, string(imp.State), imp.Total, imp.Processed,
			imp.Imported, imp.Duplicates, string(raw), imp.Error, ts(imp.CreatedAt), ts(imp.UpdatedAt))
		return err
	}))
}

// GetImport returns one import.
func (s *Store) GetImport(ctx context.Context, id string) (*store.Import, error) {
	imp, err := scanImport(s.pool.QueryRow(ctx, `SELECT `+importColumns+` FROM imports WHERE id = $1`, id))
	if err != nil {
		return nil, wrap("get import", err)
	}
	return imp, nil
}

// FindImport returns the user's newest import of the file with that digest.
func (s *Store) FindImport(ctx context.Context, userID, digest string) (*store.Import, error) {
	imp, err := scanImport(s.pool.QueryRow(ctx, `SELECT `+importColumns+` FROM imports
		WHERE user_id = $1 AND digest = $2 ORDER BY created_at DESC, id DESC LIMIT 1`, userID, digest))
	if err != nil {
		return nil, wrap("find import", err)
	}
	return imp, nil
}

// ListImports returns the user's imports, newest first.
func (s *Store) ListImports(ctx context.Context, userID string) ([]store.Import, error) {
	const op = "list imports"
	rows, err := s.pool.Query(ctx, `SELECT `+importColumns+` FROM imports
		WHERE user_id = $1 ORDER BY created_at DESC, id DESC`, userID)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []store.Import
	for rows.Next() {
		imp, err := scanImport(rows)
		if err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, *imp)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(op, err)
	}
	return out, nil
}

// UpdateImport sets the import's state, total, error and update time.
func (s *Store) UpdateImport(ctx context.Context, p *store.UpdateImportParams) error {
	const op = "update import"
	if !validState(p.State) {
		return invalid(op, "unknown state %q", p.State)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE imports SET state = $2, total = $3, error = $4, updated_at = $5 WHERE id = $1`,
		p.ID, string(p.State), p.Total, p.Error, ts(p.Now))
	if err != nil {
		return wrap(op, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound(op, "import %q", p.ID)
	}
	return nil
}
