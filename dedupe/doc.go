// Package dedupe decides which plays of an import are already stored.
//
// It is pure: no I/O, no clock, no global state. The caller reads an export into
// [Entry] values, loads the stored plays of the same user over the same period,
// and asks a [Policy] for one [Decision] per entry: import it, or drop it as a
// duplicate of a stored play or of another entry of the same import. Every
// decision says why and, for a duplicate, what it matched and by how much the
// times differ.
//
// # The model
//
// A play is an interval of time ending at its played_at (Spotify's convention in
// both the API and the export). How well each end is known depends on how the
// play was captured:
//
//   - an export or import row ([store.SourceImport]) knows its end to its
//     [Entry.Precision] (a second in extended history, a minute in account data,
//     a millisecond in JSON Lines) and its length (ms_played), hence its start;
//   - a history row ([store.SourceHistory]) carries Spotify's played_at, which is
//     the end of the stream on most days and its start on others, and no length;
//   - a realtime row ([store.SourceRealtime]) observed the stream: its start at
//     poll granularity and a length that may fall short of the real one, so its
//     interval [played_at − ms_played, played_at] lies inside the real stream.
//
// Two plays of the same recording are the same stream when their times are
// consistent with those models (see [Options] for the tolerances). Two streams of
// one recording never overlap, and a stored play can stand for one stream only,
// so [OneToOne] matches entries to stored plays one-to-one: a stored play absorbs
// at most one entry, a back-to-back replay is kept, and a play that live
// monitoring missed is imported.
//
// # Identity
//
// An entry and a stored play are the same recording when they carry the same
// track id, or — because ids change (relinking, remasters) and account data
// has no ids at all — when their names normalised by [store.NormalizeName] are
// equal and one of the entry's artists is among the stored track's artists, or
// their album names are equal too. Extended history names the album artist,
// which is the track's first artist except on compilations; those match by
// album.
//
// # Assignment
//
// [OneToOne] builds every compatible (entry, stored play) pair with a cost (the
// time difference, in milliseconds, plus penalties described on [Options]),
// splits the pairs into connected groups, and solves each group exactly: the
// largest set of pairs that keeps both sides in time order (plays of one
// recording cannot cross), and among those the cheapest. Most groups are one
// entry and one play; a long loop of one track forms a chain that the solver
// handles in O(p log p) for p pairs.
//
// # Duplicates within an import
//
// Spotify's exports repeat some streams: the same row twice, or the same row
// with a ts about a minute later. Two entries of one recording (same
// normalised name and first artist; same id for unnamed entries) are one
// stream, and the later is [ReasonDuplicateInFile], when either
//
//   - they end in the same instant at their precision (same ts for two
//     extended-history rows; for account data, or an account row against an
//     extended one, ms_played must also be equal, because two short plays of
//     one track can end in the same minute) — [RuleSameTS]; or
//   - their [end − ms_played, end] intervals overlap by at least
//     [Options].InFileMinOverlap (15 s) for every true end their precision
//     allows — [RuleOverlap]. Two streams of one track cannot overlap by more
//     than a crossfade (at most 12 s), so this is implausible for a replay.
//
// A minute-later duplicate of a stream shorter than about 75 s overlaps its
// original by less than 15 s and is kept: it is indistinguishable from a
// crossfaded replay. The labelled corpus of package dedupetest counts these.
//
// # Costs
//
// Each pair's cost is its time difference in milliseconds. The reading of a
// history row that its UTC day does not favour costs HistoryTolerance more; a
// match by name rather than id costs 0.5 s more; a match of an excluded entry
// 3 s more; a realtime row also costs what it did not see of the stream, and
// a paused stream its pause.
//
// [Original] reproduces the three phases of the system spotifyhist replaces,
// for comparison only: it loses most plays that monitoring missed and merges
// genuine replays.
package dedupe
