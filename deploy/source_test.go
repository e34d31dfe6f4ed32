package deploy_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// This file reads facts from the Go source of the module: the settings the
// daemon reads, the routes it serves, its subcommands and the metrics the
// code registers. The deployment files are checked against them.

// root is the module root, relative to this package's directory.
const root = ".."

// source is what the deployment files may refer to.
type source struct {
	// envVars are the SPOTIFYHIST_* variables of cmd/spotifyhist/config.go,
	// including NAME_FILE for secrets.
	envVars map[string]bool
	// routes are the "METHOD /path" patterns registered in serve.go.
	routes map[string]bool
	// commands are the subcommands of the binary.
	commands map[string]bool
	// metrics are the metric names registered anywhere in the module.
	metrics map[string]bool
}

var (
	sourceOnce sync.Once
	sourceVal  *source
	sourceErr  error
)

// loadSource parses the module's Go files once per test binary.
func loadSource(t *testing.T) *source {
	t.Helper()
	sourceOnce.Do(func() { sourceVal, sourceErr = parseSource() })
	require.NoError(t, sourceErr)
	return sourceVal
}

func parseSource() (*source, error) {
	s := &source{envVars: map[string]bool{}, routes: map[string]bool{}, commands: map[string]bool{}, metrics: map[string]bool{}}
	fset := token.NewFileSet()

	config, err := parser.ParseFile(fset, filepath.Join(root, "cmd/spotifyhist/config.go"), nil, 0)
	if err != nil {
		return nil, err
	}
	ast.Inspect(config, func(n ast.Node) bool {
		lit, ok := n.(*ast.CompositeLit)
		if !ok {
			return true
		}
		fields := keyedFields(lit)
		if name, ok := stringLit(fields["env"]); ok && strings.HasPrefix(name, "SPOTIFYHIST_") {
			s.envVars[name] = true
			if id, ok := fields["secret"].(*ast.Ident); ok && id.Name == "true" {
				s.envVars[name+"_FILE"] = true
			}
		}
		return true
	})

	serve, err := parser.ParseFile(fset, filepath.Join(root, "cmd/spotifyhist/serve.go"), nil, 0)
	if err != nil {
		return nil, err
	}
	ast.Inspect(serve, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
			return true
		}
		if pattern, ok := stringLit(call.Args[0]); ok {
			s.routes[pattern] = true
		}
		return true
	})

	cmdFiles, err := filepath.Glob(filepath.Join(root, "cmd/spotifyhist/*.go"))
	if err != nil {
		return nil, err
	}
	for _, path := range cmdFiles {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return nil, err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			if id, ok := lit.Type.(*ast.Ident); !ok || id.Name != "command" {
				return true
			}
			if name, ok := stringLit(keyedFields(lit)["name"]); ok {
				s.commands[name] = true
			}
			return true
		})
	}

	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		for _, name := range metricNames(f) {
			s.metrics[name] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

var (
	metricNameRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
)

// metricNames returns the metric names a file registers:
//   - options structs with Name (and Namespace, Subsystem) string literals,
//     as prometheus.CounterOpts{Name: "spotifyhist_x_total"};
//   - descriptors whose name is a literal, prometheus.NewDesc("spotifyhist_x", …);
//   - descriptors built as a literal prefix plus a variable,
//     prometheus.NewDesc("spotifyhist_pool_"+name, …): the prefix is
//     combined with every name-like literal passed as the first argument of
//     a call in the same file (the helper that supplies the suffix).
func metricNames(f *ast.File) []string {
	var names, prefixes, firstArgs []string
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CompositeLit:
			fields := keyedFields(n)
			name, ok := stringLit(fields["Name"])
			if !ok {
				return true
			}
			ns, _ := stringLit(fields["Namespace"])
			sub, _ := stringLit(fields["Subsystem"])
			full := strings.Join(slices.DeleteFunc([]string{ns, sub, name}, func(s string) bool { return s == "" }), "_")
			if strings.HasPrefix(full, "spotifyhist_") {
				names = append(names, full)
			}
		case *ast.CallExpr:
			if len(n.Args) == 0 {
				return true
			}
			if lit, ok := stringLit(n.Args[0]); ok && metricNameRE.MatchString(lit) {
				firstArgs = append(firstArgs, lit)
			}
			sel, ok := n.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "NewDesc" {
				return true
			}
			if lit, ok := stringLit(n.Args[0]); ok && strings.HasPrefix(lit, "spotifyhist_") {
				names = append(names, lit)
			}
			if bin, ok := n.Args[0].(*ast.BinaryExpr); ok && bin.Op == token.ADD {
				if lit, ok := stringLit(bin.X); ok && strings.HasPrefix(lit, "spotifyhist_") {
					prefixes = append(prefixes, lit)
				}
			}
		}
		return true
	})
	for _, p := range prefixes {
		for _, a := range firstArgs {
			if !strings.HasPrefix(a, "spotifyhist_") {
				names = append(names, p+a)
			}
		}
	}
	return names
}

