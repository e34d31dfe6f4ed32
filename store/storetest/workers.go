package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/store"
)

func runWorkers(t *testing.T, newStore func(t *testing.T) store.Store) {
	runCases(t, newStore, []testCase{
		{"RegisterAndList", testRegisterAndList},
		{"Heartbeat", testHeartbeat},
		{"DeleteStaleWorkersFreesLeases", testDeleteStaleWorkers},
		{"DeleteWorkerFreesLeases", testDeleteWorker},
		{"CountClaimable", testCountClaimable},
		{"ClaimLimit", testClaimLimit},
		{"ClaimOldestUnassignedFirst", testClaimOrder},
		{"ClaimSkipsDisabledAndReauth", testClaimSkipsUnclaimable},
		{"ExpiredLeaseReclaimable", testExpiredLeaseReclaimable},
		{"RenewOnlyOwn", testRenewOnlyOwn},
		{"RenewAfterExpiryWhenUnclaimed", testRenewAfterExpiry},
		{"RenewReleasesDisabledAndReauth", testRenewReleasesDisabled},
		{"ReleaseOnlyOwn", testReleaseOnlyOwn},
		{"ConcurrentLeasesNeverShared", testConcurrentLeases},
	})
}

const leaseTTL = 30 * time.Second

func userIDs(users []store.User) []string {
	ids := make([]string, 0, len(users))
	for _, u := range users {
		ids = append(ids, u.ID)
	}
	slices.Sort(ids)
	return ids
}

// newUsers creates n users created one second apart, named prefix00, prefix01, ...
func newUsers(t *testing.T, b *bundle, prefix string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("%s%02d", prefix, i)
		NewUser(b.ctx, t, b.s, &UserOpts{ID: ids[i], Now: baseTime().Add(time.Duration(i) * time.Second)})
	}
	return ids
}

func register(t *testing.T, b *bundle, now time.Time, ids ...string) {
	t.Helper()
	for _, id := range ids {
		require.NoError(t, b.s.RegisterWorker(b.ctx, &store.RegisterWorkerParams{ID: id, Now: now}), "RegisterWorker(%q)", id)
	}
}

func claim(t *testing.T, b *bundle, worker string, limit int, now time.Time) []store.User {
	t.Helper()
	got, err := b.s.ClaimUsers(b.ctx, &store.ClaimUsersParams{WorkerID: worker, Limit: limit, Now: now, TTL: leaseTTL})
	require.NoError(t, err, "ClaimUsers(%q)", worker)
	for _, u := range got {
		require.Equal(t, worker, u.WorkerID, "a claimed user carries the claiming worker")
		requireTime(t, now.Add(leaseTTL), u.LeaseExpires, "a claimed user's LeaseExpires is Now+TTL")
	}
	return got
}

func renew(t *testing.T, b *bundle, worker string, now time.Time) []store.User {
	t.Helper()
	got, err := b.s.RenewLeases(b.ctx, &store.RenewLeasesParams{WorkerID: worker, Now: now, TTL: leaseTTL})
	require.NoError(t, err, "RenewLeases(%q)", worker)
	for _, u := range got {
		require.Equal(t, worker, u.WorkerID, "a renewed user carries the renewing worker")
		requireTime(t, now.Add(leaseTTL), u.LeaseExpires, "a renewed lease expires at Now+TTL")
	}
	return got
}

func requireHolder(t *testing.T, b *bundle, userID, worker string, what string) {
	t.Helper()
	u, err := b.s.GetUser(b.ctx, userID)
	require.NoError(t, err)
	require.Equal(t, worker, u.WorkerID, "%s: holder of %s", what, userID)
	if worker == "" {
		require.True(t, u.LeaseExpires.IsZero(), "%s: an unassigned user has a zero LeaseExpires, got %s", what, u.LeaseExpires)
	}
}

