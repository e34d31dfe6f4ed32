package spotifyhisttest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Defaults for [SimConfig].
const (
	SimUserIDPrefixDefault      = "simuser"
	SimCatalogueSizeDefault     = 5000
	SimSessionsPerDayDefault    = 3.0
	SimSessionLengthDefault     = 45 * time.Minute
	SimLocalShareDefault        = 0.03
	SimEpisodeShareDefault      = 0.02
	SimAdShareDefault           = 0.02
	SimSkipRateDefault          = 0.25
	SimReplayRateDefault        = 0.04
	SimPauseShareDefault        = 0.03
	SimOfflineShareDefault      = 0.03
	SimOfflineSyncMaxDefault    = 6 * time.Hour
	SimPrivateShareDefault      = 0.03
	SimSkippedOmitShareDefault  = 0.5
	SimLagMedianDefault         = 15 * time.Second
	SimLagLongShareDefault      = 0.01
	SimLagLongMaxDefault        = 2 * time.Hour
	SimPlaylistsPerUserDefault  = 3
	SimDurationDefault          = 24 * time.Hour
	minQualifyingMS             = 30_000
	maxShortLag                 = 10 * time.Minute
	simNightStartHour           = 1
	simNightEndHour             = 7
	simTracksPerAlbum           = 10
	simAlbumsPerArtist          = 2
	simShows                    = 5
	simEpisodesPerShow          = 10
	simMinSessionLength         = 3 * time.Minute
	simMaxSessionLength         = 6 * time.Hour
	simMinGapBetweenSessions    = 10 * time.Minute
	simExportDuplicateOffsetMin = 50 * time.Second
)

// SimConfig configures a [Simulator]. Shares and rates are probabilities in
// [0, 1]: zero means the default, a negative value means none.
type SimConfig struct {
	// Seed makes everything deterministic: equal configs give equal output.
	Seed int64
	// Start and End bound the simulated period. Start zero means
	// 2026-09-01T00:00:00Z; End zero means Start + 24 h.
	Start, End time.Time
	// Users is the number of simulated listeners. Default 1.
	Users int
	// UserIDPrefix prefixes user IDs ("simuser" gives "simuser00001" …).
	UserIDPrefix string
	// CatalogueSize is the number of tracks in the shared catalogue.
	// Default 5000.
	CatalogueSize int
	// SessionsPerDay is each user's mean number of listening sessions a day
	// (varied per user by up to ±50 %). Default 3.
	SessionsPerDay float64
	// SessionLength is the mean session length. Default 45 min.
	SessionLength time.Duration
	// LocalShare is the share of streams that are local files. Default 0.03.
	LocalShare float64
	// EpisodeShare is the share of streams that are podcast episodes.
	// Default 0.02.
	EpisodeShare float64
	// AdShare is the share of online streams that are ads. Default 0.02.
	AdShare float64
	// SkipRate is the share of tracks skipped before their end (about 60 %
	// of those before 30 s). Default 0.25.
	SkipRate float64
	// ReplayRate is the chance that a finished track is played again at
	// once. Default 0.04.
	ReplayRate float64
	// PauseShare is the share of streams paused once for 10 s – 10 min.
	// Default 0.03.
	PauseShare float64
	// OfflineShare is the share of sessions played offline: invisible to
	// currently-playing, synced to recently-played later with their past
	// played_at. Default 0.03.
	OfflineShare float64
	// OfflineSyncMax is the longest delay between an offline session's end
	// and its sync. Default 6 h.
	OfflineSyncMax time.Duration
	// PrivateShare is the share of sessions in a private session: never in
	// recently-played nor currently-playing. Default 0.03.
	PrivateShare float64
	// SkippedOmitShare is the share of skipped streams of ≥ 30 s that
	// recently-played leaves out, as Spotify often does. Default 0.5.
	SkippedOmitShare float64
	// LagMedian is the median delay between a play's end and its appearance
	// in recently-played (exponential, at most 10 min). Default 15 s.
	LagMedian time.Duration
	// LagLongShare is the share of plays that appear in recently-played only
	// after 10 min – LagLongMax. Default 0.01.
	LagLongShare float64
	// LagLongMax bounds the long lags. Default 2 h; at most 24 h.
	LagLongMax time.Duration
	// DisableIdleNights lets sessions start at any hour. By default no
	// session starts between 01:00 and 07:00 in the user's time zone.
	DisableIdleNights bool
	// PlaylistsPerUser is how many playlists each user owns. Default 3;
	// negative means none.
	PlaylistsPerUser int
	// ExportLocalURIs makes export rows of local files carry their
	// spotify:local: URI; by default they carry names and a null URI.
	ExportLocalURIs bool
	// ExportDuplicateShare is the share of export rows repeated with a ts
	// about a minute later, a quirk of real exports. Default none.
	ExportDuplicateShare float64
}

func share(v, def float64) float64 {
	switch {
	case v < 0:
		return 0
	case v == 0:
		return def
	default:
		return min(v, 1)
	}
}

