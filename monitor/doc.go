// Package monitor is spotifyhist's background system. It shares the users
// among the running serve processes and, for each user, runs the listening
// monitor (recently-played and currently-playing polls, by mode) and the
// playlist scanner; one replica also runs the song-ID updater. The package
// also holds the artist linker and the historical import pipeline, which
// the daemon and the command line run on their own schedules.
//
// Create a [Monitor] with [New] and a [Config] naming the [Store] and the
// [Clients] that build each user's Spotify client, then call [Monitor.Run];
// [Monitor.Ready] answers /readyz.
//
// # Workers, heartbeats and leases
//
// Every serve process is a worker with a row in the workers table. Users
// are owned through leases: a user row carries the id of the worker that
// holds it and when that lease expires. Nothing else coordinates the
// workers; they never talk to each other.
//
// A worker runs one loop, every HeartbeatInterval (5 s):
//
//  1. Heartbeat. The first iteration registers the worker. If the heartbeat
//     finds the row gone, another worker declared this one dead and freed its
//     leases: it stops every user's tasks at once and registers again.
//  2. Remove stale workers: rows whose heartbeat is older than LeaseTTL
//     (20 s) are deleted and their leases freed in the same statement.
//  3. Renew. Every lease this worker still holds is extended to now+LeaseTTL,
//     and the database answers with those users and their current settings.
//     A user missing from the answer (disabled, needing re-authorisation,
//     deleted, or claimed by another worker after our lease expired) is
//     stopped at once; a user whose mode changed has its listening task
//     restarted in the new mode.
//  4. Fair share. With N live workers and C claimable users (enabled, not
//     needing re-authorisation), each worker's share is ceil(C/N). A worker
//     above its share stops the users it claimed last and, only once their
//     tasks have ended, releases them, so a newly started replica receives
//     users within a couple of heartbeats. A worker below its share claims
//     free users (never leased, released, or whose lease expired) up to it;
//     the claim is atomic in the database, so a user is never given to two
//     workers.
//
// # Term identity and the trust window
//
// A lease is identified by the worker id and its expiry; the database
// extends it only for the worker that holds it, and only as long as nobody
// else claimed it. The worker itself cannot see the database at every
// instant, so it keeps a local deadline: the time it sent its last
// successful renewal plus LeaseTTL, minus a margin for clock skew and calls
// in flight (LeaseTTL/10, at most 2 s). This is the trust window.
//
//   - Every Spotify call of a user's task first checks the window; outside
//     it, the task waits for the next renewal instead of calling.
//   - A watchdog timer fires at the deadline: when it passes without a
//     successful renewal (the database is unreachable, the loop is stuck),
//     every user's tasks are cancelled at once. The users stay leased to
//     this worker in the database; if the next renewal succeeds before
//     anyone else claimed them, their tasks start again.
//
// Another worker can claim a user only after its lease expired in the
// database, which is after the local deadline, so two workers never poll one
// user at the same time. A worker that dies without releasing (kill -9)
// holds its leases until they expire: its users are claimed by survivors at
// their first iteration after that, within LeaseTTL + HeartbeatInterval
// (25 s with the defaults).
//
// # States of a user on one worker
//
//	           claim / renewal finds it ours
//	(free) ───────────────────────────────────▶ running
//	  ▲                                           │  │
//	  │ release (over the share, drain)           │  │ lease not renewed
//	  │ after the tasks stopped                   │  │ in time / row removed
//	  └──────────────── stopping ◀────────────────┘  ▼
//	                                          not trusted ──▶ running
//	                                     (tasks stopped; resumes when
//	                                      a renewal finds it still ours)
//
// # Per-user tasks
//
// Each task of each user is supervised: a panic is recovered, logged with
// its stack, counted (spotifyhist_task_panics_total), recorded as the
// task's error state, and the task restarts after an exponential backoff;
// other users are not affected. A rejected authorisation
// ([spotifyhist.ErrReauthRequired]) marks the user as needing a new login,
// which stops all of that user's tasks and releases the lease at the next
// renewal. Rate limits pause the user's polls until the block ends (at most
// RateLimitWaitMax); Spotify 5xx and network errors back off exponentially;
// plays that could not be stored because the database is unreachable are
// kept in memory and stored at the next attempt.
//
// # Listening modes
//
//   - history: recently-played every HistoryPollInterval (20 min), asking
//     for plays after the newest stored one minus HistoryOverlap, because
//     Spotify lists offline plays late with a past played_at. Re-fetched
//     plays are recognised and skipped.
//   - realtime: currently-playing every RealtimePollInterval (5 s). A play
//     is the track plus its observed start (fetch time minus progress); it is
//     stored when it ends, if 30 s (or half a shorter track) were heard, with
//     played_at = start + ms heard. Ads and episodes are ignored, paused time
//     is not counted, a repeat is a new play. Spans that currently-playing
//     did not watch (before the task started, outages) are filled from
//     recently-played.
//   - hybrid: both; currently-playing stores only local files.
//   - adaptive: currently-playing near the expected end of the current
//     track and at least every Adaptive.PlayingMax (25 s) while something
//     plays, so every play of 30 s or more is seen; backing off to
//     Adaptive.IdleMax (90 s) while nothing plays; recently-played every
//     Adaptive.HistoryInterval (30 min) and right after a listening session
//     ends, to add what currently-playing could not see (offline plays).
//
// One stream caught by both endpoints is stored once: a play from
// recently-played carries the wall-clock end of the stream, one from
// currently-playing its start plus the time heard, and the listening task
// matches them one to one by track and time before storing.
//
// # Resources
//
// A user costs one sleeping goroutine (the listening task; the playlist
// scanner waits on a timer) and a few kilobytes of state. The polls run on
// short-lived goroutines, at most PollConcurrency (16) at a time per worker,
// so that thousands of users falling due together, after a start or a
// failover, queue instead of holding thousands of responses in memory.
package monitor
