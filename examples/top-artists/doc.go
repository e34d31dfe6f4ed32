// Command top-artists reads a Spotify data export and prints your most
// played artists. It shows how to use [spotifyhist.ReadExport] on its own:
// no database, no Spotify app, no network.
//
// Usage:
//
//	top-artists [-n 10] [-by plays|time] [-exclude-skipped] EXPORT
//	top-artists -demo [-days 365] [-n 10] [-by plays|time]
//
// EXPORT is my_spotify_data.zip as downloaded from Spotify, a directory of
// unpacked files, or a single Streaming_History_Audio_*.json,
// StreamingHistory_music_*.json or JSON Lines file. With -demo the program
// analyses synthetic extended history (a year by default) instead.
package main
