package spotifyhist

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Priority classifies a Web API call for the app-wide [Budget]. Carry it in the request
// context with [WithPriority]; a context without one means PriorityMonitor.
type Priority int

// Priorities, highest first.
const (
	// PriorityInteractive: a person is waiting (login, an on-demand refresh in the UI). May
	// use every token of the budget, including the interactive reserve.
	PriorityInteractive Priority = iota + 1
	// PriorityMonitor: listening capture (recently-played, currently-playing) and playlist
	// scans. Uses every token except the interactive reserve.
	PriorityMonitor
	// PriorityEnrichment: background work that can wait days (import enrichment, song-ID
	// updates, the artist linker). Limited to a share of the budget so it never starves
	// monitoring, and blocked on its own by long rate limits.
	PriorityEnrichment
)

const numPriorities = 3

// String returns "interactive", "monitor" or "enrichment".
func (p Priority) String() string {
	switch p {
	case PriorityInteractive:
		return "interactive"
	case PriorityMonitor:
		return "monitor"
	case PriorityEnrichment:
		return "enrichment"
	}
	return fmt.Sprintf("Priority(%d)", int(p))
}

func (p Priority) valid() bool { return p >= PriorityInteractive && p <= PriorityEnrichment }

type priorityKey struct{}

// WithPriority returns a context whose Web API calls are paced as priority p. An invalid p
// leaves ctx unchanged.
func WithPriority(ctx context.Context, p Priority) context.Context {
	if !p.valid() {
		return ctx
	}
	return context.WithValue(ctx, priorityKey{}, p)
}

// PriorityFromContext returns the priority set by WithPriority, or PriorityMonitor.
func PriorityFromContext(ctx context.Context) Priority {
	if p, ok := ctx.Value(priorityKey{}).(Priority); ok {
		return p
	}
	return PriorityMonitor
}

// Defaults for [BudgetConfig].
const (
	// BudgetRequestsDefault is the number of Web API requests the App allows itself per
	// BudgetWindowDefault. Spotify does not publish its limit; this stays well below the
	// levels reported to trigger 429s.
	BudgetRequestsDefault = 60
	// BudgetWindowDefault is Spotify's rolling rate-limit window.
	BudgetWindowDefault = 30 * time.Second
	// EnrichmentShareDefault is the fraction of BudgetConfig.Requests that enrichment calls
	// may use per window.
	EnrichmentShareDefault = 0.25
	// BlockCapDefault bounds how long one long 429 (QUOTA_EXCEEDED or Retry-After above
	// Config.MaxRetryWait) keeps interactive and monitor calls blocked; after it, the next
	// such call probes Spotify again.
	BlockCapDefault = time.Hour
	// RetryAfterMissingDefault is assumed when a 429 has no usable Retry-After.
	RetryAfterMissingDefault = 5 * time.Second
	// QuotaRetryAfterMissingDefault is assumed when a QUOTA_EXCEEDED 429 has no usable
	// Retry-After.
	QuotaRetryAfterMissingDefault = time.Hour
)

// ReasonDailyBudget is the Reason of the local error returned when enrichment has used
// BudgetConfig.EnrichmentPerDay.
const ReasonDailyBudget = "ENRICHMENT_DAILY_BUDGET"

// BudgetConfig configures the App's [Budget]. Zero fields mean the defaults.
type BudgetConfig struct {
	// Requests is the most calls, all priorities together, in any rolling Window. Default
	// BudgetRequestsDefault.
	Requests int
	// Window is the length of the rolling window. Default BudgetWindowDefault.
	Window time.Duration
	// InteractiveReserve is the number of places in the window only interactive calls may
	// take. Default Requests/10 (at least 1); negative means none.
	InteractiveReserve int
	// EnrichmentShare is the fraction of Requests enrichment calls may make per window; they
	// also leave Requests·(1−EnrichmentShare) places free for others (and never take the
	// interactive reserve). Default EnrichmentShareDefault; must be in (0, 1].
	EnrichmentShare float64
	// EnrichmentPerDay caps enrichment calls in any rolling 24 h. 0 means no daily cap. Spotify's Development Mode quota is
	// per developer account and unpublished (reports: ~500–600 track lookups a day).
	EnrichmentPerDay int
	// BlockCap bounds a long block of interactive and monitor calls. Default BlockCapDefault;
	// negative means no cap (honour Retry-After fully).
	BlockCap time.Duration
}

func (c BudgetConfig) withDefaults() BudgetConfig {
	if c.Requests == 0 {
		c.Requests = BudgetRequestsDefault
	}
	if c.Window == 0 {
		c.Window = BudgetWindowDefault
	}
	if c.InteractiveReserve == 0 {
		c.InteractiveReserve = max(1, c.Requests/10)
	} else if c.InteractiveReserve < 0 {
		c.InteractiveReserve = 0
	}
	if c.EnrichmentShare == 0 {
		c.EnrichmentShare = EnrichmentShareDefault
	}
	if c.BlockCap == 0 {
		c.BlockCap = BlockCapDefault
	}
	return c
}

