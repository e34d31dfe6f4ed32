package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spotifyhist/spotifyhist/monitor"
	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/store"
)

// importFlags are shared by analyze and import.
type importFlags struct {
	user           string
	asJSON         bool
	excludeSkipped bool
}

func (f *importFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.user, "user", "", "user id (default: the only user, or the local user)")
	fs.BoolVar(&f.asJSON, "json", false, "print one JSON object")
	fs.BoolVar(&f.excludeSkipped, "exclude-skipped", false, "also drop entries Spotify flagged as skipped (not the default: the flag is unreliable)")
}

func (f *importFlags) options() *monitor.ImportOptions {
	return &monitor.ImportOptions{ExcludeSkipped: f.excludeSkipped}
}

func analyzeCommand() command {
	var f importFlags
	return command{
		name:    "analyze",
		args:    "FILE [--user ID] [--json]",
		summary: "analyse a Spotify export (ZIP, JSON or JSON Lines) without writing anything",
		flags:   f.register,
		run: func(ctx context.Context, e *env, _ *flag.FlagSet, args []string) error {
			if len(args) != 1 {
				return usagef("analyze: want exactly one FILE")
			}
			s, importer, userID, err := openForImport(ctx, e, f.user, analyzeUser)
			if err != nil {
				return err
			}
			defer s.Close()
			a, err := importer.Analyze(ctx, userID, spotifyhist.ExportSource{Path: args[0]}, f.options())
			if err != nil {
				return fmt.Errorf("analyze %s: %w", args[0], err)
			}
			if f.asJSON {
				return writeJSONLine(e.stdout, a)
			}
			printCounts(e.stdout, "entries", a.Total, a.ToImport, "to import", a.Excluded)
			printYears(e.stdout, a.Years)
			return nil
		},
	}
}

func importCommand() command {
	var f importFlags
	return command{
		name:    "import",
		args:    "FILE [--user ID] [--json]",
		summary: "import a Spotify export (ZIP, JSON or JSON Lines); safe to run again",
		flags:   f.register,
		run: func(ctx context.Context, e *env, _ *flag.FlagSet, args []string) error {
			if len(args) != 1 {
				return usagef("import: want exactly one FILE")
			}
			s, importer, userID, err := openForImport(ctx, e, f.user, writeUser)
			if err != nil {
				return err
			}
			defer s.Close()
			bar := newProgressBar(e.stderr, f.asJSON)
			res, err := importer.Execute(ctx, userID, spotifyhist.ExportSource{Path: args[0]}, f.options(), bar.update)
			bar.done()
			if err != nil {
				return fmt.Errorf("import %s: %w (running the same command again resumes)", args[0], err)
			}
			if f.asJSON {
				return writeJSONLine(e.stdout, res)
			}
			fmt.Fprintf(e.stdout, "imported %d plays for %s (%d already stored)\n", res.Imported, userID, res.Duplicates)
			printCounts(e.stdout, "entries", res.Total, res.Imported, "imported", res.Excluded)
			return nil
		},
	}
}

// openForImport opens the store, builds the importer and resolves the user
// (see resolveUser).
func openForImport(ctx context.Context, e *env, userID string, use userUse) (store.Store, *monitor.Importer, string, error) {
	s, err := openStore(ctx, e, nil)
	if err != nil {
		return nil, nil, "", err
	}
	id, err := resolveUser(ctx, e, s, userID, use)
	if err != nil {
		s.Close()
		return nil, nil, "", err
	}
	importer, err := monitor.NewImporter(monitor.ImporterConfig{Store: s, Logger: e.logger})
	if err != nil {
		s.Close()
		return nil, nil, "", err
	}
	return s, importer, id, nil
}

func writeJSONLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func printCounts(w io.Writer, what string, total, kept int, keptLabel string, excluded map[string]int) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%d\t%s in the file\t\n", total, what)
	fmt.Fprintf(tw, "%d\t%s\t\n", kept, keptLabel)
	reasons := make([]string, 0, len(excluded))
	for r := range excluded {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		if excluded[r] > 0 {
			fmt.Fprintf(tw, "%d\t%s\t\n", excluded[r], strings.ReplaceAll(r, "_", " "))
		}
	}
	tw.Flush()
}

func printYears(w io.Writer, years map[string]int) {
	if len(years) == 0 {
		return
	}
	keys := make([]string, 0, len(years))
	for y := range years {
		keys = append(keys, y)
	}
	sort.Strings(keys)
	fmt.Fprintln(w, "\nto import by year:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	for _, y := range keys {
		fmt.Fprintf(tw, "%s\t%d\t\n", y, years[y])
	}
	tw.Flush()
}

// progressBar draws import progress: a bar on a terminal, a line every few
// seconds otherwise, nothing with --json (stdout is for the result; stderr
// stays quiet so scripts can parse).
type progressBar struct {
	w       io.Writer
	tty     bool
	quiet   bool
	last    time.Time
	drawn   bool
	started time.Time
}

func newProgressBar(w io.Writer, quiet bool) *progressBar {
	tty := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progressBar{w: w, tty: tty, quiet: quiet, started: time.Now()}
}

func (b *progressBar) update(p monitor.ImportUpdate) {
	if b.quiet || p.Total == 0 {
		return
	}
	now := time.Now()
	every := 5 * time.Second
	if b.tty {
		every = 100 * time.Millisecond
	}
	if now.Sub(b.last) < every && p.Processed < p.Total {
		return
	}
	b.last = now
	frac := float64(p.Processed) / float64(p.Total)
	if b.tty {
		const width = 30
		n := int(frac * width)
		fmt.Fprintf(b.w, "\r[%s%s] %3.0f%%  %d/%d entries, %d imported", strings.Repeat("=", n), strings.Repeat(" ", width-n), frac*100, p.Processed, p.Total, p.Imported)
		b.drawn = true
		return
	}
	fmt.Fprintf(b.w, "import: %d/%d entries (%.0f%%), %d imported\n", p.Processed, p.Total, frac*100, p.Imported)
}

func (b *progressBar) done() {
	if b.drawn {
		fmt.Fprintln(b.w)
	}
}
