package dedupetest

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/spotifyhist/spotifyhist/dedupe"
	"github.com/spotifyhist/spotifyhist/store"
)

// Defaults of [Config].
const (
	StreamsDefault          = 30_000
	PlaysPerDayDefault      = 30.0
	UserIDDefault           = "corpus-user"
	RowsPerFileDefault      = 15_000
	MonitorFromDefault      = 0.5
	PriorImportUntilDefault = 0.2
	ReplayWindowDefault     = 15 * time.Minute
	// MinPlay is Spotify's definition of a stream, which the corpus uses to say
	// which streams are plays.
	MinPlay = 30 * time.Second
)

// Config describes the history to simulate. Zero fields mean their defaults.
type Config struct {
	// Seed makes the corpus; the same Config gives the same corpus.
	Seed uint64
	// Streams is how many streams to simulate (episodes and excluded streams
	// included). Default StreamsDefault (30,000).
	Streams int
	// PlaysPerDay is the average number of streams per day, which sets how many
	// years the history spans. Default PlaysPerDayDefault (30).
	PlaysPerDay float64
	// Start is when the history begins. Default 2018-01-01 00:00 UTC.
	Start time.Time
	// Recordings is the size of the catalogue. Default Streams/8, at least 200.
	Recordings int
	// UserID is the user of stored plays. Default UserIDDefault.
	UserID string
	// LocalTrackID derives the catalogue id of a local file from its URI, as the
	// importer does (spotifyhist.LocalTrackID). Default: "local:" + URI.
	LocalTrackID func(uri string) string
	// MonitorFrom is where live monitoring starts, as a fraction of the history's
	// span. Default MonitorFromDefault (0.5); 1 or more means never.
	MonitorFrom float64
	// PriorImportUntil: plays ending before this fraction of the span are stored
	// by an earlier import of an export. Default PriorImportUntilDefault (0.2);
	// negative means none.
	PriorImportUntil float64
	// RowsPerFile splits the extended history into files. Default
	// RowsPerFileDefault (15,000).
	RowsPerFile int
	// AccountData also produces account-data rows for the last 365 days.
	AccountData bool
}

func (c Config) withDefaults() Config {
	if c.Streams <= 0 {
		c.Streams = StreamsDefault
	}
	if c.PlaysPerDay <= 0 {
		c.PlaysPerDay = PlaysPerDayDefault
	}
	if c.Start.IsZero() {
		c.Start = time.Date(2018, time.January, 1, 0, 0, 0, 0, time.UTC)
	}
	c.Start = c.Start.UTC()
	if c.Recordings <= 0 {
		c.Recordings = max(c.Streams/8, 200)
	}
	if c.UserID == "" {
		c.UserID = UserIDDefault
	}
	if c.LocalTrackID == nil {
		c.LocalTrackID = func(uri string) string { return "local:" + uri }
	}
	if c.MonitorFrom == 0 {
		c.MonitorFrom = MonitorFromDefault
	}
	if c.PriorImportUntil == 0 {
		c.PriorImportUntil = PriorImportUntilDefault
	}
	if c.RowsPerFile <= 0 {
		c.RowsPerFile = RowsPerFileDefault
	}
	return c
}

// Recording is one piece of music in the catalogue.
type Recording struct {
	// ID is the recording's current Spotify id; for a local file, the id
	// Config.LocalTrackID gives its URI.
	ID string
	// OldID is the id Spotify used before RelinkedAt; empty when it never changed.
	// Stored plays carry ID (the song-ID updater merged them), export rows the id
	// of their time.
	OldID      string
	RelinkedAt time.Time
	// Name is the name in the export; APIName the name the API gives now, which
	// normalises alike (it differs in case or accents for some relinked tracks).
	Name    string
	APIName string
	Artists []store.Artist
	// Album and AlbumArtist are what the export names ("Various Artists" on a
	// compilation).
	Album       store.Album
	AlbumArtist string
	DurationMS  int
	// Local files have a URI and no Spotify id.
	Local bool
	URI   string
}

