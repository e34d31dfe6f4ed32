package web

import (
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/spotifyhist/spotifyhist/store"
)

// statsQuery is the parsed common part of every stats request.
type statsQuery struct {
	filter store.StatsFilter
	loc    *time.Location
}

// parseStatsQuery reads the user (from the session), tz, range, from and to.
//
// tz is an IANA zone; default Config.Location. range is 4w, 6m, 1y or all,
// relative to today in tz: it starts at local midnight 28 days, 6 months or
// a year before today and has no end, so its first day is whole. from and
// to are YYYY-MM-DD dates in tz or RFC 3339 instants, and win over range;
// from is inclusive, to exclusive, and a date as to means the whole day.
func (s *Server) parseStatsQuery(r *http.Request) (statsQuery, error) {
	q := r.URL.Query()
	var sq statsQuery
	if u := userFrom(r); u != nil {
		sq.filter.UserID = u.ID
	}
	loc, err := s.location(q.Get("tz"))
	if err != nil {
		return sq, err
	}
	sq.loc = loc
	now := s.now().In(loc)
	switch rg := q.Get("range"); rg {
	case "", "all":
	case "4w":
		y, m, d := now.Date()
		sq.filter.From = time.Date(y, m, d-28, 0, 0, 0, 0, loc)
	case "6m":
		sq.filter.From = monthsBefore(now, 6)
	case "1y":
		sq.filter.From = monthsBefore(now, 12)
	default:
		return sq, fmt.Errorf("range: want 4w, 6m, 1y or all, got %q", rg)
	}
	if v := q.Get("from"); v != "" {
		if sq.filter.From, _, err = parseInstant(v, loc); err != nil {
			return sq, fmt.Errorf("from: %w", err)
		}
	}
	if v := q.Get("to"); v != "" {
		var date bool
		if sq.filter.To, date, err = parseInstant(v, loc); err != nil {
			return sq, fmt.Errorf("to: %w", err)
		}
		if date {
			sq.filter.To = sq.filter.To.AddDate(0, 0, 1) // the whole day
		}
	}
	if !sq.filter.From.IsZero() && !sq.filter.To.IsZero() && !sq.filter.From.Before(sq.filter.To) {
		return sq, errors.New("from must be before to")
	}
	return sq, nil
}

// monthsBefore returns local midnight of the same day n months before t's
// day, clamped to the end of a shorter month (31 March → 30 September), as
// the dashboard counts.
func monthsBefore(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m-time.Month(n), 1, 0, 0, 0, 0, t.Location())
	last := first.AddDate(0, 1, -1).Day()
	return time.Date(first.Year(), first.Month(), min(d, last), 0, 0, 0, 0, t.Location())
}

// location loads a tz parameter ("" = Config.Location) and caches it. Only
// clean zone names are accepted (time.LoadLocation would also open
// "Europe//Berlin"), so the cache holds at most the zone database.
func (s *Server) location(name string) (*time.Location, error) {
	if name == "" {
		return s.cfg.Location, nil
	}
	if loc, ok := s.zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	bad := fmt.Errorf("tz: unknown time zone %q (want an IANA name such as Europe/Berlin)", truncate(name, 64))
	if name == "Local" || len(name) > 64 || path.Clean(name) != name || strings.Trim(name, zoneNameChars) != "" {
		return nil, bad
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, bad
	}
	s.zones.Store(name, loc)
	return loc, nil
}

// zoneNameChars are the characters of IANA zone names.
const zoneNameChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-"

// parseInstant reads a YYYY-MM-DD date (midnight in loc; date is true) or an
// RFC 3339 time.
func parseInstant(v string, loc *time.Location) (t time.Time, date bool, err error) {
	if t, err := time.ParseInLocation(time.DateOnly, v, loc); err == nil {
		return t, true, nil
	}
	t, err = time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("want YYYY-MM-DD or an RFC 3339 time, got %q", truncate(v, 64))
	}
	return t, false, nil
}

