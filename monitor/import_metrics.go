package monitor

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/spotifyhist/spotifyhist/store"
)

// importMetrics are the importer's metrics.
type importMetrics struct {
	entries  *prometheus.CounterVec
	runs     *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newImportMetrics(reg prometheus.Registerer) (*importMetrics, error) {
	m := &importMetrics{
		entries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spotifyhist_import_entries_total",
			Help: "Export entries written by imports, by outcome: imported, or the reason they were not (duplicate_existing includes plays found stored while writing).",
		}, []string{"outcome"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spotifyhist_import_runs_total",
			Help: "Import analyses and executions, by operation (analyze, execute) and result (ok, error, already_imported).",
		}, []string{"op", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "spotifyhist_import_duration_seconds",
			Help:    "Duration of import analyses and executions.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 12),
		}, []string{"op"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.entries, err = registerImportMetric(reg, m.entries); err != nil {
		return nil, err
	}
	if m.runs, err = registerImportMetric(reg, m.runs); err != nil {
		return nil, err
	}
	if m.duration, err = registerImportMetric(reg, m.duration); err != nil {
		return nil, err
	}
	return m, nil
}

// registerImportMetric registers c, or returns the collector another importer
// registered under the same name.
func registerImportMetric[T prometheus.Collector](reg prometheus.Registerer, c T) (T, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(T); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}

// observe records one analysis or execution; result is "ok",
// "already_imported" or empty for an error.
func (m *importMetrics) observe(op string, start time.Time, result string, err error) {
	m.duration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err != nil {
		result = "error"
	}
	m.runs.WithLabelValues(op, result).Inc()
}

func (m *importMetrics) batch(res *store.InsertPlaysResult, excluded map[string]int) {
	m.entries.WithLabelValues("imported").Add(float64(res.Inserted))
	if res.Duplicates > 0 {
		m.entries.WithLabelValues("duplicate_existing").Add(float64(res.Duplicates))
	}
	for r, n := range excluded {
		m.entries.WithLabelValues(r).Add(float64(n))
	}
}
