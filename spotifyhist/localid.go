package spotifyhist

import (
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	localURIPrefix = "spotify:local:"
	trackURIPrefix = "spotify:track:"
	// LocalIDPrefix starts every ID made by LocalTrackID.
	LocalIDPrefix = "local:"
)

// ErrInvalidLocalURI: the string is not a spotify:local:{artist}:{album}:{title}:{seconds}
// URI.
var ErrInvalidLocalURI = errors.New("spotifyhist: invalid local file uri")

// LocalFile is what a local-file URI says about the file (from its tags).
type LocalFile struct {
	Artist   string
	Album    string
	Title    string
	Duration time.Duration
}

// LocalTrackID returns the track ID used for a local file: "local:" followed by the
// lowercase base32 SHA-256 of [CanonicalLocalURI] (58 characters in all). Spellings of the
// same URI that differ only in form-encoding ("+" or "%20", "%28" or "(", hex case) get the
// same ID; any other difference gives a different ID. It never truncates: two files that
// share a prefix and a duration do not collide.
func LocalTrackID(uri string) string {
	sum := sha256.Sum256([]byte(CanonicalLocalURI(uri)))
	// Lowercase base32 survives case-insensitive collations.
	return LocalIDPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:]))
}

// CanonicalLocalURI returns the canonical spelling of a local-file URI: every part after
// "spotify:local:" form-decoded and re-encoded with url.QueryEscape. A part that does not
// decode is taken literally. Strings without the prefix are returned unchanged.
func CanonicalLocalURI(uri string) string {
	rest, ok := strings.CutPrefix(uri, localURIPrefix)
	if !ok {
		return uri
	}
	parts := strings.Split(rest, ":")
	for i, p := range parts {
		parts[i] = url.QueryEscape(decodeLocalPart(p))
	}
	return localURIPrefix + strings.Join(parts, ":")
}

func decodeLocalPart(p string) string {
	d, err := url.QueryUnescape(p)
	if err != nil {
		return p
	}
	return d
}

// IsLocalURI reports whether uri is a local-file URI.
func IsLocalURI(uri string) bool { return strings.HasPrefix(uri, localURIPrefix) }

// ParseLocalURI decodes spotify:local:{artist}:{album}:{title}:{seconds}. Artist, album and
// title are form-decoded and may be empty; the duration is whole seconds. A title holding
// an unencoded ":" is tolerated (the middle parts are joined).
func ParseLocalURI(uri string) (LocalFile, error) {
	rest, ok := strings.CutPrefix(uri, localURIPrefix)
	if !ok {
		return LocalFile{}, fmt.Errorf("%w: %q: missing %q prefix", ErrInvalidLocalURI, uri, localURIPrefix)
	}
	parts := strings.Split(rest, ":")
	if len(parts) < 4 {
		return LocalFile{}, fmt.Errorf("%w: %q: want artist:album:title:seconds", ErrInvalidLocalURI, uri)
	}
	last := parts[len(parts)-1]
	secs, err := strconv.ParseInt(last, 10, 64)
	if err != nil || secs < 0 || secs > int64(1<<63-1)/int64(time.Second) {
		return LocalFile{}, fmt.Errorf("%w: %q: duration %q is not a number of seconds", ErrInvalidLocalURI, uri, last)
	}
	title := make([]string, 0, len(parts)-3)
	for _, p := range parts[2 : len(parts)-1] {
		title = append(title, decodeLocalPart(p))
	}
	return LocalFile{
		Artist:   decodeLocalPart(parts[0]),
		Album:    decodeLocalPart(parts[1]),
		Title:    strings.Join(title, ":"),
		Duration: time.Duration(secs) * time.Second,
	}, nil
}

// TrackIDFromURI returns the ID of a spotify:track:{id} URI.
func TrackIDFromURI(uri string) (string, bool) {
	id, ok := strings.CutPrefix(uri, trackURIPrefix)
	if !ok || !validID(id) {
		return "", false
	}
	return id, true
}

// validID reports whether id looks like a Spotify base-62 ID (1–64 ASCII letters and
// digits; real IDs have 22).
func validID(id string) bool {
	if id == "" || len(id) > 64 {
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
