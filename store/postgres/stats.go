package postgres

import (
	"context"
	"errors"
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
	plan = planRange(sc.lo, sc.hi, first, last)
	if sc.user != "" {
		err = plan.preferPlays(ctx, q, sc)
	}
	return plan, true, err
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
		count := func(kind store.TopKind, n *int) func(q querier) error {
			return func(q querier) error {
				var err error
				*n, err = uniqueCount(ctx, q, sc, kind, plan)
				return err
			}
		}
		return s.parallel(ctx, tx,
			count(store.TopTracks, &out.UniqueTracks),
			count(store.TopAlbums, &out.UniqueAlbums),
			count(store.TopArtists, &out.UniqueArtists),
			func(q querier) error {
				var err error
				out.Plays, out.MSPlayed, err = rangeCount(ctx, q, sc)
				return err
			})
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
// year bit sets show played in its whole years, together with those with
// plays in the rest of the plan.
func uniqueCount(ctx context.Context, q querier, sc scope, kind store.TopKind, plan rangePlan) (int, error) {
	k := kindOf(kind)
	whole, ok := plan.yearMask()
	rest := plan.partial()
	user := sq.Expr("true")
	if sc.user != "" {
		user = sq.Expr("user_id = ?", sc.user)
	}
	var stmt sq.Sqlizer
	switch {
	case !ok || whole == 0:
		stmt = sq.Expr("SELECT count(*) FROM (SELECT DISTINCT id FROM (?) x) u", itemIDs(sc, kind, plan))
	case len(rest.parts) == 0 && len(rest.spans) == 0:
		stmt = sq.Expr("SELECT count(DISTINCT "+k.col+") FROM "+k.total+" WHERE ? AND years & ? <> 0", user, whole)
	default:
		stmt = sq.Expr("SELECT count(*) FROM (SELECT "+k.col+" FROM "+k.total+" WHERE ? AND years & ? <> 0 UNION SELECT id FROM (?) x) u",
			user, whole, itemIDs(sc, kind, rest))
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
		sql, args, err := toSQL(sq.Expr("SELECT id, c, m, l, lm FROM (?) x ORDER BY "+order+" LIMIT ? OFFSET ?",
			itemSums(sc, p.Kind, plan), limit, p.Offset))
		if err != nil {
			return err
		}
		var probes []lastProbe
		if items, probes, err = queryTop(ctx, tx, sql, args, sc); err != nil {
			return err
		}
		if err := probeLast(ctx, tx, sc.user, p.Kind, probes); err != nil {
			return err
		}
		return describeTop(ctx, tx, p.Kind, items)
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	return items, nil
}

// queryTop runs a statement selecting (id, c, m, l, lm) (see itemSums)
// and returns the items with the look-ups of the last plays not known yet.
func queryTop(ctx context.Context, q querier, sql string, args []any, sc scope) ([]store.TopItem, []lastProbe, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, nil, err
	}
	var (
		items    []store.TopItem
		it       store.TopItem
		last, lm *time.Time
		looks    []*time.Time
	)
	if _, err := pgx.ForEachRow(rows, []any{&it.ID, &it.Plays, &it.MSPlayed, &last, &lm}, func() error {
		it.LastPlayed = fromNull(last)
		items = append(items, it)
		looks = append(looks, lm)
		return nil
	}); err != nil {
		return nil, nil, err
	}
	var probes []lastProbe
	for i := range items {
		if looks[i] == nil && !items[i].LastPlayed.IsZero() {
			continue
		}
		pr := lastProbe{id: items[i].ID, lo: sc.lo, hi: sc.hi, target: &items[i]}
		if looks[i] != nil {
			pr.from, pr.window = max(sc.lo, looks[i].UnixMilli()), true
		}
		probes = append(probes, pr)
	}
	return items, probes, nil
}

// lastProbe looks up the last play of an item in [lo, hi), searching
// [from, hi) first when from is set (the time before holds no later play
// of the item), and keeps the later of it and the target's LastPlayed.
type lastProbe struct {
	id           string
	lo, hi, from int64
	window       bool // from is set
	target       *store.TopItem
}

// probeLast runs the look-ups of the last plays of items of kind, for one
// user or every user.
func probeLast(ctx context.Context, q querier, user string, kind store.TopKind, probes []lastProbe) error {
	// First the windows known to hold the last play: a month or so of the
	// user's plays.
	var windowed, rest []lastProbe
	for _, pr := range probes {
		if pr.window && user != "" {
			windowed = append(windowed, pr)
		} else {
			rest = append(rest, pr)
		}
	}
	if len(windowed) > 0 {
		var in string
		switch kind {
		case store.TopTracks:
			in = "p.track_id = i.id"
		case store.TopArtists:
			in = "p.track_id IN (SELECT track_id FROM track_artists WHERE artist_id = i.id)"
		default:
			in = "p.track_id IN (SELECT id FROM tracks WHERE album_id = i.id)"
		}
		missed, err := runProbes(ctx, q, windowed, `SELECT (SELECT max(p.played_at) FROM plays p WHERE p.user_id = $4
				AND p.played_at >= i.lo AND p.played_at < i.hi AND `+in+`)
			FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) WITH ORDINALITY AS i(id, lo, hi, n) ORDER BY i.n`,
			user, true)
		if err != nil {
			return err
		}
		rest = append(rest, missed...)
	}
	if len(rest) == 0 {
		return nil
	}
	// Then the whole range, one index probe per track (nested scalar
	// subqueries, whatever the planner guesses).
	cond := "p.played_at >= i.lo AND p.played_at < i.hi"
	if user != "" {
		cond += " AND p.user_id = $4"
	}
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
	for i := range rest {
		rest[i].from = rest[i].lo
	}
	_, err := runProbes(ctx, q, rest,
		"SELECT ("+probe+") FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) WITH ORDINALITY AS i(id, lo, hi, n) ORDER BY i.n",
		user, false)
	return err
}

// runProbes runs sql for probes ($1 ids, $2 from, $3 hi, $4 the user when
// set) and raises their targets' LastPlayed to what it finds. With retry,
// the probes that found nothing are returned to be searched again.
func runProbes(ctx context.Context, q querier, probes []lastProbe, sql, user string, retry bool) ([]lastProbe, error) {
	ids := make([]string, len(probes))
	lo := make([]time.Time, len(probes))
	hi := make([]time.Time, len(probes))
	for i, pr := range probes {
		ids[i], lo[i], hi[i] = pr.id, msTime(pr.from), msTime(pr.hi)
	}
	args := []any{ids, lo, hi}
	if user != "" {
		args = append(args, user)
	}
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	var (
		last   *time.Time
		i      int
		missed []lastProbe
	)
	_, err = pgx.ForEachRow(rows, []any{&last}, func() error {
		pr := probes[i]
		i++
		switch {
		case last != nil:
			if t := last.UTC(); t.After(pr.target.LastPlayed) {
				pr.target.LastPlayed = t
			}
		case retry:
			missed = append(missed, pr)
		}
		return nil
	})
	return missed, err
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
