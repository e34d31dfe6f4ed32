package postgres

import (
	"syscall"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spotifyhist/spotifyhist/store"
	"github.com/spotifyhist/spotifyhist/store/storetest"
)

func TestZZQueries(t *testing.T) {
	if os.Getenv("ZZ_Q") == "" { t.Skip() }
	url := os.Getenv("SPOTIFYHIST_TEST_DATABASE_URL")
	ctx := context.Background()
	s, err := New(ctx, Config{URL: url, Schema: "zz_bench", MaxConns: 1})
	if err != nil { t.Fatal(err) }
	defer s.Close()
	if os.Getenv("ZZ_TRACE") != "" {
		cfg := s.pool.Config()
		cfg.ConnConfig.Tracer = &qtracer{}
		s.pool.Close()
		s.pool, err = pgxpoolNew(ctx, cfg)
		if err != nil { t.Fatal(err) }
		cfg2 := s.pool.Config()
		cfg2.ConnConfig.Tracer = nil
		explainPool, _ = pgxpoolNew(ctx, cfg2)
	}
	ds := storetest.GenerateDataset(storetest.DatasetOpts{Seed: 2, Plays: 1_000_000, Tracks: 50_000, Artists: 8000})
	ny, _ := time.LoadLocation("America/New_York")
	kolkata, _ := time.LoadLocation("Asia/Kolkata")
	end := ds.End
	uid := "bench"
	all := store.StatsFilter{UserID: uid}
	year := store.StatsFilter{UserID: uid, From: end.AddDate(-1, 0, 0).Add(1234 * time.Millisecond), To: end}
	month := store.StatsFilter{UserID: uid, From: end.AddDate(0, 0, -30).Add(4321 * time.Millisecond), To: end}
	calYear := store.StatsFilter{UserID: uid, From: time.Date(2015, 1, 1, 0, 0, 0, 0, ny), To: time.Date(2016, 1, 1, 0, 0, 0, 0, ny)}
	fiveYears := store.StatsFilter{UserID: uid, From: end.AddDate(-8, 0, 0).Add(777 * time.Millisecond), To: end.AddDate(-3, 0, 0)}
	global := store.StatsFilter{}
	top := func(f store.StatsFilter, kind store.TopKind, by store.TopOrder, offset int) func() error {
		return func() error { _, err := s.Top(ctx, &store.TopParams{StatsFilter: f, Kind: kind, By: by, Limit: 10, Offset: offset}); return err }
	}
	totals := func(f store.StatsFilter) func() error { return func() error { _, err := s.Totals(ctx, &f); return err } }
	overTime := func(f store.StatsFilter, b store.Bucket, loc *time.Location) func() error {
		return func() error { _, err := s.OverTime(ctx, &store.OverTimeParams{StatsFilter: f, Bucket: b, Location: loc}); return err }
	}
	hw := func(f store.StatsFilter, loc *time.Location) func() error {
		return func() error { _, err := s.HourWeekday(ctx, &store.TimeParams{StatsFilter: f, Location: loc}); return err }
	}
	years := func(f store.StatsFilter, loc *time.Location) func() error {
		return func() error { _, err := s.Years(ctx, &store.TimeParams{StatsFilter: f, Location: loc}); return err }
	}
	qs := []struct{ name string; run func() error }{
		{"History/Newest", func() error { _, err := s.History(ctx, &store.HistoryParams{UserID: uid}); return err }},
		{"Totals/All", totals(all)}, {"Totals/Year", totals(year)}, {"Totals/Month", totals(month)}, {"Totals/FiveYears", totals(fiveYears)},
		{"Top/Tracks/All", top(all, store.TopTracks, store.ByCount, 0)}, {"Top/Tracks/AllByTime", top(all, store.TopTracks, store.ByTime, 0)},
		{"Top/Tracks/Year", top(year, store.TopTracks, store.ByCount, 0)}, {"Top/Tracks/YearPage3", top(year, store.TopTracks, store.ByCount, 20)},
		{"Top/Tracks/Month", top(month, store.TopTracks, store.ByCount, 0)}, {"Top/Tracks/CalendarYear", top(calYear, store.TopTracks, store.ByCount, 0)},
		{"Top/Tracks/FiveYears", top(fiveYears, store.TopTracks, store.ByCount, 0)},
		{"Top/Artists/All", top(all, store.TopArtists, store.ByCount, 0)}, {"Top/Artists/Year", top(year, store.TopArtists, store.ByTime, 0)},
		{"Top/Artists/Month", top(month, store.TopArtists, store.ByCount, 0)}, {"Top/Artists/FiveYears", top(fiveYears, store.TopArtists, store.ByCount, 0)},
		{"Top/Albums/All", top(all, store.TopAlbums, store.ByCount, 0)}, {"Top/Albums/Year", top(year, store.TopAlbums, store.ByCount, 0)},
		{"Top/Albums/Month", top(month, store.TopAlbums, store.ByTime, 0)},
		{"OverTime/Day/All", overTime(all, store.BucketDay, ny)}, {"OverTime/Day/Year", overTime(year, store.BucketDay, ny)},
		{"OverTime/Week/All", overTime(all, store.BucketWeek, ny)}, {"OverTime/Month/All", overTime(all, store.BucketMonth, kolkata)},
		{"HourWeekday/All", hw(all, ny)}, {"HourWeekday/Year", hw(year, kolkata)},
		{"Years/All", years(all, ny)}, {"Years/FiveYears", years(fiveYears, kolkata)},
		{"Global/Totals/All", totals(global)}, {"Global/Top/Tracks/All", top(global, store.TopTracks, store.ByCount, 0)},
		{"Global/Top/Artists/Year", top(store.StatsFilter{From: year.From, To: year.To}, store.TopArtists, store.ByCount, 0)},
		{"Global/OverTime/Month/All", overTime(global, store.BucketMonth, ny)}, {"Global/Years/All", years(global, ny)},
	}
	only := os.Getenv("ZZ_ONLY")
	var pid int
	s.pool.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid)
	qpid = pid
	for _, q := range qs {
		if only != "" && !strings.Contains(q.name, only) { continue }
		var ds, cs []time.Duration
		for i := 0; i < nrep(); i++ {
			t0 := time.Now()
			c0 := backendCPU(pid) + selfCPU()
			if err := q.run(); err != nil { t.Fatal(q.name, err) }
			ds = append(ds, time.Since(t0))
			cs = append(cs, backendCPU(pid)+selfCPU()-c0)
		}
		slices.Sort(ds)
		slices.Sort(cs)
		fmt.Printf("%-28s cpu p50 %5dms max %5dms | ", "", cs[len(cs)/2].Milliseconds(), cs[len(cs)-1].Milliseconds())
		fmt.Printf("%-28s p50 %7.1fms max %7.1fms\n", q.name, float64(ds[len(ds)/2].Microseconds())/1000, float64(ds[len(ds)-1].Microseconds())/1000)
	}
}

