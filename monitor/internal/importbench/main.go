// Command importbench measures spotifyhist's import end to end, in its own
// process so that its peak memory can be read with /usr/bin/time -v.
//
//	go build -o /tmp/importbench ./monitor/internal/importbench
//	/tmp/importbench gen -n 131000 -out /tmp/export.zip
//	/usr/bin/time -v /tmp/importbench import -db /tmp/bench.db /tmp/export.zip
//	/usr/bin/time -v /tmp/importbench import -postgres "$SPOTIFYHIST_TEST_DATABASE_URL" -schema bench /tmp/export.zip
//
// gen writes a synthetic extended-history ZIP of about n entries (and, with
// -monitored FILE, the plays history-mode monitoring stored, as JSON Lines
// that import -prefill loads before timing). import creates the user, runs
// Analyze then Execute and prints the timings and the result as JSON.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"time"

	"github.com/spotifyhist/spotifyhist/dedupe/dedupetest"
	"github.com/spotifyhist/spotifyhist/monitor"
	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/store"
	"github.com/spotifyhist/spotifyhist/store/postgres"
	"github.com/spotifyhist/spotifyhist/store/sqlite"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "importbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: importbench gen|import [flags]")
	}
	switch args[0] {
	case "gen":
		return gen(args[1:])
	case "import":
		return runImport(ctx, args[1:], stdout)
	}
	return fmt.Errorf("unknown command %q", args[0])
}

func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	n := fs.Int("n", 131_000, "entries")
	out := fs.String("out", "export.zip", "ZIP to write")
	monitored := fs.String("monitored", "", "also write the plays history-mode monitoring stored (JSON Lines)")
	seed := fs.Uint64("seed", 99, "corpus seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c := dedupetest.Generate(dedupetest.Config{
		Seed: *seed, Streams: *n * 996 / 1000, PlaysPerDay: max(30, float64(*n)/365/20),
		LocalTrackID: spotifyhist.LocalTrackID, MonitorFrom: 0.6, PriorImportUntil: -1,
	})
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	if err := c.WriteExtendedZip(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Printf("%s: %d entries\n", *out, len(c.Rows))
	if *monitored == "" {
		return nil
	}
	m, err := os.Create(*monitored)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(m)
	enc := json.NewEncoder(w)
	rows := c.Capture(store.ModeHistory).Rows
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			m.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		m.Close()
		return err
	}
	fmt.Printf("%s: %d monitored plays\n", *monitored, len(rows))
	return m.Close()
}

type closingStore interface {
	store.Store
}

func runImport(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	dbPath := fs.String("db", "", "SQLite database file (created)")
	pgURL := fs.String("postgres", "", "PostgreSQL URL instead of SQLite")
	schema := fs.String("schema", "importbench", "PostgreSQL schema (created; dropped and recreated by -fresh)")
	prefill := fs.String("prefill", "", "JSON Lines of stored plays (from gen -monitored) to load first")
	user := fs.String("user", dedupetest.UserIDDefault, "user id")
	analyzeOnly := fs.Bool("analyze-only", false, "stop after the analysis")
	executeOnly := fs.Bool("execute-only", false, "skip the separate analysis (Execute analyses anyway)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile")
	memProfile := fs.String("memprofile", "", "write a heap profile at the end")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("import: one export file expected")
	}
	quiet := slog.New(slog.DiscardHandler)
	var st closingStore
	var err error
	switch {
	case *pgURL != "":
		st, err = postgres.New(ctx, postgres.Config{URL: *pgURL, Schema: *schema, Logger: quiet})
	case *dbPath != "":
		st, err = sqlite.New(ctx, sqlite.Config{Path: *dbPath, Logger: quiet})
	default:
		return errors.New("import: -db or -postgres required")
	}
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.UpsertUser(ctx, &store.UpsertUserParams{ID: *user, DisplayName: *user, Now: time.Now()}); err != nil {
		return err
	}
	if *prefill != "" {
		if err := load(ctx, st, *user, *prefill); err != nil {
			return err
		}
	}
	im, err := monitor.NewImporter(monitor.ImporterConfig{Store: st, Logger: quiet})
	if err != nil {
		return err
	}
	src := spotifyhist.ExportSource{Path: fs.Arg(0)}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		defer func() {
			if f, err := os.Create(*memProfile); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	t0 := time.Now()
	a := &monitor.Analysis{}
	if !*executeOnly {
		if a, err = im.Analyze(ctx, *user, src, nil); err != nil {
			return err
		}
	}
	t1 := time.Now()
	res := &monitor.ImportResult{}
	if !*analyzeOnly {
		if res, err = im.Execute(ctx, *user, src, nil, nil); err != nil {
			return err
		}
	}
	t2 := time.Now()
	return json.NewEncoder(stdout).Encode(map[string]any{
		"analyze_s": t1.Sub(t0).Seconds(), "execute_s": t2.Sub(t1).Seconds(), "total_s": t2.Sub(t0).Seconds(),
		"total": max(a.Total, res.Total), "to_import": a.ToImport, "imported": res.Imported, "excluded": res.Excluded,
	})
}

// load inserts the stored plays written by gen -monitored.
func load(ctx context.Context, st store.Store, user, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReader(f))
	var batch []store.PlayInput
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := st.InsertPlays(ctx, &store.InsertPlaysParams{UserID: user, Plays: batch})
		batch = batch[:0]
		return err
	}
	for {
		var p store.PlayWithTrack
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return err
		}
		batch = append(batch, store.PlayInput{Track: p.Track, PlayedAt: p.PlayedAt, MSPlayed: p.MSPlayed, Source: p.Source})
		if len(batch) == 5000 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}
