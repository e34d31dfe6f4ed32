package monitor

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/spotifyhist/spotifyhist/store"
)

// metrics is owned by one Monitor. With a nil Registerer the collectors
// exist but are registered nowhere.
type metrics struct {
	heartbeat     prometheus.Gauge
	workersLive   prometheus.Gauge
	usersAssigned prometheus.Gauge
	playsIngested *prometheus.CounterVec
	pollDuration  *prometheus.HistogramVec
	rateLimited   prometheus.Counter
	needsReauth   prometheus.Gauge
	taskErrors    *prometheus.CounterVec
	taskPanics    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		heartbeat: f.NewGauge(prometheus.GaugeOpts{
			Name: "spotifyhist_worker_heartbeat_timestamp_seconds",
			Help: "Unix time of this worker's last successful heartbeat.",
		}),
		workersLive: f.NewGauge(prometheus.GaugeOpts{
			Name: "spotifyhist_workers_live",
			Help: "Workers with a fresh heartbeat, as this worker last counted them.",
		}),
		usersAssigned: f.NewGauge(prometheus.GaugeOpts{
			Name: "spotifyhist_users_assigned",
			Help: "Users whose lease this worker holds and monitors.",
		}),
		playsIngested: f.NewCounterVec(prometheus.CounterOpts{
			Name: "spotifyhist_plays_ingested_total",
			Help: "Plays stored by live monitoring, by source (history: recently-played, realtime: currently-playing).",
		}, []string{"source"}),
		pollDuration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "spotifyhist_poll_duration_seconds",
			Help:    "Duration of one listening poll (Spotify call and storing its plays), by the user's listening mode.",
			Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"mode"}),
		rateLimited: f.NewCounter(prometheus.CounterOpts{
			Name: "spotifyhist_rate_limited_total",
			Help: "Listening polls that could not run because Spotify rate-limited the app.",
		}),
		needsReauth: f.NewGauge(prometheus.GaugeOpts{
			Name: "spotifyhist_users_needing_reauth",
			Help: "Users whose Spotify authorisation was rejected and who must log in again.",
		}),
		taskErrors: f.NewCounterVec(prometheus.CounterOpts{
			Name: "spotifyhist_task_errors_total",
			Help: "Failed runs of per-user tasks (panics included), by task.",
		}, []string{"task"}),
		taskPanics: f.NewCounter(prometheus.CounterOpts{
			Name: "spotifyhist_task_panics_total",
			Help: "Panics recovered in per-user tasks.",
		}),
	}
	// Known label values start at zero so that rate() and absent() work from
	// the first scrape.
	for _, s := range []store.Source{store.SourceHistory, store.SourceRealtime} {
		m.playsIngested.WithLabelValues(string(s))
	}
	for _, t := range []store.Task{store.TaskListening, store.TaskPlaylists, store.TaskSongIDs} {
		m.taskErrors.WithLabelValues(string(t))
	}
	return m
}
