package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/store"
)

// The browser tests drive the real server and store in headless Chromium:
// pages load without errors, charts are drawn from the API's data, controls
// work with the keyboard, names from Spotify stay text, and the theme
// switches live. They skip without Chromium (see chromiumPath).

func TestBrowserDashboard(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{Plays: 3000})
	b := newBrowser(t, &browserOpts{TimeZone: "Europe/Berlin"})

	b.navigate(h.base + "/")
	require.Equal(t, h.base+"/me", eval[string](b, `location.href`), "local mode opens the dashboard")
	ready := b.ready()
	t.Logf("dashboard ready after %.0f ms (%d charts, 3000 plays)", ready.MS, ready.Charts)
	require.Zero(t, ready.Errors)
	require.GreaterOrEqual(t, ready.Charts, 2)

	ctx := context.Background()
	tot, err := h.store.Totals(ctx, &store.StatsFilter{UserID: h.userID})
	require.NoError(t, err)

	t.Run("Totals", func(t *testing.T) {
		require.Equal(t, fmt.Sprintf("%d", tot.Plays), strings.ReplaceAll(b.text(`[data-stat="plays"]`), ",", ""))
		require.Equal(t, fmt.Sprintf("%d", tot.UniqueArtists), strings.ReplaceAll(b.text(`[data-stat="unique_artists"]`), ",", ""))
		require.Equal(t, "Local mode", b.text("#status-badge"))
		require.NotEmpty(t, b.text("#years a"), "year links")
	})

	t.Run("Charts", func(t *testing.T) {
		for _, id := range []string{"chart-over-time", "chart-hourly"} {
			data := b.chartData(id)
			require.NotEmpty(t, data, id)
			sum := 0.0
			for _, v := range data {
				sum += v
			}
			require.Positive(t, sum, "%s has plays", id)
		}
		require.Len(t, b.chartData("chart-hourly"), 24)
		require.Equal(t, 7*24, b.count("#heatmap tbody td"))
		require.Positive(t, b.count(`#heatmap td:not(.heat-0)`))
	})

	t.Run("TopLists", func(t *testing.T) {
		for _, kind := range []string{"tracks", "artists", "albums"} {
			require.Equal(t, 10, b.count("#top-"+kind+" li"), kind)
		}
		top, err := h.store.Top(ctx, &store.TopParams{StatsFilter: store.StatsFilter{UserID: h.userID}, Kind: store.TopTracks, By: store.ByCount, Limit: 1})
		require.NoError(t, err)
		b.setSelect("#top-range", "all")
		b.waitJS(`document.querySelector("#top-note").textContent.includes("of all time")`)
		b.waitJS(fmt.Sprintf(`document.querySelector("#top-tracks li .value").textContent === %q`, fmt.Sprintf("%d plays", top[0].Plays)))
		b.click(`label[for="top-by-time"]`)
		b.waitJS(`/\d+ h \d+ min/.test(document.querySelector("#top-tracks li .value").textContent)`)
	})

	t.Run("History", func(t *testing.T) {
		require.Equal(t, 50, b.count("#history-table tbody tr"))
		// Times are shown in the browser's zone: the newest play at end.
		berlin, err := time.LoadLocation("Europe/Berlin")
		require.NoError(t, err)
		first := b.text("#history-table tbody tr:first-child time")
		require.Contains(t, first, h.end.In(berlin).Format("3:04"), "newest play shown in Europe/Berlin")
		require.Equal(t, h.end.UTC().Format("2006-01-02T15:04:05Z"), eval[string](b, `document.querySelector("#history-table tbody tr:first-child time").getAttribute("datetime")`))
		b.click("#history-more")
		b.waitJS(`document.querySelectorAll("#history-table tbody tr").length === 100`)
		cursors := 0
		for _, u := range h.requests("/api/v1/me/history") {
			if u.Query().Get("cursor") != "" {
				cursors++
			}
		}
		require.Equal(t, 1, cursors, "the second page uses the next cursor")
	})

	t.Run("PlayCounts", func(t *testing.T) {
		b.do(scrollTo("#counts-card"))
		b.waitJS(`document.querySelectorAll("#counts-table tbody tr").length === 25`)
		require.Equal(t, "1", b.text("#counts-table tbody tr:first-child td"))
		b.click("#counts-next")
		b.waitJS(`document.querySelector("#counts-table tbody tr:first-child td").textContent === "26"`)
		var offsets []string
		for _, u := range h.requests("/api/v1/me/stats/top") {
			if o := u.Query().Get("offset"); o != "" {
				offsets = append(offsets, o)
			}
		}
		require.Contains(t, offsets, "25")
	})

	t.Run("OverTimeControls", func(t *testing.T) {
		b.click(`label[for="ot-day"]`)
		b.waitJS(`Chart.getChart(document.getElementById("chart-over-time")).config.type === "line"`)
		require.GreaterOrEqual(t, len(b.chartData("chart-over-time")), 365, "a year of days")
		b.setSelect("#ot-range", "all")
		b.click(`label[for="ot-month"]`)
		b.waitJS(`Chart.getChart(document.getElementById("chart-over-time")).config.type === "bar"`)
		b.waitJS(`Chart.getChart(document.getElementById("chart-over-time")).data.datasets[0].data.length >= 24`)
	})

	t.Run("OneDay", func(t *testing.T) {
		berlin, _ := time.LoadLocation("Europe/Berlin")
		day := h.end.In(berlin).Format(time.DateOnly)
		b.click(`label[for="hr-day"]`)
		b.waitJS(`!document.getElementById("hr-date-field").hidden`)
		b.setSelect("#hr-date", day)
		b.waitJS(`document.getElementById("hourly-note").textContent.startsWith("Plays per hour on")`)
		b.waitJS(`Chart.getChart(document.getElementById("chart-hourly")).data.datasets[0].data.some(v => v > 0)`)
		found := false
		for _, u := range h.requests("/hour-weekday") {
			found = found || (u.Query().Get("from") == day && u.Query().Get("to") == day)
		}
		require.True(t, found, "one day asks for from=to=%s", day)
	})

	t.Run("TimeZoneOnEveryStatsCall", func(t *testing.T) {
		stats := h.requests("/stats/")
		require.NotEmpty(t, stats)
		for _, u := range stats {
			require.Equal(t, "Europe/Berlin", u.Query().Get("tz"), "tz of %s", u)
		}
	})

	t.Run("NamesAreText", func(t *testing.T) {
		body := b.text("body")
		require.Contains(t, body, xssTrack)
		require.Contains(t, body, xssArtist)
		require.Zero(t, b.count(`img[src="x"], svg[onload], script:not([src^="/static/"])`), "no markup from names")
		require.True(t, eval[bool](b, `[...document.scripts].every(s => s.src.startsWith(location.origin + "/static/"))`))
	})

	t.Run("YearPage", func(t *testing.T) {
		year := h.end.Year()
		b.navigate(fmt.Sprintf("%s/me/year/%d", h.base, year))
		ready := b.ready()
		require.Zero(t, ready.Errors)
		require.NotEmpty(t, b.chartData("chart-over-time"))
		require.Len(t, b.chartData("chart-over-time"), 12, "twelve months")
		require.NotEqual(t, "–", b.text(`[data-stat="plays"]`))
		require.Equal(t, 10, b.count("#top-tracks li"))
		ys := h.requests("/api/v1/me/stats/top")
		last := ys[len(ys)-1].Query()
		require.Equal(t, fmt.Sprintf("%d-01-01", year), last.Get("from"))
		require.Equal(t, fmt.Sprintf("%d-12-31", year), last.Get("to"))
		b.screenshot("year-light")
	})

	b.noProblems()
}