func (c BudgetConfig) validate() error {
	switch {
	case c.Requests < 1:
		return errors.New("Budget.Requests must be positive")
	case c.Window <= 0:
		return errors.New("Budget.Window must be positive")
	case c.InteractiveReserve >= c.Requests:
		return errors.New("Budget.InteractiveReserve must be less than Budget.Requests")
	case !(c.EnrichmentShare > 0 && c.EnrichmentShare <= 1):
		return errors.New("Budget.EnrichmentShare must be in (0, 1]")
	case c.EnrichmentPerDay < 0:
		return errors.New("Budget.EnrichmentPerDay must not be negative")
	}
	return nil
}

// Budget paces every Web API call of an [App] (all its Clients) under Spotify's per-app
// rolling 30-second window, and remembers rate-limit blocks.
//
// # Pacing
//
// The Budget keeps the times of the calls it admitted during the last Window (a sliding
// log, so no rolling window ever holds more than Requests calls, unlike a token bucket,
// which lets a burst double that). A call is admitted when the window leaves room for it,
// and otherwise waits until enough earlier calls leave the window:
//   - interactive calls may fill the window;
//   - monitor calls leave InteractiveReserve places free;
//   - enrichment calls leave Requests·(1−EnrichmentShare) places free (so most of every
//     window stays available for monitoring), may make at most Requests·EnrichmentShare
//     calls per window, and, with EnrichmentPerDay, at most that many per rolling 24 h.
//
// A busy enrichment job therefore gets at most its share, and never the places monitoring
// needs.
//
// # Blocks after a 429
//
//   - A short 429 (Retry-After ≤ Config.MaxRetryWait, no QUOTA_EXCEEDED) means the rolling
//     window is full, which is app-wide: every priority pauses until it ends. Calls wait; the
//     call that got the 429 is retried once.
//   - A long 429 (Retry-After > MaxRetryWait, or reason QUOTA_EXCEEDED) blocks the priority
//     of the call that got it and every lower priority. Higher priorities are not blocked:
//     an enrichment job that exhausts a quota does not stop monitoring. If monitoring really
//     shares the exhausted quota, its own next call gets the 429 and blocks it too.
//   - Interactive and monitor blocks last at most BlockCap (then one call probes Spotify
//     again); enrichment blocks last the full Retry-After.
//
// A call whose priority is blocked waits when the block ends within MaxRetryWait, and
// otherwise fails at once with an [*Error] (status 429, matching ErrRateLimited and
// ErrBlocked) whose BlockedUntil says when to try again. Nothing is sent to Spotify. The
// same holds when enrichment's daily allowance is used up (Reason ReasonDailyBudget).
type Budget struct {
	cfg     BudgetConfig
	now     func() time.Time
	maxWait time.Duration
	m       *metrics

	// Derived at construction.
	enrichCap     int // enrichment calls per window
	enrichReserve int // places enrichment must leave free in the window

	mu     sync.Mutex
	calls  timeLog // every admitted call, last Window
	enrich timeLog // enrichment calls, last Window
	day    timeLog // enrichment calls, last 24 h (only with EnrichmentPerDay)
	blocks [numPriorities + 1]block
}

type block struct {
	until  time.Time
	reason string
}

// timeLog holds admission times, oldest first.
type timeLog []time.Time

// prune drops the times that left the window ending at now.
func (l *timeLog) prune(now time.Time, window time.Duration) {
	cut := now.Add(-window)
	i := 0
	for i < len(*l) && !(*l)[i].After(cut) {
		i++
	}
	if i > 0 {
		n := copy(*l, (*l)[i:])
		*l = (*l)[:n]
	}
}

// waitFor returns how long until at most limit−1 times remain in the window (room for one
// more call), or 0 when there is room now. limit < 1 means never.
func (l timeLog) waitFor(now time.Time, window time.Duration, limit int) (time.Duration, bool) {
	if limit < 1 {
		return 0, false
	}
	if len(l) < limit {
		return 0, true
	}
	// The call at index len−limit must leave the window.
	return l[len(l)-limit].Add(window).Sub(now), true
}

const day = 24 * time.Hour

func newBudget(cfg BudgetConfig, now func() time.Time, maxWait time.Duration, m *metrics) *Budget {
	enrichCap := max(1, int(float64(cfg.Requests)*cfg.EnrichmentShare))
	return &Budget{
		cfg:           cfg,
		now:           now,
		maxWait:       maxWait,
		m:             m,
		enrichCap:     enrichCap,
		enrichReserve: max(cfg.Requests-enrichCap, cfg.InteractiveReserve),
	}
}

