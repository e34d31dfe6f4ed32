package deploy_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite deploy/prometheus/rules.yml from the PrometheusRule")

const (
	prometheusRulePath = basePath + "/prometheusrule.yaml"
	rulesPath          = "deploy/prometheus/rules.yml"
	runbookPath        = "deploy/README.md"
	runbookURLPrefix   = "https://github.com/spotifyhist/spotifyhist/blob/main/deploy/README.md#"
)

const rulesHeader = `# spotifyhist alerts as a Prometheus rule file (rule_files: in prometheus.yml).
# Generated from deploy/kubernetes/base/prometheusrule.yaml by
# ` + "`go test ./deploy -update`" + `: edit that file, not this one.
# Check: promtool check rules rules.yml
#        promtool test rules rules_test.yml rules_days_test.yml
`

// ruleSpec returns the spec of the PrometheusRule as a YAML node, in the
// file's order and style.
func ruleSpec(t *testing.T) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(readFile(t, prometheusRulePath), &doc))
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "spec" {
			return m.Content[i+1]
		}
	}
	t.Fatal("the PrometheusRule has no spec")
	return nil
}

// The plain rule file is the PrometheusRule's spec.
func TestRulesFileMatchesPrometheusRule(t *testing.T) {
	spec := ruleSpec(t)
	if *update {
		var buf bytes.Buffer
		buf.WriteString(rulesHeader)
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		require.NoError(t, enc.Encode(spec))
		require.NoError(t, enc.Close())
		require.NoError(t, os.WriteFile(filepath.Join(root, rulesPath), buf.Bytes(), 0o644))
	}
	var want, got any
	require.NoError(t, spec.Decode(&want))
	require.NoError(t, yaml.Unmarshal(readFile(t, rulesPath), &got))
	require.Equal(t, want, got, "%s differs from the PrometheusRule: run go test ./deploy -update", rulesPath)
}

// alertRule is one alerting rule.
type alertRule struct {
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type ruleGroup struct {
	Name  string      `yaml:"name"`
	Rules []alertRule `yaml:"rules"`
}

func ruleGroups(t *testing.T) []ruleGroup {
	t.Helper()
	var f struct {
		Groups []ruleGroup `yaml:"groups"`
	}
	require.NoError(t, ruleSpec(t).Decode(&f))
	require.NotEmpty(t, f.Groups)
	return f.Groups
}

var headingRE = regexp.MustCompile(`(?m)^#{1,6} +(.+?) *$`)

// githubAnchor is the anchor GitHub gives a Markdown heading.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestAlertRules(t *testing.T) {
	t.Parallel()
	s := loadSource(t)
	anchors := map[string]bool{}
	for _, m := range headingRE.FindAllStringSubmatch(string(readFile(t, runbookPath)), -1) {
		anchors[githubAnchor(m[1])] = true
	}
	seen := map[string]bool{}
	for _, g := range ruleGroups(t) {
		require.True(t, strings.HasPrefix(g.Name, "spotifyhist."), "group %s", g.Name)
		for _, r := range g.Rules {
			require.NotEmpty(t, r.Alert, "group %s: only alerting rules", g.Name)
			require.False(t, seen[r.Alert], "alert %s defined twice", r.Alert)
			seen[r.Alert] = true
			require.True(t, strings.HasPrefix(r.Alert, "Spotifyhist"), r.Alert)
			require.Contains(t, []string{"critical", "warning", "info"}, r.Labels["severity"], "%s: severity", r.Alert)
			require.NotEmpty(t, r.Annotations["summary"], "%s: summary", r.Alert)
			require.NotEmpty(t, r.Annotations["description"], "%s: description", r.Alert)
			anchor, ok := strings.CutPrefix(r.Annotations["runbook_url"], runbookURLPrefix)
			require.True(t, ok, "%s: runbook_url should point into %s", r.Alert, runbookPath)
			require.Equal(t, strings.ToLower(r.Alert), anchor, "%s: runbook anchor", r.Alert)
			require.True(t, anchors[anchor], "%s: %s has no section %q", r.Alert, runbookPath, r.Alert)

			metrics := promqlMetrics(r.Expr)
			require.NotEmpty(t, metrics, "%s: no metric in %q", r.Alert, r.Expr)
			for _, m := range metrics {
				s.checkMetric(t, "alert "+r.Alert, m)
			}
		}
	}
	// The alerts operators were promised.
	for _, a := range []string{
		"SpotifyhistNoLiveWorkers", "SpotifyhistWorkerHeartbeatStale", "SpotifyhistUsersNeedReauth",
		"SpotifyhistPollsRateLimited", "SpotifyhistSpotifyRateLimiting", "SpotifyhistImportsFailing",
		"SpotifyhistLinkArtistsJobNotSucceeding",
	} {
		require.True(t, seen[a], "missing alert %s", a)
	}
}

// promtool returns the path of promtool, or skips the test when it is
// missing and not required.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("SPOTIFYHIST_TEST_REQUIRE_PROMTOOL") == "1" {
			t.Fatal("promtool not found and SPOTIFYHIST_TEST_REQUIRE_PROMTOOL=1 (Debian: apt-get install prometheus)")
		}
		t.Skip("Skipping: promtool not found (Debian: apt-get install prometheus; SPOTIFYHIST_TEST_REQUIRE_PROMTOOL=1 requires it)")
	}
	return p
}

func runPromtool(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), promtool(t), args...)
	cmd.Dir = filepath.Join(root, "deploy/prometheus")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	require.NoError(t, err)
	t.Logf("promtool %s:\n%s", strings.Join(args, " "), out)
}

func TestPromtoolCheckRules(t *testing.T) {
	t.Parallel()
	runPromtool(t, "check", "rules", filepath.Base(rulesPath))
}

// rules_test.yml and rules_days_test.yml: the alerts fire (and stay quiet)
// on synthetic series.
func TestPromtoolRuleUnitTests(t *testing.T) {
	t.Parallel()
	runPromtool(t, "test", "rules", "rules_test.yml", "rules_days_test.yml")
}
