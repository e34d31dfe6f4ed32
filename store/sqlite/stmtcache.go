package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCacheSize bounds the prepared read statements kept per Store; past it,
// new queries run unprepared. Statements are never evicted, since another
// goroutine may be about to use one.
const stmtCacheSize = 1024

// readDB is the read pool with a cache of prepared statements: the
// statistics run many small queries, and preparing one costs as much as
// running it.
type readDB struct {
	db    *sql.DB
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

var _ queryer = (*readDB)(nil)

func (r *readDB) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	r.mu.Lock()
	st, ok := r.stmts[query]
	r.mu.Unlock()
	if ok {
		return st, nil
	}
	// Prepared outside the lock: preparing may wait for a connection.
	st, err := r.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.stmts[query]; ok {
		_ = st.Close()
		return old, nil
	}
	if len(r.stmts) >= stmtCacheSize {
		_ = st.Close()
		return nil, nil
	}
	r.stmts[query] = st
	return st, nil
}

func (r *readDB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := r.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return r.db.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

func (r *readDB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := r.stmt(ctx, query)
	if err != nil || st == nil {
		// Unprepared: past the cache's size, or so that a preparation
		// error surfaces through Scan (only database/sql can build a Row
		// that carries an error).
		return r.db.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

func (r *readDB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return r.db.ExecContext(ctx, query, args...)
}

func (r *readDB) PingContext(ctx context.Context) error { return r.db.PingContext(ctx) }

func (r *readDB) Close() error {
	r.mu.Lock()
	for q, st := range r.stmts {
		_ = st.Close()
		delete(r.stmts, q)
	}
	r.mu.Unlock()
	return r.db.Close()
}

// inList returns "(?,?,...)" and its arguments for vals, padded to a power of
// two by repeating the last value, so that read queries differ in a few IN
// list sizes only and their prepared statements are reused.
func inList[T any](vals []T) (string, []any) {
	if len(vals) == 0 {
		return "(NULL)", nil // matches nothing
	}
	n := 1
	for n < len(vals) {
		n *= 2
	}
	args := make([]any, n)
	for i := range args {
		args[i] = vals[min(i, len(vals)-1)]
	}
	return placeholders(n), args
}
