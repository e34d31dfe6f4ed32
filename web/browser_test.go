package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/monitor"
	"github.com/spotifyhist/spotifyhist/spotifyhist/spotifyhisttest"
	"github.com/spotifyhist/spotifyhist/store"
	"github.com/spotifyhist/spotifyhist/store/sqlite"
)

// The browser tests drive the real server and store in headless Chromium:
// pages load without errors, charts are drawn from the API's data, controls
// work with the keyboard, names from Spotify stay text, and the theme
// switches live. They skip without Chromium (see chromiumPath).

func TestBrowserDashboard(t *testing.T) {
	t.Parallel()
	const plays = 1200
	h := newHarness(t, harnessOpts{Plays: plays})
	b := newBrowser(t, &browserOpts{TimeZone: "Europe/Berlin"})

	b.navigate(h.base + "/")
	require.Equal(t, h.base+"/me", eval[string](b, `location.href`), "local mode opens the dashboard")
	ready := b.ready()
	t.Logf("dashboard ready after %.0f ms (%d charts, %d plays)", ready.MS, ready.Charts, plays)
	require.Zero(t, ready.Errors)
	require.GreaterOrEqual(t, ready.Charts, 2)

	ctx := context.Background()
	tot, err := h.store.Totals(ctx, &store.StatsFilter{UserID: h.userID})
	require.NoError(t, err)

	t.Run("Totals", func(t *testing.T) {
		b := b.in(t)
		require.Equal(t, fmt.Sprintf("%d", tot.Plays), strings.ReplaceAll(b.text(`[data-stat="plays"]`), ",", ""))
		require.Equal(t, fmt.Sprintf("%d", tot.UniqueArtists), strings.ReplaceAll(b.text(`[data-stat="unique_artists"]`), ",", ""))
		require.Equal(t, "Local mode", b.text("#status-badge"))
		require.NotEmpty(t, b.text("#years a"), "year links")
	})

	t.Run("Charts", func(t *testing.T) {
		b := b.in(t)
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
		b := b.in(t)
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

		// A custom range: the dates go to the API as from/to.
		b.setSelect("#top-range", "custom")
		require.True(t, eval[bool](b, `!document.getElementById("top-custom").hidden`))
		b.setSelect("#top-from", "2025-03-01")
		b.setSelect("#top-to", "2025-03-31")
		b.click("#top-apply")
		b.waitJS(`document.querySelector("#top-note").textContent.includes("from")`)
		b.idle() // the note changes at once, the lists when the answers are in
		var custom url.Values
		for _, u := range h.requests("/api/v1/me/stats/top") {
			if u.Query().Get("from") != "" {
				custom = u.Query()
			}
		}
		require.Equal(t, "2025-03-01", custom.Get("from"))
		require.Equal(t, "2025-03-31", custom.Get("to"))
		require.Equal(t, "time", custom.Get("by"))
		require.Empty(t, custom.Get("range"))
	})

	t.Run("History", func(t *testing.T) {
		b := b.in(t)
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
		b := b.in(t)
		b.reveal("#counts-card")
		require.Equal(t, 25, b.count("#counts-table tbody tr"))
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
		b := b.in(t)
		b.click(`label[for="ot-day"]`)
		b.waitJS(`Chart.getChart(document.getElementById("chart-over-time")).config.type === "line"`)
		require.GreaterOrEqual(t, len(b.chartData("chart-over-time")), 365, "a year of days")
		b.setSelect("#ot-range", "all")
		b.click(`label[for="ot-month"]`)
		b.waitJS(`document.getElementById("chart-over-time").dataset.bucket === "month"`)
		b.waitJS(`Chart.getChart(document.getElementById("chart-over-time")).data.datasets[0].data.length >= 24`)
		require.Equal(t, "bar", eval[string](b, `Chart.getChart(document.getElementById("chart-over-time")).config.type`))
	})

	t.Run("OneDay", func(t *testing.T) {
		b := b.in(t)
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
		b := b.in(t)
		body := b.text("body")
		require.Contains(t, body, xssTrack)
		require.Contains(t, body, xssArtist)
		require.Zero(t, b.count(`img[src="x"], svg[onload], script:not([src^="/static/"])`), "no markup from names")
		require.True(t, eval[bool](b, `[...document.scripts].every(s => s.src.startsWith(location.origin + "/static/"))`))
	})

	t.Run("YearPage", func(t *testing.T) {
		b := b.in(t)
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

		b.navigate(h.base + "/me/year/2001")
		require.Zero(t, b.ready().Errors)
		require.Equal(t, "No plays recorded in 2001.", b.text("#year-note"))
		require.False(t, eval[bool](b, `document.querySelector("#chart-over-time + .empty").hidden`), "an empty chart says so")
	})

	b.noProblems()
}

