// Package dedupetest generates labelled listening histories for testing and
// measuring duplicate detection and the import pipeline.
//
// [Generate] simulates years of one listener, deterministically from a seed:
// sessions at plausible hours, skips (most under 30 s, some longer), back-to-back
// replays of a track, pauses, crossfades that make streams overlap, offline and
// private sessions, podcasts, local files, tracks Spotify relinked to a new id,
// tracks no longer available, and "same-second" rows of two different tracks.
// The result, a [Corpus], holds the truth (every stream and whether it counts as
// a play) and what each capture of that history would hold:
//
//   - what live monitoring stored in each mode ([Corpus.Capture]): history mode
//     polls recently-played every 20 minutes and keeps the last 50 plays, which
//     lack local files and private plays, omit half the skipped ones, carry
//     Spotify's played_at (the end of the stream, but the start on some days),
//     and lose whatever an outage pushes out of the window; realtime mode polls
//     currently-playing every 5 seconds, sees the start at poll granularity and
//     an ms_played no longer than the real one, and sees nothing offline or
//     during its own outages; hybrid mode stores history rows plus realtime rows
//     of local files. Older plays are stored by an earlier import of an export.
//   - the export of the same history: extended-history rows
//     ([Corpus.Rows], [Corpus.Entries], [Corpus.WriteExtendedZip]) with Spotify's
//     duplicate rows (exact, and about a minute apart), and optionally
//     account-data rows of the last year ([Corpus.AccountEntries],
//     [Corpus.WriteAccountZip]).
//
// [Corpus.Evaluate] scores an import against the truth: plays monitoring
// missed that were imported, genuine replays that were merged away, plays
// stored twice.
package dedupetest
