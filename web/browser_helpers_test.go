package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/monitor"
	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/spotifyhist/spotifyhisttest"
	"github.com/spotifyhist/spotifyhist/store"
	"github.com/spotifyhist/spotifyhist/store/sqlite"
	"github.com/spotifyhist/spotifyhist/web"
)

// Names that would run script if a page ever inserted them as markup.
const (
	xssTrack  = `<img src=x onerror=alert(1)>`
	xssArtist = `"><script>alert(1)</script>`
	xssAlbum  = `<svg onload=alert(2)> & "quotes"`
)

// ---------- Server harness ----------

type harnessOpts struct {
	// Login runs the server with Spotify credentials against the fake
	// Spotify; otherwise it runs in local mode (no login).
	Login bool
	// PublicStats switches the public statistics on.
	PublicStats bool
	// Plays seeds that many plays for UserID (LocalUserIDDefault in local
	// mode, the fake's user in login mode).
	Plays int
	// Importer enables uploads.
	Importer *monitor.Importer
}

// harness is a real web.Server over a real SQLite store, served by
// httptest, with a log of the API requests the browser made.
type harness struct {
	t      testing.TB
	store  *sqlite.Store
	server *web.Server
	ts     *httptest.Server
	base   string
	userID string
	fake   *spotifyhisttest.Server
	end    time.Time // the newest seeded play

	mu      sync.Mutex
	reqs    []*url.URL
	methods []string
}

const fakeUserID = "ana.listens"

func newHarness(tb testing.TB, o harnessOpts) *harness {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlite.New(ctx, sqlite.Config{Path: filepath.Join(tb.TempDir(), "spotifyhist.db"), Logger: quietLogger()})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = st.Close() })
	return newHarnessWithStore(tb, st, o)
}

func newHarnessWithStore(tb testing.TB, st *sqlite.Store, o harnessOpts) *harness {
	tb.Helper()
	h := &harness{t: tb, store: st, userID: web.LocalUserIDDefault}
	h.ts = httptest.NewUnstartedServer(nil)
	h.base = "http://" + h.ts.Listener.Addr().String()

	sealer, err := spotifyhist.NewSealer(bytes.Repeat([]byte{0x5a}, 32))
	require.NoError(tb, err)
	cfg := web.Config{
		Store:       st,
		Sealer:      sealer,
		BaseURL:     h.base,
		PublicStats: o.PublicStats,
		Importer:    o.Importer,
		UploadDir:   tb.TempDir(),
		Logger:      quietLogger(),
	}
	if o.Login {
		h.fake = spotifyhisttest.NewServer(tb, nil)
		h.fake.AddUser(spotifyhisttest.User{ID: fakeUserID, DisplayName: "Ana Listens"})
		h.fake.AuthorizeUser(fakeUserID)
		app, err := spotifyhist.New(spotifyhist.Config{
			ClientID:     h.fake.ClientID(),
			ClientSecret: h.fake.ClientSecret(),
			APIURL:       h.fake.APIURL(),
			AccountsURL:  h.fake.AccountsURL(),
			RedirectURL:  h.base + "/auth/callback",
			Logger:       quietLogger(),
		})
		require.NoError(tb, err)
		cfg.App = app
		cfg.Clients = monitor.NewClients(app, sealer, st, nil)
		h.userID = fakeUserID
	}
	srv, err := web.New(cfg)
	require.NoError(tb, err)
	h.server = srv
	h.ts.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			h.mu.Lock()
			h.reqs = append(h.reqs, r.URL)
			h.methods = append(h.methods, r.Method)
			h.mu.Unlock()
		}
		srv.ServeHTTP(w, r)
	})
	h.ts.Start()
	tb.Cleanup(func() {
		h.ts.Close()
		_ = srv.Close()
	})

	if o.Plays > 0 {
		name := "Local user"
		if o.Login {
			name = "Ana Listens"
		}
		_, err := st.UpsertUser(context.Background(), &store.UpsertUserParams{ID: h.userID, DisplayName: name, Now: time.Now()})
		require.NoError(tb, err)
		h.end = time.Now().Add(-10 * time.Minute).Truncate(time.Second)
		seedPlays(tb, st, h.userID, o.Plays, h.end)
	}
	return h
}

