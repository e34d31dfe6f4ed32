package postgres

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	sq "github.com/Masterminds/squirrel"
	"github.com/jackc/pgx/v5"

	"github.com/spotifyhist/spotifyhist/store"
)

// pg builds the statements whose shape varies with the filter.
func pg() sq.StatementBuilderType { return sq.StatementBuilder.PlaceholderFormat(sq.Dollar) }

// Limits of Top and History.
const (
	topLimitDefault     = 10
	historyLimitDefault = 50
	historyLimitMax     = 1000
)

// scope is a StatsFilter as stored: the bounds are whole milliseconds
// (plays are stored truncated, so from <= played_at < to keeps exactly the
// plays the filter names).
type scope struct {
	user    string // empty = every user
	lo, hi  int64  // unix ms, [lo, hi)
	bounded bool   // From or To is set
}

func scopeOf(f *store.StatsFilter) scope {
	sc := scope{user: f.UserID, lo: minMS, hi: maxMS}
	if !f.From.IsZero() {
		sc.lo, sc.bounded = f.From.UnixMilli(), true
	}
	if !f.To.IsZero() {
		sc.hi, sc.bounded = f.To.UnixMilli(), true
	}
	return sc
}

func (sc scope) empty() bool { return sc.lo >= sc.hi }

// narrow reads the statistics of every user as those of the only user
// with plays, when there is one: the per-user rollups answer those
// directly. Two probes of user_tracks' primary key tell.
func (sc *scope) narrow(ctx context.Context, q querier) error {
	if sc.user != "" {
		return nil
	}
	var first, second *string
	if err := q.QueryRow(ctx, `SELECT (SELECT min(user_id) FROM user_tracks),
		(SELECT min(user_id) FROM user_tracks WHERE user_id > (SELECT min(user_id) FROM user_tracks))`).Scan(&first, &second); err != nil {
		return err
	}
	if first != nil && second == nil {
		sc.user = *first
	}
	return nil
}