func testRegisterAndList(t *testing.T, b *bundle) {
	ws, err := b.s.ListWorkers(b.ctx)
	require.NoError(t, err)
	require.Empty(t, ws)
	t0 := baseTime()
	register(t, b, t0, "w2", "w1")
	t1 := t0.Add(time.Minute)
	register(t, b, t1, "w2") // a restart refreshes the row
	ws, err = b.s.ListWorkers(b.ctx)
	require.NoError(t, err)
	require.Len(t, ws, 2)
	require.Equal(t, "w1", ws[0].ID, "ListWorkers orders by id")
	require.Equal(t, "w2", ws[1].ID, "ListWorkers orders by id")
	requireTime(t, t0, ws[0].StartedAt, "w1 StartedAt")
	requireTime(t, t0, ws[0].Heartbeat, "w1 Heartbeat")
	requireTime(t, t1, ws[1].StartedAt, "re-registering sets StartedAt = Now")
	requireTime(t, t1, ws[1].Heartbeat, "re-registering sets Heartbeat = Now")
}

func testHeartbeat(t *testing.T, b *bundle) {
	register(t, b, baseTime(), "w1")
	t1 := baseTime().Add(10 * time.Second)
	require.NoError(t, b.s.Heartbeat(b.ctx, &store.HeartbeatParams{ID: "w1", Now: t1}))
	ws, err := b.s.ListWorkers(b.ctx)
	require.NoError(t, err)
	require.Len(t, ws, 1)
	requireTime(t, baseTime(), ws[0].StartedAt, "Heartbeat keeps StartedAt")
	requireTime(t, t1, ws[0].Heartbeat, "Heartbeat sets Heartbeat = Now")
	err = b.s.Heartbeat(b.ctx, &store.HeartbeatParams{ID: "gone", Now: t1})
	requireErrorIs(t, err, store.ErrNotFound, "Heartbeat of a removed worker")
}

func testDeleteStaleWorkers(t *testing.T, b *bundle) {
	users := newUsers(t, b, "u", 4)
	t0 := baseTime()
	register(t, b, t0, "dead1", "dead2", "alive")
	require.NoError(t, b.s.Heartbeat(b.ctx, &store.HeartbeatParams{ID: "alive", Now: t0.Add(20 * time.Second)}))
	require.Len(t, claim(t, b, "dead1", 2, t0), 2)
	require.Len(t, claim(t, b, "alive", 2, t0), 2)

	gone, err := b.s.DeleteStaleWorkers(b.ctx, &store.DeleteStaleWorkersParams{Before: t0.Add(20 * time.Second)})
	require.NoError(t, err)
	slices.Sort(gone)
	require.Equal(t, []string{"dead1", "dead2"}, gone, "DeleteStaleWorkers removes workers whose heartbeat is before Before, and only those")
	ws, err := b.s.ListWorkers(b.ctx)
	require.NoError(t, err)
	require.Len(t, ws, 1)
	require.Equal(t, "alive", ws[0].ID)
	requireErrorIs(t, b.s.Heartbeat(b.ctx, &store.HeartbeatParams{ID: "dead1", Now: t0}), store.ErrNotFound,
		"a worker declared dead must re-register")

	// The dead worker's leases are free at once, long before they expire.
	held := 0
	for _, id := range users {
		u, err := b.s.GetUser(b.ctx, id)
		require.NoError(t, err)
		require.NotEqual(t, "dead1", u.WorkerID, "DeleteStaleWorkers frees the dead worker's leases")
		if u.WorkerID == "alive" {
			held++
		}
	}
	require.Equal(t, 2, held, "the live worker keeps its leases")
	got := claim(t, b, "alive", 10, t0.Add(time.Second))
	require.Len(t, got, 2, "freed users are claimable before their old lease would have expired")

	gone, err = b.s.DeleteStaleWorkers(b.ctx, &store.DeleteStaleWorkersParams{Before: t0})
	require.NoError(t, err)
	require.Empty(t, gone, "nothing is stale")
}

func testDeleteWorker(t *testing.T, b *bundle) {
	users := newUsers(t, b, "u", 3)
	register(t, b, baseTime(), "w1", "w2")
	require.Len(t, claim(t, b, "w1", 2, baseTime()), 2)
	require.Len(t, claim(t, b, "w2", 2, baseTime()), 1)
	require.NoError(t, b.s.DeleteWorker(b.ctx, "w1"))
	ws, err := b.s.ListWorkers(b.ctx)
	require.NoError(t, err)
	require.Len(t, ws, 1)
	require.Equal(t, "w2", ws[0].ID)
	for _, id := range users[:2] {
		requireHolder(t, b, id, "", "DeleteWorker frees the worker's leases")
	}
	requireHolder(t, b, users[2], "w2", "DeleteWorker leaves other workers' leases")
}

