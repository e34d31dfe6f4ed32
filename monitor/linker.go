package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/store"
)

// Defaults for [LinkerConfig].
const (
	// LinkerMaxWaitDefault is the longest Retry-After the artist linker waits
	// out before retrying; a longer rate limit ends the run.
	LinkerMaxWaitDefault = 60 * time.Second
	// LinkerBatchSizeDefault is how many unlinked tracks are read from the
	// database at a time.
	LinkerBatchSizeDefault = 100
	// LinkerPaceDefault is the pause between two track lookups. The App's
	// budget already keeps enrichment to its share of the rate limit; the
	// pause spreads a long run further (the original linker slept 1 s too).
	LinkerPaceDefault = time.Second
)

// linkerMaxRateWaits bounds the short rate-limit waits spent on one track;
// after that the run stops as if the limit were long.
const linkerMaxRateWaits = 5

// linkerMaxTransient is the number of consecutive transient failures (5xx,
// network) after which a run stops: Spotify is probably down.
const linkerMaxTransient = 3

// linkerCountPage is the page size used to count the remaining tracks.
const linkerCountPage = 1000

// Errors of the artist linker.
var (
	// ErrLinkerNoToken: no enabled user has a Spotify token that works, so
	// the linker cannot call Spotify at all.
	ErrLinkerNoToken = errors.New("monitor: artist linker: no enabled user with a usable Spotify token")
	// ErrLinkerRunning: Run was called while another Run of the same Linker
	// was in progress.
	ErrLinkerRunning = errors.New("monitor: artist linker: already running")
)

// LinkerStore is the part of the storage contract the artist linker uses.
type LinkerStore interface {
	ListUsers(ctx context.Context) ([]store.User, error)
	UnlinkedTracks(ctx context.Context, p *store.UnlinkedTracksParams) ([]store.Track, error)
	UpsertTracks(ctx context.Context, tracks []store.Track) error
}

// LinkerClients hands out a Spotify client for a stored user; [*Clients]
// implements it. For returns an error wrapping
// [spotifyhist.ErrReauthRequired] when the user has no usable token.
type LinkerClients interface {
	For(ctx context.Context, u *store.User) (*spotifyhist.Client, error)
}

// LinkerConfig configures a [Linker]. Store and Clients are required; every
// other zero field means the documented default.
type LinkerConfig struct {
	// Store is the database. Required.
	Store LinkerStore
	// Clients builds Spotify clients from stored users' tokens. Required.
	Clients LinkerClients
	// Logger receives the linker's logs. Nil means slog.Default().
	Logger *slog.Logger
	// Registerer receives the linker's metrics. Nil means none.
	Registerer prometheus.Registerer
	// Now is the wall clock for run durations and the last-success metric.
	// Default time.Now. Waiting uses real timers (tests use testing/synctest).
	Now func() time.Time
	// MaxWait is the longest Retry-After waited out before retrying the same
	// track; a longer one (or a QUOTA_EXCEEDED limit) stops the run, which
	// reports when Spotify accepts calls again. Default LinkerMaxWaitDefault
	// (60 s).
	MaxWait time.Duration
	// BatchSize is how many unlinked tracks are read from the database at a
	// time. Default LinkerBatchSizeDefault (100).
	BatchSize int
	// Pace is the pause between two track lookups. Default LinkerPaceDefault
	// (1 s); negative means no pause (the App's budget still paces calls).
	Pace time.Duration
}

func (c LinkerConfig) withDefaults() LinkerConfig {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MaxWait == 0 {
		c.MaxWait = LinkerMaxWaitDefault
	}
	if c.BatchSize == 0 {
		c.BatchSize = LinkerBatchSizeDefault
	}
	if c.Pace == 0 {
		c.Pace = LinkerPaceDefault
	} else if c.Pace < 0 {
		c.Pace = 0
	}
	return c
}

