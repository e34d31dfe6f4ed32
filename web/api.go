package web

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spotifyhist/spotifyhist/store"
)

// maxJSONBody caps the small JSON bodies of the API (mode, playlist URL).
const maxJSONBody = 16 << 10

// apiError is the body of every API error.
type apiError struct {
	Error struct {
		Status  int    `json:"status"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	var e apiError
	e.Error.Status = status
	e.Error.Message = msg
	writeJSON(w, status, e)
}

func (s *Server) serverError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	writeError(w, http.StatusInternalServerError, "internal error; the server log has details")
}

// storeError maps store sentinels to HTTP answers.
func (s *Server) storeError(w http.ResponseWriter, r *http.Request, err error, what string) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, what+" not found")
	case errors.Is(err, store.ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, err.Error())
	default:
		s.serverError(w, r, err)
	}
}

func wantsJSON(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/api/") || strings.Contains(r.Header.Get("Accept"), "application/json")
}

// decodeJSON reads a small JSON body strictly.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, "want Content-Type application/json")
			return false
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", maxJSONBody))
			return false
		}
		writeError(w, http.StatusBadRequest, "malformed JSON body: "+err.Error())
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		writeError(w, http.StatusBadRequest, "malformed JSON body: trailing data")
		return false
	}
	return true
}

// Status values shown by the dashboard's badge.
const (
	statusRunning     = "running"
	statusStarting    = "starting"
	statusStopping    = "stopping"
	statusStopped     = "stopped"
	statusNeedsReauth = "needs_reauth"
	statusLocal       = "local"
)

type taskJSON struct {
	Status    store.TaskStatus `json:"status"`
	LastRunAt *time.Time       `json:"last_run_at"`
	LastError string           `json:"last_error,omitempty"`
}

type userJSON struct {
	ID           string              `json:"id"`
	DisplayName  string              `json:"display_name"`
	Enabled      bool                `json:"enabled"`
	Mode         store.Mode          `json:"mode"`
	NeedsReauth  bool                `json:"needs_reauth"`
	WorkerID     string              `json:"worker_id"`
	Status       string              `json:"status"`
	AuthorizedAt *time.Time          `json:"authorized_at"`
	ReauthBy     *time.Time          `json:"reauth_by"`
	Tasks        map[string]taskJSON `json:"tasks"`
}

type meJSON struct {
	User      userJSON `json:"user"`
	CSRFToken string   `json:"csrf_token"`
	LocalMode bool     `json:"local_mode"`
	Demo      bool     `json:"demo"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// userStatus derives the dashboard's badge: local (local mode, no token),
// needs_reauth, stopping (stopped by the user while a worker still holds
// the lease), stopped, running (a worker holds a live lease) or starting
// (enabled, waiting for a worker to claim it).
func (s *Server) userStatus(u *store.User) string {
	held := u.WorkerID != "" && u.LeaseExpires.After(s.now())
	switch {
	case s.LocalMode() && len(u.Token) == 0:
		return statusLocal
	case u.NeedsReauth:
		return statusNeedsReauth
	case !u.Enabled && held:
		return statusStopping
	case !u.Enabled:
		return statusStopped
	case held:
		return statusRunning
	default:
		return statusStarting
	}
}

func (s *Server) userJSON(u *store.User) userJSON {
	j := userJSON{
		ID: u.ID, DisplayName: u.DisplayName, Enabled: u.Enabled, Mode: u.Mode,
		NeedsReauth: u.NeedsReauth, WorkerID: u.WorkerID, Status: s.userStatus(u),
		AuthorizedAt: timePtr(u.AuthorizedAt), Tasks: map[string]taskJSON{},
	}
	if !u.AuthorizedAt.IsZero() {
		// Spotify refresh tokens die six months after the user authorised;
		// refreshing does not extend them.
		j.ReauthBy = timePtr(u.AuthorizedAt.AddDate(0, 6, 0))
	}
	for t, st := range u.Tasks {
		j.Tasks[string(t)] = taskJSON{Status: st.Status, LastRunAt: timePtr(st.LastRunAt), LastError: st.LastError}
	}
	return j
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, meJSON{
		User: s.userJSON(userFrom(r)), CSRFToken: sessionFrom(r).CSRFToken,
		LocalMode: s.LocalMode(), Demo: s.cfg.Demo,
	})
}

// handleDeleteMe deletes the user with everything that is theirs: first
// their imports on this replica (running ones are stopped, uploaded files
// removed), then the database rows, sessions included. In local mode the
// next visit starts a new, empty local user.
func (s *Server) handleDeleteMe(w http.ResponseWriter, r *http.Request) {
	u := userFrom(r)
	if err := s.stopImports(r.Context(), u.ID); err != nil {
		writeError(w, http.StatusServiceUnavailable, "an import of yours is still stopping; try again in a moment")
		return
	}
	if s.cfg.Clients != nil {
		s.cfg.Clients.Forget(u.ID)
	}
	if err := s.cfg.Store.DeleteUser(r.Context(), u.ID); err != nil {
		s.storeError(w, r, err, "user")
		return
	}
	s.clearSessionCookie(w)
	s.log.InfoContext(r.Context(), "user deleted with all their data", "user_id", u.ID)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) setEnabled(w http.ResponseWriter, r *http.Request, enabled bool) {
	u, err := s.cfg.Store.UpdateUser(r.Context(), &store.UpdateUserParams{ID: userFrom(r).ID, Enabled: &enabled, Now: s.now()})
	if err != nil {
		s.storeError(w, r, err, "user")
		return
	}
	writeJSON(w, http.StatusOK, s.userJSON(u))
}

func (s *Server) handleStart(w http.ResponseWriter, r *http.Request) { s.setEnabled(w, r, true) }
func (s *Server) handleStop(w http.ResponseWriter, r *http.Request)  { s.setEnabled(w, r, false) }

func (s *Server) handleMode(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Mode store.Mode `json:"mode"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	if !body.Mode.Valid() {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown mode %q: want history, realtime, hybrid or adaptive", body.Mode))
		return
	}
	u, err := s.cfg.Store.UpdateUser(r.Context(), &store.UpdateUserParams{ID: userFrom(r).ID, Mode: &body.Mode, Now: s.now()})
	if err != nil {
		s.storeError(w, r, err, "user")
		return
	}
	writeJSON(w, http.StatusOK, s.userJSON(u))
}

type artistJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type albumJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type trackJSON struct {
	ID         string       `json:"id"`
	Name       string       `json:"name"`
	DurationMS int          `json:"duration_ms"`
	IsLocal    bool         `json:"is_local"`
	Album      albumJSON    `json:"album"`
	Artists    []artistJSON `json:"artists"`
}

func artistsJSON(as []store.Artist) []artistJSON {
	out := make([]artistJSON, 0, len(as))
	for _, a := range as {
		out = append(out, artistJSON{ID: a.ID, Name: a.Name})
	}
	return out
}

func toTrackJSON(t store.Track) trackJSON {
	return trackJSON{
		ID: t.ID, Name: t.Name, DurationMS: t.DurationMS, IsLocal: t.IsLocal,
		Album: albumJSON{ID: t.Album.ID, Name: t.Album.Name}, Artists: artistsJSON(t.Artists),
	}
}

type historyItemJSON struct {
	PlayedAt time.Time    `json:"played_at"`
	MSPlayed int          `json:"ms_played"`
	Source   store.Source `json:"source"`
	Track    trackJSON    `json:"track"`
}

type historyJSON struct {
	Items []historyItemJSON `json:"items"`
	Next  *string           `json:"next"`
}

// History cursors are opaque to clients: base64url of "unix_ms:track_id",
// the keyset (played_at, track_id) of the last play shown; the next page
// holds the plays strictly before it in (played_at, track_id) descending
// order, so plays at the same millisecond are neither lost nor repeated.
func encodeCursor(t time.Time, trackID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t.UnixMilli(), 10) + ":" + trackID))
}

func decodeCursor(c string) (time.Time, string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", errors.New("malformed cursor")
	}
	ms, id, ok := strings.Cut(string(raw), ":")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || id == "" {
		return time.Time{}, "", errors.New("malformed cursor")
	}
	return time.UnixMilli(n).UTC(), id, nil
}

// History page sizes. The store returns at most 1000 plays per call; one
// more than the page is asked for, to know whether a next page exists.
const (
	historyLimitDefault = 50
	historyLimitMax     = 500
)

func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := intParam(q.Get("limit"), historyLimitDefault, 1, historyLimitMax)
	if err != nil {
		writeError(w, http.StatusBadRequest, "limit: "+err.Error())
		return
	}
	p := &store.HistoryParams{UserID: userFrom(r).ID, Limit: limit + 1}
	if c := q.Get("cursor"); c != "" {
		if p.Before, p.BeforeTrackID, err = decodeCursor(c); err != nil {
			writeError(w, http.StatusBadRequest, "cursor: "+err.Error())
			return
		}
	}
	plays, err := s.cfg.Store.History(r.Context(), p)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	out := historyJSON{Items: make([]historyItemJSON, 0, min(len(plays), limit))}
	if len(plays) > limit {
		plays = plays[:limit]
		last := plays[limit-1]
		c := encodeCursor(last.PlayedAt, last.TrackID)
		out.Next = &c
	}
	for _, p := range plays {
		out.Items = append(out.Items, historyItemJSON{PlayedAt: p.PlayedAt.UTC(), MSPlayed: p.MSPlayed, Source: p.Source, Track: toTrackJSON(p.Track)})
	}
	writeJSON(w, http.StatusOK, out)
}

// intParam parses an optional integer query parameter within [lo, hi].
func intParam(v string, def, lo, hi int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("want a whole number, got %q", v)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("want %d to %d, got %d", lo, hi, n)
	}
	return n, nil
}

// handleAPINotFound answers what no API route matched: 405 with an Allow
// header when the path exists for other methods, else 404; both in the
// API's JSON error shape.
func (s *Server) handleAPINotFound(w http.ResponseWriter, r *http.Request) {
	if allow := s.allowedMethods(r); len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s is not allowed on %s: use %s", r.Method, r.URL.Path, strings.Join(allow, " or ")))
		return
	}
	writeError(w, http.StatusNotFound, "no such API endpoint: "+r.Method+" "+r.URL.Path+" (see /api/v1/openapi.json)")
}

// allowedMethods lists the methods that have a route for r's path.
func (s *Server) allowedMethods(r *http.Request) []string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.WithContext(r.Context()) // a shallow copy
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != apiCatchAll {
			allow = append(allow, m)
		}
	}
	return allow
}
