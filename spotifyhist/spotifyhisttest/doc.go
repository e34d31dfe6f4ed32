// Package spotifyhisttest is a faithful fake of Spotify's accounts service
// and Web API as they behave in late 2026 for an app in Development Mode,
// plus a deterministic listening simulator. Use it to test code that talks
// to Spotify without the internet or credentials, in the way
// net/http/httptest is used for HTTP.
//
// # Server
//
// [NewServer] starts a fake on a loopback port for the length of a test;
// [New] does the same outside tests (call [Server.Close]). With
// Options.BaseURL set no listener is started and the fake is reached
// through [Server.Transport] (in process, no sockets: what
// testing/synctest bubbles need), [Server.Client] or [Server.Handler].
// The transport also answers for api.spotify.com and accounts.spotify.com,
// so a client with Spotify's default URLs works unchanged.
//
// Every absolute href, next and previous is built on the fake's own base
// URL. Every time the fake reads (token expiry, cursors, playback
// progress, the rate limiter) comes from Options.Now.
//
// # Endpoints
//
// Accounts: GET /authorize (redirects to redirect_uri with code and state,
// or error=access_denied; checks client_id, response_type, the redirect
// URI rules and the S256 code challenge) and POST /api/token
// (authorization_code with PKCE and identical redirect_uri, single-use
// codes; refresh_token, which rotates the refresh token unless
// Options.OmitRefreshToken; Basic or body client authentication;
// invalid_grant and invalid_client as 400 JSON).
//
// Web API: /v1/me, /v1/me/player/recently-played (limit 1–50, after or
// before in exclusive milliseconds, string cursors, next with before=,
// only the 50 latest plays reachable), /v1/me/player/currently-playing
// and /v1/me/player (204 when idle; ads, episodes and local files as
// Spotify renders them), /v1/me/playlists, /v1/playlists/{id},
// /v1/playlists/{id}/items (403 unless owner or collaborator),
// /v1/tracks/{id}, /v1/episodes/{id} and /v1/artists/{id}. The endpoints
// removed for Development Mode in 2026 (/v1/playlists/{id}/tracks,
// /v1/tracks?ids=, /v1/users/{id}/playlists, …) answer 403.
//
// Error bodies are Spotify's: {"error":{"status":401,"message":"The access
// token expired"}}; 429 carries Retry-After and optionally
// "reason":"QUOTA_EXCEEDED".
//
// # Seeding, faults and observation
//
// Seed state with [Server.AddUser], [Server.IssueToken] (tokens without
// the browser), [Server.AddTrack], [Server.AddRecentPlay],
// [Server.SetPlayback] and [Server.AddPlaylist]. Script failures with
// [Server.FailNext] (any status, raw Retry-After, reason, body),
// [Server.ExpireAccessTokens], [Server.RevokeRefreshToken],
// [Server.SetLatency], [Server.SetRateLimit] (rolling 30-second window) and
// [Server.SetQuota]. Observe with [Server.Requests] and
// [Server.CallCount].
//
// # Simulator
//
// A [Simulator] ([NewSimulator]) generates, from a seed, listening
// sessions for many virtual users: tracks from a shared catalogue, local
// files, podcast episodes and ads, skips, back-to-back replays, pauses,
// private and offline sessions, idle nights. Given to a server through
// Options.Simulator, it drives recently-played and currently-playing as a
// pure function of Options.Now, with Spotify's quirks (lag, omitted skips,
// offline plays arriving late with their past played_at, no local files or
// episodes in recently-played). [Simulator.Truth] is the ground truth a
// perfect tracker would store; [Simulator.ExportExtendedHistory],
// [Simulator.ExportAccountData] and [WriteExportZip] build data exports
// from the same timeline.
package spotifyhisttest
