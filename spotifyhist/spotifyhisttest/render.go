package spotifyhisttest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// Spotify's error messages, as the fake sends them.
const (
	MsgTokenExpired       = "The access token expired"
	MsgInvalidToken       = "Invalid access token"
	MsgNoToken            = "No token provided"
	MsgBearerOnly         = "Only valid bearer authentication supported"
	MsgInsufficientScope  = "Insufficient client scope"
	MsgNotAllowListed     = "User not registered in the Developer Dashboard"
	MsgForbidden          = "Forbidden"
	MsgNotFound           = "Resource not found"
	MsgServiceNotFound    = "Service not found"
	MsgInvalidID          = "Invalid base62 id"
	MsgInvalidLimit       = "Invalid limit"
	MsgInvalidOffset      = "Invalid offset"
	MsgRateLimited        = "API rate limit exceeded"
	MsgQuotaExceeded      = "Too many requests"
	MsgAfterAndBefore     = "Only one of the after or before parameters can be specified"
	MsgInvalidCursor      = "Invalid cursor"
	MsgMethodNotAllowed   = "Method not allowed"
	MsgServerError        = "Server error"
	MsgServiceUnavailable = "Service unavailable"
)

const (
	playedAtFormat = "2006-01-02T15:04:05.000Z"
	addedAtFormat  = "2006-01-02T15:04:05Z"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Spotify does not escape <, > and & in names.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

type apiErrorBody struct {
	Error apiError `json:"error"`
}

type apiError struct {
	Status  int    `json:"status"`
	Message string `json:"message"`
	Reason  string `json:"reason,omitempty"`
}

func writeAPIError(w http.ResponseWriter, status int, msg, reason string) {
	writeJSON(w, status, apiErrorBody{apiError{Status: status, Message: msg, Reason: reason}})
}

func writeFault(w http.ResponseWriter, f Fault) {
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if f.Body != "" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(f.Body))
		return
	}
	msg := f.Message
	if msg == "" {
		switch {
		case status == http.StatusTooManyRequests && f.Reason == "QUOTA_EXCEEDED":
			msg = MsgQuotaExceeded
		case status == http.StatusTooManyRequests:
			msg = MsgRateLimited
		case status == http.StatusUnauthorized:
			msg = MsgInvalidToken
		case status == http.StatusServiceUnavailable:
			msg = MsgServiceUnavailable
		case status >= 500:
			msg = MsgServerError
		default:
			msg = http.StatusText(status)
		}
	}
	writeAPIError(w, status, msg, f.Reason)
}

type oauthErrorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

func writeOAuthError(w http.ResponseWriter, code, desc string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusBadRequest, oauthErrorBody{code, desc})
}

// ---- object rendering ----

type externalURLs map[string]string

func openURL(kind, id string) externalURLs {
	return externalURLs{"spotify": "https://open.spotify.com/" + kind + "/" + id}
}

type imageJSON struct {
	URL    string `json:"url"`
	Height int    `json:"height"`
	Width  int    `json:"width"`
}

