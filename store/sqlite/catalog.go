package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spotifyhist/spotifyhist/store"
)

// chunkSize bounds the number of values bound in one IN list or multi-row
// statement.
const chunkSize = 400

// trackRef is what the rollups need to know of a stored track.
type trackRef struct {
	pk      int64
	albumPK int64   // 0 = none
	artists []int64 // distinct, in credit order
}

// placeholders returns "(?,?,...)" with n marks.
func placeholders(n int) string {
	return "(" + strings.TrimSuffix(strings.Repeat("?,", n), ",") + ")"
}

// chunks calls fn on consecutive slices of at most chunkSize elements.
func chunks[T any](s []T, fn func([]T) error) error {
	for len(s) > 0 {
		n := min(len(s), chunkSize)
		if err := fn(s[:n]); err != nil {
			return err
		}
		s = s[n:]
	}
	return nil
}

func anys[T any](s []T) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// dedupeArtists drops repeated artist ids, keeping the first credit.
func dedupeArtists(a []store.Artist) []store.Artist {
	out := make([]store.Artist, 0, len(a))
	for _, x := range a {
		if !slices.ContainsFunc(out, func(y store.Artist) bool { return y.ID == x.ID }) {
			out = append(out, x)
		}
	}
	return out
}

func validateTrack(t *store.Track) error {
	if t.ID == "" {
		return invalid("track without an id (%q)", t.Name)
	}
	for _, a := range t.Artists {
		if a.ID == "" {
			return invalid("track %q: artist %q without an id", t.ID, a.Name)
		}
	}
	if t.Album.ID == "" && t.Album.Name != "" {
		return invalid("track %q: album %q without an id", t.ID, t.Album.Name)
	}
	return nil
}

// UpsertTracks writes tracks with their album and artists.
func (s *Store) UpsertTracks(ctx context.Context, tracks []store.Track) error {
	for i := range tracks {
		if err := validateTrack(&tracks[i]); err != nil {
			return wrap("upsert tracks", err)
		}
	}
	if len(tracks) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := upsertTracks(ctx, tx, tracks)
		return err
	})
	return wrap("upsert tracks", err)
}

type storedTrack struct {
	ref             trackRef
	name, isrc      string
	duration        int
	isLocal, linked bool
}

