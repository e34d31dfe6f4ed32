package storetest

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/store"
)

func runStats(t *testing.T, newStore func(t *testing.T) store.Store) {
	runCases(t, newStore, []testCase{
		{"EmptyStore", testStatsEmpty},
		{"TopPagingAndCredits", testTopPagingAndCredits},
		{"History", testHistory},
		{"HistoryLimits", testHistoryLimits},
		{"AgainstRecomputation", testStatsAgainstRecomputation},
		{"AfterMergeAndDelete", testStatsAfterMergeAndDelete},
	})
}

// zones are the display zones every statistic is checked in.
func zones(t testing.TB) []*time.Location {
	t.Helper()
	var locs []*time.Location
	for _, name := range []string{"UTC", "America/New_York", "Asia/Kolkata"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatalf("load time zone %s: %v (the suite needs the IANA database; import time/tzdata in the test binary)", name, err)
		}
		locs = append(locs, loc)
	}
	return locs
}

func testStatsEmpty(t *testing.T, b *bundle) {
	u := NewUser(b.ctx, t, b.s, nil)
	for _, uid := range []string{u.ID, ""} {
		f := store.StatsFilter{UserID: uid}
		tot, err := b.s.Totals(b.ctx, &f)
		require.NoError(t, err)
		require.Equal(t, store.Totals{}, zeroTimes(*tot), "Totals without plays")
		require.True(t, tot.FirstPlayed.IsZero() && tot.LastPlayed.IsZero(), "FirstPlayed and LastPlayed are zero without plays")
		for _, kind := range []store.TopKind{store.TopTracks, store.TopArtists, store.TopAlbums} {
			top, err := b.s.Top(b.ctx, &store.TopParams{StatsFilter: f, Kind: kind, By: store.ByCount})
			require.NoError(t, err)
			require.Empty(t, top)
		}
		ot, err := b.s.OverTime(b.ctx, &store.OverTimeParams{StatsFilter: f, Bucket: store.BucketDay})
		require.NoError(t, err)
		require.Empty(t, ot)
		hw, err := b.s.HourWeekday(b.ctx, &store.TimeParams{StatsFilter: f})
		require.NoError(t, err)
		require.Equal(t, store.HourWeekday{}, *hw)
		ys, err := b.s.Years(b.ctx, &store.TimeParams{StatsFilter: f})
		require.NoError(t, err)
		require.Empty(t, ys)
	}
	h, err := b.s.History(b.ctx, &store.HistoryParams{UserID: u.ID})
	require.NoError(t, err)
	require.Empty(t, h)
}

func zeroTimes(t store.Totals) store.Totals {
	t.FirstPlayed, t.LastPlayed = time.Time{}, time.Time{}
	return t
}

// testTopPagingAndCredits pins the ranking rules on a hand-made example.
func testTopPagingAndCredits(t *testing.T, b *bundle) {
	ctx, s := b.ctx, b.s
	u := NewUser(ctx, t, s, nil)
	a := store.Artist{ID: "ar-a", Name: "A"}
	bb := store.Artist{ID: "ar-b", Name: "B"}
	c := store.Artist{ID: "ar-c", Name: "C"}
	al := store.Album{ID: "al-1", Name: "One"}
	t1 := MakeTrack(&TrackOpts{ID: "t1", Album: &al, Artists: []store.Artist{a, bb}})
	t2 := MakeTrack(&TrackOpts{ID: "t2", Album: &al, Artists: []store.Artist{c}})
	t3 := MakeTrack(&TrackOpts{ID: "t3", Album: &store.Album{}, Artists: []store.Artist{bb}})
	t0 := baseTime()
	InsertPlays(ctx, t, s, u.ID,
		PlayOf(t1, t0, 100), PlayOf(t1, t0.Add(time.Minute), 100),
		PlayOf(t2, t0.Add(2*time.Minute), 1000),
		PlayOf(t3, t0.Add(3*time.Minute), 10), PlayOf(t3, t0.Add(4*time.Minute), 10),
	)
	ids := func(items []store.TopItem) []string {
		var out []string
		for _, it := range items {
			out = append(out, fmt.Sprintf("%s:%d:%d", it.ID, it.Plays, it.MSPlayed))
		}
		return out
	}
	cases := []struct {
		name string
		p    store.TopParams
		want []string
	}{
		{"TracksByCountTiesByID", store.TopParams{Kind: store.TopTracks, By: store.ByCount}, []string{"t1:2:200", "t3:2:20", "t2:1:1000"}},
		{"TracksByTime", store.TopParams{Kind: store.TopTracks, By: store.ByTime}, []string{"t2:1:1000", "t1:2:200", "t3:2:20"}},
		{"ArtistsCreditedPerArtist", store.TopParams{Kind: store.TopArtists, By: store.ByCount}, []string{"ar-b:4:220", "ar-a:2:200", "ar-c:1:1000"}},
		{"AlbumsSkipTracksWithoutAlbum", store.TopParams{Kind: store.TopAlbums, By: store.ByCount}, []string{"al-1:3:1200"}},
		{"Limit", store.TopParams{Kind: store.TopTracks, By: store.ByCount, Limit: 2}, []string{"t1:2:200", "t3:2:20"}},
		{"Offset", store.TopParams{Kind: store.TopTracks, By: store.ByCount, Limit: 2, Offset: 2}, []string{"t2:1:1000"}},
		{"OffsetPastEnd", store.TopParams{Kind: store.TopTracks, By: store.ByCount, Offset: 3}, nil},
	}
	for _, tc := range cases {
		got, err := s.Top(ctx, &tc.p)
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.want, ids(got), "Top %s", tc.name)
	}
	got, err := s.Top(ctx, &store.TopParams{Kind: store.TopAlbums, By: store.ByCount})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, []store.Artist{a, c}, got[0].Artists, "an album's Artists are the first-credited artists of its tracks, by id")
	require.Equal(t, "One", got[0].Name)
}

