package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/store"
)

func runUsers(t *testing.T, newStore func(t *testing.T) store.Store) {
	runCases(t, newStore, []testCase{
		{"UpsertCreates", testUpsertCreates},
		{"UpsertCreatesWithMode", testUpsertCreatesWithMode},
		{"UpsertRejectsInvalid", testUpsertRejectsInvalid},
		{"UpsertKeepsEnabledAndMode", testUpsertKeepsEnabledAndMode},
		{"GetUserNotFound", testGetUserNotFound},
		{"ListUsersOrderedByID", testListUsersOrderedByID},
		{"UpdateUserFields", testUpdateUserFields},
		{"UpdateUserErrors", testUpdateUserErrors},
		{"DeleteUserRemovesEverythingOfTheirs", testDeleteUserRemovesEverything},
		{"DeleteUserNotFound", testDeleteUserNotFound},
		{"TaskStates", testTaskStates},
		{"TaskStateErrors", testTaskStateErrors},
	})
}

func requireUser(t testing.TB, want, got *store.User, what string) {
	t.Helper()
	require.NotNil(t, got, "%s: got a nil user", what)
	require.Equal(t, want.ID, got.ID, "%s: ID", what)
	require.Equal(t, want.AccountID, got.AccountID, "%s: AccountID", what)
	require.Equal(t, want.DisplayName, got.DisplayName, "%s: DisplayName", what)
	require.Equal(t, want.Enabled, got.Enabled, "%s: Enabled", what)
	require.Equal(t, want.Mode, got.Mode, "%s: Mode", what)
	require.Equal(t, want.NeedsReauth, got.NeedsReauth, "%s: NeedsReauth", what)
	require.Equal(t, string(want.Token), string(got.Token), "%s: Token", what)
	requireTime(t, want.AuthorizedAt, got.AuthorizedAt, what+": AuthorizedAt")
	require.Equal(t, want.WorkerID, got.WorkerID, "%s: WorkerID", what)
	requireTime(t, want.LeaseExpires, got.LeaseExpires, what+": LeaseExpires")
	requireTime(t, want.CreatedAt, got.CreatedAt, what+": CreatedAt")
	requireTime(t, want.UpdatedAt, got.UpdatedAt, what+": UpdatedAt")
}

func testUpsertCreates(t *testing.T, b *bundle) {
	now := baseTime()
	u, err := b.s.UpsertUser(b.ctx, &store.UpsertUserParams{
		ID:           "alice",
		AccountID:    "acct-alice",
		DisplayName:  "Alice <b>Ä</b>",
		Token:        []byte{0, 1, 2, 0xff},
		AuthorizedAt: now.Add(-time.Minute),
		Now:          now,
	})
	require.NoError(t, err)
	want := &store.User{
		ID: "alice", AccountID: "acct-alice", DisplayName: "Alice <b>Ä</b>",
		Enabled: true, Mode: store.ModeDefault, Token: []byte{0, 1, 2, 0xff},
		AuthorizedAt: now.Add(-time.Minute), CreatedAt: now, UpdatedAt: now,
	}
	requireUser(t, want, u, "UpsertUser of a new user (enabled, ModeDefault)")
	require.Empty(t, u.Tasks, "a new user has no task states")
	got, err := b.s.GetUser(b.ctx, "alice")
	require.NoError(t, err)
	requireUser(t, want, got, "GetUser after UpsertUser")
}

func testUpsertCreatesWithMode(t *testing.T, b *bundle) {
	for _, m := range []store.Mode{store.ModeHistory, store.ModeRealtime, store.ModeHybrid, store.ModeAdaptive} {
		u, err := b.s.UpsertUser(b.ctx, &store.UpsertUserParams{ID: "u-" + string(m), Mode: m, Now: baseTime()})
		require.NoError(t, err)
		require.Equal(t, m, u.Mode, "a new user starts in the Mode given")
		got, err := b.s.GetUser(b.ctx, u.ID)
		require.NoError(t, err)
		require.Equal(t, m, got.Mode)
		require.Empty(t, got.Token, "a user created without a token has none")
		require.True(t, got.AuthorizedAt.IsZero(), "AuthorizedAt stays zero when not given")
	}
}

