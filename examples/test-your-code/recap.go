package recap

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spotifyhist/spotifyhist/spotifyhist"
)

// Summary describes a user's recently-played history (Spotify keeps only
// about the last 50 plays).
type Summary struct {
	// Plays is the number of plays returned.
	Plays int
	// TopArtist is the artist heard most often among them (ties: the
	// alphabetically first), and TopArtistPlays how often.
	TopArtist      string
	TopArtistPlays int
	// Latest is the played_at of the newest play; zero without plays.
	Latest time.Time
}

// Recent fetches the user's recently-played history and summarises it.
// Errors wrap spotifyhist's sentinels: test them with errors.Is, or turn
// them into a message with Explain.
func Recent(ctx context.Context, c *spotifyhist.Client) (*Summary, error) {
	plays, err := c.RecentlyPlayed(ctx, time.Time{})
	if err != nil {
		return nil, fmt.Errorf("recap: recently played: %w", err)
	}
	s := &Summary{Plays: len(plays)}
	counts := map[string]int{}
	for _, p := range plays {
		for _, a := range p.Track.Artists {
			counts[a.Name]++
		}
		if p.PlayedAt.After(s.Latest) {
			s.Latest = p.PlayedAt
		}
	}
	names := slices.SortedFunc(maps.Keys(counts), func(a, b string) int {
		return cmp.Or(cmp.Compare(counts[b], counts[a]), strings.Compare(a, b))
	})
	if len(names) > 0 {
		s.TopArtist, s.TopArtistPlays = names[0], counts[names[0]]
	}
	return s, nil
}

// Explain turns an error of Recent into a sentence for the user.
func Explain(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, spotifyhist.ErrReauthRequired):
		return "Spotify no longer accepts your login: please log in again"
	case errors.Is(err, spotifyhist.ErrRateLimited):
		if d, ok := spotifyhist.RetryAfter(err); ok {
			return "Spotify is busy: try again in " + d.Round(time.Minute).String()
		}
		return "Spotify is busy: try again later"
	case spotifyhist.IsRetryable(err):
		return "Spotify did not answer: try again in a moment"
	default:
		return "something went wrong: " + err.Error()
	}
}
