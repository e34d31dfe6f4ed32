package spotifyhist

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

func testBudget(cfg BudgetConfig) *Budget {
	return newBudget(cfg.withDefaults(), time.Now, MaxRetryWaitDefault, newMetrics(nil))
}

func TestBudgetEnrichmentCannotStarveMonitor(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		// 10 per 30 s; enrichment may take 2 per 30 s and must leave 8 in the bucket.
		b := testBudget(BudgetConfig{Requests: 10, Window: 30 * time.Second, EnrichmentShare: 0.25})
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()

		var mu sync.Mutex
		enriched := 0
		var wg sync.WaitGroup
		for range 4 { // several greedy enrichment workers
			wg.Go(func() {
				for {
					if err := b.Acquire(WithPriority(ctx, PriorityEnrichment), PriorityEnrichment); err != nil {
						return
					}
					mu.Lock()
					enriched++
					mu.Unlock()
				}
			})
		}
		// Monitoring: one call every 5 s for 10 minutes, 6 per window. Enrichment may make 2
		// per window and leave 8 places free; monitoring may fill 9: it must never wait.
		start := time.Now()
		var maxWait time.Duration
		for i := range 120 {
			before := time.Now()
			require.NoError(t, b.Acquire(ctx, PriorityMonitor))
			maxWait = max(maxWait, time.Since(before))
			time.Sleep(start.Add(time.Duration(i+1) * 5 * time.Second).Sub(time.Now()))
		}
		elapsed := time.Since(start)
		cancel()
		wg.Wait()
		require.Zero(t, maxWait, "a monitor call waited for the budget while enrichment was busy")
		// Enrichment got at most its share: 2 initially plus 2 per 30 s.
		require.LessOrEqual(t, enriched, 2+int(elapsed/(30*time.Second))*2+1)
		require.Greater(t, enriched, 0, "enrichment made no progress at all")
	})
}

func TestBudgetEnrichmentYieldsToBusyMonitor(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		// 10 per window, 1 reserved for interactive calls; enrichment may make 2 per window
		// but must leave 8 places free.
		b := testBudget(BudgetConfig{Requests: 10, EnrichmentShare: 0.25, InteractiveReserve: 1})
		start := time.Now()
		for range 7 {
			require.NoError(t, b.Acquire(t.Context(), PriorityMonitor))
		}
		var enrichedAt time.Time
		done := make(chan struct{})
		go func() {
			defer close(done)
			if b.Acquire(t.Context(), PriorityEnrichment) == nil {
				enrichedAt = time.Now()
			}
		}()
		synctest.Wait() // enrichment is waiting: the window is too full for it
		time.Sleep(time.Second)
		for range 2 {
			require.NoError(t, b.Acquire(t.Context(), PriorityMonitor))
		}
		require.Equal(t, time.Second, time.Since(start), "monitoring still had its places")
		<-done
		// It needs 8 free places: all 9 monitor calls must leave the window.
		require.Equal(t, start.Add(31*time.Second), enrichedAt, "enrichment ran once the monitor calls left the window")
	})
}

func TestBudgetWaitsForRefill(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := testBudget(BudgetConfig{Requests: 3, Window: 30 * time.Second, InteractiveReserve: -1})
		start := time.Now()
		for range 3 {
			require.NoError(t, b.Acquire(t.Context(), PriorityMonitor))
		}
		require.Zero(t, time.Since(start))
		require.NoError(t, b.Acquire(t.Context(), PriorityMonitor))
		require.Equal(t, 30*time.Second, time.Since(start), "the fourth call waits until the first leaves the window")
	})
}

func TestBudgetInteractiveReserve(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := testBudget(BudgetConfig{Requests: 10, InteractiveReserve: 2})
		start := time.Now()
		for range 8 {
			require.NoError(t, b.Acquire(t.Context(), PriorityMonitor))
		}
		for range 2 {
			require.NoError(t, b.Acquire(t.Context(), PriorityInteractive))
		}
		require.Zero(t, time.Since(start), "interactive calls use the reserve monitor calls left")
	})
}