// requests returns the API requests seen so far whose path contains part.
func (h *harness) requests(part string) []*url.URL { return h.requestsBy("", part) }

// requestsBy returns the API requests with that method ("" for any) whose
// path contains part.
func (h *harness) requestsBy(method, part string) []*url.URL {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*url.URL
	for i, u := range h.reqs {
		if strings.Contains(u.Path, part) && (method == "" || h.methods[i] == method) {
			out = append(out, u)
		}
	}
	return out
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// ---------- Seed data ----------

var seedArtists = []string{
	"Aurora Vale", "The Paper Lanterns", "Kenji Mori", "Lúcia Alves", "Midnight Static",
	"Oskar Lind", "Nadia Rahman", "Velvet Harbor", "Tomás Ferreira", "Juniper Row",
	"Echo Atlas", "Mira Solenne", "Blue Meridian", "Hana Sato", "Cobalt Youth",
	"Felix Brandt", "Saffron Skies", "Ilse Varga", "The Quiet Engines", "Rosa Delgado",
	"Northern Relay", "Amara Obi", "Glasshouse Choir", "Beyoncé Cover Band",
}

var (
	seedWordsA = []string{"Golden", "Paper", "Silver", "Quiet", "Electric", "Falling", "Neon", "Hidden", "Endless", "Wild", "Slow", "Broken", "Velvet", "Distant", "Summer", "Midnight", "Lonely", "Crystal", "Burning", "Little"}
	seedWordsB = []string{"Hour", "Moons", "Rivers", "Lights", "Hearts", "Nights", "Streets", "Horizons", "Tides", "Echoes", "Signals", "Gardens", "Roads", "Skies", "Letters", "Waves", "Stations", "Dreams", "Fires", "Shadows"}
	// Weights of the hours of the day (local time of the listener).
	seedHours = []float64{1.2, 0.6, 0.3, 0.2, 0.15, 0.25, 0.9, 2.6, 4.2, 3.6, 2.8, 2.9, 3.8, 3.1, 2.9, 3.0, 3.6, 4.6, 5.4, 6.0, 6.6, 6.1, 4.4, 2.3}
)

// seedCatalog builds a catalogue of about 300 tracks by seedArtists, plus
// local files and tracks whose names are markup, with popularity weights.
func seedCatalog(r *rand.Rand) (tracks []store.Track, cumulative []float64) {
	id := func() string {
		const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		b := make([]byte, 22)
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
	artists := make([]store.Artist, len(seedArtists))
	for i, name := range seedArtists {
		artists[i] = store.Artist{ID: id(), Name: name}
	}
	for ai, a := range artists {
		for al := range 2 + r.IntN(2) {
			album := store.Album{ID: id(), Name: seedWordsA[(ai*3+al*7)%len(seedWordsA)] + " " + seedWordsB[(ai*5+al*3)%len(seedWordsB)]}
			for range 4 + r.IntN(6) {
				t := store.Track{
					ID:         id(),
					Name:       seedWordsA[r.IntN(len(seedWordsA))] + " " + seedWordsB[r.IntN(len(seedWordsB))],
					DurationMS: 150_000 + r.IntN(170_000),
					Linked:     true,
					Album:      album,
					Artists:    []store.Artist{a},
				}
				if r.IntN(8) == 0 { // a collaboration
					t.Artists = append(t.Artists, artists[r.IntN(len(artists))])
					if t.Artists[1].ID == a.ID {
						t.Artists = t.Artists[:1]
					}
				}
				tracks = append(tracks, t)
			}
		}
	}
	r.Shuffle(len(tracks), func(i, j int) { tracks[i], tracks[j] = tracks[j], tracks[i] })

	// Markup in names: near the top of the charts so that every list shows it.
	xa := store.Artist{ID: id(), Name: xssArtist}
	xss := store.Track{ID: id(), Name: xssTrack, DurationMS: 201_000, Linked: true, Album: store.Album{ID: id(), Name: xssAlbum}, Artists: []store.Artist{xa}}
	tracks = slices.Insert(tracks, 2, xss)

	// Local files.
	for i, name := range []string{"Demo Tape 1", "Rehearsal (live)", "Voice Memo 12", "Bootleg Session"} {
		uri := fmt.Sprintf("spotify:local:Garage+Band:Home+Recordings:%s:%d", url.QueryEscape(name), 180+i*20)
		tracks = slices.Insert(tracks, 5+i*9, store.Track{
			ID: spotifyhist.LocalTrackID(uri), Name: name, DurationMS: (180 + i*20) * 1000, IsLocal: true, Linked: true,
			Album:   store.Album{ID: store.ProvisionalID("album", "Home Recordings"), Name: "Home Recordings"},
			Artists: []store.Artist{{ID: store.ProvisionalID("artist", "Garage Band"), Name: "Garage Band"}},
		})
	}

	cumulative = make([]float64, len(tracks))
	sum := 0.0
	for i := range tracks {
		sum += 1 / math.Pow(float64(i)+4, 0.85)
		cumulative[i] = sum
	}
	return tracks, cumulative
}

// seedPlays inserts about n plays for userID over the two years before end,
// in listening sessions shaped like a person's day (evenings, commutes,
// more at weekends, growing over time), deterministically. The newest play
// is the markup-named track, at end.
func seedPlays(tb testing.TB, st store.Store, userID string, n int, end time.Time) {
	tb.Helper()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(42, uint64(n)))
	tracks, cumulative := seedCatalog(r)
	pick := func() store.Track {
		x := r.Float64() * cumulative[len(cumulative)-1]
		i, _ := slices.BinarySearch(cumulative, x)
		return tracks[min(i, len(tracks)-1)]
	}
	hourTotal := 0.0
	for _, w := range seedHours {
		hourTotal += w
	}
	pickHour := func() int {
		x := r.Float64() * hourTotal
		for h, w := range seedHours {
			if x < w {
				return h
			}
			x -= w
		}
		return 20
	}

	// How much each day is listened to: growing over two years, more at
	// weekends, noisy, some days silent. Day d gets its share of n.
	const days = 730
	start := end.AddDate(0, 0, -days)
	weights := make([]float64, days)
	total := 0.0
	for d := range weights {
		w := (0.7 + 0.6*float64(d)/days) * (0.4 + 1.2*r.Float64())
		if wd := start.AddDate(0, 0, d).Weekday(); wd == time.Saturday || wd == time.Sunday {
			w *= 1.35
		}
		if r.IntN(12) == 0 {
			w = 0
		}
		weights[d] = w
		total += w
	}
	batch := make([]store.PlayInput, 0, 5000)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		_, err := st.InsertPlays(ctx, &store.InsertPlaysParams{UserID: userID, Plays: batch})
		require.NoError(tb, err)
		batch = batch[:0]
	}
	emitted := 0
	share := 0.0
	for d := 0; d < days && emitted < n-1; d++ {
		day := start.AddDate(0, 0, d)
		share += float64(n-1) * weights[d] / total
		want := int(math.Round(share)) - emitted
		// Sessions of 3 to 14 tracks (the last one shorter) that start at
		// the hours people listen.
		type session struct {
			at time.Time
			n  int
		}
		var sessions []session
		for left := want; left > 0; {
			n := min(left, 3+r.IntN(12))
			left -= n
			at := time.Date(day.Year(), day.Month(), day.Day(), pickHour(), r.IntN(60), r.IntN(60), 0, time.UTC)
			sessions = append(sessions, session{at: at, n: n})
		}
		slices.SortFunc(sessions, func(a, b session) int { return a.at.Compare(b.at) })
		for _, s := range sessions {
			at := s.at
			for range s.n {
				if emitted >= n-1 {
					break
				}
				t := pick()
				ms := t.DurationMS
				if r.IntN(6) == 0 {
					ms = 30_000 + r.IntN(max(1, t.DurationMS-30_000)) // skipped part-way
				}
				at = at.Add(time.Duration(ms) * time.Millisecond)
				if !at.Before(end) {
					break
				}
				batch = append(batch, store.PlayInput{Track: t, PlayedAt: at, MSPlayed: ms, Source: store.SourceHistory})
				emitted++
				if len(batch) == cap(batch) {
					flush()
				}
			}
		}
	}
	batch = append(batch, store.PlayInput{Track: tracks[2], PlayedAt: end, MSPlayed: tracks[2].DurationMS, Source: store.SourceRealtime})
	flush()
}