// Acquire admits one call of priority p, waiting for room in the window or for a short
// block to end. It returns a local [*Error] (ErrBlocked) when p is blocked or out of its
// daily allowance for longer than Config.MaxRetryWait, and ctx's error when ctx ends first.
func (b *Budget) Acquire(ctx context.Context, p Priority) error {
	if !p.valid() {
		p = PriorityMonitor
	}
	var waited time.Duration
	for {
		b.mu.Lock()
		wait, err := b.tryTakeLocked(p)
		b.mu.Unlock()
		if err != nil {
			return err
		}
		if wait <= 0 {
			b.m.observeBudgetWait(p, waited)
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
			waited += wait
		}
	}
}

// tryTakeLocked admits the call and returns 0, or returns how long to wait before trying
// again, or a local rate-limit error.
func (b *Budget) tryTakeLocked(p Priority) (time.Duration, error) {
	now := b.now()
	if bl := b.blocks[p]; bl.until.After(now) {
		rem := bl.until.Sub(now)
		if rem > b.maxWait {
			return 0, b.blockedError(p, bl, rem)
		}
		return rem, nil
	}
	w := b.cfg.Window
	b.calls.prune(now, w)
	reserve := 0
	switch p {
	case PriorityMonitor:
		reserve = b.cfg.InteractiveReserve
	case PriorityEnrichment:
		reserve = b.enrichReserve
	}
	wait, _ := b.calls.waitFor(now, w, b.cfg.Requests-reserve)
	if p == PriorityEnrichment {
		b.enrich.prune(now, w)
		ew, _ := b.enrich.waitFor(now, w, b.enrichCap)
		wait = max(wait, ew)
		if b.cfg.EnrichmentPerDay > 0 {
			b.day.prune(now, day)
			dw, _ := b.day.waitFor(now, day, b.cfg.EnrichmentPerDay)
			if dw > b.maxWait {
				return 0, b.blockedError(p, block{until: now.Add(dw), reason: ReasonDailyBudget}, dw)
			}
			wait = max(wait, dw)
		}
	}
	if wait > 0 {
		return wait, nil
	}
	b.calls = append(b.calls, now)
	if p == PriorityEnrichment {
		b.enrich = append(b.enrich, now)
		if b.cfg.EnrichmentPerDay > 0 {
			b.day = append(b.day, now)
		}
	}
	return 0, nil
}

func (b *Budget) blockedError(p Priority, bl block, rem time.Duration) *Error {
	msg := fmt.Sprintf("%s calls are paused after a rate limit", p)
	if bl.reason == ReasonDailyBudget {
		msg = "enrichment used its daily allowance"
	}
	return &Error{
		Status:       429,
		Message:      msg,
		Reason:       bl.reason,
		RetryAfter:   rem,
		BlockedUntil: bl.until,
		local:        true,
	}
}

// NoteRateLimit records a 429 that a call of priority p received, with its Retry-After (0
// when absent) and reason, according to the policy in the type documentation. It returns
// the time until which p is now blocked.
func (b *Budget) NoteRateLimit(p Priority, retryAfter time.Duration, reason string) time.Time {
	if !p.valid() {
		p = PriorityMonitor
	}
	quota := reason == ReasonQuotaExceeded
	if retryAfter <= 0 {
		retryAfter = RetryAfterMissingDefault
		if quota {
			retryAfter = QuotaRetryAfterMissingDefault
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	until := now.Add(retryAfter)
	if !quota && retryAfter <= b.maxWait {
		// The rolling window is app-wide: everyone pauses.
		for c := PriorityInteractive; c <= PriorityEnrichment; c++ {
			b.extendLocked(c, until, reason)
		}
		return b.blocks[p].until
	}
	for c := p; c <= PriorityEnrichment; c++ {
		u := until
		if c != PriorityEnrichment && b.cfg.BlockCap > 0 && retryAfter > b.cfg.BlockCap {
			u = now.Add(b.cfg.BlockCap)
		}
		b.extendLocked(c, u, reason)
	}
	return b.blocks[p].until
}

func (b *Budget) extendLocked(p Priority, until time.Time, reason string) {
	if until.After(b.blocks[p].until) {
		b.blocks[p] = block{until: until, reason: reason}
	}
}

// BlockedUntil returns the end of the current block of priority p, or the zero time when p
// is not blocked.
func (b *Budget) BlockedUntil(p Priority) time.Time {
	if !p.valid() {
		p = PriorityMonitor
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if bl := b.blocks[p]; bl.until.After(b.now()) {
		return bl.until
	}
	return time.Time{}
}

// Unblock lifts every block (for example after an operator confirmed the quota was reset).
func (b *Budget) Unblock() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.blocks = [numPriorities + 1]block{}
}
