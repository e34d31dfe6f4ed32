package dedupe

import (
	"time"

	"github.com/spotifyhist/spotifyhist/store"
)

// Reasons, the values of [Decision.Reason]. The duplicate reasons are the keys
// the import analysis counts under "excluded".
const (
	// ReasonImport: the entry is a play to import.
	ReasonImport = ""
	// ReasonDuplicateExisting: the entry is a stored play ([Decision.Matched]).
	ReasonDuplicateExisting = "duplicate_existing"
	// ReasonDuplicateInFile: the entry repeats another entry of the same import
	// ([Decision.MatchedEntry]).
	ReasonDuplicateInFile = "duplicate_in_file"
	// ReasonExcluded: the entry was passed with [Entry.Excluded] set; it is not
	// imported whatever it matched.
	ReasonExcluded = "excluded"
)

// Rules say how a duplicate was recognised, the values of [Decision.Rule].
const (
	// OneToOne, against a stored play:
	RuleImport        = "import"         // end times agree within both precisions (export or import rows)
	RuleHistoryEnd    = "history_end"    // Spotify's played_at is the entry's end
	RuleHistoryStart  = "history_start"  // Spotify's played_at is the entry's start
	RuleRealtime      = "realtime"       // the observed interval agrees with the entry's
	RuleHistoryPoints = "history_points" // two history-style timestamps agree

	// OneToOne, within the import:
	RuleSameTS  = "same_ts" // same recording, same end at the entries' precision
	RuleOverlap = "overlap" // same recording, streams that must overlap by more than Options.InFileMinOverlap

	// Original:
	RuleExactSecond       = "exact_second"       // phase 1: a stored play ends in the same second (any track)
	RuleWindow450         = "window_450s"        // phase 2: the same track id within 450 s
	RuleSequentialContext = "sequential_context" // phase 3: a neighbour entry's track stored within ±15 min buckets
	RuleUniqueSecond      = "unique_second"      // the old schema's unique (user, second): an earlier entry took this second
)

// Entry is one play of an import, reduced to what matching needs.
type Entry struct {
	// Key identifies the entry to the caller; decisions refer to it. Keys should
	// be unique; they also order entries that are otherwise equal.
	Key int
	// TrackID is the catalogue id the import would store the play under: a
	// Spotify id, a local-file id, or empty when the export names the track only
	// (account data).
	TrackID   string
	TrackName string
	// Artists are the artist names the export gives: the album artist for
	// extended history, the artist for account data, all artists for JSON Lines.
	Artists []string
	// Album is the album name when the export gives one (extended history, JSON
	// Lines). Name and album identify a recording too, which matters on
	// compilations, whose album artist is none of the track's artists.
	Album string
	// PlayedAt is the end of the stream. Its true value lies in
	// [PlayedAt, PlayedAt+Precision).
	PlayedAt time.Time
	// MSPlayed is how long the stream played; 0 when unknown.
	MSPlayed int
	// Precision of PlayedAt: a second for extended history, a minute for account
	// data, a millisecond for JSON Lines. Zero means a millisecond.
	Precision time.Duration
	// Source is how the play was captured: store.SourceImport (or empty) for an
	// export, or the source a JSON Lines entry carries.
	Source store.Source
	// Excluded marks an entry that will not be imported (too short, incognito,
	// skipped, ...) but is still a stream: it takes part in matching so that the
	// stored play of that stream is not claimed by a neighbouring entry. Its
	// decision has ReasonExcluded.
	Excluded bool
}

// Decision is what a policy decided for one entry.
type Decision struct {
	// Entry is the entry's Key.
	Entry int
	// Reason is ReasonImport (""), ReasonDuplicateExisting, ReasonDuplicateInFile
	// or ReasonExcluded.
	Reason string
	// Rule says how the duplicate was recognised (Rule* constants); empty for an
	// import.
	Rule string
	// ByName is true when the match relied on the normalised name and artist
	// because the track ids differ or one is missing.
	ByName bool
	// Matched is the stored play the entry duplicates (ReasonDuplicateExisting,
	// or ReasonExcluded when the excluded entry absorbed a stored play). It points
	// into the stored slice passed to Match.
	Matched *store.Play
	// MatchedEntry is the Key of the entry this one repeats; meaningful only with
	// ReasonDuplicateInFile.
	MatchedEntry int
	// Delta is the matched time minus the entry's PlayedAt (Matched.PlayedAt, or
	// the PlayedAt of the entry it repeats).
	Delta time.Duration
}