// upsertTracks applies the linked/unlinked rule and returns the stored
// reference of every track id given. Tracks must be valid.
func upsertTracks(ctx context.Context, tx *sql.Tx, tracks []store.Track) (map[string]*trackRef, error) {
	// One input per id: a linked version wins over unlinked ones, the last
	// linked over earlier ones, the first unlinked otherwise.
	want := make(map[string]*store.Track, len(tracks))
	var order []string
	for i := range tracks {
		t := &tracks[i]
		if _, ok := want[t.ID]; !ok {
			order = append(order, t.ID)
			want[t.ID] = t
		} else if t.Linked {
			want[t.ID] = t
		}
	}

	// Existing rows' artists matter only where a linked version may replace them.
	linkedIDs := map[string]bool{}
	for _, id := range order {
		if want[id].Linked {
			linkedIDs[id] = true
		}
	}
	existing, err := loadStoredTracks(ctx, tx, order, linkedIDs)
	if err != nil {
		return nil, err
	}

	// Artists and albums to resolve: those of new tracks and of linked ones.
	artistNames := map[string]string{} // id -> name to store
	artistLinked := map[string]bool{}  // name comes from Spotify
	albumNames := map[string]string{}
	albumLinked := map[string]bool{}
	for _, id := range order {
		t := want[id]
		if _, ok := existing[id]; ok && !t.Linked {
			continue
		}
		for _, a := range t.Artists {
			if _, seen := artistNames[a.ID]; !seen || t.Linked && !artistLinked[a.ID] {
				artistNames[a.ID], artistLinked[a.ID] = a.Name, t.Linked
			}
		}
		if t.Album.ID != "" {
			if _, seen := albumNames[t.Album.ID]; !seen || t.Linked && !albumLinked[t.Album.ID] {
				albumNames[t.Album.ID], albumLinked[t.Album.ID] = t.Album.Name, t.Linked
			}
		}
	}
	artistPKs, err := upsertNamed(ctx, tx, "artists", artistNames, artistLinked)
	if err != nil {
		return nil, err
	}
	albumPKs, err := upsertNamed(ctx, tx, "albums", albumNames, albumLinked)
	if err != nil {
		return nil, err
	}

	refs := make(map[string]*trackRef, len(order))
	var recredit []trackRef // old and new references of tracks whose album or artists changed
	insert, err := tx.PrepareContext(ctx, `INSERT INTO tracks (id, name, norm_name, duration_ms, isrc, is_local, linked, album_pk)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING pk`)
	if err != nil {
		return nil, err
	}
	defer insert.Close()
	insertArtist, err := tx.PrepareContext(ctx, `INSERT INTO track_artists (track_pk, position, artist_pk) VALUES (?, ?, ?)`)
	if err != nil {
		return nil, err
	}
	defer insertArtist.Close()

	for _, id := range order {
		t := want[id]
		old, ok := existing[id]
		if ok && !t.Linked {
			refs[id] = &old.ref
			continue
		}
		ref := &trackRef{albumPK: albumPKs[t.Album.ID]}
		for _, a := range dedupeArtists(t.Artists) {
			ref.artists = append(ref.artists, artistPKs[a.ID])
		}
		album := sql.NullInt64{Int64: ref.albumPK, Valid: ref.albumPK != 0}
		if !ok {
			if err := insert.QueryRowContext(ctx, t.ID, t.Name, store.NormalizeName(t.Name), t.DurationMS, t.ISRC,
				boolInt(t.IsLocal), boolInt(t.Linked), album).Scan(&ref.pk); err != nil {
				return nil, err
			}
			for i, a := range ref.artists {
				if _, err := insertArtist.ExecContext(ctx, ref.pk, i, a); err != nil {
					return nil, err
				}
			}
			refs[id] = ref
			continue
		}
		ref.pk = old.ref.pk
		refs[id] = ref
		if old.name != t.Name || old.duration != t.DurationMS || old.isrc != t.ISRC || old.isLocal != t.IsLocal ||
			!old.linked || old.ref.albumPK != ref.albumPK {
			if _, err := tx.ExecContext(ctx, `UPDATE tracks SET name = ?, norm_name = ?, duration_ms = ?, isrc = ?, is_local = ?,
				linked = 1, album_pk = ? WHERE pk = ?`,
				t.Name, store.NormalizeName(t.Name), t.DurationMS, t.ISRC, boolInt(t.IsLocal), album, ref.pk); err != nil {
				return nil, err
			}
		}
		if !slices.Equal(old.ref.artists, ref.artists) {
			if _, err := tx.ExecContext(ctx, `DELETE FROM track_artists WHERE track_pk = ?`, ref.pk); err != nil {
				return nil, err
			}
			for i, a := range ref.artists {
				if _, err := insertArtist.ExecContext(ctx, ref.pk, i, a); err != nil {
					return nil, err
				}
			}
		}
		if old.ref.albumPK != ref.albumPK || !slices.Equal(old.ref.artists, ref.artists) {
			recredit = append(recredit, old.ref, *ref)
		}
	}
	// The plays of a track credited to other artists or another album move
	// their artist and album rollups with them.
	if err := recreditTracks(ctx, tx, recredit); err != nil {
		return nil, err
	}
	return refs, nil
}

