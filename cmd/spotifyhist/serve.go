package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/spotifyhist/spotifyhist/monitor"
	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/store"
	"github.com/spotifyhist/spotifyhist/web"
)

const (
	// shutdownTimeout bounds the HTTP shutdown: requests still running then
	// are cut off.
	shutdownTimeout = 15 * time.Second
	// readyTimeout bounds the database ping of /readyz.
	readyTimeout = 2 * time.Second
)

func serveCommand() command {
	var demo bool
	return command{
		name:    "serve",
		args:    "[--demo]",
		summary: "run the daemon: web, API, monitor and metrics",
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&demo, "demo", false, "run against a built-in fake Spotify with simulated listeners and a pre-imported synthetic export")
		},
		run: func(ctx context.Context, e *env, _ *flag.FlagSet, args []string) error {
			if len(args) > 0 {
				return usagef("serve takes no positional arguments")
			}
			err := serve(ctx, e, demo)
			if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
				// Stopped by a signal while still starting: a clean stop.
				e.logger.Info("stopped during start-up")
				return nil
			}
			return err
		},
	}
}

// daemon is everything serve runs, wired by hand.
type daemon struct {
	e        *env
	reg      *prometheus.Registry
	store    store.Store
	sealer   *spotifyhist.Sealer
	app      *spotifyhist.App
	clients  *monitor.Clients
	monitor  *monitor.Monitor
	importer *monitor.Importer
	web      *web.Server
	demo     *demoSpotify
}

func serve(ctx context.Context, e *env, demo bool) error {
	d := &daemon{e: e, reg: prometheus.NewRegistry()}
	d.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
	)
	s, err := openStore(ctx, e, d.reg)
	if err != nil {
		return err
	}
	d.store = s
	defer func() {
		if err := s.Close(); err != nil {
			e.logger.Error("close database", "error", err)
		}
	}()
	key, err := secretKey(e)
	if err != nil {
		return err
	}
	if d.sealer, err = spotifyhist.NewSealer(spotifyhist.DeriveKey(key)); err != nil {
		return err
	}

	if demo {
		if d.demo, err = startDemo(ctx, e); err != nil {
			return err
		}
		defer d.demo.Close()
	}
	if !e.cfg.localMode() {
		sc := e.cfg.spotifyConfig()
		sc.Registerer, sc.Logger = d.reg, e.logger
		d.app, err = spotifyhist.New(sc)
		if err != nil {
			return fmt.Errorf("Spotify configuration: %w", err)
		}
		d.clients = monitor.NewClients(d.app, d.sealer, s, time.Now)
		d.monitor, err = monitor.New(monitor.Config{
			Store:                s,
			Clients:              d.clients,
			HeartbeatInterval:    e.cfg.HeartbeatInterval,
			LeaseTTL:             e.cfg.LeaseTTL,
			HistoryPollInterval:  e.cfg.HistoryPollInterval,
			RealtimePollInterval: e.cfg.RealtimePollInterval,
			Registerer:           d.reg,
			Logger:               e.logger,
		})
		if err != nil {
			return fmt.Errorf("monitor: %w", err)
		}
	} else {
		host, _, _ := net.SplitHostPort(e.cfg.Listen)
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			e.logger.Warn("local single-user mode has no login: anyone who reaches this address sees and changes the data", "listen", e.cfg.Listen)
		}
	}
	d.importer, err = monitor.NewImporter(monitor.ImporterConfig{Store: s, Logger: e.logger, Registerer: d.reg})
	if err != nil {
		return err
	}
	if d.demo != nil {
		if err := d.demo.seed(ctx, d); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	uploads := filepath.Join(e.cfg.DataDir, "uploads")
	if err := ensureDataDir(uploads); err != nil {
		return err
	}
	loc, err := e.cfg.displayLocation()
	if err != nil {
		return fmt.Errorf("SPOTIFYHIST_DISPLAY_TIMEZONE: %w", err)
	}
	d.web, err = web.New(web.Config{
		Store:          s,
		App:            d.app,
		Clients:        d.clients,
		Sealer:         d.sealer,
		Importer:       d.importer,
		BaseURL:        e.cfg.BaseURL,
		UploadDir:      uploads,
		MaxUploadBytes: e.cfg.MaxUploadBytes,
		PublicStats:    e.cfg.PublicStats,
		Location:       loc,
		Demo:           d.demo != nil,
		Registerer:     d.reg,
		Logger:         e.logger,
	})
	if err != nil {
		return err
	}
	return d.run(ctx)
}

