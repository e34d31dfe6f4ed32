package postgres

import (
	"context"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/store"
	"github.com/spotifyhist/spotifyhist/store/postgres/postgrestest"
)

func openTest(tb testing.TB, url, schema string, reg prometheus.Registerer) *Store {
	tb.Helper()
	s, err := New(tb.Context(), Config{URL: url, Schema: schema, MaxConns: 8, Logger: slog.New(slog.DiscardHandler), Registerer: reg})
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, s.Close()) })
	return s
}

func newTestStore(tb testing.TB) *Store {
	tb.Helper()
	url := postgrestest.URL(tb)
	return openTest(tb, url, postgrestest.Schema(tb, url), nil)
}

// freePort returns a local port nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

func TestNewUnreachable(t *testing.T) {
	t.Parallel()
	addr := freePort(t)
	host, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	cases := []struct {
		name string
		cfg  Config
	}{
		{"ConnectTimeout", Config{URL: "postgres://u:secret@" + addr + "/db?sslmode=disable", ConnectTimeout: time.Second}},
		{"KeyValueURL", Config{URL: "host=" + host + " port=" + port + " user=u password=secret dbname=db sslmode=disable connect_timeout=1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			s, err := New(ctx, tc.cfg)
			require.Error(t, err, "a database nobody listens on")
			require.Nil(t, s)
			require.Contains(t, err.Error(), addr, "the error names host:port")
			require.NotContains(t, err.Error(), "secret", "the error never shows the password")
			require.NoError(t, ctx.Err(), "New returns before the caller's deadline")
		})
	}
}

func TestNewDeadline(t *testing.T) {
	t.Parallel()
	// A listener that accepts and never answers: only the deadline ends
	// the attempt.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	var conns []net.Conn
	var mu sync.Mutex
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		_ = l.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	s, err := New(ctx, Config{URL: "postgres://u@" + l.Addr().String() + "/db?sslmode=disable"})
	require.Error(t, err)
	require.Nil(t, s)
	require.Contains(t, err.Error(), l.Addr().String(), "the error names host:port")
}

func TestNewInvalidConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		cfg  Config
	}{
		{"EmptyURL", Config{}},
		{"Unparsable", Config{URL: "postgres://u:secret@host:notaport/db"}},
		{"NegativeMaxConns", Config{URL: "postgres://u@127.0.0.1/db", MaxConns: -1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(t.Context(), tc.cfg)
			require.ErrorIs(t, err, store.ErrInvalid)
			require.NotContains(t, err.Error(), "secret", "the error never shows the password")
		})
	}
}

func TestSchemaTooNew(t *testing.T) {
	t.Parallel()
	url := postgrestest.URL(t)
	schema := postgrestest.Schema(t, url)
	s := openTest(t, url, schema, nil)
	_, err := s.pool.Exec(t.Context(), `INSERT INTO schema_migrations (version, name) VALUES (999, 'from_the_future')`)
	require.NoError(t, err)
	latest, err := s.Migrate(t.Context())
	require.ErrorIs(t, err, store.ErrSchemaTooNew, "Migrate on a newer schema")
	require.Zero(t, latest)

	ms, err := loadMigrations()
	require.NoError(t, err)
	_, err = New(t.Context(), Config{URL: url, Schema: schema, Logger: slog.New(slog.DiscardHandler)})
	require.ErrorIs(t, err, store.ErrSchemaTooNew, "New on a newer schema")
	require.Contains(t, err.Error(), "999", "the error names the database's version")
	require.Contains(t, err.Error(), fmt.Sprintf("up to %d", len(ms)), "the error names the binary's version")
}

func TestMigrationsNamed(t *testing.T) {
	t.Parallel()
	ms, err := loadMigrations()
	require.NoError(t, err)
	require.NotEmpty(t, ms)
	for i, m := range ms {
		require.Equal(t, i+1, m.version)
		require.NotEmpty(t, m.name)
		require.NotEmpty(t, strings.TrimSpace(m.sql))
	}
}

