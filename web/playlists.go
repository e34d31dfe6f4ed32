package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/spotifyhist/spotifyhist/monitor"
	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/store"
)

type playlistJSON struct {
	ID            string               `json:"id"`
	Name          string               `json:"name"`
	OwnerID       string               `json:"owner_id"`
	OwnerName     string               `json:"owner_name"`
	Origin        store.PlaylistOrigin `json:"origin"`
	Collaborative bool                 `json:"collaborative"`
	Public        *bool                `json:"public"`
	TrackCount    int                  `json:"track_count"`
	SnapshotID    string               `json:"snapshot_id"`
	ScannedAt     *time.Time           `json:"scanned_at"`
	AddedAt       *time.Time           `json:"added_at"`
}

func toPlaylistJSON(p store.UserPlaylist) playlistJSON {
	return playlistJSON{
		ID: p.ID, Name: p.Name, OwnerID: p.OwnerID, OwnerName: p.OwnerName, Origin: p.Origin,
		Collaborative: p.Collaborative, Public: p.Public, TrackCount: p.TrackCount, SnapshotID: p.SnapshotID,
		ScannedAt: timePtr(p.ScannedAt), AddedAt: timePtr(p.AddedAt),
	}
}

func (s *Server) handlePlaylists(w http.ResponseWriter, r *http.Request) {
	ps, err := s.cfg.Store.ListUserPlaylists(r.Context(), userFrom(r).ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	out := struct {
		Items []playlistJSON `json:"items"`
	}{Items: make([]playlistJSON, 0, len(ps))}
	for _, p := range ps {
		out.Items = append(out.Items, toPlaylistJSON(p))
	}
	writeJSON(w, http.StatusOK, out)
}

// spotifyClient returns the user's Spotify client for on-demand work, or
// writes the reason it cannot.
func (s *Server) spotifyClient(w http.ResponseWriter, r *http.Request) (*spotifyhist.Client, bool) {
	if s.cfg.Clients == nil {
		writeError(w, http.StatusConflict, "this instance has no Spotify credentials: playlists need a Spotify login")
		return nil, false
	}
	c, err := s.cfg.Clients.For(r.Context(), userFrom(r))
	if errors.Is(err, spotifyhist.ErrReauthRequired) {
		writeError(w, http.StatusConflict, "Spotify no longer accepts your login: log in again")
		return nil, false
	}
	if err != nil {
		s.serverError(w, r, err)
		return nil, false
	}
	return c, true
}

// spotifyError answers a failed on-demand Spotify call.
func (s *Server) spotifyError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, store.ErrInvalid), errors.Is(err, monitor.ErrInvalidPlaylistRef):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, spotifyhist.ErrNotFound):
		writeError(w, http.StatusNotFound, "Spotify has no such playlist")
	case errors.Is(err, spotifyhist.ErrForbidden):
		writeError(w, http.StatusForbidden, "Spotify does not let this app read that playlist (development mode reads only playlists you own or collaborate on)")
	case errors.Is(err, spotifyhist.ErrReauthRequired):
		writeError(w, http.StatusConflict, "Spotify no longer accepts your login: log in again")
	case errors.Is(err, spotifyhist.ErrRateLimited):
		msg := "Spotify's rate limit was reached; try again later"
		if until, ok := spotifyhist.BlockedUntil(err); ok {
			msg += " (after " + until.UTC().Format(time.RFC3339) + ")"
		}
		writeError(w, http.StatusServiceUnavailable, msg)
	default:
		s.log.WarnContext(r.Context(), "spotify call failed", "error", err)
		writeError(w, http.StatusBadGateway, "Spotify could not be reached; try again later")
	}
}

func (s *Server) handleAddPlaylist(w http.ResponseWriter, r *http.Request) {
	var body struct {
		URL string `json:"url"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	if body.URL == "" {
		writeError(w, http.StatusBadRequest, "url: want a playlist link, spotify:playlist:ID or an ID")
		return
	}
	c, ok := s.spotifyClient(w, r)
	if !ok {
		return
	}
	ctx := spotifyhist.WithPriority(r.Context(), spotifyhist.PriorityInteractive)
	userID := userFrom(r).ID
	p, err := monitor.AddPlaylistByURL(ctx, s.cfg.Store, c, userID, body.URL, s.now())
	if err != nil {
		s.spotifyError(w, r, err)
		return
	}
	// Answer with the stored link: a playlist the user owns stays "owned".
	up, err := s.userPlaylist(r, userID, p.ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if up == nil {
		up = &store.UserPlaylist{Playlist: *p, Origin: store.PlaylistAdded, AddedAt: s.now()}
	}
	writeJSON(w, http.StatusCreated, toPlaylistJSON(*up))
}

// userPlaylist returns the user's link to the playlist, or nil when the
// user does not track it.
func (s *Server) userPlaylist(r *http.Request, userID, id string) (*store.UserPlaylist, error) {
	ps, err := s.cfg.Store.ListUserPlaylists(r.Context(), userID)
	if err != nil {
		return nil, err
	}
	for i := range ps {
		if ps[i].ID == id {
			return &ps[i], nil
		}
	}
	return nil, nil
}

func (s *Server) handleRemovePlaylist(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.Store.RemoveUserPlaylist(r.Context(), userFrom(r).ID, r.PathValue("id")); err != nil {
		s.storeError(w, r, err, "playlist")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleScanPlaylists scans the user's playlists now (as the daily task
// does) and answers with the scan's summary.
func (s *Server) handleScanPlaylists(w http.ResponseWriter, r *http.Request) {
	c, ok := s.spotifyClient(w, r)
	if !ok {
		return
	}
	ctx := spotifyhist.WithPriority(r.Context(), spotifyhist.PriorityInteractive)
	res, err := monitor.ScanPlaylists(ctx, s.cfg.Store, c, userFrom(r).ID, s.now())
	if err != nil {
		s.spotifyError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

type playlistTrackJSON struct {
	Position   int                       `json:"position"`
	Status     store.PlaylistTrackStatus `json:"status"`
	AddedAt    *time.Time                `json:"added_at"`
	Plays      int                       `json:"plays"`
	LastPlayed *time.Time                `json:"last_played"`
	Track      trackJSON                 `json:"track"`
}

func (s *Server) handlePlaylistTracks(w http.ResponseWriter, r *http.Request) {
	u := userFrom(r)
	id := r.PathValue("id")
	// Only playlists the user tracks are visible to them.
	if up, err := s.userPlaylist(r, u.ID, id); err != nil {
		s.serverError(w, r, err)
		return
	} else if up == nil {
		writeError(w, http.StatusNotFound, "playlist not found")
		return
	}
	rows, err := s.cfg.Store.ListPlaylistTracks(r.Context(), u.ID, id)
	if err != nil {
		s.storeError(w, r, err, "playlist")
		return
	}
	out := struct {
		Items []playlistTrackJSON `json:"items"`
	}{Items: make([]playlistTrackJSON, 0, len(rows))}
	for _, row := range rows {
		out.Items = append(out.Items, playlistTrackJSON{
			Position: row.Position, Status: row.Status, AddedAt: timePtr(row.AddedAt),
			Plays: row.Plays, LastPlayed: timePtr(row.LastPlayed), Track: toTrackJSON(row.Track),
		})
	}
	writeJSON(w, http.StatusOK, out)
}
