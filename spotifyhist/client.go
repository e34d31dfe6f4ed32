package spotifyhist

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/zmb3/spotify/v2"
)

// Client calls the Web API for one user. It is safe for concurrent use. Every call is paced
// by the App's [Budget] with the priority of its context ([WithPriority]), retried as
// described on [Transport], and retried once with a refreshed token after a 401.
type Client struct {
	app *App
	ts  *TokenSource
	hc  *http.Client
	sp  *spotify.Client
}

// Client returns a Client for the user whose token is tok. persist is called with every
// refreshed token (see [TokenSource]); nil means refreshed tokens are not persisted.
func (a *App) Client(tok *Token, persist func(context.Context, *Token) error) *Client {
	ts := a.TokenSource(tok, persist)
	auth := &authTransport{src: ts, base: a.transport, origin: origin(a.apiURL)}
	hc := &http.Client{
		// Non-2xx responses become *Error here, below zmb3, which would drop the reason and
		// Retry-After and loses the status of bodiless errors.
		Transport: &statusTransport{base: auth, apiPath: a.apiURL.EscapedPath(), now: a.cfg.Now},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			return errors.New("spotifyhist: unexpected redirect from the Web API")
		},
	}
	return &Client{
		app: a,
		ts:  ts,
		hc:  hc,
		// Never WithRetry: zmb3 retries 429s forever. The base URL ends in "/" (normalised).
		sp: spotify.New(hc, spotify.WithBaseURL(a.cfg.APIURL)),
	}
}

// TokenSource returns the Client's token source.
func (c *Client) TokenSource() *TokenSource { return c.ts }

// Token returns the user's current valid token, refreshing it if needed.
func (c *Client) Token(ctx context.Context) (*Token, error) { return c.ts.Token(ctx) }

// RecentlyPlayedLimit is the page size of RecentlyPlayed, Spotify's maximum.
const RecentlyPlayedLimit = 50

// RecentlyPlayed returns up to 50 plays with played_at strictly after after (millisecond
// precision; the zero time means the latest 50), oldest first. Spotify only keeps about the
// last 50 plays; more between two calls are lost.
func (c *Client) RecentlyPlayed(ctx context.Context, after time.Time) ([]RecentPlay, error) {
	opt := &spotify.RecentlyPlayedOptions{Limit: RecentlyPlayedLimit}
	if ms := after.UnixMilli(); !after.IsZero() && ms > 0 {
		opt.AfterEpochMs = ms // zmb3 sends "before" only when set: never both.
	}
	items, err := c.sp.PlayerRecentlyPlayedOpt(ctx, opt)
	if err != nil {
		return nil, c.err("recently played", err)
	}
	plays := make([]RecentPlay, 0, len(items))
	for i := range items {
		it := &items[i]
		plays = append(plays, RecentPlay{
			Track:      trackFromZMB(&it.Track, it.Track.ExternalIDs.ISRC),
			PlayedAt:   it.PlayedAt.UTC(),
			ContextURI: string(it.PlaybackContext.URI),
		})
	}
	slices.SortStableFunc(plays, func(a, b RecentPlay) int { return a.PlayedAt.Compare(b.PlayedAt) })
	return plays, nil
}

