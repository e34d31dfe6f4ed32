// Command embed-monitor embeds spotifyhist's monitor in a program of its
// own: an embedded SQLite store, a Spotify App, and monitor.Monitor polling
// each user's recently-played history, the way `spotifyhist serve` does
// without the web server.
//
// It runs offline against the fake Spotify of package spotifyhisttest,
// whose listening simulator plays music for a few virtual users. The fake's
// clock runs faster than the wall clock (720 simulated seconds per second by
// default), so a few simulated hours pass in seconds; at the end the program
// prints the plays it stored and checks them against the simulator's ground
// truth.
//
// Usage:
//
//	embed-monitor [-users 2] [-simulate 3h] [-speed 720] [-show 8] [-db FILE]
package main