func (c SimConfig) withDefaults() SimConfig {
	if c.Start.IsZero() {
		c.Start = time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	}
	if c.End.IsZero() || !c.End.After(c.Start) {
		c.End = c.Start.Add(SimDurationDefault)
	}
	if c.Users <= 0 {
		c.Users = 1
	}
	if c.UserIDPrefix == "" {
		c.UserIDPrefix = SimUserIDPrefixDefault
	}
	if c.CatalogueSize <= 0 {
		c.CatalogueSize = SimCatalogueSizeDefault
	}
	c.CatalogueSize = max(c.CatalogueSize, simTracksPerAlbum)
	if c.SessionsPerDay <= 0 {
		c.SessionsPerDay = SimSessionsPerDayDefault
	}
	if c.SessionLength <= 0 {
		c.SessionLength = SimSessionLengthDefault
	}
	c.LocalShare = share(c.LocalShare, SimLocalShareDefault)
	c.EpisodeShare = share(c.EpisodeShare, SimEpisodeShareDefault)
	c.AdShare = share(c.AdShare, SimAdShareDefault)
	c.SkipRate = share(c.SkipRate, SimSkipRateDefault)
	c.ReplayRate = share(c.ReplayRate, SimReplayRateDefault)
	c.PauseShare = share(c.PauseShare, SimPauseShareDefault)
	c.OfflineShare = share(c.OfflineShare, SimOfflineShareDefault)
	c.PrivateShare = share(c.PrivateShare, SimPrivateShareDefault)
	c.SkippedOmitShare = share(c.SkippedOmitShare, SimSkippedOmitShareDefault)
	c.LagLongShare = share(c.LagLongShare, SimLagLongShareDefault)
	c.ExportDuplicateShare = max(0, min(c.ExportDuplicateShare, 1))
	if c.OfflineSyncMax <= 0 {
		c.OfflineSyncMax = SimOfflineSyncMaxDefault
	}
	if c.LagMedian == 0 {
		c.LagMedian = SimLagMedianDefault
	}
	c.LagMedian = max(c.LagMedian, 0)
	if c.LagLongMax <= maxShortLag {
		c.LagLongMax = SimLagLongMaxDefault
	}
	c.LagLongMax = min(c.LagLongMax, 24*time.Hour)
	switch {
	case c.PlaylistsPerUser == 0:
		c.PlaylistsPerUser = SimPlaylistsPerUserDefault
	case c.PlaylistsPerUser < 0:
		c.PlaylistsPerUser = 0
	}
	return c
}

// StreamKind says what a stream played.
type StreamKind int

// Stream kinds. Local files are StreamTrack with Track.IsLocal.
const (
	StreamTrack StreamKind = iota
	StreamEpisode
	StreamAd
)

func (k StreamKind) String() string {
	switch k {
	case StreamTrack:
		return "track"
	case StreamEpisode:
		return "episode"
	case StreamAd:
		return "ad"
	}
	return "StreamKind(" + strconv.Itoa(int(k)) + ")"
}

// Stream is one simulated stream: the ground truth of what a user heard.
type Stream struct {
	Kind    StreamKind
	Track   Track   // StreamTrack
	Episode Episode // StreamEpisode
	// Start and End bound the stream, pauses included. Spotify's played_at
	// and the export's ts are End.
	Start, End time.Time
	// MSPlayed is the time actually listened.
	MSPlayed int
	// PausedAt is the position at which the stream was paused for Paused;
	// zero Paused means no pause.
	PausedAt, Paused time.Duration
	Skipped          bool
	Private          bool
	Offline          bool
	Shuffle          bool
	// SyncedAt is when an offline stream reached Spotify; End otherwise.
	SyncedAt time.Time
	// RecentlyPlayedAt is when the stream starts to show in recently-played;
	// zero if it never does (private, local, episode, ad, short, or an
	// omitted skip).
	RecentlyPlayedAt time.Time
	ContextURI       string
	ReasonStart      string
	ReasonEnd        string
}

// Qualifies reports whether the stream is a play a perfect tracker stores:
// a track (local files included) heard for at least 30 s outside a private
// session.
func (s Stream) Qualifies() bool {
	return s.Kind == StreamTrack && !s.Private && s.MSPlayed >= minQualifyingMS
}

// TruthPlay is the ground-truth summary of one stream.
type TruthPlay struct {
	Kind     StreamKind
	TrackID  string // empty for local files, episodes and ads
	TrackURI string // track or local URI; the episode URI for episodes; empty for ads
	IsLocal  bool
	Start    time.Time
	End      time.Time // what a tracker stores as played_at
	MSPlayed int
	// Qualifies marks what a perfect tracker stores: a track (local included)
	// of ≥ 30 s, not private.
	Qualifies bool
	Skipped   bool
	Private   bool
	Offline   bool
	// RecentlyPlayedAt is when it shows in recently-played; zero if never.
	RecentlyPlayedAt time.Time
	// RecentlyPlayedReachable reports whether, once visible, the play is
	// among the 50 latest visible plays for a while, so that a poller can
	// see it. A play that syncs late behind 50 newer ones never is.
	RecentlyPlayedReachable bool
	// LiveVisible reports whether currently-playing shows it while it plays
	// (online and not private).
	LiveVisible bool
}

// Simulator generates deterministic listening timelines for virtual users
// and serves them through a [Server] (Options.Simulator). Users are
// generated lazily on first use and kept compactly (about 40 bytes a
// stream). Its methods are safe for concurrent use.
type Simulator struct {
	cfg           SimConfig
	catalogue     []Track
	trackIndex    map[string]int32
	artists       []Artist
	artistIndex   map[string]int
	episodes      []Episode
	episodeIndex  map[string]int
	playlistIndex map[string]int64 // playlist ID → user<<16 | k
	userIndex     map[string]int
	slots         []userSlot
}

type userSlot struct {
	once sync.Once
	u    *simUser
}

