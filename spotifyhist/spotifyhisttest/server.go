package spotifyhisttest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Defaults for [Options] and limits of the fake.
const (
	// ClientIDDefault is the client id accepted when Options.ClientID is empty.
	ClientIDDefault = "5f0e1d2c3b4a59687766554433221100"
	// ClientSecretDefault is the secret accepted when Options.ClientSecret is empty.
	ClientSecretDefault = "00112233445566778899aabbccddeeff"
	// AccessTokenTTLDefault is how long access tokens last unless
	// Options.AccessTokenTTL says otherwise (Spotify: one hour).
	AccessTokenTTLDefault = time.Hour
	// QuotaPeriodDefault is the quota bucket length when Options.QuotaPeriod is zero.
	QuotaPeriodDefault = 24 * time.Hour
	// RateLimitWindow is the rolling window of Options.RateLimit.
	RateLimitWindow = 30 * time.Second
	// RecentlyPlayedWindow is how many of the latest plays recently-played
	// can reach.
	RecentlyPlayedWindow = 50
	// AuthorizationCodeTTL is how long an authorization code stays valid.
	AuthorizationCodeTTL = 10 * time.Minute
	// InProcessURL is a base URL suitable for Options.BaseURL when the
	// server is reached only through [Server.Transport] or [Server.Handler].
	InProcessURL = "http://spotify.test"
)

// Options configures a [Server]. The zero value is usable; a nil *Options
// means the zero value.
type Options struct {
	// Now is the clock for every time the fake reads: token expiry,
	// cursors, progress, the rate limiter. Default time.Now.
	Now func() time.Time
	// ClientID and ClientSecret are the only app credentials accepted.
	// Defaults ClientIDDefault and ClientSecretDefault.
	ClientID     string
	ClientSecret string
	// RedirectURIs are the registered redirect URIs, matched exactly; a
	// loopback IP literal registered without a port accepts any port.
	// Empty accepts any https URI and any http loopback IP literal.
	// "localhost" is always rejected, as Spotify does since 2025.
	RedirectURIs []string
	// AccessTokenTTL is the lifetime of access tokens. Default
	// AccessTokenTTLDefault (1 h).
	AccessTokenTTL time.Duration
	// RefreshTokenLifetime is how long after the user's authorisation a
	// refresh token keeps working (refreshing does not extend it). Zero
	// means six calendar months, Spotify's rule since 2026; negative means
	// forever.
	RefreshTokenLifetime time.Duration
	// OmitRefreshToken makes refresh responses leave out refresh_token,
	// which Spotify may do. Otherwise every refresh rotates it.
	OmitRefreshToken bool
	// RevokeRotatedRefreshTokens invalidates a refresh token once it has been
	// rotated, so a client that keeps using the old one gets invalid_grant.
	// Default false: old refresh tokens keep working.
	RevokeRotatedRefreshTokens bool
	// RateLimit is the number of Web API requests admitted per rolling
	// RateLimitWindow (30 s) for the whole app; more get 429 with a
	// Retry-After in seconds. Zero means unlimited.
	RateLimit int
	// Quota is the Development Mode quota: Web API requests admitted per
	// QuotaPeriod; more get 429 with reason QUOTA_EXCEEDED and a Retry-After
	// up to the end of the period. Zero means unlimited.
	Quota int
	// QuotaPeriod is the quota bucket, starting at the first request.
	// Default QuotaPeriodDefault (24 h).
	QuotaPeriod time.Duration
	// Latency delays every response by this long (a real timer, so it
	// follows a synctest bubble's clock). Default none.
	Latency time.Duration
	// Simulator, when set, provides users, catalogue, playlists and
	// listening state derived from Now. Its users are registered at once.
	Simulator *Simulator
	// BaseURL, when set, disables the listener: the server is reached only
	// through Handler, Transport or Client, and BaseURL (for instance
	// InProcessURL) is used in every absolute href. Use this inside
	// testing/synctest bubbles, where a socket's goroutines would never be
	// durably blocked, or to mount the fake in another server: if BaseURL
	// has a path, mount Handler under it with http.StripPrefix (Transport
	// strips it itself).
	BaseURL string
	// RequestLogLimit caps how many requests Requests keeps (oldest are
	// dropped first). Zero means unlimited; negative keeps none. CallCount
	// counts every request regardless.
	RequestLogLimit int
}

