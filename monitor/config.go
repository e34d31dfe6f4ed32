package monitor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/spotifyhist/spotifyhist/store"
)

// Defaults for [Config]. A zero field in Config means the default below.
const (
	// HeartbeatIntervalDefault is how often a worker beats its heart, renews
	// its leases and rebalances.
	HeartbeatIntervalDefault = 5 * time.Second
	// LeaseTTLDefault is how long a lease (and a heartbeat) stays valid
	// without renewal. A dead worker's users are claimed by survivors within
	// LeaseTTL + HeartbeatInterval (25 s with the defaults).
	LeaseTTLDefault = 20 * time.Second
	// HistoryPollIntervalDefault is the recently-played period of history and
	// hybrid modes.
	HistoryPollIntervalDefault = 20 * time.Minute
	// RealtimePollIntervalDefault is the currently-playing period of realtime
	// and hybrid modes.
	RealtimePollIntervalDefault = 5 * time.Second
	// PlaylistScanIntervalDefault is how often each user's playlists are
	// scanned.
	PlaylistScanIntervalDefault = 24 * time.Hour
	// SongIDIntervalDefault is how often the song-ID updater runs.
	SongIDIntervalDefault = 24 * time.Hour
	// ShutdownTimeoutDefault bounds the drain after Run's context ends.
	ShutdownTimeoutDefault = 10 * time.Second
	// HistoryOverlapDefault is how far before the newest stored play the
	// recently-played cursor starts. Spotify adds offline plays when the
	// device reconnects, hours or days later, with their past played_at; a
	// cursor at the newest play would never see them. A day of overlap costs
	// nothing at Spotify (one call returns at most 50 plays either way), and
	// re-fetched plays are recognised and skipped without touching the
	// database.
	HistoryOverlapDefault = 24 * time.Hour
	// AdaptiveIdleMaxDefault caps the adaptive mode's currently-playing
	// backoff while nothing plays.
	AdaptiveIdleMaxDefault = 90 * time.Second
	// AdaptivePlayingMaxDefault caps the adaptive mode's wait between two
	// currently-playing polls while something plays. A stream counts as a
	// play after 30 s, so polling at least every 25 s while playing sees
	// every play, even one skipped long before the current track's end.
	AdaptivePlayingMaxDefault = 25 * time.Second
	// AdaptiveHistoryIntervalDefault is the adaptive mode's recently-played
	// period (it also polls recently-played right after a listening session
	// ends).
	AdaptiveHistoryIntervalDefault = 30 * time.Minute
	// RateLimitWaitMaxDefault caps one wait after a rate limit; the next call
	// then probes Spotify again.
	RateLimitWaitMaxDefault = 15 * time.Minute
	// RetryBackoffMaxDefault caps the backoff after transient errors
	// (Spotify 5xx, network, database).
	RetryBackoffMaxDefault = 5 * time.Minute
	// PollConcurrencyDefault bounds the listening polls (Spotify call and
	// database writes) one worker runs at the same time.
	PollConcurrencyDefault = 16
)

// Config configures a [Monitor]. Store and Clients are required; every other
// zero field means the documented default.
type Config struct {
	// Store is the database. Required.
	Store Store
	// Clients builds each user's Spotify client. Required.
	Clients *Clients
	// WorkerID names this process in the workers table. Default: a random
	// id ("w-" and 16 hex digits). Two live processes must not share one.
	WorkerID string
	// HeartbeatInterval is the period of the worker loop: heartbeat, stale
	// worker removal, lease renewal, rebalancing. Default
	// HeartbeatIntervalDefault (5 s). Must be less than LeaseTTL/2.
	HeartbeatInterval time.Duration
	// LeaseTTL is the validity of a heartbeat and of a user lease. Default
	// LeaseTTLDefault (20 s).
	LeaseTTL time.Duration
	// HistoryPollInterval is the recently-played period of the history and
	// hybrid modes. Default HistoryPollIntervalDefault (20 min).
	HistoryPollInterval time.Duration
	// RealtimePollInterval is the currently-playing period of the realtime
	// and hybrid modes. Default RealtimePollIntervalDefault (5 s).
	RealtimePollInterval time.Duration
	// PlaylistScanInterval is how often each user's playlists are scanned.
	// Default PlaylistScanIntervalDefault (24 h); negative disables the
	// playlist scanner.
	PlaylistScanInterval time.Duration
	// SongIDInterval is how often the song-ID updater runs (once per
	// deployment: only the oldest live worker runs it). Default
	// SongIDIntervalDefault (24 h); negative disables it.
	SongIDInterval time.Duration
	// ShutdownTimeout bounds the drain after Run's context ends: the time
	// given to per-user tasks to stop and store what they fetched, and then
	// to releasing the leases. Default ShutdownTimeoutDefault (10 s).
	ShutdownTimeout time.Duration
	// Adaptive tunes the adaptive mode.
	Adaptive AdaptiveConfig
	// HistoryOverlap is how far before the newest stored play recently-played
	// is asked for. Default HistoryOverlapDefault (24 h).
	HistoryOverlap time.Duration
	// RateLimitWaitMax caps one wait after a 429. Default
	// RateLimitWaitMaxDefault (15 min).
	RateLimitWaitMax time.Duration
	// RetryBackoffMax caps the backoff after transient errors. Default
	// RetryBackoffMaxDefault (5 min).
	RetryBackoffMax time.Duration
	// PollConcurrency bounds the listening polls this worker runs at once,
	// so that thousands of users falling due together (after a start or a
	// failover) queue instead of holding thousands of responses and
	// database transactions in memory at the same time. Default
	// PollConcurrencyDefault (16).
	PollConcurrency int
	// Registerer receives the monitor's metrics. Nil means none. Several
	// monitors in one process need prometheus.WrapRegistererWith.
	Registerer prometheus.Registerer
	// Logger receives the monitor's logs. Nil means slog.Default().
	Logger *slog.Logger
	// Now is the wall clock for heartbeats, leases and task states. Default
	// time.Now. Waiting always uses real timers (tests use testing/synctest).
	Now func() time.Time
	// Test holds knobs for tests only.
	Test TestConfig
}