// simUser is a generated user, kept compact: names, local files and
// playlists are rebuilt from the seed when needed.
type simUser struct {
	idx       int
	tz        int8 // hours east of UTC
	country   uint8
	ip        uint8
	phone     bool
	volume    uint8
	nLocals   int
	playlists []simPlaylist
	streams   []stream
}

type simPlaylist struct {
	rows    []simRow
	public  int8 // 1 true, 0 false, -1 null
	old     bool // rows without added_at
	created int64
}

type simRow struct {
	item int32
	kind uint8 // kindTrack, kindLocal, kindEpisode or rowRemoved
}

// stream is the compact in-memory form of a Stream (40 bytes).
type stream struct {
	start   int64  // unix ms
	played  int32  // ms
	pauseAt int32  // ms into playback
	pause   int32  // ms
	item    int32  // catalogue, local or episode index
	ctx     int32  // -1 none; ≥ 0 album index; -(2+k) the user's playlist k
	syncS   uint32 // offline: seconds from end to sync
	lag     uint32 // ms from sync to recently-played, if flagVisible
	kind    uint8
	flags   uint8
	rStart  uint8
	rEnd    uint8
}

func (s *stream) end() int64    { return s.start + int64(s.played) + int64(s.pause) }
func (s *stream) synced() int64 { return s.end() + int64(s.syncS)*1000 }

func (s *stream) visible() int64 {
	if s.flags&flagVisible == 0 {
		return 0
	}
	return s.synced() + int64(s.lag)
}

const (
	kindTrack uint8 = iota
	kindLocal
	kindEpisode
	kindAd
	rowRemoved = kindAd
)

const (
	flagSkipped uint8 = 1 << iota
	flagPrivate
	flagOffline
	flagShuffle
	flagVisible
)

var reasons = []string{"appload", "backbtn", "clickrow", "clickside", "endplay", "fwdbtn", "logout",
	"playbtn", "remote", "trackdone", "trackerror", "unexpected-exit", "unexpected-exit-while-paused", "unknown", "uriopen"}

func reasonIndex(r string) uint8 { return uint8(slices.Index(reasons, r)) }

var countries = []string{"US", "GB", "DE", "FR", "SE", "BR", "JP", "NL", "ES", "CA"}

// NewSimulator builds the shared catalogue and user index. Users'
// timelines are generated on first use.
func NewSimulator(cfg SimConfig) *Simulator {
	c := cfg.withDefaults()
	sim := &Simulator{
		cfg:           c,
		trackIndex:    make(map[string]int32, c.CatalogueSize),
		artistIndex:   map[string]int{},
		episodeIndex:  map[string]int{},
		playlistIndex: make(map[string]int64, c.Users*c.PlaylistsPerUser),
		userIndex:     make(map[string]int, c.Users),
		slots:         make([]userSlot, c.Users),
	}
	sim.buildCatalogue()
	for i := range c.Users {
		sim.userIndex[sim.UserID(i)] = i
		for k := range c.PlaylistsPerUser {
			sim.playlistIndex[sim.playlistID(i, k)] = int64(i)<<16 | int64(k)
		}
	}
	return sim
}

// Config returns the configuration with defaults applied.
func (sim *Simulator) Config() SimConfig { return sim.cfg }

// UserID returns the ID of user i (0-based): UserIDPrefix and i+1 with at
// least five digits.
func (sim *Simulator) UserID(i int) string {
	width := max(len(strconv.Itoa(sim.cfg.Users)), 5)
	return fmt.Sprintf("%s%0*d", sim.cfg.UserIDPrefix, width, i+1)
}

// UserIDs returns every simulated user's ID, in order.
func (sim *Simulator) UserIDs() []string {
	out := make([]string, sim.cfg.Users)
	for i := range out {
		out[i] = sim.UserID(i)
	}
	return out
}

// Catalogue returns the shared catalogue's tracks.
func (sim *Simulator) Catalogue() []Track { return slices.Clone(sim.catalogue) }

// Track returns a catalogue track by ID.
func (sim *Simulator) Track(id string) (Track, bool) {
	i, ok := sim.trackIndex[id]
	if !ok {
		return Track{}, false
	}
	return sim.catalogue[i], true
}

// Episode returns a simulated podcast episode by ID.
func (sim *Simulator) Episode(id string) (Episode, bool) {
	i, ok := sim.episodeIndex[id]
	if !ok {
		return Episode{}, false
	}
	return sim.episodes[i], true
}

// Artist returns a catalogue artist by ID.
func (sim *Simulator) Artist(id string) (Artist, bool) {
	i, ok := sim.artistIndex[id]
	if !ok {
		return Artist{}, false
	}
	return sim.artists[i], true
}

// User returns the simulated user with that ID.
func (sim *Simulator) User(id string) (User, bool) { return sim.user(id) }

func (sim *Simulator) user(id string) (User, bool) {
	i, ok := sim.userIndex[id]
	if !ok {
		return User{}, false
	}
	return User{ID: id, DisplayName: fmt.Sprintf("Sim Listener %d", i+1)}, true
}

// get returns the generated state of user id, generating it on first use.
func (sim *Simulator) get(id string) *simUser {
	i, ok := sim.userIndex[id]
	if !ok {
		return nil
	}
	slot := &sim.slots[i]
	slot.once.Do(func() { slot.u = sim.generateUser(i) })
	return slot.u
}

// LocalFiles returns the local files in userID's library.
func (sim *Simulator) LocalFiles(userID string) []Track {
	u := sim.get(userID)
	if u == nil {
		return nil
	}
	return sim.localLibrary(u.idx)
}

