package spotifyhisttest

import (
	"math/rand/v2"
	"strings"
)

var words = []string{
	"amber", "river", "neon", "echo", "velvet", "static", "paper", "golden", "hollow", "signal",
	"winter", "ocean", "glass", "midnight", "silver", "wild", "quiet", "electric", "broken", "distant",
	"summer", "shadow", "fire", "crystal", "lonely", "northern", "satellite", "honey", "thunder", "marble",
	"violet", "daydream", "harbor", "canyon", "orbit", "lantern", "cherry", "atlas", "meadow", "phantom",
}

var nouns = []string{
	"heart", "lights", "city", "road", "sky", "dreams", "waves", "garden", "machine", "letters",
	"horizon", "stars", "mirror", "rain", "window", "station", "island", "fever", "ghost", "parade",
	"avenue", "engine", "song", "kingdom", "ritual", "tide", "wire", "cathedral", "sparrow", "motel",
}

var showNames = []string{"The Daily Loop", "Deep Cuts Radio", "Byte Size Science", "Slow History", "Pitch Meeting"}

var playlistNames = []string{
	"Morning Run", "Focus", "Late Night Drive", "Sunday Chill", "Gym Mix", "Throwbacks",
	"Rainy Day", "Road Trip", "Dinner Party", "Discover Later",
}

// Names that exercise escaping and matching in code under test: markup,
// quotes, non-ASCII text and unrelated tracks sharing a title.
var specialTrackNames = map[int]string{
	7:  `<script>alert("x")</script>`,
	11: `Don't Stop "Believin'" & Co`,
	13: "Intro",
	23: "Intro",
	29: "Café Noir — Ünïcode ☕",
	31: "Ἀθῆναι / 東京 / Zürich",
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func pickWord(r *rand.Rand, list []string) string { return titleCase(list[r.IntN(len(list))]) }

func artistName(r *rand.Rand, i int) string {
	switch i % 4 {
	case 0:
		return "The " + pickWord(r, words) + " " + pickWord(r, nouns)
	case 1:
		return pickWord(r, words) + " " + pickWord(r, nouns)
	case 2:
		return pickWord(r, nouns) + " & the " + pickWord(r, words) + "s"
	default:
		return strings.ToUpper(pickWord(r, words))
	}
}

func albumName(r *rand.Rand, i int) string {
	switch i % 3 {
	case 0:
		return pickWord(r, words) + " " + pickWord(r, nouns)
	case 1:
		return "Songs for the " + pickWord(r, nouns)
	default:
		return pickWord(r, nouns)
	}
}

func trackName(r *rand.Rand, i int) string {
	base := pickWord(r, words) + " " + pickWord(r, nouns)
	if s, ok := specialTrackNames[i]; ok {
		return s
	}
	switch r.IntN(12) {
	case 0:
		return base + " - Remastered 2011"
	case 1:
		return base + " (feat. " + pickWord(r, words) + ")"
	case 2:
		return pickWord(r, nouns) + " of " + pickWord(r, nouns)
	}
	return base
}
