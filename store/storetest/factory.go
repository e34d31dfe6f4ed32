package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/store"
)

// UserOpts sets the fields of a user made by NewUser; the zero value makes an
// enabled user in store.ModeDefault with a random id.
type UserOpts struct {
	ID          string     // empty = random
	DisplayName string     // empty = "User " + ID
	AccountID   string     // empty = "acct-" + ID
	Mode        store.Mode // empty = store.ModeDefault
	Disabled    bool
	NeedsReauth bool
	Token       []byte    // nil = a fixed non-empty blob
	Now         time.Time // zero = the suite's base time
}

// NewUser creates a user through UpsertUser (and UpdateUser for Disabled and
// NeedsReauth) and returns it as stored.
func NewUser(ctx context.Context, t testing.TB, s store.UserStore, opts *UserOpts) *store.User {
	t.Helper()
	if opts == nil {
		opts = &UserOpts{}
	}
	o := *opts
	if o.ID == "" {
		o.ID = randomID("user-")
	}
	if o.DisplayName == "" {
		o.DisplayName = "User " + o.ID
	}
	if o.AccountID == "" {
		o.AccountID = "acct-" + o.ID
	}
	if o.Token == nil {
		o.Token = []byte("sealed-token-" + o.ID)
	}
	if o.Now.IsZero() {
		o.Now = baseTime()
	}
	u, err := s.UpsertUser(ctx, &store.UpsertUserParams{
		ID:           o.ID,
		AccountID:    o.AccountID,
		DisplayName:  o.DisplayName,
		Token:        o.Token,
		AuthorizedAt: o.Now.Add(-time.Hour),
		Mode:         o.Mode,
		Now:          o.Now,
	})
	require.NoError(t, err, "UpsertUser(%q)", o.ID)
	if o.Disabled || o.NeedsReauth {
		p := &store.UpdateUserParams{ID: o.ID, Now: o.Now}
		if o.Disabled {
			p.Enabled = ptr(false)
		}
		if o.NeedsReauth {
			p.NeedsReauth = ptr(true)
		}
		u, err = s.UpdateUser(ctx, p)
		require.NoError(t, err, "UpdateUser(%q)", o.ID)
	}
	return u
}

// TrackOpts sets the fields of a track made by MakeTrack; the zero value
// makes a linked track with a random id, one album and one artist.
type TrackOpts struct {
	ID         string // empty = random
	Name       string // empty = "Track " + ID
	DurationMS int    // 0 = 200000
	ISRC       string
	IsLocal    bool
	Unlinked   bool           // from an export rather than Spotify's API
	Album      *store.Album   // nil = a random album; a zero Album = none
	Artists    []store.Artist // nil = one random artist; empty non-nil = none
}

// MakeTrack returns a track built from opts without storing it.
func MakeTrack(opts *TrackOpts) store.Track {
	if opts == nil {
		opts = &TrackOpts{}
	}
	o := *opts
	if o.ID == "" {
		o.ID = randomID("track-")
	}
	if o.Name == "" {
		o.Name = "Track " + o.ID
	}
	if o.DurationMS == 0 {
		o.DurationMS = 200_000
	}
	tr := store.Track{
		ID:         o.ID,
		Name:       o.Name,
		DurationMS: o.DurationMS,
		ISRC:       o.ISRC,
		IsLocal:    o.IsLocal,
		Linked:     !o.Unlinked,
	}
	switch {
	case o.Album == nil:
		id := randomID("album-")
		tr.Album = store.Album{ID: id, Name: "Album " + id}
	default:
		tr.Album = *o.Album
	}
	switch {
	case o.Artists == nil:
		id := randomID("artist-")
		tr.Artists = []store.Artist{{ID: id, Name: "Artist " + id}}
	case len(o.Artists) > 0:
		tr.Artists = append([]store.Artist(nil), o.Artists...)
	}
	return tr
}

// NewTrack stores a track made by MakeTrack through UpsertTracks and returns it.
func NewTrack(ctx context.Context, t testing.TB, s store.CatalogStore, opts *TrackOpts) store.Track {
	t.Helper()
	tr := MakeTrack(opts)
	require.NoError(t, s.UpsertTracks(ctx, []store.Track{tr}), "UpsertTracks(%q)", tr.ID)
	return tr
}

// PlayOf returns a play of tr ending at playedAt, from the history source,
// with msPlayed listened.
func PlayOf(tr store.Track, playedAt time.Time, msPlayed int) store.PlayInput {
	return store.PlayInput{Track: tr, PlayedAt: playedAt, MSPlayed: msPlayed, Source: store.SourceHistory}
}

// InsertPlays inserts plays for userID in one InsertPlays call and returns
// the result.
func InsertPlays(ctx context.Context, t testing.TB, s store.PlayStore, userID string, plays ...store.PlayInput) *store.InsertPlaysResult {
	t.Helper()
	res, err := s.InsertPlays(ctx, &store.InsertPlaysParams{UserID: userID, Plays: plays})
	require.NoError(t, err, "InsertPlays(%q, %d plays)", userID, len(plays))
	require.NotNil(t, res, "InsertPlays returned a nil result without an error")
	return res
}