// Streams returns every stream of userID in time order, nil for an unknown
// user.
func (sim *Simulator) Streams(userID string) []Stream {
	u := sim.get(userID)
	if u == nil {
		return nil
	}
	var locals []Track
	out := make([]Stream, len(u.streams))
	for i := range u.streams {
		out[i] = sim.expand(u, &u.streams[i], &locals)
	}
	return out
}

// StreamAt returns the stream of userID playing at t (Start ≤ t < End).
func (sim *Simulator) StreamAt(userID string, t time.Time) (Stream, bool) {
	u := sim.get(userID)
	if u == nil {
		return Stream{}, false
	}
	st := u.covering(t.UnixMilli())
	if st == nil {
		return Stream{}, false
	}
	var locals []Track
	return sim.expand(u, st, &locals), true
}

// Truth returns the ground truth of userID: every stream in time order with
// whether a perfect tracker stores it (Qualifies; played_at = End).
func (sim *Simulator) Truth(userID string) []TruthPlay {
	u := sim.get(userID)
	if u == nil {
		return nil
	}
	var locals []Track
	out := make([]TruthPlay, 0, len(u.streams))
	for i := range u.streams {
		st := &u.streams[i]
		tp := TruthPlay{
			Start:       msTime(st.start),
			End:         msTime(st.end()),
			MSPlayed:    int(st.played),
			Skipped:     st.flags&flagSkipped != 0,
			Private:     st.flags&flagPrivate != 0,
			Offline:     st.flags&flagOffline != 0,
			LiveVisible: st.flags&(flagPrivate|flagOffline) == 0,
		}
		if v := st.visible(); v != 0 {
			tp.RecentlyPlayedAt = msTime(v)
			tp.RecentlyPlayedReachable = u.reachable(i, v)
		}
		switch st.kind {
		case kindTrack:
			tp.Kind = StreamTrack
			tp.TrackID = sim.catalogue[st.item].ID
			tp.TrackURI = sim.catalogue[st.item].URI
		case kindLocal:
			if locals == nil {
				locals = sim.localLibrary(u.idx)
			}
			tp.Kind = StreamTrack
			tp.TrackURI = locals[st.item].URI
			tp.IsLocal = true
		case kindEpisode:
			tp.Kind = StreamEpisode
			tp.TrackURI = sim.episodes[st.item].EpisodeURI()
		case kindAd:
			tp.Kind = StreamAd
		}
		tp.Qualifies = tp.Kind == StreamTrack && !tp.Private && tp.MSPlayed >= minQualifyingMS
		out = append(out, tp)
	}
	return out
}

// reachable reports whether stream i, visible from v, is within the
// recently-played window at v: fewer than 50 later plays are visible by
// then. Later times only add newer plays, so v is its best moment.
func (u *simUser) reachable(i int, v int64) bool {
	newer := 0
	for j := i + 1; j < len(u.streams) && u.streams[j].start < v; j++ {
		if vj := u.streams[j].visible(); vj != 0 && vj <= v {
			newer++
			if newer >= RecentlyPlayedWindow {
				return false
			}
		}
	}
	return true
}

func (u *simUser) covering(t int64) *stream {
	// i is the first stream starting after t.
	i, _ := slices.BinarySearchFunc(u.streams, t, func(s stream, t int64) int {
		if s.start <= t {
			return -1
		}
		return 1
	})
	if i == 0 {
		return nil
	}
	st := &u.streams[i-1]
	if t < st.end() {
		return st
	}
	return nil
}

func msTime(v int64) time.Time { return time.UnixMilli(v).UTC() }

func (sim *Simulator) expand(u *simUser, st *stream, locals *[]Track) Stream {
	s := Stream{
		Start:       msTime(st.start),
		End:         msTime(st.end()),
		MSPlayed:    int(st.played),
		PausedAt:    time.Duration(st.pauseAt) * time.Millisecond,
		Paused:      time.Duration(st.pause) * time.Millisecond,
		Skipped:     st.flags&flagSkipped != 0,
		Private:     st.flags&flagPrivate != 0,
		Offline:     st.flags&flagOffline != 0,
		Shuffle:     st.flags&flagShuffle != 0,
		SyncedAt:    msTime(st.synced()),
		ContextURI:  sim.contextURI(u, st.ctx),
		ReasonStart: reasons[st.rStart],
		ReasonEnd:   reasons[st.rEnd],
	}
	if v := st.visible(); v != 0 {
		s.RecentlyPlayedAt = msTime(v)
	}
	switch st.kind {
	case kindTrack:
		s.Kind = StreamTrack
		s.Track = sim.catalogue[st.item]
	case kindLocal:
		if *locals == nil {
			*locals = sim.localLibrary(u.idx)
		}
		s.Kind = StreamTrack
		s.Track = (*locals)[st.item]
	case kindEpisode:
		s.Kind = StreamEpisode
		s.Episode = sim.episodes[st.item]
	case kindAd:
		s.Kind = StreamAd
	}
	return s
}

func (sim *Simulator) contextURI(u *simUser, ctx int32) string {
	switch {
	case ctx == -1:
		return ""
	case ctx >= 0:
		return "spotify:album:" + sim.catalogue[int(ctx)*simTracksPerAlbum].Album.ID
	default:
		return "spotify:playlist:" + sim.playlistID(u.idx, int(-ctx-2))
	}
}

// ---- server-facing views ----

