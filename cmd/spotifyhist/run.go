package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
)

// command is one subcommand of the binary.
type command struct {
	name    string
	args    string // synopsis of the arguments
	summary string
	run     func(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error
	// flags registers the command's own flags; the configuration flags are
	// registered for every command.
	flags func(fs *flag.FlagSet)
}

// env is what a command runs with.
type env struct {
	stdout io.Writer
	stderr io.Writer
	cfg    config
	logger *slog.Logger
}

// usageError is a mistake in the command line; it exits with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func exitCode(err error) int {
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

func commands() []command {
	return []command{
		serveCommand(),
		migrateCommand(),
		analyzeCommand(),
		importCommand(),
		linkArtistsCommand(),
		exportCommand(),
		usersCommand(),
		backupCommand(),
		versionCommand(),
	}
}

// run is the whole program: main only wires the process to it. It returns
// a usageError (exit status 2) for a mistake in the command line, any other
// error (exit status 1) when the command failed, and nil when it succeeded
// or was stopped by ctx after a clean shutdown.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		printUsage(stderr)
		return usageError{}
	}
	if args[1] == "help" || args[1] == "-h" || args[1] == "--help" {
		if len(args) > 2 {
			return runHelp(args[2], getenv, stdout)
		}
		printUsage(stdout)
		return nil
	}
	name := args[1]
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		fs := newFlagSet(c, stderr)
		build := configFlags(fs, getenv)
		if err := fs.Parse(interleave(fs, args[2:])); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return usageError{}
		}
		cfg, err := build()
		if err != nil {
			return fmt.Errorf("configuration: %w", err)
		}
		logger, err := newLogger(cfg, stderr)
		if err != nil {
			return err
		}
		e := &env{stdout: stdout, stderr: stderr, cfg: cfg, logger: logger}
		return c.run(ctx, e, fs, fs.Args())
	}
	printUsage(stderr)
	return usagef("unknown command %q", name)
}

func newFlagSet(c command, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("spotifyhist "+c.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	if c.flags != nil {
		c.flags(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: spotifyhist %s %s\n\n%s\n\nflags:\n", c.name, c.args, c.summary)
		fs.PrintDefaults()
	}
	return fs
}

// interleave lets flags follow positional arguments
// (`spotifyhist import export.zip --json`), as users expect.
func interleave(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue
		}
		if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	return append(flags, append([]string{"--"}, pos...)...)
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "spotifyhist: a self-hosted Spotify listening-history tracker")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "usage: spotifyhist COMMAND [ARGS] [FLAGS]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	cs := commands()
	for _, c := range cs {
		fmt.Fprintf(w, "  %-14s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run `spotifyhist help COMMAND` for a command's arguments and flags.")
	fmt.Fprintln(w, "Every flag can also be set by its SPOTIFYHIST_* variable (see README.md).")
}

func runHelp(name string, getenv func(string) string, w io.Writer) error {
	for _, c := range commands() {
		if c.name == name {
			fs := newFlagSet(c, w)
			configFlags(fs, getenv)
			fs.Usage()
			return nil
		}
	}
	return usagef("unknown command %q", name)
}

func newLogger(cfg config, w io.Writer) (*slog.Logger, error) {
	level, err := parseLevel(cfg.LogLevel)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// buildVersion can be set at build time:
// go build -ldflags "-X main.buildVersion=v1.2.3" ./cmd/spotifyhist
var buildVersion string

// version is the version the binary was built as: buildVersion when set,
// else the module version (go install …@version), else "(devel)".
func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

func versionCommand() command {
	return command{
		name:    "version",
		summary: "print the version",
		run: func(_ context.Context, e *env, _ *flag.FlagSet, _ []string) error {
			_, err := fmt.Fprintln(e.stdout, "spotifyhist", version())
			return err
		},
	}
}

// ensureDataDir creates the data directory (mode 0700: it holds the
// database and the secret key).
func ensureDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data dir (SPOTIFYHIST_DATA_DIR): %w", err)
	}
	return nil
}