// IsImport reports whether the entry is to be imported.
func (d *Decision) IsImport() bool { return d.Reason == ReasonImport }

// Policy decides which entries of an import are already stored.
//
// Match returns one decision per entry, in the order of entries. stored holds
// the user's stored plays over (at least) the period of the entries, in any
// order; neither slice is modified. Implementations must be deterministic.
type Policy interface {
	Match(entries []Entry, stored []store.PlayWithTrack) []Decision
}

// Defaults of [Options].
const (
	// HistoryToleranceDefault: Spotify's played_at and the export's ts of one
	// stream usually agree to a second; the margin covers clock differences.
	HistoryToleranceDefault = 30 * time.Second
	// RealtimeToleranceDefault: a realtime row's start and end are observed at
	// poll granularity (5 s by default).
	RealtimeToleranceDefault = 10 * time.Second
	// RealtimeMinOverlapDefault: streams of one recording overlap at most by a
	// crossfade (≤ 12 s) plus a poll interval.
	RealtimeMinOverlapDefault = 20 * time.Second
	// ExactSlackDefault: rounding of export timestamps.
	ExactSlackDefault = time.Second
	// InFileMinOverlapDefault: two entries of one recording that must overlap by
	// more than Spotify's longest crossfade (12 s) are one stream.
	InFileMinOverlapDefault = 15 * time.Second
	// MaxPauseDefault: the longest pause within one stream the matcher explains.
	MaxPauseDefault = time.Hour
)

// Options tune [OneToOne]. A nil *Options, or a zero field, means the default.
type Options struct {
	// HistoryTolerance is how far a history row's played_at may be from the
	// entry's end (or start, on days when Spotify reports starts). Default
	// HistoryToleranceDefault (30 s). On each UTC day the less likely of the two
	// readings (decided by the unambiguous rows of that day, the end by default)
	// costs HistoryTolerance more, so it only wins when nothing else fits.
	HistoryTolerance time.Duration
	// RealtimeTolerance is how far a realtime row's observed start or end may be
	// from the entry's. Default RealtimeToleranceDefault (10 s).
	RealtimeTolerance time.Duration
	// RealtimeMinOverlap: a realtime row also matches when its observed interval
	// overlaps the entry's by at least this much (a paused stream, a monitor that
	// lost sight of it). Default RealtimeMinOverlapDefault (20 s).
	RealtimeMinOverlap time.Duration
	// ExactSlack widens the end intervals of export and import rows. Default
	// ExactSlackDefault (1 s).
	ExactSlack time.Duration
	// InFileMinOverlap: two entries of one recording are one stream when their
	// [end − ms_played, end] intervals overlap by at least this much for every
	// end their precision allows (this catches Spotify's duplicates that differ
	// only by about a minute in ts). Default InFileMinOverlapDefault (15 s).
	InFileMinOverlap time.Duration
	// MaxPause: a paused stream ends later than its start plus ms_played, so an
	// export's start (ts − ms_played) is late by the pause. A realtime row that
	// started up to MaxPause before the entry's start and saw no more of it than
	// the entry played, ending no later than the entry, matches, as does a
	// history row up to MaxPause before the entry's start on a day Spotify
	// reported starts; the pause is the cost. Default MaxPauseDefault (1 h).
	MaxPause time.Duration
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&r.HistoryTolerance, HistoryToleranceDefault)
	def(&r.RealtimeTolerance, RealtimeToleranceDefault)
	def(&r.RealtimeMinOverlap, RealtimeMinOverlapDefault)
	def(&r.ExactSlack, ExactSlackDefault)
	def(&r.InFileMinOverlap, InFileMinOverlapDefault)
	def(&r.MaxPause, MaxPauseDefault)
	return r
}