type totalsJSON struct {
	Plays         int        `json:"plays"`
	MSPlayed      int64      `json:"ms_played"`
	UniqueTracks  int        `json:"unique_tracks"`
	UniqueArtists int        `json:"unique_artists"`
	UniqueAlbums  int        `json:"unique_albums"`
	FirstPlayed   *time.Time `json:"first_played"`
	LastPlayed    *time.Time `json:"last_played"`
}

func (s *Server) handleTotals(w http.ResponseWriter, r *http.Request) {
	sq, err := s.parseStatsQuery(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	t, err := s.cfg.Store.Totals(r.Context(), &sq.filter)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, totalsJSON{
		Plays: t.Plays, MSPlayed: t.MSPlayed, UniqueTracks: t.UniqueTracks, UniqueArtists: t.UniqueArtists,
		UniqueAlbums: t.UniqueAlbums, FirstPlayed: timePtr(t.FirstPlayed), LastPlayed: timePtr(t.LastPlayed),
	})
}

type topItemJSON struct {
	Rank       int          `json:"rank"`
	ID         string       `json:"id"`
	Name       string       `json:"name"`
	Artists    []artistJSON `json:"artists,omitempty"`
	Album      *albumJSON   `json:"album,omitempty"`
	IsLocal    bool         `json:"is_local,omitempty"`
	Plays      int          `json:"plays"`
	MSPlayed   int64        `json:"ms_played"`
	LastPlayed *time.Time   `json:"last_played"`
}

func toTopItemJSON(rank int, it store.TopItem, kind store.TopKind) topItemJSON {
	j := topItemJSON{Rank: rank, ID: it.ID, Name: it.Name, IsLocal: it.IsLocal, Plays: it.Plays, MSPlayed: it.MSPlayed, LastPlayed: timePtr(it.LastPlayed)}
	if kind != store.TopArtists {
		j.Artists = artistsJSON(it.Artists)
	}
	if kind == store.TopTracks {
		j.Album = &albumJSON{ID: it.Album.ID, Name: it.Album.Name}
	}
	return j
}

func (s *Server) handleTop(w http.ResponseWriter, r *http.Request) {
	sq, err := s.parseStatsQuery(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	q := r.URL.Query()
	p := &store.TopParams{StatsFilter: sq.filter, Kind: store.TopKind(q.Get("kind")), By: store.TopOrder(q.Get("by"))}
	if p.Kind == "" {
		p.Kind = store.TopTracks
	}
	if p.By == "" {
		p.By = store.ByCount
	}
	if p.Kind != store.TopTracks && p.Kind != store.TopArtists && p.Kind != store.TopAlbums {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("kind: want tracks, artists or albums, got %q", p.Kind))
		return
	}
	if p.By != store.ByCount && p.By != store.ByTime {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("by: want count or time, got %q", p.By))
		return
	}
	if p.Limit, err = intParam(q.Get("limit"), 10, 1, 500); err != nil {
		writeError(w, http.StatusBadRequest, "limit: "+err.Error())
		return
	}
	if p.Offset, err = intParam(q.Get("offset"), 0, 0, 1_000_000); err != nil {
		writeError(w, http.StatusBadRequest, "offset: "+err.Error())
		return
	}
	items, err := s.cfg.Store.Top(r.Context(), p)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	out := struct {
		Kind  store.TopKind  `json:"kind"`
		By    store.TopOrder `json:"by"`
		Items []topItemJSON  `json:"items"`
	}{Kind: p.Kind, By: p.By, Items: make([]topItemJSON, 0, len(items))}
	for i, it := range items {
		out.Items = append(out.Items, toTopItemJSON(p.Offset+i+1, it, p.Kind))
	}
	writeJSON(w, http.StatusOK, out)
}

type timePointJSON struct {
	Start    string `json:"start"` // YYYY-MM-DD in tz
	Plays    int    `json:"plays"`
	MSPlayed int64  `json:"ms_played"`
}