// ---------- Browser ----------

// chromiumPath finds the browser: $SPOTIFYHIST_TEST_CHROMIUM, else
// "chromium" on PATH. Without one the test is skipped, unless
// SPOTIFYHIST_TEST_REQUIRE_CHROMIUM=1 makes that a failure.
func chromiumPath(tb testing.TB) string {
	tb.Helper()
	name := os.Getenv("SPOTIFYHIST_TEST_CHROMIUM")
	if name == "" {
		name = "chromium"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("SPOTIFYHIST_TEST_REQUIRE_CHROMIUM") == "1" {
			tb.Fatalf("Chromium is required (SPOTIFYHIST_TEST_REQUIRE_CHROMIUM=1) but %q was not found: %v", name, err)
		}
		tb.Skipf("Skipping browser test: Chromium %q not found (install chromium or set SPOTIFYHIST_TEST_CHROMIUM): %v", name, err)
	}
	return path
}

type browserOpts struct {
	// TimeZone is the browser's time zone. Default Europe/Berlin.
	TimeZone string
	// Dark makes the system colour scheme dark.
	Dark bool
	// Width and Height of the window. Default 1280 × 900.
	Width, Height int
	// Mobile emulates a phone of that width.
	Mobile bool
}

// browser is one headless Chromium with a fresh profile and one tab. It
// records console errors, uncaught exceptions, failed loads and every
// JavaScript dialog (which it dismisses).
type browser struct {
	t   testing.TB
	ctx context.Context
	*browserLog
}