func testCountClaimable(t *testing.T, b *bundle) {
	n, err := b.s.CountClaimable(b.ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	NewUser(b.ctx, t, b.s, nil)
	NewUser(b.ctx, t, b.s, nil)
	NewUser(b.ctx, t, b.s, &UserOpts{Disabled: true})
	NewUser(b.ctx, t, b.s, &UserOpts{NeedsReauth: true})
	register(t, b, baseTime(), "w1")
	claim(t, b, "w1", 1, baseTime())
	n, err = b.s.CountClaimable(b.ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n, "CountClaimable counts enabled users not needing re-auth, leased or not")
}

func testClaimLimit(t *testing.T, b *bundle) {
	users := newUsers(t, b, "u", 5)
	register(t, b, baseTime(), "w1", "w2")
	first := claim(t, b, "w1", 3, baseTime())
	require.Len(t, first, 3, "ClaimUsers leases at most Limit users")
	second := claim(t, b, "w2", 10, baseTime())
	require.Len(t, second, 2, "ClaimUsers leases only free users")
	all := append(userIDs(first), userIDs(second)...)
	slices.Sort(all)
	require.Equal(t, users, all, "every user is leased exactly once")
	require.Empty(t, claim(t, b, "w2", 10, baseTime().Add(leaseTTL-time.Millisecond)), "no user is free before its lease expires")
	for _, u := range first {
		requireHolder(t, b, u.ID, "w1", "after ClaimUsers")
	}
}

func testClaimOrder(t *testing.T, b *bundle) {
	// Users created out of id order: the oldest unassigned comes first.
	for i, id := range []string{"c", "a", "d", "b"} {
		NewUser(b.ctx, t, b.s, &UserOpts{ID: id, Now: baseTime().Add(time.Duration(i) * time.Minute)})
	}
	register(t, b, baseTime(), "w1")
	now := baseTime().Add(time.Hour)
	var order []string
	for range 4 {
		got := claim(t, b, "w1", 1, now)
		require.Len(t, got, 1)
		order = append(order, got[0].ID)
	}
	require.Equal(t, []string{"c", "a", "d", "b"}, order, "never-leased users are claimed oldest first")
}

func testClaimSkipsUnclaimable(t *testing.T, b *bundle) {
	ok := NewUser(b.ctx, t, b.s, nil)
	NewUser(b.ctx, t, b.s, &UserOpts{Disabled: true})
	NewUser(b.ctx, t, b.s, &UserOpts{NeedsReauth: true})
	register(t, b, baseTime(), "w1")
	got := claim(t, b, "w1", 10, baseTime())
	require.Equal(t, []string{ok.ID}, userIDs(got), "only enabled users not needing re-auth are claimed")
}

func testExpiredLeaseReclaimable(t *testing.T, b *bundle) {
	users := newUsers(t, b, "u", 1)
	register(t, b, baseTime(), "w1", "w2")
	require.Len(t, claim(t, b, "w1", 1, baseTime()), 1)
	require.Empty(t, claim(t, b, "w2", 1, baseTime().Add(leaseTTL-time.Millisecond)), "a lease is held until LeaseExpires")
	got := claim(t, b, "w2", 1, baseTime().Add(leaseTTL))
	require.Equal(t, users, userIDs(got), "a lease is free when LeaseExpires <= Now")
	require.Empty(t, renew(t, b, "w1", baseTime().Add(leaseTTL+time.Second)), "the old holder cannot renew a lease another worker claimed")
	requireHolder(t, b, users[0], "w2", "after the old holder's renew")
}

func testRenewOnlyOwn(t *testing.T, b *bundle) {
	newUsers(t, b, "u", 3)
	register(t, b, baseTime(), "w1", "w2")
	mine := claim(t, b, "w1", 2, baseTime())
	theirs := claim(t, b, "w2", 2, baseTime())
	require.Len(t, theirs, 1)
	t1 := baseTime().Add(10 * time.Second)
	got := renew(t, b, "w1", t1)
	require.Equal(t, userIDs(mine), userIDs(got), "RenewLeases returns exactly the worker's users")
	u, err := b.s.GetUser(b.ctx, theirs[0].ID)
	require.NoError(t, err)
	require.Equal(t, "w2", u.WorkerID)
	requireTime(t, baseTime().Add(leaseTTL), u.LeaseExpires, "another worker's lease is not extended")
	require.Empty(t, renew(t, b, "w3", t1), "a worker without leases renews nothing")
}

func testRenewAfterExpiry(t *testing.T, b *bundle) {
	users := newUsers(t, b, "u", 2)
	register(t, b, baseTime(), "w1")
	require.Len(t, claim(t, b, "w1", 2, baseTime()), 2)
	late := baseTime().Add(5 * leaseTTL)
	got := renew(t, b, "w1", late)
	require.Equal(t, users, userIDs(got), "an expired lease nobody claimed is still renewed")
	for _, id := range users {
		u, err := b.s.GetUser(b.ctx, id)
		require.NoError(t, err)
		requireTime(t, late.Add(leaseTTL), u.LeaseExpires, "renewed lease")
	}
}

func testRenewReleasesDisabled(t *testing.T, b *bundle) {
	users := newUsers(t, b, "u", 3)
	register(t, b, baseTime(), "w1")
	require.Len(t, claim(t, b, "w1", 3, baseTime()), 3)
	t1 := baseTime().Add(time.Second)
	_, err := b.s.UpdateUser(b.ctx, &store.UpdateUserParams{ID: users[0], Enabled: ptr(false), Now: t1})
	require.NoError(t, err)
	_, err = b.s.UpdateUser(b.ctx, &store.UpdateUserParams{ID: users[1], NeedsReauth: ptr(true), Now: t1})
	require.NoError(t, err)
	_, err = b.s.UpdateUser(b.ctx, &store.UpdateUserParams{ID: users[2], Mode: ptr(store.ModeAdaptive), Now: t1})
	require.NoError(t, err)

	got := renew(t, b, "w1", t1.Add(time.Second))
	require.Equal(t, []string{users[2]}, userIDs(got), "disabled and re-auth users are not renewed")
	require.Equal(t, store.ModeAdaptive, got[0].Mode, "RenewLeases returns the users' current settings")
	requireHolder(t, b, users[0], "", "a disabled user is released on renew")
	requireHolder(t, b, users[1], "", "a user needing re-auth is released on renew")
}

func testReleaseOnlyOwn(t *testing.T, b *bundle) {
	users := newUsers(t, b, "u", 4)
	register(t, b, baseTime(), "w1", "w2")
	require.Len(t, claim(t, b, "w1", 2, baseTime()), 2) // u00, u01
	require.Len(t, claim(t, b, "w2", 2, baseTime()), 2) // u02, u03
	err := b.s.ReleaseUsers(b.ctx, &store.ReleaseUsersParams{WorkerID: "w1", UserIDs: []string{users[0], users[2], "ghost"}})
	require.NoError(t, err)
	requireHolder(t, b, users[0], "", "ReleaseUsers frees the worker's own lease")
	requireHolder(t, b, users[1], "w1", "ReleaseUsers leaves leases not named")
	requireHolder(t, b, users[2], "w2", "ReleaseUsers never frees another worker's lease")
	requireHolder(t, b, users[3], "w2", "ReleaseUsers leaves other workers alone")
	require.NoError(t, b.s.ReleaseUsers(b.ctx, &store.ReleaseUsersParams{WorkerID: "w1"}), "releasing nothing is fine")
	got := claim(t, b, "w2", 10, baseTime().Add(time.Second))
	require.Equal(t, []string{users[0]}, userIDs(got), "a released user is claimable at once")
}

// testConcurrentLeases runs workers that claim, renew and release
// concurrently in rounds that share one clock. Between rounds it checks,
// from what each worker was told, that no user is held by two workers, and
// that the store agrees with the workers.
func testConcurrentLeases(t *testing.T, b *bundle) {
	const (
		workers = 8
		users   = 50
		rounds  = 30
		step    = 7 * time.Second // leases live about four rounds
	)
	ids := newUsers(t, b, "u", users)
	wids := make([]string, workers)
	for i := range wids {
		wids[i] = fmt.Sprintf("w%d", i)
		register(t, b, baseTime(), wids[i])
	}
	// held[w][user] = lease expiry as last told to worker w.
	held := make([]map[string]time.Time, workers)
	for i := range held {
		held[i] = map[string]time.Time{}
	}
	disabled := map[string]bool{}
	rng := rand.New(rand.NewPCG(1, 2))

	for round := range rounds {
		now := ms(baseTime()).Add(time.Duration(round) * step)
		// Between rounds: toggle a few users' Enabled flag.
		for range 2 {
			id := ids[rng.IntN(users)]
			disabled[id] = !disabled[id]
			_, err := b.s.UpdateUser(b.ctx, &store.UpdateUserParams{ID: id, Enabled: ptr(!disabled[id]), Now: now})
			require.NoError(t, err)
		}
		seeds := make([]uint64, workers)
		for i := range seeds {
			seeds[i] = rng.Uint64()
		}
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				errs[w] = leaseRound(b, wids[w], held[w], disabled, now, rand.New(rand.NewPCG(seeds[w], uint64(round))))
			})
		}
		wg.Wait()
		for w, err := range errs {
			require.NoError(t, err, "round %d, worker %s", round, wids[w])
		}

		// No user is believed held by two workers with an unexpired lease.
		owner := map[string]string{}
		for w := range workers {
			for id, exp := range held[w] {
				if !exp.After(now) {
					continue
				}
				prev, dup := owner[id]
				require.False(t, dup, "round %d: user %s is held by both %s and %s", round, id, prev, wids[w])
				owner[id] = wids[w]
			}
		}
		// The store agrees with what the workers were told.
		stored, err := b.s.ListUsers(b.ctx)
		require.NoError(t, err)
		for _, u := range stored {
			if u.WorkerID != "" && u.LeaseExpires.After(now) {
				require.Equal(t, u.WorkerID, owner[u.ID], "round %d: the store says %s holds %s until %s", round, u.WorkerID, u.ID, u.LeaseExpires)
			} else {
				require.Empty(t, owner[u.ID], "round %d: %s believes it holds %s but the store has no live lease", round, owner[u.ID], u.ID)
			}
		}
	}
}