// recentlyPlayed returns the recently-played window at now: the 50 latest
// plays visible by now, newest first.
func (sim *Simulator) recentlyPlayed(userID string, now time.Time) []recentEntry {
	u := sim.get(userID)
	if u == nil {
		return nil
	}
	t := now.UnixMilli()
	// Streams are sequential, so ordering by start also orders by end:
	// walking back from the last stream ended by now yields played_at
	// newest first.
	i, _ := slices.BinarySearchFunc(u.streams, t, func(s stream, t int64) int {
		if s.end() <= t {
			return -1
		}
		return 1
	})
	out := make([]recentEntry, 0, RecentlyPlayedWindow)
	for j := i - 1; j >= 0 && len(out) < RecentlyPlayedWindow; j-- {
		st := &u.streams[j]
		if v := st.visible(); v == 0 || v > t {
			continue
		}
		out = append(out, recentEntry{
			track:    sim.catalogue[st.item],
			playedAt: msTime(st.end()),
			context:  sim.contextURI(u, st.ctx),
		})
	}
	return out
}

func (sim *Simulator) device(u *simUser) Device {
	vol := int(u.volume)
	d := Device{ID: hashHex("device:" + sim.UserID(u.idx))[:40], VolumePercent: &vol}
	if u.phone {
		d.Name, d.Type = "Sim Phone", "Smartphone"
	} else {
		d.Name, d.Type, d.SupportsVolume = "Sim Laptop", "Computer", true
	}
	return d
}

func (sim *Simulator) playback(userID string, now time.Time) *playbackView {
	u := sim.get(userID)
	if u == nil {
		return nil
	}
	t := now.UnixMilli()
	st := u.covering(t)
	if st == nil || st.flags&flagOffline != 0 {
		return nil
	}
	v := &playbackView{
		isPlaying: true,
		context:   sim.contextURI(u, st.ctx),
		device:    sim.device(u),
		shuffle:   st.flags&flagShuffle != 0,
		repeat:    "off",
		changedAt: msTime(st.start),
	}
	v.device.IsPrivateSession = st.flags&flagPrivate != 0
	elapsed := t - st.start
	switch pauseStart := int64(st.pauseAt); {
	case st.pause == 0 || elapsed < pauseStart:
		v.progress = time.Duration(elapsed) * time.Millisecond
	case elapsed < pauseStart+int64(st.pause):
		v.progress = time.Duration(pauseStart) * time.Millisecond
		v.isPlaying = false
		v.changedAt = msTime(st.start + pauseStart)
	default:
		v.progress = time.Duration(elapsed-int64(st.pause)) * time.Millisecond
		v.changedAt = msTime(st.start + pauseStart + int64(st.pause))
	}
	switch st.kind {
	case kindTrack:
		tr := sim.catalogue[st.item]
		v.typ, v.track, v.durationMS = PlaybackTrack, &tr, tr.DurationMS
	case kindLocal:
		tr := sim.localLibrary(u.idx)[st.item]
		v.typ, v.track, v.durationMS = PlaybackTrack, &tr, tr.DurationMS
	case kindEpisode:
		ep := sim.episodes[st.item]
		v.typ, v.episode, v.durationMS = PlaybackEpisode, &ep, ep.DurationMS
	case kindAd:
		v.typ = PlaybackAd
		v.context = ""
	}
	return v
}

func (sim *Simulator) playlistID(user, k int) string {
	return ID(fmt.Sprintf("sim:%d:playlist:%d:%d", sim.cfg.Seed, user, k))
}

// Playlists returns the playlists userID owns.
func (sim *Simulator) Playlists(userID string) []Playlist {
	var out []Playlist
	for _, p := range sim.playlistsOf(userID) {
		out = append(out, *p)
	}
	return out
}

func (sim *Simulator) playlist(id string) (*Playlist, bool) {
	ref, ok := sim.playlistIndex[id]
	if !ok {
		return nil, false
	}
	u := sim.get(sim.UserID(int(ref >> 16)))
	return sim.materialize(u, int(ref&0xffff), nil), true
}

func (sim *Simulator) playlistsOf(userID string) []*Playlist {
	u := sim.get(userID)
	if u == nil {
		return nil
	}
	locals := sim.localLibrary(u.idx)
	out := make([]*Playlist, len(u.playlists))
	for k := range u.playlists {
		out[k] = sim.materialize(u, k, locals)
	}
	return out
}

// materialize builds playlist k of u. Rows point into the shared catalogue.
func (sim *Simulator) materialize(u *simUser, k int, locals []Track) *Playlist {
	sp := &u.playlists[k]
	id := sim.UserID(u.idx)
	p := &Playlist{
		ID:      sim.playlistID(u.idx, k),
		Name:    playlistNames[(u.idx+k)%len(playlistNames)],
		OwnerID: id,
		Rows:    make([]PlaylistRow, len(sp.rows)),
	}
	switch sp.public {
	case 1:
		p.Public = boolp(true)
	case 0:
		p.Public = boolp(false)
	}
	for j, row := range sp.rows {
		r := PlaylistRow{AddedBy: id}
		if !sp.old {
			r.AddedAt = time.Unix(sp.created+int64(j)*36*3600+int64(row.item%86400), 0).UTC()
		}
		switch row.kind {
		case kindTrack:
			r.Track = &sim.catalogue[row.item]
		case kindLocal:
			if locals == nil {
				locals = sim.localLibrary(u.idx)
			}
			r.Track = &locals[row.item]
		case kindEpisode:
			r.Episode = &sim.episodes[row.item]
		}
		p.Rows[j] = r
	}
	return p
}

