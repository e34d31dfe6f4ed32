package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/spotifyhist/spotifyhist/store"
)

// Defaults for the zero values of Config.
const (
	// MaxConnsDefault is the pool size when Config.MaxConns is zero.
	MaxConnsDefault = 10
	// ConnectTimeoutDefault bounds each connection attempt when neither
	// Config.ConnectTimeout nor the URL's connect_timeout is set.
	ConnectTimeoutDefault = 10 * time.Second
	// WorkMemDefault is the work_mem of the store's sessions unless the URL
	// sets one (e.g. ?work_mem=64MB).
	WorkMemDefault = "32MB"
)

// Config configures a Store.
type Config struct {
	// URL is a PostgreSQL connection string, postgres://user@host:port/db?...
	// (or the key=value form). Required.
	URL string
	// Schema, when set, is the only schema on the search_path: every table
	// lives there. It is created when missing. Empty = the server's default
	// search_path.
	Schema string
	// MaxConns is the pool size; 0 = MaxConnsDefault. A statistics query
	// runs its independent reads on extra connections while the pool has
	// room.
	MaxConns int
	// ConnectTimeout bounds each connection attempt; 0 = the URL's
	// connect_timeout, or ConnectTimeoutDefault when the URL has none.
	ConnectTimeout time.Duration
	// Logger receives the store's logs; nil = slog.Default().
	Logger *slog.Logger
	// Registerer receives the pool metrics (spotifyhist_postgres_pool_*);
	// nil = no metrics.
	Registerer prometheus.Registerer
}

// Store is the PostgreSQL implementation of store.Store. It is safe for
// concurrent use by several goroutines and by several processes sharing the
// database.
type Store struct {
	pool   *pgxpool.Pool
	logger *slog.Logger
	addr   string // host:port, for error messages
	schema string
	coll   prometheus.Collector
	reg    prometheus.Registerer
}

var _ store.Store = (*Store)(nil)

// New connects to PostgreSQL, checks that it answers within ctx and the
// connect timeout, and applies pending migrations. A server that is down
// yields an error naming its host:port; a schema migrated by a newer binary
// yields an error wrapping store.ErrSchemaTooNew.
//
// The store's sessions run with TimeZone UTC, jit off (dashboard queries
// are short) and work_mem WorkMemDefault unless the URL sets it.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.URL == "" {
		return nil, fmt.Errorf("store/postgres: open: empty URL: %w", store.ErrInvalid)
	}
	if cfg.MaxConns < 0 {
		return nil, fmt.Errorf("store/postgres: open: MaxConns %d < 0: %w", cfg.MaxConns, store.ErrInvalid)
	}
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		// The parse error may quote the URL, password included: do not wrap it.
		return nil, fmt.Errorf("store/postgres: open: cannot parse the database URL: %w", store.ErrInvalid)
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = MaxConnsDefault
	}
	pc.MaxConns = int32(cfg.MaxConns) //nolint:gosec // bounded by the caller's configuration
	switch {
	case cfg.ConnectTimeout > 0:
		pc.ConnConfig.ConnectTimeout = cfg.ConnectTimeout
	case pc.ConnConfig.ConnectTimeout == 0:
		pc.ConnConfig.ConnectTimeout = ConnectTimeoutDefault
	}
	if pc.ConnConfig.RuntimeParams == nil {
		pc.ConnConfig.RuntimeParams = map[string]string{}
	}
	if cfg.Schema != "" {
		pc.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{cfg.Schema}.Sanitize()
	}
	// Dashboard queries are short; JIT compilation only adds latency to them.
	pc.ConnConfig.RuntimeParams["jit"] = "off"
	// Statistics sort and hash a few megabytes of rollup rows; the server's
	// default of 4MB would spill them to disk. The URL may set another.
	if _, ok := pc.ConnConfig.RuntimeParams["work_mem"]; !ok {
		pc.ConnConfig.RuntimeParams["work_mem"] = WorkMemDefault
	}
	pc.ConnConfig.RuntimeParams["timezone"] = "UTC"

	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	s := &Store{
		logger: logger.With("component", "store.postgres"),
		addr:   net.JoinHostPort(pc.ConnConfig.Host, strconv.Itoa(int(pc.ConnConfig.Port))),
		schema: cfg.Schema,
		reg:    cfg.Registerer,
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("store/postgres: open %s: %w", s.addr, err)
	}
	s.pool = pool
	if err := s.open(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if cfg.Registerer != nil {
		s.coll = newPoolCollector(pool)
		if err := cfg.Registerer.Register(s.coll); err != nil {
			pool.Close()
			return nil, fmt.Errorf("store/postgres: open: register metrics: %w", err)
		}
	}
	return s, nil
}

// open checks the connection, creates the schema if needed and migrates.
func (s *Store) open(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("store/postgres: connect to %s: %w", s.addr, err)
	}
	if s.schema != "" {
		// Replicas starting together race to create the schema; the
		// losers see a unique violation on pg_namespace, which is fine.
		_, err := s.pool.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{s.schema}.Sanitize())
		var pe *pgconn.PgError
		if err != nil && !(errors.As(err, &pe) && (pe.Code == "23505" || pe.Code == "42P06")) {
			return fmt.Errorf("store/postgres: create schema %q on %s: %w", s.schema, s.addr, err)
		}
	}
	v, err := s.Migrate(ctx)
	if err != nil {
		return err
	}
	s.logger.DebugContext(ctx, "database ready", "addr", s.addr, "schema", s.schema, "schema_version", v)
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("store/postgres: ping %s: %w", s.addr, err)
	}
	return nil
}