// TestBrowserScreenshots writes the dashboard as a user sees it, logged in
// with monitoring running, in both themes and on a phone.
func TestBrowserScreenshots(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{Login: true, Plays: 1500})
	ctx := context.Background()
	now := time.Now()
	require.NoError(t, h.store.RegisterWorker(ctx, &store.RegisterWorkerParams{ID: "worker-1", Now: now}))
	_, err := h.store.ClaimUsers(ctx, &store.ClaimUsersParams{WorkerID: "worker-1", Limit: 1, Now: now, TTL: time.Hour})
	require.NoError(t, err)

	shoot := func(t *testing.T, o *browserOpts, name string) {
		b := newBrowser(t, o)
		login(b, h.base)
		require.Equal(t, "Running", b.text("#status-badge"))
		b.reveal("#counts-card") // the lazy tables load
		b.reveal("#playlists-card")
		require.Equal(t, 25, b.count("#counts-table tbody tr"))
		require.NotEmpty(t, b.text("#playlists-status"))
		if !o.Mobile {
			theme := map[bool]string{false: "light", true: "dark"}[o.Dark]
			require.Equal(t, theme, eval[string](b, `document.documentElement.dataset.theme`))
		} else {
			require.LessOrEqual(t, eval[int](b, `document.documentElement.scrollWidth`), eval[int](b, `window.innerWidth`), "no sideways scrolling on a phone")
		}
		b.screenshot(name)
		if !o.Mobile {
			b.click("#settings-button")
			b.viewportShot(name + "-settings")
			b.click(`[data-action="stop"]`)
			b.viewportShot(name + "-confirm")
			b.click("#confirm-cancel")
		}
		b.noProblems()
	}
	for name, o := range map[string]*browserOpts{
		"light": {},
		"dark":  {Dark: true},
		"phone": {Width: 390, Height: 844, Mobile: true, Dark: true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			shoot(t, o, "dashboard-"+name)
		})
	}
}

// login logs in through the fake Spotify's consent redirect and waits for
// the dashboard.
func login(b *browser, base string) {
	b.t.Helper()
	b.navigate(base + "/")
	b.click(`.topbar a[href="/login"]`)
	b.waitJS(`location.pathname === "/me"`)
	require.Zero(b.t, b.ready().Errors)
}

func TestBrowserTheme(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{Plays: 300})
	b := newBrowser(t, nil) // the system colour scheme is light
	b.navigate(h.base + "/me")
	b.ready()

	theme := func() string { return eval[string](b, `document.documentElement.dataset.theme`) }
	title := func() string { return eval[string](b, `document.getElementById("theme-toggle").title`) }
	stored := func() string { return eval[string](b, `localStorage.getItem("theme-preference") || ""`) }
	tickColor := func(id string) string {
		return eval[string](b, fmt.Sprintf(`Chart.getChart(document.getElementById(%q)).options.scales.x.ticks.color`, id))
	}
	barColor := func() string {
		return eval[string](b, `Chart.getChart(document.getElementById("chart-hourly")).data.datasets[0].backgroundColor`)
	}

	require.Equal(t, "light", theme())
	require.Equal(t, "Theme: Auto (light)", title())
	require.Equal(t, "◐", b.text("#theme-toggle .theme-icon"))
	require.Contains(t, eval[string](b, `getComputedStyle(document.body).transitionDuration`), "0.3s")
	lightTicks, lightBars := tickColor("chart-over-time"), barColor()

	b.click("#theme-toggle") // Auto → Light
	require.Equal(t, "Theme: Light", title())
	require.Equal(t, "☀", b.text("#theme-toggle .theme-icon"))
	require.Equal(t, "light", stored())

	b.click("#theme-toggle") // Light → Dark, live
	require.Equal(t, "dark", theme())
	require.Equal(t, "Theme: Dark", title())
	require.Equal(t, "☾", b.text("#theme-toggle .theme-icon"))
	require.Equal(t, "dark", stored())
	darkTicks, darkBars := tickColor("chart-over-time"), barColor()
	require.NotEqual(t, lightTicks, darkTicks, "the chart was recoloured")
	require.NotEqual(t, lightBars, darkBars, "the bars were recoloured")
	require.NotEqual(t, lightTicks, tickColor("chart-hourly"), "every chart was recoloured")
	require.Equal(t, "#121212", eval[string](b, `getComputedStyle(document.documentElement).getPropertyValue("--bg-primary").trim()`), "the dark variables apply")

	// The choice survives a reload, and charts are drawn in it at once.
	b.do(chromedp.Reload())
	b.ready()
	require.Equal(t, "dark", theme())
	require.Equal(t, darkTicks, tickColor("chart-over-time"))

	// Dark → Auto follows the system, live.
	b.click("#theme-toggle")
	require.Equal(t, "auto", stored())
	require.Equal(t, "light", theme())
	require.Equal(t, "Theme: Auto (light)", title())
	require.Equal(t, lightTicks, tickColor("chart-over-time"))
	b.colorScheme(true)
	b.waitJS(`document.documentElement.dataset.theme === "dark"`)
	require.Equal(t, "Theme: Auto (dark)", title())
	require.Equal(t, darkTicks, tickColor("chart-over-time"))

	// The toggle is a button: the keyboard works too.
	b.do(chromedp.Focus(chromedp.ID("theme-toggle")))
	b.key(kb.Enter)
	require.Equal(t, "light", stored())
	require.Equal(t, "light", theme())

	// Other pages share the preference.
	b.navigate(fmt.Sprintf("%s/me/year/%d", h.base, h.end.Year()))
	b.ready()
	require.Equal(t, "light", theme())
	require.Equal(t, lightTicks, tickColor("chart-over-time"))
	b.noProblems()
}