// statsPlays returns the number of random plays of each of the three users
// of the statistics data set (edge plays come on top).
func statsPlays() [3]int { return [3]int{700, 300, 100} }

// statsData is the random data set the statistics are checked on.
type statsData struct {
	users  []string
	tracks []store.Track
	model  *refModel
}

// buildStatsData stores random plays of three users from 2019 to mid-2024,
// with extra plays on the edges that matter (DST changes, local midnights
// and new years in the checked zones, month and quarter-hour edges, the same
// millisecond), inserted out of order in several batches.
func buildStatsData(t *testing.T, b *bundle, seed uint64, perUser [3]int) *statsData {
	t.Helper()
	ctx, s := b.ctx, b.s
	rng := rand.New(rand.NewPCG(seed, 42))
	d := &statsData{model: &refModel{tracks: map[string]store.Track{}}}
	for i := range 3 {
		d.users = append(d.users, NewUser(ctx, t, s, &UserOpts{ID: fmt.Sprintf("su%d", i)}).ID)
	}
	var artists []store.Artist
	for i := range 30 {
		artists = append(artists, store.Artist{ID: fmt.Sprintf("ar%02d", i), Name: fmt.Sprintf("Artist %02d", i)})
	}
	var albums []store.Album
	for i := range 25 {
		albums = append(albums, store.Album{ID: fmt.Sprintf("al%02d", i), Name: fmt.Sprintf("Album %02d", i)})
	}
	for i := range 120 {
		tr := store.Track{ID: fmt.Sprintf("tr%03d", i), Name: fmt.Sprintf("Song %03d", i), DurationMS: 120_000 + rng.IntN(200_000), Linked: rng.IntN(5) != 0}
		if rng.IntN(12) != 0 {
			tr.Album = albums[rng.IntN(len(albums))]
		}
		n := []int{0, 1, 1, 1, 1, 2, 2, 3}[rng.IntN(8)]
		for _, j := range rng.Perm(len(artists))[:n] {
			tr.Artists = append(tr.Artists, artists[j])
		}
		if i%40 == 7 {
			tr.ID, tr.IsLocal, tr.Linked = fmt.Sprintf("spotify:local:x:y:Song+%03d:200", i), true, true
		}
		d.tracks = append(d.tracks, tr)
	}

	start := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	end := time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	edges := []time.Time{
		time.Date(2023, 3, 12, 7, 0, 0, 0, time.UTC),    // New York springs forward
		time.Date(2023, 11, 5, 6, 0, 0, 0, time.UTC),    // New York falls back
		time.Date(2023, 11, 5, 5, 30, 0, 0, time.UTC),   // the repeated hour
		time.Date(2022, 12, 31, 18, 30, 0, 0, time.UTC), // new year in Kolkata
		time.Date(2023, 1, 1, 5, 0, 0, 0, time.UTC),     // new year in New York
		time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC),     // new year in UTC
		time.Date(2021, 6, 30, 18, 30, 0, 0, time.UTC),  // a month in Kolkata
		time.Date(2021, 7, 1, 4, 0, 0, 0, time.UTC),     // a month in New York (EDT)
		time.Date(2020, 2, 29, 23, 45, 0, 0, time.UTC),  // a leap day, a quarter-hour edge
		time.Date(2020, 3, 2, 4, 45, 0, 0, time.UTC),    // a Monday in New York (week start)
	}
	type pending struct {
		user string
		in   store.PlayInput
	}
	var all []pending
	add := func(user string, tr store.Track, at time.Time, msPlayed int) {
		src := []store.Source{store.SourceHistory, store.SourceRealtime, store.SourceImport}[rng.IntN(3)]
		all = append(all, pending{user, store.PlayInput{Track: tr, PlayedAt: at, MSPlayed: msPlayed, Source: src}})
	}
	randTrack := func() store.Track {
		// A skewed choice, so rankings have leaders and ties.
		i := min(rng.IntN(len(d.tracks)), rng.IntN(len(d.tracks)))
		return d.tracks[i]
	}
	for ui, user := range d.users {
		n := perUser[ui]
		for range n {
			at := time.UnixMilli(start + rng.Int64N(end-start)).UTC()
			add(user, randTrack(), at.Add(time.Duration(rng.IntN(1_000_000))), rng.IntN(400_000))
		}
		for _, e := range edges {
			for _, off := range []time.Duration{-time.Millisecond, 0, time.Millisecond, 14 * time.Minute} {
				add(user, randTrack(), e.Add(off), rng.IntN(300_000))
			}
		}
		// Two tracks in the same millisecond, and a zero-length play.
		same := time.Date(2022, 8, 1, 12, 0, 0, 0, time.UTC)
		add(user, d.tracks[1], same, 1000)
		add(user, d.tracks[2], same, 2000)
		add(user, d.tracks[3], same.Add(time.Second), 0)
	}
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })

	// Insert in batches per user, expecting what the model says.
	seen := map[string]bool{}
	byUser := map[string][]store.PlayInput{}
	for _, p := range all {
		byUser[p.user] = append(byUser[p.user], p.in)
	}
	for _, user := range d.users {
		plays := byUser[user]
		for len(plays) > 0 {
			n := min(len(plays), 1+rng.IntN(400))
			batch := plays[:n]
			plays = plays[n:]
			want := store.InsertPlaysResult{}
			for _, in := range batch {
				key := fmt.Sprintf("%s|%d|%s", user, in.PlayedAt.UnixMilli(), in.Track.ID)
				if seen[key] {
					want.Duplicates++
					continue
				}
				seen[key] = true
				want.Inserted++
				d.model.plays = append(d.model.plays, store.Play{UserID: user, TrackID: in.Track.ID, PlayedAt: ms(in.PlayedAt), MSPlayed: in.MSPlayed, Source: in.Source})
			}
			require.Equal(t, want, *InsertPlays(ctx, t, s, user, batch...), "InsertPlays counts")
		}
	}
	d.refreshCatalog(t, b)
	return d
}

