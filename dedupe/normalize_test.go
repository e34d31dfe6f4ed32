package dedupe

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/store"
)

func TestNormalizeASCIIMatchesStore(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"", " ", "a", "A", "abc def", "abc  def", " abc", "abc ", "Hello, World!", "AC/DC", "x_y", "--a--b--",
		"Intro (Live)", "99 Luftballons", "a b c", "Mr. Brightside", "\tTab\nNewline", "ALL CAPS", "mIxEd 123",
	} {
		got, ok := normalizeASCII(s)
		require.True(t, ok, s)
		require.Equal(t, store.NormalizeName(s), got, "%q", s)
	}
	_, ok := normalizeASCII("Beyoncé")
	require.False(t, ok)
}

func FuzzNormalizeASCII(f *testing.F) {
	f.Add("Hello, World!")
	f.Add(" a  b ")
	f.Fuzz(func(t *testing.T, s string) {
		if got, ok := normalizeASCII(s); ok {
			require.Equal(t, store.NormalizeName(s), got, "%q", s)
		}
	})
}