func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	url := postgrestest.URL(t)
	schema := postgrestest.Schema(t, url)
	const replicas = 4
	versions := make([]int, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() {
			s, err := New(t.Context(), Config{URL: url, Schema: schema, MaxConns: 2, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				errs[i] = err
				return
			}
			defer func() { _ = s.Close() }()
			versions[i], errs[i] = s.Migrate(t.Context())
		})
	}
	wg.Wait()
	for i := range replicas {
		require.NoError(t, errs[i], "replica %d", i)
		require.Equal(t, versions[0], versions[i], "every replica reaches the same version")
	}
	s := openTest(t, url, schema, nil)
	var n int
	require.NoError(t, s.pool.QueryRow(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&n))
	require.Equal(t, versions[0], n, "each migration is applied once")
}

func TestPoolMetrics(t *testing.T) {
	t.Parallel()
	url := postgrestest.URL(t)
	reg := prometheus.NewPedanticRegistry()
	s := openTest(t, url, postgrestest.Schema(t, url), reg)
	require.NoError(t, s.Ping(t.Context()))
	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	require.Empty(t, problems, "metric lint")
	mfs, err := reg.Gather()
	require.NoError(t, err)
	values := map[string]float64{}
	for _, mf := range mfs {
		require.True(t, strings.HasPrefix(mf.GetName(), "spotifyhist_postgres_pool_"), "metric %s", mf.GetName())
		m := mf.GetMetric()[0]
		values[mf.GetName()] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
	}
	require.Len(t, values, 10)
	require.Equal(t, 8.0, values["spotifyhist_postgres_pool_max_connections"])
	require.Positive(t, values["spotifyhist_postgres_pool_acquires_total"])
	require.NoError(t, s.Close())
	n, err := testutil.GatherAndCount(reg)
	require.NoError(t, err)
	require.Zero(t, n, "Close unregisters the pool metrics")
	// Another store can register in the same registry once the first is closed.
	openTest(t, url, postgrestest.Schema(t, url), reg)
}

// TestClaimContention runs two replicas (separate pools) whose workers all
// claim at the same instant: FOR UPDATE SKIP LOCKED must hand every user
// to exactly one of them.
func TestClaimContention(t *testing.T) {
	t.Parallel()
	url := postgrestest.URL(t)
	schema := postgrestest.Schema(t, url)
	a := openTest(t, url, schema, nil)
	b := openTest(t, url, schema, nil)
	ctx := t.Context()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	const users = 120
	for i := range users {
		_, err := a.UpsertUser(ctx, &store.UpsertUserParams{ID: fmt.Sprintf("u%03d", i), Now: now.Add(time.Duration(i) * time.Millisecond)})
		require.NoError(t, err)
	}
	const workers = 16
	got := make([][]store.User, workers)
	errs := make([]error, workers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		s := a
		if w%2 == 1 {
			s = b
		}
		wg.Go(func() {
			<-start
			got[w], errs[w] = s.ClaimUsers(ctx, &store.ClaimUsersParams{WorkerID: fmt.Sprintf("w%02d", w), Limit: 10, Now: now, TTL: time.Minute})
		})
	}
	close(start)
	wg.Wait()
	owner := map[string]string{}
	total := 0
	for w := range workers {
		require.NoError(t, errs[w])
		for _, u := range got[w] {
			prev, dup := owner[u.ID]
			require.False(t, dup, "user %s claimed by %s and w%02d", u.ID, prev, w)
			owner[u.ID] = u.WorkerID
			total++
		}
	}
	require.Equal(t, min(users, workers*10), total, "every claim got its limit while users were free")
	stored, err := a.ListUsers(ctx)
	require.NoError(t, err)
	for _, u := range stored {
		require.Equal(t, owner[u.ID], u.WorkerID, "the store agrees with the claims")
	}
}