func (c LinkerConfig) validate() error {
	switch {
	case c.Store == nil:
		return errors.New("Store is required")
	case c.Clients == nil:
		return errors.New("Clients is required")
	case c.MaxWait < 0:
		return errors.New("MaxWait must not be negative")
	case c.BatchSize < 0:
		return errors.New("BatchSize must not be negative")
	}
	return nil
}

// LinkResult summarises one run of the artist linker.
type LinkResult struct {
	// Processed is the number of tracks the run finished with: Linked +
	// Failed + Errors.
	Processed int `json:"processed"`
	// Linked is the number of tracks that received Spotify's album and
	// artists.
	Linked int `json:"linked"`
	// Failed is the number of tracks Spotify cannot resolve (404, 400, or an
	// id that is not a Spotify id). They are not looked up again (see
	// [Linker]).
	Failed int `json:"failed"`
	// Errors is the number of tracks skipped after a transient failure
	// (Spotify 5xx, network); the next run tries them again.
	Errors int `json:"errors"`
	// Remaining is the number of tracks still waiting to be linked after the
	// run, or -1 when it could not be counted.
	Remaining int `json:"remaining"`
	// Stopped says why the run ended before the last track, e.g. "rate
	// limited until 2026-01-02T03:04:05Z"; empty when it went through.
	Stopped string `json:"stopped,omitempty"`
	// BlockedUntil is when Spotify accepts calls again, when a rate limit
	// stopped the run.
	BlockedUntil time.Time `json:"blocked_until,omitzero"`
	// Duration is how long the run took; JSON carries it as
	// "duration_seconds".
	Duration time.Duration `json:"-"`
}

// MarshalJSON adds duration_seconds to the snake_case fields.
func (r LinkResult) MarshalJSON() ([]byte, error) {
	type plain LinkResult
	return json.Marshal(struct {
		plain
		DurationSeconds float64 `json:"duration_seconds"`
	}{plain(r), r.Duration.Seconds()})
}

// Linker resolves tracks known only from an export (names, no Spotify album
// or artist ids) to Spotify's metadata, one /tracks/{id} call per track,
// because Development Mode has no batch endpoint. It backs
// `spotifyhist link-artists` and the schedule inside `serve`.
//
// # Tokens
//
// The lookups need any user's token: the linker takes the first enabled user
// that does not need re-authorisation, and moves on to the next one when a
// token turns out to be dead (invalid_grant), unauthorised or not
// allow-listed. Refreshes during a long run are the token source's job.
//
// # Rate limits
//
// Calls run with [spotifyhist.PriorityEnrichment], so the App's budget keeps
// them to their share and a long block of enrichment never stops listening
// capture. A rate limit whose Retry-After is at most MaxWait is waited out
// and the track retried; a longer one, a QUOTA_EXCEEDED limit or the App's
// daily enrichment budget ends the run with Stopped "rate limited until T".
// That is not an error: the next run continues where this one stopped, since
// every track linked so far is stored at once.
//
// # Failed tracks
//
// Tracks Spotify cannot resolve (404, 400, ids that are not Spotify ids) are
// counted in Failed and written back with their own names marked as linked,
// the only persistent "do not ask again" the storage contract offers: the
// next run does not spend the scarce daily quota on them again. Their album
// and artists keep the provisional, name-based ids they had, so they are
// still grouped by name in statistics; if Spotify ever serves the track
// again (recently-played or a playlist), that linked metadata replaces them.
//
// # Fatal errors
//
// Run returns an error only when the database fails, when no user has a
// usable token, when the App's credentials are rejected or when ctx ends;
// the result so far is returned with it.
type Linker struct {
	cfg     LinkerConfig
	log     *slog.Logger
	m       *linkerMetrics
	running sync.Mutex
}

// NewLinker validates cfg and returns a Linker. It registers the linker's
// metrics on cfg.Registerer and fails if they are already registered there.
func NewLinker(cfg LinkerConfig) (*Linker, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("monitor: artist linker: config: %w", err)
	}
	m, err := newLinkerMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("monitor: artist linker: metrics: %w", err)
	}
	return &Linker{cfg: cfg, log: cfg.Logger.With("component", "monitor.linker"), m: m}, nil
}