func TestBrowserLoginAndSettings(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{Login: true, Plays: 400})
	ctx := context.Background()
	b := newBrowser(t, nil)

	b.navigate(h.base + "/")
	require.Contains(t, b.text(".topbar"), "Log in with Spotify")
	b.click(`.intro a[href="/login"]`)
	b.waitJS(`location.pathname === "/me"`)
	require.Zero(t, b.ready().Errors)
	require.Equal(t, "Ana Listens", b.text("#page-title"))
	require.Positive(t, len(b.chartData("chart-over-time")))

	expanded := func(b *browser) string {
		return eval[string](b, `document.getElementById("settings-button").getAttribute("aria-expanded")`)
	}
	focused := func(b *browser) string {
		return eval[string](b, `document.activeElement.id || document.activeElement.dataset.action || document.activeElement.tagName`)
	}
	panelOpen := func(b *browser) bool { return !eval[bool](b, `document.getElementById("settings-panel").hidden`) }
	b.waitJS(`document.getElementById("status-badge").textContent === "Starting"`) // enabled, no worker yet
	require.Contains(t, eval[string](b, `document.getElementById("status-badge").className`), "status-starting")
	require.Equal(t, "Mode: History", b.text("#mode-badge"))
	statusClass := func(b *browser) string {
		return eval[string](b, `document.getElementById("status-badge").className`)
	}

	// A worker takes the user on: running.
	now := time.Now()
	require.NoError(t, h.store.RegisterWorker(ctx, &store.RegisterWorkerParams{ID: "worker-1", Now: now}))
	claimed, err := h.store.ClaimUsers(ctx, &store.ClaimUsersParams{WorkerID: "worker-1", Limit: 1, Now: now, TTL: time.Hour})
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	b.do(chromedp.Reload())
	b.ready()
	b.waitJS(`document.getElementById("status-badge").textContent === "Running"`)
	require.Contains(t, statusClass(b), "status-running")

	t.Run("MenuKeyboard", func(t *testing.T) {
		b := b.in(t)
		require.Equal(t, "false", expanded(b))
		b.click("#settings-button")
		require.Equal(t, "true", expanded(b))
		require.True(t, panelOpen(b))
		require.Equal(t, "stop", focused(b), "the first action has the focus (start is hidden while running)")
		b.key(kb.ArrowDown)
		require.Equal(t, "logout", focused(b))
		b.key(kb.ArrowUp)
		require.Equal(t, "stop", focused(b))
		b.key(kb.End)
		require.Equal(t, "delete", focused(b))
		b.key(kb.Escape)
		require.Equal(t, "false", expanded(b))
		require.False(t, panelOpen(b))
		require.Equal(t, "settings-button", focused(b), "Escape returns the focus to the button")

		b.key(kb.ArrowDown) // opens from the button
		require.True(t, panelOpen(b))
		require.Equal(t, "stop", focused(b))
		b.key(kb.End)
		b.key(kb.Tab) // leaving the menu closes it
		require.False(t, panelOpen(b))

		b.click("#settings-button")
		require.True(t, panelOpen(b))
		b.click("#page-title") // a click outside closes it
		require.False(t, panelOpen(b))
		require.Equal(t, "false", expanded(b))
	})

	t.Run("StopNeedsConfirmation", func(t *testing.T) {
		b := b.in(t)
		dialogOpen := func() bool { return eval[bool](b, `document.getElementById("confirm-dialog").open`) }
		b.click("#settings-button")
		b.click(`[data-action="stop"]`)
		require.True(t, dialogOpen())
		require.Equal(t, "confirm-cancel", focused(b), "the safe choice has the focus")
		require.Contains(t, b.text("#confirm-message"), "pause tracking your listening history")
		b.click("#confirm-cancel")
		require.False(t, dialogOpen())
		b.click("#settings-button")
		b.click(`[data-action="stop"]`)
		b.key(kb.Escape)
		require.False(t, dialogOpen())
		u, err := h.store.GetUser(ctx, h.userID)
		require.NoError(t, err)
		require.True(t, u.Enabled, "cancelled twice: still running")

		b.click("#settings-button")
		b.click(`[data-action="stop"]`)
		b.click("#confirm-ok")
		// The worker still holds the lease: stopping.
		b.waitJS(`document.getElementById("status-badge").textContent === "Stopping"`)
		require.Contains(t, statusClass(b), "status-stopping")
		u, err = h.store.GetUser(ctx, h.userID)
		require.NoError(t, err)
		require.False(t, u.Enabled)
		require.Equal(t, "settings-button", focused(b))
		require.Len(t, h.requestsBy("POST", "/api/v1/me/stop"), 1)

		// The worker lets go: not running.
		require.NoError(t, h.store.ReleaseUsers(ctx, &store.ReleaseUsersParams{WorkerID: "worker-1", UserIDs: []string{h.userID}}))
		b.do(chromedp.Reload())
		b.ready()
		b.waitJS(`document.getElementById("status-badge").textContent === "Not running"`)
		require.Contains(t, statusClass(b), "status-stopped")
	})

	t.Run("Start", func(t *testing.T) {
		b := b.in(t)
		b.click("#settings-button")
		require.True(t, eval[bool](b, `document.querySelector('[data-action="stop"]').hidden`))
		b.click(`[data-action="start"]`)
		b.waitJS(`document.getElementById("status-badge").textContent === "Starting"`)
		u, err := h.store.GetUser(ctx, h.userID)
		require.NoError(t, err)
		require.True(t, u.Enabled)
	})

	t.Run("Mode", func(t *testing.T) {
		b := b.in(t)
		b.click("#settings-button")
		b.setSelect("#mode-select", "adaptive")
		b.waitJS(`document.getElementById("mode-badge").textContent === "Mode: Adaptive"`)
		u, err := h.store.GetUser(ctx, h.userID)
		require.NoError(t, err)
		require.Equal(t, store.ModeAdaptive, u.Mode)
		b.key(kb.Escape)
	})

	t.Run("NeedsRelogin", func(t *testing.T) {
		b := b.in(t)
		yes := true
		_, err := h.store.UpdateUser(ctx, &store.UpdateUserParams{ID: h.userID, NeedsReauth: &yes, Now: time.Now()})
		require.NoError(t, err)
		b.do(chromedp.Reload())
		b.ready()
		b.waitJS(`document.getElementById("status-badge").textContent.startsWith("Needs re-login")`)
		require.Contains(t, statusClass(b), "status-needs_reauth")
		b.click("#settings-button")
		require.False(t, eval[bool](b, `document.querySelector('[data-action="relogin"]').hidden`))
		b.key(kb.Escape)
		b.click(`#status-badge a[href="/login"]`) // through Spotify and back
		b.waitJS(`location.pathname === "/me" && document.getElementById("status-badge").textContent === "Starting"`)
		require.Zero(t, b.ready().Errors)
		u, err := h.store.GetUser(ctx, h.userID)
		require.NoError(t, err)
		require.False(t, u.NeedsReauth)
		require.Equal(t, store.ModeAdaptive, u.Mode, "a new login keeps the settings")
	})

	t.Run("Playlists", func(t *testing.T) {
		b := b.in(t)
		pub := true
		owned := spotifyhisttest.Playlist{
			ID: "37i9dQZF1DXcBWIGoYBM5M", Name: `Road <b>trip</b>`, OwnerID: fakeUserID, Public: &pub,
			Rows: []spotifyhisttest.PlaylistRow{
				{Track: &spotifyhisttest.Track{ID: "4uLU6hMCjMI75M1A2tKUQC", Name: "Open Road", DurationMS: 200_000, Album: spotifyhisttest.Album{ID: "1DFixLWuPkv3KT3TnV35m3", Name: "Highways"}, Artists: []spotifyhisttest.Artist{{ID: "0OdUWJ0sBjDrqHygGUXeCF", Name: "Juniper Row"}}}},
				{Track: ptr(spotifyhisttest.LocalTrack("Garage Band", "Home Recordings", "Demo Tape 1", 180))},
				{}, // removed from Spotify
			},
		}
		other := spotifyhisttest.Playlist{ID: "5ABHKGoOzxkaa28ttQV9sE", Name: "Someone else's mix", OwnerID: "someone", Public: &pub,
			Rows: owned.Rows[:1]}
		h.fake.AddPlaylist(owned)
		h.fake.AddPlaylist(other)

		b.reveal("#playlists-card")
		require.True(t, strings.HasPrefix(b.text("#playlists-status"), "No playlists yet"), "status: %q", b.text("#playlists-status"))
		b.click("#playlists-scan")
		b.waitJS(`document.querySelectorAll("#playlists .playlist").length === 1`)
		require.Contains(t, b.text("#playlists"), `Road <b>trip</b>`)
		require.Zero(t, b.count("#playlists b"), "playlist names are text")
		b.click("#playlists .playlist button[aria-controls]")
		b.waitJS(`document.querySelectorAll("#playlists .playlist-tracks tbody tr").length === 3`)
		songs := b.text("#playlists .playlist-tracks")
		for _, want := range []string{"Open Road", "playable", "Demo Tape 1", "local", "Removed from Spotify", "unplayable"} {
			require.Contains(t, songs, want)
		}
		// The local file was played (it is in the seeded history).
		require.NotEqual(t, "never", b.text("#playlists .playlist-tracks tbody tr:nth-child(2) td:last-child"))

		b.do(chromedp.SendKeys(chromedp.ID("playlist-url"), "https://open.spotify.com/playlist/"+other.ID+"?si=abc"))
		b.click(`#playlist-form button[type="submit"]`)
		b.waitJS(`document.querySelectorAll("#playlists .playlist").length === 2`)
		require.Contains(t, b.text("#playlists"), "Someone else's mix")

		b.click(`#playlists .playlist:last-child .actions button:last-child`)
		b.click("#confirm-ok")
		b.waitJS(`document.querySelectorAll("#playlists .playlist").length === 1`)
		ps, err := h.store.ListUserPlaylists(ctx, h.userID)
		require.NoError(t, err)
		require.Len(t, ps, 1)
	})

	t.Run("LogOutAndIn", func(t *testing.T) {
		b := b.in(t)
		b.click("#settings-button")
		b.click(`[data-action="logout"]`)
		b.waitJS(`location.pathname === "/" && document.querySelector('.topbar a[href="/login"]') !== null`)
		b.navigate(h.base + "/me")
		require.Equal(t, "/", eval[string](b, `location.pathname`), "logged out: the dashboard sends you home")
		b.click(`.topbar a[href="/login"]`)
		b.waitJS(`location.pathname === "/me"`)
		b.ready()
	})

	t.Run("Delete", func(t *testing.T) {
		b := b.in(t)
		b.click("#settings-button")
		b.click(`[data-action="delete"]`)
		require.Contains(t, b.text("#confirm-title"), "Delete your account")
		b.click("#confirm-ok")
		b.waitJS(`location.pathname === "/" && document.querySelector('.topbar a[href="/login"]') !== null`)
		_, err := h.store.GetUser(ctx, h.userID)
		require.ErrorIs(t, err, store.ErrNotFound)
		tot, err := h.store.Totals(ctx, &store.StatsFilter{})
		require.NoError(t, err)
		require.Zero(t, tot.Plays, "every play went with the user")
	})

	b.noProblems()
}

