// Package recap is a small piece of code that talks to Spotify through
// [spotifyhist.Client]: it summarises what a user listened to lately. It
// exists to show, in recap_test.go, how to test such code offline with the
// fake Spotify of package spotifyhisttest, including the failures real Spotify
// produces (rate limits, expired authorisations).
package recap