// Server is a fake of Spotify's accounts service and Web API in Development
// Mode. Its methods are safe for concurrent use.
type Server struct {
	now     func() time.Time
	opts    Options
	base    string
	prefix  string // path of BaseURL, stripped by Transport
	hosts   []string
	ts      *httptest.Server
	mux     *http.ServeMux
	sim     *Simulator
	closeMu sync.Once

	mu            sync.Mutex
	users         map[string]*userState
	userOrder     []string
	tracks        map[string]Track
	episodes      map[string]Episode
	playlists     map[string]*Playlist
	playlistOrder []string
	access        map[string]*accessToken
	refresh       map[string]*refreshToken
	codes         map[string]*authCode
	authorizeUser string
	denyAuth      bool
	faults        []*faultEntry
	latency       time.Duration
	rateLimit     int
	omitRefresh   bool
	admitted      []time.Time
	quota         int
	quotaStart    time.Time
	quotaUsed     int
	requests      []Request
	counts        map[string]int
}

type userState struct {
	user     User
	recent   []recentEntry
	playback *playbackState
}

type recentEntry struct {
	track     Track
	playedAt  time.Time
	context   string
	visibleAt time.Time
}

type playbackState struct {
	pb      Playback
	track   *Track
	episode *Episode
	setAt   time.Time
}

type accessToken struct {
	userID string
	scopes []string
	expiry time.Time
}

type refreshToken struct {
	userID       string
	clientID     string
	scopes       []string
	authorizedAt time.Time
	revoked      bool
}

type authCode struct {
	clientID      string
	redirectURI   string
	challenge     string
	userID        string
	scopes        []string
	expiry        time.Time
	used          bool
	authorizedAt  time.Time
	hasChallenge  bool
	challengeMeth string
}

type faultEntry struct {
	route string
	fault Fault
	left  int
}

// NewServer starts a fake Spotify for a test and closes it when the test
// ends. See [New].
func NewServer(tb testing.TB, opts *Options) *Server {
	tb.Helper()
	s := New(opts)
	tb.Cleanup(s.Close)
	return s
}

// New returns a running fake Spotify. Unless opts.BaseURL is set it listens
// on a loopback port (httptest); call Close when done.
func New(opts *Options) *Server {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ClientID == "" {
		o.ClientID = ClientIDDefault
	}
	if o.ClientSecret == "" {
		o.ClientSecret = ClientSecretDefault
	}
	if o.AccessTokenTTL <= 0 {
		o.AccessTokenTTL = AccessTokenTTLDefault
	}
	if o.QuotaPeriod <= 0 {
		o.QuotaPeriod = QuotaPeriodDefault
	}
	s := &Server{
		now:         o.Now,
		opts:        o,
		sim:         o.Simulator,
		users:       map[string]*userState{},
		tracks:      map[string]Track{},
		episodes:    map[string]Episode{},
		playlists:   map[string]*Playlist{},
		access:      map[string]*accessToken{},
		refresh:     map[string]*refreshToken{},
		codes:       map[string]*authCode{},
		latency:     o.Latency,
		rateLimit:   o.RateLimit,
		omitRefresh: o.OmitRefreshToken,
		quota:       o.Quota,
		counts:      map[string]int{},
	}
	s.mux = s.routes()
	if o.BaseURL != "" {
		s.base = strings.TrimRight(o.BaseURL, "/")
	} else {
		s.ts = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
		s.base = s.ts.URL
	}
	if u, err := url.Parse(s.base); err == nil {
		s.hosts = append(s.hosts, u.Host)
		s.prefix = u.Path
	}
	s.hosts = append(s.hosts, "api.spotify.com", "accounts.spotify.com")
	return s
}

// Close shuts the listener down. It is safe to call more than once.
func (s *Server) Close() {
	s.closeMu.Do(func() {
		if s.ts != nil {
			s.ts.Close()
		}
	})
}

// URL returns the base URL, without a trailing slash.
func (s *Server) URL() string { return s.base }

// APIURL returns the Web API base, URL()+"/v1/" (with the trailing slash
// zmb3/spotify's WithBaseURL needs).
func (s *Server) APIURL() string { return s.base + "/v1/" }

// AccountsURL returns the accounts service base, URL()+"/".
func (s *Server) AccountsURL() string { return s.base + "/" }