func (s *Server) handleOverTime(w http.ResponseWriter, r *http.Request) {
	sq, err := s.parseStatsQuery(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	b := store.Bucket(r.URL.Query().Get("bucket"))
	if b == "" {
		b = store.BucketDay
	}
	if b != store.BucketDay && b != store.BucketWeek && b != store.BucketMonth {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("bucket: want day, week or month, got %q", b))
		return
	}
	points, err := s.cfg.Store.OverTime(r.Context(), &store.OverTimeParams{StatsFilter: sq.filter, Bucket: b, Location: sq.loc})
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	out := struct {
		Bucket store.Bucket    `json:"bucket"`
		TZ     string          `json:"tz"`
		Points []timePointJSON `json:"points"`
	}{Bucket: b, TZ: sq.loc.String(), Points: make([]timePointJSON, 0, len(points))}
	for _, p := range points {
		out.Points = append(out.Points, timePointJSON{Start: p.Start.In(sq.loc).Format(time.DateOnly), Plays: p.Plays, MSPlayed: p.MSPlayed})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleHourWeekday(w http.ResponseWriter, r *http.Request) {
	sq, err := s.parseStatsQuery(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	hw, err := s.cfg.Store.HourWeekday(r.Context(), &store.TimeParams{StatsFilter: sq.filter, Location: sq.loc})
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	out := struct {
		TZ       string    `json:"tz"`
		Days     int       `json:"days"`
		Plays    [][]int   `json:"plays"`           // [weekday 0=Sunday][hour]
		MSPlayed [][]int64 `json:"ms_played"`       // same shape
		ByHour   []float64 `json:"average_by_hour"` // plays per hour of day, averaged over Days
		Range    rangeJSON `json:"range"`
	}{TZ: sq.loc.String(), Days: hw.Days, Range: rangeOf(sq.filter)}
	for d := range 7 {
		out.Plays = append(out.Plays, hw.Plays[d][:])
		out.MSPlayed = append(out.MSPlayed, hw.MSPlayed[d][:])
	}
	out.ByHour = make([]float64, 24)
	for h := range 24 {
		sum := 0
		for d := range 7 {
			sum += hw.Plays[d][h]
		}
		if hw.Days > 0 {
			out.ByHour[h] = float64(sum) / float64(hw.Days)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

type rangeJSON struct {
	From *time.Time `json:"from"`
	To   *time.Time `json:"to"`
}

func rangeOf(f store.StatsFilter) rangeJSON {
	return rangeJSON{From: timePtr(f.From), To: timePtr(f.To)}
}

type yearJSON struct {
	Year          int          `json:"year"`
	Plays         int          `json:"plays"`
	MSPlayed      int64        `json:"ms_played"`
	UniqueTracks  int          `json:"unique_tracks"`
	UniqueArtists int          `json:"unique_artists"`
	TopTrack      *topItemJSON `json:"top_track"`
	TopArtist     *topItemJSON `json:"top_artist"`
}

func (s *Server) years(r *http.Request, sq statsQuery) ([]yearJSON, error) {
	ys, err := s.cfg.Store.Years(r.Context(), &store.TimeParams{StatsFilter: sq.filter, Location: sq.loc})
	if err != nil {
		return nil, err
	}
	out := make([]yearJSON, 0, len(ys))
	for _, y := range ys {
		j := yearJSON{Year: y.Year, Plays: y.Plays, MSPlayed: y.MSPlayed, UniqueTracks: y.UniqueTracks, UniqueArtists: y.UniqueArtists}
		if y.TopTrack != nil {
			t := toTopItemJSON(1, *y.TopTrack, store.TopTracks)
			j.TopTrack = &t
		}
		if y.TopArtist != nil {
			a := toTopItemJSON(1, *y.TopArtist, store.TopArtists)
			j.TopArtist = &a
		}
		out = append(out, j)
	}
	return out, nil
}

func (s *Server) handleYears(w http.ResponseWriter, r *http.Request) {
	sq, err := s.parseStatsQuery(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ys, err := s.years(r, sq)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		TZ    string     `json:"tz"`
		Years []yearJSON `json:"years"`
	}{TZ: sq.loc.String(), Years: ys})
}
