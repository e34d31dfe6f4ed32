package dedupetest

import (
	"math"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spotifyhist/spotifyhist/store"
)

var syllables = []string{
	"ka", "lo", "mi", "ra", "ne", "so", "tu", "vel", "dar", "en", "li", "mo", "sha", "ti", "ya",
	"zor", "bel", "cor", "dun", "fa", "gri", "hal", "jo", "kel", "lum", "mar", "nox", "or", "pel",
	"qui", "ros", "sel", "tam", "ur", "vin", "wen", "xa", "yel", "zu", "né", "lö", "çe",
}

// commonNames are titles many artists use, so matching by name must also
// check the artist.
var commonNames = []string{"Intro", "Outro", "Interlude", "Home", "Reprise", "Untitled", "Skit", "Prelude"}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func (g *generator) id() string {
	var b [22]byte
	for i := range b {
		b[i] = base62[g.rng.IntN(len(base62))]
	}
	return string(b[:])
}

func (g *generator) word() string {
	var b strings.Builder
	for range 1 + g.rng.IntN(3) {
		b.WriteString(syllables[g.rng.IntN(len(syllables))])
	}
	r, n := utf8.DecodeRuneInString(b.String())
	return string(unicode.ToUpper(r)) + b.String()[n:]
}

func (g *generator) title(words int) string {
	parts := make([]string, 1+g.rng.IntN(words))
	for i := range parts {
		parts[i] = g.word()
	}
	return strings.Join(parts, " ")
}

// catalogue builds artists, albums and recordings.
func (g *generator) catalogue() {
	cfg := g.cfg
	nArtists := max(cfg.Recordings/12, 20)
	artists := make([]store.Artist, nArtists)
	seen := map[string]bool{"Various Artists": true}
	for i := range artists {
		name := g.title(2)
		if g.chance(0.15) {
			name = "The " + name
		}
		for seen[store.NormalizeName(name)] {
			name += " " + strconv.Itoa(g.rng.IntN(100))
		}
		seen[store.NormalizeName(name)] = true
		artists[i] = store.Artist{ID: g.id(), Name: name}
	}
	recs := make([]Recording, 0, cfg.Recordings)
	for len(recs) < cfg.Recordings {
		albumArtist := artists[g.rng.IntN(nArtists)]
		compilation := g.chance(0.03)
		album := store.Album{ID: g.id(), Name: g.title(3)}
		local := g.chance(0.03)
		albumIdx := len(g.albums)
		var tracks []int
		for pos := range 6 + g.rng.IntN(9) {
			if len(recs) >= cfg.Recordings {
				break
			}
			main := albumArtist
			if compilation {
				main = artists[g.rng.IntN(nArtists)]
			}
			r := Recording{
				Name:        g.title(3),
				Artists:     []store.Artist{main},
				Album:       album,
				AlbumArtist: albumArtist.Name,
				DurationMS:  int(g.trackLength().Milliseconds()),
				Local:       local,
			}
			if compilation {
				r.AlbumArtist = "Various Artists"
			}
			if g.chance(0.04) {
				r.Name = commonNames[g.rng.IntN(len(commonNames))]
			}
			if g.chance(0.15) {
				feat := artists[g.rng.IntN(nArtists)]
				if feat.ID != main.ID {
					r.Artists = append(r.Artists, feat)
				}
			}
			r.APIName = r.Name
			if local {
				r.URI = localURI(main.Name, album.Name, r.Name, r.DurationMS/1000)
				r.ID = cfg.LocalTrackID(r.URI)
				r.DurationMS = r.DurationMS / 1000 * 1000
			} else {
				r.ID = g.id()
				if g.chance(0.04) {
					r.OldID = r.ID
					r.ID = g.id()
					r.APIName = respell(r.Name, g.rng.IntN(2))
					// The relink date is set once the span is known.
				}
			}
			g.recAlbum = append(g.recAlbum, albumIdx)
			g.recPos = append(g.recPos, pos)
			tracks = append(tracks, len(recs))
			recs = append(recs, r)
		}
		g.albums = append(g.albums, tracks)
	}
	g.c.Recordings = recs
	g.zipf = rand.NewZipf(g.rng, 1.05, 10, uint64(len(recs)-1))
	// Relinks happen over the first 80% of an estimate of the span.
	span := time.Duration(float64(cfg.Streams)/cfg.PlaysPerDay*24) * time.Hour
	for i := range g.c.Recordings {
		if r := &g.c.Recordings[i]; r.OldID != "" {
			r.RelinkedAt = cfg.Start.Add(time.Duration(g.rng.Float64() * 0.8 * float64(span)))
		}
	}
	g.c.tracks = make([]store.Track, len(recs))
	for i, r := range recs {
		t := store.Track{ID: r.ID, Name: r.APIName, DurationMS: r.DurationMS, IsLocal: r.Local, Linked: true, Album: r.Album, Artists: r.Artists}
		if r.Local {
			t.Album.ID = store.ProvisionalID("album", r.Album.Name)
			t.Artists = []store.Artist{{ID: store.ProvisionalID("artist", r.Artists[0].Name), Name: r.Artists[0].Name}}
		}
		g.c.tracks[i] = t
	}
}

// trackLength draws a track length around 3.5 minutes.
func (g *generator) trackLength() time.Duration {
	sec := 210 * math.Exp(g.rng.NormFloat64()*0.3)
	sec = min(max(sec, 45), 900)
	return time.Duration(sec*1000) * time.Millisecond
}

// respell changes case or accents without changing the normalised name.
func respell(name string, how int) string {
	if how == 0 {
		return strings.ToUpper(name)
	}
	r := strings.NewReplacer("é", "e", "ö", "o", "ç", "c")
	out := r.Replace(name)
	if out == name {
		return strings.ToLower(name)
	}
	return out
}

func localURI(artist, album, title string, seconds int) string {
	return "spotify:local:" + url.QueryEscape(artist) + ":" + url.QueryEscape(album) + ":" + url.QueryEscape(title) + ":" + strconv.Itoa(seconds)
}
