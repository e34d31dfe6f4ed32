package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/spotifyhist/spotifyhist/monitor"
	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/store"
)

// Defaults for Config.
const (
	// SessionTTLDefault is how long a login lasts.
	SessionTTLDefault = 30 * 24 * time.Hour
	// MaxUploadBytesDefault caps an export upload.
	MaxUploadBytesDefault = 512 << 20
	// LocalUserIDDefault is the user of an instance without Spotify credentials.
	LocalUserIDDefault = "local"
)

// Config configures a Server. Store, Sealer and BaseURL are required.
type Config struct {
	// Store holds users, sessions, plays and statistics.
	Store store.Store
	// App talks to Spotify. Nil means local single-user mode: no login, every
	// visitor is LocalUserID.
	App *spotifyhist.App
	// Clients builds per-user Spotify clients from stored tokens (playlist
	// scans on demand). Nil disables on-demand scans.
	Clients *monitor.Clients
	// Sealer encrypts the OAuth cookie and the tokens stored at login.
	Sealer *spotifyhist.Sealer
	// Importer analyses and executes uploaded exports. Nil disables uploads.
	Importer *monitor.Importer
	// BaseURL is the public URL (cookies are Secure when it is https).
	BaseURL string
	// UploadDir receives uploads while they are analysed and imported, as
	// files named spotifyhist-upload-*; New removes such files older than a
	// day (left by a process that stopped without Close). Default
	// os.TempDir().
	UploadDir string
	// MaxUploadBytes caps one upload. Default MaxUploadBytesDefault.
	MaxUploadBytes int64
	// PublicStats serves global statistics on the public page and
	// /api/v1/stats/*. False answers 404 there.
	PublicStats bool
	// LocalUserID is the user of local mode. Default LocalUserIDDefault.
	LocalUserID string
	// DefaultMode is the listening mode of users created at login. Default
	// store.ModeDefault.
	DefaultMode store.Mode
	// SessionTTL is how long a login lasts. Default SessionTTLDefault.
	SessionTTL time.Duration
	// Location is the zone statistics are bucketed in when a request names
	// none (the dashboard always sends the browser's zone). Nil means UTC.
	Location *time.Location
	// Demo marks the instance as a demonstration (shown on the pages).
	Demo bool
	// Registerer receives the server's metrics. Nil means none.
	Registerer prometheus.Registerer
	// Logger receives request errors. Nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Server is the web front end; it is an http.Handler. Make one with [New]
// and call [Server.Close] when done.
type Server struct {
	cfg      Config
	mux      *http.ServeMux
	handler  http.Handler
	log      *slog.Logger
	now      func() time.Time
	secure   bool
	origin   string // scheme://host of BaseURL
	metrics  *metrics
	imports  *importJobs
	states   *stateLedger
	zones    sync.Map     // tz name → *time.Location, only names that loaded
	pruned   atomic.Int64 // unix seconds of the last expired-session sweep
	patterns []string     // every registered route, for the tests

	// Background imports run on shutdown's context; closed is set by Close
	// under mu so that no import starts once Close waits for wg.
	shutdown context.Context
	stop     context.CancelFunc
	mu       sync.Mutex
	closed   bool
	wg       sync.WaitGroup
}

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// New validates cfg and builds the server.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("web: Config.Store is required")
	}
	if cfg.Sealer == nil {
		return nil, errors.New("web: Config.Sealer is required")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("web: Config.BaseURL %q: want an absolute http(s) URL", cfg.BaseURL)
	}
	if cfg.UploadDir == "" {
		cfg.UploadDir = os.TempDir()
	}
	if cfg.MaxUploadBytes <= 0 {
		cfg.MaxUploadBytes = MaxUploadBytesDefault
	}
	if cfg.LocalUserID == "" {
		cfg.LocalUserID = LocalUserIDDefault
	}
	if cfg.DefaultMode == "" {
		cfg.DefaultMode = store.ModeDefault
	}
	if !cfg.DefaultMode.Valid() {
		return nil, fmt.Errorf("web: Config.DefaultMode %q is not a mode", cfg.DefaultMode)
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = SessionTTLDefault
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	f := promauto.With(cfg.Registerer)
	s := &Server{
		cfg:    cfg,
		mux:    http.NewServeMux(),
		log:    cfg.Logger.With("component", "web"),
		now:    cfg.Now,
		secure: u.Scheme == "https",
		origin: u.Scheme + "://" + u.Host,
		states: newStateLedger(),
		metrics: &metrics{
			requests: f.NewCounterVec(prometheus.CounterOpts{
				Name: "spotifyhist_http_requests_total",
				Help: "HTTP requests served, by route and status code.",
			}, []string{"route", "code"}),
			duration: f.NewHistogramVec(prometheus.HistogramOpts{
				Name:    "spotifyhist_http_request_duration_seconds",
				Help:    "Time to serve an HTTP request, by route.",
				Buckets: prometheus.DefBuckets,
			}, []string{"route"}),
		},
	}
	s.shutdown, s.stop = context.WithCancel(context.Background())
	s.imports = newImportJobs()
	if n := sweepUploads(cfg.UploadDir, cfg.Now()); n > 0 {
		s.log.Info("removed stale uploads", "dir", cfg.UploadDir, "files", n)
	}
	s.routes()
	s.handler = s.securityHeaders(s.mux)
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Close stops background imports and waits for them, then removes every
// upload: import jobs live in this process only. Importing the same file
// again later resumes an interrupted import from its stored progress.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.stop()
	s.wg.Wait()
	s.imports.removeAll()
	return nil
}

