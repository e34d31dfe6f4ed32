package spotifyhist

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"

	"golang.org/x/oauth2"
)

// NewPKCE returns a fresh random state (32 bytes, base64url) and PKCE code verifier (43
// characters) for one login attempt. The caller binds both to the browser that starts the
// login (e.g. in its server-side session), accepts the callback only with the same state,
// and uses the state once.
func (a *App) NewPKCE() (state, verifier string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", wrap("new pkce", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), oauth2.GenerateVerifier(), nil
}

// AuthCodeURL returns the Spotify authorize URL for the authorization code flow with PKCE
// (S256 challenge of verifier), the App's redirect URL and [Scopes].
func (a *App) AuthCodeURL(state, verifier string) string {
	return a.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))
}

// Exchange trades the code of the login callback (with the verifier of that login) for a
// token; AuthorizedAt is set to now. The client authenticates with HTTP Basic when it has a
// secret, otherwise with client_id in the body. A rejected code or verifier (invalid_grant)
// wraps ErrReauthRequired; bad client credentials wrap ErrInvalidClient.
func (a *App) Exchange(ctx context.Context, code, verifier string) (*Token, error) {
	if a.cfg.RedirectURL == "" {
		return nil, wrap("exchange code", errors.New("Config.RedirectURL is required for login"))
	}
	if code == "" {
		return nil, wrap("exchange code", errors.New("empty authorization code"))
	}
	octx := context.WithValue(ctx, oauth2.HTTPClient, a.tokenHTTP)
	ot, err := a.oauth.Exchange(octx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, a.tokenError("exchange code", "authorization_code", err)
	}
	a.m.tokenRequests.WithLabelValues("authorization_code", "ok").Inc()
	return a.tokenFromOAuth(ot, nil), nil
}