// Play is one simulated stream: the truth.
type Play struct {
	Recording int
	// TrackID is the id the export carries (the old one before a relink).
	TrackID string
	// Start and End are wall-clock times; End − Start = MSPlayed + Pause.
	Start, End time.Time
	MSPlayed   int
	// Pause is a pause halfway through the stream.
	Pause time.Duration
	// VisibleEnd is when the next stream took over the player (a crossfade
	// starts it early); at most End.
	VisibleEnd time.Time
	// Skip: the listener moved on before the end of the track. Spotify's skipped
	// flag is only set in the later part of the history.
	Skip      bool
	Offline   bool
	Incognito bool
	Episode   bool
	// Unavailable: the export has the name but no URI (the track was withdrawn).
	Unavailable bool
	// Collision: a second stream of another track logged with the same end
	// second as its neighbour, which no player showed.
	Collision bool
	// SyncedAt is when Spotify learnt of an offline stream.
	SyncedAt time.Time
	// IsPlay: a stream an import would store (a track with a URI, at least 30 s,
	// not private).
	IsPlay bool
	// Replay: a play of the same recording as a play that ended at most
	// ReplayWindowDefault before it started.
	Replay bool
}

// Corpus is a simulated history with its captures and its export.
type Corpus struct {
	Config     Config
	Recordings []Recording
	// Plays is the truth, ordered by End.
	Plays []Play
	// Rows are the extended-history rows in file order; Rows[i] is entry key i.
	Rows []Row
	// Entries are the rows that describe a track (not episodes), as an importer
	// would pass them to a dedupe policy: Key is the row index, TrackID the id
	// the import would store, Excluded set when the row is not a play by default
	// (too short, private, no URI).
	Entries []dedupe.Entry
	// AccountRows and AccountEntries exist with Config.AccountData; entry keys
	// continue after the extended rows (len(Rows)+i).
	AccountRows    []AccountRow
	AccountEntries []dedupe.Entry

	// End is the end of the simulated span.
	End time.Time
	// MonitorFrom is when live monitoring started; PriorImportUntil the end of
	// the earlier import.
	MonitorFrom      time.Time
	PriorImportUntil time.Time

	tracks   []store.Track // current catalogue entry of each recording
	captures map[store.Mode]*Capture
	keyOf    map[rowKey]int
}

// Row is one extended-history row.
type Row struct {
	// Truth is the play the row records.
	Truth int
	// Duplicate marks a second row Spotify wrote for the same stream.
	Duplicate bool
	TS        time.Time // whole seconds, UTC
	MSPlayed  int
	Platform  string
	Country   string
	// TrackURI is empty for episodes and unavailable tracks.
	TrackURI    string
	TrackName   string
	AlbumArtist string
	AlbumName   string
	EpisodeName string
	ShowName    string
	EpisodeURI  string
	ReasonStart string
	ReasonEnd   string
	Shuffle     bool
	Skipped     bool
	Offline     bool
	OfflineTS   int64 // seconds in the older part of the history, ms later; 0 = null
	Incognito   bool
}

// AccountRow is one account-data row (StreamingHistory_music_N.json).
type AccountRow struct {
	Truth      int
	EndTime    time.Time // whole minutes, UTC
	ArtistName string
	TrackName  string
	MSPlayed   int
}

type rowKey struct {
	track string
	t     int64
}

// Generate simulates a history.
func Generate(cfg Config) *Corpus {
	cfg = cfg.withDefaults()
	g := &generator{
		cfg: cfg,
		rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		c:   &Corpus{Config: cfg},
	}
	g.catalogue()
	g.simulate()
	g.labelReplays()
	g.export()
	if cfg.AccountData {
		g.account()
	}
	g.capture()
	return g.c
}

type generator struct {
	cfg  Config
	rng  *rand.Rand
	c    *Corpus
	zipf *rand.Zipf
	// album → recordings in track order
	albums    [][]int
	recAlbum  []int
	recPos    []int
	startDays map[int64]bool
}

// uniformDur returns a duration uniformly in [lo, hi].
func (g *generator) uniformDur(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(g.rng.Int64N(int64(hi-lo)+1))
}

func (g *generator) chance(p float64) bool { return g.rng.Float64() < p }

