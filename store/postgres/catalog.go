package postgres

import (
	"cmp"
	"context"
	"encoding/binary"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/spotifyhist/spotifyhist/store"
)

// UpsertTracks writes tracks with their albums and artists: linked tracks
// replace the stored metadata, unlinked ones are only inserted when absent.
func (s *Store) UpsertTracks(ctx context.Context, tracks []store.Track) error {
	const op = "upsert tracks"
	in, err := prepareTracks(op, tracks)
	if err != nil || len(in) == 0 {
		return err
	}
	return wrap(op, s.inTx(ctx, func(tx pgx.Tx) error {
		changes, _, err := upsertTracks(ctx, tx, in)
		if err != nil {
			return err
		}
		return recredit(ctx, tx, changes)
	}))
}

// prepareTracks validates tracks and returns them deduplicated by id (a
// linked version wins over an unlinked one, later over earlier), sorted by
// id so that concurrent upserts lock rows in the same order.
func prepareTracks(op string, tracks []store.Track) ([]store.Track, error) {
	if len(tracks) == 0 {
		return nil, nil
	}
	byID := make(map[string]int, len(tracks))
	out := make([]store.Track, 0, len(tracks))
	for _, tr := range tracks {
		if tr.ID == "" {
			return nil, invalid(op, "track without an id (%q)", tr.Name)
		}
		for _, a := range tr.Artists {
			if a.ID == "" {
				return nil, invalid(op, "track %q has an artist without an id (%q)", tr.ID, a.Name)
			}
		}
		if i, ok := byID[tr.ID]; ok {
			if tr.Linked || !out[i].Linked {
				out[i] = tr
			}
			continue
		}
		byID[tr.ID] = len(out)
		out = append(out, tr)
	}
	for i := range out {
		out[i].Artists = uniqueArtists(out[i].Artists)
	}
	slices.SortFunc(out, func(a, b store.Track) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// uniqueArtists drops repeated artist ids, keeping the first credit.
func uniqueArtists(as []store.Artist) []store.Artist {
	if len(as) < 2 {
		return as
	}
	out := make([]store.Artist, 0, len(as))
	for _, a := range as {
		if !slices.ContainsFunc(out, func(b store.Artist) bool { return b.ID == a.ID }) {
			out = append(out, a)
		}
	}
	return out
}

// metaHash fingerprints what a linked upsert replaces.
func metaHash(tr *store.Track) int64 {
	h := fnv.New64a()
	w := func(s string) { h.Write([]byte(s)); h.Write([]byte{0}) }
	w("v1")
	w(tr.Name)
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(tr.DurationMS)) //nolint:gosec // a fingerprint, wrap-around is fine
	h.Write(b[:])
	w(tr.ISRC)
	flags := byte(0)
	if tr.IsLocal {
		flags |= 1
	}
	if tr.Linked {
		flags |= 2
	}
	h.Write([]byte{flags})
	w(tr.Album.ID)
	for _, a := range tr.Artists {
		w(a.ID)
	}
	return int64(h.Sum64()) //nolint:gosec // stored as a signed bigint
}

// upsertTracks writes prepared tracks (see prepareTracks). It returns the
// stored tracks whose album or artists changed, for recredit, and the
// album and artists of every given track as stored afterwards.
//
// One probe reads the stored metadata hashes: tracks stored as given are
// not written again, and unlinked tracks already stored are left alone.
func upsertTracks(ctx context.Context, tx pgx.Tx, in []store.Track) ([]creditChange, map[string]credit, error) {
	if len(in) == 0 {
		return nil, nil, nil
	}
	if err := upsertNames(ctx, tx, in); err != nil {
		return nil, nil, err
	}
	ids := make([]string, len(in))
	for i := range in {
		ids[i] = in[i].ID
	}
	rows, err := tx.Query(ctx, `SELECT t.id, t.meta_hash FROM unnest($1::text[]) AS i(id) JOIN tracks t ON t.id = i.id`, ids)
	if err != nil {
		return nil, nil, err
	}
	stored := map[string]int64{}
	var (
		id   string
		hash int64
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &hash}, func() error {
		stored[id] = hash
		return nil
	}); err != nil {
		return nil, nil, err
	}

	type cols struct {
		id, name, norm, isrc, album []string
		dur                         []int32
		local                       []bool
		hash                        []int64
	}
	var (
		linked, unlinked cols
		byID             = make(map[string]*store.Track, len(in))
		credits          = make(map[string]credit, len(in))
		unknown          []string // stored with other credits than given
		replaced         []string // stored tracks a linked upsert replaces
	)
	for i := range in {
		tr := &in[i]
		byID[tr.ID] = tr
		c := credit{album: tr.Album.ID}
		for _, a := range tr.Artists {
			c.artists = append(c.artists, a.ID)
		}
		credits[tr.ID] = c
		h := metaHash(tr)
		old, exists := stored[tr.ID]
		switch {
		case exists && old == h:
			continue
		case exists && !tr.Linked:
			unknown = append(unknown, tr.ID)
			continue
		case exists:
			replaced = append(replaced, tr.ID)
		}
		col := &unlinked
		if tr.Linked {
			col = &linked
		}
		col.id = append(col.id, tr.ID)
		col.name = append(col.name, tr.Name)
		col.norm = append(col.norm, store.NormalizeName(tr.Name))
		col.isrc = append(col.isrc, tr.ISRC)
		col.album = append(col.album, tr.Album.ID)
		col.dur = append(col.dur, int32(tr.DurationMS)) //nolint:gosec // durations are far below 2^31 ms
		col.local = append(col.local, tr.IsLocal)
		col.hash = append(col.hash, h)
	}
	const insertTracks = `INSERT INTO tracks (id, name, norm_name, isrc, album_id, duration_ms, is_local, linked, meta_hash)
		SELECT id, name, norm, isrc, nullif(album, ''), dur, local, $8, hash
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::bool[], $9::bigint[])
			AS t(id, name, norm, isrc, album, dur, local, hash)
		ON CONFLICT (id) DO NOTHING RETURNING id`
	var (
		written []string // tracks whose artist rows must be (re)written
		changed []string // stored tracks replaced
		old     map[string]credit
	)
	if len(linked.id) > 0 {
		rows, err := tx.Query(ctx, insertTracks,
			linked.id, linked.name, linked.norm, linked.isrc, linked.album, linked.dur, linked.local, true, linked.hash)
		if err != nil {
			return nil, nil, err
		}
		ins, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, nil, err
		}
		written = append(written, ins...)
		// Stored tracks to replace: those stored before, and those another
		// transaction stored meanwhile. Their credits are read under lock
		// before they change.
		slices.Sort(ins)
		var upd []int
		for i, id := range linked.id {
			if _, ok := slices.BinarySearch(ins, id); !ok {
				upd = append(upd, i)
				replaced = append(replaced, id)
			}
		}
		replaced = sortedSet(replaced)
		if len(upd) > 0 {
			if _, err := tx.Exec(ctx, `SELECT id FROM tracks WHERE id = ANY($1) ORDER BY id FOR UPDATE`, replaced); err != nil {
				return nil, nil, err
			}
			if old, err = loadCredits(ctx, tx, replaced); err != nil {
				return nil, nil, err
			}
			pick := func(col []string) []string {
				out := make([]string, len(upd))
				for j, i := range upd {
					out[j] = col[i]
				}
				return out
			}
			dur, local, hash := make([]int32, len(upd)), make([]bool, len(upd)), make([]int64, len(upd))
			for j, i := range upd {
				dur[j], local[j], hash[j] = linked.dur[i], linked.local[i], linked.hash[i]
			}
			rows, err := tx.Query(ctx, `
				UPDATE tracks SET name = u.name, norm_name = u.norm, isrc = u.isrc, album_id = nullif(u.album, ''),
					duration_ms = u.dur, is_local = u.local, linked = true, meta_hash = u.hash
				FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::bool[], $8::bigint[])
					AS u(id, name, norm, isrc, album, dur, local, hash)
				WHERE tracks.id = u.id AND tracks.meta_hash <> u.hash
				RETURNING tracks.id`,
				pick(linked.id), pick(linked.name), pick(linked.norm), pick(linked.isrc), pick(linked.album), dur, local, hash)
			if err != nil {
				return nil, nil, err
			}
			if changed, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
				return nil, nil, err
			}
			written = append(written, changed...)
		}
	}
	if len(unlinked.id) > 0 {
		rows, err := tx.Query(ctx, insertTracks,
			unlinked.id, unlinked.name, unlinked.norm, unlinked.isrc, unlinked.album, unlinked.dur, unlinked.local, false, unlinked.hash)
		if err != nil {
			return nil, nil, err
		}
		ins, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, nil, err
		}
		written = append(written, ins...)
		// Another transaction stored some first: their credits are theirs.
		slices.Sort(ins)
		for _, id := range unlinked.id {
			if _, ok := slices.BinarySearch(ins, id); !ok {
				unknown = append(unknown, id)
			}
		}
	}
	if len(written) > 0 {
		slices.Sort(written)
		if len(changed) > 0 {
			if _, err := tx.Exec(ctx, `DELETE FROM track_artists WHERE track_id = ANY($1)`, changed); err != nil {
				return nil, nil, err
			}
		}
		var tid, aid []string
		var pos []int32
		for _, id := range written {
			for i, a := range byID[id].Artists {
				tid, aid, pos = append(tid, id), append(aid, a.ID), append(pos, int32(i)) //nolint:gosec // small
			}
		}
		if len(tid) > 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO track_artists (track_id, position, artist_id)
				SELECT * FROM unnest($1::text[], $2::int[], $3::text[])`, tid, pos, aid); err != nil {
				return nil, nil, err
			}
		}
	}
	if len(unknown) > 0 {
		stored, err := loadCredits(ctx, tx, unknown)
		if err != nil {
			return nil, nil, err
		}
		maps.Copy(credits, stored)
	}
	var changes []creditChange
	for _, id := range changed {
		c := creditChange{track: id, old: old[id], new: credits[id]}
		if c.old.album != c.new.album || !slices.Equal(c.old.artists, c.new.artists) {
			changes = append(changes, c)
		}
	}
	return changes, credits, nil
}

// upsertNames writes the artists and albums of tracks: Spotify's names
// (from linked tracks) replace stored ones, an export's never rename.
// Rows already stored as given are filtered out first, which is cheaper
// than letting ON CONFLICT find them.
func upsertNames(ctx context.Context, tx pgx.Tx, in []store.Track) error {
	type named struct {
		name   string
		linked bool
	}
	artists := map[string]named{}
	albums := map[string]named{}
	put := func(m map[string]named, id, name string, linked bool) {
		if cur, ok := m[id]; ok && cur.linked && !linked {
			return
		}
		m[id] = named{name, linked}
	}
	for _, tr := range in {
		if tr.Album.ID != "" {
			put(albums, tr.Album.ID, tr.Album.Name, tr.Linked)
		}
		for _, a := range tr.Artists {
			put(artists, a.ID, a.Name, tr.Linked)
		}
	}
	for _, t := range []struct {
		table string
		m     map[string]named
	}{{"artists", artists}, {"albums", albums}} {
		var lid, lname, uid, uname []string
		for _, id := range slices.Sorted(mapsKeys(t.m)) {
			if n := t.m[id]; n.linked {
				lid, lname = append(lid, id), append(lname, n.name)
			} else {
				uid, uname = append(uid, id), append(uname, n.name)
			}
		}
		if len(lid) > 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO `+t.table+` (id, name)
				SELECT * FROM unnest($1::text[], $2::text[]) AS i(id, name)
				WHERE NOT EXISTS (SELECT 1 FROM `+t.table+` x WHERE x.id = i.id AND x.name = i.name)
				ON CONFLICT (id) DO UPDATE SET name = excluded.name
				WHERE `+t.table+`.name IS DISTINCT FROM excluded.name`, lid, lname); err != nil {
				return err
			}
		}
		if len(uid) > 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO `+t.table+` (id, name)
				SELECT * FROM unnest($1::text[], $2::text[]) AS i(id, name)
				WHERE NOT EXISTS (SELECT 1 FROM `+t.table+` x WHERE x.id = i.id)
				ON CONFLICT (id) DO NOTHING`, uid, uname); err != nil {
				return err
			}
		}
	}
	return nil
}

func mapsKeys[V any](m map[string]V) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// loadTracks reads tracks with their albums and artists.
func loadTracks(ctx context.Context, q querier, ids []string) (map[string]store.Track, error) {
	out := make(map[string]store.Track, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `
		SELECT t.id, t.name, t.duration_ms, t.isrc, t.is_local, t.linked,
			coalesce(t.album_id, ''), coalesce(al.name, '')
		FROM tracks t LEFT JOIN albums al ON al.id = t.album_id
		WHERE t.id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	var tr store.Track
	if _, err := pgx.ForEachRow(rows, []any{&tr.ID, &tr.Name, &tr.DurationMS, &tr.ISRC, &tr.IsLocal, &tr.Linked,
		&tr.Album.ID, &tr.Album.Name}, func() error {
		out[tr.ID] = tr
		return nil
	}); err != nil {
		return nil, err
	}
	rows, err = q.Query(ctx, `
		SELECT ta.track_id, ar.id, ar.name
		FROM track_artists ta JOIN artists ar ON ar.id = ta.artist_id
		WHERE ta.track_id = ANY($1)
		ORDER BY ta.track_id, ta.position`, ids)
	if err != nil {
		return nil, err
	}
	var (
		tid string
		a   store.Artist
	)
	if _, err := pgx.ForEachRow(rows, []any{&tid, &a.ID, &a.Name}, func() error {
		t := out[tid]
		t.Artists = append(t.Artists, a)
		out[tid] = t
		return nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// GetTrack returns one track with its album and artists.
func (s *Store) GetTrack(ctx context.Context, id string) (*store.Track, error) {
	var m map[string]store.Track
	err := s.read(ctx, func(tx pgx.Tx) error {
		var err error
		m, err = loadTracks(ctx, tx, []string{id})
		return err
	})
	if err != nil {
		return nil, wrap("get track", err)
	}
	tr, ok := m[id]
	if !ok {
		return nil, notFound("get track", "track %q", id)
	}
	return &tr, nil
}

// UnlinkedTracks pages over non-local unlinked tracks in id order.
func (s *Store) UnlinkedTracks(ctx context.Context, p *store.UnlinkedTracksParams) ([]store.Track, error) {
	const op = "unlinked tracks"
	if p.Limit <= 0 {
		return nil, invalid(op, "limit %d <= 0", p.Limit)
	}
	var out []store.Track
	err := s.read(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id FROM tracks WHERE NOT linked AND NOT is_local AND id > $1
			ORDER BY id LIMIT $2`, p.After, p.Limit)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		m, err := loadTracks(ctx, tx, ids)
		if err != nil {
			return err
		}
		out = make([]store.Track, 0, len(ids))
		for _, id := range ids {
			out = append(out, m[id])
		}
		return nil
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	return out, nil
}

// MergeCandidates returns groups of linked tracks sharing the normalised
// name and the set of artist ids, newest play first.
func (s *Store) MergeCandidates(ctx context.Context) ([][]store.Track, error) {
	type member struct {
		id   string
		last *time.Time
	}
	groups := map[string][]member{}
	var tracks map[string]store.Track
	err := s.read(ctx, func(tx pgx.Tx) error {
		clear(groups)
		rows, err := tx.Query(ctx, `
			WITH credits AS (
				SELECT t.id, t.norm_name, array_agg(ta.artist_id ORDER BY ta.artist_id) AS artists
				FROM tracks t JOIN track_artists ta ON ta.track_id = t.id
				WHERE t.linked
				GROUP BY t.id
			), grouped AS (
				SELECT id, norm_name, artists, count(*) OVER (PARTITION BY norm_name, artists) AS n
				FROM credits
			)
			SELECT g.id, g.norm_name, g.artists,
				(SELECT max(ut.last_played) FROM user_tracks ut WHERE ut.track_id = g.id)
			FROM grouped g WHERE g.n > 1`)
		if err != nil {
			return err
		}
		var (
			m    member
			norm string
			arts []string
			ids  []string
		)
		if _, err := pgx.ForEachRow(rows, []any{&m.id, &norm, &arts, &m.last}, func() error {
			key := norm + "\x00" + strings.Join(arts, "\x00")
			groups[key] = append(groups[key], m)
			ids = append(ids, m.id)
			return nil
		}); err != nil {
			return err
		}
		tracks, err = loadTracks(ctx, tx, ids)
		return err
	})
	if err != nil {
		return nil, wrap("merge candidates", err)
	}
	out := make([][]store.Track, 0, len(groups))
	for _, key := range slices.Sorted(mapsKeys(groups)) {
		g := groups[key]
		// Newest play first, never played last, then by id.
		slices.SortFunc(g, func(a, b member) int {
			switch {
			case a.last == nil && b.last == nil:
			case a.last == nil:
				return 1
			case b.last == nil:
				return -1
			default:
				if c := b.last.Compare(*a.last); c != 0 {
					return c
				}
			}
			return cmp.Compare(a.id, b.id)
		})
		group := make([]store.Track, len(g))
		for i, m := range g {
			group[i] = tracks[m.id]
		}
		out = append(out, group)
	}
	return out, nil
}
