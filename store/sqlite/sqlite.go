package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	sq "github.com/Masterminds/squirrel"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/spotifyhist/spotifyhist/store"
)

// Defaults of Config.
const (
	// ReadConnsDefault is the size of the read pool.
	ReadConnsDefault = 4
	// BusyTimeoutDefault is how long a connection waits for a lock held by
	// another process before failing.
	BusyTimeoutDefault = 5 * time.Second
	// CacheSizeDefault is the page cache of each connection, in bytes.
	CacheSizeDefault = 64 << 20
)

// Config configures a Store.
type Config struct {
	// Path is the database file; it is created when missing. Required.
	Path string
	// ReadConns is the number of read-only connections; 0 = ReadConnsDefault.
	ReadConns int
	// BusyTimeout bounds waits on locks held by other processes (another
	// spotifyhist command on the same file); 0 = BusyTimeoutDefault.
	BusyTimeout time.Duration
	// CacheSize is the page cache of each connection in bytes (an upper
	// bound: pages are allocated as they are used); 0 = CacheSizeDefault.
	CacheSize int64
	// Logger receives migration and error logs; nil = slog.Default().
	Logger *slog.Logger
	// Registerer receives the store's metrics; nil = no metrics.
	Registerer prometheus.Registerer
}

// Store is the SQLite implementation of store.Store. It is safe for
// concurrent use.
type Store struct {
	write   *sql.DB // one connection, BEGIN IMMEDIATE
	read    *readDB // query-only pool
	log     *slog.Logger
	metrics *metrics
}

var _ store.Store = (*Store)(nil)

//go:embed migrations/*.sql
var migrationFS embed.FS

// psq builds SQL with SQLite's placeholders.
var psq = sq.StatementBuilder.PlaceholderFormat(sq.Question)

// New opens (creating when needed) and migrates the database at cfg.Path.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Path == "" {
		return nil, fmt.Errorf("store/sqlite: open: %w: empty Path", store.ErrInvalid)
	}
	if cfg.ReadConns <= 0 {
		cfg.ReadConns = ReadConnsDefault
	}
	if cfg.BusyTimeout <= 0 {
		cfg.BusyTimeout = BusyTimeoutDefault
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = CacheSizeDefault
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Store{log: cfg.Logger.With("component", "store.sqlite")}

	pragmas := func(extra ...string) string {
		q := url.Values{}
		q.Add("_pragma", "busy_timeout("+strconv.FormatInt(cfg.BusyTimeout.Milliseconds(), 10)+")")
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "synchronous(NORMAL)")
		// A negative cache_size is in KiB. Rollup upserts touch many pages.
		q.Add("_pragma", "cache_size(-"+strconv.FormatInt(cfg.CacheSize>>10, 10)+")")
		q.Add("_pragma", "temp_store(MEMORY)")
		q.Add("_pragma", "wal_autocheckpoint(10000)")
		for _, e := range extra {
			k, v, _ := strings.Cut(e, "=")
			q.Add(k, v)
		}
		return "file:" + (&url.URL{Path: cfg.Path}).EscapedPath() + "?" + q.Encode()
	}
	var err error
	// WAL lets readers run beside the writer; it must be set before the read
	// pool opens so query-only connections never try to change it.
	s.write, err = sql.Open("sqlite", pragmas("_pragma=journal_mode(WAL)", "_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: open %s: %w", cfg.Path, err)
	}
	s.write.SetMaxOpenConns(1)
	s.write.SetConnMaxIdleTime(0)
	s.write.SetConnMaxLifetime(0)
	if err := s.write.PingContext(ctx); err != nil {
		_ = s.write.Close()
		return nil, fmt.Errorf("store/sqlite: open %s: %w", cfg.Path, err)
	}
	if _, err := s.Migrate(ctx); err != nil {
		_ = s.write.Close()
		return nil, err
	}
	read, err := sql.Open("sqlite", pragmas("_pragma=query_only(1)"))
	if err != nil {
		_ = s.write.Close()
		return nil, fmt.Errorf("store/sqlite: open %s: %w", cfg.Path, err)
	}
	read.SetMaxOpenConns(cfg.ReadConns)
	read.SetMaxIdleConns(cfg.ReadConns)
	s.read = &readDB{db: read, stmts: map[string]*sql.Stmt{}}
	s.metrics = newMetrics(cfg.Registerer, s.write, read)
	return s, nil
}

// Close releases the connections.
func (s *Store) Close() error {
	return errors.Join(s.read.Close(), s.write.Close())
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.read.PingContext(ctx); err != nil {
		return fmt.Errorf("store/sqlite: ping: %w", err)
	}
	return nil
}

type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("bad migration file name %q", e.Name())
		}
		b, err := migrationFS.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// Migrate applies pending migrations and returns the version reached.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	ms, err := migrations()
	if err != nil {
		return 0, fmt.Errorf("store/sqlite: migrate: %w", err)
	}
	newest := ms[len(ms)-1].version
	version := 0
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&version); err != nil {
			return err
		}
		if version > newest {
			return fmt.Errorf("%w: database is at version %d, this binary knows up to %d", store.ErrSchemaTooNew, version, newest)
		}
		for _, m := range ms {
			if m.version <= version {
				continue
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
				m.version, time.Now().UnixMilli()); err != nil {
				return err
			}
			s.log.InfoContext(ctx, "applied migration", "migration", m.name)
			version = m.version
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store/sqlite: migrate: %w", err)
	}
	return version, nil
}

// inTx runs fn in a write transaction (BEGIN IMMEDIATE), committing when fn
// returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// queryer is what read helpers need: the read pool or a write transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// wrap prefixes err with the operation and translates SQLite errors into the
// store's sentinels.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("%w (%w)", store.ErrNotFound, err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			err = fmt.Errorf("%w (%w)", store.ErrConflict, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			err = fmt.Errorf("%w (%w)", store.ErrNotFound, err)
		}
	}
	return fmt.Errorf("store/sqlite: %s: %w", op, err)
}

// notFound is ErrNotFound naming what is missing.
func notFound(what, id string) error {
	return fmt.Errorf("%w: %s %q", store.ErrNotFound, what, id)
}

// invalid is ErrInvalid explaining the broken rule.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", store.ErrInvalid, fmt.Sprintf(format, args...))
}

// Time encoding: INTEGER Unix milliseconds, NULL for the zero time.

func msOf(t time.Time) int64 { return t.UnixMilli() }

func nullMS(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

func timeOf(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func timeOfNull(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return timeOf(n.Int64)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// metrics are the store's own instruments.
type metrics struct {
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer, write, read *sql.DB) *metrics {
	m := &metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace:   "spotifyhist",
			Subsystem:   "store",
			Name:        "operation_duration_seconds",
			Help:        "Duration of store operations by operation.",
			Buckets:     []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
			ConstLabels: prometheus.Labels{"backend": "sqlite"},
		}, []string{"op"}),
	}
	if reg != nil {
		reg.MustRegister(m.duration,
			collectors.NewDBStatsCollector(write, "sqlite_write"),
			collectors.NewDBStatsCollector(read, "sqlite_read"))
	}
	return m
}

// observe records an operation's duration; use as defer s.observe("op", time.Now()).
func (s *Store) observe(op string, began time.Time) {
	s.metrics.duration.WithLabelValues(op).Observe(time.Since(began).Seconds())
}
