package dedupe

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/spotifyhist/spotifyhist/store"
)

// OneToOnePolicy is spotifyhist's duplicate detection; see the package
// documentation for the model. Make one with [OneToOne].
type OneToOnePolicy struct {
	o Options
}

var _ Policy = (*OneToOnePolicy)(nil)

// OneToOne returns the default policy with the given options (nil = defaults).
func OneToOne(opts *Options) *OneToOnePolicy {
	return &OneToOnePolicy{o: opts.withDefaults()}
}

// String names the policy in logs and analyses.
func (p *OneToOnePolicy) String() string { return "one_to_one" }

// Options returns the options in effect, defaults filled in.
func (p *OneToOnePolicy) Options() Options { return p.o }

// Match implements [Policy].
//
// First, duplicates within the import: entries of one recording (same
// normalised name and first artist, or the same track id when unnamed) are one
// stream when they end at the same time at their precision (for minute
// precision, or mixed precisions, ms_played must also be equal),
// or when their [end − ms_played, end] intervals overlap by at least
// InFileMinOverlap whatever their true ends within their precision. The entry
// earliest in (PlayedAt, input order) is kept; the others are
// ReasonDuplicateInFile. Excluded entries are left out of this step.
//
// Then the kept entries (excluded ones included) are matched one-to-one
// against stored plays of the same recording, as the package documentation
// describes.
func (p *OneToOnePolicy) Match(entries []Entry, stored []store.PlayWithTrack) []Decision {
	m := newMatcher(&p.o, entries, stored)
	m.inFile()
	m.buildEdges()
	m.finaliseCosts()
	m.assign()
	return m.dec
}

// kind is the time model of a play, by how it was captured.
type kind uint8

const (
	kindExact    kind = iota // export or import row: end to its precision, and its length
	kindPoint                // history row: Spotify's played_at, the end or the start
	kindObserved             // realtime row: an observed interval inside the stream
)

func kindOf(s store.Source) kind {
	switch s {
	case store.SourceHistory:
		return kindPoint
	case store.SourceRealtime:
		return kindObserved
	}
	return kindExact
}

// obs is a play reduced to its times, in Unix milliseconds.
type obs struct {
	t    int64 // played_at
	prec int64 // the true end lies in [t, t+prec]; ≥ 1
	ms   int64 // length played, 0 when unknown
	kind kind
}

// storedPrecision infers the precision of an import row from its timestamp: an
// account-data row is whole minutes, an extended-history row whole seconds.
func storedPrecision(t int64, k kind) int64 {
	if k != kindExact {
		return 1
	}
	switch {
	case t%60_000 == 0:
		return 60_000
	case t%1000 == 0:
		return 1000
	}
	return 1
}

// Rule codes of an edge.
const (
	rImport uint8 = iota
	rHistoryEnd
	rHistoryStart
	rRealtime
	rHistoryPoints
)

var ruleNames = [...]string{
	rImport:        RuleImport,
	rHistoryEnd:    RuleHistoryEnd,
	rHistoryStart:  RuleHistoryStart,
	rRealtime:      RuleRealtime,
	rHistoryPoints: RuleHistoryPoints,
}

// edge is a compatible (entry, stored play) pair.
type edge struct {
	e, s   int32
	cost   int64 // primary reading; -1 when it does not fit
	alt    int64 // history_start reading; -1 when it does not fit
	day    int32 // UTC day of the history-style side; -1 when none
	rule   uint8 // rule of the primary reading
	byName bool
	// paused: the history_start reading needs a pause (the row is earlier
	// than the export's start), which only a day of start readings allows.
	paused bool
}

const (
	msPerDay = 86_400_000
	// voteNear: a history row this close to one reading of an entry, and not to
	// the other reading of any entry, votes for that reading on its day.
	voteNear = 2000
	// namePenalty prefers a match by id over an equally close match by name.
	namePenalty = 500
	// excludedPenalty prefers an entry to import over an excluded one (mostly
	// streams under 30 s, which monitors rarely store) unless the excluded one
	// fits a stored play clearly better: by more than Spotify's played_at and
	// an export's ts of one stream usually differ (a second or two).
	excludedPenalty = 3000
)