// CurrentlyPlaying returns what the user is playing, or nil, nil when nothing is (204).
// Episodes are requested too; ads have Type PlaybackAd and no item.
func (c *Client) CurrentlyPlaying(ctx context.Context) (*Playback, error) {
	const op = "currently playing"
	q := url.Values{"additional_types": {"track,episode"}}
	body, status, err := c.get(ctx, c.app.cfg.APIURL+"me/player/currently-playing?"+q.Encode())
	if err != nil {
		return nil, c.err(op, err)
	}
	if status == http.StatusNoContent || len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	var w struct {
		Timestamp  int64       `json:"timestamp"`
		ProgressMS *number     `json:"progress_ms"`
		IsPlaying  bool        `json:"is_playing"`
		Type       string      `json:"currently_playing_type"`
		Item       *wireObject `json:"item"`
		Context    *struct {
			URI string `json:"uri"`
		} `json:"context"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, c.err(op, fmt.Errorf("decode response: %w", err))
	}
	pb := &Playback{IsPlaying: w.IsPlaying}
	if w.Timestamp > 0 {
		pb.Timestamp = time.UnixMilli(w.Timestamp).UTC()
	}
	if w.ProgressMS != nil {
		pb.ProgressMS, pb.ProgressKnown = int(*w.ProgressMS), true
	}
	if w.Context != nil {
		pb.ContextURI = w.Context.URI
	}
	typ := w.Type
	if typ == "" && w.Item != nil {
		typ = w.Item.kind()
	}
	switch typ {
	case PlaybackTrack:
		pb.Type = PlaybackTrack
		if w.Item != nil && w.Item.kind() == ItemTrack {
			pb.Track = w.Item.track()
		}
	case PlaybackEpisode:
		pb.Type = PlaybackEpisode
		if w.Item != nil {
			pb.EpisodeName, pb.EpisodeURI = w.Item.Name, w.Item.URI
			if w.Item.Show != nil {
				pb.ShowName = w.Item.Show.Name
			}
		}
	case PlaybackAd:
		pb.Type = PlaybackAd
	default:
		pb.Type = PlaybackUnknown
	}
	return pb, nil
}

// Me returns the user's profile. zmb3's CurrentUser is not used: it drops account_id.
func (c *Client) Me(ctx context.Context) (*Me, error) {
	const op = "me"
	body, _, err := c.get(ctx, c.app.cfg.APIURL+"me")
	if err != nil {
		return nil, c.err(op, err)
	}
	var w struct {
		ID          string  `json:"id"`
		DisplayName *string `json:"display_name"`
		AccountID   string  `json:"account_id"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, c.err(op, fmt.Errorf("decode response: %w", err))
	}
	if w.ID == "" {
		return nil, c.err(op, errors.New("response has no user id"))
	}
	me := &Me{ID: w.ID, AccountID: w.AccountID}
	if w.DisplayName != nil {
		me.DisplayName = *w.DisplayName
	}
	return me, nil
}

// pageLimit is the page size for offset-paged endpoints (Spotify's maximum).
const pageLimit = 50

// maxPages bounds pagination (Spotify caps offsets at 100,000).
const maxPages = 100_000/pageLimit + 1

type wirePlaylist struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	SnapshotID    string `json:"snapshot_id"`
	Collaborative bool   `json:"collaborative"`
	Public        *bool  `json:"public"`
	Owner         *struct {
		ID          string  `json:"id"`
		DisplayName *string `json:"display_name"`
	} `json:"owner"`
	Items *struct {
		Total number `json:"total"`
	} `json:"items"`
	Tracks *struct {
		Total number `json:"total"`
	} `json:"tracks"`
}

func (w *wirePlaylist) playlist() Playlist {
	p := Playlist{
		ID:            w.ID,
		Name:          w.Name,
		SnapshotID:    w.SnapshotID,
		Collaborative: w.Collaborative,
		Public:        w.Public,
	}
	if w.Owner != nil {
		p.OwnerID = w.Owner.ID
		if w.Owner.DisplayName != nil {
			p.OwnerName = *w.Owner.DisplayName
		}
	}
	switch {
	case w.Items != nil:
		p.Total = int(w.Items.Total)
	case w.Tracks != nil:
		p.Total = int(w.Tracks.Total)
	}
	return p
}

// MyPlaylists returns every playlist the user owns or follows, following all pages.
func (c *Client) MyPlaylists(ctx context.Context) ([]Playlist, error) {
	var out []Playlist
	first := c.app.cfg.APIURL + "me/playlists?" + url.Values{"limit": {strconv.Itoa(pageLimit)}}.Encode()
	err := paginate(ctx, c, first, func(_ int, raw json.RawMessage) error {
		if isNull(raw) {
			return nil
		}
		var w wirePlaylist
		if err := json.Unmarshal(raw, &w); err != nil {
			return err
		}
		out = append(out, w.playlist())
		return nil
	})
	if err != nil {
		return nil, c.err("my playlists", err)
	}
	return out, nil
}