func testUpsertRejectsInvalid(t *testing.T, b *bundle) {
	cases := []struct {
		name string
		p    store.UpsertUserParams
	}{
		{"EmptyID", store.UpsertUserParams{Now: baseTime()}},
		{"UnknownMode", store.UpsertUserParams{ID: "bob", Mode: "sometimes", Now: baseTime()}},
	}
	for _, tc := range cases {
		_, err := b.s.UpsertUser(b.ctx, &tc.p)
		requireErrorIs(t, err, store.ErrInvalid, "UpsertUser %s", tc.name)
	}
	users, err := b.s.ListUsers(b.ctx)
	require.NoError(t, err)
	require.Empty(t, users, "a rejected UpsertUser stores nothing")
}

func testUpsertKeepsEnabledAndMode(t *testing.T, b *bundle) {
	t0 := baseTime()
	NewUser(b.ctx, t, b.s, &UserOpts{ID: "carol", Mode: store.ModeRealtime, Now: t0})
	_, err := b.s.UpdateUser(b.ctx, &store.UpdateUserParams{
		ID: "carol", Enabled: ptr(false), NeedsReauth: ptr(true), Now: t0.Add(time.Minute),
	})
	require.NoError(t, err)

	t1 := t0.Add(time.Hour)
	u, err := b.s.UpsertUser(b.ctx, &store.UpsertUserParams{
		ID: "carol", AccountID: "acct-2", DisplayName: "Carol 2", Token: []byte("new-token"),
		AuthorizedAt: t1, Mode: store.ModeAdaptive, Now: t1,
	})
	require.NoError(t, err)
	want := &store.User{
		ID: "carol", AccountID: "acct-2", DisplayName: "Carol 2",
		Enabled: false, Mode: store.ModeRealtime, NeedsReauth: false, Token: []byte("new-token"),
		AuthorizedAt: t1, CreatedAt: t0, UpdatedAt: t1,
	}
	requireUser(t, want, u, "UpsertUser of an existing user keeps Enabled and Mode, refreshes the rest and clears NeedsReauth")
	got, err := b.s.GetUser(b.ctx, "carol")
	require.NoError(t, err)
	requireUser(t, want, got, "GetUser after re-login")
}

func testGetUserNotFound(t *testing.T, b *bundle) {
	_, err := b.s.GetUser(b.ctx, "nobody")
	requireErrorIs(t, err, store.ErrNotFound, "GetUser of an unknown id")
}

func testListUsersOrderedByID(t *testing.T, b *bundle) {
	users, err := b.s.ListUsers(b.ctx)
	require.NoError(t, err)
	require.Empty(t, users, "a new store has no users")
	for _, id := range []string{"m", "b", "z", "a"} {
		NewUser(b.ctx, t, b.s, &UserOpts{ID: id})
	}
	users, err = b.s.ListUsers(b.ctx)
	require.NoError(t, err)
	var ids []string
	for _, u := range users {
		ids = append(ids, u.ID)
	}
	require.Equal(t, []string{"a", "b", "m", "z"}, ids, "ListUsers orders by id")
}