// AuthorizeURL returns the authorization endpoint, URL()+"/authorize".
func (s *Server) AuthorizeURL() string { return s.base + "/authorize" }

// TokenURL returns the token endpoint, URL()+"/api/token".
func (s *Server) TokenURL() string { return s.base + "/api/token" }

// ClientID returns the accepted client id.
func (s *Server) ClientID() string { return s.opts.ClientID }

// ClientSecret returns the accepted client secret.
func (s *Server) ClientSecret() string { return s.opts.ClientSecret }

// Simulator returns the simulator given in Options, or nil.
func (s *Server) Simulator() *Simulator { return s.sim }

// Handler returns the server's handler, for mounting at BaseURL.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Transport returns a RoundTripper that calls the handler in process, with
// no sockets. It serves requests addressed to the server's own host and to
// api.spotify.com and accounts.spotify.com; any other host is an error.
func (s *Server) Transport() http.RoundTripper { return transport{s} }

// Client returns an http.Client over [Server.Transport]. It does not follow
// redirects that leave the fake (such as /authorize's redirect to the
// app's callback): it returns that 302 response instead.
func (s *Server) Client() *http.Client {
	return &http.Client{
		Transport: s.Transport(),
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if !s.servesHost(req.URL.Host) {
				return http.ErrUseLastResponse
			}
			if len(via) >= 10 {
				return errors.New("spotifyhisttest: stopped after 10 redirects")
			}
			return nil
		},
	}
}

func (s *Server) servesHost(host string) bool {
	return slices.Contains(s.hosts, host)
}

type transport struct{ s *Server }

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer req.Body.Close()
	}
	if req.URL == nil || !t.s.servesHost(req.URL.Host) {
		host := ""
		if req.URL != nil {
			host = req.URL.Host
		}
		return nil, fmt.Errorf("spotifyhisttest: transport: host %q is not served by this fake", host)
	}
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	if p := t.s.prefix; p != "" && strings.HasPrefix(r.URL.Path, p+"/") {
		r.URL.Path = strings.TrimPrefix(r.URL.Path, p)
		r.URL.RawPath = ""
	}
	r.RequestURI = r.URL.RequestURI()
	if r.Body == nil {
		r.Body = http.NoBody
	}
	if r.Host == "" {
		r.Host = req.URL.Host
	}
	r.RemoteAddr = "127.0.0.1:1"
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.1", 1, 1
	rec := httptest.NewRecorder()
	t.s.serveHTTP(rec, r)
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// ---- seeding ----