// Playlist returns one playlist's metadata (Total from items.total).
func (c *Client) Playlist(ctx context.Context, id string) (*Playlist, error) {
	const op = "playlist"
	if !validID(id) {
		return nil, c.err(op, fmt.Errorf("%w: %q", ErrInvalidID, id))
	}
	body, _, err := c.get(ctx, c.app.cfg.APIURL+"playlists/"+id)
	if err != nil {
		return nil, c.err(op, err)
	}
	var w wirePlaylist
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, c.err(op, fmt.Errorf("decode response: %w", err))
	}
	p := w.playlist()
	return &p, nil
}

// PlaylistItems returns every row of a playlist the user owns or collaborates on (others
// give ErrForbidden), following all pages of /playlists/{id}/items. Rows keyed "item" or
// the deprecated "track" are both read; null items become ItemUnavailable rows.
func (c *Client) PlaylistItems(ctx context.Context, id string) ([]PlaylistItem, error) {
	const op = "playlist items"
	if !validID(id) {
		return nil, c.err(op, fmt.Errorf("%w: %q", ErrInvalidID, id))
	}
	q := url.Values{"limit": {strconv.Itoa(pageLimit)}, "additional_types": {"track,episode"}}
	first := c.app.cfg.APIURL + "playlists/" + id + "/items?" + q.Encode()
	var out []PlaylistItem
	err := paginate(ctx, c, first, func(pos int, raw json.RawMessage) error {
		var w struct {
			AddedAt *string `json:"added_at"`
			AddedBy *struct {
				ID string `json:"id"`
			} `json:"added_by"`
			IsLocal bool        `json:"is_local"`
			Item    *wireObject `json:"item"`
			Track   *wireObject `json:"track"`
		}
		if isNull(raw) {
			out = append(out, PlaylistItem{Position: pos, Type: ItemUnavailable})
			return nil
		}
		if err := json.Unmarshal(raw, &w); err != nil {
			return err
		}
		it := PlaylistItem{Position: pos, AddedAt: wireTime(w.AddedAt), IsLocal: w.IsLocal}
		if w.AddedBy != nil {
			it.AddedBy = w.AddedBy.ID
		}
		obj := w.Item
		if obj == nil {
			obj = w.Track
		}
		switch {
		case obj == nil:
			it.Type = ItemUnavailable
		case obj.kind() == ItemTrack:
			if it.IsLocal {
				obj.IsLocal = true
			}
			it.Type = ItemTrack
			it.Track = obj.track()
			it.IsLocal = it.Track.IsLocal
		case obj.kind() == ItemEpisode:
			it.Type = ItemEpisode
		default:
			it.Type = ItemUnknown
		}
		out = append(out, it)
		return nil
	})
	if err != nil {
		return nil, c.err(op, err)
	}
	return out, nil
}

// Track returns a catalogue track by ID (one request per track: Development Mode has no
// batch endpoint). Local files have no catalogue entry.
func (c *Client) Track(ctx context.Context, id string) (*Track, error) {
	const op = "track"
	if !validID(id) {
		return nil, c.err(op, fmt.Errorf("%w: %q", ErrInvalidID, id))
	}
	ft, err := c.sp.GetTrack(ctx, spotify.ID(id))
	if err != nil {
		return nil, c.err(op, err)
	}
	t := trackFromZMB(&ft.SimpleTrack, ft.ExternalIDs["isrc"])
	// FullTrack shadows SimpleTrack's album with its own field.
	t.Album = Album{ID: string(ft.Album.ID), Name: ft.Album.Name, URI: string(ft.Album.URI)}
	normaliseLocal(&t)
	return &t, nil
}

// maxBody bounds a success response body.
const maxBody = 16 << 20

