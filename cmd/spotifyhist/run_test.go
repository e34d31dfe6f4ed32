package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/spotifyhist/spotifyhisttest"
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
	err = run(context.Background(), append([]string{"spotifyhist"}, args...), func(k string) string { return c.env[k] }, strings.NewReader(""), &out, &errb)
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
		done <- run(ctx, []string{"spotifyhist", "serve", "--demo"}, func(k string) string { return env[k] }, strings.NewReader(""), io.Discard, &logs)
	}()
	listenRe := regexp.MustCompile(`msg="spotifyhist serving".* listen=(\S+)`)
	var base string
	require.Eventually(t, func() bool {
		if m := listenRe.FindStringSubmatch(logs.String()); m != nil {
			base = "http://" + m[1]
			return true
		}
		return false
	}, 60*time.Second, 50*time.Millisecond, "daemon did not start:\n%s", logs.String())

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
