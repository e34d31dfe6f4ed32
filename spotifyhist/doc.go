// Package spotifyhist is the Spotify side of the listening-history tracker: OAuth login
// (state + PKCE), a token source that persists refreshed tokens, a Web API client for the
// calls the tracker needs, an HTTP transport with metrics, app-wide pacing and Retry-After
// handling, stable IDs for local files, sealing of tokens at rest, and the reader of
// Spotify's data exports.
//
// The package is a leaf: it imports nothing else of this module. Tests use the fake
// Spotify server in [github.com/spotifyhist/spotifyhist/spotifyhist/spotifyhisttest].
//
// # Structure
//
// One [App] per Spotify application (client ID) holds the OAuth configuration, the [Budget]
// and the [Transport]. [App.Client] gives a [Client] per user. Requests flow through
//
//	Client → status (non-2xx → *Error) → auth (Bearer, 401 → refresh → retry once)
//	       → Transport (budget, metrics, 429, 5xx retries) → Config.HTTPClient.Transport
//
// # Login
//
// [App.NewPKCE] makes a state and a code verifier for one login; [App.AuthCodeURL] builds the
// authorize URL (S256 challenge, [Scopes]); [App.Exchange] trades the callback's code for a
// [Token] and stamps AuthorizedAt. Refresh tokens die 6 months after that
// ([RefreshTokenExpiry]); then, or after a revocation, the token endpoint answers
// invalid_grant and every call for that user returns an error wrapping [ErrReauthRequired].
//
// # Errors
//
// Web API failures are [*Error] values (status, message, reason, Retry-After, endpoint)
// matching [ErrUnauthorized], [ErrForbidden], [ErrNotFound] and [ErrRateLimited] with
// errors.Is. Calls refused locally because of an earlier long 429 also match [ErrBlocked]
// and carry [BlockedUntil]. [IsRetryable] and [RetryAfter] tell a caller whether and when
// to try again.
//
// # Rate limits
//
// Spotify limits the app, not the user, over a rolling 30-second window, and Development
// Mode adds a daily quota per developer account (429 with reason QUOTA_EXCEEDED and a
// Retry-After of up to a day). The [Budget] paces every call of the App and applies the
// blocking policy documented on it: calls carry a [Priority] ([WithPriority]), and
// enrichment (background lookups) gets a limited share and its own blocks, so it can
// neither starve nor stop listening capture.
//
// # Use of zmb3/spotify
//
// github.com/zmb3/spotify/v2 v2.4.3 predates the 2026 Web API changes. It is used where it
// works and replaced where it is broken or lossy; it always runs over this package's HTTP
// client (never with WithRetry, which retries 429s forever).
//
//	Call              How                                Why
//	RecentlyPlayed    zmb3 PlayerRecentlyPlayedOpt       works: ms kept, only "after" sent (cursors unused)
//	Track             zmb3 GetTrack                      works (ISRC from external_ids)
//	Me                own GET /me                        CurrentUser drops account_id
//	CurrentlyPlaying  own GET                            zmb3 lacks currently_playing_type, turns 204 into
//	                                                     a zero struct, decodes episodes as tracks
//	MyPlaylists       own GET /me/playlists              zmb3 reads tracks.total (now items.total) and
//	Playlist          own GET /playlists/{id}            turns public:null into false
//	PlaylistItems     own GET /playlists/{id}/items      zmb3 calls the removed /tracks (403), ignores "item"
//	(not used)        GetTracks, GetPlaylistsForUser,    endpoints removed in Development Mode
//	                  GetPlaylistTracks
//
// Error responses never reach zmb3's decoder: the client turns them into [*Error] first, so
// reason and Retry-After survive.
//
// # Local files
//
// Local files have no Spotify ID. [LocalTrackID] derives one from the whole canonicalised
// URI (never a truncation of it), and [ParseLocalURI] reads artist, album, title and
// duration from it. Every track a Client returns for a local file carries that ID.
//
// # Metrics
//
// With Config.Registerer set, the App registers:
//
//	spotifyhist_api_requests_total{endpoint,status}           HTTP attempts ("error" for transport errors)
//	spotifyhist_api_request_duration_seconds{endpoint}        attempt latency
//	spotifyhist_api_rate_limited_total{reason}                rate_limit, quota_exceeded, blocked, daily_budget
//	spotifyhist_api_retries_total{endpoint,cause}             server_error, network, rate_limit
//	spotifyhist_api_blocked_until_timestamp_seconds{priority} end of the current block, 0 if none
//	spotifyhist_api_budget_wait_seconds{priority}             time spent waiting for the budget
//	spotifyhist_oauth_token_requests_total{grant,result}      token endpoint outcomes
//
// endpoint is a route template such as "/playlists/{id}/items", never a raw ID.
package spotifyhist
