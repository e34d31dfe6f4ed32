package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/spotifyhist/spotifyhist/store"
)

var validImportStates = map[store.ImportState]bool{
	store.ImportPending: true, store.ImportRunning: true, store.ImportDone: true, store.ImportFailed: true,
}

const importColumns = `i.id, u.id, i.digest, i.file_name, i.state, i.total, i.processed, i.imported, i.duplicates,
	i.excluded, i.error, i.created_at, i.updated_at`

const importFrom = ` FROM imports i JOIN users u ON u.pk = i.user_pk`

func scanImport(r scanner) (*store.Import, error) {
	var (
		imp              store.Import
		state, excluded  string
		created, updated int64
	)
	if err := r.Scan(&imp.ID, &imp.UserID, &imp.Digest, &imp.FileName, &state, &imp.Total, &imp.Processed, &imp.Imported,
		&imp.Duplicates, &excluded, &imp.Error, &created, &updated); err != nil {
		return nil, err
	}
	imp.State, imp.CreatedAt, imp.UpdatedAt = store.ImportState(state), timeOf(created), timeOf(updated)
	if err := json.Unmarshal([]byte(excluded), &imp.Excluded); err != nil {
		return nil, err
	}
	return &imp, nil
}

// CreateImport inserts a new import (ErrConflict when the id exists).
func (s *Store) CreateImport(ctx context.Context, imp *store.Import) error {
	if imp.ID == "" {
		return wrap("create import", invalid("import without an id"))
	}
	if !validImportStates[imp.State] {
		return wrap("create import", invalid("unknown import state %q", imp.State))
	}
	excluded := imp.Excluded
	if excluded == nil {
		excluded = map[string]int{}
	}
	ex, err := json.Marshal(excluded)
	if err != nil {
		return wrap("create import", err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		user, err := userPK(ctx, tx, imp.UserID)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO imports (id, user_pk, digest, file_name, state, total, processed, imported,
				duplicates, excluded, error, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			imp.ID, user, imp.Digest, imp.FileName, string(imp.State), imp.Total, imp.Processed, imp.Imported,
			imp.Duplicates, string(ex), imp.Error, msOf(imp.CreatedAt), msOf(imp.UpdatedAt))
		return err
	})
	return wrap("create import", err)
}

// GetImport returns ErrNotFound for an unknown id.
func (s *Store) GetImport(ctx context.Context, id string) (*store.Import, error) {
	imp, err := scanImport(s.read.QueryRowContext(ctx, `SELECT `+importColumns+importFrom+` WHERE i.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, wrap("get import", notFound("import", id))
	}
	return imp, wrap("get import", err)
}

// FindImport returns the newest import of the user with that digest.
func (s *Store) FindImport(ctx context.Context, userID, digest string) (*store.Import, error) {
	imp, err := scanImport(s.read.QueryRowContext(ctx, `SELECT `+importColumns+importFrom+`
		WHERE u.id = ? AND i.digest = ? ORDER BY i.created_at DESC, i.pk DESC LIMIT 1`, userID, digest))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, wrap("find import", notFound("import with digest", digest))
	}
	return imp, wrap("find import", err)
}

// ListImports returns the user's imports, newest first.
func (s *Store) ListImports(ctx context.Context, userID string) ([]store.Import, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+importColumns+importFrom+` WHERE u.id = ? ORDER BY i.created_at DESC, i.pk DESC`, userID)
	if err != nil {
		return nil, wrap("list imports", err)
	}
	defer rows.Close()
	var out []store.Import
	for rows.Next() {
		imp, err := scanImport(rows)
		if err != nil {
			return nil, wrap("list imports", err)
		}
		out = append(out, *imp)
	}
	return out, wrap("list imports", rows.Err())
}

// UpdateImport sets State, Total, Error and UpdatedAt.
func (s *Store) UpdateImport(ctx context.Context, p *store.UpdateImportParams) error {
	if !validImportStates[p.State] {
		return wrap("update import", invalid("unknown import state %q", p.State))
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE imports SET state = ?, total = ?, error = ?, updated_at = ? WHERE id = ?`,
			string(p.State), p.Total, p.Error, msOf(p.Now), p.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("import", p.ID)
		}
		return nil
	})
	return wrap("update import", err)
}
