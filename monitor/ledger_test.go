package monitor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLedger(t *testing.T) {
	t.Parallel()
	const s = int64(time.Second / time.Millisecond)
	t.Run("ExactKey", func(t *testing.T) {
		t.Parallel()
		l := newLedger()
		a, b := l.hash("a"), l.hash("b")
		l.addHistory(a, 100*s, false)
		require.True(t, l.has(a, 100*s))
		require.False(t, l.has(b, 100*s), "same instant, another track")
		require.False(t, l.has(a, 100*s+1), "a millisecond later is another play")
	})
	t.Run("HistoryMatchesRealtimeOnce", func(t *testing.T) {
		t.Parallel()
		l := newLedger()
		a := l.hash("a")
		// Realtime play: played_at = start+ms at 300 s, paused 20 s, so it
		// really ended at 320 s, where recently-played will put it.
		l.addRealtime(a, 300*s, 320*s, 0, false)
		require.False(t, l.matchHistory(l.hash("b"), 320*s), "another track never matches")
		require.True(t, l.matchHistory(a, 320*s))
		require.False(t, l.matchHistory(a, 321*s), "one stream absorbs one play")
	})
	t.Run("ReplaysMatchNearest", func(t *testing.T) {
		t.Parallel()
		l := newLedger()
		a := l.hash("a")
		// The same 40 s track twice in a row, both captured live.
		l.addRealtime(a, 140*s, 140*s, 0, false)
		l.addRealtime(a, 180*s, 180*s, 0, false)
		require.True(t, l.matchHistory(a, 180*s))
		require.True(t, l.matchHistory(a, 140*s))
		require.False(t, l.matchHistory(a, 141*s), "both streams are taken")
	})
	t.Run("RealtimeMatchesHistory", func(t *testing.T) {
		t.Parallel()
		l := newLedger()
		a := l.hash("a")
		l.addHistory(a, 500*s, false)
		tol := matchTolerance.Milliseconds()
		require.False(t, l.matchRealtime(a, 700*s-tol, 700*s+tol, 700*s), "too far")
		require.True(t, l.matchRealtime(a, 480*s-tol, 505*s+tol, 505*s))
		require.False(t, l.matchRealtime(a, 480*s-tol, 505*s+tol, 505*s), "already matched")
	})
	t.Run("LoadedRealtimeAllowsPauses", func(t *testing.T) {
		t.Parallel()
		l := newLedger()
		a := l.hash("a")
		l.addRealtime(a, 300*s, 300*s, pauseAllowance, false)
		require.True(t, l.matchHistory(a, 300*s+10*60*s), "paused ten minutes")
	})
	t.Run("PruneAndBound", func(t *testing.T) {
		t.Parallel()
		l := newLedger()
		for i := range ledgerMax + 10 {
			l.addHistory(l.hash("a"), int64(i)*s, false)
		}
		require.Len(t, l.entries, ledgerMax)
		require.False(t, l.has(l.hash("a"), 0), "oldest dropped")
		l.prune(int64(ledgerMax) * s)
		require.Len(t, l.entries, 10)
		require.True(t, l.has(l.hash("a"), int64(ledgerMax+9)*s))
	})
}
