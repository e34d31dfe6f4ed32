// Package web is spotifyhist's embeddable HTTP front end: login with Spotify
// (authorization code with state and PKCE), server-side sessions, the JSON
// API under /api/v1/ (described by /api/v1/openapi.json), the import upload
// flow, and the dashboard, whose templates and static assets are embedded
// so that `go install` gives a complete binary that works offline.
//
// # Security
//
// Sessions are random 256-bit cookie values; the store keeps only their
// SHA-256. Cookies are HttpOnly, SameSite=Lax, and Secure when BaseURL is
// https. Every state-changing request (POST, PUT, DELETE) must carry the
// session's CSRF token in the X-CSRF-Token header (or a csrf_token form
// field) and must not come from another site (Sec-Fetch-Site / Origin).
// The OAuth state and PKCE verifier travel in a short-lived cookie sealed
// with AES-GCM, bound to the browser that started the login and used once.
// Names from Spotify or from uploads are data: templates escape them and the
// dashboard's scripts insert them as text, never as markup.
//
// # Local mode
//
// Without Spotify credentials (Config.App nil) there is no login: every
// visitor is the local user. The daemon binds to loopback by default in that
// mode.
package web