func TestBrowserLoginDenied(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{Login: true})
	h.fake.DenyAuthorization(true)
	b := newBrowser(t, nil)
	b.navigate(h.base + "/")
	b.ready()
	b.click(`.topbar a[href="/login"]`)
	b.waitJS(`location.pathname === "/auth/callback" && document.querySelector("h1") !== null`)
	b.ready()
	require.Equal(t, "Login failed", b.text("h1"))
	require.Contains(t, b.text(".message"), "declined")
	b.click("#theme-toggle") // the theme works on every page
	require.Equal(t, "light", eval[string](b, `localStorage.getItem("theme-preference")`))
	b.noProblems("status of 403") // the error page's own status
}

func TestBrowserPublicPage(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{true, false} {
		t.Run(map[bool]string{true: "On", false: "Off"}[on], func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, harnessOpts{Login: true, PublicStats: on, Plays: 400})
			b := newBrowser(t, nil)
			b.navigate(h.base + "/")
			r := b.ready()
			require.Zero(t, r.Errors)
			if !on {
				require.True(t, eval[bool](b, `!document.getElementById("public-off").hidden`))
				require.Contains(t, b.text("#public-off"), "switched off")
				require.Empty(t, h.requests("/api/v1/stats/"), "nothing asked of switched-off statistics")
				b.noProblems()
				return
			}
			tot, err := h.store.Totals(context.Background(), &store.StatsFilter{})
			require.NoError(t, err)
			require.Equal(t, fmt.Sprintf("%d", tot.Plays), strings.ReplaceAll(b.text(`[data-stat="plays"]`), ",", ""))
			require.Equal(t, fmt.Sprintf("%d", tot.UniqueTracks), strings.ReplaceAll(b.text(`[data-stat="unique_tracks"]`), ",", ""))
			require.GreaterOrEqual(t, len(b.chartData("chart-over-time")), 28, "a month by day")
			require.Len(t, b.chartData("chart-hourly"), 24)

			last := func(part string) url.Values {
				rs := h.requests(part)
				require.NotEmpty(t, rs)
				return rs[len(rs)-1].Query()
			}
			require.Equal(t, "day", last("/api/v1/stats/over-time").Get("bucket"))
			b.click(`label[for="ot-year"]`)
			b.waitJS(`document.getElementById("chart-over-time").dataset.bucket === "week"`)
			require.GreaterOrEqual(t, len(b.chartData("chart-over-time")), 52)
			require.Equal(t, "week", last("/api/v1/stats/over-time").Get("bucket"))
			require.Equal(t, "1y", last("/api/v1/stats/over-time").Get("range"))
			b.click(`label[for="ot-all"]`)
			b.waitJS(`document.getElementById("chart-over-time").dataset.bucket === "month"`)
			require.GreaterOrEqual(t, len(b.chartData("chart-over-time")), 24, "two years by month")
			require.Equal(t, "month", last("/api/v1/stats/over-time").Get("bucket"))
			b.click(`label[for="hr-all"]`)
			b.waitJS(`document.getElementById("hourly-note").dataset.range === "all"`)
			require.Equal(t, "all", last("/api/v1/stats/hour-weekday").Get("range"))
			for _, u := range h.requests("/api/v1/stats/") {
				require.Equal(t, "Europe/Berlin", u.Query().Get("tz"))
			}
			b.screenshot("public-light")
			b.noProblems()
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestBrowserImport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlite.New(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "spotifyhist.db"), Logger: quietLogger()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	// Batches of 4 entries; the second one waits for the test, so the
	// import is seen running, across a reload.
	gate := newGatedStore(st, 1)
	importer, err := monitor.NewImporter(monitor.ImporterConfig{Store: gate, BatchSize: 4, Logger: quietLogger()})
	require.NoError(t, err)
	h := newHarnessWithStore(t, st, harnessOpts{Importer: importer})
	b := newBrowser(t, nil)
	b.navigate(h.base + "/me")
	b.ready()
	require.Equal(t, "0", b.text(`[data-stat="plays"]`))

	at := func(y int, m time.Month, d, hh int) time.Time { return time.Date(y, m, d, hh, 30, 0, 0, time.UTC) }
	const trk = "spotify:track:"
	rows := []map[string]any{
		exportRow(at(2023, 3, 1, 8), "Open Road", "Juniper Row", "Highways", trk+"4uLU6hMCjMI75M1A2tKUQC", 200_000, false),
		exportRow(at(2023, 3, 1, 9), xssTrack, xssArtist, xssAlbum, trk+"1a2B3c4D5e6F7g8H9i0JkL", 180_000, false),
		exportRow(at(2023, 7, 9, 20), "Slow Signals", "Echo Atlas", "Signals", trk+"2b3C4d5E6f7G8h9I0j1KlM", 240_000, false),
		exportRow(at(2023, 12, 24, 18), "Open Road", "Juniper Row", "Highways", trk+"4uLU6hMCjMI75M1A2tKUQC", 199_000, false),
		exportRow(at(2024, 1, 2, 7), "Golden Hour", "Aurora Vale", "Golden", trk+"3c4D5e6F7g8H9i0J1k2LmN", 210_000, false),
		exportRow(at(2024, 2, 14, 21), "Paper Moons", "Mira Solenne", "Moons", trk+"4d5E6f7G8h9I0j1K2l3MnO", 190_000, false),
		exportRow(at(2024, 5, 5, 12), "Quiet Tides", "Blue Meridian", "Tides", trk+"5e6F7g8H9i0J1k2L3m4NoP", 230_000, false),
		exportRow(at(2024, 8, 30, 23), "Neon Streets", "Cobalt Youth", "Streets", trk+"6f7G8h9I0j1K2l3M4n5OpQ", 205_000, false),
		exportRow(at(2024, 11, 11, 11), "Open Road", "Juniper Row", "Highways", trk+"4uLU6hMCjMI75M1A2tKUQC", 201_000, false),
		exportRow(at(2024, 6, 1, 10), "Burning Letters", "Hana Sato", "Letters", trk+"7g8H9i0J1k2L3m4N5o6PqR", 9_000, false),
		exportRow(at(2024, 6, 2, 10), "Hidden Rivers", "Ilse Varga", "Rivers", trk+"8h9I0j1K2l3M4n5O6p7QrS", 220_000, true),
		exportRow(at(2024, 6, 3, 10), "Episode 12: Tapes", "The Listening Hour", "", "spotify:episode:9i0J1k2L3m4N5o6P7q8RsT", 1_800_000, false),
	}
	name := "my_spotify_data <img src=x onerror=alert(3)>.zip"
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, exportZip(t, rows), 0o600))

	b.do(chromedp.SetUploadFiles(chromedp.ID("import-file"), []string{path}))
	b.click("#import-submit")
	b.waitJS(`document.querySelector('.import-job[data-state="analysed"]') !== null`)
	uploads := h.requestsBy("POST", "/api/v1/me/imports")
	require.Len(t, uploads, 1)
	require.Equal(t, name, uploads[0].Query().Get("name"), "the file goes as the raw body with ?name=")
	require.Contains(t, b.text(".import-job h3"), name)
	require.Zero(t, b.count(".import-job b, .import-job img"), "names from the upload are text")

	counters := eval[map[string]string](b, `Object.fromEntries([...document.querySelectorAll(".import-job .counters div")].map(d => [d.querySelector("dt").textContent, d.querySelector("dd").textContent]))`)
	require.Equal(t, map[string]string{
		"Entries in the file": "12", "To import": "9",
		"Shorter than 30 s": "1", "Private session": "1", "Podcast episodes": "1",
		"2023": "4", "2024": "5",
	}, counters)

	b.click(".import-job .job-actions .button.primary")
	select {
	case <-gate.Held:
	case <-time.After(stepTimeout):
		t.Fatal("the import never wrote its second batch")
	}
	b.waitJS(`document.querySelector('.import-job[data-state="running"] progress') !== null`)

	// The progress survives a reload: the page finds the running import.
	b.do(chromedp.Reload())
	b.ready()
	b.waitJS(`document.querySelector('.import-job[data-state="running"] progress') !== null`)
	progress := eval[[]float64](b, `(p => [p.value, p.max])(document.querySelector(".import-job progress"))`)
	require.Equal(t, []float64{4, 12}, progress, "one batch of 4 of 12 entries done")
	require.Contains(t, b.text(".import-job"), "4 of 12 entries")

	close(gate.Release)
	b.waitJS(`document.querySelector('.import-job[data-state="done"]') !== null`)
	require.Contains(t, b.text(".import-job"), "9 plays added")
	// The figures refresh by themselves.
	b.waitJS(`document.querySelector('[data-stat="plays"]').textContent === "9"`)
	b.waitJS(`document.querySelectorAll("#history-table tbody tr").length === 9`)
	require.Contains(t, b.text("#history-table"), xssTrack)
	b.screenshot("import-done")
	b.noProblems()
}