// leaseRound is one worker's turn in testConcurrentLeases. It renews (most
// rounds), claims a few users and releases some, updating held.
func leaseRound(b *bundle, worker string, held map[string]time.Time, disabled map[string]bool, now time.Time, rng *rand.Rand) error {
	if rng.IntN(4) != 0 { // sometimes a worker misses a renewal
		got, err := b.s.RenewLeases(b.ctx, &store.RenewLeasesParams{WorkerID: worker, Now: now, TTL: leaseTTL})
		if err != nil {
			return err
		}
		clear(held)
		for _, u := range got {
			if disabled[u.ID] {
				return fmt.Errorf("RenewLeases returned %s, disabled before the round: disabled users are released instead", u.ID)
			}
			if u.WorkerID != worker || !u.LeaseExpires.Equal(ms(now.Add(leaseTTL))) {
				return fmt.Errorf("RenewLeases returned %s held by %q until %s, want %s until %s (at millisecond precision)",
					u.ID, u.WorkerID, u.LeaseExpires, worker, ms(now.Add(leaseTTL)))
			}
			held[u.ID] = u.LeaseExpires
		}
	}
	got, err := b.s.ClaimUsers(b.ctx, &store.ClaimUsersParams{WorkerID: worker, Limit: 1 + rng.IntN(4), Now: now, TTL: leaseTTL})
	if err != nil {
		return err
	}
	for _, u := range got {
		if disabled[u.ID] {
			return fmt.Errorf("ClaimUsers returned disabled user %s", u.ID)
		}
		if exp, ok := held[u.ID]; ok && exp.After(now) {
			return fmt.Errorf("ClaimUsers gave %s a user it still holds (%s)", worker, u.ID)
		}
		held[u.ID] = u.LeaseExpires
	}
	if len(held) > 0 && rng.IntN(3) == 0 {
		var release []string
		for id := range held {
			if rng.IntN(2) == 0 {
				release = append(release, id)
			}
		}
		if err := b.s.ReleaseUsers(b.ctx, &store.ReleaseUsersParams{WorkerID: worker, UserIDs: release}); err != nil {
			return err
		}
		for _, id := range release {
			delete(held, id)
		}
	}
	return nil
}