// TestLargeBatch inserts one batch far larger than the importer's, with
// repeats inside it and plays already stored.
func TestLargeBatch(t *testing.T) {
	t.Parallel()
	s := newTestStore(t)
	ctx := t.Context()
	_, err := s.UpsertUser(ctx, &store.UpsertUserParams{ID: "u", Now: time.Now()})
	require.NoError(t, err)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var in []store.PlayInput
	for i := range 20_000 {
		tr := store.Track{ID: fmt.Sprintf("t%04d", i%1500), Name: "T", Album: store.Album{ID: "al", Name: "A"},
			Artists: []store.Artist{{ID: fmt.Sprintf("a%d", i%40), Name: "A"}}}
		in = append(in, store.PlayInput{Track: tr, PlayedAt: base.Add(time.Duration(i) * 7 * time.Minute), MSPlayed: 1000, Source: store.SourceImport})
	}
	res, err := s.InsertPlays(ctx, &store.InsertPlaysParams{UserID: "u", Plays: in[:5000]})
	require.NoError(t, err)
	require.Equal(t, store.InsertPlaysResult{Inserted: 5000}, *res)
	all := append(slices.Clone(in), in[100:200]...) // repeats in the batch
	res, err = s.InsertPlays(ctx, &store.InsertPlaysParams{UserID: "u", Plays: all})
	require.NoError(t, err)
	require.Equal(t, store.InsertPlaysResult{Inserted: 15_000, Duplicates: 5100}, *res)
	tot, err := s.Totals(ctx, &store.StatsFilter{UserID: "u"})
	require.NoError(t, err)
	require.Equal(t, 20_000, tot.Plays)
	require.Equal(t, 1500, tot.UniqueTracks)
	requireRollups(t, s)
}

// TestRollupsFollowEveryWrite changes plays through every write that can
// (inserts out of order, merges with collisions, changed credits, deleted
// users) and checks after each that every rollup equals its recomputation
// from the plays.
func TestRollupsFollowEveryWrite(t *testing.T) {
	t.Parallel()
	s := newTestStore(t)
	ctx := t.Context()
	rng := mrand.New(mrand.NewPCG(11, 12))
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	users := []string{"ua", "ub", "uc"}
	for _, u := range users {
		_, err := s.UpsertUser(ctx, &store.UpsertUserParams{ID: u, Now: now})
		require.NoError(t, err)
	}
	artists := []store.Artist{{ID: "a0", Name: "A0"}, {ID: "a1", Name: "A1"}, {ID: "a2", Name: "A2"}, {ID: "a3", Name: "A3"}}
	tracks := make([]store.Track, 30)
	for i := range tracks {
		tracks[i] = store.Track{ID: fmt.Sprintf("t%02d", i), Name: fmt.Sprintf("T%d", i), Linked: i%3 != 0,
			Album: store.Album{ID: fmt.Sprintf("al%d", i%5), Name: "Al"}, Artists: []store.Artist{artists[i%4]}}
		if i%7 == 0 {
			tracks[i].Artists = append(tracks[i].Artists, artists[(i+1)%4])
		}
		if i%11 == 0 {
			tracks[i].Album = store.Album{}
		}
	}
	// Plays from 1989 (before the year bit sets) to 2025, with shared
	// instants, inserted out of order in batches.
	var plays []store.PlayInput
	lo, hi := time.Date(1989, 6, 1, 0, 0, 0, 0, time.UTC).UnixMilli(), time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	for range 900 {
		at := time.UnixMilli(lo + rng.Int64N(hi-lo)).UTC()
		plays = append(plays, store.PlayInput{Track: tracks[rng.IntN(len(tracks))], PlayedAt: at, MSPlayed: rng.IntN(300_000), Source: store.SourceHistory})
	}
	same := time.Date(2020, 5, 5, 5, 5, 5, 5e6, time.UTC)
	for _, i := range []int{1, 2, 4} {
		plays = append(plays, store.PlayInput{Track: tracks[i], PlayedAt: same, MSPlayed: 1000 * i, Source: store.SourceImport})
	}
	for _, u := range users {
		rng.Shuffle(len(plays), func(i, j int) { plays[i], plays[j] = plays[j], plays[i] })
		for i := 0; i < len(plays); i += 97 {
			_, err := s.InsertPlays(ctx, &store.InsertPlaysParams{UserID: u, Plays: plays[i:min(len(plays), i+97)]})
			require.NoError(t, err)
		}
	}
	requireRollups(t, s)

	// Merges: shared instants between From tracks, and into a track with
	// other credits.
	_, err := s.MergeTracks(ctx, &store.MergeTracksParams{Into: "t01", From: []string{"t02", "t04"}})
	require.NoError(t, err)
	requireRollups(t, s)
	_, err = s.MergeTracks(ctx, &store.MergeTracksParams{Into: "t05", From: []string{"t06", "t07", "t08"}})
	require.NoError(t, err)
	requireRollups(t, s)

	// A linked upsert moves credits to other artists and albums.
	re := tracks[9]
	re.Linked = true
	re.Artists = []store.Artist{artists[3], {ID: "a9", Name: "New"}}
	re.Album = store.Album{ID: "al-new", Name: "New"}
	re2 := tracks[10]
	re2.Artists = nil
	require.NoError(t, s.UpsertTracks(ctx, []store.Track{re, re2}))
	requireRollups(t, s)
	// ... and through InsertPlays and ReplacePlaylistTracks too.
	re3 := tracks[12]
	re3.Linked, re3.Artists = true, []store.Artist{artists[0], artists[1], artists[2]}
	_, err = s.InsertPlays(ctx, &store.InsertPlaysParams{UserID: "ua", Plays: []store.PlayInput{{Track: re3, PlayedAt: now, MSPlayed: 5, Source: store.SourceRealtime}}})
	require.NoError(t, err)
	requireRollups(t, s)
	require.NoError(t, s.SyncOwnedPlaylists(ctx, &store.SyncOwnedPlaylistsParams{UserID: "ub", Playlists: []store.Playlist{{ID: "p", Name: "P"}}, Now: now}))
	re4 := tracks[13]
	re4.Linked, re4.Album = true, store.Album{ID: "al0", Name: "Al"}
	require.NoError(t, s.ReplacePlaylistTracks(ctx, &store.ReplacePlaylistTracksParams{PlaylistID: "p", SnapshotID: "s", Now: now,
		Tracks: []store.PlaylistTrack{{Position: 0, Track: re4, Status: store.PlaylistTrackPlayable}}}))
	requireRollups(t, s)

	require.NoError(t, s.DeleteUser(ctx, "ub"))
	requireRollups(t, s)
}

