package postgres

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spotifyhist/spotifyhist/store"
	"github.com/spotifyhist/spotifyhist/store/storetest"
)

type tracer struct {
	start time.Time
	sql   string
	cpu   time.Duration
}

var tracePID int

func (tr *tracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	return context.WithValue(ctx, tracerKey{}, &tracer{time.Now(), d.SQL, backendCPU(tracePID)})
}
func (tr *tracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	t := ctx.Value(tracerKey{}).(*tracer)
	sql := strings.Join(strings.Fields(t.sql), " ")
	if len(sql) > 90 {
		sql = sql[:90]
	}
	totals[sql] += time.Since(t.start)
	cpus[sql] += backendCPU(tracePID) - t.cpu
}

type tracerKey struct{}

var totals = map[string]time.Duration{}
var cpus = map[string]time.Duration{}

func TestZZTrace(t *testing.T) {
	url := os.Getenv("SPOTIFYHIST_TEST_DATABASE_URL")
	ctx := context.Background()
	s, err := New(ctx, Config{URL: url, Schema: "zz_trace", MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if os.Getenv("ZZ_KEEP") == "" {
		defer func() { s.pool.Exec(ctx, "DROP SCHEMA zz_trace CASCADE") }()
	}
	cfg := s.pool.Config()
	cfg.ConnConfig.Tracer = &tracer{}
	s.pool.Close()
	s.pool, err = pgxpoolNew(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ds := storetest.GenerateDataset(storetest.DatasetOpts{Seed: 1, Plays: 131000, Unlinked: true})
	u := storetest.NewUser(ctx, t, s, &storetest.UserOpts{ID: "bench"})
	imp := &store.Import{ID: "imp", UserID: u.ID, Digest: "d", State: store.ImportRunning, Total: 131000, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := s.CreateImport(ctx, imp); err != nil {
		t.Fatal(err)
	}
	var pid int
	s.pool.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid)
	cpu0 := backendCPU(pid)
	tracePID = pid
	start := time.Now()
	for i := 0; i < 131000; i += 5000 {
		batch := ds.Inputs(i, min(131000, i+5000), store.SourceImport)
		if _, err := s.InsertPlays(ctx, &store.InsertPlaysParams{UserID: u.ID, Plays: batch, Import: &store.ImportProgress{ImportID: imp.ID, Processed: len(batch)}}); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Println("total", time.Since(start), "backend cpu", backendCPU(pid)-cpu0)
	for k, v := range totals {
		fmt.Printf("%8.0fms cpu %6dms %s\n", float64(v.Milliseconds()), cpus[k].Milliseconds(), k)
	}
}

func pgxpoolNew(ctx context.Context, cfg *pgxpool.Config) (*pgxpool.Pool, error) {
	return pgxpool.NewWithConfig(ctx, cfg)
}

func backendCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil || pid == 0 {
		return 0
	}
	f := strings.Fields(string(b)[strings.LastIndex(string(b), ")")+2:])
	var u, sy int64
	fmt.Sscan(f[11], &u)
	fmt.Sscan(f[12], &sy)
	return time.Duration(u+sy) * 10 * time.Millisecond
}
