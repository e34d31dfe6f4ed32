package store

import (
	"context"
	"time"
)

// StatsStore answers every query the dashboard and the API need. A filter
// with an empty UserID covers all users (the public page's global stats).
// Time buckets are computed in the Location the caller passes (never a
// hard-coded zone); stored times are UTC.
type StatsStore interface {
	// History returns one page of the user's plays, newest first, strictly
	// before the (Before, BeforeTrackID) keyset cursor when Before is set.
	History(ctx context.Context, p *HistoryParams) ([]PlayWithTrack, error)
	// Totals counts plays, time listened and distinct tracks/artists/albums.
	Totals(ctx context.Context, f *StatsFilter) (*Totals, error)
	// Top ranks tracks, artists or albums by play count or time listened
	// (ties broken by id), with Offset/Limit paging. An artist is credited
	// once per play for every artist of the track.
	Top(ctx context.Context, p *TopParams) ([]TopItem, error)
	// OverTime returns plays per day, week (starting Monday) or month in
	// p.Location, only for buckets that have plays, oldest first.
	OverTime(ctx context.Context, p *OverTimeParams) ([]TimePoint, error)
	// HourWeekday returns the hour × weekday matrix in p.Location, and the
	// number of distinct local days in the filter's span that had plays, so
	// callers can average.
	HourWeekday(ctx context.Context, p *TimeParams) (*HourWeekday, error)
	// Years returns one summary per local calendar year that has plays,
	// oldest first.
	Years(ctx context.Context, p *TimeParams) ([]YearSummary, error)
}

// StatsFilter selects the plays statistics are computed over. From is
// inclusive, To exclusive; zero means unbounded.
type StatsFilter struct {
	UserID string // empty = every user
	From   time.Time
	To     time.Time
}

// Totals are the header figures.
type Totals struct {
	Plays         int
	MSPlayed      int64
	UniqueTracks  int
	UniqueArtists int
	UniqueAlbums  int
	FirstPlayed   time.Time // zero when there are no plays
	LastPlayed    time.Time
}

// TopKind is what Top ranks.
type TopKind string

// Top kinds.
const (
	TopTracks  TopKind = "tracks"
	TopArtists TopKind = "artists"
	TopAlbums  TopKind = "albums"
)

// TopOrder is how Top ranks.
type TopOrder string

// Top orders.
const (
	ByCount TopOrder = "count"
	ByTime  TopOrder = "time"
)

// TopParams ranks items.
type TopParams struct {
	StatsFilter
	Kind   TopKind
	By     TopOrder
	Limit  int // 0 = 10
	Offset int
}

// TopItem is one ranked track, artist or album.
type TopItem struct {
	ID         string
	Name       string
	Artists    []Artist // tracks and albums: the artists; artists: empty
	Album      Album    // tracks only
	IsLocal    bool     // tracks only
	Plays      int
	MSPlayed   int64
	LastPlayed time.Time
}

// Bucket is a time bucket size.
type Bucket string

// Buckets.
const (
	BucketDay   Bucket = "day"
	BucketWeek  Bucket = "week"
	BucketMonth Bucket = "month"
)

// OverTimeParams asks for plays over time.
type OverTimeParams struct {
	StatsFilter
	Bucket   Bucket
	Location *time.Location // nil = UTC
}

// TimePoint is one bucket.
type TimePoint struct {
	Start    time.Time // bucket start in Location
	Plays    int
	MSPlayed int64
}

// TimeParams is a filter with a display zone.
type TimeParams struct {
	StatsFilter
	Location *time.Location // nil = UTC
}

// HourWeekday is the listening matrix; index [time.Weekday][hour].
type HourWeekday struct {
	Plays    [7][24]int
	MSPlayed [7][24]int64
	Days     int // distinct local days with at least one play
}

// YearSummary is one calendar year of listening.
type YearSummary struct {
	Year          int
	Plays         int
	MSPlayed      int64
	UniqueTracks  int
	UniqueArtists int
	TopTrack      *TopItem // by count; nil when no plays
	TopArtist     *TopItem
}

// HistoryParams pages the listening history.
type HistoryParams struct {
	UserID        string
	Before        time.Time // zero = from the newest
	BeforeTrackID string    // tie-breaker for plays at the same instant
	Limit         int       // 0 = 50; at most 1000
}
