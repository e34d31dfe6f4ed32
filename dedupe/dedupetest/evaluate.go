package dedupetest

import (
	"fmt"
	"time"

	"github.com/spotifyhist/spotifyhist/dedupe"
)

// Quality scores an import against the truth of one capture.
type Quality struct {
	// Plays counts the plays (Play.IsPlay); Captured those the capture stored;
	// Missed the others.
	Plays    int `json:"plays"`
	Captured int `json:"captured"`
	Missed   int `json:"missed"`
	// MissedImported counts missed plays the import stored.
	MissedImported int `json:"missed_imported"`
	// MissedLive and MissedLiveImported count the same for the plays that
	// ended while live monitoring ran (Corpus.MonitorFrom on): the hard ones,
	// surrounded by plays the monitor did store.
	MissedLive         int `json:"missed_live"`
	MissedLiveImported int `json:"missed_live_imported"`
	// Replays counts plays that replay a recording within ReplayWindowDefault;
	// ReplaysMerged those stored neither by the capture nor by the import.
	Replays       int `json:"replays"`
	ReplaysMerged int `json:"replays_merged"`
	// Lost counts plays stored nowhere after the import; Doubled plays stored
	// more than once.
	Lost    int `json:"lost"`
	Doubled int `json:"doubled"`
	// DoubledPlays are the plays stored more than once.
	DoubledPlays []int `json:"doubled_plays,omitempty"`
	// Imported counts imported entries; Spurious those that are no play at all
	// (an import of an excluded row).
	Imported int `json:"imported"`
	Spurious int `json:"spurious"`
}

// MissedImportedRate is MissedImported / Missed (1 when nothing was missed).
func (q Quality) MissedImportedRate() float64 { return rate(q.MissedImported, q.Missed, 1) }

// MissedLiveImportedRate is MissedLiveImported / MissedLive (1 when nothing was missed).
func (q Quality) MissedLiveImportedRate() float64 { return rate(q.MissedLiveImported, q.MissedLive, 1) }

// ReplaysMergedRate is ReplaysMerged / Replays.
func (q Quality) ReplaysMergedRate() float64 { return rate(q.ReplaysMerged, q.Replays, 0) }

// DoubledRate is Doubled / Plays.
func (q Quality) DoubledRate() float64 { return rate(q.Doubled, q.Plays, 0) }

func rate(a, b int, empty float64) float64 {
	if b == 0 {
		return empty
	}
	return float64(a) / float64(b)
}

func (q Quality) String() string {
	return fmt.Sprintf("plays %d, captured %d, missed %d: imported %d (%.3f%%), while monitoring %d: imported %d (%.3f%%); replays %d: merged %d (%.3f%%); lost %d, doubled %d (%.3f%%); imported %d, spurious %d",
		q.Plays, q.Captured, q.Missed, q.MissedImported, 100*q.MissedImportedRate(),
		q.MissedLive, q.MissedLiveImported, 100*q.MissedLiveImportedRate(),
		q.Replays, q.ReplaysMerged, 100*q.ReplaysMergedRate(), q.Lost, q.Doubled, 100*q.DoubledRate(), q.Imported, q.Spurious)
}

// Evaluate scores an import of the extended history into a store holding cp:
// imported are the keys of the entries the import stored.
func (c *Corpus) Evaluate(cp *Capture, imported []int) Quality {
	return c.evaluate(cp, imported, nil)
}

// EvaluateAccount scores an import of the account data (keys of
// AccountEntries), counting only the plays the account data covers.
func (c *Corpus) EvaluateAccount(cp *Capture, imported []int) Quality {
	covered := make([]bool, len(c.Plays))
	for _, r := range c.AccountRows {
		covered[r.Truth] = true
	}
	return c.evaluate(cp, imported, covered)
}

func (c *Corpus) evaluate(cp *Capture, imported []int, covered []bool) Quality {
	count := make([]int32, len(c.Plays))
	for _, t := range cp.Truth {
		count[t]++
	}
	missed := make([]bool, len(c.Plays))
	for _, t := range cp.Missed {
		missed[t] = true
	}
	q := Quality{Imported: len(imported)}
	for _, k := range imported {
		t := c.TruthOf(k)
		if t < 0 || !c.Plays[t].IsPlay {
			q.Spurious++
			continue
		}
		count[t]++
	}
	for i := range c.Plays {
		p := &c.Plays[i]
		if !p.IsPlay || covered != nil && !covered[i] {
			continue
		}
		q.Plays++
		n := count[i]
		if missed[i] {
			q.Missed++
			live := !p.End.Before(c.MonitorFrom)
			if live {
				q.MissedLive++
			}
			if n > 0 {
				q.MissedImported++
				if live {
					q.MissedLiveImported++
				}
			}
		}
		if p.Replay {
			q.Replays++
			if n == 0 {
				q.ReplaysMerged++
			}
		}
		switch {
		case n == 0:
			q.Lost++
		case n > 1:
			q.Doubled++
			q.DoubledPlays = append(q.DoubledPlays, i)
		}
	}
	q.Captured = q.Plays - q.Missed
	return q
}

// ShortQuirkPlays returns the plays whose export has a duplicate row written
// about a minute later (Spotify's quirk) that must overlap the original by
// less than dedupe.InFileMinOverlapDefault: too little to tell it from a
// crossfaded replay, so an import keeps both.
func (c *Corpus) ShortQuirkPlays() []int {
	orig := make(map[int]time.Time)
	for i := range c.Rows {
		if !c.Rows[i].Duplicate {
			orig[c.Rows[i].Truth] = c.Rows[i].TS
		}
	}
	var out []int
	for i := range c.Rows {
		r := &c.Rows[i]
		if !r.Duplicate || r.TS.Equal(orig[r.Truth]) || !c.Plays[r.Truth].IsPlay {
			continue
		}
		d := r.TS.Sub(orig[r.Truth])
		if d < 0 {
			d = -d
		}
		if time.Duration(r.MSPlayed)*time.Millisecond-d-time.Second < dedupe.InFileMinOverlapDefault {
			out = append(out, r.Truth)
		}
	}
	return out
}
