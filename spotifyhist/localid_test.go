package spotifyhist_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/spotifyhist"
)

func TestLocalTrackIDCanonicalSpellingsAgree(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a, b string
	}{
		{"PlusOrPercent20", "spotify:local:Daft+Punk:Discovery:One+More+Time:320", "spotify:local:Daft%20Punk:Discovery:One%20More%20Time:320"},
		{"ParenEncodedOrNot", "spotify:local:Halsey:Manic+%28Deluxe%29:929:174", "spotify:local:Halsey:Manic+(Deluxe):929:174"},
		{"HexCase", "spotify:local:Halsey:Manic+%28Deluxe%29:929:174", "spotify:local:Halsey:Manic+%28Deluxe%29:929:174"},
		{"LowerHex", "spotify:local:A:B:%c3%a9t%c3%a9:60", "spotify:local:A:B:%C3%A9t%C3%A9:60"},
		{"UnicodeLiteral", "spotify:local:A:B:%C3%A9t%C3%A9:60", "spotify:local:A:B:été:60"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, spotifyhist.LocalTrackID(tt.a), spotifyhist.LocalTrackID(tt.b))
		})
	}
}

func TestLocalTrackIDDistinguishes(t *testing.T) {
	t.Parallel()
	// The original system truncated URIs to 18 characters plus the last 3 duration digits;
	// these two collided there.
	a := "spotify:local:Daft+Punk:Discovery:One+More+Time:320"
	b := "spotify:local:Daft+Punk:Discovery:One+Morning:320"
	tests := []struct {
		name string
		a, b string
	}{
		{"SamePrefixSameDuration", a, b},
		{"DurationDiffers", a, "spotify:local:Daft+Punk:Discovery:One+More+Time:321"},
		{"EmptyParts", "spotify:local:::Title:123", "spotify:local:Title:::123"},
		{"EncodedColonStaysInPart", "spotify:local:A%3AB:C:D:1", "spotify:local:A:B%3AC:D:1"},
		{"PlusIsNotLiteralPlus", "spotify:local:A+B:C:D:1", "spotify:local:A%2BB:C:D:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.NotEqual(t, spotifyhist.LocalTrackID(tt.a), spotifyhist.LocalTrackID(tt.b))
		})
	}
}

func TestLocalTrackIDShape(t *testing.T) {
	t.Parallel()
	id := spotifyhist.LocalTrackID("spotify:local:Halsey:Manic+%28Deluxe%29:929:174")
	require.True(t, strings.HasPrefix(id, spotifyhist.LocalIDPrefix))
	require.Len(t, id, 58)
	require.Equal(t, strings.ToLower(id), id)
}

func TestParseLocalURI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		uri     string
		want    spotifyhist.LocalFile
		wantErr bool
	}{
		{"Reference", "spotify:local:Halsey:Manic+%28Deluxe%29:929:174",
			spotifyhist.LocalFile{Artist: "Halsey", Album: "Manic (Deluxe)", Title: "929", Duration: 174 * time.Second}, false},
		{"EmptyParts", "spotify:local:::Title:123", spotifyhist.LocalFile{Title: "Title", Duration: 123 * time.Second}, false},
		{"Percent20", "spotify:local:Daft%20Punk:Discovery:One+More+Time:320",
			spotifyhist.LocalFile{Artist: "Daft Punk", Album: "Discovery", Title: "One More Time", Duration: 320 * time.Second}, false},
		{"UnencodedColonInTitle", "spotify:local:A:B:Part 1: Intro:60",
			spotifyhist.LocalFile{Artist: "A", Album: "B", Title: "Part 1: Intro", Duration: time.Minute}, false},
		{"BadEscapeKeptLiteral", "spotify:local:A:B:100%:60",
			spotifyhist.LocalFile{Artist: "A", Album: "B", Title: "100%", Duration: time.Minute}, false},
		{"NotLocal", "spotify:track:11dFghVXANMlKmJXsNCbNl", spotifyhist.LocalFile{}, true},
		{"TooFewParts", "spotify:local:A:B:60", spotifyhist.LocalFile{}, true},
		{"BadDuration", "spotify:local:A:B:C:abc", spotifyhist.LocalFile{}, true},
		{"NegativeDuration", "spotify:local:A:B:C:-1", spotifyhist.LocalFile{}, true},
		{"HugeDuration", "spotify:local:A:B:C:99999999999999", spotifyhist.LocalFile{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := spotifyhist.ParseLocalURI(tt.uri)
			if tt.wantErr {
				require.ErrorIs(t, err, spotifyhist.ErrInvalidLocalURI)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestTrackIDFromURI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		uri  string
		want string
		ok   bool
	}{
		{"spotify:track:11dFghVXANMlKmJXsNCbNl", "11dFghVXANMlKmJXsNCbNl", true},
		{"spotify:track:", "", false},
		{"spotify:track:abc/def", "", false},
		{"spotify:episode:11dFghVXANMlKmJXsNCbNl", "", false},
		{"spotify:local:A:B:C:1", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			t.Parallel()
			got, ok := spotifyhist.TrackIDFromURI(tt.uri)
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.want, got)
		})
	}
}