func TestBudgetBlocks(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	tests := []struct {
		name        string
		priority    Priority
		retryAfter  time.Duration
		reason      string
		wantBlocked map[Priority]time.Duration // 0: not blocked
	}{
		{
			name: "EnrichmentQuotaLeavesMonitorAlone", priority: PriorityEnrichment, retryAfter: day, reason: ReasonQuotaExceeded,
			wantBlocked: map[Priority]time.Duration{PriorityInteractive: 0, PriorityMonitor: 0, PriorityEnrichment: day},
		},
		{
			name: "MonitorQuotaCappedForMonitor", priority: PriorityMonitor, retryAfter: day, reason: ReasonQuotaExceeded,
			wantBlocked: map[Priority]time.Duration{PriorityInteractive: 0, PriorityMonitor: BlockCapDefault, PriorityEnrichment: day},
		},
		{
			name: "LongPlainRetryAfterIsLong", priority: PriorityInteractive, retryAfter: 2 * time.Hour,
			wantBlocked: map[Priority]time.Duration{PriorityInteractive: BlockCapDefault, PriorityMonitor: BlockCapDefault, PriorityEnrichment: 2 * time.Hour},
		},
		{
			name: "ShortWindowLimitPausesEveryone", priority: PriorityEnrichment, retryAfter: 7 * time.Second,
			wantBlocked: map[Priority]time.Duration{PriorityInteractive: 7 * time.Second, PriorityMonitor: 7 * time.Second, PriorityEnrichment: 7 * time.Second},
		},
		{
			name: "ShortQuotaIsStillPerClass", priority: PriorityEnrichment, retryAfter: 7 * time.Second, reason: ReasonQuotaExceeded,
			wantBlocked: map[Priority]time.Duration{PriorityInteractive: 0, PriorityMonitor: 0, PriorityEnrichment: 7 * time.Second},
		},
		{
			name: "MissingRetryAfterQuota", priority: PriorityEnrichment, reason: ReasonQuotaExceeded,
			wantBlocked: map[Priority]time.Duration{PriorityMonitor: 0, PriorityEnrichment: QuotaRetryAfterMissingDefault},
		},
		{
			name: "MissingRetryAfter", priority: PriorityMonitor,
			wantBlocked: map[Priority]time.Duration{PriorityInteractive: RetryAfterMissingDefault, PriorityMonitor: RetryAfterMissingDefault, PriorityEnrichment: RetryAfterMissingDefault},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				b := testBudget(BudgetConfig{})
				now := time.Now()
				until := b.NoteRateLimit(tt.priority, tt.retryAfter, tt.reason)
				require.Equal(t, now.Add(tt.wantBlocked[tt.priority]), until)
				for p, want := range tt.wantBlocked {
					if want == 0 {
						require.True(t, b.BlockedUntil(p).IsZero(), "%s must not be blocked", p)
						start := time.Now()
						require.NoError(t, b.Acquire(t.Context(), p))
						require.Zero(t, time.Since(start))
						continue
					}
					require.Equal(t, now.Add(want), b.BlockedUntil(p), "%s blocked until", p)
				}
			})
		})
	}
}

func TestBudgetBlockedFailsFastOrWaits(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := testBudget(BudgetConfig{})
		start := time.Now()
		b.NoteRateLimit(PriorityEnrichment, 24*time.Hour, ReasonQuotaExceeded)
		err := b.Acquire(t.Context(), PriorityEnrichment)
		require.ErrorIs(t, err, ErrBlocked)
		require.ErrorIs(t, err, ErrRateLimited)
		until, ok := BlockedUntil(err)
		require.True(t, ok)
		require.Equal(t, start.Add(24*time.Hour), until)
		ra, ok := RetryAfter(err)
		require.True(t, ok)
		require.Equal(t, 24*time.Hour, ra)
		require.True(t, IsRetryable(err))
		var e *Error
		require.True(t, errors.As(err, &e))
		require.Equal(t, ReasonQuotaExceeded, e.Reason)
		require.Zero(t, time.Since(start), "a long block fails fast")

		// A block within MaxRetryWait is waited out.
		b.NoteRateLimit(PriorityMonitor, 12*time.Second, "")
		require.NoError(t, b.Acquire(t.Context(), PriorityMonitor))
		require.Equal(t, 12*time.Second, time.Since(start))

		// After the block everything flows again; Unblock lifts long blocks.
		b.Unblock()
		require.NoError(t, b.Acquire(t.Context(), PriorityEnrichment))
	})
}

func TestBudgetEnrichmentDailyCap(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := testBudget(BudgetConfig{EnrichmentPerDay: 3})
		for range 3 {
			require.NoError(t, b.Acquire(t.Context(), PriorityEnrichment))
		}
		err := b.Acquire(t.Context(), PriorityEnrichment)
		require.ErrorIs(t, err, ErrBlocked)
		var e *Error
		require.True(t, errors.As(err, &e))
		require.Equal(t, ReasonDailyBudget, e.Reason)
		require.Equal(t, 24*time.Hour, e.RetryAfter, "the first of the day's calls leaves the rolling day")
		require.NoError(t, b.Acquire(t.Context(), PriorityMonitor), "the daily cap is enrichment's alone")
	})
}

func TestBudgetAcquireHonoursContext(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := testBudget(BudgetConfig{})
		b.NoteRateLimit(PriorityMonitor, 20*time.Second, "")
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		require.ErrorIs(t, b.Acquire(ctx, PriorityMonitor), context.DeadlineExceeded)
	})
}

func TestBudgetConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  BudgetConfig
		ok   bool
	}{
		{"Defaults", BudgetConfig{}, true},
		{"ShareOne", BudgetConfig{EnrichmentShare: 1}, true},
		{"ShareTooBig", BudgetConfig{EnrichmentShare: 1.5}, false},
		{"NegativeShare", BudgetConfig{EnrichmentShare: -0.1}, false},
		{"NegativeRequests", BudgetConfig{Requests: -1}, false},
		{"ReserveTooBig", BudgetConfig{Requests: 5, InteractiveReserve: 5}, false},
		{"NegativeDaily", BudgetConfig{EnrichmentPerDay: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.withDefaults().validate()
			if tt.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
		})
	}
}

func TestPriorityContext(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	require.Equal(t, PriorityMonitor, PriorityFromContext(ctx))
	require.Equal(t, PriorityEnrichment, PriorityFromContext(WithPriority(ctx, PriorityEnrichment)))
	require.Equal(t, PriorityMonitor, PriorityFromContext(WithPriority(ctx, Priority(42))))
	require.Equal(t, "interactive", PriorityInteractive.String())
}