// ---- generation ----

func (sim *Simulator) rng(streams ...uint64) *rand.Rand {
	a := uint64(sim.cfg.Seed) ^ 0x9e3779b97f4a7c15
	b := uint64(0x632be59bd9b4e019)
	for _, s := range streams {
		b = b*0x100000001b3 ^ s
		a = a*6364136223846793005 + 1442695040888963407 + s
	}
	return rand.New(rand.NewPCG(a, b))
}

func (sim *Simulator) buildCatalogue() {
	c := sim.cfg
	r := sim.rng(1)
	nAlbums := (c.CatalogueSize + simTracksPerAlbum - 1) / simTracksPerAlbum
	nArtists := max(1, nAlbums/simAlbumsPerArtist)
	sim.artists = make([]Artist, nArtists)
	for i := range sim.artists {
		a := Artist{ID: ID(fmt.Sprintf("sim:%d:artist:%d", c.Seed, i)), Name: artistName(r, i)}
		sim.artists[i] = a
		sim.artistIndex[a.ID] = i
	}
	albums := make([]Album, nAlbums)
	for i := range albums {
		artist := sim.artists[r.IntN(nArtists)]
		year := 1965 + r.IntN(62)
		al := Album{
			ID:      ID(fmt.Sprintf("sim:%d:album:%d", c.Seed, i)),
			Name:    albumName(r, i),
			Artists: []Artist{artist},
		}
		switch x := r.IntN(10); {
		case x < 6:
			al.AlbumType, al.ReleaseDate, al.ReleaseDatePrecision = "album", fmt.Sprintf("%d-%02d-%02d", year, 1+r.IntN(12), 1+r.IntN(28)), "day"
		case x < 9:
			al.AlbumType, al.ReleaseDate, al.ReleaseDatePrecision = "single", fmt.Sprintf("%d-%02d", year, 1+r.IntN(12)), "month"
		default:
			al.AlbumType, al.ReleaseDate, al.ReleaseDatePrecision = "compilation", strconv.Itoa(year), "year"
		}
		albums[i] = al
	}
	sim.catalogue = make([]Track, c.CatalogueSize)
	for i := range sim.catalogue {
		al := albums[i/simTracksPerAlbum]
		al.TotalTracks = min(simTracksPerAlbum, c.CatalogueSize-i/simTracksPerAlbum*simTracksPerAlbum)
		artists := []Artist{al.Artists[0]}
		if r.Float64() < 0.15 {
			artists = append(artists, sim.artists[r.IntN(nArtists)])
		}
		dur := int(math.Exp(math.Log(210_000)+0.3*r.NormFloat64())) + r.IntN(1000)
		dur = max(75_000, min(dur, 540_000))
		t := Track{
			ID:          ID(fmt.Sprintf("sim:%d:track:%d", c.Seed, i)),
			Name:        trackName(r, i),
			DurationMS:  dur,
			Explicit:    r.Float64() < 0.1,
			DiscNumber:  1,
			TrackNumber: i%simTracksPerAlbum + 1,
			ISRC:        fmt.Sprintf("%s%s%02d%05d", []string{"US", "GB", "SE", "DE", "FR", "JP"}[r.IntN(6)], "S1M", r.IntN(100), i%100000),
			Album:       al,
			Artists:     artists,
		}
		t.URI = "spotify:track:" + t.ID
		sim.catalogue[i] = t
		sim.trackIndex[t.ID] = int32(i)
	}
	for sh := range simShows {
		show := Show{
			ID:        ID(fmt.Sprintf("sim:%d:show:%d", c.Seed, sh)),
			Name:      showNames[sh%len(showNames)],
			Publisher: "Sim Audio Network",
		}
		for e := range simEpisodesPerShow {
			ep := Episode{
				ID:          ID(fmt.Sprintf("sim:%d:episode:%d:%d", c.Seed, sh, e)),
				Name:        fmt.Sprintf("%s #%d: %s", show.Name, 100+e, titleCase(words[r.IntN(len(words))])),
				Description: "A simulated episode.",
				DurationMS:  (15 + r.IntN(75)) * 60_000,
				ReleaseDate: fmt.Sprintf("2026-%02d-%02d", 1+r.IntN(8), 1+r.IntN(28)),
				Show:        show,
			}
			sim.episodeIndex[ep.ID] = len(sim.episodes)
			sim.episodes = append(sim.episodes, ep)
		}
	}
}

func (sim *Simulator) generateUser(i int) *simUser {
	r := sim.rng(2, uint64(i))
	u := &simUser{
		idx:     i,
		tz:      int8(r.IntN(18) - 8),
		country: uint8(r.IntN(len(countries))),
		ip:      uint8(1 + r.IntN(254)),
		phone:   r.IntN(2) == 0,
		volume:  uint8(40 + r.IntN(60)),
		nLocals: len(sim.localLibrary(i)),
	}
	taste := r.IntN(len(sim.catalogue))
	zipf := rand.NewZipf(r, 1.07, 2, uint64(len(sim.catalogue)-1))
	pick := func() int32 { return int32((int(zipf.Uint64()) + taste) % len(sim.catalogue)) }
	u.playlists = sim.userPlaylists(r, u, pick)
	u.streams = sim.timeline(r, u, pick)
	return u
}