// requireRollups checks every rollup against its recomputation from the
// plays and the stored credits.
func requireRollups(t *testing.T, s *Store) {
	t.Helper()
	ctx := t.Context()
	year := utcYearSQL("played_at")
	bit := yearBitSQL(year)
	checks := []struct{ name, got, want string }{
		{"user_tracks",
			`SELECT user_id, track_id, plays, ms_played, first_played, last_played, years FROM user_tracks`,
			`SELECT user_id, track_id, count(*)::int, sum(ms_played)::bigint, min(played_at), max(played_at), bit_or(` + bit + `) FROM plays GROUP BY 1, 2`},
		{"user_artists",
			`SELECT user_id, artist_id, plays, ms_played, last_played, years FROM user_artists`,
			`SELECT p.user_id, ta.artist_id, count(*)::int, sum(p.ms_played)::bigint, max(p.played_at), bit_or(` + yearBitSQL(utcYearSQL("p.played_at")) + `)
			FROM plays p JOIN track_artists ta ON ta.track_id = p.track_id GROUP BY 1, 2`},
		{"user_albums",
			`SELECT user_id, album_id, plays, ms_played, last_played, years FROM user_albums`,
			`SELECT p.user_id, t.album_id, count(*)::int, sum(p.ms_played)::bigint, max(p.played_at), bit_or(` + yearBitSQL(utcYearSQL("p.played_at")) + `)
			FROM plays p JOIN tracks t ON t.id = p.track_id WHERE t.album_id IS NOT NULL GROUP BY 1, 2`},
		{"user_year_tracks",
			`SELECT user_id, year, track_id, plays, ms_played, last_played, months, months_ms FROM user_year_tracks`,
			`SELECT user_id, ` + year + `, track_id, count(*)::int, sum(ms_played)::bigint, max(played_at), ` + monthsOf() + `
			FROM (SELECT *, ` + utcMonthSQL("played_at") + ` AS mo FROM plays) p GROUP BY 1, 2, 3`},
		{"user_year_artists",
			`SELECT user_id, year, artist_id, plays, ms_played, last_played, months, months_ms FROM user_year_artists`,
			`SELECT user_id, ` + year + `, artist_id, count(*)::int, sum(ms_played)::bigint, max(played_at), ` + monthsOf() + `
			FROM (SELECT p.*, ta.artist_id, ` + utcMonthSQL("p.played_at") + ` AS mo
				FROM plays p JOIN track_artists ta ON ta.track_id = p.track_id) p GROUP BY 1, 2, 3`},
		{"user_totals",
			`SELECT user_id, plays, ms_played, tracks, artists, albums FROM user_totals WHERE plays > 0`,
			`SELECT u.id, (SELECT count(*) FROM plays WHERE user_id = u.id), (SELECT sum(ms_played) FROM plays WHERE user_id = u.id),
				(SELECT count(DISTINCT track_id) FROM plays WHERE user_id = u.id)::int,
				(SELECT count(DISTINCT ta.artist_id) FROM plays p JOIN track_artists ta ON ta.track_id = p.track_id WHERE p.user_id = u.id)::int,
				(SELECT count(DISTINCT t.album_id) FROM plays p JOIN tracks t ON t.id = p.track_id WHERE p.user_id = u.id)::int
			FROM users u WHERE EXISTS (SELECT 1 FROM plays WHERE user_id = u.id)`},
		{"user_year_tops",
			`SELECT user_id, year, kind, items, ids, plays FROM user_year_tops`,
			`SELECT user_id, year, kind, min(items)::int, array_agg(id ORDER BY n), array_agg(c ORDER BY n) FROM (
				SELECT user_id, year, kind, id, c, row_number() OVER (PARTITION BY user_id, year, kind ORDER BY c DESC, id) AS n,
					count(*) OVER (PARTITION BY user_id, year, kind) AS items FROM (
					SELECT user_id, year, 't' AS kind, track_id AS id, plays AS c FROM user_year_tracks
					UNION ALL SELECT user_id, year, 'a', artist_id, plays FROM user_year_artists) x) y
			WHERE n <= ` + itoa(topsKept) + ` GROUP BY 1, 2, 3`},
	}
	for _, c := range checks {
		var missing, extra int
		err := s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM (`+c.want+` EXCEPT `+c.got+`) a), (SELECT count(*) FROM (`+c.got+` EXCEPT `+c.want+`) b)`).
			Scan(&missing, &extra)
		require.NoError(t, err, c.name)
		require.Zero(t, missing+extra, "%s: %d rows missing from the rollup, %d rows wrong or extra", c.name, missing, extra)
	}
	requireDays(t, s)
}

// requireDays checks user_days against the plays, added up here.
func requireDays(t *testing.T, s *Store) {
	t.Helper()
	type key struct {
		user string
		day  int64
	}
	type day struct {
		n    int32
		ms   int64
		cumN [quarters]int32
		cumM [quarters]int64
	}
	want := map[key]*day{}
	rows, err := s.pool.Query(t.Context(), `SELECT user_id, played_at, ms_played FROM plays`)
	require.NoError(t, err)
	var (
		user string
		at   time.Time
		ms   int64
	)
	_, err = pgx.ForEachRow(rows, []any{&user, &at, &ms}, func() error {
		m := at.UnixMilli()
		k := key{user, floorDiv(m, dayMS)}
		d := want[k]
		if d == nil {
			d = &day{}
			want[k] = d
		}
		d.n++
		d.ms += ms
		for q := floorMod(m, dayMS)/quarterMS + 1; q <= quarters; q++ {
			d.cumN[q-1]++
			d.cumM[q-1] += ms
		}
		return nil
	})
	require.NoError(t, err)
	rows, err = s.pool.Query(t.Context(), `SELECT user_id, day, plays, ms_played, cum_plays, cum_ms FROM user_days`)
	require.NoError(t, err)
	var (
		dn   int64
		n    int32
		cumN []int32
		cumM []int64
	)
	got := 0
	_, err = pgx.ForEachRow(rows, []any{&user, &dn, &n, &ms, &cumN, &cumM}, func() error {
		got++
		d := want[key{user, dn}]
		require.NotNil(t, d, "user_days row %s/%d without plays", user, dn)
		require.Equal(t, d.n, n, "user_days %s/%d plays", user, dn)
		require.Equal(t, d.ms, ms, "user_days %s/%d ms", user, dn)
		require.Equal(t, d.cumN[:], cumN, "user_days %s/%d cum_plays", user, dn)
		require.Equal(t, d.cumM[:], cumM, "user_days %s/%d cum_ms", user, dn)
		return nil
	})
	require.NoError(t, err)
	require.Len(t, want, got, "one user_days row per user and day with plays")
}

// TestStatsOutsideYearBits checks ranged unique counts and year summaries
// for plays in years the rollups' bit sets do not cover, against counts
// made from the plays.
func TestStatsOutsideYearBits(t *testing.T) {
	t.Parallel()
	s := newTestStore(t)
	ctx := t.Context()
	_, err := s.UpsertUser(ctx, &store.UpsertUserParams{ID: "u", Now: time.Now()})
	require.NoError(t, err)
	rng := mrand.New(mrand.NewPCG(5, 6))
	lo, hi := time.Date(1986, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(), time.Date(1993, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	var in []store.PlayInput
	for range 600 {
		i := rng.IntN(40)
		tr := store.Track{ID: fmt.Sprintf("t%02d", i), Name: "T", Linked: true, Album: store.Album{ID: fmt.Sprintf("al%d", i%7), Name: "A"},
			Artists: []store.Artist{{ID: fmt.Sprintf("a%d", i%9), Name: "A"}}}
		in = append(in, store.PlayInput{Track: tr, PlayedAt: time.UnixMilli(lo + rng.Int64N(hi-lo)), MSPlayed: 1, Source: store.SourceHistory})
	}
	_, err = s.InsertPlays(ctx, &store.InsertPlaysParams{UserID: "u", Plays: in})
	require.NoError(t, err)
	for _, r := range []struct{ from, to time.Time }{
		{time.Date(1987, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1991, 1, 1, 0, 0, 0, 0, time.UTC)},
		{time.Date(1987, 3, 5, 0, 0, 0, 0, time.UTC), time.Date(1992, 7, 9, 0, 0, 0, 0, time.UTC)},
		{time.Date(1989, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		got, err := s.Totals(ctx, &store.StatsFilter{UserID: "u", From: r.from, To: r.to})
		require.NoError(t, err)
		var want store.Totals
		require.NoError(t, s.pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT p.track_id), count(DISTINCT ta.artist_id), count(DISTINCT t.album_id)
			FROM plays p JOIN tracks t ON t.id = p.track_id JOIN track_artists ta ON ta.track_id = p.track_id
			WHERE p.user_id = 'u' AND p.played_at >= $1 AND p.played_at < $2`, r.from, r.to).
			Scan(&want.Plays, &want.UniqueTracks, &want.UniqueArtists, &want.UniqueAlbums))
		require.Equal(t, want.Plays, got.Plays, "plays from %s to %s", r.from, r.to)
		require.Equal(t, want.UniqueTracks, got.UniqueTracks, "tracks from %s to %s", r.from, r.to)
		require.Equal(t, want.UniqueArtists, got.UniqueArtists, "artists from %s to %s", r.from, r.to)
		require.Equal(t, want.UniqueAlbums, got.UniqueAlbums, "albums from %s to %s", r.from, r.to)
	}
	years, err := s.Years(ctx, &store.TimeParams{StatsFilter: store.StatsFilter{UserID: "u"}})
	require.NoError(t, err)
	require.Len(t, years, 7)
	for _, ys := range years {
		var plays, tracks int
		require.NoError(t, s.pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT track_id) FROM plays
			WHERE user_id = 'u' AND extract(year FROM played_at AT TIME ZONE 'UTC') = $1`, ys.Year).Scan(&plays, &tracks))
		require.Equal(t, plays, ys.Plays, "plays in %d", ys.Year)
		require.Equal(t, tracks, ys.UniqueTracks, "tracks in %d", ys.Year)
	}
}