func (g *generator) poisson(lambda float64) int {
	l := math.Exp(-lambda)
	k, p := 0, 1.0
	for {
		p *= g.rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// hourWeights is the daily listening profile (UTC; the listener is not
// assumed to live anywhere in particular).
var hourWeights = [24]float64{
	2, 1, 0.5, 0.3, 0.3, 0.5, 2, 5, 7, 6, 5, 5,
	6, 5, 5, 5, 6, 8, 9, 9, 8, 7, 5, 3,
}

func (g *generator) hour() int {
	var total float64
	for _, w := range hourWeights {
		total += w
	}
	x := g.rng.Float64() * total
	for h, w := range hourWeights {
		if x < w {
			return h
		}
		x -= w
	}
	return 23
}

func (g *generator) pick() int {
	return int(g.zipf.Uint64())
}

// simulate produces the streams, session by session, until Config.Streams.
func (g *generator) simulate() {
	cfg := g.cfg
	meanSession := 12.0
	lambda := cfg.PlaysPerDay / meanSession
	plays := make([]Play, 0, cfg.Streams+cfg.Streams/100)
	var lastEnd time.Time
	day := cfg.Start
	for len(plays) < cfg.Streams {
		n := g.poisson(lambda)
		starts := make([]time.Time, n)
		for i := range starts {
			starts[i] = day.Add(time.Duration(g.hour())*time.Hour + g.uniformDur(0, time.Hour-time.Millisecond))
		}
		slices.SortFunc(starts, func(a, b time.Time) int { return a.Compare(b) })
		for _, s := range starts {
			if len(plays) >= cfg.Streams {
				break
			}
			if s.Before(lastEnd.Add(time.Minute)) {
				s = lastEnd.Add(g.uniformDur(time.Minute, 5*time.Minute))
			}
			plays = g.session(plays, s)
			lastEnd = plays[len(plays)-1].End
			for _, p := range plays[max(len(plays)-3, 0):] {
				if p.End.After(lastEnd) {
					lastEnd = p.End
				}
			}
		}
		day = day.Add(24 * time.Hour)
	}
	slices.SortStableFunc(plays, func(a, b Play) int { return a.End.Compare(b.End) })
	g.c.Plays = plays
	g.c.End = lastEnd.Add(time.Hour)
	span := g.c.End.Sub(cfg.Start)
	g.c.MonitorFrom = cfg.Start.Add(time.Duration(float64(span) * min(cfg.MonitorFrom, 2)))
	if cfg.PriorImportUntil > 0 {
		g.c.PriorImportUntil = cfg.Start.Add(time.Duration(float64(span) * cfg.PriorImportUntil))
	}
}

// session appends one listening session starting at s.
func (g *generator) session(plays []Play, s time.Time) []Play {
	switch {
	case g.chance(0.03):
		for range 1 + g.rng.IntN(2) {
			ms := int(g.uniformDur(5*time.Minute, 50*time.Minute).Milliseconds())
			end := s.Add(time.Duration(ms) * time.Millisecond)
			plays = append(plays, Play{Recording: -1, Episode: true, Start: s, End: end, VisibleEnd: end, MSPlayed: ms})
			s = end.Add(g.uniformDur(time.Second, 5*time.Minute))
		}
		return plays
	}
	incognito := g.chance(0.02)
	offline := !incognito && g.chance(0.08)
	n := 1 + int(g.rng.ExpFloat64()*11)
	prev := -1
	first := len(plays)
	for range n {
		rec := g.next(prev)
		r := &g.c.Recordings[rec]
		p := Play{Recording: rec, Start: s, Incognito: incognito, Offline: offline}
		switch {
		case g.chance(0.22):
			p.Skip = true
			if g.chance(0.3) {
				p.MSPlayed = int(g.uniformDur(30*time.Second, min(time.Duration(r.DurationMS)*time.Millisecond, 2*time.Minute)).Milliseconds())
			} else {
				p.MSPlayed = int(g.uniformDur(300*time.Millisecond, 29*time.Second).Milliseconds())
			}
		default:
			p.MSPlayed = r.DurationMS - int(g.uniformDur(0, 1500*time.Millisecond).Milliseconds())
			if g.chance(0.015) {
				p.Pause = g.uniformDur(10*time.Second, 10*time.Minute)
			}
		}
		p.MSPlayed = max(p.MSPlayed, 1)
		p.End = p.Start.Add(time.Duration(p.MSPlayed)*time.Millisecond + p.Pause)
		p.VisibleEnd = p.End
		p.TrackID = g.exportID(rec, p.End)
		p.Unavailable = !r.Local && g.chance(0.003)
		plays = append(plays, p)
		if g.chance(0.003) {
			// A second track logged with the same end second: one not played
			// in this session, as two streams of one track cannot overlap.
			other := g.pick()
			for slices.ContainsFunc(plays[first:], func(q Play) bool { return q.Recording == other }) {
				other = (other + 1) % len(g.c.Recordings)
			}
			ro := &g.c.Recordings[other]
			ms := int(g.uniformDur(MinPlay, time.Duration(max(ro.DurationMS, 31_000))*time.Millisecond).Milliseconds())
			end := p.End.Truncate(time.Second).Add(time.Duration(g.rng.IntN(1000)) * time.Millisecond)
			plays = append(plays, Play{
				Recording: other, TrackID: g.exportID(other, end), Start: end.Add(-time.Duration(ms) * time.Millisecond),
				End: end, VisibleEnd: end, MSPlayed: ms, Collision: true, Incognito: incognito, Offline: offline,
			})
		}
		// The next stream starts after a short gap, or during a crossfade.
		gap := g.uniformDur(200*time.Millisecond, 2*time.Second)
		if g.chance(0.03) {
			gap = -g.uniformDur(time.Second, 12*time.Second)
		}
		s = p.End.Add(gap)
		prev = rec
	}
	// Crossfades hide the end of a stream from currently-playing.
	var last *Play
	for i := first; i < len(plays); i++ {
		p := &plays[i]
		if p.Collision {
			continue
		}
		if last != nil && p.Start.Before(last.VisibleEnd) {
			last.VisibleEnd = p.Start
		}
		last = p
	}
	if offline {
		synced := plays[len(plays)-1].End.Add(time.Duration(math.Min(g.rng.ExpFloat64()*6, 120) * float64(time.Hour)))
		for i := first; i < len(plays); i++ {
			plays[i].SyncedAt = synced
		}
	}
	return plays
}

// next picks the recording after prev: a replay, the next album track, or a
// popular pick.
func (g *generator) next(prev int) int {
	if prev >= 0 {
		switch x := g.rng.Float64(); {
		case x < 0.05:
			return prev
		case x < 0.35:
			al := g.albums[g.recAlbum[prev]]
			if pos := g.recPos[prev] + 1; pos < len(al) {
				return al[pos]
			}
		}
	}
	return g.pick()
}

func (g *generator) exportID(rec int, at time.Time) string {
	r := &g.c.Recordings[rec]
	if r.Local {
		return r.ID
	}
	if r.OldID != "" && at.Before(r.RelinkedAt) {
		return r.OldID
	}
	return r.ID
}

// labelReplays marks plays and replays.
func (g *generator) labelReplays() {
	lastEnd := make(map[int]time.Time)
	for i := range g.c.Plays {
		p := &g.c.Plays[i]
		p.IsPlay = !p.Episode && !p.Incognito && !p.Unavailable && p.MSPlayed >= int(MinPlay.Milliseconds())
		if !p.IsPlay {
			continue
		}
		if le, ok := lastEnd[p.Recording]; ok && p.Start.Sub(le) <= ReplayWindowDefault {
			p.Replay = true
		}
		if le, ok := lastEnd[p.Recording]; !ok || p.End.After(le) {
			lastEnd[p.Recording] = p.End
		}
	}
}

// Capture returns what live monitoring (and the earlier import) stored in a
// mode: ModeHistory, ModeRealtime or ModeHybrid; nil for other modes.
func (c *Corpus) Capture(mode store.Mode) *Capture { return c.captures[mode] }

// Track returns the catalogue entry of a recording as stored (linked metadata,
// current id).
func (c *Corpus) Track(rec int) store.Track { return c.tracks[rec] }

// KeyOf returns the entry key of the extended-history row that an import
// stores as (trackID, playedAt), for mapping imported plays back to the truth.
func (c *Corpus) KeyOf(trackID string, playedAt time.Time) (int, bool) {
	k, ok := c.keyOf[rowKey{trackID, playedAt.UnixMilli()}]
	return k, ok
}

// TruthOf returns the play an entry key records (-1 for none).
func (c *Corpus) TruthOf(key int) int {
	switch {
	case key >= 0 && key < len(c.Rows):
		return c.Rows[key].Truth
	case key >= len(c.Rows) && key < len(c.Rows)+len(c.AccountRows):
		return c.AccountRows[key-len(c.Rows)].Truth
	}
	return -1
}