// AddUser registers (or replaces) a user.
func (s *Server) AddUser(u User) {
	if u.ID == "" {
		panic("spotifyhisttest: AddUser: empty user ID")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addUserLocked(u)
}

func (s *Server) addUserLocked(u User) *userState {
	if st, ok := s.users[u.ID]; ok {
		st.user = u
		return st
	}
	st := &userState{user: u}
	s.users[u.ID] = st
	s.userOrder = append(s.userOrder, u.ID)
	return st
}

// knownUser reports whether userID is a seeded or simulated user.
func (s *Server) knownUserLocked(userID string) (User, bool) {
	if st, ok := s.users[userID]; ok {
		return st.user, true
	}
	if s.sim != nil {
		if u, ok := s.sim.user(userID); ok {
			return u, true
		}
	}
	return User{}, false
}

// IssueToken issues a token pair for userID as if the user had just
// authorised the app, registering the user if unknown. Without scopes the
// token carries [AllScopes].
func (s *Server) IssueToken(userID string, scopes ...string) Token {
	if userID == "" {
		panic("spotifyhisttest: IssueToken: empty user ID")
	}
	if len(scopes) == 0 {
		scopes = AllScopes()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.knownUserLocked(userID); !ok {
		s.addUserLocked(User{ID: userID})
	}
	now := s.now()
	rt := s.newRefreshLocked(userID, s.opts.ClientID, scopes, now)
	return s.newAccessLocked(userID, scopes, now, rt)
}

func (s *Server) newRefreshLocked(userID, clientID string, scopes []string, authorizedAt time.Time) string {
	rt := "AQ" + randomToken(48)
	s.refresh[rt] = &refreshToken{userID: userID, clientID: clientID, scopes: scopes, authorizedAt: authorizedAt}
	return rt
}

func (s *Server) newAccessLocked(userID string, scopes []string, now time.Time, refresh string) Token {
	at := "BQ" + randomToken(96)
	exp := now.Add(s.opts.AccessTokenTTL)
	s.access[at] = &accessToken{userID: userID, scopes: scopes, expiry: exp}
	return Token{
		AccessToken:  at,
		RefreshToken: refresh,
		TokenType:    "Bearer",
		Scope:        strings.Join(scopes, " "),
		ExpiresIn:    int(s.opts.AccessTokenTTL / time.Second),
		Expiry:       exp,
	}
}

func randomToken(n int) string {
	b := make([]byte, n*3/4+1)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// AuthorizeUser chooses the user the /authorize endpoint logs in. By default
// it is the first user added (or the first simulated user).
func (s *Server) AuthorizeUser(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.knownUserLocked(userID); !ok {
		s.addUserLocked(User{ID: userID})
	}
	s.authorizeUser = userID
}

// DenyAuthorization makes /authorize redirect with error=access_denied, as
// when the user presses Cancel, until called again with false.
func (s *Server) DenyAuthorization(deny bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denyAuth = deny
}

// AddTrack adds a track to the catalogue served by /v1/tracks/{id}.
func (s *Server) AddTrack(t Track) {
	if t.ID == "" {
		panic("spotifyhisttest: AddTrack: empty track ID (local files have none; use them in plays and playlists directly)")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tracks[t.ID] = t
}

// AddEpisode adds an episode to the catalogue served by /v1/episodes/{id}.
func (s *Server) AddEpisode(e Episode) {
	if e.ID == "" {
		panic("spotifyhisttest: AddEpisode: empty episode ID")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.episodes[e.ID] = e
}

func (s *Server) trackLocked(id string) (Track, bool) {
	if t, ok := s.tracks[id]; ok {
		return t, true
	}
	if s.sim != nil {
		return s.sim.Track(id)
	}
	return Track{}, false
}

func (s *Server) episodeLocked(id string) (Episode, bool) {
	if e, ok := s.episodes[id]; ok {
		return e, true
	}
	if s.sim != nil {
		return s.sim.Episode(id)
	}
	return Episode{}, false
}

func (s *Server) seededUserLocked(op, userID string) *userState {
	if s.sim != nil {
		if _, ok := s.sim.user(userID); ok {
			panic(fmt.Sprintf("spotifyhisttest: %s: %q is a simulated user; its state comes from the simulator", op, userID))
		}
	}
	st, ok := s.users[userID]
	if !ok {
		st = s.addUserLocked(User{ID: userID})
	}
	return st
}

// AddRecentPlay adds a play to a seeded user's recently-played history
// (registering the user if unknown). It panics for simulated users and for
// unknown track IDs.
func (s *Server) AddRecentPlay(userID string, p RecentPlay) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.seededUserLocked("AddRecentPlay", userID)
	var t Track
	if p.Track != nil {
		t = *p.Track
		if t.ID != "" {
			if _, ok := s.tracks[t.ID]; !ok {
				s.tracks[t.ID] = t
			}
		}
	} else {
		var ok bool
		t, ok = s.trackLocked(p.TrackID)
		if !ok {
			panic(fmt.Sprintf("spotifyhisttest: AddRecentPlay: unknown track %q", p.TrackID))
		}
	}
	e := recentEntry{track: t, playedAt: p.PlayedAt.Truncate(time.Millisecond), context: p.ContextURI, visibleAt: p.VisibleAt}
	// Keep newest first; plays with equal played_at keep insertion order.
	i, _ := slices.BinarySearchFunc(st.recent, e.playedAt, func(x recentEntry, t time.Time) int {
		if x.playedAt.Before(t) {
			return 1
		}
		return -1
	})
	st.recent = slices.Insert(st.recent, i, e)
}

// SetPlayback sets a seeded user's player state; nil means idle (204).
// Progress advances from the time of the call while IsPlaying.
func (s *Server) SetPlayback(userID string, p *Playback) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.seededUserLocked("SetPlayback", userID)
	if p == nil {
		st.playback = nil
		return
	}
	ps := &playbackState{pb: *p, setAt: s.now()}
	switch {
	case p.Track != nil:
		t := *p.Track
		ps.track = &t
	case p.TrackID != "":
		t, ok := s.trackLocked(p.TrackID)
		if !ok {
			panic(fmt.Sprintf("spotifyhisttest: SetPlayback: unknown track %q", p.TrackID))
		}
		ps.track = &t
	}
	switch {
	case p.Episode != nil:
		e := *p.Episode
		ps.episode = &e
	case p.EpisodeID != "":
		e, ok := s.episodeLocked(p.EpisodeID)
		if !ok {
			panic(fmt.Sprintf("spotifyhisttest: SetPlayback: unknown episode %q", p.EpisodeID))
		}
		ps.episode = &e
	}
	if ps.pb.Type == "" {
		ps.pb.Type = PlaybackTrack
		if ps.episode != nil && ps.track == nil {
			ps.pb.Type = PlaybackEpisode
		}
	}
	st.playback = ps
}

// AddPlaylist adds (or replaces) a playlist. Track and episode IDs in rows
// must be known; the owner, collaborators and followers are registered if
// unknown.
func (s *Server) AddPlaylist(p Playlist) {
	if p.ID == "" {
		panic("spotifyhisttest: AddPlaylist: empty playlist ID")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := p
	cp.Rows = slices.Clone(p.Rows)
	for i, r := range cp.Rows {
		switch {
		case r.Track != nil:
			t := *r.Track
			cp.Rows[i].Track = &t
		case r.TrackID != "":
			t, ok := s.trackLocked(r.TrackID)
			if !ok {
				panic(fmt.Sprintf("spotifyhisttest: AddPlaylist: unknown track %q", r.TrackID))
			}
			cp.Rows[i].Track = &t
		case r.Episode != nil:
			e := *r.Episode
			cp.Rows[i].Episode = &e
		case r.EpisodeID != "":
			e, ok := s.episodeLocked(r.EpisodeID)
			if !ok {
				panic(fmt.Sprintf("spotifyhisttest: AddPlaylist: unknown episode %q", r.EpisodeID))
			}
			cp.Rows[i].Episode = &e
		}
	}
	for _, id := range append(append([]string{p.OwnerID}, p.Collaborators...), p.Followers...) {
		if id == "" {
			continue
		}
		if _, ok := s.knownUserLocked(id); !ok {
			s.addUserLocked(User{ID: id})
		}
	}
	if _, ok := s.playlists[p.ID]; !ok {
		s.playlistOrder = append(s.playlistOrder, p.ID)
	}
	s.playlists[p.ID] = &cp
}

// RemovePlaylist deletes a playlist: it leaves every /v1/me/playlists and
// /v1/playlists/{id} answers 404, as for a playlist deleted on Spotify.
func (s *Server) RemovePlaylist(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.playlists[id]; !ok {
		return
	}
	delete(s.playlists, id)
	s.playlistOrder = slices.DeleteFunc(s.playlistOrder, func(x string) bool { return x == id })
}

// ---- faults and knobs ----

// FailNext scripts a fault for the next requests whose route matches: "*"
// for any request, a route pattern such as "/v1/playlists/{id}/items", or a
// literal path such as "/v1/me/player/recently-played". Faults queue up in
// order; the first matching one applies.
func (s *Server) FailNext(route string, f Fault) {
	left := f.Times
	if left == 0 {
		left = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultEntry{route: route, fault: f, left: left})
}

// ClearFaults drops every scripted fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// ExpireAccessTokens makes every access token of userID expired: the Web
// API answers 401 "The access token expired" until the client refreshes.
func (s *Server) ExpireAccessTokens(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.now().Add(-time.Second)
	for _, a := range s.access {
		if a.userID == userID {
			a.expiry = past
		}
	}
}

// RevokeRefreshToken revokes every refresh token of userID, as when the user
// removes the app or the six-month lifetime ends: refreshing fails with
// invalid_grant.
func (s *Server) RevokeRefreshToken(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.refresh {
		if r.userID == userID {
			r.revoked = true
		}
	}
}

// SetLatency changes Options.Latency.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// SetRateLimit changes Options.RateLimit; the rolling window is kept.
func (s *Server) SetRateLimit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimit = n
}

// SetQuota changes Options.Quota and starts a new quota period.
func (s *Server) SetQuota(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.quota = n
	s.quotaUsed = 0
	s.quotaStart = time.Time{}
}

// SetOmitRefreshToken changes Options.OmitRefreshToken.
func (s *Server) SetOmitRefreshToken(omit bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.omitRefresh = omit
}

// ---- observability ----

// Requests returns the recorded requests, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.Query = cloneValues(r.Query)
		out[i] = r
	}
	return out
}

// CallCount returns how many requests matched route since the last
// ResetRequests: "*" for all, a route pattern (e.g.
// "/v1/playlists/{id}/items") or a literal path.
func (s *Server) CallCount(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[route]
}

// ResetRequests forgets recorded requests and counts.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
	s.counts = map[string]int{}
}

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// ---- request pipeline ----