// refreshCatalog reloads the model's catalogue from the store.
func (d *statsData) refreshCatalog(t *testing.T, b *bundle) {
	t.Helper()
	d.model.tracks = map[string]store.Track{}
	for _, tr := range d.tracks {
		got, err := b.s.GetTrack(b.ctx, tr.ID)
		if err == nil {
			d.model.tracks[tr.ID] = *got
			continue
		}
		require.ErrorIs(t, err, store.ErrNotFound)
	}
}

// requireModelPlays checks that the store holds exactly the model's plays.
func (d *statsData) requireModelPlays(t *testing.T, b *bundle) {
	t.Helper()
	for _, user := range d.users {
		var want []store.Play
		for _, p := range d.model.plays {
			if p.UserID == user {
				want = append(want, p)
			}
		}
		sortPlays(want)
		got := listPlays(t, b, user, time.Time{}, time.Time{})
		var plays []store.Play
		for _, p := range got {
			plays = append(plays, p.Play)
		}
		sortPlays(plays)
		gotWT := make([]store.PlayWithTrack, len(plays))
		for i := range plays {
			gotWT[i] = store.PlayWithTrack{Play: plays[i], Track: store.Track{ID: plays[i].TrackID}}
		}
		requirePlays(t, want, gotWT, "the plays of "+user)
	}
}