type qtracer struct{}
type qkey struct{}
type qstart struct{ t time.Time; sql string; args []any; cpu time.Duration }

var qpid int

func (qtracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	return context.WithValue(ctx, qkey{}, qstart{time.Now(), d.SQL, d.Args, backendCPU(qpid)})
}
func (qtracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	st := ctx.Value(qkey{}).(qstart)
	if el := time.Since(st.t); el > 3*time.Millisecond {
		fmt.Printf("  %6.1fms cpu %3dms %s\n", float64(el.Microseconds())/1000, (backendCPU(qpid)-st.cpu).Milliseconds(), strings.Join(strings.Fields(st.sql), " "))
		if os.Getenv("ZZ_ARGS") != "" { fmt.Printf("     args %v\n", st.args) }
		if os.Getenv("ZZ_EXPLAIN") != "" && explainPool != nil && !strings.HasPrefix(st.sql, "EXPLAIN") {
			rows, err := explainPool.Query(context.Background(), "EXPLAIN (ANALYZE, BUFFERS) "+st.sql, st.args...)
			if err != nil { fmt.Println("explain:", err); return }
			for rows.Next() { var l string; rows.Scan(&l); if len(l) > 220 { l = l[:220] }; fmt.Println("      |", l) }
			rows.Close()
		}
	}
}

func nrep() int { if os.Getenv("ZZ_TRACE") != "" { return 1 }; return 7 }

var explainPool *pgxpool.Pool

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