// Run performs one pass over every unlinked track (see [Linker]). Only one
// Run of a Linker proceeds at a time; a concurrent call returns
// [ErrLinkerRunning].
func (l *Linker) Run(ctx context.Context) (*LinkResult, error) {
	if !l.running.TryLock() {
		return nil, ErrLinkerRunning
	}
	defer l.running.Unlock()

	start := l.cfg.Now()
	r := &linkerRun{l: l, res: &LinkResult{Remaining: -1}}
	err := r.run(spotifyhist.WithPriority(ctx, spotifyhist.PriorityEnrichment))
	if err == nil || !errors.Is(err, errLinkerStore) {
		if n, cerr := r.countRemaining(ctx); cerr == nil {
			r.res.Remaining = n
			l.m.remaining.Set(float64(n))
		} else if err == nil {
			err = cerr
		}
	}
	end := l.cfg.Now()
	r.res.Duration = end.Sub(start)

	attrs := []any{
		slog.Int("processed", r.res.Processed),
		slog.Int("linked", r.res.Linked),
		slog.Int("failed", r.res.Failed),
		slog.Int("errors", r.res.Errors),
		slog.Int("remaining", r.res.Remaining),
		slog.Duration("duration", r.res.Duration),
	}
	switch {
	case err != nil:
		l.m.runs.WithLabelValues("error").Inc()
		l.log.ErrorContext(ctx, "artist linker run failed", append(attrs, slog.Any("error", err))...)
		return r.res, err
	case r.res.Stopped != "":
		l.m.runs.WithLabelValues("stopped").Inc()
		l.log.WarnContext(ctx, "artist linker run stopped early", append(attrs, slog.String("stopped", r.res.Stopped))...)
	default:
		l.m.runs.WithLabelValues("completed").Inc()
		l.log.InfoContext(ctx, "artist linker run finished", attrs...)
	}
	l.m.lastSuccess.Set(float64(end.UnixMilli()) / 1000)
	return r.res, nil
}

// errLinkerStore marks database failures inside a run.
var errLinkerStore = errors.New("database")

// linkerRun is the state of one Run.
type linkerRun struct {
	l   *Linker
	res *LinkResult

	users    []store.User // candidates for a token, loaded on first need
	loaded   bool
	next     int // index of the next candidate in users
	client   *spotifyhist.Client
	clientOf string
	tokenErr error // why the last user's token could not be used

	called    bool // a lookup was made: pace the next one
	transient int  // consecutive transient failures
}

func (r *linkerRun) storeErr(op string, err error) error {
	return fmt.Errorf("monitor: artist linker: %s: %w: %w", op, errLinkerStore, err)
}

func (r *linkerRun) run(ctx context.Context) error {
	cfg := r.l.cfg
	after := ""
	for {
		batch, err := cfg.Store.UnlinkedTracks(ctx, &store.UnlinkedTracksParams{After: after, Limit: cfg.BatchSize})
		if err != nil {
			return r.storeErr("list unlinked tracks", err)
		}
		for i := range batch {
			t := &batch[i]
			after = t.ID
			stop, err := r.link(ctx, t)
			if err != nil {
				return err
			}
			if stop {
				return nil
			}
		}
		if len(batch) < cfg.BatchSize {
			return nil
		}
	}
}