// Close releases the connections and unregisters the metrics.
func (s *Store) Close() error {
	if s.coll != nil {
		s.reg.Unregister(s.coll)
		s.coll = nil
	}
	s.pool.Close()
	return nil
}

// querier is what a pool and a transaction have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// parallelAcquireTimeout bounds the wait for an extra connection of
// parallel, which otherwise runs its reads one after another.
const parallelAcquireTimeout = 50 * time.Millisecond

// txAttempts bounds the retries of a transaction that lost a deadlock or a
// serialisation conflict to another one.
const txAttempts = 4

// inTx runs fn in a transaction, retrying it when PostgreSQL aborted it to
// break a deadlock. fn must not keep state across attempts.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	var err error
	for attempt := 1; attempt <= txAttempts; attempt++ {
		err = pgx.BeginFunc(ctx, s.pool, fn)
		if err == nil || !retryable(err) || ctx.Err() != nil {
			return err
		}
		s.logger.DebugContext(ctx, "retrying transaction", "attempt", attempt, "error", err)
	}
	return err
}

// read runs fn in a read-only REPEATABLE READ transaction, so that the
// several queries of one answer see one snapshot.
func (s *Store) read(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

// parallel runs the independent reads fns of one answer at once: the
// first on tx, the others on idle connections of the pool in read-only
// transactions that import tx's snapshot (pg_export_snapshot), so that all
// see the same data. Without idle connections they run one after another
// on tx: parallel waits for a connection only while the pool opens one.
func (s *Store) parallel(ctx context.Context, tx pgx.Tx, fns ...func(q querier) error) error {
	var conns []*pgxpool.Conn
	if len(fns) > 1 {
		conns = s.pool.AcquireAllIdle(ctx)
		for _, c := range conns[min(len(conns), len(fns)-1):] {
			c.Release()
		}
		conns = conns[:min(len(conns), len(fns)-1)]
		// Open connections while the pool has room; they stay for the
		// next answers.
		for len(conns) < len(fns)-1 {
			st := s.pool.Stat()
			if st.TotalConns() >= st.MaxConns() {
				break
			}
			actx, cancel := context.WithTimeout(ctx, parallelAcquireTimeout)
			c, err := s.pool.Acquire(actx)
			cancel()
			if err != nil {
				break
			}
			conns = append(conns, c)
		}
	}
	if len(conns) == 0 {
		for _, fn := range fns {
			if err := fn(tx); err != nil {
				return err
			}
		}
		return nil
	}
	var snapshot string
	if err := tx.QueryRow(ctx, `SELECT pg_export_snapshot()`).Scan(&snapshot); err != nil {
		for _, c := range conns {
			c.Release()
		}
		return err
	}
	// fns[0], and those beyond the connections, run on tx.
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, c := range conns {
		fn := fns[i+1]
		wg.Go(func() {
			defer c.Release()
			errs[i+1] = pgx.BeginTxFunc(ctx, c, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(t pgx.Tx) error {
				if _, err := t.Exec(ctx, `SET TRANSACTION SNAPSHOT '`+snapshot+`'`); err != nil {
					return err
				}
				return fn(t)
			})
		})
	}
	errs[0] = fns[0](tx)
	for i := len(conns) + 1; i < len(fns) && errs[0] == nil; i++ {
		errs[i] = fns[i](tx)
	}
	wg.Wait()
	return errors.Join(errs...)
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40P01" || pe.Code == "40001"
	}
	return false
}

// wrap prefixes err with the operation and maps PostgreSQL errors onto the
// store's sentinels.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) ||
		errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrLeaseLost) ||
		errors.Is(err, store.ErrSchemaTooNew) {
		return fmt.Errorf("store/postgres: %s: %w", op, err)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("store/postgres: %s: %w", op, store.ErrNotFound)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505": // unique_violation
			return fmt.Errorf("store/postgres: %s: %w: %w", op, store.ErrConflict, err)
		case pe.Code == "23503": // foreign_key_violation
			return fmt.Errorf("store/postgres: %s: %w: %w", op, store.ErrNotFound, err)
		case pe.Code == "23514", pe.Code == "23502", len(pe.Code) == 5 && pe.Code[:2] == "22":
			// check_violation, not_null_violation, data exceptions
			return fmt.Errorf("store/postgres: %s: %w: %w", op, store.ErrInvalid, err)
		}
	}
	return fmt.Errorf("store/postgres: %s: %w", op, err)
}

// invalid returns an ErrInvalid error for op.
func invalid(op, format string, args ...any) error {
	return fmt.Errorf("store/postgres: %s: %s: %w", op, fmt.Sprintf(format, args...), store.ErrInvalid)
}

// notFound returns an ErrNotFound error for op.
func notFound(op, format string, args ...any) error {
	return fmt.Errorf("store/postgres: %s: %s: %w", op, fmt.Sprintf(format, args...), store.ErrNotFound)
}

// ts is t as stored: UTC, millisecond precision.
func ts(t time.Time) time.Time {
	return time.UnixMilli(t.UnixMilli()).UTC()
}

// nullTS is ts(t), or NULL for the zero time.
func nullTS(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	v := ts(t)
	return &v
}

// itoa formats n for SQL text.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// fromNull reads a nullable timestamptz.
func fromNull(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
