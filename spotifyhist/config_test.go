package spotifyhist_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/spotifyhist"
)

func TestNewValidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     spotifyhist.Config
		wantErr string
	}{
		{"Minimal", spotifyhist.Config{ClientID: "id"}, ""},
		{"NoClientID", spotifyhist.Config{}, "ClientID"},
		{"HTTPSRedirect", spotifyhist.Config{ClientID: "id", RedirectURL: "https://hist.example.org/auth/callback"}, ""},
		{"LoopbackV4", spotifyhist.Config{ClientID: "id", RedirectURL: "http://127.0.0.1:8080/auth/callback"}, ""},
		{"LoopbackV6", spotifyhist.Config{ClientID: "id", RedirectURL: "http://[::1]:8080/auth/callback"}, ""},
		{"Localhost", spotifyhist.Config{ClientID: "id", RedirectURL: "http://localhost:8080/auth/callback"}, "localhost"},
		{"LocalhostHTTPS", spotifyhist.Config{ClientID: "id", RedirectURL: "https://localhost/auth/callback"}, "localhost"},
		{"PlainHTTP", spotifyhist.Config{ClientID: "id", RedirectURL: "http://hist.example.org/auth/callback"}, "loopback"},
		{"RelativeRedirect", spotifyhist.Config{ClientID: "id", RedirectURL: "/auth/callback"}, "absolute"},
		{"BadAPIURL", spotifyhist.Config{ClientID: "id", APIURL: "ftp://x/v1/"}, "APIURL"},
		{"APIURLWithQuery", spotifyhist.Config{ClientID: "id", APIURL: "https://x/v1/?a=b"}, "query"},
		{"BadBudget", spotifyhist.Config{ClientID: "id", Budget: spotifyhist.BudgetConfig{EnrichmentShare: 2}}, "EnrichmentShare"},
		{"NegativeWait", spotifyhist.Config{ClientID: "id", MaxRetryWait: -1}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := spotifyhist.New(tt.cfg)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
			require.ErrorContains(t, err, "spotifyhist: config:")
		})
	}
}

func TestNewNormalisesURLs(t *testing.T) {
	t.Parallel()
	app, err := spotifyhist.New(spotifyhist.Config{ClientID: "id"})
	require.NoError(t, err)
	require.Equal(t, spotifyhist.APIURLDefault, app.APIURL())

	app, err = spotifyhist.New(spotifyhist.Config{ClientID: "id", APIURL: "http://127.0.0.1:9000/v1", RedirectURL: testRedirectURL,
		AccountsURL: "http://127.0.0.1:9000"})
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:9000/v1/", app.APIURL(), "a trailing slash is added (zmb3 concatenates)")
	require.Contains(t, app.AuthCodeURL("s", "v"), "http://127.0.0.1:9000/authorize?")
}

func TestScopes(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{
		"user-read-recently-played", "user-read-currently-playing", "user-read-playback-state",
		"playlist-read-private", "playlist-read-collaborative",
	}, spotifyhist.Scopes())
	s := spotifyhist.Scopes()
	s[0] = "changed"
	require.Equal(t, "user-read-recently-played", spotifyhist.Scopes()[0], "callers get a copy")
}

func TestMetricsRegistration(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewPedanticRegistry()
	_, err := spotifyhist.New(spotifyhist.Config{ClientID: "id", Registerer: reg})
	require.NoError(t, err)
	mfs, err := reg.Gather()
	require.NoError(t, err)
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	require.True(t, names["spotifyhist_api_blocked_until_timestamp_seconds"])

	// Without a Registerer nothing is registered anywhere.
	_, err = spotifyhist.New(spotifyhist.Config{ClientID: "id"})
	require.NoError(t, err)
}
