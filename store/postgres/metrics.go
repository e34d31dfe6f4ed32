package postgres

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// poolCollector exports pgxpool statistics at scrape time.
type poolCollector struct {
	pool *pgxpool.Pool

	acquired, idle, constructing, total, max *prometheus.Desc
	acquires, emptyAcquires, canceled        *prometheus.Desc
	acquireWait, newConns                    *prometheus.Desc
}

func newPoolCollector(pool *pgxpool.Pool) *poolCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("spotifyhist_postgres_pool_"+name, help, nil, nil)
	}
	return &poolCollector{
		pool:          pool,
		acquired:      d("acquired_connections", "Connections currently in use."),
		idle:          d("idle_connections", "Idle connections in the pool."),
		constructing:  d("constructing_connections", "Connections being opened."),
		total:         d("connections", "Connections in the pool, in use, idle or being opened."),
		max:           d("max_connections", "Maximum size of the pool."),
		acquires:      d("acquires_total", "Connections acquired from the pool."),
		emptyAcquires: d("empty_acquires_total", "Acquires that had to wait for a connection."),
		canceled:      d("canceled_acquires_total", "Acquires canceled by their context."),
		acquireWait:   d("acquire_wait_seconds_total", "Time spent acquiring connections."),
		newConns:      d("new_connections_total", "Connections opened."),
	}
}

// Describe implements prometheus.Collector.
func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.acquired, c.idle, c.constructing, c.total, c.max,
		c.acquires, c.emptyAcquires, c.canceled, c.acquireWait, c.newConns,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.pool.Stat()
	g := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	n := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	g(c.acquired, float64(st.AcquiredConns()))
	g(c.idle, float64(st.IdleConns()))
	g(c.constructing, float64(st.ConstructingConns()))
	g(c.total, float64(st.TotalConns()))
	g(c.max, float64(st.MaxConns()))
	n(c.acquires, float64(st.AcquireCount()))
	n(c.emptyAcquires, float64(st.EmptyAcquireCount()))
	n(c.canceled, float64(st.CanceledAcquireCount()))
	n(c.acquireWait, st.AcquireDuration().Seconds())
	n(c.newConns, float64(st.NewConnsCount()))
}