// localLibrary returns user i's local files; it is rebuilt from the seed
// on each call rather than kept.
func (sim *Simulator) localLibrary(i int) []Track {
	r := sim.rng(5, uint64(i))
	// Two near-identical files on one album with the same duration: their
	// URIs differ only in the title, which a truncated key would merge.
	artist := artistName(r, 1000+r.IntN(1000))
	album := albumName(r, 1000+r.IntN(1000)) + " (Deluxe)"
	secs := 240 + r.IntN(120)
	locals := []Track{
		LocalTrack(artist, album, "One More Time", secs),
		LocalTrack(artist, album, "One Morning", secs),
	}
	n := 8 + r.IntN(10)
	for k := range n {
		a, al := artistName(r, 2000+r.IntN(1000)), albumName(r, 2000+r.IntN(1000))
		switch k % 5 {
		case 3:
			a, al = "", "" // untagged file: spotify:local:::Title:123
		case 4:
			al += " (Live & Unplugged)"
		}
		locals = append(locals, LocalTrack(a, al, trackName(r, 5000+k), 90+r.IntN(300)))
	}
	return locals
}

func (sim *Simulator) userPlaylists(r *rand.Rand, u *simUser, pick func() int32) []simPlaylist {
	c := sim.cfg
	out := make([]simPlaylist, c.PlaylistsPerUser)
	for k := range out {
		sp := simPlaylist{
			old:     r.IntN(10) == 0,
			created: c.Start.AddDate(-2, 0, 0).Unix() + r.Int64N(86400*300),
		}
		switch k % 3 {
		case 0:
			sp.public = 1
		case 1:
			sp.public = 0
		default:
			sp.public = -1
		}
		n := 5 + r.IntN(56)
		sp.rows = make([]simRow, n)
		for j := range sp.rows {
			switch x := r.Float64(); {
			case x < 0.05:
				sp.rows[j] = simRow{item: int32(r.IntN(u.nLocals)), kind: kindLocal}
			case x < 0.07:
				sp.rows[j] = simRow{item: int32(r.IntN(len(sim.episodes))), kind: kindEpisode}
			case x < 0.09:
				sp.rows[j] = simRow{kind: rowRemoved} // content removed from Spotify: item null
			default:
				sp.rows[j] = simRow{item: pick(), kind: kindTrack}
			}
		}
		out[k] = sp
	}
	return out
}

// uniformMS returns a uniform duration in [lo, hi] in milliseconds.
func uniformMS(r *rand.Rand, lo, hi time.Duration) int64 {
	a, b := lo.Milliseconds(), hi.Milliseconds()
	if b <= a {
		return a
	}
	return a + r.Int64N(b-a+1)
}

func expMS(r *rand.Rand, mean time.Duration) int64 {
	return int64(r.ExpFloat64() * float64(mean.Milliseconds()))
}

func (sim *Simulator) timeline(r *rand.Rand, u *simUser, pick func() int32) []stream {
	c := sim.cfg
	start, end := c.Start.UnixMilli(), c.End.UnixMilli()
	perDay := c.SessionsPerDay * (0.5 + r.Float64())
	awake := 24 * time.Hour
	if !c.DisableIdleNights {
		awake = 18 * time.Hour
	}
	meanGap := max(time.Duration(float64(awake)/perDay)-c.SessionLength, simMinGapBetweenSessions)
	days := c.End.Sub(c.Start).Hours() / 24
	out := make([]stream, 0, int(days*perDay*float64(c.SessionLength)/float64(3*time.Minute))+8)
	var ctxTracks []int32

	t := start + expMS(r, meanGap)/2
	for {
		if !c.DisableIdleNights {
			t = skipNight(r, u, t)
		}
		if t >= end {
			break
		}
		sessEnd := t + min(max(expMS(r, c.SessionLength), simMinSessionLength.Milliseconds()), simMaxSessionLength.Milliseconds())
		var flags uint8
		switch x := r.Float64(); {
		case x < c.PrivateShare:
			flags |= flagPrivate
		case x < c.PrivateShare+c.OfflineShare:
			flags |= flagOffline
		}
		if r.Float64() < 0.4 {
			flags |= flagShuffle
		}
		ctx := int32(-1)
		ctxTracks = ctxTracks[:0]
		switch x := r.Float64(); {
		case x < 0.4 && len(u.playlists) > 0:
			k := r.IntN(len(u.playlists))
			ctx = int32(-2 - k)
			for _, row := range u.playlists[k].rows {
				if row.kind == kindTrack {
					ctxTracks = append(ctxTracks, row.item)
				}
			}
		case x < 0.65:
			al := int(pick()) / simTracksPerAlbum
			ctx = int32(al)
			for j := al * simTracksPerAlbum; j < min(len(sim.catalogue), (al+1)*simTracksPerAlbum); j++ {
				ctxTracks = append(ctxTracks, int32(j))
			}
		}
		sessStart := len(out)
		pos := 0
		var prev *stream
		for t < sessEnd && t < end {
			st := sim.nextStream(r, u, prev, flags, ctx, ctxTracks, &pos, pick)
			st.start = t
			out = append(out, st)
			prev = &out[len(out)-1]
			t = prev.end()
		}
		if len(out) > sessStart {
			last := &out[len(out)-1]
			if last.rEnd == reasonIndex("trackdone") && r.IntN(3) == 0 {
				last.rEnd = reasonIndex([]string{"endplay", "logout", "unexpected-exit"}[r.IntN(3)])
			}
		}
		var syncAt int64
		if flags&flagOffline != 0 {
			syncAt = t + uniformMS(r, 5*time.Minute, c.OfflineSyncMax)
		}
		for j := sessStart; j < len(out); j++ {
			if syncAt != 0 {
				out[j].syncS = uint32((syncAt - out[j].end()) / 1000)
			}
			sim.setVisibility(r, &out[j])
		}
		t += min(max(expMS(r, meanGap), simMinGapBetweenSessions.Milliseconds()), 3*24*time.Hour.Milliseconds())
	}
	return slices.Clip(out)
}