type matcher struct {
	o       *Options
	entries []Entry
	stored  []store.PlayWithTrack
	dec     []Decision

	eo []obs
	so []obs

	// Identity.
	norm      map[string]string // name → NormalizeName(name)
	keyIDs    map[string]int32  // match key → id
	listStart []int32           // match key id → its stored plays in listData[listStart[k]:listStart[k+1]]
	listData  []int32
	keyTrack  []int32          // match key id → the one stored track carrying it, -2 when several
	entKeys   [][]int32        // entry → match key ids (id key first)
	entIDKey  []int32          // entry → id key id or -1
	group     []int32          // entry → in-file identity, -1 when none
	groupIDs  map[string]int32 // in-file identity → id

	edges []edge
	votes map[int32][2]int32 // day → end votes, start votes
}

type entInfo struct {
	group int32
	idKey int32
	keys  []int32
}

func newMatcher(o *Options, entries []Entry, stored []store.PlayWithTrack) *matcher {
	m := &matcher{
		o:        o,
		entries:  entries,
		stored:   stored,
		dec:      make([]Decision, len(entries)),
		eo:       make([]obs, len(entries)),
		so:       make([]obs, len(stored)),
		norm:     make(map[string]string),
		keyIDs:   make(map[string]int32),
		groupIDs: make(map[string]int32),
	}
	for i := range entries {
		e := &entries[i]
		d := &m.dec[i]
		d.Entry = e.Key
		if e.Excluded {
			d.Reason = ReasonExcluded
		}
		prec := e.Precision.Milliseconds()
		if prec < 1 {
			prec = 1
		}
		m.eo[i] = obs{t: e.PlayedAt.UnixMilli(), prec: prec, ms: max(int64(e.MSPlayed), 0), kind: kindOf(e.Source)}
	}
	m.indexStored()
	m.identifyEntries()
	return m
}

func (m *matcher) normalize(s string) string {
	if v, ok := m.norm[s]; ok {
		return v
	}
	v, ok := normalizeASCII(s)
	if !ok {
		v = store.NormalizeName(s)
	}
	m.norm[s] = v
	return v
}

// normalizeASCII is store.NormalizeName for ASCII strings (most names), which
// Unicode decomposition leaves alone; ok is false for other strings.
func normalizeASCII(s string) (string, bool) {
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x80:
			return "", false
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == ' ' && i > 0 && i < len(s)-1 && s[i-1] != ' ':
		default:
			clean = false
		}
	}
	if clean {
		return s, true
	}
	b := make([]byte, 0, len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		default:
			space = true
			continue
		}
		if space && len(b) > 0 {
			b = append(b, ' ')
		}
		space = false
		b = append(b, c)
	}
	return string(b), true
}

func idKey(id string) string { return "i\x00" + id }

func nameKey(name, artist string) string { return "n\x00" + name + "\x00" + artist }

func albumKey(name, album string) string { return "a\x00" + name + "\x00" + album }

