package spotifyhist

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metrics is owned by one App. With a nil Registerer the collectors exist but are not
// registered anywhere.
type metrics struct {
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	rateLimited   *prometheus.CounterVec
	retries       *prometheus.CounterVec
	budgetWait    *prometheus.HistogramVec
	tokenRequests *prometheus.CounterVec
}

// Values of the reason label of spotifyhist_api_rate_limited_total.
const (
	rateLimitReasonWindow  = "rate_limit"     // 429 without a known reason
	rateLimitReasonQuota   = "quota_exceeded" // 429 with QUOTA_EXCEEDED
	rateLimitReasonBlocked = "blocked"        // refused locally because of an earlier 429
	rateLimitReasonDaily   = "daily_budget"   // refused locally: enrichment daily cap
)

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "spotifyhist_api_requests_total",
			Help: "Spotify Web API HTTP attempts by route template and status code (\"error\" for transport errors).",
		}, []string{"endpoint", "status"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "spotifyhist_api_request_duration_seconds",
			Help:    "Latency of Spotify Web API HTTP attempts until response headers, by route template.",
			Buckets: prometheus.DefBuckets,
		}, []string{"endpoint"}),
		rateLimited: f.NewCounterVec(prometheus.CounterOpts{
			Name: "spotifyhist_api_rate_limited_total",
			Help: "Spotify rate limits: 429 responses (rate_limit, quota_exceeded) and calls refused locally (blocked, daily_budget).",
		}, []string{"reason"}),
		retries: f.NewCounterVec(prometheus.CounterOpts{
			Name: "spotifyhist_api_retries_total",
			Help: "Spotify Web API request retries by route template and cause (server_error, network, rate_limit).",
		}, []string{"endpoint", "cause"}),
		budgetWait: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "spotifyhist_api_budget_wait_seconds",
			Help:    "Time calls waited for the app-wide request budget, by priority.",
			Buckets: []float64{0.01, 0.05, 0.25, 1, 5, 15, 30, 60},
		}, []string{"priority"}),
		tokenRequests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "spotifyhist_oauth_token_requests_total",
			Help: "Requests to the Spotify token endpoint by grant type and result (ok, invalid_grant, invalid_client, error).",
		}, []string{"grant", "result"}),
	}
}

// registerBudget exposes the budget's blocks as a gauge computed at scrape time.
func (m *metrics) registerBudget(reg prometheus.Registerer, b *Budget) {
	if reg == nil {
		return
	}
	for p := PriorityInteractive; p <= PriorityEnrichment; p++ {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "spotifyhist_api_blocked_until_timestamp_seconds",
			Help:        "Unix time until which Web API calls of the priority are refused after a 429; 0 when not blocked.",
			ConstLabels: prometheus.Labels{"priority": p.String()},
		}, func() float64 {
			t := b.BlockedUntil(p)
			if t.IsZero() {
				return 0
			}
			return float64(t.UnixMilli()) / 1000
		}))
	}
}

func (m *metrics) observeAttempt(endpoint string, status int, d time.Duration) {
	s := "error"
	if status > 0 {
		s = strconv.Itoa(status)
	}
	m.requests.WithLabelValues(endpoint, s).Inc()
	m.duration.WithLabelValues(endpoint).Observe(d.Seconds())
}

func (m *metrics) observeBudgetWait(p Priority, d time.Duration) {
	m.budgetWait.WithLabelValues(p.String()).Observe(d.Seconds())
}