// keyedFields maps the keys of a keyed composite literal to their values.
func keyedFields(lit *ast.CompositeLit) map[string]ast.Expr {
	m := map[string]ast.Expr{}
	for _, e := range lit.Elts {
		kv, ok := e.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		if id, ok := kv.Key.(*ast.Ident); ok {
			m[id.Name] = kv.Value
		}
	}
	return m
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// externalMetrics are metrics the alerts and the dashboard use that the
// module does not define: client_golang's Go and process collectors
// (registered by serve) and kube-state-metrics (the CronJob's status).
var externalMetrics = map[string]bool{
	"go_goroutines":                             true,
	"go_memstats_heap_alloc_bytes":              true,
	"go_memstats_heap_inuse_bytes":              true,
	"go_memstats_sys_bytes":                     true,
	"go_gc_duration_seconds":                    true,
	"process_resident_memory_bytes":             true,
	"process_cpu_seconds_total":                 true,
	"process_start_time_seconds":                true,
	"process_open_fds":                          true,
	"kube_cronjob_status_last_successful_time":  true,
	"kube_cronjob_created":                      true,
	"kube_job_status_failed":                    true,
	"kube_deployment_status_replicas_available": true,
}

// checkMetric fails unless name is registered by the module (histogram
// series suffixes included) or is a known external metric.
func (s *source) checkMetric(t *testing.T, where, name string) {
	t.Helper()
	if externalMetrics[name] || s.metrics[name] {
		return
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && s.metrics[base] {
			return
		}
	}
	t.Errorf("%s: metric %q is registered nowhere in the Go source and is not a known external metric", where, name)
}

var (
	promqlStringRE   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	promqlMatchersRE = regexp.MustCompile(`\{[^}]*\}`)
	promqlRangeRE    = regexp.MustCompile(`\[[^\]]*\]`)
	promqlGroupingRE = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promqlVarRE      = regexp.MustCompile(`\$\{[^}]*\}|\$\w+`)
	promqlIdentRE    = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
	promqlKeywords   = map[string]bool{
		"and": true, "or": true, "unless": true, "bool": true, "offset": true, "by": true, "without": true,
		"on": true, "ignoring": true, "group_left": true, "group_right": true, "inf": true, "nan": true,
		"Inf": true, "NaN": true, "atan2": true,
	}
)

// promqlMetrics returns the metric names a PromQL expression selects. It
// drops strings, label matchers, ranges and grouping clauses, then keeps
// identifiers that are neither keywords, function calls nor parts of numbers
// and durations.
func promqlMetrics(expr string) []string {
	e := promqlStringRE.ReplaceAllString(expr, `""`)
	e = promqlVarRE.ReplaceAllString(e, "0")
	e = promqlMatchersRE.ReplaceAllString(e, "{}")
	e = promqlRangeRE.ReplaceAllString(e, "[]")
	e = promqlGroupingRE.ReplaceAllString(e, " ")
	var names []string
	for _, loc := range promqlIdentRE.FindAllStringIndex(e, -1) {
		id := e[loc[0]:loc[1]]
		if loc[0] > 0 && strings.ContainsAny(e[loc[0]-1:loc[0]], "0123456789.") {
			continue // 5m, 1e3
		}
		if promqlKeywords[id] {
			continue
		}
		if rest := strings.TrimLeft(e[loc[1]:], " \t\n"); strings.HasPrefix(rest, "(") {
			continue // a function or an aggregation
		}
		names = append(names, id)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func TestPromqlMetrics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		expr string
		want []string
	}{
		{name: "Plain", expr: `spotifyhist_workers_live`, want: []string{"spotifyhist_workers_live"}},
		{name: "Matchers", expr: `rate(a_total{reason=~"rate_limit|x", code!="5.."}[15m]) > 0`, want: []string{"a_total"}},
		{name: "Grouping", expr: `histogram_quantile(0.95, sum by (le, mode) (rate(b_bucket[$__rate_interval])))`, want: []string{"b_bucket"}},
		{name: "Binary", expr: "time() - max by (namespace) (c) > 2 * 86400\nor\nabsent(d) unless on (instance) e offset 5m", want: []string{"c", "d", "e"}},
		{name: "Numbers", expr: `f > 1e3 and g < 0.5`, want: []string{"f", "g"}},
		{name: "Variables", expr: `h{namespace="$namespace", pod=~"${pod}"}`, want: []string{"h"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, promqlMetrics(tt.expr))
		})
	}
}

func TestSourceFacts(t *testing.T) {
	t.Parallel()
	s := loadSource(t)
	// The facts the other tests lean on must have been found at all.
	for _, v := range []string{"SPOTIFYHIST_DATABASE_URL", "SPOTIFYHIST_DATABASE_URL_FILE", "SPOTIFYHIST_SECRET_KEY_FILE", "SPOTIFYHIST_BASE_URL", "SPOTIFYHIST_LISTEN"} {
		require.True(t, s.envVars[v], "config.go should define %s", v)
	}
	require.False(t, s.envVars["SPOTIFYHIST_LISTEN_FILE"], "only secrets have a _FILE variant")
	for _, r := range []string{"GET /healthz", "GET /readyz", "GET /metrics"} {
		require.True(t, s.routes[r], "serve.go should register %s", r)
	}
	for _, c := range []string{"serve", "migrate", "link-artists"} {
		require.True(t, s.commands[c], "cmd/spotifyhist should have the %s command", c)
	}
	for _, m := range []string{"spotifyhist_workers_live", "spotifyhist_api_requests_total"} {
		require.True(t, s.metrics[m], "the module should register %s", m)
	}
}

// readFile reads a file of the module.
func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, path))
	require.NoError(t, err)
	return b
}
