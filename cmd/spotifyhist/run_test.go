package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/spotifyhist/spotifyhisttest"
	"github.com/spotifyhist/spotifyhist/store"
	"github.com/spotifyhist/spotifyhist/store/sqlite"
)

// cli runs the binary's run function in-process with its own data dir.
type cli struct {
	t   *testing.T
	env map[string]string
}

func newCLI(t *testing.T) *cli {
	return &cli{t: t, env: map[string]string{
		"SPOTIFYHIST_DATA_DIR":   t.TempDir(),
		"SPOTIFYHIST_LOG_LEVEL":  "warn",
		"SPOTIFYHIST_LOG_FORMAT": "text",
	}}
}

func (c *cli) run(args ...string) (stdout, stderr string, err error) {
	c.t.Helper()
	var out, errb bytes.Buffer
	err = run(context.Background(), append([]string{"spotifyhist"}, args...), func(k string) string { return c.env[k] }, &out, &errb)
	return out.String(), errb.String(), err
}

func (c *cli) mustRun(args ...string) string {
	c.t.Helper()
	out, errOut, err := c.run(args...)
	require.NoError(c.t, err, "spotifyhist %v\nstderr: %s", args, errOut)
	return out
}

// writeTestExport writes a synthetic extended-history ZIP of a few simulated days.
func writeTestExport(t *testing.T) string {
	t.Helper()
	start := time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
	sim := spotifyhisttest.NewSimulator(spotifyhisttest.SimConfig{Seed: 7, Start: start, End: start.Add(5 * 24 * time.Hour)})
	raw := sim.ExportExtendedHistory(sim.UserIDs()[0], start, start.Add(5*24*time.Hour))
	var buf bytes.Buffer
	require.NoError(t, spotifyhisttest.WriteExportZip(&buf, map[string][]byte{
		"Spotify Extended Streaming History/Streaming_History_Audio_2025_0.json": raw,
	}))
	path := filepath.Join(t.TempDir(), "my_spotify_data.zip")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o600))
	return path
}

type analysisJSON struct {
	Total    int            `json:"total"`
	ToImport int            `json:"to_import"`
	Excluded map[string]int `json:"excluded"`
	Years    map[string]int `json:"years"`
}