func testUpdateUserFields(t *testing.T, b *bundle) {
	t0 := baseTime()
	authAt := t0.Add(42 * time.Minute)
	cases := []struct {
		name   string
		p      store.UpdateUserParams
		change func(u *store.User)
	}{
		{"Nothing", store.UpdateUserParams{}, func(*store.User) {}},
		{"Disable", store.UpdateUserParams{Enabled: ptr(false)}, func(u *store.User) { u.Enabled = false }},
		{"Mode", store.UpdateUserParams{Mode: ptr(store.ModeHybrid)}, func(u *store.User) { u.Mode = store.ModeHybrid }},
		{"NeedsReauth", store.UpdateUserParams{NeedsReauth: ptr(true)}, func(u *store.User) { u.NeedsReauth = true }},
		{"TokenAndAuthorizedAt", store.UpdateUserParams{Token: []byte("t2"), AuthorizedAt: &authAt},
			func(u *store.User) { u.Token = []byte("t2"); u.AuthorizedAt = authAt }},
		{"All", store.UpdateUserParams{Enabled: ptr(false), Mode: ptr(store.ModeAdaptive), NeedsReauth: ptr(true), Token: []byte("t3")},
			func(u *store.User) {
				u.Enabled, u.Mode, u.NeedsReauth, u.Token = false, store.ModeAdaptive, true, []byte("t3")
			}},
	}
	for i, tc := range cases {
		id := "u" + tc.name
		orig := NewUser(b.ctx, t, b.s, &UserOpts{ID: id, Now: t0})
		p := tc.p
		p.ID = id
		p.Now = t0.Add(time.Duration(i+1) * time.Minute)
		got, err := b.s.UpdateUser(b.ctx, &p)
		require.NoError(t, err, "UpdateUser %s", tc.name)
		want := *orig
		tc.change(&want)
		want.UpdatedAt = p.Now
		requireUser(t, &want, got, "UpdateUser "+tc.name+" changes only the non-nil fields")
		got, err = b.s.GetUser(b.ctx, id)
		require.NoError(t, err)
		requireUser(t, &want, got, "GetUser after UpdateUser "+tc.name)
	}
}

func testUpdateUserErrors(t *testing.T, b *bundle) {
	_, err := b.s.UpdateUser(b.ctx, &store.UpdateUserParams{ID: "ghost", Enabled: ptr(false), Now: baseTime()})
	requireErrorIs(t, err, store.ErrNotFound, "UpdateUser of an unknown id")

	orig := NewUser(b.ctx, t, b.s, &UserOpts{ID: "dave"})
	_, err = b.s.UpdateUser(b.ctx, &store.UpdateUserParams{
		ID: "dave", Mode: ptr(store.Mode("never")), Enabled: ptr(false), Now: baseTime().Add(time.Hour),
	})
	requireErrorIs(t, err, store.ErrInvalid, "UpdateUser with an unknown mode")
	got, err := b.s.GetUser(b.ctx, "dave")
	require.NoError(t, err)
	requireUser(t, orig, got, "a rejected UpdateUser changes nothing")
}