// BenchmarkDashboardLoad measures how long /me takes until every chart and
// list above the fold is drawn, as the page itself reports it
// (window.__dashboardReady: performance.now() after the last chart, i.e.
// milliseconds since the navigation started), with a large history in
// SQLite. The history has 1,000,000 plays unless
// SPOTIFYHIST_TEST_DASHBOARD_PLAYS says otherwise; seeding it takes a while
// and happens once per run.
//
//	go test ./web -run '^$' -bench DashboardLoad -benchtime 5x
func BenchmarkDashboardLoad(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("SPOTIFYHIST_TEST_DASHBOARD_PLAYS"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(b, err, "SPOTIFYHIST_TEST_DASHBOARD_PLAYS")
	}
	br := newBrowser(b, nil) // first: without Chromium there is nothing to seed for
	seeded := time.Now()
	h := newHarness(b, harnessOpts{Plays: n})
	b.Logf("seeded %d plays in %s", n, time.Since(seeded).Round(time.Millisecond))
	br.navigate(h.base + "/me") // warm the browser's cache of the static files
	require.Zero(b, br.ready().Errors)

	var ready, api float64
	for b.Loop() {
		br.navigate(h.base + "/me")
		require.Zero(b, br.ready().Errors)
		r := eval[readyInfo](br, `window.__dashboardReady`)
		ready += r.MS
		api += eval[float64](br, `Math.max(...performance.getEntriesByType("resource").filter(e => e.name.includes("/api/")).map(e => e.duration))`)
	}
	b.Logf("API calls of the last load: %s", eval[string](br, `performance.getEntriesByType("resource").filter(e => e.name.includes("/api/")).sort((a, b) => b.duration - a.duration).map(e => Math.round(e.duration) + " ms " + new URL(e.name).pathname + new URL(e.name).search.replace(/&?tz=[^&]*/, "")).join("; ")`))
	b.ReportMetric(ready/float64(b.N), "ms-to-charts")
	b.ReportMetric(api/float64(b.N), "ms-slowest-api")
	b.Logf("%d plays: all charts of /me drawn %.0f ms after navigation start (slowest API call %.0f ms)", n, ready/float64(b.N), api/float64(b.N))
}

