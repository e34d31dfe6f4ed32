package storetest

import (
	"cmp"
	"slices"
	"time"

	"github.com/spotifyhist/spotifyhist/store"
)

// refModel recomputes every statistic by brute force from a list of plays
// and the catalogue, the way the doc comments of store.StatsStore define
// them. Backends are compared against it.
type refModel struct {
	tracks map[string]store.Track
	plays  []store.Play // PlayedAt at millisecond precision, UTC
}

func (m *refModel) filter(f store.StatsFilter) []store.Play {
	var out []store.Play
	for _, p := range m.plays {
		if f.UserID != "" && p.UserID != f.UserID {
			continue
		}
		if !f.From.IsZero() && p.PlayedAt.Before(ms(f.From)) {
			continue
		}
		if !f.To.IsZero() && !p.PlayedAt.Before(ms(f.To)) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// artistIDs returns the distinct artist ids of a track, in credit order.
func (m *refModel) artistIDs(trackID string) []string {
	var ids []string
	for _, a := range m.tracks[trackID].Artists {
		if !slices.Contains(ids, a.ID) {
			ids = append(ids, a.ID)
		}
	}
	return ids
}

func (m *refModel) totals(f store.StatsFilter) store.Totals {
	var t store.Totals
	tracks, artists, albums := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, p := range m.filter(f) {
		t.Plays++
		t.MSPlayed += int64(p.MSPlayed)
		tracks[p.TrackID] = true
		for _, a := range m.artistIDs(p.TrackID) {
			artists[a] = true
		}
		if al := m.tracks[p.TrackID].Album.ID; al != "" {
			albums[al] = true
		}
		if t.FirstPlayed.IsZero() || p.PlayedAt.Before(t.FirstPlayed) {
			t.FirstPlayed = p.PlayedAt
		}
		if p.PlayedAt.After(t.LastPlayed) {
			t.LastPlayed = p.PlayedAt
		}
	}
	t.UniqueTracks, t.UniqueArtists, t.UniqueAlbums = len(tracks), len(artists), len(albums)
	return t
}

// albumArtists is the rule the suite fixes for Top albums: the distinct
// first-credited artists of the album's catalogue tracks, ordered by id.
func (m *refModel) albumArtists(albumID string) []store.Artist {
	seen := map[string]store.Artist{}
	for _, tr := range m.tracks {
		if tr.Album.ID == albumID && len(tr.Artists) > 0 {
			seen[tr.Artists[0].ID] = tr.Artists[0]
		}
	}
	var out []store.Artist
	for _, a := range seen {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b store.Artist) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func (m *refModel) topAll(plays []store.Play, kind store.TopKind, by store.TopOrder) []store.TopItem {
	items := map[string]*store.TopItem{}
	credit := func(id string, p store.Play) {
		it := items[id]
		if it == nil {
			it = &store.TopItem{ID: id}
			items[id] = it
		}
		it.Plays++
		it.MSPlayed += int64(p.MSPlayed)
		if p.PlayedAt.After(it.LastPlayed) {
			it.LastPlayed = p.PlayedAt
		}
	}
	for _, p := range plays {
		tr := m.tracks[p.TrackID]
		switch kind {
		case store.TopTracks:
			credit(tr.ID, p)
		case store.TopArtists:
			for _, a := range m.artistIDs(tr.ID) {
				credit(a, p)
			}
		case store.TopAlbums:
			if tr.Album.ID != "" {
				credit(tr.Album.ID, p)
			}
		}
	}
	names := map[string]string{}
	for _, tr := range m.tracks {
		for _, a := range tr.Artists {
			if kind == store.TopArtists {
				names[a.ID] = a.Name
			}
		}
		if kind == store.TopAlbums && tr.Album.ID != "" {
			names[tr.Album.ID] = tr.Album.Name
		}
	}
	var out []store.TopItem
	for _, it := range items {
		switch kind {
		case store.TopTracks:
			tr := m.tracks[it.ID]
			it.Name, it.Artists, it.Album, it.IsLocal = tr.Name, tr.Artists, tr.Album, tr.IsLocal
		case store.TopArtists:
			it.Name = names[it.ID]
		case store.TopAlbums:
			it.Name = names[it.ID]
			it.Artists = m.albumArtists(it.ID)
		}
		out = append(out, *it)
	}
	slices.SortFunc(out, func(a, b store.TopItem) int {
		if by == store.ByTime {
			if c := cmp.Compare(b.MSPlayed, a.MSPlayed); c != 0 {
				return c
			}
		} else if c := cmp.Compare(b.Plays, a.Plays); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}

func (m *refModel) top(p store.TopParams) []store.TopItem {
	all := m.topAll(m.filter(p.StatsFilter), p.Kind, p.By)
	limit := p.Limit
	if limit == 0 {
		limit = 10
	}
	if p.Offset >= len(all) {
		return nil
	}
	return all[p.Offset:min(len(all), p.Offset+limit)]
}

func locOrUTC(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}

func bucketStart(t time.Time, b store.Bucket, loc *time.Location) time.Time {
	y, mo, d := t.In(loc).Date()
	switch b {
	case store.BucketWeek:
		wd := int(time.Date(y, mo, d, 12, 0, 0, 0, loc).Weekday())
		return time.Date(y, mo, d-(wd+6)%7, 0, 0, 0, 0, loc)
	case store.BucketMonth:
		return time.Date(y, mo, 1, 0, 0, 0, 0, loc)
	}
	return time.Date(y, mo, d, 0, 0, 0, 0, loc)
}

func (m *refModel) overTime(p store.OverTimeParams) []store.TimePoint {
	loc := locOrUTC(p.Location)
	byStart := map[int64]*store.TimePoint{}
	for _, pl := range m.filter(p.StatsFilter) {
		s := bucketStart(pl.PlayedAt, p.Bucket, loc)
		tp := byStart[s.UnixMilli()]
		if tp == nil {
			tp = &store.TimePoint{Start: s}
			byStart[s.UnixMilli()] = tp
		}
		tp.Plays++
		tp.MSPlayed += int64(pl.MSPlayed)
	}
	var out []store.TimePoint
	for _, tp := range byStart {
		out = append(out, *tp)
	}
	slices.SortFunc(out, func(a, b store.TimePoint) int { return a.Start.Compare(b.Start) })
	return out
}

func (m *refModel) hourWeekday(p store.TimeParams) store.HourWeekday {
	loc := locOrUTC(p.Location)
	var hw store.HourWeekday
	days := map[[3]int]bool{}
	for _, pl := range m.filter(p.StatsFilter) {
		lt := pl.PlayedAt.In(loc)
		hw.Plays[lt.Weekday()][lt.Hour()]++
		hw.MSPlayed[lt.Weekday()][lt.Hour()] += int64(pl.MSPlayed)
		y, mo, d := lt.Date()
		days[[3]int{y, int(mo), d}] = true
	}
	hw.Days = len(days)
	return hw
}

func (m *refModel) years(p store.TimeParams) []store.YearSummary {
	loc := locOrUTC(p.Location)
	byYear := map[int][]store.Play{}
	for _, pl := range m.filter(p.StatsFilter) {
		y := pl.PlayedAt.In(loc).Year()
		byYear[y] = append(byYear[y], pl)
	}
	var out []store.YearSummary
	for y, plays := range byYear {
		sub := &refModel{tracks: m.tracks, plays: plays}
		tot := sub.totals(store.StatsFilter{})
		ys := store.YearSummary{Year: y, Plays: tot.Plays, MSPlayed: tot.MSPlayed, UniqueTracks: tot.UniqueTracks, UniqueArtists: tot.UniqueArtists}
		if top := sub.topAll(plays, store.TopTracks, store.ByCount); len(top) > 0 {
			ys.TopTrack = &top[0]
		}
		if top := sub.topAll(plays, store.TopArtists, store.ByCount); len(top) > 0 {
			ys.TopArtist = &top[0]
		}
		out = append(out, ys)
	}
	slices.SortFunc(out, func(a, b store.YearSummary) int { return cmp.Compare(a.Year, b.Year) })
	return out
}

// history returns the user's plays newest first strictly before the cursor.
func (m *refModel) history(p store.HistoryParams) []store.Play {
	var out []store.Play
	for _, pl := range m.plays {
		if pl.UserID != p.UserID {
			continue
		}
		if !p.Before.IsZero() {
			b := ms(p.Before)
			if pl.PlayedAt.After(b) || (pl.PlayedAt.Equal(b) && pl.TrackID >= p.BeforeTrackID) {
				continue
			}
		}
		out = append(out, pl)
	}
	slices.SortFunc(out, func(a, b store.Play) int {
		if c := b.PlayedAt.Compare(a.PlayedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.TrackID, a.TrackID)
	})
	limit := p.Limit
	if limit == 0 {
		limit = 50
	}
	limit = min(limit, 1000)
	return out[:min(len(out), limit)]
}