func sortPlays(p []store.Play) {
	slices.SortFunc(p, func(a, b store.Play) int {
		if c := a.PlayedAt.Compare(b.PlayedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.TrackID, b.TrackID)
	})
}

// filters returns the ranges the statistics are checked over.
func statsFilters(rng *rand.Rand) []store.StatsFilter {
	rnd := func(from, to time.Time) time.Time {
		return from.Add(time.Duration(rng.Int64N(int64(to.Sub(from)))))
	}
	y2020 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	y2024 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	ny, _ := time.LoadLocation("America/New_York")
	return []store.StatsFilter{
		{},
		{From: rnd(y2020, y2024)},
		{To: rnd(y2020, y2024)},
		{From: rnd(y2020, y2020.AddDate(1, 0, 0)), To: rnd(y2024.AddDate(-1, 0, 0), y2024)},                         // years, ragged edges
		{From: time.Date(2021, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2022, 9, 1, 0, 0, 0, 0, time.UTC)},        // UTC months
		{From: time.Date(2023, 1, 1, 0, 0, 0, 0, ny), To: time.Date(2024, 1, 1, 0, 0, 0, 0, ny)},                    // a New York year
		{From: time.Date(2023, 3, 11, 23, 0, 0, 0, ny), To: time.Date(2023, 11, 5, 1, 30, 0, 0, ny).Add(time.Hour)}, // DST edges
		{From: time.Date(2021, 7, 1, 3, 59, 0, 0, time.UTC), To: time.Date(2021, 7, 1, 4, 14, 59, 999e6, time.UTC)}, // inside a quarter hour
		{From: time.Date(2022, 8, 1, 12, 0, 0, 0, time.UTC), To: time.Date(2022, 8, 1, 12, 0, 0, 1e6, time.UTC)},    // one millisecond
		{From: time.Date(2022, 8, 1, 12, 0, 0, 0, time.UTC), To: time.Date(2022, 8, 1, 12, 0, 0, 0, time.UTC)},      // empty
		{From: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)},                                                         // after every play
		{From: rnd(y2020, y2024).Truncate(time.Hour), To: rnd(y2020, y2024).Truncate(time.Hour).Add(40 * 24 * time.Hour)},
	}
}