// indexStored computes the stored plays' times and builds, for every identity
// key, the list of stored plays carrying it in time order (one flat array
// sliced by key).
func (m *matcher) indexStored() {
	byTime := make([]timeIdx, len(m.stored))
	for i := range m.stored {
		s := &m.stored[i]
		k := kindOf(s.Source)
		t := s.PlayedAt.UnixMilli()
		m.so[i] = obs{t: t, prec: storedPrecision(t, k), ms: max(int64(s.MSPlayed), 0), kind: k}
		byTime[i] = timeIdx{t: t, i: int32(i)}
	}
	slices.SortFunc(byTime, compareTimeIdx)
	// Keys of each distinct track, computed once.
	trackOf := make(map[string]int32)
	var trackKeys [][]int32
	playTrack := make([]int32, len(m.stored))
	var counts []int32
	for i := range m.stored {
		s := &m.stored[i]
		ti, ok := trackOf[s.TrackID]
		if !ok {
			var keys []int32
			if s.TrackID != "" {
				keys = append(keys, m.internKey(idKey(s.TrackID)))
			}
			if name := m.normalize(s.Track.Name); name != "" {
				for _, a := range s.Track.Artists {
					if an := m.normalize(a.Name); an != "" {
						keys = appendUnique(keys, m.internKey(nameKey(name, an)))
					}
				}
				if al := m.normalize(s.Track.Album.Name); al != "" {
					keys = appendUnique(keys, m.internKey(albumKey(name, al)))
				}
			}
			ti = int32(len(trackKeys))
			trackOf[s.TrackID] = ti
			trackKeys = append(trackKeys, keys)
		}
		playTrack[i] = ti
		for _, k := range trackKeys[ti] {
			for int(k) >= len(counts) {
				counts = append(counts, 0)
			}
			counts[k]++
		}
	}
	m.listStart = make([]int32, len(m.keyIDs)+1)
	for k, c := range counts {
		m.listStart[k+1] = m.listStart[k] + c
	}
	m.listData = make([]int32, m.listStart[len(m.keyIDs)])
	fill := slices.Clone(m.listStart[:len(m.keyIDs)])
	m.keyTrack = make([]int32, len(m.keyIDs))
	for k := range m.keyTrack {
		m.keyTrack[k] = -1
	}
	for _, x := range byTime {
		ti := playTrack[x.i]
		for _, k := range trackKeys[ti] {
			m.listData[fill[k]] = x.i
			fill[k]++
			switch m.keyTrack[k] {
			case -1:
				m.keyTrack[k] = ti
			case ti, -2:
			default:
				m.keyTrack[k] = -2 // several tracks
			}
		}
	}
}

// timeIdx sorts plays by time, then index.
type timeIdx struct {
	t int64
	i int32
}

func compareTimeIdx(a, b timeIdx) int {
	if c := cmp.Compare(a.t, b.t); c != 0 {
		return c
	}
	return cmp.Compare(a.i, b.i)
}

// list returns the stored plays carrying key k, in time order.
func (m *matcher) list(k int32) []int32 { return m.listData[m.listStart[k]:m.listStart[k+1]] }

func (m *matcher) internKey(k string) int32 {
	if id, ok := m.keyIDs[k]; ok {
		return id
	}
	id := int32(len(m.keyIDs))
	m.keyIDs[k] = id
	return id
}