// browserLog is what the page reported, shared by every view of a browser.
type browserLog struct {
	mu       sync.Mutex
	problems []string
	dialogs  []string
}

// in returns the browser for use in subtest t (failures go to t).
func (b *browser) in(t testing.TB) *browser {
	return &browser{t: t, ctx: b.ctx, browserLog: b.browserLog}
}

func newBrowser(tb testing.TB, o *browserOpts) *browser {
	tb.Helper()
	exe := chromiumPath(tb)
	if o == nil {
		o = &browserOpts{}
	}
	if o.TimeZone == "" {
		o.TimeZone = "Europe/Berlin"
	}
	if o.Width == 0 {
		o.Width, o.Height = 1280, 900
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.Env("LANGUAGE=en_US", "TZ="+o.TimeZone),
		// No UserDataDir: chromedp makes a fresh profile directory and,
		// when the browser exits, kills what is left of its processes
		// and removes the directory.
		chromedp.WindowSize(o.Width, o.Height),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	var done sync.Once
	finished := make(chan struct{})
	logf := func(format string, args ...any) {
		select {
		case <-finished:
		default:
			tb.Logf("chromedp: "+format, args...)
		}
	}
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithErrorf(logf))
	b := &browser{t: tb, ctx: ctx, browserLog: &browserLog{}}
	tb.Cleanup(func() {
		done.Do(func() { close(finished) })
		cancel()
		cancelAlloc()
	})
	require.NoError(tb, chromedp.Do(ctx), "start Chromium")

	// Record what the page reports.
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				b.mu.Lock()
				b.problems = append(b.problems, fmt.Sprintf("%s %s:%d: %s", m.Type, m.URL, m.Line+1, m.Text))
				b.mu.Unlock()
			}
		}
	}()
	go func() {
		for ev, err := range chromedp.Events(ctx, page.JavascriptDialogOpening) {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs = append(b.dialogs, string(ev.Type)+": "+ev.Message)
			b.mu.Unlock()
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()

	_, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: o.TimeZone})
	require.NoError(tb, err)
	b.colorScheme(o.Dark)
	if o.Mobile {
		require.NoError(tb, chromedp.Do(ctx, chromedp.EmulateViewport(int64(o.Width), int64(o.Height), chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(2))))
	}
	return b
}

