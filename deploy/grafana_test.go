package deploy_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const dashboardPath = "deploy/grafana/spotifyhist.json"

type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID          int    `json:"id"`
	Type        string `json:"type"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Datasource  struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		Expr       string `json:"expr"`
		RefID      string `json:"refId"`
		Datasource struct {
			UID string `json:"uid"`
		} `json:"datasource"`
	} `json:"targets"`
}

var labelValuesRE = regexp.MustCompile(`^label_values\((.+), *\w+\)$`)

func TestGrafanaDashboard(t *testing.T) {
	t.Parallel()
	s := loadSource(t)
	var d dashboard
	require.NoError(t, json.Unmarshal(readFile(t, dashboardPath), &d))
	require.Equal(t, "spotifyhist", d.UID)
	require.NotEmpty(t, d.Title)
	require.GreaterOrEqual(t, d.SchemaVersion, 36)

	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(map[string]any)["query"].(string)
		m := labelValuesRE.FindStringSubmatch(q)
		require.NotNil(t, m, "variable %s: query %q", v.Name, q)
		for _, name := range promqlMetrics(m[1]) {
			s.checkMetric(t, "variable "+v.Name, name)
		}
	}
	for _, v := range []string{"datasource", "namespace", "instance"} {
		require.True(t, vars[v], "template variable %s", v)
	}

	ids := map[int]bool{}
	used := map[string]bool{}
	cells := map[[2]int]string{}
	for _, p := range d.Panels {
		require.False(t, ids[p.ID], "panel id %d used twice", p.ID)
		ids[p.ID] = true
		require.NotEmpty(t, p.Title, "panel %d", p.ID)
		require.LessOrEqual(t, p.GridPos.X+p.GridPos.W, 24, "panel %q is wider than the dashboard", p.Title)
		for x := p.GridPos.X; x < p.GridPos.X+p.GridPos.W; x++ {
			for y := p.GridPos.Y; y < p.GridPos.Y+p.GridPos.H; y++ {
				other, taken := cells[[2]int{x, y}]
				require.False(t, taken, "panels %q and %q overlap", p.Title, other)
				cells[[2]int{x, y}] = p.Title
			}
		}
		if p.Type == "row" {
			continue
		}
		require.NotEmpty(t, p.Description, "panel %q: description", p.Title)
		require.Equal(t, "${datasource}", p.Datasource.UID, "panel %q: data source", p.Title)
		require.NotEmpty(t, p.Targets, "panel %q: targets", p.Title)
		for _, tg := range p.Targets {
			require.Equal(t, "${datasource}", tg.Datasource.UID, "panel %q: target data source", p.Title)
			require.True(t, strings.Contains(tg.Expr, `namespace=~"$namespace"`), "panel %q: %q ignores $namespace", p.Title, tg.Expr)
			names := promqlMetrics(tg.Expr)
			require.NotEmpty(t, names, "panel %q: %q", p.Title, tg.Expr)
			for _, name := range names {
				s.checkMetric(t, fmt.Sprintf("panel %q", p.Title), name)
				used[strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_count")] = true
			}
		}
	}
	// What an operator looks for first.
	for _, m := range []string{
		"spotifyhist_workers_live", "spotifyhist_worker_heartbeat_timestamp_seconds", "spotifyhist_users_assigned",
		"spotifyhist_plays_ingested_total", "spotifyhist_poll_duration_seconds", "spotifyhist_api_requests_total",
		"spotifyhist_api_request_duration_seconds", "spotifyhist_api_rate_limited_total", "spotifyhist_rate_limited_total",
		"spotifyhist_api_blocked_until_timestamp_seconds", "spotifyhist_users_needing_reauth",
		"spotifyhist_import_entries_total", "spotifyhist_linker_tracks_total", "spotifyhist_http_requests_total",
		"spotifyhist_http_request_duration_seconds", "process_resident_memory_bytes",
	} {
		require.True(t, used[m], "no panel shows %s", m)
	}
}