func TestBrowserScreenshots(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{Plays: 4000})
	for _, dark := range []bool{false, true} {
		name := map[bool]string{false: "light", true: "dark"}[dark]
		t.Run(name, func(t *testing.T) {
			b := newBrowser(t, &browserOpts{Dark: dark})
			b.navigate(h.base + "/me")
			b.ready()
			b.do(scrollTo("#playlists-card"))
			b.waitJS(`document.querySelectorAll("#counts-table tbody tr").length === 25`)
			eval[chromedp.Void](b, `window.scrollTo(0, 0)`)
			require.Equal(t, name, eval[string](b, `document.documentElement.dataset.theme`))
			b.screenshot("dashboard-" + name)
			b.noProblems()
		})
	}
	t.Run("phone", func(t *testing.T) {
		b := newBrowser(t, &browserOpts{Width: 390, Height: 844, Mobile: true, Dark: true})
		b.navigate(h.base + "/me")
		b.ready()
		require.LessOrEqual(t, eval[int](b, `document.documentElement.scrollWidth`), eval[int](b, `window.innerWidth`), "no sideways scrolling on a phone")
		b.screenshot("dashboard-phone")
		b.noProblems()
	})
}

// scrollTo scrolls an element into view (lazy sections load when they
// appear).
func scrollTo(css string) chromedp.Action[chromedp.Void] {
	return chromedp.ScrollIntoView(chromedp.CSS(css))
}
