package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/spotifyhist/spotifyhisttest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "top-artists:", err)
		os.Exit(1)
	}
}

// artist is one line of the ranking.
type artist struct {
	name  string
	plays int
	ms    int64
}

// run parses args, reads the export and writes the ranking to stdout.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("top-artists", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 10, "how many artists to print")
	by := fs.String("by", "plays", "rank by plays or by time listened (time)")
	demo := fs.Bool("demo", false, "analyse synthetic listening instead of a file")
	days := fs.Int("days", 365, "with -demo: how many days of listening to generate")
	excludeSkipped := fs.Bool("exclude-skipped", false, "also drop streams Spotify flagged as skipped")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: top-artists [flags] EXPORT   (or: top-artists -demo)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *by != "plays" && *by != "time" {
		return fmt.Errorf("-by: want plays or time, got %q", *by)
	}
	if *days < 1 {
		return fmt.Errorf("-days: want at least 1, got %d", *days)
	}
	if *n < 1 {
		return fmt.Errorf("-n: want at least 1, got %d", *n)
	}

	var src spotifyhist.ExportSource
	switch {
	case *demo && fs.NArg() == 0:
		zip, err := demoExport(*days)
		if err != nil {
			return err
		}
		src = spotifyhist.ExportSource{ReaderAt: bytes.NewReader(zip), Size: int64(len(zip)), Name: "demo export"}
	case !*demo && fs.NArg() == 1:
		src = spotifyhist.ExportSource{Path: fs.Arg(0)}
	default:
		fs.Usage()
		return errors.New("want exactly one EXPORT, or -demo")
	}

	// ReadExport calls the function for every entry, plays and excluded
	// entries alike; only plays (Spotify's definition: a track heard for at
	// least 30 s outside a private session) are counted here.
	byName := map[string]*artist{}
	opts := &spotifyhist.ExportOptions{ExcludeSkipped: *excludeSkipped}
	sum, err := spotifyhist.ReadExport(ctx, src, opts, func(e *spotifyhist.ExportEntry) error {
		if !e.IsPlay() {
			return nil
		}
		name := e.ArtistName
		if name == "" {
			name = "(unknown artist)"
		}
		a := byName[name]
		if a == nil {
			a = &artist{name: name}
			byName[name] = a
		}
		a.plays++
		a.ms += int64(e.MSPlayed)
		return nil
	})
	if err != nil {
		return fmt.Errorf("read %s: %w", sourceName(src), err)
	}

	ranked := slices.Collect(maps.Values(byName))
	slices.SortFunc(ranked, func(a, b *artist) int {
		if *by == "time" {
			return cmp.Or(cmp.Compare(b.ms, a.ms), cmp.Compare(b.plays, a.plays), strings.Compare(a.name, b.name))
		}
		return cmp.Or(cmp.Compare(b.plays, a.plays), cmp.Compare(b.ms, a.ms), strings.Compare(a.name, b.name))
	})
	ranked = ranked[:min(*n, len(ranked))]

	fmt.Fprintf(stdout, "%s: %d entries, %d plays, %d artists\n", sourceName(src), sum.Total, sum.Plays, len(byName))
	if len(sum.Excluded) > 0 {
		var parts []string
		for _, r := range spotifyhist.ExclusionReasons() {
			if c := sum.Excluded[r]; c > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", r, c))
			}
		}
		fmt.Fprintf(stdout, "not counted: %s\n", strings.Join(parts, ", "))
	}
	if len(ranked) == 0 {
		fmt.Fprintln(stdout, "no plays")
		return nil
	}
	order := "plays"
	if *by == "time" {
		order = "time listened"
	}
	fmt.Fprintf(stdout, "\ntop %d artists by %s:\n", len(ranked), order)
	width := 0
	for _, a := range ranked {
		width = max(width, len([]rune(a.name)))
	}
	for i, a := range ranked {
		pad := strings.Repeat(" ", width-len([]rune(a.name)))
		fmt.Fprintf(stdout, "%3d. %s%s  %6d %-5s  %8s\n", i+1, a.name, pad, a.plays, plural(a.plays, "play"), formatListened(a.ms))
	}
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func sourceName(src spotifyhist.ExportSource) string {
	if src.Name != "" {
		return src.Name
	}
	return src.Path
}

// formatListened renders milliseconds as hours and minutes, e.g. "12h05m".
func formatListened(ms int64) string {
	d := (time.Duration(ms) * time.Millisecond).Round(time.Minute)
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// demoExport builds a Spotify-style ZIP holding days of a simulated
// listener's extended streaming history, the same every time.
func demoExport(days int) ([]byte, error) {
	end := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	start := end.AddDate(0, 0, -days)
	sim := spotifyhisttest.NewSimulator(spotifyhisttest.SimConfig{Seed: 7, Start: start, End: end, Users: 1, CatalogueSize: 800})
	history := sim.ExportExtendedHistory(sim.UserID(0), start, end)
	var zip bytes.Buffer
	err := spotifyhisttest.WriteExportZip(&zip, map[string][]byte{
		spotifyhisttest.ExtendedHistoryPath(start.Year(), end.Year(), 0): history,
	})
	return zip.Bytes(), err
}