func images(id string) []imageJSON {
	h := hashHex(id)
	return []imageJSON{
		{URL: "https://i.scdn.co/image/ab67616d0000b273" + h[:24], Height: 640, Width: 640},
		{URL: "https://i.scdn.co/image/ab67616d00001e02" + h[:24], Height: 300, Width: 300},
		{URL: "https://i.scdn.co/image/ab67616d00004851" + h[:24], Height: 64, Width: 64},
	}
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

type artistJSON struct {
	ExternalURLs externalURLs `json:"external_urls"`
	Href         *string      `json:"href"`
	ID           *string      `json:"id"`
	Name         string       `json:"name"`
	Type         string       `json:"type"`
	URI          *string      `json:"uri"`
}

type albumJSON struct {
	AlbumType            *string      `json:"album_type"`
	Artists              []artistJSON `json:"artists"`
	ExternalURLs         externalURLs `json:"external_urls"`
	Href                 *string      `json:"href"`
	ID                   *string      `json:"id"`
	Images               []imageJSON  `json:"images"`
	IsPlayable           *bool        `json:"is_playable,omitempty"`
	Name                 string       `json:"name"`
	ReleaseDate          *string      `json:"release_date"`
	ReleaseDatePrecision *string      `json:"release_date_precision"`
	TotalTracks          int          `json:"total_tracks"`
	Type                 string       `json:"type"`
	URI                  *string      `json:"uri"`
}

type restrictionsJSON struct {
	Reason string `json:"reason"`
}

type trackJSON struct {
	Album        albumJSON         `json:"album"`
	Artists      []artistJSON      `json:"artists"`
	DiscNumber   int               `json:"disc_number"`
	DurationMS   int               `json:"duration_ms"`
	Explicit     bool              `json:"explicit"`
	ExternalIDs  map[string]string `json:"external_ids"`
	ExternalURLs externalURLs      `json:"external_urls"`
	Href         *string           `json:"href"`
	ID           *string           `json:"id"`
	IsLocal      bool              `json:"is_local"`
	IsPlayable   *bool             `json:"is_playable,omitempty"`
	Restrictions *restrictionsJSON `json:"restrictions,omitempty"`
	Name         string            `json:"name"`
	PreviewURL   *string           `json:"preview_url"`
	TrackNumber  int               `json:"track_number"`
	Type         string            `json:"type"`
	URI          string            `json:"uri"`
}

func strp(s string) *string { return &s }

func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (s *Server) artistJSON(a Artist) artistJSON {
	if a.ID == "" {
		return artistJSON{ExternalURLs: externalURLs{}, Name: a.Name, Type: "artist"}
	}
	return artistJSON{
		ExternalURLs: openURL("artist", a.ID),
		Href:         strp(s.base + "/v1/artists/" + a.ID),
		ID:           strp(a.ID),
		Name:         a.Name,
		Type:         "artist",
		URI:          strp("spotify:artist:" + a.ID),
	}
}

func (s *Server) artistsJSON(as []Artist) []artistJSON {
	out := make([]artistJSON, 0, len(as))
	for _, a := range as {
		out = append(out, s.artistJSON(a))
	}
	return out
}

func (s *Server) trackJSON(t Track) *trackJSON {
	if t.IsLocal || t.ID == "" {
		return &trackJSON{
			Album: albumJSON{
				Artists:      []artistJSON{},
				ExternalURLs: externalURLs{},
				Images:       []imageJSON{},
				Name:         t.Album.Name,
				Type:         "album",
			},
			Artists:      s.artistsJSON(t.Artists),
			DurationMS:   t.DurationMS,
			ExternalIDs:  map[string]string{},
			ExternalURLs: externalURLs{},
			IsLocal:      true,
			Name:         t.Name,
			Type:         "track",
			URI:          t.TrackURI(),
		}
	}
	al := t.Album
	albumType := orDefault(al.AlbumType, "album")
	release := orDefault(al.ReleaseDate, "2020-01-01")
	precision := orDefault(al.ReleaseDatePrecision, "day")
	albumArtists := al.Artists
	if len(albumArtists) == 0 && len(t.Artists) > 0 {
		albumArtists = t.Artists[:1]
	}
	totalTracks := al.TotalTracks
	if totalTracks == 0 {
		totalTracks = max(1, t.TrackNumber)
	}
	aj := albumJSON{
		Artists:              s.artistsJSON(albumArtists),
		ExternalURLs:         externalURLs{},
		Images:               []imageJSON{},
		IsPlayable:           boolp(!t.Unplayable),
		Name:                 al.Name,
		TotalTracks:          totalTracks,
		Type:                 "album",
		AlbumType:            strp(albumType),
		ReleaseDate:          strp(release),
		ReleaseDatePrecision: strp(precision),
	}
	if al.ID != "" {
		aj.ExternalURLs = openURL("album", al.ID)
		aj.Href = strp(s.base + "/v1/albums/" + al.ID)
		aj.ID = strp(al.ID)
		aj.Images = images(al.ID)
		aj.URI = strp("spotify:album:" + al.ID)
	}
	ext := map[string]string{}
	if t.ISRC != "" {
		ext["isrc"] = t.ISRC
	}
	tj := &trackJSON{
		Album:        aj,
		Artists:      s.artistsJSON(t.Artists),
		DiscNumber:   orOne(t.DiscNumber),
		DurationMS:   t.DurationMS,
		Explicit:     t.Explicit,
		ExternalIDs:  ext,
		ExternalURLs: openURL("track", t.ID),
		Href:         strp(s.base + "/v1/tracks/" + t.ID),
		ID:           strp(t.ID),
		IsPlayable:   boolp(!t.Unplayable),
		Name:         t.Name,
		TrackNumber:  orOne(t.TrackNumber),
		Type:         "track",
		URI:          t.TrackURI(),
	}
	if t.Unplayable {
		tj.Restrictions = &restrictionsJSON{Reason: "market"}
	}
	return tj
}

func boolp(b bool) *bool { return &b }

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func orOne(n int) int {
	if n == 0 {
		return 1
	}
	return n
}

func (s *Server) showJSON(sh Show) map[string]any {
	return map[string]any{
		"copyrights":           []any{},
		"description":          "",
		"explicit":             false,
		"external_urls":        openURL("show", sh.ID),
		"href":                 s.base + "/v1/shows/" + sh.ID,
		"html_description":     "",
		"id":                   sh.ID,
		"images":               images(sh.ID),
		"is_externally_hosted": false,
		"languages":            []string{"en"},
		"media_type":           "audio",
		"name":                 sh.Name,
		"publisher":            sh.Publisher,
		"total_episodes":       100,
		"type":                 "show",
		"uri":                  "spotify:show:" + sh.ID,
	}
}

func (s *Server) episodeJSON(e Episode) map[string]any {
	return map[string]any{
		"audio_preview_url":      nil,
		"description":            e.Description,
		"html_description":       "<p>" + e.Description + "</p>",
		"duration_ms":            e.DurationMS,
		"explicit":               false,
		"external_urls":          openURL("episode", e.ID),
		"href":                   s.base + "/v1/episodes/" + e.ID,
		"id":                     e.ID,
		"images":                 images(e.ID),
		"is_externally_hosted":   false,
		"is_playable":            true,
		"language":               "en",
		"languages":              []string{"en"},
		"name":                   e.Name,
		"release_date":           orDefault(e.ReleaseDate, "2020-01-01"),
		"release_date_precision": "day",
		"type":                   "episode",
		"uri":                    e.EpisodeURI(),
		"show":                   s.showJSON(e.Show),
	}
}

// contextJSON renders a context URI, or nil.
func (s *Server) contextJSON(uri string) any {
	if uri == "" {
		return nil
	}
	kind, id, ok := splitURI(uri)
	if !ok {
		return map[string]any{"type": nil, "uri": uri, "href": nil, "external_urls": externalURLs{}}
	}
	return map[string]any{
		"type":          kind,
		"uri":           uri,
		"href":          s.base + "/v1/" + kind + "s/" + id,
		"external_urls": openURL(kind, id),
	}
}

func splitURI(uri string) (kind, id string, ok bool) {
	const p = "spotify:"
	if len(uri) <= len(p) || uri[:len(p)] != p {
		return "", "", false
	}
	rest := uri[len(p):]
	for i := 0; i < len(rest); i++ {
		if rest[i] == ':' {
			return rest[:i], rest[i+1:], rest[i+1:] != ""
		}
	}
	return "", "", false
}

func (s *Server) userRefJSON(id, displayName string) map[string]any {
	m := map[string]any{
		"external_urls": openURL("user", id),
		"href":          s.base + "/v1/users/" + id,
		"id":            id,
		"type":          "user",
		"uri":           "spotify:user:" + id,
	}
	if displayName != "" {
		m["display_name"] = displayName
	} else {
		m["display_name"] = nil
	}
	return m
}

func accountID(u User) string {
	if u.AccountID != "" {
		return u.AccountID
	}
	return hashHex("account:" + u.ID)[:32]
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// base62 alphabet used for Spotify IDs.
const base62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// ID derives a deterministic, well-formed 22-character base-62 Spotify ID
// from any string, for seeding tracks, albums, artists and playlists.
func ID(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	var b [22]byte
	for i := range b {
		b[i] = base62[int(sum[i])%62]
	}
	return string(b[:])
}

// validID reports whether id looks like a Spotify base-62 ID. Spotify's are
// 22 characters; shorter ones are accepted so hand-written fixtures work.
func validID(id string) bool {
	if id == "" || len(id) > 22 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}
