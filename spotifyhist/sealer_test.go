package spotifyhist_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/spotifyhist"
)

func newSealer(t *testing.T, secret string) *spotifyhist.Sealer {
	t.Helper()
	s, err := spotifyhist.NewSealer(spotifyhist.DeriveKey(secret))
	require.NoError(t, err)
	return s
}

func TestSealerRoundTrip(t *testing.T) {
	t.Parallel()
	s := newSealer(t, "correct horse battery staple, but longer and random")
	for _, pt := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("token"), 1000)} {
		sealed, err := s.Seal(pt)
		require.NoError(t, err)
		require.NotContains(t, string(sealed), "token")
		got, err := s.Open(sealed)
		require.NoError(t, err)
		require.Equal(t, len(pt), len(got))
		require.True(t, bytes.Equal(pt, got))
	}
	a, err := s.Seal([]byte("same"))
	require.NoError(t, err)
	b, err := s.Seal([]byte("same"))
	require.NoError(t, err)
	require.NotEqual(t, a, b, "every seal uses a fresh nonce")
}

func TestSealerErrors(t *testing.T) {
	t.Parallel()
	s := newSealer(t, "key one")
	other := newSealer(t, "key two")
	sealed, err := s.Seal([]byte("refresh token"))
	require.NoError(t, err)

	flip := func(i int) []byte {
		c := bytes.Clone(sealed)
		c[i] ^= 1
		return c
	}
	tests := []struct {
		name   string
		sealer *spotifyhist.Sealer
		in     []byte
		want   error
	}{
		{"WrongKey", other, sealed, spotifyhist.ErrWrongKey},
		{"Truncated", s, sealed[:10], spotifyhist.ErrCorruptSealed},
		{"Empty", s, nil, spotifyhist.ErrCorruptSealed},
		{"CutTag", s, sealed[:len(sealed)-1], spotifyhist.ErrCorruptSealed},
		{"UnknownVersion", s, flip(0), spotifyhist.ErrCorruptSealed},
		{"FlippedNonce", s, flip(6), spotifyhist.ErrCorruptSealed},
		{"FlippedCiphertext", s, flip(len(sealed) - 1), spotifyhist.ErrCorruptSealed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.sealer.Open(tt.in)
			require.ErrorIs(t, err, tt.want)
		})
	}
}

func TestNewSealerKeySize(t *testing.T) {
	t.Parallel()
	_, err := spotifyhist.NewSealer(make([]byte, 16))
	require.Error(t, err)
	require.Len(t, spotifyhist.DeriveKey("x"), spotifyhist.KeySize)
	require.Equal(t, spotifyhist.DeriveKey("x"), spotifyhist.DeriveKey("x"))
	require.NotEqual(t, spotifyhist.DeriveKey("x"), spotifyhist.DeriveKey("y"))
}

func TestSealToken(t *testing.T) {
	t.Parallel()
	s := newSealer(t, "secret")
	tok := &spotifyhist.Token{
		AccessToken:  "BQ-access",
		RefreshToken: "AQ-refresh",
		TokenType:    "Bearer",
		Expiry:       time.Date(2026, 8, 1, 13, 0, 0, 0, time.UTC),
		Scope:        "user-read-recently-played",
		AuthorizedAt: time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC),
	}
	sealed, err := s.SealToken(tok)
	require.NoError(t, err)
	require.NotContains(t, string(sealed), "AQ-refresh")
	got, err := s.OpenToken(sealed)
	require.NoError(t, err)
	require.Equal(t, tok, got)

	notJSON, err := s.Seal([]byte("not json"))
	require.NoError(t, err)
	_, err = s.OpenToken(notJSON)
	require.ErrorIs(t, err, spotifyhist.ErrCorruptSealed)
}