// nextStream draws the stream that follows prev in a session (start unset).
func (sim *Simulator) nextStream(r *rand.Rand, u *simUser, prev *stream, flags uint8, ctx int32, ctxTracks []int32, pos *int, pick func() int32) stream {
	c := sim.cfg
	st := stream{ctx: ctx, flags: flags}
	switch {
	case prev == nil:
		st.rStart = reasonIndex([]string{"clickrow", "playbtn", "appload", "uriopen", "remote"}[r.IntN(5)])
	case prev.flags&flagSkipped != 0:
		st.rStart = reasonIndex("fwdbtn")
	default:
		st.rStart = reasonIndex("trackdone")
	}
	replay := prev != nil && (prev.kind == kindTrack || prev.kind == kindLocal) &&
		prev.flags&flagSkipped == 0 && r.Float64() < c.ReplayRate
	x := r.Float64()
	var dur int64
	switch {
	case replay:
		st.kind, st.item, st.ctx = prev.kind, prev.item, prev.ctx
		if st.kind == kindTrack {
			dur = int64(sim.catalogue[st.item].DurationMS)
		} else {
			dur = int64(sim.localLibrary(u.idx)[st.item].DurationMS)
		}
		st.rStart = reasonIndex("backbtn")
	case prev != nil && flags&flagOffline == 0 && x < c.AdShare:
		st.kind, st.ctx = kindAd, -1
		dur = uniformMS(r, 15*time.Second, 30*time.Second)
	case x < c.AdShare+c.EpisodeShare:
		st.kind, st.ctx = kindEpisode, -1
		st.item = int32(r.IntN(len(sim.episodes)))
		dur = int64(sim.episodes[st.item].DurationMS)
	case x < c.AdShare+c.EpisodeShare+c.LocalShare:
		st.kind, st.ctx = kindLocal, -1
		st.item = int32(r.IntN(u.nLocals))
		dur = int64(sim.localLibrary(u.idx)[st.item].DurationMS)
	default:
		st.kind = kindTrack
		switch {
		case len(ctxTracks) == 0:
			st.item = pick()
		case flags&flagShuffle != 0:
			st.item = ctxTracks[r.IntN(len(ctxTracks))]
		default:
			st.item = ctxTracks[*pos%len(ctxTracks)]
			*pos++
		}
		dur = int64(sim.catalogue[st.item].DurationMS)
	}
	played := dur
	switch st.kind {
	case kindEpisode:
		played = uniformMS(r, 3*time.Minute, time.Duration(dur)*time.Millisecond)
		st.rEnd = reasonIndex("endplay")
		if played == dur {
			st.rEnd = reasonIndex("trackdone")
		}
	case kindAd:
		st.rEnd = reasonIndex("trackdone")
	default:
		if r.Float64() < c.SkipRate {
			st.flags |= flagSkipped
			if r.Float64() < 0.6 {
				played = uniformMS(r, 1500*time.Millisecond, 29*time.Second)
			} else {
				played = uniformMS(r, 30*time.Second, time.Duration(max(dur-3000, 30_000))*time.Millisecond)
			}
			played = min(played, dur)
			st.rEnd = reasonIndex([]string{"fwdbtn", "fwdbtn", "fwdbtn", "backbtn", "clickrow"}[r.IntN(5)])
		} else {
			st.rEnd = reasonIndex("trackdone")
		}
	}
	st.played = int32(played)
	if played > 10_000 && st.kind != kindAd && r.Float64() < c.PauseShare {
		st.pauseAt = int32(uniformMS(r, time.Second, time.Duration(played-1000)*time.Millisecond))
		st.pause = int32(uniformMS(r, 10*time.Second, 10*time.Minute))
	}
	return st
}

// setVisibility decides if and when recently-played shows the stream.
func (sim *Simulator) setVisibility(r *rand.Rand, st *stream) {
	c := sim.cfg
	lag := min(expMS(r, time.Duration(float64(c.LagMedian)/math.Ln2)), maxShortLag.Milliseconds())
	if r.Float64() < c.LagLongShare {
		lag = uniformMS(r, maxShortLag, c.LagLongMax)
	}
	omitSkip := r.Float64() < c.SkippedOmitShare
	if st.kind != kindTrack || st.flags&flagPrivate != 0 || st.played < minQualifyingMS {
		return
	}
	if st.flags&flagSkipped != 0 && omitSkip {
		return
	}
	st.flags |= flagVisible
	st.lag = uint32(lag)
}

// skipNight moves t out of the user's night (01:00–07:00 local time).
func skipNight(r *rand.Rand, u *simUser, t int64) int64 {
	tz := time.Duration(u.tz) * time.Hour
	local := time.UnixMilli(t).UTC().Add(tz)
	if h := local.Hour(); h < simNightStartHour || h >= simNightEndHour {
		return t
	}
	morning := time.Date(local.Year(), local.Month(), local.Day(), simNightEndHour, 0, 0, 0, time.UTC)
	return morning.Add(-tz).UnixMilli() + uniformMS(r, 0, 90*time.Minute)
}
