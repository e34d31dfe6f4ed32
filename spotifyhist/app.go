package spotifyhist

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"golang.org/x/oauth2"
)

// App is one Spotify application (client ID): OAuth, the app-wide request [Budget], the
// instrumented [Transport] and metrics. Create it once per process with [New] and derive a
// [Client] per user; it is safe for concurrent use.
type App struct {
	cfg       Config
	oauth     *oauth2.Config
	m         *metrics
	budget    *Budget
	transport *Transport
	tokenHTTP *http.Client
	log       *slog.Logger
	apiURL    *url.URL
}

// New validates cfg, fills in defaults and returns an App. It registers the App's metrics on
// cfg.Registerer, which must not hold another App's metrics (a process has one Spotify
// application; give a second App its own registry).
func New(cfg Config) (*App, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("spotifyhist: config: %w", err)
	}
	api, err := url.Parse(cfg.APIURL)
	if err != nil {
		return nil, fmt.Errorf("spotifyhist: config: APIURL: %w", err)
	}
	cfg.Logger = cfg.Logger.With("component", "spotifyhist")
	m := newMetrics(cfg.Registerer)
	b := newBudget(cfg.Budget, cfg.Now, cfg.MaxRetryWait, m)
	m.registerBudget(cfg.Registerer, b)
	a := &App{
		cfg:       cfg,
		oauth:     cfg.oauthConfig(),
		m:         m,
		budget:    b,
		transport: newTransport(cfg, b, m, api.EscapedPath()),
		tokenHTTP: cfg.HTTPClient,
		log:       cfg.Logger,
		apiURL:    api,
	}
	return a, nil
}

// Budget returns the app-wide request budget shared by all Clients of the App.
func (a *App) Budget() *Budget { return a.budget }

// Transport returns the App's instrumented, paced RoundTripper (without authorisation).
func (a *App) Transport() *Transport { return a.transport }

// APIURL returns the normalised Web API base URL (ending in "/").
func (a *App) APIURL() string { return a.cfg.APIURL }
