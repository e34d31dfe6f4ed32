package storetest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/spotifyhist/spotifyhist/store"
)

// DatasetOpts shapes a generated listening history. Zero fields take the
// documented defaults.
type DatasetOpts struct {
	Seed    uint64    // random seed; the same options always give the same data set
	Plays   int       // number of plays; 0 = 131,000
	Tracks  int       // tracks discovered over the span; 0 = Plays × 15,000 / 131,000, at most 50,000
	Artists int       // 0 = Tracks / 6, at least 1
	Albums  int       // 0 = Tracks / 10, at least 1
	Years   int       // span of the history; 0 = 20
	End     time.Time // the end of the span (exclusive); zero = 2025-08-17T14:23:00Z
	// Unlinked makes tracks as an export knows them (names only, provisional
	// album and artist ids) instead of as Spotify's API returns them.
	Unlinked bool
}

// DatasetPlay is one generated play: an index into Dataset.Tracks and the
// end of the stream in Unix milliseconds.
type DatasetPlay struct {
	Track    int32
	MSPlayed int32
	PlayedAt int64
}

// Dataset is a deterministic, realistic listening history of one user: most
// plays are of tracks discovered in the last months (an album's tracks
// together), the rest of a few hundred all-time favourites or of anything
// heard before; a daily rhythm; skips.
type Dataset struct {
	Tracks []store.Track
	Plays  []DatasetPlay // oldest first; (PlayedAt, Track) unique
	Start  time.Time     // the first instant of the span
	End    time.Time     // the end of the span (exclusive)
}

