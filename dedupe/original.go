package dedupe

import (
	"time"

	"github.com/spotifyhist/spotifyhist/store"
)

// OriginalPolicy is the duplicate detection of the system spotifyhist
// replaces, kept to compare against. Make one with [Original].
type OriginalPolicy struct{}

var _ Policy = OriginalPolicy{}

// Original returns the original system's policy. For each entry, in the order
// given (the file order):
//
//  1. exact timestamp: a stored play ends in the same second, whatever its track
//     (RuleExactSecond);
//  2. 7.5-minute window: a stored play of the same track id within 450 s
//     (RuleWindow450; the nearest is reported);
//  3. sequential context: a stored play in the entry's 15-minute bucket or
//     either neighbour bucket has the track id of the previous or the next entry
//     (RuleSequentialContext).
//
// Surviving entries then meet the original schema's unique (user, second)
// constraint: an entry whose second an earlier surviving entry took is
// dropped (RuleUniqueSecond, ReasonDuplicateInFile). Entries without a track id
// (account data) skip phases 2 and 3, as the original read only extended
// history. Excluded entries are left out entirely.
func Original() OriginalPolicy { return OriginalPolicy{} }

// String names the policy in logs and analyses.
func (OriginalPolicy) String() string { return "original" }

// Match implements [Policy].
func (OriginalPolicy) Match(entries []Entry, stored []store.PlayWithTrack) []Decision {
	const (
		window = 450 // seconds
		bucket = 900 // seconds
	)
	exact := make(map[int64]int32, len(stored))
	byTrack := make(map[string][]int32)
	byBucket := make(map[int64][]int32)
	for i := range stored {
		s := &stored[i]
		sec := s.PlayedAt.Unix()
		if _, ok := exact[sec]; !ok {
			exact[sec] = int32(i)
		}
		byTrack[s.TrackID] = append(byTrack[s.TrackID], int32(i))
		b := floorDiv(sec, bucket)
		byBucket[b] = append(byBucket[b], int32(i))
	}
	dec := make([]Decision, len(entries))
	match := func(d *Decision, e *Entry, si int32, rule string) {
		d.Reason = ReasonDuplicateExisting
		d.Rule = rule
		d.Matched = &stored[si].Play
		d.Delta = stored[si].PlayedAt.Sub(e.PlayedAt)
	}
	for i := range entries {
		e := &entries[i]
		d := &dec[i]
		d.Entry = e.Key
		if e.Excluded {
			d.Reason = ReasonExcluded
			continue
		}
		sec := e.PlayedAt.Unix()
		if si, ok := exact[sec]; ok {
			match(d, e, si, RuleExactSecond)
			continue
		}
		if e.TrackID == "" {
			continue
		}
		nearest, nearestD := int32(-1), int64(window+1)
		for _, si := range byTrack[e.TrackID] {
			if dd := absInt(stored[si].PlayedAt.Unix() - sec); dd <= window && dd < nearestD {
				nearest, nearestD = si, dd
			}
		}
		if nearest >= 0 {
			match(d, e, nearest, RuleWindow450)
			continue
		}
		var prev, next string
		if i > 0 {
			prev = entries[i-1].TrackID
		}
		if i+1 < len(entries) {
			next = entries[i+1].TrackID
		}
		b := floorDiv(sec, bucket)
	context:
		for bb := b - 1; bb <= b+1; bb++ {
			for _, si := range byBucket[bb] {
				if id := stored[si].TrackID; id != "" && (id == prev || id == next) {
					match(d, e, si, RuleSequentialContext)
					break context
				}
			}
		}
	}
	taken := make(map[int64]int, len(entries))
	for i := range entries {
		d := &dec[i]
		if d.Reason != ReasonImport {
			continue
		}
		sec := entries[i].PlayedAt.Unix()
		if first, ok := taken[sec]; ok {
			d.Reason = ReasonDuplicateInFile
			d.Rule = RuleUniqueSecond
			d.MatchedEntry = entries[first].Key
			d.Delta = entries[first].PlayedAt.Sub(entries[i].PlayedAt).Truncate(time.Millisecond)
			continue
		}
		taken[sec] = i
	}
	return dec
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

func absInt(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
