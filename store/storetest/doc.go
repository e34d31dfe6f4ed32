// Package storetest is the conformance suite every [store.Store]
// implementation must pass, with the factories and benchmark helpers that go
// with it.
//
// A backend wires it from a _test.go file:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return newTestStore(t) })
//	}
//
// The factory is called once per subtest and must return an isolated, empty,
// migrated store that is closed by t.Cleanup. Every subtest runs in
// parallel.
//
// # What the suite fixes
//
// The suite asserts the rules written in the store package's doc comments and
// nothing a particular database happens to do. Where the doc comments leave a
// choice open, the suite settles it once for every backend:
//
//   - ClaimUsers orders free users by how long they have been unassigned; for
//     users never leased that is their creation time.
//   - SyncOwnedPlaylists and AddUserPlaylist upsert a playlist's metadata but
//     never its SnapshotID or ScannedAt: those describe the stored rows and
//     only ReplacePlaylistTracks records them, so a scanner comparing
//     snapshots rescans a playlist whose rows it has not stored yet.
//   - Top albums list as Artists the distinct first-credited artists of the
//     album's catalogue tracks, ordered by id.
//   - Methods that name a user, track, playlist, import or worker that does
//     not exist return [store.ErrNotFound]; unknown enumerations (mode, task,
//     task status, play source, playlist row status) return
//     [store.ErrInvalid].
//
// Times are compared at millisecond precision, by instant (never by
// location), except OverTime bucket starts, which must also carry the
// caller's location.
//
// # Statistics
//
// Every StatsStore query is checked against a brute-force recomputation in
// Go over the plays the store reports through ListPlays, for random plays of
// several users, in UTC, America/New_York (daylight saving time) and
// Asia/Kolkata (a half-hour offset), over ranges whose edges fall anywhere,
// and for all users at once. The checks are repeated after MergeTracks and
// DeleteUser, so rollups a backend maintains can never drift from the plays.
//
// # Benchmarks
//
// [BenchInsert] and [BenchQueries] measure the quality bars of the design
// (inserting an import of 131,000 plays; every dashboard query at 1,000,000
// plays) over the deterministic data set of [GenerateDataset].
package storetest