// userWhere adds the user condition on col when the scope names a user.
func (sc scope) userWhere(b sq.SelectBuilder, col string) sq.SelectBuilder {
	if sc.user != "" {
		return b.Where(col+" = ?", sc.user)
	}
	return b
}

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// History returns one page of the user's plays, newest first.
func (s *Store) History(ctx context.Context, p *store.HistoryParams) ([]store.PlayWithTrack, error) {
	const op = "history"
	limit := p.Limit
	switch {
	case limit < 0:
		return nil, invalid(op, "limit %d < 0", limit)
	case limit == 0:
		limit = historyLimitDefault
	case limit > historyLimitMax:
		limit = historyLimitMax
	}
	q := pg().Select("user_id", "played_at", "track_id", "ms_played", "source", "coalesce(import_id, '')").
		From("plays").Where("user_id = ?", p.UserID).
		OrderBy("played_at DESC", "track_id DESC").Limit(uint64(limit)) //nolint:gosec // checked above
	if !p.Before.IsZero() {
		q = q.Where("(played_at, track_id) < (?, ?)", ts(p.Before), p.BeforeTrackID)
	}
	sql, args, err := q.ToSql()
	if err != nil {
		return nil, wrap(op, err)
	}
	var out []store.PlayWithTrack
	err = s.read(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		out, err = collectPlays(ctx, tx, rows)
		return err
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	return out, nil
}

// playSpan returns the first and last play of the scope's user (or of
// every user) in [lo, hi), as unix ms; ok is false when there is none.
func playSpan(ctx context.Context, q querier, user string, lo, hi int64) (first, last int64, ok bool, err error) {
	var f, l *time.Time
	if user != "" {
		err = q.QueryRow(ctx, `SELECT
			(SELECT min(played_at) FROM plays WHERE user_id = $1 AND played_at >= $2 AND played_at < $3),
			(SELECT max(played_at) FROM plays WHERE user_id = $1 AND played_at >= $2 AND played_at < $3)`,
			user, msTime(lo), msTime(hi)).Scan(&f, &l)
	} else {
		err = q.QueryRow(ctx, `SELECT min(x.f), max(x.l) FROM users u CROSS JOIN LATERAL (SELECT
			(SELECT min(played_at) FROM plays WHERE user_id = u.id AND played_at >= $1 AND played_at < $2) AS f,
			(SELECT max(played_at) FROM plays WHERE user_id = u.id AND played_at >= $1 AND played_at < $2) AS l) x`,
			msTime(lo), msTime(hi)).Scan(&f, &l)
	}
	if err != nil || f == nil {
		return 0, 0, false, err
	}
	return f.UnixMilli(), l.UnixMilli(), true, nil
}

// planScope plans the scope's range over the plays stored. ok is false
// when the scope's user (or the store) has no plays at all.
func planScope(ctx context.Context, q querier, sc scope) (plan rangePlan, ok bool, err error) {
	first, last, ok, err := playSpan(ctx, q, sc.user, minMS, maxMS)
	if err != nil || !ok {
		return rangePlan{}, false, err
	}
	return planRange(sc.lo, sc.hi, first, last), true, nil
}

// toSQL renders a statement with PostgreSQL placeholders.
func toSQL(s sq.Sqlizer) (string, []any, error) {
	sql, args, err := s.ToSql()
	if err != nil {
		return "", nil, err
	}
	sql, err = sq.Dollar.ReplacePlaceholders(sql)
	return sql, args, err
}

// Totals counts plays, time listened and distinct tracks, artists and
// albums in the filter.
func (s *Store) Totals(ctx context.Context, f *store.StatsFilter) (*store.Totals, error) {
	const op = "totals"
	sc := scopeOf(f)
	out := &store.Totals{}
	if sc.empty() {
		return out, nil
	}
	err := s.read(ctx, func(tx pgx.Tx) error {
		*out = store.Totals{}
		if err := sc.narrow(ctx, tx); err != nil {
			return err
		}
		plan, ok, err := planScope(ctx, tx, sc)
		if err != nil || !ok {
			return err
		}
		first, last, ok, err := playSpan(ctx, tx, sc.user, sc.lo, sc.hi)
		if err != nil || !ok {
			return err
		}
		out.FirstPlayed, out.LastPlayed = msTime(first), msTime(last)
		if plan.all {
			return allTotals(ctx, tx, sc, out)
		}
		if out.Plays, out.MSPlayed, err = rangeCount(ctx, tx, sc); err != nil {
			return err
		}
		for _, k := range []struct {
			kind store.TopKind
			n    *int
		}{{store.TopTracks, &out.UniqueTracks}, {store.TopArtists, &out.UniqueArtists}, {store.TopAlbums, &out.UniqueAlbums}} {
			if *k.n, err = uniqueCount(ctx, tx, sc, k.kind, plan); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	return out, nil
}

// allTotals reads all-time totals from the rollups.
func allTotals(ctx context.Context, q querier, sc scope, out *store.Totals) error {
	if sc.user != "" {
		err := q.QueryRow(ctx, `SELECT plays, ms_played, tracks, artists, albums FROM user_totals WHERE user_id = $1`, sc.user).
			Scan(&out.Plays, &out.MSPlayed, &out.UniqueTracks, &out.UniqueArtists, &out.UniqueAlbums)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	}
	return q.QueryRow(ctx, `SELECT
		(SELECT coalesce(sum(plays), 0) FROM user_totals),
		(SELECT coalesce(sum(ms_played), 0) FROM user_totals),
		(SELECT count(DISTINCT track_id) FROM user_tracks),
		(SELECT count(DISTINCT artist_id) FROM user_artists),
		(SELECT count(DISTINCT album_id) FROM user_albums)`).
		Scan(&out.Plays, &out.MSPlayed, &out.UniqueTracks, &out.UniqueArtists, &out.UniqueAlbums)
}

// rangeCount counts the plays and time listened in the scope: whole UTC
// days from user_days, the edges from the plays.
func rangeCount(ctx context.Context, q querier, sc scope) (int, int64, error) {
	runs, raw := planDays(sc.lo, sc.hi, time.UTC)
	var n, ms int64
	if len(runs) > 0 {
		sql, args, err := toSQL(sc.userWhere(sq.Select("coalesce(sum(plays), 0)", "coalesce(sum(ms_played), 0)").
			From("user_days").Where("day >= ? AND day < ?", runs[0].lo, runs[len(runs)-1].hi), "user_id"))
		if err != nil {
			return 0, 0, err
		}
		if err := q.QueryRow(ctx, sql, args...).Scan(&n, &ms); err != nil {
			return 0, 0, err
		}
	}
	err := rawPlays(ctx, q, sc, raw, func(_ time.Time, _ string, m int64) {
		n++
		ms += m
	})
	return int(n), ms, err
}

// uniqueCount counts the items of kind with plays in the plan: those the
// year bit sets show played in its whole years, and those with plays in
// the rest of the plan.
func uniqueCount(ctx context.Context, q querier, sc scope, kind store.TopKind, plan rangePlan) (int, error) {
	k := kindOf(kind)
	mask, maskOK := plan.yearMask()
	rest := plan.partial()
	var stmt sq.Sqlizer
	switch {
	case !maskOK || mask == 0:
		stmt = sq.Expr("SELECT count(*) FROM (?) x", itemSums(sc, kind, plan))
	case len(rest.parts) == 0 && len(rest.spans) == 0 && sc.user != "":
		stmt = sq.Expr("SELECT count(*) FROM "+k.total+" WHERE user_id = ? AND years & ? <> 0", sc.user, mask)
	case len(rest.parts) == 0 && len(rest.spans) == 0:
		stmt = sq.Expr("SELECT count(DISTINCT "+k.col+") FROM "+k.total+" WHERE years & ? <> 0", mask)
	case sc.user != "":
		stmt = sq.Expr("SELECT count(*) FROM (SELECT "+k.col+" FROM "+k.total+" WHERE user_id = ? AND years & ? <> 0 UNION SELECT id FROM (?) x) u",
			sc.user, mask, itemSums(sc, kind, rest))
	default:
		stmt = sq.Expr("SELECT count(*) FROM (SELECT "+k.col+" FROM "+k.total+" WHERE years & ? <> 0 UNION SELECT id FROM (?) x) u",
			mask, itemSums(sc, kind, rest))
	}
	sql, args, err := toSQL(stmt)
	if err != nil {
		return 0, err
	}
	var n int
	err = q.QueryRow(ctx, sql, args...).Scan(&n)
	return n, err
}

func validTop(op string, kind store.TopKind, by store.TopOrder) error {
	switch kind {
	case store.TopTracks, store.TopArtists, store.TopAlbums:
	default:
		return invalid(op, "unknown kind %q", kind)
	}
	switch by {
	case store.ByCount, store.ByTime:
	default:
		return invalid(op, "unknown order %q", by)
	}
	return nil
}

// Top ranks tracks, artists or albums by plays or time listened.
func (s *Store) Top(ctx context.Context, p *store.TopParams) ([]store.TopItem, error) {
	const op = "top"
	if err := validTop(op, p.Kind, p.By); err != nil {
		return nil, err
	}
	if p.Limit < 0 || p.Offset < 0 {
		return nil, invalid(op, "limit %d, offset %d", p.Limit, p.Offset)
	}
	limit := p.Limit
	if limit == 0 {
		limit = topLimitDefault
	}
	sc := scopeOf(&p.StatsFilter)
	if sc.empty() {
		return nil, nil
	}
	order := "c DESC, id"
	if p.By == store.ByTime {
		order = "m DESC, id"
	}
	var items []store.TopItem
	err := s.read(ctx, func(tx pgx.Tx) error {
		items = nil
		if err := sc.narrow(ctx, tx); err != nil {
			return err
		}
		plan, ok, err := planScope(ctx, tx, sc)
		if err != nil || !ok {
			return err
		}
		sql, args, err := toSQL(sq.Expr("SELECT id, c, m, CASE WHEN inv THEN NULL ELSE l END FROM (?) x ORDER BY "+order+" LIMIT ? OFFSET ?",
			itemSums(sc, p.Kind, plan), limit, p.Offset))
		if err != nil {
			return err
		}
		if items, err = queryTop(ctx, tx, sql, args); err != nil {
			return err
		}
		if err := lastPlayed(ctx, tx, sc, p.Kind, items); err != nil {
			return err
		}
		return describeTop(ctx, tx, p.Kind, items)
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	return items, nil
}

// queryTop runs a statement selecting (id, c, m, l).
func queryTop(ctx context.Context, q querier, sql string, args []any) ([]store.TopItem, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	var (
		items []store.TopItem
		it    store.TopItem
		last  *time.Time
	)
	if _, err := pgx.ForEachRow(rows, []any{&it.ID, &it.Plays, &it.MSPlayed, &last}, func() error {
		it.LastPlayed = fromNull(last)
		items = append(items, it)
		return nil
	}); err != nil {
		return nil, err
	}
	return items, nil
}

// lastPlayed looks up the last play in the scope of the items of kind
// whose LastPlayed is not known yet.
func lastPlayed(ctx context.Context, q querier, sc scope, kind store.TopKind, items []store.TopItem) error {
	var ids []string
	var targets []*store.TopItem
	for i := range items {
		if items[i].LastPlayed.IsZero() {
			ids = append(ids, items[i].ID)
			targets = append(targets, &items[i])
		}
	}
	if len(ids) == 0 {
		return nil
	}
	cond := "p.played_at >= ? AND p.played_at < ?"
	args := []any{msTime(sc.lo), msTime(sc.hi)}
	if sc.user != "" {
		cond += " AND p.user_id = ?"
		args = append(args, sc.user)
	}
	// Nested scalar subqueries: one index probe per track, whatever the
	// planner guesses.
	track := "(SELECT max(p.played_at) FROM plays p WHERE p.track_id = %s AND " + cond + ")"
	var probe string
	switch kind {
	case store.TopTracks:
		probe = strings.Replace(track, "%s", "i.id", 1)
	case store.TopArtists:
		probe = "SELECT max(" + strings.Replace(track, "%s", "ta.track_id", 1) + ") FROM track_artists ta WHERE ta.artist_id = i.id"
	default:
		probe = "SELECT max(" + strings.Replace(track, "%s", "t.id", 1) + ") FROM tracks t WHERE t.album_id = i.id"
	}
	sql, args, err := toSQL(sq.Expr("SELECT ("+probe+") FROM unnest(?::text[]) WITH ORDINALITY AS i(id, n) ORDER BY i.n", append(args, ids)...))
	if err != nil {
		return err
	}
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	var (
		last *time.Time
		i    int
	)
	_, err = pgx.ForEachRow(rows, []any{&last}, func() error {
		targets[i].LastPlayed = fromNull(last)
		i++
		return nil
	})
	return err
}

// describeTop fills names, artists, album and IsLocal of ranked items.
func describeTop(ctx context.Context, q querier, kind store.TopKind, items []store.TopItem) error {
	if len(items) == 0 {
		return nil
	}
	ids := make([]string, len(items))
	for i := range items {
		ids[i] = items[i].ID
	}
	switch kind {
	case store.TopTracks:
		tracks, err := loadTracks(ctx, q, ids)
		if err != nil {
			return err
		}
		for i := range items {
			tr := tracks[items[i].ID]
			items[i].Name, items[i].Artists, items[i].Album, items[i].IsLocal = tr.Name, tr.Artists, tr.Album, tr.IsLocal
		}
		return nil
	case store.TopArtists:
		names, err := namesOf(ctx, q, "artists", ids)
		if err != nil {
			return err
		}
		for i := range items {
			items[i].Name = names[items[i].ID]
		}
		return nil
	}
	names, err := namesOf(ctx, q, "albums", ids)
	if err != nil {
		return err
	}
	// An album's artists: the distinct first-credited artists of its tracks.
	rows, err := q.Query(ctx, `
		SELECT DISTINCT t.album_id, ar.id, ar.name
		FROM tracks t
		JOIN track_artists ta ON ta.track_id = t.id
			AND ta.position = (SELECT min(position) FROM track_artists x WHERE x.track_id = t.id)
		JOIN artists ar ON ar.id = ta.artist_id
		WHERE t.album_id = ANY($1)
		ORDER BY t.album_id, ar.id`, ids)
	if err != nil {
		return err
	}
	artists := map[string][]store.Artist{}
	var (
		album string
		a     store.Artist
	)
	if _, err := pgx.ForEachRow(rows, []any{&album, &a.ID, &a.Name}, func() error {
		artists[album] = append(artists[album], a)
		return nil
	}); err != nil {
		return err
	}
	for i := range items {
		items[i].Name, items[i].Artists = names[items[i].ID], artists[items[i].ID]
	}
	return nil
}

// namesOf reads the names of artists or albums.
func namesOf(ctx context.Context, q querier, table string, ids []string) (map[string]string, error) {
	rows, err := q.Query(ctx, `SELECT id, name FROM `+table+` WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(ids))
	var id, name string
	if _, err := pgx.ForEachRow(rows, []any{&id, &name}, func() error {
		out[id] = name
		return nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// dayAgg is what one local day (or one bucket) holds.
type dayAgg struct {
	plays int
	ms    int64
}

// dataDays returns the range of UTC days with plays in the scope's user
// (or every user), or ok = false when there are none.
func dataDays(ctx context.Context, q querier, sc scope) (lo, hi int64, ok bool, err error) {
	b := sc.userWhere(pg().Select("min(day)", "max(day)").From("user_days"), "user_id")
	sql, args, err := b.ToSql()
	if err != nil {
		return 0, 0, false, err
	}
	var mn, mx *int64
	if err := q.QueryRow(ctx, sql, args...).Scan(&mn, &mx); err != nil {
		return 0, 0, false, err
	}
	if mn == nil {
		return 0, 0, false, nil
	}
	return *mn, *mx + 1, true, nil
}

// clampToData narrows the scope to the days that have plays. It returns
// false when nothing is left.
func clampToData(ctx context.Context, q querier, sc *scope) (bool, error) {
	d0, d1, ok, err := dataDays(ctx, q, *sc)
	if err != nil || !ok {
		return false, err
	}
	sc.lo, sc.hi = max(sc.lo, d0*dayMS), min(sc.hi, d1*dayMS)
	return !sc.empty(), nil
}

// localDays adds the plays of the scope per local day in loc to days
// (keyed by local day number). It also returns the raw spans it read, for
// callers that need more than counts from them.
func localDays(ctx context.Context, q querier, sc scope, loc *time.Location, days map[int64]*dayAgg) error {
	add := func(day int64, n int, ms int64) {
		if n == 0 {
			return
		}
		a := days[day]
		if a == nil {
			a = &dayAgg{}
			days[day] = a
		}
		a.plays += n
		a.ms += ms
	}
	runs, raw := planDays(sc.lo, sc.hi, loc)
	if len(runs) > 0 {
		ks := make([]int32, len(runs))
		for i, r := range runs {
			ks[i] = int32(r.split()) //nolint:gosec // 0..95
		}
		inner := sc.userWhere(sq.Select("day", "plays", "ms_played", "cum_plays", "cum_ms").
			Column("width_bucket(day, ?::int[]) AS wb", runBounds(runs)).
			From("user_days").Where("day >= ? AND day < ?", runs[0].lo, runs[len(runs)-1].hi), "user_id")
		b := pg().Select("day", "wb", "sum(plays)", "sum(ms_played)").
			Column("sum(coalesce(cum_plays[(?::int[])[(wb + 1) / 2]], 0))", ks).
			Column("sum(coalesce(cum_ms[(?::int[])[(wb + 1) / 2]], 0))", ks).
			FromSelect(inner, "d").Where("wb % 2 = 1").GroupBy("day", "wb")
		sql, args, err := b.ToSql()
		if err != nil {
			return err
		}
		rows, err := q.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		var (
			day, wb, n, first int64
			ms, firstMS       int64
		)
		if _, err := pgx.ForEachRow(rows, []any{&day, &wb, &n, &ms, &first, &firstMS}, func() error {
			r := runs[(wb+1)/2-1]
			k := r.split()
			second := r.localDay(day, k)
			add(second-1, int(first), firstMS)
			add(second, int(n-first), ms-firstMS)
			return nil
		}); err != nil {
			return err
		}
	}
	return rawPlays(ctx, q, sc, raw, func(at time.Time, _ string, ms int64) {
		add(civilDay(at, loc), 1, ms)
	})
}

// rawPlays calls fn for every play of the scope in spans.
func rawPlays(ctx context.Context, q querier, sc scope, spans []span, fn func(at time.Time, track string, ms int64)) error {
	if len(spans) == 0 {
		return nil
	}
	ss := make([]signedSpan, len(spans))
	for i, s := range spans {
		ss[i] = signedSpan{s, 1}
	}
	sql, args, err := toSQL(sq.Expr("SELECT p.played_at, p.track_id, p.ms_played FROM ?", rawPlaysFrom(sc, ss)))
	if err != nil {
		return err
	}
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	var (
		at    time.Time
		track string
		ms    int64
	)
	_, err = pgx.ForEachRow(rows, []any{&at, &track, &ms}, func() error {
		fn(at, track, ms)
		return nil
	})
	return err
}

func locOrUTC(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}

// OverTime returns plays per local day, week (from Monday) or month.
func (s *Store) OverTime(ctx context.Context, p *store.OverTimeParams) ([]store.TimePoint, error) {
	const op = "over time"
	switch p.Bucket {
	case store.BucketDay, store.BucketWeek, store.BucketMonth:
	default:
		return nil, invalid(op, "unknown bucket %q", p.Bucket)
	}
	loc := locOrUTC(p.Location)
	sc := scopeOf(&p.StatsFilter)
	days := map[int64]*dayAgg{}
	err := s.read(ctx, func(tx pgx.Tx) error {
		clear(days)
		if err := sc.narrow(ctx, tx); err != nil {
			return err
		}
		if ok, err := clampToData(ctx, tx, &sc); err != nil || !ok {
			return err
		}
		return localDays(ctx, tx, sc, loc, days)
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	buckets := map[int64]*store.TimePoint{}
	for n, a := range days {
		y, m, d := dayDate(n)
		var start time.Time
		switch p.Bucket {
		case store.BucketDay:
			start = time.Date(y, m, d, 0, 0, 0, 0, loc)
		case store.BucketWeek:
			start = time.Date(y, m, d-int(floorMod(int64(weekday(n))+6, 7)), 0, 0, 0, 0, loc)
		case store.BucketMonth:
			start = time.Date(y, m, 1, 0, 0, 0, 0, loc)
		}
		key := start.Unix()
		tp := buckets[key]
		if tp == nil {
			tp = &store.TimePoint{Start: start}
			buckets[key] = tp
		}
		tp.Plays += a.plays
		tp.MSPlayed += a.ms
	}
	out := make([]store.TimePoint, 0, len(buckets))
	for _, tp := range buckets {
		out = append(out, *tp)
	}
	slices.SortFunc(out, func(a, b store.TimePoint) int { return a.Start.Compare(b.Start) })
	return out, nil
}

// HourWeekday returns the hour × weekday matrix in the caller's zone and
// the number of local days with plays.
func (s *Store) HourWeekday(ctx context.Context, p *store.TimeParams) (*store.HourWeekday, error) {
	const op = "hour weekday"
	loc := locOrUTC(p.Location)
	sc := scopeOf(&p.StatsFilter)
	out := &store.HourWeekday{}
	err := s.read(ctx, func(tx pgx.Tx) error {
		*out = store.HourWeekday{}
		if err := sc.narrow(ctx, tx); err != nil {
			return err
		}
		if ok, err := clampToData(ctx, tx, &sc); err != nil || !ok {
			return err
		}
		days := map[int64]*dayAgg{}
		if err := localDays(ctx, tx, sc, loc, days); err != nil {
			return err
		}
		out.Days = len(days)
		runs, raw := planDays(sc.lo, sc.hi, loc)
		if err := hourMatrix(ctx, tx, sc, runs, out); err != nil {
			return err
		}
		return rawPlays(ctx, tx, sc, raw, func(at time.Time, _ string, ms int64) {
			lt := at.In(loc)
			out.Plays[lt.Weekday()][lt.Hour()]++
			out.MSPlayed[lt.Weekday()][lt.Hour()] += ms
		})
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	return out, nil
}

// hourMatrix adds the plays of runs to the hour × weekday matrix. For each
// run and UTC weekday it sums the running totals at the quarter-hours that
// start local hours; differences of those sums are the plays of each local
// hour.
func hourMatrix(ctx context.Context, q querier, sc scope, runs []dayRun, out *store.HourWeekday) error {
	phases := map[int64][]int{} // phase → indexes of runs
	for i, r := range runs {
		phases[r.phase()] = append(phases[r.phase()], i)
	}
	for phase, idx := range phases {
		// Boundaries: 0, the local hour starts, 96.
		bounds := []int64{0}
		for q := phase; q < quarters; q += 4 {
			if q > 0 {
				bounds = append(bounds, q)
			}
		}
		bounds = append(bounds, quarters)
		cols := []string{"wb", "((day % 7) + 11) % 7"}
		for _, bnd := range bounds[1:] {
			cols = append(cols, "sum(cum_plays["+itoa(bnd)+"])", "sum(cum_ms["+itoa(bnd)+"])")
		}
		inPhase := make([]bool, len(runs))
		for _, i := range idx {
			inPhase[i] = true
		}
		inner := sc.userWhere(sq.Select("day", "cum_plays", "cum_ms").
			Column("width_bucket(day, ?::int[]) AS wb", runBounds(runs)).
			From("user_days").Where("day >= ? AND day < ?", runs[0].lo, runs[len(runs)-1].hi), "user_id")
		b := pg().Select(cols...).FromSelect(inner, "d").
			Where("wb % 2 = 1 AND (?::bool[])[(wb + 1) / 2]", inPhase).GroupBy("1", "2")
		sql, args, err := b.ToSql()
		if err != nil {
			return err
		}
		rows, err := q.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		var wb, wd int64
		sums := make([]int64, 2*(len(bounds)-1))
		dest := []any{&wb, &wd}
		for i := range sums {
			dest = append(dest, &sums[i])
		}
		if _, err := pgx.ForEachRow(rows, dest, func() error {
			r := runs[(wb+1)/2-1]
			prevN, prevMS := int64(0), int64(0)
			for i := 1; i < len(bounds); i++ {
				n, ms := sums[2*(i-1)]-prevN, sums[2*(i-1)+1]-prevMS
				prevN, prevMS = sums[2*(i-1)], sums[2*(i-1)+1]
				if n == 0 && ms == 0 {
					continue
				}
				// The piece [bounds[i-1], bounds[i]) lies in one local hour.
				minute := bounds[i-1]*15 + r.off
				shift := floorDiv(minute, 1440)
				hour := floorMod(minute, 1440) / 60
				day := floorMod(wd+shift, 7)
				out.Plays[day][hour] += int(n)
				out.MSPlayed[day][hour] += ms
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