type importJSON struct {
	Imported int            `json:"imported"`
	Total    int            `json:"total"`
	Excluded map[string]int `json:"excluded"`
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func TestCLIImportExportRoundTrip(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	zip := writeTestExport(t)

	require.Contains(t, c.mustRun("migrate"), "database schema at version")

	var a analysisJSON
	require.NoError(t, json.Unmarshal([]byte(c.mustRun("analyze", zip, "--json")), &a))
	require.Positive(t, a.ToImport)
	require.Equal(t, a.Total, a.ToImport+sum(a.Excluded), "counters sum to the total")
	require.Equal(t, a.ToImport, sum(a.Years), "years sum to to_import")

	var imp importJSON
	require.NoError(t, json.Unmarshal([]byte(c.mustRun("import", zip, "--json")), &imp))
	require.Equal(t, a.ToImport, imp.Imported)
	require.Equal(t, a.Total, imp.Total)
	require.NoError(t, json.Unmarshal([]byte(c.mustRun("import", "--json", zip)), &imp))
	require.Zero(t, imp.Imported, "a re-import adds nothing")

	// Users.
	var users []map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.mustRun("users", "list", "--json")), &users))
	require.Len(t, users, 1)
	for _, k := range []string{"id", "display_name", "enabled", "mode", "needs_reauth", "worker_id"} {
		require.Contains(t, users[0], k)
	}
	c.mustRun("users", "mode", "local", "adaptive")
	c.mustRun("users", "disable", "local")
	require.NoError(t, json.Unmarshal([]byte(c.mustRun("users", "list", "--json")), &users))
	require.Equal(t, "adaptive", users[0]["mode"])
	require.Equal(t, false, users[0]["enabled"])

	// Export as JSON Lines, then restore into a fresh instance.
	out := filepath.Join(t.TempDir(), "plays.jsonl")
	c.mustRun("export", "--format", "jsonl", "--out", out)
	lines := readLines(t, out)
	require.Len(t, lines, a.ToImport)
	var first map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
	for _, k := range []string{"played_at", "track_id", "track_name", "artists", "album", "ms_played", "source"} {
		require.Contains(t, first, k)
	}
	require.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`, first["played_at"])
	require.Equal(t, "import", first["source"])

	restored := newCLI(t)
	var again importJSON
	require.NoError(t, json.Unmarshal([]byte(restored.mustRun("import", out, "--json")), &again))
	require.Equal(t, len(lines), again.Imported)
	out2 := filepath.Join(t.TempDir(), "plays2.jsonl")
	restored.mustRun("export", "--out", out2)
	require.Equal(t, lines, readLines(t, out2), "export → import → export is lossless")

	for _, format := range []string{"csv", "listenbrainz"} {
		o := c.mustRun("export", "--format", format)
		require.Greater(t, strings.Count(o, "\n"), 10, format)
	}

	// Backup: a consistent SQLite copy that opens as a database.
	bk := filepath.Join(t.TempDir(), "backup.db")
	c.mustRun("backup", bk)
	c2 := newCLI(t)
	c2.env["SPOTIFYHIST_DATABASE_URL"] = "sqlite:" + bk
	require.Contains(t, c2.mustRun("export"), first["track_id"].(string))
	_, _, err := c.run("backup", bk)
	require.ErrorContains(t, err, "already exists")
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	require.NoError(t, sc.Err())
	return lines
}

func TestCLIErrors(t *testing.T) {
	t.Parallel()
	notZip := filepath.Join(t.TempDir(), "x.zip")
	require.NoError(t, os.WriteFile(notZip, []byte("definitely not a zip"), 0o600))
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		code    int
		wantErr string
	}{
		{"UnknownCommand", []string{"frobnicate"}, nil, 2, "unknown command"},
		{"AnalyzeNoFile", []string{"analyze"}, nil, 2, "want exactly one FILE"},
		{"AnalyzeNotAnExport", []string{"analyze", notZip}, nil, 1, "analyze"},
		{"ImportMissingFile", []string{"import", "/nonexistent/file.zip"}, nil, 1, "import"},
		{"BadMode", []string{"users", "mode", "local", "turbo"}, nil, 2, "unknown mode"},
		{"UnknownUser", []string{"users", "enable", "nobody"}, nil, 1, `no user "nobody"`},
		{"BadConfig", []string{"migrate"}, map[string]string{"SPOTIFYHIST_LOG_FORMAT": "xml"}, 1, "SPOTIFYHIST_LOG_FORMAT"},
		{"PostgresDown", []string{"migrate"}, map[string]string{"SPOTIFYHIST_DATABASE_URL": "postgres://nobody@127.0.0.1:1/x?connect_timeout=2", "SPOTIFYHIST_SECRET_KEY": "k"}, 1, "127.0.0.1:1"},
		{"BackupOnPostgres", []string{"backup", "x"}, map[string]string{"SPOTIFYHIST_DATABASE_URL": "postgres://u@h/x", "SPOTIFYHIST_SECRET_KEY": "k"}, 1, "pg_dump"},
		{"LinkArtistsLocal", []string{"link-artists"}, nil, 1, "needs Spotify credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCLI(t)
			for k, v := range tc.env {
				c.env[k] = v
			}
			_, _, err := c.run(tc.args...)
			require.Error(t, err)
			require.Equal(t, tc.code, exitCode(err))
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
	// A failed analysis or import wrote nothing.
	c := newCLI(t)
	_, _, err := c.run("import", notZip)
	require.Error(t, err)
	require.Equal(t, "", c.mustRun("export"))
}

// syncBuffer is a bytes.Buffer safe for the daemon's log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeDemo runs the README's first command in-process: the daemon
// against the built-in fake Spotify, and checks that plays arrive through
// the API, that health, readiness and metrics answer, and that it stops
// cleanly.
func TestServeDemo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"SPOTIFYHIST_DATA_DIR": dir, "SPOTIFYHIST_LISTEN": "127.0.0.1:0", "SPOTIFYHIST_LOG_LEVEL": "info"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"spotifyhist", "serve", "--demo"}, func(k string) string { return env[k] }, io.Discard, &logs)
	}()
	base := waitServing(t, &logs)

	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, _ := get("/healthz")
	require.Equal(t, http.StatusOK, code)
	require.Eventually(t, func() bool { code, _ := get("/readyz"); return code == http.StatusOK }, 30*time.Second, 50*time.Millisecond)
	code, body := get("/metrics")
	require.Equal(t, http.StatusOK, code)
	for _, m := range []string{"spotifyhist_workers_live", "spotifyhist_worker_heartbeat_timestamp_seconds", "spotifyhist_import_entries_total", "go_goroutines", "process_resident_memory_bytes", "go_build_info"} {
		require.True(t, strings.Contains(body, "\n"+m), "/metrics lacks %s", m)
	}

	// The pre-imported export is there, and monitored plays arrive on top.
	importedRe := regexp.MustCompile(`msg="demo: synthetic export imported".* imported=(\d+)`)
	m := importedRe.FindStringSubmatch(logs.String())
	require.NotNil(t, m, "the demo imports a synthetic export at start")
	imported, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	require.Positive(t, imported)
	require.Eventually(t, func() bool {
		_, body := get("/api/v1/stats/totals")
		var tot struct{ Plays int }
		return json.Unmarshal([]byte(body), &tot) == nil && tot.Plays > imported
	}, 60*time.Second, 200*time.Millisecond, "no monitored plays arrived:\n%s", tail(logs.String()))

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30 s of cancellation")
	}
	require.Contains(t, logs.String(), "shutting down")
	t.Logf("demo started with %d plays", imported)
}

func tail(s string) string {
	if len(s) > 4000 {
		return s[len(s)-4000:]
	}
	return s
}

func TestCLIExitCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		stdout     string
		stderr     string
		errMessage string
	}{
		{name: "NoCommand", code: 2, stderr: "usage: spotifyhist COMMAND"},
		{name: "Help", args: []string{"help"}, code: 0, stdout: "usage: spotifyhist COMMAND"},
		{name: "HelpFlag", args: []string{"--help"}, code: 0, stdout: "commands:"},
		{name: "HelpCommand", args: []string{"help", "export"}, code: 0, stdout: "--format"},
		{name: "HelpUnknownCommand", args: []string{"help", "frobnicate"}, code: 2, errMessage: "unknown command"},
		{name: "CommandHelpFlag", args: []string{"import", "-h"}, code: 0, stderr: "usage: spotifyhist import"},
		{name: "Version", args: []string{"version"}, code: 0, stdout: "spotifyhist "},
		{name: "UnknownFlag", args: []string{"migrate", "--frobnicate"}, code: 2, stderr: "flag provided but not defined"},
		{name: "BadFlagValue", args: []string{"migrate", "--history-poll-interval", "soon"}, code: 2, stderr: "want a duration"},
		{name: "ServeArguments", args: []string{"serve", "now"}, code: 2, errMessage: "no positional arguments"},
		{name: "ExportFormat", args: []string{"export", "--format", "xml"}, code: 2, errMessage: "unknown format"},
		{name: "UsersNoAction", args: []string{"users"}, code: 2, errMessage: "want list"},
		{name: "UsersUnknownAction", args: []string{"users", "frob"}, code: 2, errMessage: "unknown action"},
		{name: "UsersWrongArity", args: []string{"users", "enable"}, code: 2, errMessage: "wrong number of arguments"},
		{name: "BackupNoPath", args: []string{"backup"}, code: 2, errMessage: "exactly one PATH"},
		{name: "ExportNoUserYet", args: []string{"export"}, code: 1, errMessage: "no user yet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stdout, stderr, err := newCLI(t).run(tc.args...)
			if tc.code == 0 {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				require.Equal(t, tc.code, exitCode(err))
				require.ErrorContains(t, err, tc.errMessage)
			}
			require.Contains(t, stdout, tc.stdout)
			require.Contains(t, stderr, tc.stderr)
		})
	}
}

func TestResolveUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	newStore := func(t *testing.T, ids ...string) store.Store {
		st, err := sqlite.New(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "db"), Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		for _, id := range ids {
			_, err := st.UpsertUser(ctx, &store.UpsertUserParams{ID: id, Now: time.Now()})
			require.NoError(t, err)
		}
		return st
	}
	local, login := &env{}, &env{cfg: config{ClientID: "id"}}
	for _, tc := range []struct {
		name    string
		e       *env
		users   []string
		flag    string
		use     userUse
		want    string
		wantErr string
		created bool
	}{
		{name: "FlagExisting", e: login, users: []string{"a", "b"}, flag: "b", use: readUser, want: "b"},
		{name: "FlagUnknownForExport", e: local, flag: "ghost", use: readUser, wantErr: `no user "ghost"`},
		{name: "FlagUnknownWithSpotify", e: login, users: []string{"a"}, flag: "ghost", use: writeUser, wantErr: `no user "ghost"`},
		{name: "FlagUnknownLocalModeImport", e: local, flag: "ghost", use: writeUser, want: "ghost", created: true},
		{name: "FlagUnknownLocalModeAnalyze", e: local, flag: "ghost", use: analyzeUser, want: "ghost"},
		{name: "FlagLocalUserWithSpotify", e: login, flag: localUserID, use: writeUser, want: localUserID, created: true},
		{name: "OnlyUser", e: login, users: []string{"alice"}, use: readUser, want: "alice"},
		{name: "OnlyUserLocalMode", e: local, users: []string{"alice"}, use: writeUser, want: "alice"},
		{name: "LocalUserAmongMany", e: local, users: []string{"alice", localUserID}, use: readUser, want: localUserID},
		{name: "LocalModeFirstImport", e: local, use: writeUser, want: localUserID, created: true},
		{name: "LocalModeAnalyzeWritesNothing", e: local, use: analyzeUser, want: localUserID},
		{name: "LocalModeExportWithoutUsers", e: local, use: readUser, wantErr: "no user yet: import an export first"},
		{name: "LocalModeManyOthers", e: local, users: []string{"a", "b"}, use: writeUser, want: localUserID, created: true},
		{name: "LocalModeManyOthersExport", e: local, users: []string{"a", "b"}, use: readUser, wantErr: "has 2 users: pass --user"},
		{name: "SpotifyNoUsers", e: login, use: writeUser, wantErr: "log in with Spotify first, or pass --user"},
		{name: "SpotifyManyUsers", e: login, users: []string{"a", "b"}, use: analyzeUser, wantErr: "has 2 users: pass --user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := newStore(t, tc.users...)
			got, err := resolveUser(ctx, tc.e, st, tc.flag, tc.use)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			all, err := st.ListUsers(ctx)
			require.NoError(t, err)
			wantUsers := len(tc.users)
			if tc.created {
				wantUsers++
			}
			require.Len(t, all, wantUsers, "created only by import, and only when missing")
		})
	}
}

func TestCLIAnalyzeWritesNothing(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	zip := writeTestExport(t)
	var a analysisJSON
	require.NoError(t, json.Unmarshal([]byte(c.mustRun("analyze", zip, "--json")), &a))
	require.Positive(t, a.ToImport)
	require.Equal(t, "[]\n", c.mustRun("users", "list", "--json"), "analyze creates no user")
}

func TestCLIExportFile(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.mustRun("import", writeTestExport(t))
	dir := t.TempDir()
	out := filepath.Join(dir, "plays.csv")
	require.NoError(t, os.WriteFile(out, []byte("old content"), 0o644))
	_, stderr, err := c.run("export", "--format", "csv", "--out", out)
	require.NoError(t, err)
	require.Contains(t, stderr, "exported ")
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(b), "played_at,track_id,track_name,artists,album,ms_played,source\n"))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file left behind")
	fi, err := os.Stat(out)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "plays are personal data")

	_, _, err = c.run("export", "--out", filepath.Join(dir, "missing", "plays.jsonl"))
	require.Error(t, err)
	require.Equal(t, 1, exitCode(err))
	entries, err = os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1)
}

func TestWriteFileAtomicKeepsOldFileOnFailure(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "plays.jsonl")
	require.NoError(t, os.WriteFile(out, []byte("complete old export\n"), 0o600))
	boom := errors.New("database went away")
	err := writeFileAtomic(out, func(w io.Writer) error {
		_, _ = io.WriteString(w, "half a new")
		return boom
	})
	require.ErrorIs(t, err, boom)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, "complete old export\n", string(b))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1)
}

// downStore is a store whose database does not answer.
type downStore struct{ store.Store }

func (downStore) Ping(context.Context) error {
	return errors.New(`failed to connect to user=spotifyhist host=10.0.0.7 database=prod: password authentication failed`)
}

func TestReadyzHidesDatabaseErrors(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	d := &daemon{e: &env{logger: slog.New(slog.NewTextHandler(&logs, nil))}, store: downStore{}}
	rec := httptest.NewRecorder()
	d.handleReady(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Equal(t, "database unreachable\n", rec.Body.String())
	require.Contains(t, logs.String(), "10.0.0.7", "the reason is logged")
}

// TestServeLocal starts the daemon without Spotify credentials, checks the
// local user's API and the endpoints of the operational contract, and stops
// it as SIGTERM would: the run ends with nil (exit status 0).
func TestServeLocal(t *testing.T) {
	t.Parallel()
	env := map[string]string{"SPOTIFYHIST_DATA_DIR": t.TempDir(), "SPOTIFYHIST_LISTEN": "127.0.0.1:0",
		"SPOTIFYHIST_LOG_LEVEL": "info", "SPOTIFYHIST_DISPLAY_TIMEZONE": "Asia/Kolkata"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"spotifyhist", "serve"}, func(k string) string { return env[k] }, io.Discard, &logs)
	}()
	base := waitServing(t, &logs)
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200, "/api/v1/openapi.json": 200, "/api/v1/nothing": 404} {
		resp, err := http.Get(base + path)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, want, resp.StatusCode, path)
	}
	resp, err := http.Get(base + "/api/v1/me/stats/over-time")
	require.NoError(t, err)
	var ot struct{ TZ string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&ot))
	resp.Body.Close()
	require.Equal(t, "Asia/Kolkata", ot.TZ, "SPOTIFYHIST_DISPLAY_TIMEZONE is the statistics' default zone")

	cancel()
	require.NoError(t, <-done)
	require.Contains(t, logs.String(), "shutting down")
}

// waitServing waits for the daemon's start-up log line and returns its URL.
func waitServing(t *testing.T, logs *syncBuffer) string {
	t.Helper()
	listenRe := regexp.MustCompile(`msg="spotifyhist serving".* listen=(\S+)`)
	var base string
	require.Eventually(t, func() bool {
		if m := listenRe.FindStringSubmatch(logs.String()); m != nil {
			base = "http://" + m[1]
			return true
		}
		return false
	}, 60*time.Second, 20*time.Millisecond, "daemon did not start:\n%s", logs.String())
	return base
}

func TestServeStoppedDuringStartup(t *testing.T) {
	t.Parallel()
	env := map[string]string{"SPOTIFYHIST_DATA_DIR": t.TempDir(), "SPOTIFYHIST_LISTEN": "127.0.0.1:0", "SPOTIFYHIST_LOG_LEVEL": "warn"}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := run(ctx, []string{"spotifyhist", "serve"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	require.NoError(t, err, "a signal during start-up is a clean stop")
}