// run serves until ctx is cancelled, then shuts down in order: HTTP (no
// new requests; running ones get shutdownTimeout), the monitor (which
// releases its leases), background imports; the store is closed last, by
// the caller. A cancelled ctx is a clean stop: run returns nil.
func (d *daemon) run(ctx context.Context) error {
	e := d.e
	metrics := promhttp.HandlerFor(d.reg, promhttp.HandlerOpts{Registry: d.reg})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", d.handleReady)
	if e.cfg.MetricsListen == "" {
		mux.Handle("GET /metrics", metrics)
	}
	mux.Handle("/", d.web)

	ln, err := net.Listen("tcp", e.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (SPOTIFYHIST_LISTEN): %w", e.cfg.Listen, err)
	}
	servers := []*http.Server{newHTTPServer(mux)}
	listeners := []net.Listener{ln}
	if e.cfg.MetricsListen != "" {
		mln, err := net.Listen("tcp", e.cfg.MetricsListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s (SPOTIFYHIST_METRICS_LISTEN): %w", e.cfg.MetricsListen, err)
		}
		mmux := http.NewServeMux()
		mmux.Handle("GET /metrics", metrics)
		servers = append(servers, newHTTPServer(mmux))
		listeners = append(listeners, mln)
	}

	errc := make(chan error, len(servers)+2)
	for i, srv := range servers {
		go func() {
			if err := srv.Serve(listeners[i]); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("http server: %w", err)
			}
		}()
	}
	monCtx, stopMonitor := context.WithCancel(context.WithoutCancel(ctx))
	defer stopMonitor()
	var wg sync.WaitGroup
	if d.monitor != nil {
		wg.Go(func() {
			if err := d.monitor.Run(monCtx); err != nil {
				errc <- fmt.Errorf("monitor: %w", err)
			}
		})
		if e.cfg.LinkArtistsInterval > 0 {
			wg.Go(func() { d.scheduleLinker(monCtx, e.cfg.LinkArtistsInterval) })
		}
	}
	e.logger.Info("spotifyhist serving", "url", e.cfg.BaseURL, "listen", ln.Addr().String(),
		"local_mode", e.cfg.localMode(), "demo", d.demo != nil, "version", version())

	var runErr error
	select {
	case <-ctx.Done():
		e.logger.Info("shutting down")
	case runErr = <-errc:
		e.logger.Error("stopping after a fatal error", "error", runErr)
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(shutCtx); err != nil {
			e.logger.Warn("http shutdown", "error", err)
		}
	}
	stopMonitor()
	wg.Wait()
	if err := d.web.Close(); err != nil {
		e.logger.Warn("stop background imports", "error", err)
	}
	return runErr
}

func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

// handleReady: the database answers and, when the monitor runs, this
// worker is registered and heartbeating. The endpoint is public, so the
// reasons go to the log only: a driver's error may name hosts and users.
func (d *daemon) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := d.store.Ping(ctx); err != nil {
		d.e.logger.WarnContext(ctx, "not ready: database unreachable", "error", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "database unreachable")
		return
	}
	if d.monitor != nil {
		if err := d.monitor.Ready(); err != nil {
			d.e.logger.WarnContext(ctx, "not ready: monitor", "error", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "monitor not ready")
			return
		}
	}
	fmt.Fprintln(w, "ready")
}

// scheduleLinker runs the artist linker every interval (the first run one
// minute after start, so a restart loop does not burn the budget).
func (d *daemon) scheduleLinker(ctx context.Context, every time.Duration) {
	linker, err := monitor.NewLinker(monitor.LinkerConfig{Store: d.store, Clients: d.clients, Logger: d.e.logger, Registerer: d.reg})
	if err != nil {
		d.e.logger.Error("artist linker disabled", "error", err)
		return
	}
	t := time.NewTimer(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		res, err := linker.Run(ctx)
		if err != nil && ctx.Err() == nil {
			d.e.logger.Warn("artist linker run failed", "error", err)
		} else if res != nil {
			d.e.logger.Info("artist linker run", "linked", res.Linked, "failed", res.Failed, "remaining", res.Remaining, "stopped", res.Stopped)
		}
		t.Reset(every)
	}
}