// get performs an authorised GET and returns the body of a 2xx response.
func (c *Client) get(ctx context.Context, rawURL string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("read response: %w", err)
	}
	if len(body) > maxBody {
		return nil, resp.StatusCode, fmt.Errorf("response larger than %d bytes", maxBody)
	}
	return body, resp.StatusCode, nil
}

// paginate GETs first and every absolute next URL after it, calling each with the absolute
// position and raw JSON of every item. It stops at a null next, a repeated URL or maxPages.
func paginate(ctx context.Context, c *Client, first string, each func(pos int, raw json.RawMessage) error) error {
	seen := map[string]bool{}
	next := first
	pos := 0
	for page := 0; next != ""; page++ {
		if page >= maxPages {
			return fmt.Errorf("more than %d pages", maxPages)
		}
		if seen[next] {
			return fmt.Errorf("page %d repeats the URL of an earlier page", page)
		}
		seen[next] = true
		body, _, err := c.get(ctx, next)
		if err != nil {
			return err
		}
		var w struct {
			Items  []json.RawMessage `json:"items"`
			Next   *string           `json:"next"`
			Offset *int              `json:"offset"`
		}
		if err := json.Unmarshal(body, &w); err != nil {
			return fmt.Errorf("decode page %d: %w", page, err)
		}
		if w.Offset != nil {
			pos = *w.Offset
		}
		for _, raw := range w.Items {
			if err := each(pos, raw); err != nil {
				return fmt.Errorf("decode page %d item %d: %w", page, pos, err)
			}
			pos++
		}
		next = ""
		if w.Next != nil {
			next = *w.Next
		}
	}
	return nil
}

func isNull(raw json.RawMessage) bool {
	return len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// err wraps a failure of op, dropping the *url.Error layer of net/http around errors the
// package produced itself (their messages already say what happened).
func (c *Client) err(op string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && isOwnError(ue.Err) {
		err = ue.Err
	}
	return wrap(op, err)
}

func isOwnError(err error) bool {
	var e *Error
	return errors.As(err, &e) || errors.Is(err, ErrReauthRequired) || errors.Is(err, ErrInvalidClient) ||
		errors.Is(err, errForeignOrigin)
}

// origin returns scheme://host of u.
func origin(u *url.URL) string { return u.Scheme + "://" + u.Host }

var errForeignOrigin = errors.New("spotifyhist: refusing to send an access token outside the Web API")

// authTransport adds the user's bearer token, only for the Web API's origin, and retries a
// request once with a refreshed token after a 401.
type authTransport struct {
	src    *TokenSource
	base   http.RoundTripper
	origin string
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if origin(req.URL) != t.origin {
		return nil, fmt.Errorf("%w: %s", errForeignOrigin, origin(req.URL))
	}
	ctx := req.Context()
	tok, err := t.src.Token(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := t.base.RoundTrip(withBearer(req, tok.AccessToken))
	if err != nil || resp.StatusCode != http.StatusUnauthorized || (req.Body != nil && req.Body != http.NoBody && req.GetBody == nil) {
		return resp, err
	}
	drain(resp)
	tok, err = t.src.refreshAfterUnauthorized(ctx, tok.AccessToken)
	if err != nil {
		return nil, err
	}
	r := withBearer(req, tok.AccessToken)
	if req.GetBody != nil {
		if r.Body, err = req.GetBody(); err != nil {
			return nil, err
		}
	}
	return t.base.RoundTrip(r)
}

func withBearer(req *http.Request, access string) *http.Request {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+access)
	return r
}

// statusTransport turns non-2xx responses into *Error values.
type statusTransport struct {
	base    http.RoundTripper
	apiPath string
	now     func() time.Time
}

func (t *statusTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || (resp.StatusCode >= 200 && resp.StatusCode < 300) {
		return resp, err
	}
	return nil, apiErrorFromResponse(resp, endpointTemplate(t.apiPath, req.URL), t.now())
}