func describe(f store.StatsFilter, loc *time.Location) string {
	user := f.UserID
	if user == "" {
		user = "all users"
	}
	s := fmt.Sprintf("[%s from %s to %s", user, fmtTime(f.From), fmtTime(f.To))
	if loc != nil {
		s += " in " + loc.String()
	}
	return s + "]"
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// requireStats checks every statistic against the model, for all users and
// for single users, over every filter, in every zone. To keep the suite fast
// the Top orders and pages and the OverTime buckets rotate over the
// filters, so that every combination is still covered; Years is checked in every zone over all time
// and in one zone, in turn, for the other filters.
func (d *statsData) requireStats(t *testing.T, b *bundle, rng *rand.Rand, users []string) {
	t.Helper()
	ctx, s := b.ctx, b.s
	buckets := []store.Bucket{store.BucketDay, store.BucketWeek, store.BucketMonth}
	pages := []struct{ limit, offset int }{{0, 0}, {7, 5}, {3, 0}}
	locs := zones(t)
	for ui, user := range users {
		for fi, f := range statsFilters(rng) {
			f.UserID = user
			what := describe(f, nil)
			turn := ui + fi

			tot, err := s.Totals(ctx, &f)
			require.NoError(t, err, "Totals %s", what)
			requireTotals(t, d.model.totals(f), *tot, "Totals "+what)

			for ki, kind := range []store.TopKind{store.TopTracks, store.TopArtists, store.TopAlbums} {
				orders := []store.TopOrder{store.ByCount, store.ByTime}
				for bi, by := range orders {
					if fi > 0 && bi != (turn+ki)%len(orders) {
						continue // one order per kind and filter, in turn; both over all time
					}
					page := pages[(turn+ki+bi)%len(pages)]
					p := store.TopParams{StatsFilter: f, Kind: kind, By: by, Limit: page.limit, Offset: page.offset}
					got, err := s.Top(ctx, &p)
					require.NoError(t, err)
					requireTop(t, d.model.top(p), got, fmt.Sprintf("Top %s by %s limit %d offset %d %s", kind, by, page.limit, page.offset, what))
				}
			}
			for li, loc := range locs {
				what := describe(f, loc)
				if turn%4 == 0 && li == 0 {
					loc = nil // nil means UTC
				}
				bucket := buckets[(turn+li)%len(buckets)]
				p := store.OverTimeParams{StatsFilter: f, Bucket: bucket, Location: loc}
				got, err := s.OverTime(ctx, &p)
				require.NoError(t, err)
				requireOverTime(t, d.model.overTime(p), got, locOrUTC(loc), fmt.Sprintf("OverTime by %s %s", bucket, what))

				tp := store.TimeParams{StatsFilter: f, Location: loc}
				hw, err := s.HourWeekday(ctx, &tp)
				require.NoError(t, err)
				want := d.model.hourWeekday(tp)
				require.Equal(t, want.Days, hw.Days, "HourWeekday Days %s", what)
				require.Equal(t, want.Plays, hw.Plays, "HourWeekday Plays[weekday][hour] %s", what)
				require.Equal(t, want.MSPlayed, hw.MSPlayed, "HourWeekday MSPlayed[weekday][hour] %s", what)

				// Years is the costliest check: one zone per filter in turn,
				// every zone over all time.
				if fi == 0 || li == turn%len(locs) {
					ys, err := s.Years(ctx, &tp)
					require.NoError(t, err)
					requireYears(t, d.model.years(tp), ys, "Years "+what)
				}
			}
		}
	}
}

func requireTotals(t testing.TB, want, got store.Totals, what string) {
	t.Helper()
	require.Equal(t, zeroTimes(want), zeroTimes(got), "%s: counts", what)
	requireTime(t, want.FirstPlayed, got.FirstPlayed, what+": FirstPlayed")
	requireTime(t, want.LastPlayed, got.LastPlayed, what+": LastPlayed")
}

func requireTopItem(t testing.TB, want, got store.TopItem, what string) {
	t.Helper()
	require.Equal(t, want.ID, got.ID, "%s: ID", what)
	require.Equal(t, want.Name, got.Name, "%s: Name of %s", what, want.ID)
	require.Equal(t, normArtists(want.Artists), normArtists(got.Artists), "%s: Artists of %s", what, want.ID)
	require.Equal(t, want.Album, got.Album, "%s: Album of %s", what, want.ID)
	require.Equal(t, want.IsLocal, got.IsLocal, "%s: IsLocal of %s", what, want.ID)
	require.Equal(t, want.Plays, got.Plays, "%s: Plays of %s", what, want.ID)
	require.Equal(t, want.MSPlayed, got.MSPlayed, "%s: MSPlayed of %s", what, want.ID)
	requireTime(t, want.LastPlayed, got.LastPlayed, what+": LastPlayed of "+want.ID)
}

func requireTop(t testing.TB, want, got []store.TopItem, what string) {
	t.Helper()
	wantIDs, gotIDs := make([]string, len(want)), make([]string, len(got))
	for i := range want {
		wantIDs[i] = fmt.Sprintf("%s:%d:%d", want[i].ID, want[i].Plays, want[i].MSPlayed)
	}
	for i := range got {
		gotIDs[i] = fmt.Sprintf("%s:%d:%d", got[i].ID, got[i].Plays, got[i].MSPlayed)
	}
	require.Equal(t, wantIDs, gotIDs, "%s: ranking (id:plays:ms), ties broken by id", what)
	for i := range want {
		requireTopItem(t, want[i], got[i], what)
	}
}

func requireOverTime(t testing.TB, want, got []store.TimePoint, loc *time.Location, what string) {
	t.Helper()
	require.Len(t, got, len(want), "%s: number of buckets with plays", what)
	for i := range want {
		require.True(t, want[i].Start.Equal(got[i].Start), "%s: bucket %d starts at %s, got %s", what, i, want[i].Start, got[i].Start)
		require.Equal(t, loc.String(), got[i].Start.Location().String(), "%s: bucket starts are in the caller's location", what)
		require.Equal(t, want[i].Plays, got[i].Plays, "%s: plays in bucket %s", what, want[i].Start)
		require.Equal(t, want[i].MSPlayed, got[i].MSPlayed, "%s: ms in bucket %s", what, want[i].Start)
	}
}

func requireYears(t testing.TB, want, got []store.YearSummary, what string) {
	t.Helper()
	wantY, gotY := make([]int, len(want)), make([]int, len(got))
	for i := range want {
		wantY[i] = want[i].Year
	}
	for i := range got {
		gotY[i] = got[i].Year
	}
	require.Equal(t, wantY, gotY, "%s: years with plays, oldest first", what)
	for i := range want {
		w, g := want[i], got[i]
		what := fmt.Sprintf("%s year %d", what, w.Year)
		require.Equal(t, w.Plays, g.Plays, "%s: Plays", what)
		require.Equal(t, w.MSPlayed, g.MSPlayed, "%s: MSPlayed", what)
		require.Equal(t, w.UniqueTracks, g.UniqueTracks, "%s: UniqueTracks", what)
		require.Equal(t, w.UniqueArtists, g.UniqueArtists, "%s: UniqueArtists", what)
		require.NotNil(t, g.TopTrack, "%s: TopTrack of a year with plays", what)
		requireTopItem(t, *w.TopTrack, *g.TopTrack, what+": TopTrack")
		if w.TopArtist == nil {
			require.Nil(t, g.TopArtist, "%s: TopArtist of a year whose tracks have no artists", what)
		} else {
			require.NotNil(t, g.TopArtist, "%s: TopArtist", what)
			requireTopItem(t, *w.TopArtist, *g.TopArtist, what+": TopArtist")
		}
	}
}

func testStatsAgainstRecomputation(t *testing.T, b *bundle) {
	d := buildStatsData(t, b, 1, statsPlays())
	d.requireModelPlays(t, b)
	d.requireStats(t, b, rand.New(rand.NewPCG(7, 7)), []string{"", d.users[0], d.users[2]})
}

// testStatsAfterMergeAndDelete changes plays through every write that can
// (re-inserts, merges, a user's deletion) and checks the statistics again,
// so rollups can never drift from the plays.
func testStatsAfterMergeAndDelete(t *testing.T, b *bundle) {
	ctx, s := b.ctx, b.s
	d := buildStatsData(t, b, 2, statsPlays())

	// Re-inserting a user's plays changes nothing.
	var again []store.PlayInput
	for _, p := range d.model.plays {
		if p.UserID == d.users[1] {
			again = append(again, store.PlayInput{Track: d.model.tracks[p.TrackID], PlayedAt: p.PlayedAt, MSPlayed: p.MSPlayed, Source: p.Source})
		}
	}
	require.Equal(t, store.InsertPlaysResult{Duplicates: len(again)}, *InsertPlays(ctx, t, s, d.users[1], again...))

	// Merge a few tracks, mirroring the merge in the model. (Which of two
	// From plays at the same instant survives is not specified, so no merge
	// here has such plays; the suite's random plays never share an instant
	// except where it puts them on purpose.)
	merges := []struct {
		into string
		from []string
	}{
		{d.tracks[2].ID, []string{d.tracks[1].ID}}, // they share a millisecond: the From play is dropped
		{d.tracks[10].ID, []string{d.tracks[50].ID, d.tracks[51].ID}},
		{d.tracks[7].ID, []string{d.tracks[5].ID, d.tracks[6].ID}}, // into a local track
	}
	for _, m := range merges {
		type key struct {
			user string
			at   int64
		}
		taken := map[key]bool{}
		for _, p := range d.model.plays {
			if p.TrackID == m.into {
				taken[key{p.UserID, p.PlayedAt.UnixMilli()}] = true
			}
		}
		var kept []store.Play
		moved := 0
		for _, p := range d.model.plays {
			if slices.Contains(m.from, p.TrackID) {
				k := key{p.UserID, p.PlayedAt.UnixMilli()}
				if taken[k] {
					continue
				}
				taken[k] = true
				p.TrackID = m.into
				moved++
			}
			kept = append(kept, p)
		}
		d.model.plays = kept
		got, err := s.MergeTracks(ctx, &store.MergeTracksParams{Into: m.into, From: m.from})
		require.NoError(t, err)
		require.Equal(t, moved, got, "MergeTracks(%s <- %v) plays moved", m.into, m.from)
	}
	// Relink played tracks: new artists, another album, no album. Artist and
	// album statistics follow the tracks' current credits.
	relinked := []store.Track{d.tracks[20], d.tracks[21], d.tracks[22]}
	relinked[0].Artists = []store.Artist{{ID: "ar-new", Name: "New Artist"}, {ID: "ar03", Name: "Artist 03 (renamed)"}}
	relinked[0].Album = store.Album{ID: "al-new", Name: "New Album"}
	relinked[1].Album = store.Album{ID: "al00", Name: "Album 00"}
	relinked[1].Artists = nil
	relinked[2].Album = store.Album{}
	for i := range relinked {
		relinked[i].Linked = true
	}
	require.NoError(t, s.UpsertTracks(ctx, relinked))
	d.refreshCatalog(t, b)
	for _, tr := range relinked {
		requireTrack(t, tr, d.model.tracks[tr.ID], "a relinked track")
	}

	// Delete a user.
	require.NoError(t, s.DeleteUser(ctx, d.users[2]))
	d.model.plays = slices.DeleteFunc(d.model.plays, func(p store.Play) bool { return p.UserID == d.users[2] })
	d.users = d.users[:2]

	d.requireModelPlays(t, b)
	d.requireStats(t, b, rand.New(rand.NewPCG(8, 8)), []string{"", d.users[1]})
}

func testHistory(t *testing.T, b *bundle) {
	d := buildStatsData(t, b, 3, [3]int{50, 250, 20})
	user := d.users[1]
	for _, limit := range []int{0, 37} {
		var got []store.Play
		p := store.HistoryParams{UserID: user, Limit: limit}
		for {
			page, err := b.s.History(b.ctx, &p)
			require.NoError(t, err)
			want := d.model.history(p)
			require.Len(t, page, len(want), "History page before %s/%s", fmtTime(p.Before), p.BeforeTrackID)
			for i := range page {
				require.Equal(t, page[i].TrackID, page[i].Track.ID, "History joins each play with its track")
				requireTrack(t, d.model.tracks[page[i].TrackID], page[i].Track, "History track")
			}
			if len(page) == 0 {
				break
			}
			for _, pw := range page {
				got = append(got, pw.Play)
			}
			last := page[len(page)-1]
			p.Before, p.BeforeTrackID = last.PlayedAt, last.TrackID
		}
		all := d.model.history(store.HistoryParams{UserID: user, Limit: 1000})
		require.Len(t, got, len(all), "paging History with limit %d visits every play once", limit)
		gotWT := make([]store.PlayWithTrack, len(got))
		for i := range got {
			gotWT[i] = store.PlayWithTrack{Play: got[i], Track: store.Track{ID: got[i].TrackID}}
		}
		requirePlays(t, all, gotWT, fmt.Sprintf("History pages (limit %d), newest first, ties by track id descending", limit))
	}
	// A cursor with a time but no track id: strictly before that instant.
	same := time.Date(2022, 8, 1, 12, 0, 0, 0, time.UTC)
	page, err := b.s.History(b.ctx, &store.HistoryParams{UserID: user, Before: same, Limit: 1})
	require.NoError(t, err)
	require.Len(t, page, 1)
	require.True(t, page[0].PlayedAt.Before(same), "History with Before and no BeforeTrackID returns plays strictly before Before")
	page, err = b.s.History(b.ctx, &store.HistoryParams{UserID: user, Before: same, BeforeTrackID: d.tracks[2].ID, Limit: 1})
	require.NoError(t, err)
	require.Len(t, page, 1)
	require.Equal(t, d.tracks[1].ID, page[0].TrackID, "the track id breaks ties at the same instant")
}

func testHistoryLimits(t *testing.T, b *bundle) {
	u := NewUser(b.ctx, t, b.s, nil)
	tr := MakeTrack(nil)
	in := make([]store.PlayInput, 1001)
	for i := range in {
		in[i] = PlayOf(tr, baseTime().Add(time.Duration(i)*time.Second), 1)
	}
	InsertPlays(b.ctx, t, b.s, u.ID, in...)
	cases := []struct {
		limit, want int
	}{{0, 50}, {1, 1}, {1000, 1000}, {5000, 1000}}
	for _, tc := range cases {
		page, err := b.s.History(b.ctx, &store.HistoryParams{UserID: u.ID, Limit: tc.limit})
		require.NoError(t, err)
		require.Len(t, page, tc.want, "History with Limit %d (0 = 50, at most 1000)", tc.limit)
		requireTime(t, in[1000].PlayedAt, page[0].PlayedAt, "History starts from the newest play")
	}
}
