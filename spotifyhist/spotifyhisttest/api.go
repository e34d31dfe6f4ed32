package spotifyhisttest

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", s.handleAuthorize)
	mux.HandleFunc("POST /api/token", s.handleToken)

	mux.HandleFunc("GET /v1/me", s.handleMe)
	mux.HandleFunc("GET /v1/me/player/recently-played", s.handleRecentlyPlayed)
	mux.HandleFunc("GET /v1/me/player/currently-playing", s.handleCurrentlyPlaying)
	mux.HandleFunc("GET /v1/me/player", s.handlePlayer)
	mux.HandleFunc("GET /v1/me/playlists", s.handleMyPlaylists)
	mux.HandleFunc("GET /v1/playlists/{id}", s.handlePlaylist)
	mux.HandleFunc("GET /v1/playlists/{id}/items", s.handlePlaylistItems)
	mux.HandleFunc("GET /v1/tracks/{id}", s.handleTrack)
	mux.HandleFunc("GET /v1/episodes/{id}", s.handleEpisode)
	mux.HandleFunc("GET /v1/artists/{id}", s.handleArtist)

	// Removed for Development Mode apps in February/March 2026.
	for _, p := range []string{
		"/v1/playlists/{id}/tracks",
		"/v1/tracks",
		"/v1/albums",
		"/v1/artists",
		"/v1/episodes",
		"/v1/shows",
		"/v1/audiobooks",
		"/v1/users/{id}",
		"/v1/users/{id}/playlists",
		"/v1/artists/{id}/top-tracks",
		"/v1/browse/",
		"/v1/markets",
		"/v1/recommendations",
	} {
		mux.HandleFunc("GET "+p, s.handleRemoved)
	}
	mux.HandleFunc("/", s.handleNotFound)
	return mux
}

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		probe := r.Clone(r.Context())
		probe.Method = http.MethodGet
		if _, p := s.mux.Handler(probe); p != "/" {
			writeAPIError(w, http.StatusMethodNotAllowed, MsgMethodNotAllowed, "")
			return
		}
	}
	if strings.HasPrefix(r.URL.Path, "/v1/") {
		writeAPIError(w, http.StatusNotFound, MsgServiceNotFound, "")
		return
	}
	http.NotFound(w, r)
}

func (s *Server) handleRemoved(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := s.authenticate(w, r); !ok {
		return
	}
	writeAPIError(w, http.StatusForbidden, MsgForbidden, "")
}

// authenticate checks the bearer token and, when anyOf is non-empty, that
// the token carries at least one of those scopes. It writes the error
// response itself.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, anyOf ...string) (userID string, scopes []string, ok bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		writeUnauthorized(w, MsgNoToken)
		return "", nil, false
	}
	tok, found := strings.CutPrefix(h, "Bearer ")
	if !found || tok == "" {
		writeAPIError(w, http.StatusBadRequest, MsgBearerOnly, "")
		return "", nil, false
	}
	s.mu.Lock()
	a, known := s.access[tok]
	var u User
	if known {
		u, _ = s.knownUserLocked(a.userID)
	}
	now := s.now()
	s.mu.Unlock()
	if !known {
		writeUnauthorized(w, MsgInvalidToken)
		return "", nil, false
	}
	setReqUser(r, a.userID)
	if !now.Before(a.expiry) {
		writeUnauthorized(w, MsgTokenExpired)
		return "", nil, false
	}
	if u.NotAllowListed {
		writeAPIError(w, http.StatusForbidden, MsgNotAllowListed, "")
		return "", nil, false
	}
	if len(anyOf) > 0 && !slices.ContainsFunc(anyOf, func(sc string) bool { return slices.Contains(a.scopes, sc) }) {
		writeAPIError(w, http.StatusForbidden, MsgInsufficientScope, "")
		return "", nil, false
	}
	return a.userID, a.scopes, true
}

func writeUnauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="spotify", error="invalid_token", error_description="`+msg+`"`)
	writeAPIError(w, http.StatusUnauthorized, msg, "")
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	uid, _, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	u, _ := s.knownUserLocked(uid)
	s.mu.Unlock()
	m := s.userRefJSON(u.ID, u.DisplayName)
	m["images"] = []any{}
	m["account_id"] = accountID(u)
	writeJSON(w, http.StatusOK, m)
}

// parseIntParam parses an optional integer query parameter within [lo, hi].
func parseIntParam(q url.Values, name string, def, lo, hi int64) (int64, bool) {
	if !q.Has(name) {
		return def, true
	}
	n, err := strconv.ParseInt(q.Get(name), 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, false
	}
	return n, true
}

// ---- recently played ----

func (s *Server) recentWindow(userID string, now time.Time) []recentEntry {
	if s.sim != nil {
		if _, ok := s.sim.user(userID); ok {
			return s.sim.recentlyPlayed(userID, now)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.users[userID]
	if !ok {
		return nil
	}
	out := make([]recentEntry, 0, RecentlyPlayedWindow)
	for _, e := range st.recent { // newest first
		if !e.visibleAt.IsZero() && e.visibleAt.After(now) {
			continue
		}
		if e.playedAt.After(now) {
			continue
		}
		out = append(out, e)
		if len(out) == RecentlyPlayedWindow {
			break
		}
	}
	return out
}

func (s *Server) handleRecentlyPlayed(w http.ResponseWriter, r *http.Request) {
	uid, _, ok := s.authenticate(w, r, ScopeRecentlyPlayed)
	if !ok {
		return
	}
	q := r.URL.Query()
	limit, ok := parseIntParam(q, "limit", 20, 1, 50)
	if !ok {
		writeAPIError(w, http.StatusBadRequest, MsgInvalidLimit, "")
		return
	}
	if q.Has("after") && q.Has("before") {
		writeAPIError(w, http.StatusBadRequest, MsgAfterAndBefore, "")
		return
	}
	const maxMS = 1<<53 - 1
	after, okA := parseIntParam(q, "after", -1, 0, maxMS)
	before, okB := parseIntParam(q, "before", -1, 0, maxMS)
	if !okA || !okB {
		writeAPIError(w, http.StatusBadRequest, MsgInvalidCursor, "")
		return
	}
	window := s.recentWindow(uid, s.now())
	var items []recentEntry
	switch {
	case after >= 0:
		// The plays just after the cursor, so paging forward with
		// cursors.after loses nothing; still newest first.
		n := 0
		for n < len(window) && ms(window[n].playedAt) > after {
			n++
		}
		items = window[max(0, n-int(limit)):n]
	case before >= 0:
		i := 0
		for i < len(window) && ms(window[i].playedAt) >= before {
			i++
		}
		items = window[i:min(len(window), i+int(limit))]
	default:
		items = window[:min(len(window), int(limit))]
	}
	href := s.base + r.URL.Path
	if r.URL.RawQuery != "" {
		href += "?" + r.URL.RawQuery
	}
	resp := map[string]any{
		"href":    href,
		"limit":   limit,
		"next":    nil,
		"cursors": nil,
	}
	out := make([]map[string]any, 0, len(items))
	for _, e := range items {
		out = append(out, map[string]any{
			"played_at": e.playedAt.UTC().Format(playedAtFormat),
			"context":   s.contextJSON(e.context),
			"track":     s.trackJSON(e.track),
		})
	}
	resp["items"] = out
	if len(items) > 0 {
		newest := strconv.FormatInt(ms(items[0].playedAt), 10)
		oldest := strconv.FormatInt(ms(items[len(items)-1].playedAt), 10)
		resp["cursors"] = map[string]string{"after": newest, "before": oldest}
		resp["next"] = s.base + r.URL.Path + "?before=" + oldest + "&limit=" + strconv.FormatInt(limit, 10)
	}
	writeJSON(w, http.StatusOK, resp)
}

// ---- playback ----

// playbackView is the player state at one instant, seeded or simulated.
type playbackView struct {
	typ        PlaybackType
	track      *Track
	episode    *Episode
	progress   time.Duration
	isPlaying  bool
	context    string
	device     Device
	shuffle    bool
	repeat     string
	changedAt  time.Time
	durationMS int
}

func (s *Server) playback(userID string, now time.Time) *playbackView {
	if s.sim != nil {
		if _, ok := s.sim.user(userID); ok {
			return s.sim.playback(userID, now)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.users[userID]
	if !ok || st.playback == nil {
		return nil
	}
	ps := st.playback
	v := &playbackView{
		typ:       ps.pb.Type,
		track:     ps.track,
		episode:   ps.episode,
		progress:  ps.pb.Progress,
		isPlaying: ps.pb.IsPlaying,
		context:   ps.pb.ContextURI,
		shuffle:   ps.pb.ShuffleState,
		repeat:    ps.pb.RepeatState,
		changedAt: ps.setAt,
	}
	if ps.pb.Device != nil {
		v.device = *ps.pb.Device
	}
	switch {
	case v.typ == PlaybackEpisode && ps.episode != nil:
		v.durationMS = ps.episode.DurationMS
	case ps.track != nil:
		v.durationMS = ps.track.DurationMS
	}
	if v.isPlaying {
		v.progress += now.Sub(ps.setAt)
		if d := time.Duration(v.durationMS) * time.Millisecond; v.durationMS > 0 && v.progress > d {
			v.progress = d
		}
	}
	return v
}

func (s *Server) handleCurrentlyPlaying(w http.ResponseWriter, r *http.Request) {
	uid, _, ok := s.authenticate(w, r, ScopeCurrentlyPlaying, ScopePlaybackState)
	if !ok {
		return
	}
	now := s.now()
	v := s.playback(uid, now)
	// A private session does not show in currently-playing.
	if v == nil || v.device.IsPrivateSession {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, s.playbackJSON(r, v, now, false))
}

func (s *Server) handlePlayer(w http.ResponseWriter, r *http.Request) {
	uid, _, ok := s.authenticate(w, r, ScopePlaybackState)
	if !ok {
		return
	}
	now := s.now()
	v := s.playback(uid, now)
	if v == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, s.playbackJSON(r, v, now, true))
}

func wantsEpisodes(q url.Values) bool {
	for _, v := range q["additional_types"] {
		for t := range strings.SplitSeq(v, ",") {
			if strings.TrimSpace(t) == "episode" {
				return true
			}
		}
	}
	return false
}

func (s *Server) playbackJSON(r *http.Request, v *playbackView, now time.Time, withDevice bool) map[string]any {
	m := map[string]any{
		"context":                s.contextJSON(v.context),
		"is_playing":             v.isPlaying,
		"currently_playing_type": string(v.typ),
		"item":                   nil,
		"progress_ms":            v.progress.Milliseconds(),
		"timestamp":              ms(now),
	}
	disallows := map[string]bool{}
	if v.isPlaying {
		disallows["resuming"] = true
	} else {
		disallows["pausing"] = true
	}
	switch v.typ {
	case PlaybackTrack:
		if v.track != nil {
			m["item"] = s.trackJSON(*v.track)
		}
	case PlaybackEpisode:
		if v.episode != nil && wantsEpisodes(r.URL.Query()) {
			m["item"] = s.episodeJSON(*v.episode)
		}
	case PlaybackAd:
		m["progress_ms"] = nil
		disallows["skipping_next"] = true
		disallows["seeking"] = true
	}
	m["actions"] = map[string]any{"disallows": disallows}
	if withDevice {
		m["timestamp"] = ms(v.changedAt)
		d := v.device
		dev := map[string]any{
			"id":                 nullIfEmpty(d.ID),
			"is_active":          true,
			"is_private_session": d.IsPrivateSession,
			"is_restricted":      d.IsRestricted,
			"name":               orDefault(d.Name, "Web Player (Firefox)"),
			"type":               orDefault(d.Type, "Computer"),
			"supports_volume":    d.SupportsVolume,
			"volume_percent":     nil,
		}
		if d.VolumePercent != nil {
			dev["volume_percent"] = *d.VolumePercent
		}
		m["device"] = dev
		m["repeat_state"] = orDefault(v.repeat, "off")
		m["shuffle_state"] = v.shuffle
		m["smart_shuffle"] = false
	}
	return m
}

// ---- catalogue ----

// serveCatalogueItem answers GET /v1/{kind}/{id}: 400 for a malformed id,
// 404 for an unknown one, else the object render builds.
func (s *Server) serveCatalogueItem(w http.ResponseWriter, r *http.Request, render func(id string) (any, bool)) {
	if _, _, ok := s.authenticate(w, r); !ok {
		return
	}
	id := r.PathValue("id")
	if !validID(id) {
		writeAPIError(w, http.StatusBadRequest, MsgInvalidID, "")
		return
	}
	obj, found := render(id)
	if !found {
		writeAPIError(w, http.StatusNotFound, MsgNotFound, "")
		return
	}
	writeJSON(w, http.StatusOK, obj)
}

func (s *Server) handleTrack(w http.ResponseWriter, r *http.Request) {
	s.serveCatalogueItem(w, r, func(id string) (any, bool) {
		s.mu.Lock()
		t, found := s.trackLocked(id)
		s.mu.Unlock()
		if !found {
			return nil, false
		}
		return s.trackJSON(t), true
	})
}

func (s *Server) handleEpisode(w http.ResponseWriter, r *http.Request) {
	s.serveCatalogueItem(w, r, func(id string) (any, bool) {
		s.mu.Lock()
		e, found := s.episodeLocked(id)
		s.mu.Unlock()
		if !found {
			return nil, false
		}
		return s.episodeJSON(e), true
	})
}

func (s *Server) handleArtist(w http.ResponseWriter, r *http.Request) {
	s.serveCatalogueItem(w, r, func(id string) (any, bool) {
		a, found := s.artist(id)
		if !found {
			return nil, false
		}
		return map[string]any{
			"external_urls": openURL("artist", a.ID),
			"href":          s.base + "/v1/artists/" + a.ID,
			"id":            a.ID,
			"images":        images(a.ID),
			"name":          a.Name,
			"type":          "artist",
			"uri":           "spotify:artist:" + a.ID,
		}, true
	})
}

func (s *Server) artist(id string) (Artist, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tracks {
		for _, a := range append(slices.Clone(t.Artists), t.Album.Artists...) {
			if a.ID == id {
				return a, true
			}
		}
	}
	if s.sim != nil {
		return s.sim.Artist(id)
	}
	return Artist{}, false
}

// ---- playlists ----

func (s *Server) playlist(id string) (*Playlist, bool) {
	s.mu.Lock()
	p, ok := s.playlists[id]
	s.mu.Unlock()
	if ok {
		return p, true
	}
	if s.sim != nil {
		return s.sim.playlist(id)
	}
	return nil, false
}

func canReadRows(p *Playlist, userID string) bool {
	return p.OwnerID == userID || slices.Contains(p.Collaborators, userID)
}

func (s *Server) playlistsOf(userID string) []*Playlist {
	s.mu.Lock()
	var out []*Playlist
	for _, id := range s.playlistOrder {
		p := s.playlists[id]
		if canReadRows(p, userID) || slices.Contains(p.Followers, userID) {
			out = append(out, p)
		}
	}
	s.mu.Unlock()
	if s.sim != nil {
		out = append(out, s.sim.playlistsOf(userID)...)
	}
	return out
}

func (s *Server) displayName(userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, _ := s.knownUserLocked(userID)
	return u.DisplayName
}

// snapshotID returns the playlist's SnapshotID or, when empty, one derived
// from its name, description and rows, so any change gives a new snapshot.
func snapshotID(p *Playlist) string {
	if p.SnapshotID != "" {
		return p.SnapshotID
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%v\x00", p.ID, p.Name, p.Description, p.Collaborative)
	for _, r := range p.Rows {
		uri := ""
		switch {
		case r.Track != nil:
			uri = r.Track.TrackURI()
		case r.Episode != nil:
			uri = r.Episode.EpisodeURI()
		}
		fmt.Fprintf(h, "%s\x00%d\x00%s\x00", uri, r.AddedAt.Unix(), r.AddedBy)
	}
	return "AAAA" + base64.RawURLEncoding.EncodeToString(h.Sum(nil))[:28]
}

// playlistJSON renders a simplified playlist; full adds followers and, for
// readers of the rows, the first page of rows.
func (s *Server) playlistJSON(r *http.Request, p *Playlist, full bool, userID string) map[string]any {
	itemsHref := s.base + "/v1/playlists/" + p.ID + "/items"
	m := map[string]any{
		"collaborative": p.Collaborative,
		"description":   p.Description,
		"external_urls": openURL("playlist", p.ID),
		"href":          s.base + "/v1/playlists/" + p.ID,
		"id":            p.ID,
		"images":        images(p.ID),
		"name":          p.Name,
		"owner":         s.userRefJSON(p.OwnerID, s.displayName(p.OwnerID)),
		"primary_color": nil,
		"public":        p.Public,
		"snapshot_id":   snapshotID(p),
		"type":          "playlist",
		"uri":           "spotify:playlist:" + p.ID,
		"items":         map[string]any{"href": itemsHref, "total": len(p.Rows)},
	}
	if p.Public == nil {
		m["public"] = nil
	}
	switch p.DeprecatedTracks {
	case TracksFieldNull:
		m["tracks"] = nil
	case TracksFieldPresent:
		m["tracks"] = map[string]any{"href": s.base + "/v1/playlists/" + p.ID + "/tracks", "total": len(p.Rows)}
	}
	if full {
		m["followers"] = map[string]any{"href": nil, "total": len(p.Followers)}
		if canReadRows(p, userID) {
			m["items"] = s.rowsPage(r, p, itemsHref, 0, 50)
		}
	}
	return m
}

func (s *Server) rowsPage(r *http.Request, p *Playlist, path string, offset, limit int) map[string]any {
	total := len(p.Rows)
	rows := make([]map[string]any, 0, limit)
	for i := offset; i < min(total, offset+limit); i++ {
		rows = append(rows, s.rowJSON(r, p, p.Rows[i]))
	}
	return s.offsetPage(r, path, rows, offset, limit, total)
}

func (s *Server) offsetPage(r *http.Request, path string, items any, offset, limit, total int) map[string]any {
	extra := url.Values{}
	for k, v := range r.URL.Query() {
		if k != "offset" && k != "limit" {
			extra[k] = v
		}
	}
	link := func(off int) string {
		u := path + "?offset=" + strconv.Itoa(off) + "&limit=" + strconv.Itoa(limit)
		if len(extra) > 0 {
			u += "&" + extra.Encode()
		}
		return u
	}
	m := map[string]any{
		"href":     link(offset),
		"items":    items,
		"limit":    limit,
		"next":     nil,
		"offset":   offset,
		"previous": nil,
		"total":    total,
	}
	if offset+limit < total {
		m["next"] = link(offset + limit)
	}
	if offset > 0 {
		m["previous"] = link(max(0, offset-limit))
	}
	return m
}

func (s *Server) rowJSON(r *http.Request, p *Playlist, row PlaylistRow) map[string]any {
	m := map[string]any{
		"added_at":        nil,
		"added_by":        nil,
		"is_local":        false,
		"primary_color":   nil,
		"video_thumbnail": map[string]any{"url": nil},
	}
	if !row.AddedAt.IsZero() {
		m["added_at"] = row.AddedAt.UTC().Format(addedAtFormat)
	}
	switch {
	case row.AddedByBlank:
		m["added_by"] = map[string]any{"external_urls": externalURLs{}, "href": s.base + "/v1/users/", "id": "", "type": "user", "uri": "spotify:user:"}
	case row.AddedBy != "":
		ref := s.userRefJSON(row.AddedBy, "")
		delete(ref, "display_name")
		m["added_by"] = ref
	}
	var item any
	switch {
	case row.Track != nil:
		item = s.trackJSON(*row.Track)
		m["is_local"] = row.Track.IsLocal
	case row.Episode != nil:
		item = s.episodeJSON(*row.Episode)
	}
	switch p.RowKeys {
	case RowKeysItem:
		m["item"] = item
	case RowKeysTrack:
		m["track"] = item
	case RowKeysBoth:
		m["item"] = item
		m["track"] = item
	}
	return m
}

func (s *Server) handleMyPlaylists(w http.ResponseWriter, r *http.Request) {
	uid, scopes, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	limit, ok := parseIntParam(q, "limit", 20, 1, 50)
	if !ok {
		writeAPIError(w, http.StatusBadRequest, MsgInvalidLimit, "")
		return
	}
	offset, ok := parseIntParam(q, "offset", 0, 0, 100_000)
	if !ok {
		writeAPIError(w, http.StatusBadRequest, MsgInvalidOffset, "")
		return
	}
	private := slices.Contains(scopes, ScopePlaylistReadPrivate)
	collab := slices.Contains(scopes, ScopePlaylistReadCollaborative)
	var visible []*Playlist
	for _, p := range s.playlistsOf(uid) {
		switch {
		case p.Collaborative && p.OwnerID != uid && !collab:
		case (p.Public == nil || !*p.Public) && !private:
		default:
			visible = append(visible, p)
		}
	}
	total := len(visible)
	items := make([]map[string]any, 0, limit)
	for i := int(offset); i < min(total, int(offset+limit)); i++ {
		items = append(items, s.playlistJSON(r, visible[i], false, uid))
	}
	writeJSON(w, http.StatusOK, s.offsetPage(r, s.base+r.URL.Path, items, int(offset), int(limit), total))
}

func (s *Server) lookupPlaylist(w http.ResponseWriter, r *http.Request) (*Playlist, string, bool) {
	uid, _, ok := s.authenticate(w, r)
	if !ok {
		return nil, "", false
	}
	id := r.PathValue("id")
	if !validID(id) {
		writeAPIError(w, http.StatusBadRequest, MsgInvalidID, "")
		return nil, "", false
	}
	p, found := s.playlist(id)
	if !found {
		writeAPIError(w, http.StatusNotFound, MsgNotFound, "")
		return nil, "", false
	}
	return p, uid, true
}

func (s *Server) handlePlaylist(w http.ResponseWriter, r *http.Request) {
	p, uid, ok := s.lookupPlaylist(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.playlistJSON(r, p, true, uid))
}

func (s *Server) handlePlaylistItems(w http.ResponseWriter, r *http.Request) {
	p, uid, ok := s.lookupPlaylist(w, r)
	if !ok {
		return
	}
	if !canReadRows(p, uid) {
		writeAPIError(w, http.StatusForbidden, MsgForbidden, "")
		return
	}
	q := r.URL.Query()
	limit, ok := parseIntParam(q, "limit", 20, 1, 50)
	if !ok {
		writeAPIError(w, http.StatusBadRequest, MsgInvalidLimit, "")
		return
	}
	offset, ok := parseIntParam(q, "offset", 0, 0, 100_000)
	if !ok {
		writeAPIError(w, http.StatusBadRequest, MsgInvalidOffset, "")
		return
	}
	writeJSON(w, http.StatusOK, s.rowsPage(r, p, s.base+r.URL.Path, int(offset), int(limit)))
}
