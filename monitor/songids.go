package monitor

import (
	"context"
	"fmt"

	"github.com/spotifyhist/spotifyhist/store"
)

// songIDStore is the part of the storage contract the song-ID updater uses.
type songIDStore interface {
	MergeCandidates(ctx context.Context) ([][]store.Track, error)
	MergeTracks(ctx context.Context, p *store.MergeTracksParams) (int, error)
}

// SongIDResult summarises one run of [UpdateSongIDs].
type SongIDResult struct {
	// Groups is the number of candidate groups merged.
	Groups int `json:"groups"`
	// TracksMerged is the number of track ids folded into another id (and
	// deleted).
	TracksMerged int `json:"tracks_merged"`
	// PlaysMoved is the number of plays moved onto the surviving ids. Plays
	// that would have duplicated an existing play of the surviving id are
	// dropped and not counted.
	PlaysMoved int `json:"plays_moved"`
}

// UpdateSongIDs folds tracks that Spotify re-issued under a new id (a
// remaster, a re-release, a relinked market version) into one catalogue
// entry, so that play counts are not split across ids.
//
// The candidates come from [store.CatalogStore.MergeCandidates]: linked
// tracks with the same normalised name and the same non-empty set of
// Spotify artist ids. Tracks without artists, and tracks whose artists are
// only known by name from an export, are never candidates, so two unrelated
// songs called "Intro" are never merged. Each group is merged into its most
// recently played id (the first of the group), one transaction per group.
//
// Running it again right away finds nothing to do. On an error the groups
// merged so far stay merged and the result counts them.
func UpdateSongIDs(ctx context.Context, st songIDStore) (*SongIDResult, error) {
	groups, err := st.MergeCandidates(ctx)
	if err != nil {
		return &SongIDResult{}, fmt.Errorf("monitor: update song ids: find candidates: %w", err)
	}
	res := &SongIDResult{}
	for _, g := range groups {
		if len(g) < 2 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("monitor: update song ids: %w", err)
		}
		from := make([]string, 0, len(g)-1)
		for _, t := range g[1:] {
			if t.ID != g[0].ID {
				from = append(from, t.ID)
			}
		}
		if len(from) == 0 {
			continue
		}
		moved, err := st.MergeTracks(ctx, &store.MergeTracksParams{Into: g[0].ID, From: from})
		if err != nil {
			return res, fmt.Errorf("monitor: update song ids: merge %v into %q: %w", from, g[0].ID, err)
		}
		res.Groups++
		res.TracksMerged += len(from)
		res.PlaysMoved += moved
	}
	return res, nil
}