// link resolves one track. It returns stop when the run must end early
// (Stopped is set), and an error when the run failed.
func (r *linkerRun) link(ctx context.Context, t *store.Track) (stop bool, err error) {
	if _, ok := spotifyhist.TrackIDFromURI("spotify:track:" + t.ID); !ok {
		// Not a Spotify id (for example a name-only track from an account
		// data export): /tracks/{id} cannot resolve it.
		return false, r.fail(ctx, t, "not a spotify id")
	}
	if err := r.pace(ctx); err != nil {
		return false, fmt.Errorf("monitor: artist linker: %w", err)
	}
	rateWaits := 0
	for {
		c, err := r.currentClient(ctx)
		if err != nil {
			return false, err
		}
		got, err := c.Track(ctx, t.ID)
		r.called = true
		if err == nil {
			r.transient = 0
			if err := r.l.cfg.Store.UpsertTracks(ctx, []store.Track{linkerTrack(t.ID, got)}); err != nil {
				return false, r.storeErr("store track "+t.ID, err)
			}
			r.res.Processed++
			r.res.Linked++
			r.l.m.tracks.WithLabelValues("linked").Inc()
			return false, nil
		}
		switch {
		case ctx.Err() != nil:
			return false, fmt.Errorf("monitor: artist linker: %w", ctx.Err())
		case errors.Is(err, spotifyhist.ErrNotFound), errors.Is(err, spotifyhist.ErrInvalidID), linkerStatus(err) == http.StatusBadRequest:
			r.transient = 0
			return false, r.fail(ctx, t, err.Error())
		case errors.Is(err, spotifyhist.ErrInvalidClient):
			return false, fmt.Errorf("monitor: artist linker: %w", err)
		case errors.Is(err, spotifyhist.ErrReauthRequired), errors.Is(err, spotifyhist.ErrUnauthorized), errors.Is(err, spotifyhist.ErrForbidden):
			// This user's token cannot be used: try the next user.
			r.l.log.WarnContext(ctx, "artist linker cannot use this user's token, trying the next user",
				slog.String("user_id", r.clientOf), slog.Any("error", err))
			r.client, r.tokenErr = nil, err
			continue
		case errors.Is(err, spotifyhist.ErrRateLimited):
			wait, _ := spotifyhist.RetryAfter(err)
			if !linkerQuota(err) && wait > 0 && wait <= r.l.cfg.MaxWait && rateWaits < linkerMaxRateWaits {
				rateWaits++
				r.l.log.InfoContext(ctx, "artist linker waits for a rate limit",
					slog.Duration("retry_after", wait), slog.String("track_id", t.ID))
				if err := linkerSleep(ctx, wait); err != nil {
					return false, fmt.Errorf("monitor: artist linker: %w", err)
				}
				continue
			}
			until, ok := spotifyhist.BlockedUntil(err)
			if !ok {
				until = r.l.cfg.Now().Add(wait)
			}
			r.res.BlockedUntil = until.UTC()
			r.res.Stopped = "rate limited until " + until.UTC().Format(time.RFC3339)
			return true, nil
		default:
			// Transient (5xx or network, already retried by the client) or
			// a malformed response: skip the track this time.
			r.res.Processed++
			r.res.Errors++
			r.transient++
			r.l.m.tracks.WithLabelValues("error").Inc()
			r.l.log.WarnContext(ctx, "artist linker could not look up a track",
				slog.String("track_id", t.ID), slog.Any("error", err))
			if r.transient >= linkerMaxTransient {
				r.res.Stopped = fmt.Sprintf("spotify failing: %d lookups in a row failed: %v", r.transient, err)
				return true, nil
			}
			return false, nil
		}
	}
}

// fail records a track Spotify cannot resolve and marks it so that later
// runs skip it (see [Linker]).
func (r *linkerRun) fail(ctx context.Context, t *store.Track, why string) error {
	mark := *t
	mark.Linked = true
	if err := r.l.cfg.Store.UpsertTracks(ctx, []store.Track{mark}); err != nil {
		return r.storeErr("mark track "+t.ID, err)
	}
	r.res.Processed++
	r.res.Failed++
	r.l.m.tracks.WithLabelValues("failed").Inc()
	r.l.log.InfoContext(ctx, "artist linker cannot resolve a track", slog.String("track_id", t.ID), slog.String("reason", why))
	return nil
}

