package spotifyhist_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/spotifyhist"
)

var secretToken = spotifyhist.Token{
	AccessToken:  "BQsecret-access",
	RefreshToken: "AQsecret-refresh",
	TokenType:    "Bearer",
	Expiry:       time.Date(2026, 8, 1, 13, 0, 0, 0, time.UTC),
	Scope:        "user-read-recently-played",
	AuthorizedAt: time.Date(2026, 2, 28, 12, 0, 0, 0, time.UTC),
}

func TestTokenRedaction(t *testing.T) {
	t.Parallel()
	tok := secretToken
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("token", "token", tok, "ptr", &tok)
	outputs := map[string]string{
		"%v":   fmt.Sprintf("%v", tok),
		"%+v":  fmt.Sprintf("%+v", tok),
		"%#v":  fmt.Sprintf("%#v", tok),
		"%s":   fmt.Sprintf("%s", &tok),
		"%v*":  fmt.Sprintf("%v", &tok),
		"slog": logged.String(),
	}
	for name, out := range outputs {
		require.NotContains(t, out, "secret", "%s leaks a secret: %s", name, out)
		require.Contains(t, out, "redacted", "%s: %s", name, out)
	}
	require.Contains(t, logged.String(), `"scope":"user-read-recently-played"`)
}

func TestTokenJSONRoundTrip(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(secretToken)
	require.NoError(t, err)
	require.Contains(t, string(b), `"refresh_token":"AQsecret-refresh"`, "storage form keeps the secrets (seal it)")
	require.Contains(t, string(b), `"authorized_at":"2026-02-28T12:00:00Z"`)
	var got spotifyhist.Token
	require.NoError(t, json.Unmarshal(b, &got))
	require.Equal(t, secretToken, got)
}

func TestRefreshTokenExpiry(t *testing.T) {
	t.Parallel()
	tok := secretToken
	require.Equal(t, time.Date(2026, 8, 28, 12, 0, 0, 0, time.UTC), spotifyhist.RefreshTokenExpiry(&tok))
	require.True(t, spotifyhist.RefreshTokenExpiry(&spotifyhist.Token{}).IsZero())
	require.True(t, spotifyhist.RefreshTokenExpiry(nil).IsZero())
}