func appendUnique(s []int32, v int32) []int32 {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

// identifyEntries computes each entry's in-file identity and its match keys
// (only keys some stored play carries). Entries of one track id share the
// work; entries without an id are cached by their names.
func (m *matcher) identifyEntries() {
	m.entKeys = make([][]int32, len(m.entries))
	m.entIDKey = make([]int32, len(m.entries))
	m.group = make([]int32, len(m.entries))
	byID := make(map[string]int32) // track id → index of the first entry with it
	byName := make(map[string]entInfo)
	var sb strings.Builder
	for i := range m.entries {
		e := &m.entries[i]
		var info entInfo
		if e.TrackID != "" {
			if j, ok := byID[e.TrackID]; ok && sameNames(e, &m.entries[j]) {
				m.group[i], m.entIDKey[i], m.entKeys[i] = m.group[j], m.entIDKey[j], m.entKeys[j]
				continue
			}
			info = m.entryInfo(e)
			if _, ok := byID[e.TrackID]; !ok {
				byID[e.TrackID] = int32(i)
			}
		} else {
			sb.Reset()
			sb.WriteString(e.TrackName)
			for _, a := range e.Artists {
				sb.WriteByte(0)
				sb.WriteString(a)
			}
			sb.WriteByte(1)
			sb.WriteString(e.Album)
			ck := sb.String()
			var ok bool
			if info, ok = byName[ck]; !ok {
				info = m.entryInfo(e)
				byName[ck] = info
			}
		}
		m.group[i], m.entIDKey[i], m.entKeys[i] = info.group, info.idKey, info.keys
	}
}

func sameNames(a, b *Entry) bool {
	return a.TrackName == b.TrackName && a.Album == b.Album && slices.Equal(a.Artists, b.Artists)
}

func (m *matcher) entryInfo(e *Entry) entInfo {
	info := entInfo{group: -1, idKey: -1}
	name := m.normalize(e.TrackName)
	var g string
	if name != "" {
		for _, a := range e.Artists {
			if an := m.normalize(a); an != "" {
				if g == "" {
					g = nameKey(name, an)
				}
				if id, ok := m.keyIDs[nameKey(name, an)]; ok {
					info.keys = appendUnique(info.keys, id)
				}
			}
		}
		if al := m.normalize(e.Album); al != "" {
			if id, ok := m.keyIDs[albumKey(name, al)]; ok {
				info.keys = appendUnique(info.keys, id)
			}
		}
	}
	if e.TrackID != "" {
		if id, ok := m.keyIDs[idKey(e.TrackID)]; ok {
			info.idKey = id
			info.keys = append([]int32{id}, info.keys...)
		}
		if g == "" {
			g = idKey(e.TrackID)
		}
	}
	if g != "" {
		id, ok := m.groupIDs[g]
		if !ok {
			id = int32(len(m.groupIDs))
			m.groupIDs[g] = id
		}
		info.group = id
	}
	return info
}

// inFile marks entries that repeat an earlier entry of the import.
func (m *matcher) inFile() {
	type item struct {
		g int32
		i int32
		t int64
	}
	items := make([]item, 0, len(m.entries))
	for i := range m.entries {
		if m.group[i] >= 0 && !m.entries[i].Excluded {
			items = append(items, item{g: m.group[i], i: int32(i), t: m.eo[i].t})
		}
	}
	slices.SortFunc(items, func(a, b item) int {
		if c := cmp.Compare(a.g, b.g); c != 0 {
			return c
		}
		if c := cmp.Compare(a.t, b.t); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	minOv := m.o.InFileMinOverlap.Milliseconds()
	var kept []int32
	var maxPrec int64
	for k, it := range items {
		j := it.i
		if k == 0 || items[k-1].g != it.g {
			kept = kept[:0]
			maxPrec = 0
		}
		ej := &m.eo[j]
		dup := false
		for n := len(kept) - 1; n >= 0; n-- {
			i := kept[n]
			ei := &m.eo[i]
			// Earlier kept entries end no later than this one (give or take
			// the largest precision): once it ends before j starts, none of
			// them can be j's stream.
			if ei.t+maxPrec <= ej.t-ej.ms {
				break
			}
			if rule, ok := sameStream(ei, ej, minOv); ok {
				d := &m.dec[j]
				d.Reason = ReasonDuplicateInFile
				d.Rule = rule
				d.MatchedEntry = m.entries[i].Key
				d.Delta = m.entries[i].PlayedAt.Sub(m.entries[j].PlayedAt)
				dup = true
				break
			}
		}
		if !dup {
			kept = append(kept, j)
			maxPrec = max(maxPrec, ej.prec)
		}
	}
}

// sameStream reports whether two entries of one recording are one stream.
func sameStream(a, b *obs, minOverlap int64) (string, bool) {
	if a.t < b.t+b.prec && b.t < a.t+a.prec {
		if a.prec == b.prec && a.prec < 60_000 {
			return RuleSameTS, true
		}
		if a.ms == b.ms {
			// Account-data and extended rows of one stream agree on ms_played;
			// two short plays ending in one minute rarely do.
			return RuleSameTS, true
		}
	}
	if a.ms > 0 && b.ms > 0 {
		// The overlap of [ea−a.ms, ea] and [eb−b.ms, eb] depends only on
		// d = eb−ea and is concave in d, so its minimum over the ends the
		// precisions allow is at one of the extremes.
		dlo := b.t - (a.t + a.prec)
		dhi := b.t + b.prec - a.t
		if min(overlapAt(dlo, a.ms, b.ms), overlapAt(dhi, a.ms, b.ms)) >= minOverlap {
			return RuleOverlap, true
		}
	}
	return "", false
}

// overlapAt is the overlap of [−msA, 0] and [d−msB, d].
func overlapAt(d, msA, msB int64) int64 { return min(0, d) - max(-msA, d-msB) }

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// dist is the distance from x to [lo, hi].
func dist(x, lo, hi int64) int64 {
	switch {
	case x < lo:
		return lo - x
	case x > hi:
		return x - hi
	}
	return 0
}

// overlapLen is the length of [a0, a1] ∩ [b0, b1], or a negative gap.
func overlapLen(a0, a1, b0, b1 int64) int64 { return min(a1, b1) - max(a0, b0) }

func floorDay(t int64) int32 {
	d := t / msPerDay
	if t%msPerDay < 0 {
		d--
	}
	return int32(d)
}

// buildEdges finds, for every entry that is not a duplicate within the import,
// the stored plays it could be.
func (m *matcher) buildEdges() {
	w := max(m.o.HistoryTolerance, m.o.RealtimeTolerance).Milliseconds() + 60_000 + 2*m.o.ExactSlack.Milliseconds()
	maxPause := m.o.MaxPause.Milliseconds()
	m.edges = make([]edge, 0, len(m.entries)+len(m.entries)/4)
	for i := range m.entries {
		if m.dec[i].Reason == ReasonDuplicateInFile || len(m.entKeys[i]) == 0 {
			continue
		}
		e := &m.eo[i]
		lo := e.t - e.ms - w - maxPause
		hi := e.t + e.prec + w
		first := len(m.edges)
		idTrack := int32(-1)
		if m.entIDKey[i] >= 0 {
			idTrack = m.keyTrack[m.entIDKey[i]]
		}
		for _, k := range m.entKeys[i] {
			byName := k != m.entIDKey[i]
			if byName && idTrack >= 0 && m.keyTrack[k] == idTrack {
				continue // the same plays as the id key
			}
			list := m.list(k)
			start, _ := slices.BinarySearchFunc(list, lo, func(si int32, t int64) int { return cmp.Compare(m.so[si].t, t) })
			for _, si := range list[start:] {
				s := &m.so[si]
				if s.t > hi {
					break
				}
				if byName && slices.ContainsFunc(m.edges[first:], func(x edge) bool { return x.s == si }) {
					continue
				}
				if ed, ok := m.compat(e, s); ok {
					ed.e, ed.s, ed.byName = int32(i), si, byName
					m.edges = append(m.edges, ed)
				}
			}
		}
	}
}

// compat decides whether entry e and stored play s can be one stream, with the
// cost of each reading.
func (m *matcher) compat(e, s *obs) (edge, bool) {
	ht := m.o.HistoryTolerance.Milliseconds()
	rt := m.o.RealtimeTolerance.Milliseconds()
	slack := m.o.ExactSlack.Milliseconds()
	minOv := m.o.RealtimeMinOverlap.Milliseconds()
	maxPause := m.o.MaxPause.Milliseconds()
	ed := edge{cost: -1, alt: -1, day: -1}
	a, b := e, s
	swapped := false
	if a.kind > b.kind {
		a, b, swapped = b, a, true
	}
	switch {
	case a.kind == kindExact && b.kind == kindExact:
		if a.t-slack <= b.t+b.prec+slack && b.t-slack <= a.t+a.prec+slack {
			c := abs(2*a.t+a.prec-2*b.t-b.prec) / 2
			if a.ms > 0 && b.ms > 0 {
				c += abs(a.ms - b.ms)
			}
			ed.cost, ed.rule = c, rImport
		}
	case a.kind == kindExact && b.kind == kindPoint:
		if d := dist(b.t, a.t, a.t+a.prec); d <= ht+slack {
			ed.cost = d
		}
		if a.ms > 0 {
			lo := a.t - a.ms
			switch d := dist(b.t, lo, a.t+a.prec-a.ms); {
			case d <= ht+slack:
				ed.alt = d
			case b.t < lo && d <= maxPause:
				// Read as the start of a stream that was paused.
				ed.alt, ed.paused = d, true
			}
		}
		ed.rule, ed.day = rHistoryEnd, floorDay(b.t)
	case a.kind == kindExact && b.kind == kindObserved:
		ed.cost, ed.rule = observedCost(a.t, a.t+a.prec, a.ms, b.t-b.ms, b.t, b.ms, rt+slack, minOv, maxPause), rRealtime
	case a.kind == kindPoint && b.kind == kindPoint:
		if d := abs(a.t - b.t); d <= ht+slack {
			ed.cost, ed.rule = d, rHistoryPoints
		}
	case a.kind == kindPoint && b.kind == kindObserved:
		if d := abs(a.t - b.t); d <= ht+rt {
			ed.cost = d
		}
		if b.ms > 0 {
			if d := abs(a.t - (b.t - b.ms)); d <= ht+rt {
				ed.alt = d
			}
		}
		ed.rule, ed.day = rHistoryEnd, floorDay(a.t)
		if swapped {
			// The stored play is the observed one.
			ed.rule = rRealtime
		}
	default: // both observed
		ed.cost, ed.rule = observedCost(a.t, a.t, a.ms, b.t-b.ms, b.t, b.ms, rt+slack, minOv, 0), rRealtime
	}
	return ed, ed.cost >= 0 || ed.alt >= 0
}

// observedCost compares a stream ending in [endLo, endHi] after ms (0 =
// unknown) with an observed interval [oStart, oEnd] of length oMS. It returns
// -1 when they cannot be one stream. maxPause > 0 also accepts a stream
// paused for up to maxPause (see Options.MaxPause).
func observedCost(endLo, endHi, ms, oStart, oEnd, oMS, tol, minOverlap, maxPause int64) int64 {
	if ms > 0 && oMS > ms+tol {
		// A monitor cannot see more of a stream than was played.
		return -1
	}
	best := int64(-1)
	if d := dist(oEnd, endLo, endHi); d <= tol {
		best = d
	}
	if ms > 0 && oMS > 0 {
		if d := dist(oStart, endLo-ms, endHi-ms); d <= tol && (best < 0 || d < best) {
			best = d
		}
		mid := (endLo + endHi) / 2
		if best < 0 && overlapLen(mid-ms, mid, oStart, oEnd) >= minOverlap {
			best = min(dist(oEnd, endLo, endHi), dist(oStart, endLo-ms, endHi-ms))
		}
		if best < 0 && maxPause > 0 {
			pause := endLo - ms - oStart
			if pause > 0 && pause <= maxPause && oEnd <= endHi+tol {
				best = pause
			}
		}
		if best >= 0 {
			// What the monitor did not see of the stream.
			best += abs(ms - oMS)
		}
	}
	return best
}

// finaliseCosts settles, per UTC day, whether Spotify reported ends or starts
// (from history rows that fit one reading of one entry closely and no other),
// and turns the two readings of history edges into one cost.
func (m *matcher) finaliseCosts() {
	m.votes = make(map[int32][2]int32)
	var near []uint8 // per stored play: 1 = near an end, 2 = near a start
	for i := range m.edges {
		ed := &m.edges[i]
		if ed.day < 0 || m.so[ed.s].kind != kindPoint || m.eo[ed.e].kind != kindExact {
			continue
		}
		if near == nil {
			near = make([]uint8, len(m.so))
		}
		if ed.cost >= 0 && ed.cost <= voteNear {
			near[ed.s] |= 1
		}
		if ed.alt >= 0 && ed.alt <= voteNear {
			near[ed.s] |= 2
		}
	}
	for si, f := range near {
		if f == 1 || f == 2 {
			v := m.votes[floorDay(m.so[si].t)]
			v[f-1]++
			m.votes[floorDay(m.so[si].t)] = v
		}
	}
	pen := m.o.HistoryTolerance.Milliseconds() + m.o.ExactSlack.Milliseconds() + 1
	kept := m.edges[:0]
	for i := range m.edges {
		ed := &m.edges[i]
		if ed.day >= 0 {
			v := m.votes[ed.day]
			startDay := v[1] > v[0]
			end, start := ed.cost, ed.alt
			if end >= 0 && startDay {
				end += pen
			}
			if start >= 0 && !startDay {
				if ed.paused {
					// Only starts explain a row before the stream's start.
					start = -1
				} else {
					start += pen
				}
			}
			switch {
			case end >= 0 && (start < 0 || end <= start):
				ed.cost = end
			case start >= 0:
				ed.cost = start
				if ed.rule == rHistoryEnd {
					ed.rule = rHistoryStart
				}
			default:
				continue // no reading is left
			}
			ed.alt = -1
		}
		if ed.byName {
			ed.cost += namePenalty
		}
		if m.entries[ed.e].Excluded {
			ed.cost += excludedPenalty
		}
		kept = append(kept, *ed)
	}
	m.edges = kept
}

// assign solves each connected group of edges: the most pairs that keep both
// sides in time order, then the cheapest.
func (m *matcher) assign() {
	n, ns := len(m.entries), len(m.stored)
	if len(m.edges) == 0 {
		return
	}
	uf := newUnionFind(n + ns)
	for _, ed := range m.edges {
		uf.union(ed.e, int32(n)+ed.s)
	}
	// Bucket edges by component.
	comp := make([]int32, n+ns)
	for i := range comp {
		comp[i] = -1
	}
	var counts []int32
	edgeComp := make([]int32, len(m.edges))
	for i, ed := range m.edges {
		r := uf.find(ed.e)
		if comp[r] < 0 {
			comp[r] = int32(len(counts))
			counts = append(counts, 0)
		}
		edgeComp[i] = comp[r]
		counts[comp[r]]++
	}
	starts := make([]int32, len(counts)+1)
	for c, k := range counts {
		starts[c+1] = starts[c] + k
	}
	ordered := make([]int32, len(m.edges))
	fill := slices.Clone(starts[:len(counts)])
	for i, c := range edgeComp {
		ordered[fill[c]] = int32(i)
		fill[c]++
	}
	s := newChainSolver(n, ns)
	for c := range counts {
		group := ordered[starts[c]:starts[c+1]]
		if len(group) == 1 {
			m.accept(&m.edges[group[0]])
			continue
		}
		for _, ei := range s.solve(m, group) {
			m.accept(&m.edges[ei])
		}
	}
}

func (m *matcher) accept(ed *edge) {
	d := &m.dec[ed.e]
	if d.Reason == ReasonImport {
		d.Reason = ReasonDuplicateExisting
	}
	d.Rule = ruleNames[ed.rule]
	d.ByName = ed.byName
	d.Matched = &m.stored[ed.s].Play
	d.Delta = time.Duration(m.so[ed.s].t-m.eo[ed.e].t) * time.Millisecond
}

type unionFind struct{ parent []int32 }

func newUnionFind(n int) *unionFind {
	p := make([]int32, n)
	for i := range p {
		p[i] = int32(i)
	}
	return &unionFind{parent: p}
}

func (u *unionFind) find(x int32) int32 {
	for u.parent[x] != x {
		u.parent[x] = u.parent[u.parent[x]]
		x = u.parent[x]
	}
	return x
}

func (u *unionFind) union(a, b int32) {
	ra, rb := u.find(a), u.find(b)
	if ra != rb {
		if ra < rb {
			ra, rb = rb, ra
		}
		u.parent[ra] = rb
	}
}

// chainSolver finds, in one group, the largest set of edges (e1,s1), (e2,s2), …
// with e and s both strictly increasing in time, and the cheapest among those:
// a longest-chain dynamic programme over the edges with a Fenwick tree of
// prefix maxima over stored ranks.
type chainSolver struct {
	rank  []int32 // node → rank within the current group (entries then stored)
	ents  []int32
	stos  []int32
	edges []int32
	best  []chainVal // per edge of the group
	tree  []chainVal
}

type chainVal struct {
	count int32
	edge  int32 // index into group edges; -1 = none
	cost  int64
	pred  int32
}

func (a chainVal) better(b chainVal) bool {
	if a.count != b.count {
		return a.count > b.count
	}
	return a.cost < b.cost
}

func newChainSolver(n, ns int) *chainSolver {
	return &chainSolver{rank: make([]int32, n+ns)}
}

func (c *chainSolver) solve(m *matcher, group []int32) []int32 {
	n := int32(len(m.entries))
	c.ents, c.stos = c.ents[:0], c.stos[:0]
	for _, ei := range group {
		ed := &m.edges[ei]
		if c.rank[ed.e] == 0 {
			c.rank[ed.e] = -1
			c.ents = append(c.ents, ed.e)
		}
		if c.rank[n+ed.s] == 0 {
			c.rank[n+ed.s] = -1
			c.stos = append(c.stos, ed.s)
		}
	}
	slices.SortFunc(c.ents, func(a, b int32) int {
		if x := cmp.Compare(m.eo[a].t, m.eo[b].t); x != 0 {
			return x
		}
		if x := cmp.Compare(m.entries[a].Key, m.entries[b].Key); x != 0 {
			return x
		}
		return cmp.Compare(a, b)
	})
	slices.SortFunc(c.stos, func(a, b int32) int {
		if x := cmp.Compare(m.so[a].t, m.so[b].t); x != 0 {
			return x
		}
		return cmp.Compare(a, b)
	})
	for r, e := range c.ents {
		c.rank[e] = int32(r)
	}
	for r, s := range c.stos {
		c.rank[n+s] = int32(r)
	}
	c.edges = append(c.edges[:0], group...)
	slices.SortFunc(c.edges, func(a, b int32) int {
		ea, eb := &m.edges[a], &m.edges[b]
		if x := cmp.Compare(c.rank[ea.e], c.rank[eb.e]); x != 0 {
			return x
		}
		return cmp.Compare(c.rank[n+ea.s], c.rank[n+eb.s])
	})
	none := chainVal{edge: -1, pred: -1}
	c.tree = c.tree[:0]
	for range len(c.stos) + 1 {
		c.tree = append(c.tree, none)
	}
	c.best = c.best[:0]
	for i := 0; i < len(c.edges); {
		// Edges of one entry cannot chain with each other: compute them all
		// from the previous entries' tree, then insert them.
		j := i
		er := c.rank[m.edges[c.edges[i]].e]
		for j < len(c.edges) && c.rank[m.edges[c.edges[j]].e] == er {
			ed := &m.edges[c.edges[j]]
			q := c.query(int(c.rank[n+ed.s]))
			c.best = append(c.best, chainVal{count: q.count + 1, cost: q.cost + ed.cost, edge: int32(j), pred: q.edge})
			j++
		}
		for k := i; k < j; k++ {
			c.update(int(c.rank[n+m.edges[c.edges[k]].s])+1, c.best[k])
		}
		i = j
	}
	top := c.query(len(c.stos))
	var out []int32
	for at := top.edge; at >= 0; at = c.best[at].pred {
		out = append(out, c.edges[at])
	}
	for _, e := range c.ents {
		c.rank[e] = 0
	}
	for _, s := range c.stos {
		c.rank[n+s] = 0
	}
	return out
}

// query returns the best chain ending at a stored rank < r (ranks 0-based).
func (c *chainSolver) query(r int) chainVal {
	best := chainVal{edge: -1, pred: -1}
	for i := r; i > 0; i -= i & -i {
		if c.tree[i].edge >= 0 && c.tree[i].better(best) {
			best = c.tree[i]
		}
	}
	return best
}

func (c *chainSolver) update(i int, v chainVal) {
	for ; i < len(c.tree); i += i & -i {
		if c.tree[i].edge < 0 || v.better(c.tree[i]) {
			c.tree[i] = v
		}
	}
}
