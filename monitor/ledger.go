package monitor

import (
	"hash/maphash"
	"slices"
	"time"
)

// The ledger remembers one user's recently stored plays so that a listening
// task neither writes a play twice nor stores one stream twice under two
// sources.
//
// A play seen by recently-played (source history) carries Spotify's
// played_at, the wall-clock end of the stream. A play captured by
// currently-playing (source realtime) carries start + ms_played, which is
// earlier than the wall-clock end when the stream was paused. The same
// stream caught both ways therefore has two different keys, and the store's
// unique key (user, played_at, track) cannot tell them apart: the ledger
// matches them instead, one to one, by track and by the distance between
// the history played_at and the realtime play's estimated wall-clock end.

const (
	// matchTolerance is how far a recently-played played_at may be from a
	// realtime play's estimated end and still be the same stream. The end
	// estimate is exact to a few hundred milliseconds when the next item was
	// seen, and within one currently-playing interval otherwise.
	matchTolerance = 90 * time.Second
	// pauseAllowance widens the window of realtime plays loaded from the
	// store, whose wall-clock end is unknown: it is at least played_at
	// (start + ms_played) and later by the time the stream was paused.
	pauseAllowance = 15 * time.Minute
	// ledgerMax bounds the entries kept per user.
	ledgerMax = 2000
)

// trackHash is the ledger's compact track identity.
type trackHash uint64

// ledgerEntry is one stored (or about to be stored) play, in 32 bytes: a
// worker keeps a few dozen per user.
type ledgerEntry struct {
	track   trackHash
	at      int64 // played_at, unix ms (the stored key)
	endOff  int32 // estimated wall-clock end - at, ms
	extra   int32 // realtime entries: how much later than the end may still match, ms
	source  source
	matched bool // matched to a play of the other source already
}

// source is a play's source, in one byte.
type source uint8

const (
	sourceHistory source = iota // recently-played (or an import: an exact end)
	sourceRealtime
)

// end is the estimated wall-clock end, unix ms.
func (e *ledgerEntry) end() int64 { return e.at + int64(e.endOff) }

// window is the range of history played_at values a realtime entry matches.
func (e *ledgerEntry) window() (lo, hi int64) {
	tol := matchTolerance.Milliseconds()
	return min(e.at, e.end()) - tol, e.end() + tol + int64(e.extra)
}

type ledger struct {
	seed    maphash.Seed
	entries []ledgerEntry // sorted by at
}

func newLedger() *ledger { return &ledger{seed: maphash.MakeSeed()} }

func (l *ledger) hash(trackID string) trackHash {
	return trackHash(maphash.String(l.seed, trackID))
}

// has reports whether a play with exactly this key is in the ledger.
func (l *ledger) has(h trackHash, at int64) bool {
	i, _ := slices.BinarySearchFunc(l.entries, at, func(e ledgerEntry, at int64) int { return cmpInt(e.at, at) })
	for ; i < len(l.entries) && l.entries[i].at == at; i++ {
		if l.entries[i].track == h {
			return true
		}
	}
	return false
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// add inserts e keeping the order, and bounds the ledger's size.
func (l *ledger) add(e ledgerEntry) {
	i, _ := slices.BinarySearchFunc(l.entries, e.at, func(x ledgerEntry, at int64) int {
		if x.at <= at {
			return -1
		}
		return 1
	})
	l.entries = slices.Insert(l.entries, i, e)
	if n := len(l.entries) - ledgerMax; n > 0 {
		l.entries = slices.Delete(l.entries, 0, n)
	}
}

// addHistory records a play stored from recently-played.
func (l *ledger) addHistory(h trackHash, at int64, matched bool) {
	l.add(ledgerEntry{track: h, source: sourceHistory, at: at, matched: matched})
}

// addRealtime records a play captured by currently-playing: played_at at,
// estimated wall-clock end, and how uncertain that end is (extra is added
// after it, for loaded plays whose pauses are unknown).
func (l *ledger) addRealtime(h trackHash, at, end int64, extra time.Duration, matched bool) {
	l.add(ledgerEntry{
		track: h, source: sourceRealtime, at: at, endOff: int32(max(min(end-at, 1<<31-1), -1<<31)),
		extra: int32(extra.Milliseconds()), matched: matched,
	})
}

// matchHistory looks for an unmatched realtime play of the track whose
// window contains the history played_at at, nearest end first, and marks it
// matched. It reports whether one was found.
func (l *ledger) matchHistory(h trackHash, at int64) bool {
	best, bestDist := -1, int64(-1)
	for i := range l.entries {
		e := &l.entries[i]
		if e.track != h || e.source != sourceRealtime || e.matched {
			continue
		}
		if lo, hi := e.window(); at < lo || at > hi {
			continue
		}
		d := at - e.end()
		if d < 0 {
			d = -d
		}
		if best < 0 || d < bestDist {
			best, bestDist = i, d
		}
	}
	if best < 0 {
		return false
	}
	l.entries[best].matched = true
	return true
}

// matchRealtime looks for an unmatched history play of the track whose
// played_at lies in the window [lo, hi] of a realtime play ending at end,
// nearest first, and marks it matched.
func (l *ledger) matchRealtime(h trackHash, lo, hi, end int64) bool {
	best, bestDist := -1, int64(-1)
	i, _ := slices.BinarySearchFunc(l.entries, lo, func(e ledgerEntry, at int64) int { return cmpInt(e.at, at) })
	for ; i < len(l.entries) && l.entries[i].at <= hi; i++ {
		e := &l.entries[i]
		if e.track != h || e.source == sourceRealtime || e.matched {
			continue
		}
		d := e.at - end
		if d < 0 {
			d = -d
		}
		if best < 0 || d < bestDist {
			best, bestDist = i, d
		}
	}
	if best < 0 {
		return false
	}
	l.entries[best].matched = true
	return true
}

// prune forgets plays with played_at before cutoff (unix ms): recently-played
// is never asked for them again.
func (l *ledger) prune(cutoff int64) {
	i, _ := slices.BinarySearchFunc(l.entries, cutoff, func(e ledgerEntry, at int64) int { return cmpInt(e.at, at) })
	if i > 0 {
		l.entries = slices.Delete(l.entries, 0, i)
	}
}