type reqInfoKey struct{}

type reqInfo struct{ userID string }

func setReqUser(r *http.Request, userID string) {
	if ri, ok := r.Context().Value(reqInfoKey{}).(*reqInfo); ok {
		ri.userID = userID
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	at := s.now()
	_, pattern := s.mux.Handler(r)
	route := pattern
	if i := strings.IndexByte(route, ' '); i >= 0 {
		route = route[i+1:]
	}
	if route == "/" {
		route = "" // the catch-all that answers 404 or 405
	}
	ri := &reqInfo{}
	r = r.WithContext(context.WithValue(r.Context(), reqInfoKey{}, ri))
	sw := &statusWriter{ResponseWriter: w}
	defer func() { s.record(r, route, ri.userID, sw.status, at) }()

	s.mu.Lock()
	latency := s.latency
	s.mu.Unlock()
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			sw.status = 499
			return
		}
	}
	if f, ok := s.takeFault(route, r.URL.Path); ok {
		writeFault(sw, f)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/v1/") {
		if ok, retry, reason := s.admit(); !ok {
			if retry != "" {
				sw.Header().Set("Retry-After", retry)
			}
			msg := "API rate limit exceeded"
			if reason != "" {
				msg = "Too many requests"
			}
			writeAPIError(sw, http.StatusTooManyRequests, msg, reason)
			return
		}
	}
	s.mux.ServeHTTP(sw, r)
}

