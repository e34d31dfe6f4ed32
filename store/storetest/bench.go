package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/spotifyhist/spotifyhist/store"
)

// BenchBatchSize is the number of plays per InsertPlays call in the
// benchmarks, as an import writes them.
const BenchBatchSize = 5_000

// BenchInsert measures importing n plays (about 15,000 distinct tracks per
// 131,000 plays, at most 50,000; over 8 years for 131,000 plays, 20 years
// from 1,000,000; tracks as an export knows them) into an empty store in
// batches of BenchBatchSize, advancing an import's progress with each batch
// as the importer does. The store is created outside the timer.
func BenchInsert(b *testing.B, newStore func(tb testing.TB) store.Store, n int) {
	ds := GenerateDataset(DatasetOpts{Seed: 1, Plays: n, Years: min(20, max(8, n/50_000)), Unlinked: true})
	batches := make([][]store.PlayInput, 0, n/BenchBatchSize+1)
	for i := 0; i < n; i += BenchBatchSize {
		batches = append(batches, ds.Inputs(i, min(n, i+BenchBatchSize), store.SourceImport))
	}
	ctx := context.Background()
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := newStore(b)
		u := NewUser(ctx, b, s, &UserOpts{ID: "bench"})
		imp := &store.Import{ID: fmt.Sprintf("imp-%d", i), UserID: u.ID, Digest: "d", State: store.ImportRunning, Total: n, CreatedAt: baseTime(), UpdatedAt: baseTime()}
		if err := s.CreateImport(ctx, imp); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		cpu0 := cpuTime()
		inserted := 0
		for _, batch := range batches {
			res, err := s.InsertPlays(ctx, &store.InsertPlaysParams{UserID: u.ID, Plays: batch,
				Import: &store.ImportProgress{ImportID: imp.ID, Processed: len(batch)}})
			if err != nil {
				b.Fatal(err)
			}
			inserted += res.Inserted
		}
		b.StopTimer()
		cpu += cpuTime() - cpu0
		if inserted != n {
			b.Fatalf("inserted %d plays, want %d", inserted, n)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "plays/s")
	// On a shared machine wall time includes waiting for a CPU; the process
	// CPU time does not.
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}

// BenchQueries measures every StatsStore query and History over 1,000,000
// plays of one user (20 years, 50,000 tracks, 8,000 artists), reporting the
// 95th percentile of each as "p95-ms". The data set is built once and
// shared by the sub-benchmarks.
func BenchQueries(b *testing.B, newStore func(tb testing.TB) store.Store) {
	BenchQueriesN(b, newStore, 1_000_000)
}