// AdaptiveConfig tunes the adaptive mode. Zero fields mean the defaults.
type AdaptiveConfig struct {
	// IdleMax caps the currently-playing backoff while nothing plays.
	// Default AdaptiveIdleMaxDefault (90 s).
	IdleMax time.Duration
	// PlayingMax caps the wait between currently-playing polls while
	// something plays. Default AdaptivePlayingMaxDefault (25 s).
	PlayingMax time.Duration
	// HistoryInterval is the recently-played period. Default
	// AdaptiveHistoryIntervalDefault (30 min).
	HistoryInterval time.Duration
}

// TestConfig holds settings that only tests should change.
type TestConfig struct {
	// DisableJitter makes start delays and backoffs exact.
	DisableJitter bool
	// SkipDrain makes Run return as soon as its context ends and the
	// per-user tasks have stopped, without storing pending plays, releasing
	// leases or deleting the worker row: what kill -9 leaves behind.
	SkipDrain bool
	// Signals, when set, receives events that tests wait for.
	Signals *TestSignals
}

// TestSignals reports monitor events to tests. Every function may be nil.
// They are called synchronously and must not block for long.
type TestSignals struct {
	// Tick is called after each worker loop iteration with its error.
	Tick func(err error)
	// UserStarted is called before a user's tasks start on this worker.
	UserStarted func(userID string)
	// UserStopped is called after every task of the user has stopped on this
	// worker.
	UserStopped func(userID string)
	// Poll is called after each listening poll of a user with the number of
	// plays it stored.
	Poll func(userID string, kind PollKind, stored int, err error)
}

// PollKind names the endpoint of a listening poll.
type PollKind string

// Poll kinds.
const (
	PollRecentlyPlayed   PollKind = "recently_played"
	PollCurrentlyPlaying PollKind = "currently_playing"
)

// Store is the part of the storage contract the monitor uses: workers and
// leases, users and task states, plays, and the catalogue and playlists
// that the per-user playlist scanner and the song-ID updater maintain.
// Every [store.Store] implements it.
type Store interface {
	store.WorkerStore
	store.UserStore
	store.PlayStore
	store.CatalogStore
	store.PlaylistStore
	// Ping checks that the database answers (readiness).
	Ping(ctx context.Context) error
}

var _ Store = store.Store(nil)

func (c Config) withDefaults() Config {
	if c.WorkerID == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		c.WorkerID = "w-" + hex.EncodeToString(b[:])
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = HeartbeatIntervalDefault
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = LeaseTTLDefault
	}
	if c.HistoryPollInterval == 0 {
		c.HistoryPollInterval = HistoryPollIntervalDefault
	}
	if c.RealtimePollInterval == 0 {
		c.RealtimePollInterval = RealtimePollIntervalDefault
	}
	if c.PlaylistScanInterval == 0 {
		c.PlaylistScanInterval = PlaylistScanIntervalDefault
	}
	if c.SongIDInterval == 0 {
		c.SongIDInterval = SongIDIntervalDefault
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = ShutdownTimeoutDefault
	}
	if c.Adaptive.IdleMax == 0 {
		c.Adaptive.IdleMax = AdaptiveIdleMaxDefault
	}
	if c.Adaptive.PlayingMax == 0 {
		c.Adaptive.PlayingMax = AdaptivePlayingMaxDefault
	}
	if c.Adaptive.HistoryInterval == 0 {
		c.Adaptive.HistoryInterval = AdaptiveHistoryIntervalDefault
	}
	if c.HistoryOverlap == 0 {
		c.HistoryOverlap = HistoryOverlapDefault
	}
	if c.RateLimitWaitMax == 0 {
		c.RateLimitWaitMax = RateLimitWaitMaxDefault
	}
	if c.RetryBackoffMax == 0 {
		c.RetryBackoffMax = RetryBackoffMaxDefault
	}
	if c.PollConcurrency == 0 {
		c.PollConcurrency = PollConcurrencyDefault
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.Store == nil:
		return errors.New("Store is required")
	case c.Clients == nil:
		return errors.New("Clients is required")
	case c.HeartbeatInterval < 0, c.LeaseTTL < 0, c.HistoryPollInterval < 0, c.RealtimePollInterval < 0,
		c.ShutdownTimeout < 0, c.HistoryOverlap < 0, c.RateLimitWaitMax < 0, c.RetryBackoffMax < 0,
		c.Adaptive.IdleMax < 0, c.Adaptive.PlayingMax < 0, c.Adaptive.HistoryInterval < 0, c.PollConcurrency < 0:
		return errors.New("durations and PollConcurrency must not be negative (except PlaylistScanInterval and SongIDInterval, where negative disables)")
	case 2*c.HeartbeatInterval >= c.LeaseTTL:
		return fmt.Errorf("HeartbeatInterval (%s) must be less than half of LeaseTTL (%s), so that a lease is renewed at least twice before it expires", c.HeartbeatInterval, c.LeaseTTL)
	}
	return nil
}