func (s *Server) record(r *http.Request, route, userID string, status int, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts["*"]++
	if route != "" {
		s.counts[route]++
	}
	if r.URL.Path != route {
		s.counts[r.URL.Path]++
	}
	if s.opts.RequestLogLimit < 0 {
		return
	}
	s.requests = append(s.requests, Request{
		Method:        r.Method,
		Path:          r.URL.Path,
		Route:         route,
		Query:         r.URL.Query(),
		Authorization: r.Header.Get("Authorization"),
		UserID:        userID,
		Status:        status,
		At:            at,
	})
	if lim := s.opts.RequestLogLimit; lim > 0 && len(s.requests) > lim {
		n := copy(s.requests, s.requests[len(s.requests)-lim:])
		clear(s.requests[n:])
		s.requests = s.requests[:n]
	}
}

func (s *Server) takeFault(route, path string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.route != "*" && f.route != route && f.route != path {
			continue
		}
		if f.left > 0 {
			f.left--
			if f.left == 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
		}
		return f.fault, true
	}
	return Fault{}, false
}

// admit applies the rolling rate limit and the quota to one Web API request.
func (s *Server) admit() (ok bool, retryAfter, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.quota > 0 {
		if s.quotaStart.IsZero() || !now.Before(s.quotaStart.Add(s.opts.QuotaPeriod)) {
			s.quotaStart = now
			s.quotaUsed = 0
		}
		if s.quotaUsed >= s.quota {
			return false, RetryAfterSeconds(s.quotaStart.Add(s.opts.QuotaPeriod).Sub(now)), "QUOTA_EXCEEDED"
		}
	}
	if s.rateLimit > 0 {
		cut := now.Add(-RateLimitWindow)
		i := 0
		for i < len(s.admitted) && !s.admitted[i].After(cut) {
			i++
		}
		s.admitted = s.admitted[i:]
		if len(s.admitted) >= s.rateLimit {
			oldest := s.admitted[len(s.admitted)-s.rateLimit]
			wait := oldest.Add(RateLimitWindow).Sub(now)
			if wait < time.Second {
				wait = time.Second
			}
			return false, RetryAfterSeconds(wait), ""
		}
		s.admitted = append(s.admitted, now)
	}
	if s.quota > 0 {
		s.quotaUsed++
	}
	return true, "", ""
}