// GenerateDataset builds a data set from opts.
func GenerateDataset(opts DatasetOpts) *Dataset {
	o := opts
	if o.Plays == 0 {
		o.Plays = 131_000
	}
	if o.Tracks == 0 {
		o.Tracks = min(50_000, max(1, o.Plays*15_000/131_000))
	}
	if o.Artists == 0 {
		o.Artists = max(1, o.Tracks/6)
	}
	if o.Albums == 0 {
		o.Albums = max(1, o.Tracks/10)
	}
	if o.Years == 0 {
		o.Years = 20
	}
	if o.End.IsZero() {
		o.End = time.Date(2025, 8, 17, 14, 23, 0, 0, time.UTC)
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x5f3759df))
	ds := &Dataset{End: o.End.UTC(), Start: o.End.UTC().AddDate(-o.Years, 0, 0)}

	artists := make([]store.Artist, o.Artists)
	for i := range artists {
		name := fmt.Sprintf("Artist %d %s", i, syllables(rng, 2))
		id := fmt.Sprintf("ar%020d", i)
		if o.Unlinked {
			id = store.ProvisionalID("artist", name)
		}
		artists[i] = store.Artist{ID: id, Name: name}
	}
	albums := make([]store.Album, o.Albums)
	albumArtist := make([]int, o.Albums)
	for i := range albums {
		name := fmt.Sprintf("Album %d %s", i, syllables(rng, 3))
		id := fmt.Sprintf("al%020d", i)
		if o.Unlinked {
			id = store.ProvisionalID("album", name)
		}
		albums[i] = store.Album{ID: id, Name: name}
		albumArtist[i] = zipf(rng, o.Artists) // some artists have many albums
	}
	// Tracks are numbered in the order the listener discovers them, an
	// album's tracks together.
	ds.Tracks = make([]store.Track, o.Tracks)
	for i := range ds.Tracks {
		al := i * o.Albums / o.Tracks
		tr := store.Track{
			ID:         fmt.Sprintf("tr%020d", i),
			Name:       fmt.Sprintf("Song %d %s", i, syllables(rng, 2)),
			DurationMS: 90_000 + rng.IntN(300_000),
			Linked:     !o.Unlinked,
			Album:      albums[al],
			Artists:    []store.Artist{artists[albumArtist[al]]},
		}
		if rng.IntN(5) == 0 {
			if feat := rng.IntN(o.Artists); feat != albumArtist[al] {
				tr.Artists = append(tr.Artists, artists[feat])
			}
		}
		ds.Tracks[i] = tr
	}
	// A few hundred all-time favourites, replayed across the years.
	favourites := make([]int, min(o.Tracks, 300))
	for i := range favourites {
		favourites[i] = rng.IntN(o.Tracks)
	}

	// Hours of the day weighted like a listener's day (UTC-5 ish).
	hourWeight := []int{3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 2, 4, 6, 7, 8, 8, 7, 7, 8, 8, 7, 6, 5, 4}
	totalWeight := 0
	for _, w := range hourWeight {
		totalWeight += w
	}
	span := ds.End.Sub(ds.Start)
	days := int64(span / (24 * time.Hour))
	start := ds.Start.UnixMilli()
	// Tracks discovered per day, and the mean age of what is played.
	perDay := float64(o.Tracks) / float64(days)
	const recentDays = 90.0
	ds.Plays = make([]DatasetPlay, o.Plays)
	for i := range ds.Plays {
		day := rng.Int64N(days)
		w := rng.IntN(totalWeight)
		hour := 0
		for ; w >= hourWeight[hour]; hour++ {
			w -= hourWeight[hour]
		}
		at := start + day*86_400_000 + int64(hour)*3_600_000 + rng.Int64N(3_600_000)
		discovered := max(1, int(float64(day+1)*perDay)) // tracks known by that day
		var tr int
		switch r := rng.IntN(100); {
		case r < 75: // mostly what was discovered lately
			age := rng.ExpFloat64() * recentDays * perDay
			tr = max(0, discovered-1-int(age))
		case r < 90:
			tr = favourites[zipf(rng, len(favourites))]
		default: // and anything from the past
			tr = rng.IntN(discovered)
		}
		ms := ds.Tracks[tr].DurationMS
		if rng.IntN(5) == 0 {
			ms = rng.IntN(ms)
		}
		ds.Plays[i] = DatasetPlay{Track: int32(tr), MSPlayed: int32(ms), PlayedAt: at}
	}
	slices.SortFunc(ds.Plays, func(a, b DatasetPlay) int {
		if a.PlayedAt != b.PlayedAt {
			if a.PlayedAt < b.PlayedAt {
				return -1
			}
			return 1
		}
		return int(a.Track - b.Track)
	})
	// Keep (PlayedAt, Track) unique: a collision moves one millisecond later.
	for i := 1; i < len(ds.Plays); i++ {
		if ds.Plays[i].PlayedAt <= ds.Plays[i-1].PlayedAt {
			ds.Plays[i].PlayedAt = ds.Plays[i-1].PlayedAt + 1
		}
	}
	return ds
}

// zipf draws a rank in [0, n) with a Zipf-like skew.
func zipf(rng *rand.Rand, n int) int {
	// Log-uniform: rank r is drawn with probability about 1/(r+1).
	u := rng.Float64()
	x := math.Pow(float64(n)+1, u) - 1 // log-uniform between 0 and n
	return min(n-1, int(x))
}

func syllables(rng *rand.Rand, n int) string {
	parts := []string{"la", "mo", "ri", "ké", "sun", "dé", "ya", "zo", "bel", "nu", "ör", "ti"}
	s := ""
	for range n {
		s += parts[rng.IntN(len(parts))]
	}
	return s
}

// Inputs returns plays [from, to) of the data set as InsertPlays input.
func (ds *Dataset) Inputs(from, to int, source store.Source) []store.PlayInput {
	out := make([]store.PlayInput, 0, to-from)
	for _, p := range ds.Plays[from:to] {
		out = append(out, store.PlayInput{
			Track:    ds.Tracks[p.Track],
			PlayedAt: time.UnixMilli(p.PlayedAt).UTC(),
			MSPlayed: int(p.MSPlayed),
			Source:   source,
		})
	}
	return out
}