// colorScheme sets the system colour scheme the page sees (live: pages
// get a matchMedia change event).
func (b *browser) colorScheme(dark bool) {
	b.t.Helper()
	v := "light"
	if dark {
		v = "dark"
	}
	_, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}},
	})
	require.NoError(b.t, err)
}

// The browser tests share two cores with the rest of the module's tests
// (go test ./... runs packages in parallel), so a step may take many times
// longer than on an idle machine. These bound how long the tests wait for
// the page; they are not how long anything should take.
const (
	stepTimeout = 60 * time.Second // one action, evaluation or condition
	pollEvery   = 40 * time.Millisecond
)

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	require.NoError(b.t, chromedp.Do(ctx, steps...))
}

func (b *browser) navigate(u string) {
	b.t.Helper()
	b.do(chromedp.Navigate(u))
}

// clickTargetJS finds where a user would click the element matching the
// selector (%q): the centre of its box, once it exists, is enabled, is on
// screen and is the element hit there (no dialog or sticky bar over it), and
// once the page has no API call in flight whose answer could still move it.
// It scrolls the element to the middle of the window if needed and then
// waits two frames, so that the sections the scroll brought into view have
// started loading by the next look. It returns {x, y}, or {wait: reason}.
const clickTargetJS = `(async (sel) => {
	const el = document.querySelector(sel);
	if (!el) return {wait: "no element matches"};
	if (el.disabled) return {wait: "the element is disabled"};
	if (window.SH && SH.pending() > 0) return {wait: SH.pending() + " API calls in flight"};
	const r = el.getBoundingClientRect();
	if (r.width === 0 || r.height === 0) return {wait: "the element is not displayed"};
	const x = r.left + r.width / 2, y = r.top + r.height / 2;
	if (x >= 0 && y >= 0 && x < innerWidth && y < innerHeight) {
		const hit = document.elementFromPoint(x, y);
		if (hit && (hit === el || el.contains(hit))) return {x: x, y: y};
		if (hit && hit.closest("dialog[open]") && !el.closest("dialog[open]")) return {wait: "a dialog covers the element"};
	}
	el.scrollIntoView({block: "center", inline: "center"});
	await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
	return {wait: "scrolled the element into view"};
})(%q)`

type clickTarget struct {
	X, Y float64
	Wait string
}

// click clicks the element as a user would, with the mouse, where it is
// when the page has settled (see clickTargetJS).
func (b *browser) click(css string) {
	b.t.Helper()
	var at clickTarget
	b.poll("click "+css, func(ctx context.Context) (bool, string, error) {
		t, err := chromedp.Run(ctx, chromedp.Evaluate[clickTarget](fmt.Sprintf(clickTargetJS, css), chromedp.EvalAwaitPromise))
		at = t
		return err == nil && t.Wait == "", t.Wait, err
	})
	b.do(chromedp.MouseClickXY(at.X, at.Y))
}

func (b *browser) key(keys string) {
	b.t.Helper()
	b.do(chromedp.KeyEvent(keys))
}

// eval evaluates JavaScript (awaiting a promise) and decodes the result.
func eval[T any](b *browser, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	require.NoError(b.t, err, "evaluate %s", js)
	return v
}