// upsertNamed makes sure every id of names exists in table (artists or
// albums), renaming existing rows only with names that come from Spotify
// (linked), and returns id -> pk.
func upsertNamed(ctx context.Context, tx *sql.Tx, table string, names map[string]string, linked map[string]bool) (map[string]int64, error) {
	pks := make(map[string]int64, len(names))
	if len(names) == 0 {
		return pks, nil
	}
	ids := make([]string, 0, len(names))
	for id := range names {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	stored := map[string]string{}
	err := chunks(ids, func(c []string) error {
		rows, err := tx.QueryContext(ctx, `SELECT pk, id, name FROM `+table+` WHERE id IN `+placeholders(len(c)), anys(c)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				pk       int64
				id, name string
			)
			if err := rows.Scan(&pk, &id, &name); err != nil {
				return err
			}
			pks[id], stored[id] = pk, name
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	insert, err := tx.PrepareContext(ctx, `INSERT INTO `+table+` (id, name) VALUES (?, ?) RETURNING pk`)
	if err != nil {
		return nil, err
	}
	defer insert.Close()
	for _, id := range ids {
		name := names[id]
		old, ok := stored[id]
		switch {
		case !ok:
			var pk int64
			if err := insert.QueryRowContext(ctx, id, name).Scan(&pk); err != nil {
				return nil, err
			}
			pks[id] = pk
		case linked[id] && old != name:
			if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET name = ? WHERE pk = ?`, name, pks[id]); err != nil {
				return nil, err
			}
		}
	}
	return pks, nil
}

// loadStoredTracks returns the stored rows of the given ids, with their
// artists when withArtists is nil or names the id.
func loadStoredTracks(ctx context.Context, q queryer, ids []string, withArtists map[string]bool) (map[string]*storedTrack, error) {
	out := make(map[string]*storedTrack, len(ids))
	byPK := map[int64]*storedTrack{}
	err := chunks(ids, func(c []string) error {
		rows, err := q.QueryContext(ctx, `SELECT pk, id, name, duration_ms, isrc, is_local, linked, album_pk
			FROM tracks WHERE id IN `+placeholders(len(c)), anys(c)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				st            storedTrack
				id            string
				local, linked int
				album         sql.NullInt64
			)
			if err := rows.Scan(&st.ref.pk, &id, &st.name, &st.duration, &st.isrc, &local, &linked, &album); err != nil {
				return err
			}
			st.isLocal, st.linked, st.ref.albumPK = local == 1, linked == 1, album.Int64
			out[id] = &st
			if withArtists == nil || withArtists[id] {
				byPK[st.ref.pk] = &st
			}
		}
		return rows.Err()
	})
	if err != nil || len(byPK) == 0 {
		return out, err
	}
	pks := make([]int64, 0, len(byPK))
	for pk := range byPK {
		pks = append(pks, pk)
	}
	err = chunks(pks, func(c []int64) error {
		rows, err := q.QueryContext(ctx, `SELECT track_pk, artist_pk FROM track_artists WHERE track_pk IN `+placeholders(len(c))+
			` ORDER BY track_pk, position`, anys(c)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var t, a int64
			if err := rows.Scan(&t, &a); err != nil {
				return err
			}
			byPK[t].ref.artists = append(byPK[t].ref.artists, a)
		}
		return rows.Err()
	})
	return out, err
}

// loadTracks returns full tracks by pk.
func loadTracks(ctx context.Context, q queryer, pks []int64) (map[int64]*store.Track, error) {
	out := make(map[int64]*store.Track, len(pks))
	pks = slices.Compact(slices.Sorted(slices.Values(pks)))
	err := chunks(pks, func(c []int64) error {
		in, args := inList(c)
		rows, err := q.QueryContext(ctx, `SELECT t.pk, t.id, t.name, t.duration_ms, t.isrc, t.is_local, t.linked,
				COALESCE(al.id, ''), COALESCE(al.name, '')
			FROM tracks t LEFT JOIN albums al ON al.pk = t.album_pk WHERE t.pk IN `+in, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var (
				pk            int64
				t             store.Track
				local, linked int
			)
			if err := rows.Scan(&pk, &t.ID, &t.Name, &t.DurationMS, &t.ISRC, &local, &linked, &t.Album.ID, &t.Album.Name); err != nil {
				rows.Close()
				return err
			}
			t.IsLocal, t.Linked = local == 1, linked == 1
			out[pk] = &t
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = q.QueryContext(ctx, `SELECT ta.track_pk, a.id, a.name FROM track_artists ta JOIN artists a ON a.pk = ta.artist_pk
			WHERE ta.track_pk IN `+in+` ORDER BY ta.track_pk, ta.position`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				pk int64
				a  store.Artist
			)
			if err := rows.Scan(&pk, &a.ID, &a.Name); err != nil {
				return err
			}
			if t := out[pk]; t != nil {
				t.Artists = append(t.Artists, a)
			}
		}
		return rows.Err()
	})
	return out, err
}

// GetTrack returns ErrNotFound for an unknown id.
func (s *Store) GetTrack(ctx context.Context, id string) (*store.Track, error) {
	var pk int64
	err := s.read.QueryRowContext(ctx, `SELECT pk FROM tracks WHERE id = ?`, id).Scan(&pk)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, wrap("get track", notFound("track", id))
	}
	if err != nil {
		return nil, wrap("get track", err)
	}
	tracks, err := loadTracks(ctx, s.read, []int64{pk})
	if err != nil {
		return nil, wrap("get track", err)
	}
	return tracks[pk], nil
}

// UnlinkedTracks returns non-local, unlinked tracks with id > After, ordered
// by id, at most Limit (all when Limit <= 0).
func (s *Store) UnlinkedTracks(ctx context.Context, p *store.UnlinkedTracksParams) ([]store.Track, error) {
	b := psq.Select("pk").From("tracks").Where("linked = 0 AND is_local = 0 AND id > ?", p.After).OrderBy("id")
	if p.Limit > 0 {
		b = b.Limit(uint64(p.Limit))
	}
	pks, err := selectPKs(ctx, s.read, b)
	if err != nil {
		return nil, wrap("unlinked tracks", err)
	}
	tracks, err := loadTracks(ctx, s.read, pks)
	if err != nil {
		return nil, wrap("unlinked tracks", err)
	}
	out := make([]store.Track, 0, len(pks))
	for _, pk := range pks {
		out = append(out, *tracks[pk])
	}
	return out, nil
}

type sqlizer interface {
	ToSql() (string, []any, error)
}

func selectPKs(ctx context.Context, q queryer, b sqlizer) ([]int64, error) {
	query, args, err := b.ToSql()
	if err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var pks []int64
	for rows.Next() {
		var pk int64
		if err := rows.Scan(&pk); err != nil {
			return nil, err
		}
		pks = append(pks, pk)
	}
	return pks, rows.Err()
}

// MergeCandidates returns groups of linked tracks sharing the normalised name
// and the same non-empty set of artist ids, newest play first.
func (s *Store) MergeCandidates(ctx context.Context) ([][]store.Track, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT t.pk, t.norm_name,
			(SELECT MAX(r.last) FROM rollups r WHERE r.kind = 1 AND r.period = 0 AND r.item = t.pk)
		FROM tracks t
		WHERE t.linked = 1 AND t.norm_name IN (
			SELECT norm_name FROM tracks WHERE linked = 1 GROUP BY norm_name HAVING COUNT(*) > 1)`)
	if err != nil {
		return nil, wrap("merge candidates", err)
	}
	type cand struct {
		pk   int64
		norm string
		last sql.NullInt64
	}
	var cands []cand
	for rows.Next() {
		var c cand
		if err := rows.Scan(&c.pk, &c.norm, &c.last); err != nil {
			rows.Close()
			return nil, wrap("merge candidates", err)
		}
		cands = append(cands, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap("merge candidates", err)
	}
	pks := make([]int64, len(cands))
	for i, c := range cands {
		pks[i] = c.pk
	}
	tracks, err := loadTracks(ctx, s.read, pks)
	if err != nil {
		return nil, wrap("merge candidates", err)
	}
	groups := map[string][]cand{}
	var keys []string
	for _, c := range cands {
		t := tracks[c.pk]
		if len(t.Artists) == 0 {
			continue
		}
		ids := make([]string, 0, len(t.Artists))
		for _, a := range t.Artists {
			ids = append(ids, a.ID)
		}
		slices.Sort(ids)
		key := c.norm + "\x00" + strings.Join(slices.Compact(ids), "\x00")
		if _, ok := groups[key]; !ok {
			keys = append(keys, key)
		}
		groups[key] = append(groups[key], c)
	}
	slices.Sort(keys)
	var out [][]store.Track
	for _, k := range keys {
		g := groups[k]
		if len(g) < 2 {
			continue
		}
		slices.SortFunc(g, func(a, b cand) int {
			if a.last.Valid != b.last.Valid {
				if a.last.Valid {
					return -1
				}
				return 1
			}
			if c := cmp.Compare(b.last.Int64, a.last.Int64); c != 0 {
				return c
			}
			return cmp.Compare(tracks[a.pk].ID, tracks[b.pk].ID)
		})
		group := make([]store.Track, len(g))
		for i, c := range g {
			group[i] = *tracks[c.pk]
		}
		out = append(out, group)
	}
	return out, nil
}

// MergeTracks moves every play, playlist row and reference of From onto Into
// and deletes the From tracks.
func (s *Store) MergeTracks(ctx context.Context, p *store.MergeTracksParams) (int, error) {
	if slices.Contains(p.From, p.Into) {
		return 0, wrap("merge tracks", invalid("track %q merged into itself", p.Into))
	}
	moved := 0
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		ids := append([]string{p.Into}, p.From...)
		stored, err := loadStoredTracks(ctx, tx, ids, nil)
		if err != nil {
			return err
		}
		into, ok := stored[p.Into]
		if !ok {
			return notFound("track", p.Into)
		}
		var from []int64
		refs := []trackRef{into.ref}
		for _, id := range p.From {
			if st, ok := stored[id]; ok && !slices.Contains(from, st.ref.pk) {
				from = append(from, st.ref.pk)
				refs = append(refs, st.ref)
			}
		}
		if len(from) == 0 {
			return nil
		}
		in := placeholders(len(from))
		// Plays that would duplicate an Into play are dropped; their time
		// leaves the day rollups.
		rows, err := tx.QueryContext(ctx, `DELETE FROM plays AS f WHERE f.track_pk IN `+in+` AND (
				EXISTS (SELECT 1 FROM plays i WHERE i.user_pk = f.user_pk AND i.played_at = f.played_at AND i.track_pk = ?)
				OR EXISTS (SELECT 1 FROM plays o WHERE o.user_pk = f.user_pk AND o.played_at = f.played_at
					AND o.track_pk IN `+in+` AND o.track_pk < f.track_pk))
			RETURNING user_pk, played_at, ms_played`, append(append(anys(from), into.ref.pk), anys(from)...)...)
		if err != nil {
			return err
		}
		var dropped []playRow
		for rows.Next() {
			var r playRow
			if err := rows.Scan(&r.user, &r.at, &r.ms); err != nil {
				rows.Close()
				return err
			}
			dropped = append(dropped, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE plays SET track_pk = ? WHERE track_pk IN `+in, append([]any{into.ref.pk}, anys(from)...)...)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		moved = int(n)
		if _, err := tx.ExecContext(ctx, `UPDATE playlist_tracks SET track_pk = ? WHERE track_pk IN `+in, append([]any{into.ref.pk}, anys(from)...)...); err != nil {
			return err
		}
		if err := subtractDays(ctx, tx, dropped); err != nil {
			return err
		}
		if err := subtractPlays(ctx, tx, dropped); err != nil {
			return err
		}
		if err := recomputeTrackRollups(ctx, tx, append([]int64{into.ref.pk}, from...)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM tracks WHERE pk IN `+in, anys(from)...); err != nil {
			return err
		}
		return recreditTracks(ctx, tx, refs)
	})
	if err != nil {
		return 0, wrap("merge tracks", fmt.Errorf("into %q: %w", p.Into, err))
	}
	return moved, nil
}