// goBackground runs f on a goroutine that Close waits for; it reports false
// (and does not run f) once Close has been called.
func (s *Server) goBackground(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Go(f)
	return true
}

// LocalMode reports whether the server runs without Spotify credentials.
func (s *Server) LocalMode() bool { return s.cfg.App == nil }

// route registers a handler under a pattern, with metrics labelled by the
// pattern (bounded, never raw ids).
func (s *Server) route(pattern string, h http.HandlerFunc) {
	s.patterns = append(s.patterns, pattern)
	label := pattern
	if i := strings.IndexByte(label, ' '); i >= 0 {
		label = label[i+1:]
	}
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h(rec, r)
		s.metrics.requests.WithLabelValues(label, strconv.Itoa(rec.status)).Inc()
		s.metrics.duration.WithLabelValues(label).Observe(time.Since(start).Seconds())
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// apiCatchAll is the pattern of every unrouted /api/ request.
const apiCatchAll = "/api/"

func (s *Server) routes() {
	// Pages.
	s.route("GET /{$}", s.handleIndex)
	s.route("GET /me", s.handleDashboard)
	s.route("GET /me/year/{year}", s.handleYear)
	s.route("GET /static/", s.handleStatic)

	// Login.
	s.route("GET /login", s.handleLogin)
	s.route("GET /auth/callback", s.handleCallback)
	s.route("POST /logout", s.handleLogout)

	// API.
	s.route("GET /api/v1/openapi.json", s.handleOpenAPI)
	s.route("GET /api/v1/me", s.requireSession(s.handleMe))
	s.route("DELETE /api/v1/me", s.requireUser(s.requireCSRF(s.handleDeleteMe)))
	s.route("POST /api/v1/me/start", s.requireUser(s.requireCSRF(s.handleStart)))
	s.route("POST /api/v1/me/stop", s.requireUser(s.requireCSRF(s.handleStop)))
	s.route("PUT /api/v1/me/mode", s.requireUser(s.requireCSRF(s.handleMode)))
	s.route("GET /api/v1/me/history", s.requireUser(s.handleHistory))
	s.route("GET /api/v1/me/stats/totals", s.requireUser(s.handleTotals))
	s.route("GET /api/v1/me/stats/top", s.requireUser(s.handleTop))
	s.route("GET /api/v1/me/stats/over-time", s.requireUser(s.handleOverTime))
	s.route("GET /api/v1/me/stats/hour-weekday", s.requireUser(s.handleHourWeekday))
	s.route("GET /api/v1/me/stats/years", s.requireUser(s.handleYears))
	s.route("GET /api/v1/me/playlists", s.requireUser(s.handlePlaylists))
	s.route("POST /api/v1/me/playlists", s.requireUser(s.requireCSRF(s.handleAddPlaylist)))
	s.route("POST /api/v1/me/playlists/scan", s.requireUser(s.requireCSRF(s.handleScanPlaylists)))
	s.route("DELETE /api/v1/me/playlists/{id}", s.requireUser(s.requireCSRF(s.handleRemovePlaylist)))
	s.route("GET /api/v1/me/playlists/{id}/tracks", s.requireUser(s.handlePlaylistTracks))
	s.route("GET /api/v1/me/imports", s.requireUser(s.handleImports))
	s.route("POST /api/v1/me/imports", s.requireUser(s.requireCSRF(s.handleUpload)))
	s.route("GET /api/v1/me/imports/{id}", s.requireUser(s.handleImport))
	s.route("POST /api/v1/me/imports/{id}/execute", s.requireUser(s.requireCSRF(s.handleExecute)))
	s.route("DELETE /api/v1/me/imports/{id}", s.requireUser(s.requireCSRF(s.handleDiscardImport)))
	s.route("GET /api/v1/stats/totals", s.requirePublic(s.handleTotals))
	s.route("GET /api/v1/stats/top", s.requirePublic(s.handleTop))
	s.route("GET /api/v1/stats/over-time", s.requirePublic(s.handleOverTime))
	s.route("GET /api/v1/stats/hour-weekday", s.requirePublic(s.handleHourWeekday))
	s.route(apiCatchAll, s.handleAPINotFound)
}

// securityHeaders sets headers every response carries: a strict content
// security policy (no inline script, no third-party origins), no framing,
// no MIME sniffing, no referrer leaks.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		if s.secure {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}