// TestPagesKeepToTheContentSecurityPolicy checks, without a browser, what
// the strict policy needs: no inline script, style or event handler in any
// page, every asset from /static/ with its version, assets cached for good
// under that version.
func TestPagesKeepToTheContentSecurityPolicy(t *testing.T) {
	t.Parallel()
	local := newHarness(t, harnessOpts{Plays: 50})
	login := newHarness(t, harnessOpts{Login: true, PublicStats: true})
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	client := &http.Client{Jar: jar}
	get := func(u string) (*http.Response, string) {
		resp, err := client.Get(u)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(body)
	}
	inlineScript := regexp.MustCompile(`<script(\s[^>]*)?>`)
	handler := regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
	assets := regexp.MustCompile(`(?:src|href)="(/static/[^"]+)"`)
	for _, u := range []string{
		local.base + "/me",
		local.base + "/me/year/2025",
		login.base + "/",
		login.base + "/auth/callback?state=nope&code=x", // the error page
	} {
		resp, body := get(u)
		require.Contains(t, resp.Header.Get("Content-Security-Policy"), "script-src 'self'", u)
		for _, m := range inlineScript.FindAllStringSubmatch(body, -1) {
			require.Contains(t, m[1], `src="/static/`, "%s: inline script %s", u, m[0])
		}
		require.NotContains(t, body, "<style", u)
		require.NotContains(t, body, " style=", u)
		require.False(t, handler.MatchString(body), "%s has an inline event handler", u)
		found := assets.FindAllStringSubmatch(body, -1)
		require.NotEmpty(t, found, u)
		for _, m := range found {
			a, err := url.Parse(strings.ReplaceAll(m[1], "&amp;", "&"))
			require.NoError(t, err)
			require.NotEmpty(t, a.Query().Get("v"), "%s links %s without its version", u, m[1])
			resp, _ := get(local.base + a.String())
			require.Equal(t, http.StatusOK, resp.StatusCode, a.String())
			require.Equal(t, "public, max-age=31536000, immutable", resp.Header.Get("Cache-Control"), a.String())
			if strings.HasSuffix(a.Path, ".js") {
				require.Contains(t, resp.Header.Get("Content-Type"), "javascript", a.String())
			}
		}
	}
	resp, _ := get(local.base + "/static/main.css?v=old")
	require.Equal(t, "public, max-age=3600", resp.Header.Get("Cache-Control"), "an unknown version is not cached for good")
}