// BenchQueriesN is BenchQueries over n plays (catalogue scaled to 50,000
// tracks and 8,000 artists at 1,000,000 plays).
func BenchQueriesN(b *testing.B, newStore func(tb testing.TB) store.Store, n int) {
	ctx := context.Background()
	tracks := max(100, int(int64(n)*50_000/1_000_000))
	ds := GenerateDataset(DatasetOpts{Seed: 2, Plays: n, Tracks: tracks, Artists: max(10, tracks*8/50)})
	s := newStore(b)
	u := NewUser(ctx, b, s, &UserOpts{ID: "bench"})
	began := time.Now()
	for i := 0; i < n; i += BenchBatchSize {
		if _, err := s.InsertPlays(ctx, &store.InsertPlaysParams{UserID: u.ID, Plays: ds.Inputs(i, min(n, i+BenchBatchSize), store.SourceHistory)}); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("loaded %d plays of %d tracks in %s", n, len(ds.Tracks), time.Since(began).Round(time.Millisecond))

	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		b.Fatal(err)
	}
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		b.Fatal(err)
	}
	end := ds.End
	all := store.StatsFilter{UserID: u.ID}
	year := store.StatsFilter{UserID: u.ID, From: end.AddDate(-1, 0, 0).Add(1234 * time.Millisecond), To: end}
	month := store.StatsFilter{UserID: u.ID, From: end.AddDate(0, 0, -30).Add(4321 * time.Millisecond), To: end}
	calYear := store.StatsFilter{UserID: u.ID, From: time.Date(2015, 1, 1, 0, 0, 0, 0, ny), To: time.Date(2016, 1, 1, 0, 0, 0, 0, ny)}
	fiveYears := store.StatsFilter{UserID: u.ID, From: end.AddDate(-8, 0, 0).Add(777 * time.Millisecond), To: end.AddDate(-3, 0, 0)}
	global := store.StatsFilter{}

	top := func(f store.StatsFilter, kind store.TopKind, by store.TopOrder, offset int) func(*rand.Rand) error {
		return func(*rand.Rand) error {
			_, err := s.Top(ctx, &store.TopParams{StatsFilter: f, Kind: kind, By: by, Limit: 10, Offset: offset})
			return err
		}
	}
	totals := func(f store.StatsFilter) func(*rand.Rand) error {
		return func(*rand.Rand) error { _, err := s.Totals(ctx, &f); return err }
	}
	overTime := func(f store.StatsFilter, bucket store.Bucket, loc *time.Location) func(*rand.Rand) error {
		return func(*rand.Rand) error {
			_, err := s.OverTime(ctx, &store.OverTimeParams{StatsFilter: f, Bucket: bucket, Location: loc})
			return err
		}
	}
	hourWeekday := func(f store.StatsFilter, loc *time.Location) func(*rand.Rand) error {
		return func(*rand.Rand) error {
			_, err := s.HourWeekday(ctx, &store.TimeParams{StatsFilter: f, Location: loc})
			return err
		}
	}
	years := func(f store.StatsFilter, loc *time.Location) func(*rand.Rand) error {
		return func(*rand.Rand) error {
			_, err := s.Years(ctx, &store.TimeParams{StatsFilter: f, Location: loc})
			return err
		}
	}
	queries := []struct {
		name string
		run  func(*rand.Rand) error
	}{
		{"History/Newest", func(*rand.Rand) error {
			_, err := s.History(ctx, &store.HistoryParams{UserID: u.ID})
			return err
		}},
		{"History/Cursor", func(rng *rand.Rand) error {
			p := ds.Plays[rng.IntN(len(ds.Plays))]
			_, err := s.History(ctx, &store.HistoryParams{UserID: u.ID, Before: time.UnixMilli(p.PlayedAt), BeforeTrackID: ds.Tracks[p.Track].ID})
			return err
		}},
		{"Totals/All", totals(all)},
		{"Totals/Year", totals(year)},
		{"Totals/Month", totals(month)},
		{"Totals/FiveYears", totals(fiveYears)},
		{"Top/Tracks/All", top(all, store.TopTracks, store.ByCount, 0)},
		{"Top/Tracks/AllByTime", top(all, store.TopTracks, store.ByTime, 0)},
		{"Top/Tracks/Year", top(year, store.TopTracks, store.ByCount, 0)},
		{"Top/Tracks/YearPage3", top(year, store.TopTracks, store.ByCount, 20)},
		{"Top/Tracks/Month", top(month, store.TopTracks, store.ByCount, 0)},
		{"Top/Tracks/CalendarYear", top(calYear, store.TopTracks, store.ByCount, 0)},
		{"Top/Tracks/FiveYears", top(fiveYears, store.TopTracks, store.ByCount, 0)},
		{"Top/Artists/All", top(all, store.TopArtists, store.ByCount, 0)},
		{"Top/Artists/Year", top(year, store.TopArtists, store.ByTime, 0)},
		{"Top/Artists/Month", top(month, store.TopArtists, store.ByCount, 0)},
		{"Top/Artists/FiveYears", top(fiveYears, store.TopArtists, store.ByCount, 0)},
		{"Top/Albums/All", top(all, store.TopAlbums, store.ByCount, 0)},
		{"Top/Albums/Year", top(year, store.TopAlbums, store.ByCount, 0)},
		{"Top/Albums/Month", top(month, store.TopAlbums, store.ByTime, 0)},
		{"OverTime/Day/All", overTime(all, store.BucketDay, ny)},
		{"OverTime/Day/Year", overTime(year, store.BucketDay, ny)},
		{"OverTime/Week/All", overTime(all, store.BucketWeek, ny)},
		{"OverTime/Month/All", overTime(all, store.BucketMonth, kolkata)},
		{"HourWeekday/All", hourWeekday(all, ny)},
		{"HourWeekday/Year", hourWeekday(year, kolkata)},
		{"Years/All", years(all, ny)},
		{"Years/FiveYears", years(fiveYears, kolkata)},
		{"Global/Totals/All", totals(global)},
		{"Global/Top/Tracks/All", top(global, store.TopTracks, store.ByCount, 0)},
		{"Global/Top/Artists/Year", top(store.StatsFilter{From: year.From, To: year.To}, store.TopArtists, store.ByCount, 0)},
		{"Global/OverTime/Month/All", overTime(global, store.BucketMonth, ny)},
		{"Global/Years/All", years(global, ny)},
	}
	const minSamples = 25
	for _, q := range queries {
		b.Run(q.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(3, 4))
			samples := max(b.N, minSamples)
			durs := make([]time.Duration, 0, samples)
			cpus := make([]time.Duration, 0, samples)
			b.ResetTimer()
			for range samples {
				t0, c0 := time.Now(), cpuTime()
				if err := q.run(rng); err != nil {
					b.Fatal(err)
				}
				durs = append(durs, time.Since(t0))
				cpus = append(cpus, cpuTime()-c0)
			}
			b.StopTimer()
			var sum time.Duration
			for _, d := range durs {
				sum += d
			}
			b.ReportMetric(float64(sum.Nanoseconds())/float64(len(durs)), "ns/op")
			b.ReportMetric(percentile(durs, 50), "p50-ms")
			b.ReportMetric(percentile(durs, 95), "p95-ms")
			// The process CPU time of each query, which waiting for a CPU on a
			// shared machine does not inflate.
			b.ReportMetric(percentile(cpus, 95), "cpu-p95-ms")
		})
	}
}

// percentile returns the p-th percentile (nearest rank) of d in milliseconds.
func percentile(d []time.Duration, p int) float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	return float64(s[(len(s)*p+99)/100-1].Microseconds()) / 1000
}
