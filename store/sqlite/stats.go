package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/spotifyhist/spotifyhist/store"
)

// Defaults of the paging parameters, as the contract fixes them.
const (
	topLimitDefault     = 10
	historyLimitDefault = 50
	historyLimitMax     = 1000
)

var topKinds = map[store.TopKind]int64{store.TopTracks: kindTrack, store.TopArtists: kindArtist, store.TopAlbums: kindAlbum}

// History returns one page of the user's plays, newest first, strictly before
// the (Before, BeforeTrackID) cursor.
func (s *Store) History(ctx context.Context, p *store.HistoryParams) ([]store.PlayWithTrack, error) {
	defer s.observe("history", time.Now())
	limit := p.Limit
	if limit <= 0 {
		limit = historyLimitDefault
	}
	limit = min(limit, historyLimitMax)
	user, err := userPK(ctx, s.read, p.UserID)
	if err != nil {
		return nil, wrap("history", err)
	}
	b := psq.Select(playColumns).From("plays p").
		Join("users u ON u.pk = p.user_pk").Join("tracks t ON t.pk = p.track_pk").LeftJoin("imports i ON i.pk = p.import_pk").
		Where("p.user_pk = ?", user).OrderBy("p.played_at DESC", "t.id DESC").Limit(uint64(limit))
	if !p.Before.IsZero() {
		before := msOf(p.Before)
		b = b.Where("p.played_at <= ? AND (p.played_at < ? OR t.id < ?)", before, before, p.BeforeTrackID)
	}
	query, args, err := b.ToSql()
	if err != nil {
		return nil, wrap("history", err)
	}
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrap("history", err)
	}
	out, err := scanPlays(ctx, s.read, rows)
	return out, wrap("history", err)
}

// Totals counts plays, time listened and distinct tracks, artists and albums.
func (s *Store) Totals(ctx context.Context, f *store.StatsFilter) (*store.Totals, error) {
	defer s.observe("totals", time.Now())
	t, err := s.totals(ctx, f)
	return t, wrap("totals", err)
}