func FuzzLocalTrackID(f *testing.F) {
	for _, s := range []string{
		"spotify:local:Halsey:Manic+%28Deluxe%29:929:174",
		"spotify:local:Daft+Punk:Discovery:One+More+Time:320",
		"spotify:local:Daft%20Punk:Discovery:One%20Morning:320",
		"spotify:local:::Title:123",
		"spotify:local:A:B:Part 1: Intro:60",
		"spotify:local:A:B:100%:60",
		"spotify:local:%zz:%:%2:1",
		"spotify:local:",
		"spotify:track:11dFghVXANMlKmJXsNCbNl",
		"",
		"spotify:local:été:🎵:x:0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		id := spotifyhist.LocalTrackID(uri)
		if !strings.HasPrefix(id, spotifyhist.LocalIDPrefix) || len(id) > 64 {
			t.Fatalf("LocalTrackID(%q) = %q: want the %q prefix and at most 64 characters", uri, id, spotifyhist.LocalIDPrefix)
		}
		if id != spotifyhist.LocalTrackID(uri) {
			t.Fatalf("LocalTrackID(%q) is not deterministic", uri)
		}
		canon := spotifyhist.CanonicalLocalURI(uri)
		if spotifyhist.CanonicalLocalURI(canon) != canon {
			t.Fatalf("CanonicalLocalURI is not idempotent: %q → %q → %q", uri, canon, spotifyhist.CanonicalLocalURI(canon))
		}
		if spotifyhist.LocalTrackID(canon) != id {
			t.Fatalf("LocalTrackID(%q) differs from that of its canonical form %q", uri, canon)
		}
		if !spotifyhist.IsLocalURI(uri) {
			return
		}
		// Re-encoding every part with %20 for spaces must not change the ID.
		rest := strings.TrimPrefix(canon, "spotify:local:")
		parts := strings.Split(rest, ":")
		for i, p := range parts {
			d, err := url.QueryUnescape(p)
			if err != nil {
				t.Fatalf("canonical part %q of %q does not decode: %v", p, canon, err)
			}
			parts[i] = strings.ReplaceAll(url.QueryEscape(d), "+", "%20")
		}
		if alt := "spotify:local:" + strings.Join(parts, ":"); spotifyhist.LocalTrackID(alt) != id {
			t.Fatalf("%q and %q spell the same file but get different IDs", uri, alt)
		}
		lf, err := spotifyhist.ParseLocalURI(uri)
		if err != nil {
			return
		}
		if lf.Duration < 0 {
			t.Fatalf("ParseLocalURI(%q): negative duration %v", uri, lf.Duration)
		}
		back, err := spotifyhist.ParseLocalURI(canon)
		if err != nil {
			t.Fatalf("ParseLocalURI accepts %q but not its canonical form %q: %v", uri, canon, err)
		}
		if back != lf {
			t.Fatalf("ParseLocalURI(%q) = %+v but of its canonical form %q = %+v", uri, lf, canon, back)
		}
	})
}