// currentClient returns the client in use, or the client of the next
// candidate user.
func (r *linkerRun) currentClient(ctx context.Context) (*spotifyhist.Client, error) {
	if r.client != nil {
		return r.client, nil
	}
	if !r.loaded {
		users, err := r.l.cfg.Store.ListUsers(ctx)
		if err != nil {
			return nil, r.storeErr("list users", err)
		}
		for _, u := range users {
			if u.Enabled && !u.NeedsReauth {
				r.users = append(r.users, u)
			}
		}
		r.loaded = true
	}
	for r.next < len(r.users) {
		u := &r.users[r.next]
		r.next++
		c, err := r.l.cfg.Clients.For(ctx, u)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("monitor: artist linker: %w", ctx.Err())
			}
			r.l.log.WarnContext(ctx, "artist linker cannot use this user's token, trying the next user",
				slog.String("user_id", u.ID), slog.Any("error", err))
			r.tokenErr = err
			continue
		}
		r.client, r.clientOf = c, u.ID
		return c, nil
	}
	if r.tokenErr != nil {
		return nil, fmt.Errorf("%w (last error: %w)", ErrLinkerNoToken, r.tokenErr)
	}
	return nil, ErrLinkerNoToken
}

// pace pauses for Pace before every track looked up but the first.
func (r *linkerRun) pace(ctx context.Context) error {
	if r.l.cfg.Pace <= 0 || !r.called {
		return nil
	}
	return linkerSleep(ctx, r.l.cfg.Pace)
}

// countRemaining counts the tracks still waiting to be linked.
func (r *linkerRun) countRemaining(ctx context.Context) (int, error) {
	n, after := 0, ""
	for {
		batch, err := r.l.cfg.Store.UnlinkedTracks(ctx, &store.UnlinkedTracksParams{After: after, Limit: linkerCountPage})
		if err != nil {
			return 0, r.storeErr("count unlinked tracks", err)
		}
		n += len(batch)
		if len(batch) < linkerCountPage {
			return n, nil
		}
		after = batch[len(batch)-1].ID
	}
}

// linkerTrack is the stored form of a track Spotify resolved. It keeps the
// id it was looked up by, even when Spotify answers with another
// (relinked) id, because plays refer to that id.
func linkerTrack(id string, got *spotifyhist.Track) store.Track {
	t := storeTrack(got)
	t.ID = id
	t.IsLocal = false
	return t
}

// linkerStatus returns the HTTP status of a Spotify error, or 0.
func linkerStatus(err error) int {
	var e *spotifyhist.Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// linkerQuota reports whether err is a Development Mode quota or the App's
// daily enrichment budget: both last hours.
func linkerQuota(err error) bool {
	var e *spotifyhist.Error
	return errors.As(err, &e) && (e.Reason == spotifyhist.ReasonQuotaExceeded || e.Reason == spotifyhist.ReasonDailyBudget)
}

// linkerSleep waits for d or until ctx ends.
func linkerSleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// linkerMetrics are the artist linker's metrics.
type linkerMetrics struct {
	tracks      *prometheus.CounterVec
	runs        *prometheus.CounterVec
	lastSuccess prometheus.Gauge
	remaining   prometheus.Gauge
}

func newLinkerMetrics(reg prometheus.Registerer) (*linkerMetrics, error) {
	m := &linkerMetrics{
		tracks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spotifyhist_linker_tracks_total",
			Help: "Tracks handled by the artist linker, by outcome (linked; failed: Spotify cannot resolve it; error: transient failure, retried next run).",
		}, []string{"outcome"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spotifyhist_linker_runs_total",
			Help: "Artist linker runs, by result (completed, stopped: ended early by a rate limit or a Spotify outage, error: fatal).",
		}, []string{"result"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "spotifyhist_linker_last_success_timestamp_seconds",
			Help: "Unix time at which the last artist linker run without a fatal error ended.",
		}),
		remaining: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "spotifyhist_linker_remaining_tracks",
			Help: "Tracks waiting to be linked, as counted at the end of the last artist linker run.",
		}),
	}
	for _, o := range []string{"linked", "failed", "error"} {
		m.tracks.WithLabelValues(o)
	}
	for _, r := range []string{"completed", "stopped", "error"} {
		m.runs.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.tracks, m.runs, m.lastSuccess, m.remaining} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
