package postgres

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/spotifyhist/spotifyhist/store"
)

// userPlay is a stored play with its user and import.
type userPlay struct {
	user string
	playRow
	importID string
}

// MergeTracks moves every play and playlist row of the From tracks onto
// Into and deletes the From tracks, in one transaction. A moved play that
// would duplicate a stored (user, played_at, Into) play is dropped; when
// several From tracks have a play at the same instant, the one listed
// first in From is kept.
func (s *Store) MergeTracks(ctx context.Context, p *store.MergeTracksParams) (int, error) {
	const op = "merge tracks"
	if p.Into == "" {
		return 0, invalid(op, "empty Into")
	}
	var from []string
	for _, id := range p.From {
		switch {
		case id == "":
			return 0, invalid(op, "empty id in From")
		case id == p.Into:
			return 0, invalid(op, "track %q is both Into and From", id)
		case !slices.Contains(from, id):
			from = append(from, id)
		}
	}
	if len(from) == 0 {
		return 0, invalid(op, "empty From")
	}
	all := sortedSet(append([]string{p.Into}, from...))

	moved := 0
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id FROM tracks WHERE id = ANY($1) ORDER BY id FOR UPDATE`, all)
		if err != nil {
			return err
		}
		found, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, id := range all {
			if _, ok := slices.BinarySearch(found, id); !ok {
				return notFound(op, "track %q", id)
			}
		}
		credits, err := loadCredits(ctx, tx, all)
		if err != nil {
			return err
		}
		taken, err := takePlays(ctx, tx, from)
		if err != nil {
			return err
		}
		kept, dropped := keepFirst(taken, from)
		ok, err := movePlays(ctx, tx, p.Into, kept)
		if err != nil {
			return err
		}
		moved = 0
		for i, c := range kept {
			if ok[i] {
				moved++
			} else {
				dropped = append(dropped, c)
			}
		}
		if err := mergeRollups(ctx, tx, all, credits, taken, dropped); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE playlist_tracks SET track_id = $1 WHERE track_id = ANY($2)`, p.Into, from); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM tracks WHERE id = ANY($1)`, from)
		return err
	})
	if err != nil {
		return 0, wrap(op, err)
	}
	return moved, nil
}

// takePlays deletes and returns every play of the tracks.
func takePlays(ctx context.Context, tx pgx.Tx, tracks []string) ([]userPlay, error) {
	rows, err := tx.Query(ctx, `DELETE FROM plays WHERE track_id = ANY($1)
		RETURNING user_id, played_at, track_id, ms_played, source, coalesce(import_id, '')`, tracks)
	if err != nil {
		return nil, err
	}
	var (
		out []userPlay
		pl  userPlay
		at  time.Time
		src string
	)
	if _, err := pgx.ForEachRow(rows, []any{&pl.user, &at, &pl.track, &pl.ms, &src, &pl.importID}, func() error {
		pl.at, pl.source = at.UnixMilli(), store.Source(src)
		out = append(out, pl)
		return nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// keepFirst keeps one play per (user, instant), the one whose track comes
// first in order, and returns the others as dropped.
func keepFirst(plays []userPlay, order []string) (kept, dropped []userPlay) {
	rank := make(map[string]int, len(order))
	for i, id := range order {
		rank[id] = i
	}
	sorted := slices.Clone(plays)
	slices.SortFunc(sorted, func(a, b userPlay) int {
		if c := strings.Compare(a.user, b.user); c != 0 {
			return c
		}
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		return cmp.Compare(rank[a.track], rank[b.track])
	})
	for i, q := range sorted {
		if i > 0 && q.user == sorted[i-1].user && q.at == sorted[i-1].at {
			dropped = append(dropped, q)
			continue
		}
		kept = append(kept, q)
	}
	return kept, dropped
}

// movePlays inserts plays as plays of into, skipping those that duplicate
// a stored play, and reports which were inserted.
func movePlays(ctx context.Context, tx pgx.Tx, into string, plays []userPlay) ([]bool, error) {
	ok := make([]bool, len(plays))
	if len(plays) == 0 {
		return ok, nil
	}
	users := make([]string, len(plays))
	ats := make([]time.Time, len(plays))
	ms := make([]int64, len(plays))
	srcs := make([]string, len(plays))
	imps := make([]string, len(plays))
	for i, c := range plays {
		users[i], ats[i], ms[i], srcs[i], imps[i] = c.user, msTime(c.at), c.ms, string(c.source), c.importID
	}
	rows, err := tx.Query(ctx, `
		INSERT INTO plays (user_id, played_at, track_id, ms_played, source, import_id)
		SELECT u, at, $1, ms, src, nullif(imp, '')
		FROM unnest($2::text[], $3::timestamptz[], $4::int[], $5::text[], $6::text[]) AS p(u, at, ms, src, imp)
		ON CONFLICT (user_id, played_at, track_id) DO NOTHING
		RETURNING user_id, played_at`, into, users, ats, ms, srcs, imps)
	if err != nil {
		return nil, err
	}
	type key struct {
		user string
		at   int64
	}
	inserted := map[key]bool{}
	var (
		u  string
		at time.Time
	)
	if _, err := pgx.ForEachRow(rows, []any{&u, &at}, func() error {
		inserted[key{u, at.UnixMilli()}] = true
		return nil
	}); err != nil {
		return nil, err
	}
	for i, c := range plays {
		ok[i] = inserted[key{c.user, c.at}]
	}
	return ok, nil
}

// mergeRollups brings the rollups in line with a merge of the tracks all
// (Into and From): taken are the From plays (moved or dropped), dropped
// those that are gone, credits the albums and artists of the tracks.
func mergeRollups(ctx context.Context, tx pgx.Tx, all []string, credits map[string]credit, taken, dropped []userPlay) error {
	if len(taken) == 0 {
		return nil
	}
	var users []string
	var years []int16
	for _, pl := range taken {
		users = append(users, pl.user)
		years = append(years, int16(utcYear(pl.at))) //nolint:gosec // years fit
	}
	users = sortedSet(users)
	slices.Sort(years)
	years = slices.Compact(years)

	// Dropped plays leave the day rollups.
	slices.SortFunc(dropped, func(a, b userPlay) int { return strings.Compare(a.user, b.user) })
	for i := 0; i < len(dropped); {
		j := i
		var rs []playRow
		for ; j < len(dropped) && dropped[j].user == dropped[i].user; j++ {
			rs = append(rs, dropped[j].playRow)
		}
		if err := addDayRollups(ctx, tx, dropped[i].user, rs, -1); err != nil {
			return err
		}
		i = j
	}
	var artists, albums []string
	for _, id := range all {
		artists = append(artists, credits[id].artists...)
		if al := credits[id].album; al != "" {
			albums = append(albums, al)
		}
	}
	artists, albums = sortedSet(artists), sortedSet(albums)
	if err := refreshTracks(ctx, tx, users, all, years); err != nil {
		return err
	}
	if err := refreshArtists(ctx, tx, users, artists, years); err != nil {
		return err
	}
	if err := refreshAlbums(ctx, tx, users, albums); err != nil {
		return err
	}
	if err := refreshTotals(ctx, tx, users); err != nil {
		return err
	}
	if err := refreshTops(ctx, tx, "t", users, years); err != nil {
		return err
	}
	return refreshTops(ctx, tx, "a", users, years)
}