func testDeleteUserRemovesEverything(t *testing.T, b *bundle) {
	ctx, s := b.ctx, b.s
	now := baseTime()
	victim := NewUser(ctx, t, s, &UserOpts{ID: "victim"})
	other := NewUser(ctx, t, s, &UserOpts{ID: "other"})

	shared := NewTrack(ctx, t, s, nil)
	own := NewTrack(ctx, t, s, nil)
	InsertPlays(ctx, t, s, victim.ID, PlayOf(shared, now, 1000), PlayOf(own, now.Add(time.Minute), 2000))
	InsertPlays(ctx, t, s, other.ID, PlayOf(shared, now, 3000))

	require.NoError(t, s.SetTaskState(ctx, &store.SetTaskStateParams{
		UserID: victim.ID, Task: store.TaskListening, Status: store.TaskIdle, Now: now,
	}))
	onlyVictim := store.Playlist{ID: "pl-victim", Name: "Victim's", OwnerID: victim.ID}
	both := store.Playlist{ID: "pl-both", Name: "Both", OwnerID: other.ID}
	require.NoError(t, s.SyncOwnedPlaylists(ctx, &store.SyncOwnedPlaylistsParams{UserID: victim.ID, Playlists: []store.Playlist{onlyVictim}, Now: now}))
	require.NoError(t, s.AddUserPlaylist(ctx, &store.AddUserPlaylistParams{UserID: victim.ID, Playlist: both, Now: now}))
	require.NoError(t, s.SyncOwnedPlaylists(ctx, &store.SyncOwnedPlaylistsParams{UserID: other.ID, Playlists: []store.Playlist{both}, Now: now}))
	rows := []store.PlaylistTrack{{Position: 0, Track: shared, Status: store.PlaylistTrackPlayable, AddedAt: now}}
	for _, id := range []string{onlyVictim.ID, both.ID} {
		require.NoError(t, s.ReplacePlaylistTracks(ctx, &store.ReplacePlaylistTracksParams{PlaylistID: id, SnapshotID: "s", Tracks: rows, Now: now}))
	}
	require.NoError(t, s.CreateImport(ctx, &store.Import{ID: "imp-victim", UserID: victim.ID, Digest: "d", State: store.ImportPending, CreatedAt: now, UpdatedAt: now}))
	require.NoError(t, s.CreateImport(ctx, &store.Import{ID: "imp-other", UserID: other.ID, Digest: "d", State: store.ImportPending, CreatedAt: now, UpdatedAt: now}))
	require.NoError(t, s.CreateSession(ctx, &store.Session{ID: "sess-victim", UserID: victim.ID, CSRFToken: "c", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	require.NoError(t, s.CreateSession(ctx, &store.Session{ID: "sess-other", UserID: other.ID, CSRFToken: "c", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))

	require.NoError(t, s.DeleteUser(ctx, victim.ID))

	_, err := s.GetUser(ctx, victim.ID)
	requireErrorIs(t, err, store.ErrNotFound, "GetUser after DeleteUser")
	plays, err := s.ListPlays(ctx, &store.ListPlaysParams{UserID: victim.ID})
	require.NoError(t, err)
	require.Empty(t, plays, "DeleteUser removes the user's plays")
	_, err = s.LatestPlay(ctx, victim.ID, "")
	requireErrorIs(t, err, store.ErrNotFound, "LatestPlay after DeleteUser")
	_, err = s.GetImport(ctx, "imp-victim")
	requireErrorIs(t, err, store.ErrNotFound, "DeleteUser removes the user's imports")
	_, err = s.GetSession(ctx, "sess-victim", now)
	requireErrorIs(t, err, store.ErrNotFound, "DeleteUser removes the user's sessions")
	lists, err := s.ListUserPlaylists(ctx, victim.ID)
	require.NoError(t, err)
	require.Empty(t, lists, "DeleteUser removes the user's playlist links")
	err = s.ReplacePlaylistTracks(ctx, &store.ReplacePlaylistTracksParams{PlaylistID: onlyVictim.ID, SnapshotID: "s2", Tracks: rows, Now: now})
	requireErrorIs(t, err, store.ErrNotFound, "DeleteUser removes playlists no other user tracks")

	// Everything of the other user stays, and so does the shared catalogue.
	got, err := s.GetUser(ctx, other.ID)
	require.NoError(t, err)
	requireUser(t, other, got, "the other user survives DeleteUser")
	plays, err = s.ListPlays(ctx, &store.ListPlaysParams{UserID: other.ID})
	require.NoError(t, err)
	require.Len(t, plays, 1, "the other user's plays survive DeleteUser")
	for _, tr := range []store.Track{shared, own} {
		_, err = s.GetTrack(ctx, tr.ID)
		require.NoError(t, err, "catalogue tracks stay after DeleteUser")
	}
	_, err = s.GetImport(ctx, "imp-other")
	require.NoError(t, err, "the other user's import survives")
	_, err = s.GetSession(ctx, "sess-other", now)
	require.NoError(t, err, "the other user's session survives")
	lists, err = s.ListUserPlaylists(ctx, other.ID)
	require.NoError(t, err)
	require.Len(t, lists, 1, "the other user's playlist link survives")
	prow, err := s.ListPlaylistTracks(ctx, other.ID, both.ID)
	require.NoError(t, err)
	require.Len(t, prow, 1, "a playlist another user tracks keeps its rows")
	require.Equal(t, 1, prow[0].Plays, "the other user's play count of the shared track")

	tot, err := s.Totals(ctx, &store.StatsFilter{})
	require.NoError(t, err)
	require.Equal(t, 1, tot.Plays, "global totals drop the deleted user's plays")
	require.Equal(t, int64(3000), tot.MSPlayed)
}

func testDeleteUserNotFound(t *testing.T, b *bundle) {
	requireErrorIs(t, b.s.DeleteUser(b.ctx, "ghost"), store.ErrNotFound, "DeleteUser of an unknown id")
}

func testTaskStates(t *testing.T, b *bundle) {
	ctx, s := b.ctx, b.s
	u := NewUser(ctx, t, s, nil)
	t0 := baseTime()
	run0 := t0.Add(-time.Minute)
	require.NoError(t, s.SetTaskState(ctx, &store.SetTaskStateParams{
		UserID: u.ID, Task: store.TaskListening, Status: store.TaskRunning, LastRunAt: run0, Now: t0,
	}))
	require.NoError(t, s.SetTaskState(ctx, &store.SetTaskStateParams{
		UserID: u.ID, Task: store.TaskPlaylists, Status: store.TaskError, LastError: "spotify: 503", Now: t0,
	}))
	got, err := s.GetUser(ctx, u.ID)
	require.NoError(t, err)
	require.Len(t, got.Tasks, 2, "one state per task set")
	requireTask(t, store.TaskState{Status: store.TaskRunning, LastRunAt: run0, UpdatedAt: t0}, got.Tasks[store.TaskListening], "listening")
	requireTask(t, store.TaskState{Status: store.TaskError, LastError: "spotify: 503", UpdatedAt: t0}, got.Tasks[store.TaskPlaylists], "playlists")

	// A zero LastRunAt keeps the stored one; LastError is replaced.
	t1 := t0.Add(time.Hour)
	require.NoError(t, s.SetTaskState(ctx, &store.SetTaskStateParams{
		UserID: u.ID, Task: store.TaskListening, Status: store.TaskError, LastError: "boom", Now: t1,
	}))
	got, err = s.GetUser(ctx, u.ID)
	require.NoError(t, err)
	requireTask(t, store.TaskState{Status: store.TaskError, LastRunAt: run0, LastError: "boom", UpdatedAt: t1}, got.Tasks[store.TaskListening], "listening after an update with zero LastRunAt")

	run2 := t1.Add(time.Minute)
	require.NoError(t, s.SetTaskState(ctx, &store.SetTaskStateParams{
		UserID: u.ID, Task: store.TaskListening, Status: store.TaskIdle, LastRunAt: run2, Now: run2,
	}))
	users, err := s.ListUsers(ctx)
	require.NoError(t, err)
	require.Len(t, users, 1)
	requireTask(t, store.TaskState{Status: store.TaskIdle, LastRunAt: run2, UpdatedAt: run2}, users[0].Tasks[store.TaskListening], "ListUsers carries task states")
	requireTask(t, store.TaskState{Status: store.TaskError, LastError: "spotify: 503", UpdatedAt: t0}, users[0].Tasks[store.TaskPlaylists], "other tasks are untouched")
}

func requireTask(t testing.TB, want, got store.TaskState, what string) {
	t.Helper()
	require.Equal(t, want.Status, got.Status, "task %s: Status", what)
	require.Equal(t, want.LastError, got.LastError, "task %s: LastError", what)
	requireTime(t, want.LastRunAt, got.LastRunAt, "task "+what+": LastRunAt")
	requireTime(t, want.UpdatedAt, got.UpdatedAt, "task "+what+": UpdatedAt")
}

func testTaskStateErrors(t *testing.T, b *bundle) {
	u := NewUser(b.ctx, t, b.s, nil)
	cases := []struct {
		name string
		p    store.SetTaskStateParams
		want error
	}{
		{"UnknownUser", store.SetTaskStateParams{UserID: "ghost", Task: store.TaskListening, Status: store.TaskIdle}, store.ErrNotFound},
		{"UnknownTask", store.SetTaskStateParams{UserID: u.ID, Task: "dishes", Status: store.TaskIdle}, store.ErrInvalid},
		{"UnknownStatus", store.SetTaskStateParams{UserID: u.ID, Task: store.TaskSongIDs, Status: "sleepy"}, store.ErrInvalid},
	}
	for _, tc := range cases {
		p := tc.p
		p.Now = baseTime()
		requireErrorIs(t, b.s.SetTaskState(b.ctx, &p), tc.want, "SetTaskState %s", tc.name)
	}
	got, err := b.s.GetUser(b.ctx, u.ID)
	require.NoError(t, err)
	require.Empty(t, got.Tasks, "rejected SetTaskState calls store nothing")
}