func (s *Store) totals(ctx context.Context, f *store.StatsFilter) (*store.Totals, error) {
	sc, err := resolveScope(ctx, s.read, f.UserID)
	if err != nil {
		return nil, err
	}
	lo, hi := bounds(f)
	out := &store.Totals{}
	if len(sc.users) == 0 {
		return out, nil
	}
	first, last, ok, err := playSpan(ctx, s.read, sc, lo, hi)
	if err != nil || !ok {
		return out, err
	}
	out.FirstPlayed, out.LastPlayed = timeOf(first), timeOf(last)
	p, err := makePlan(ctx, s.read, sc, lo, hi)
	if err != nil {
		return nil, err
	}
	if p.allTime() && len(sc.users) == 1 {
		// Distinct items from the counters; plays and time from the days.
		rows, err := s.read.QueryContext(ctx, `SELECT kind, n FROM rollup_counts WHERE user_pk = ? AND period = 0`, sc.users[0])
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var kind int64
			var n int
			if err := rows.Scan(&kind, &n); err != nil {
				rows.Close()
				return nil, err
			}
			switch kind {
			case kindTrack:
				out.UniqueTracks = n
			case kindArtist:
				out.UniqueArtists = n
			case kindAlbum:
				out.UniqueAlbums = n
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		err = s.read.QueryRowContext(ctx, `SELECT plays, ms FROM rollups WHERE user_pk = ? AND kind = `+itoa(kindPlays)+` AND period = 0 AND item = 0`,
			sc.users[0]).Scan(&out.Plays, &out.MSPlayed)
		return out, err
	}
	// The range's tracks once; its artists and albums are theirs.
	query, args := aggSQL(kindTrack, sc, p)
	err = s.read.QueryRowContext(ctx, `WITH a AS MATERIALIZED (`+query+`)
		SELECT (SELECT COUNT(*) FROM a), (SELECT COALESCE(SUM(plays), 0) FROM a), (SELECT COALESCE(SUM(ms), 0) FROM a),
			(SELECT COUNT(DISTINCT ta.artist_pk) FROM a JOIN track_artists ta ON ta.track_pk = a.item),
			(SELECT COUNT(DISTINCT t.album_pk) FROM a JOIN tracks t ON t.pk = a.item)`, args...).
		Scan(&out.UniqueTracks, &out.Plays, &out.MSPlayed, &out.UniqueArtists, &out.UniqueAlbums)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Top ranks tracks, artists or albums by play count or time listened.
func (s *Store) Top(ctx context.Context, p *store.TopParams) ([]store.TopItem, error) {
	defer s.observe("top", time.Now())
	items, err := s.top(ctx, p)
	return items, wrap("top", err)
}

func (s *Store) top(ctx context.Context, p *store.TopParams) ([]store.TopItem, error) {
	kind, ok := topKinds[p.Kind]
	if !ok {
		return nil, invalid("unknown top kind %q", p.Kind)
	}
	order := "a.plays DESC"
	switch p.By {
	case store.ByCount, "":
	case store.ByTime:
		order = "a.ms DESC"
	default:
		return nil, invalid("unknown top order %q", p.By)
	}
	limit := p.Limit
	if limit == 0 {
		limit = topLimitDefault
	}
	if limit < 0 || p.Offset < 0 {
		return nil, invalid("negative limit or offset")
	}
	sc, err := resolveScope(ctx, s.read, p.UserID)
	if err != nil || len(sc.users) == 0 {
		return nil, err
	}
	lo, hi := bounds(&p.StatsFilter)
	pl, err := makePlan(ctx, s.read, sc, lo, hi)
	if err != nil || pl == nil {
		return nil, err
	}
	agg, args := aggSQL(kind, sc, pl)
	// Names (for ties) are joined only for rows ranked at or above the
	// limit+offset-th value.
	col := strings.TrimSuffix(strings.TrimPrefix(order, "a."), " DESC")
	// A ranged aggregation is computed once; one user's all-time rows are a
	// plain scan, cheaper to repeat than to copy.
	mat := "MATERIALIZED"
	if pl.allTime() && len(sc.users) == 1 {
		mat = "NOT MATERIALIZED"
	}
	rows, err := s.read.QueryContext(ctx, `WITH a AS `+mat+` (`+agg+`),
			th AS (SELECT `+col+` AS v FROM a ORDER BY `+col+` DESC LIMIT 1 OFFSET ?)
		SELECT a.item, a.plays, a.ms, a.last FROM a JOIN `+kinds[kind].table+` x ON x.pk = a.item
		WHERE a.`+col+` >= COALESCE((SELECT v FROM th), 0)
		ORDER BY `+order+`, x.id LIMIT ? OFFSET ?`, append(args, limit+p.Offset-1, limit, p.Offset)...)
	if err != nil {
		return nil, err
	}
	var ranked []rankedItem
	for rows.Next() {
		var r rankedItem
		var last sql.NullInt64
		if err := rows.Scan(&r.item, &r.plays, &r.ms, &last); err != nil {
			rows.Close()
			return nil, err
		}
		r.last = last.Int64
		ranked = append(ranked, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if !pl.allTime() {
		for i := range ranked {
			if ranked[i].last, err = lastPlayed(ctx, s.read, sc, kind, ranked[i].item, lo, hi); err != nil {
				return nil, err
			}
		}
	}
	return describeItems(ctx, s.read, kind, ranked)
}

// rankedItem is an item with its figures, before it is described.
type rankedItem struct {
	item      int64
	plays, ms int64
	last      int64
}

// describeItems turns ranked items into TopItems with names, artists and
// albums.
func describeItems(ctx context.Context, q queryer, kind int64, ranked []rankedItem) ([]store.TopItem, error) {
	out := make([]store.TopItem, len(ranked))
	pks := make([]int64, len(ranked))
	for i, r := range ranked {
		out[i] = store.TopItem{Plays: int(r.plays), MSPlayed: r.ms, LastPlayed: timeOf(r.last)}
		pks[i] = r.item
	}
	if len(ranked) == 0 {
		return nil, nil
	}
	switch kind {
	case kindTrack:
		tracks, err := loadTracks(ctx, q, pks)
		if err != nil {
			return nil, err
		}
		for i, pk := range pks {
			t := tracks[pk]
			out[i].ID, out[i].Name, out[i].Artists, out[i].Album, out[i].IsLocal = t.ID, t.Name, t.Artists, t.Album, t.IsLocal
		}
	case kindArtist, kindAlbum:
		table := kinds[kind].table
		names := map[int64][2]string{}
		in, args := inList(pks)
		rows, err := q.QueryContext(ctx, `SELECT pk, id, name FROM `+table+` WHERE pk IN `+in, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var pk int64
			var id, name string
			if err := rows.Scan(&pk, &id, &name); err != nil {
				rows.Close()
				return nil, err
			}
			names[pk] = [2]string{id, name}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		for i, pk := range pks {
			out[i].ID, out[i].Name = names[pk][0], names[pk][1]
		}
		if kind == kindAlbum {
			artists, err := albumArtists(ctx, q, pks)
			if err != nil {
				return nil, err
			}
			for i, pk := range pks {
				out[i].Artists = artists[pk]
			}
		}
	}
	return out, nil
}

// albumArtists returns, per album, the distinct first-credited artists of
// its tracks, ordered by id.
func albumArtists(ctx context.Context, q queryer, albums []int64) (map[int64][]store.Artist, error) {
	in, args := inList(albums)
	rows, err := q.QueryContext(ctx, `SELECT DISTINCT t.album_pk, a.id, a.name
		FROM tracks t JOIN track_artists ta ON ta.track_pk = t.pk AND ta.position = 0 JOIN artists a ON a.pk = ta.artist_pk
		WHERE t.album_pk IN `+in+` ORDER BY t.album_pk, a.id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64][]store.Artist{}
	for rows.Next() {
		var pk int64
		var a store.Artist
		if err := rows.Scan(&pk, &a.ID, &a.Name); err != nil {
			return nil, err
		}
		out[pk] = append(out[pk], a)
	}
	return out, rows.Err()
}