// poll asks check until it reports done, and fails the test with the last
// answer and what the page shows when that takes longer than stepTimeout.
// It keeps asking across navigations (a page being replaced has no context
// to evaluate in).
func (b *browser) poll(what string, check func(ctx context.Context) (done bool, why string, err error)) {
	b.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	var why string
	var last error
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		done, w, err := check(ctx)
		cancel()
		if err == nil && done {
			return
		}
		why, last = w, err
		if time.Now().After(deadline) {
			ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
			state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + " | pending API calls: " + (window.SH ? SH.pending() : "-") + " | lazy: " + [...document.querySelectorAll("[data-lazy]")].map(n => n.id + "=" + n.dataset.lazy).join(", ") + " | notices: " + ((document.getElementById("toasts") || {}).textContent || "") + " | " + [...document.querySelectorAll(".error-text")].map(n => n.textContent).join(" | ")`))
			cancel()
			b.t.Fatalf("timed out waiting for %s (last answer: %q; last error: %v; page: %s)", what, why, last, state)
		}
		<-tick.C
	}
}

// waitJS waits until the expression is truthy.
func (b *browser) waitJS(js string) {
	b.t.Helper()
	b.poll(js, func(ctx context.Context) (bool, string, error) {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+js+")"))
		return ok, "", err
	})
}

// idle waits until the page has no API call in flight: what the last
// action asked for has arrived at the server and been shown.
func (b *browser) idle() {
	b.t.Helper()
	b.waitJS(`!window.SH || SH.pending() === 0`)
}

// revealJS scrolls the element matching the selector (%q) into view, as a
// user scrolling down to it would, and reports whether the lazy section
// it is has loaded and nothing else the scroll started is still loading.
// The scroll is repeated on every look: a section that loads above it
// (play counts above playlists) can push it out of view again before the
// browser noticed it.
const revealJS = `(async (sel) => {
	const el = document.querySelector(sel);
	if (!el) return "no element matches";
	const r = el.getBoundingClientRect();
	if (r.bottom <= 0 || r.top >= innerHeight) {
		el.scrollIntoView({block: "start"});
		await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
	}
	if (el.dataset.lazy !== "done") return "the section is " + el.dataset.lazy;
	const loading = [...document.querySelectorAll('[data-lazy="loading"]')].map((n) => n.id);
	if (loading.length) return "still loading: " + loading.join(", ");
	if (SH.pending() > 0) return SH.pending() + " API calls in flight";
	return "";
})(%q)`

// reveal scrolls to a lazily loaded section of the dashboard and waits
// until it has loaded.
func (b *browser) reveal(css string) {
	b.t.Helper()
	b.poll("the section "+css+" to load", func(ctx context.Context) (bool, string, error) {
		why, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(revealJS, css), chromedp.EvalAwaitPromise))
		return err == nil && why == "", why, err
	})
}

type readyInfo struct {
	MS     float64 `json:"ms"`
	Charts int     `json:"charts"`
	Errors int     `json:"errors"`
}

// ready waits for the page's __pageReady promise.
func (b *browser) ready() readyInfo {
	b.t.Helper()
	b.waitJS(`typeof window.__pageReady === "object"`)
	r := eval[readyInfo](b, `window.__pageReady`)
	if r.Errors > 0 {
		b.t.Logf("page errors: %s", eval[string](b, `[...document.querySelectorAll(".error-text, .toast")].map(n => n.textContent).join(" | ")`))
	}
	return r
}

// chartData returns the first dataset of the Chart.js chart on the canvas.
func (b *browser) chartData(canvasID string) []float64 {
	b.t.Helper()
	return eval[[]float64](b, fmt.Sprintf(`Chart.getChart(document.getElementById(%q)).data.datasets[0].data`, canvasID))
}

func (b *browser) text(css string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, css))
}

func (b *browser) count(css string) int {
	b.t.Helper()
	return eval[int](b, fmt.Sprintf(`document.querySelectorAll(%q).length`, css))
}

// setSelect chooses an option of a <select> as a user would (change event).
func (b *browser) setSelect(css, value string) {
	b.t.Helper()
	eval[chromedp.Void](b, fmt.Sprintf(`(() => { const s = document.querySelector(%q); s.value = %q; s.dispatchEvent(new Event("change", {bubbles: true})); })()`, css, value))
}

// noProblems fails on any console error, exception or dialog so far,
// except errors containing one of the expected texts.
func (b *browser) noProblems(expected ...string) {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var problems []string
	for _, p := range b.problems {
		if !slices.ContainsFunc(expected, func(e string) bool { return strings.Contains(p, e) }) {
			problems = append(problems, p)
		}
	}
	require.Empty(b.t, problems, "the page reported errors")
	require.Empty(b.t, b.dialogs, "the page opened JavaScript dialogs")
}

// viewportShot writes what the window shows, like screenshot.
func (b *browser) viewportShot(name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	require.NoError(b.t, err)
	return b.writeArtifact(name, png)
}

func (b *browser) writeArtifact(name string, png []byte) string {
	b.t.Helper()
	dir := os.Getenv("SPOTIFYHIST_TEST_ARTIFACTS")
	if dir == "" {
		dir = b.t.TempDir()
	}
	require.NoError(b.t, os.MkdirAll(dir, 0o755))
	path := filepath.Join(dir, name+".png")
	require.NoError(b.t, os.WriteFile(path, png, 0o644))
	b.t.Logf("screenshot: %s", path)
	return path
}

// screenshot writes a full-page PNG to $SPOTIFYHIST_TEST_ARTIFACTS (or a
// temporary directory) and logs its path.
func (b *browser) screenshot(name string) string {
	b.t.Helper()
	// From the top, so that the sticky bar is where a reader expects it.
	eval[chromedp.Void](b, `window.scrollTo(0, 0)`)
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(b.t, err)
	return b.writeArtifact(name, png)
}

// ---------- Small helpers ----------

// gatedStore lets the first Pass import batches through and holds the next
// one until Release is closed, so that a test sees an import in progress.
type gatedStore struct {
	*sqlite.Store
	Pass    int32
	Held    chan struct{} // closed when a batch is held
	Release chan struct{}

	mu   sync.Mutex
	seen int32
}

func newGatedStore(st *sqlite.Store, pass int32) *gatedStore {
	return &gatedStore{Store: st, Pass: pass, Held: make(chan struct{}), Release: make(chan struct{})}
}

func (g *gatedStore) InsertPlays(ctx context.Context, p *store.InsertPlaysParams) (*store.InsertPlaysResult, error) {
	if p.Import != nil {
		g.mu.Lock()
		g.seen++
		hold := g.seen == g.Pass+1
		g.mu.Unlock()
		if hold {
			close(g.Held)
			select {
			case <-g.Release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	return g.Store.InsertPlays(ctx, p)
}

// exportRow is one row of Streaming_History_Audio_*.json: a track stream,
// or a podcast episode when uri starts with spotify:episode:.
func exportRow(ts time.Time, name, artist, album, uri string, ms int, incognito bool) map[string]any {
	row := map[string]any{
		"ts": ts.UTC().Format(time.RFC3339), "platform": "android", "ms_played": ms, "conn_country": "DE",
		"ip_addr": "198.51.100.7", "master_metadata_track_name": nil, "master_metadata_album_artist_name": nil,
		"master_metadata_album_album_name": nil, "spotify_track_uri": nil, "episode_name": nil,
		"episode_show_name": nil, "spotify_episode_uri": nil, "audiobook_title": nil, "audiobook_uri": nil,
		"audiobook_chapter_uri": nil, "audiobook_chapter_title": nil, "reason_start": "trackdone",
		"reason_end": "trackdone", "shuffle": false, "skipped": false, "offline": false,
		"offline_timestamp": ts.UnixMilli() - int64(ms), "incognito_mode": incognito,
	}
	if strings.HasPrefix(uri, "spotify:episode:") {
		row["episode_name"], row["episode_show_name"], row["spotify_episode_uri"] = name, artist, uri
		return row
	}
	row["master_metadata_track_name"], row["master_metadata_album_artist_name"] = name, artist
	row["master_metadata_album_album_name"], row["spotify_track_uri"] = album, uri
	return row
}

// exportZip builds a small extended-history export with the given rows.
func exportZip(tb testing.TB, rows []map[string]any) []byte {
	tb.Helper()
	data, err := json.MarshalIndent(rows, "", "  ")
	require.NoError(tb, err)
	var buf bytes.Buffer
	require.NoError(tb, spotifyhisttest.WriteExportZip(&buf, map[string][]byte{
		"Spotify Extended Streaming History/Streaming_History_Audio_2024.json":        data,
		"Spotify Extended Streaming History/ReadMeFirst_ExtendedStreamingHistory.pdf": []byte("%PDF-1.4\n"),
	}))
	return buf.Bytes()
}
