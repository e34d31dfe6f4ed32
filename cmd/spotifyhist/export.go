package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spotifyhist/spotifyhist/store"
)

// exportPlay is one line of `export --format jsonl` (DESIGN §8). `import`
// and `analyze` read the same lines back.
type exportPlay struct {
	PlayedAt  string   `json:"played_at"`
	TrackID   string   `json:"track_id"`
	TrackName string   `json:"track_name"`
	Artists   []string `json:"artists"`
	Album     string   `json:"album"`
	MSPlayed  int      `json:"ms_played"`
	Source    string   `json:"source"`
}

// listenBrainzListen is one listen in ListenBrainz's submission format.
type listenBrainzListen struct {
	ListenedAt    int64 `json:"listened_at"`
	TrackMetadata struct {
		ArtistName     string `json:"artist_name"`
		TrackName      string `json:"track_name"`
		ReleaseName    string `json:"release_name,omitempty"`
		AdditionalInfo struct {
			DurationMS       int      `json:"duration_ms,omitempty"`
			SpotifyID        string   `json:"spotify_id,omitempty"`
			ArtistNames      []string `json:"artist_names,omitempty"`
			MusicService     string   `json:"music_service"`
			SubmissionClient string   `json:"submission_client"`
		} `json:"additional_info"`
	} `json:"track_metadata"`
}

const exportTimeLayout = "2006-01-02T15:04:05.000Z"

func exportCommand() command {
	var userID, format, out string
	return command{
		name:    "export",
		args:    "[--user ID] [--format jsonl|csv|listenbrainz] [--out FILE]",
		summary: "write a user's plays, oldest first",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&userID, "user", "", "user id (default: the only user, or the local user)")
			fs.StringVar(&format, "format", "jsonl", "jsonl, csv or listenbrainz (JSON Lines of ListenBrainz listens)")
			fs.StringVar(&out, "out", "", "output file (default: standard output)")
		},
		run: func(ctx context.Context, e *env, _ *flag.FlagSet, args []string) error {
			if len(args) > 0 {
				return usagef("export takes no positional arguments")
			}
			if format != "jsonl" && format != "csv" && format != "listenbrainz" {
				return usagef("export: unknown format %q (want jsonl, csv or listenbrainz)", format)
			}
			s, err := openStore(ctx, e, nil)
			if err != nil {
				return err
			}
			defer s.Close()
			id, err := resolveUser(ctx, e, s, userID, readUser)
			if err != nil {
				return err
			}
			n := 0
			write := func(w io.Writer) error {
				var err error
				n, err = writeExport(ctx, s, id, format, w)
				return err
			}
			if out == "" {
				bw := bufio.NewWriterSize(e.stdout, 1<<16)
				if err := write(bw); err != nil {
					return fmt.Errorf("export: %w", err)
				}
				return bw.Flush()
			}
			if err := writeFileAtomic(out, write); err != nil {
				return fmt.Errorf("export: %w", err)
			}
			fmt.Fprintf(e.stderr, "exported %d plays of %s to %s\n", n, id, out)
			return nil
		},
	}
}

// writeFileAtomic writes path through a temporary file in the same
// directory (mode 0600: plays are personal data), synced and renamed into
// place only when write succeeded: a reader sees the old file or the whole
// new one, and a failed export leaves nothing behind.
func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.partial")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<16)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// writeExport streams the user's plays year by year so memory stays flat.
func writeExport(ctx context.Context, s store.Store, userID, format string, w io.Writer) (int, error) {
	first, err := firstPlay(ctx, s, userID)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	last, err := s.LatestPlay(ctx, userID, "")
	if err != nil {
		return 0, err
	}
	var cw *csv.Writer
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if format == "csv" {
		cw = csv.NewWriter(w)
		if err := cw.Write([]string{"played_at", "track_id", "track_name", "artists", "album", "ms_played", "source"}); err != nil {
			return 0, err
		}
	}
	n := 0
	for y := first.UTC().Year(); y <= last.PlayedAt.UTC().Year(); y++ {
		from := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
		plays, err := s.ListPlays(ctx, &store.ListPlaysParams{UserID: userID, From: from, To: from.AddDate(1, 0, 0)})
		if err != nil {
			return n, err
		}
		for _, p := range plays {
			if err := writeExportPlay(enc, cw, format, p); err != nil {
				return n, err
			}
			n++
		}
	}
	if cw != nil {
		cw.Flush()
		return n, cw.Error()
	}
	return n, nil
}

func firstPlay(ctx context.Context, s store.Store, userID string) (time.Time, error) {
	t, err := s.Totals(ctx, &store.StatsFilter{UserID: userID})
	if err != nil {
		return time.Time{}, err
	}
	if t.Plays == 0 {
		return time.Time{}, store.ErrNotFound
	}
	return t.FirstPlayed, nil
}

func artistNames(t store.Track) []string {
	names := make([]string, 0, len(t.Artists))
	for _, a := range t.Artists {
		names = append(names, a.Name)
	}
	return names
}

func writeExportPlay(enc *json.Encoder, cw *csv.Writer, format string, p store.PlayWithTrack) error {
	e := exportPlay{
		PlayedAt:  p.PlayedAt.UTC().Format(exportTimeLayout),
		TrackID:   p.TrackID,
		TrackName: p.Track.Name,
		Artists:   artistNames(p.Track),
		Album:     p.Track.Album.Name,
		MSPlayed:  p.MSPlayed,
		Source:    string(p.Source),
	}
	switch format {
	case "csv":
		artists, _ := json.Marshal(e.Artists)
		return cw.Write([]string{e.PlayedAt, e.TrackID, e.TrackName, string(artists), e.Album, strconv.Itoa(e.MSPlayed), e.Source})
	case "listenbrainz":
		var l listenBrainzListen
		l.ListenedAt = p.PlayedAt.Unix()
		if len(e.Artists) > 0 {
			l.TrackMetadata.ArtistName = e.Artists[0]
		}
		l.TrackMetadata.TrackName = e.TrackName
		l.TrackMetadata.ReleaseName = e.Album
		ai := &l.TrackMetadata.AdditionalInfo
		ai.DurationMS = p.Track.DurationMS
		if !p.Track.IsLocal {
			ai.SpotifyID = "https://open.spotify.com/track/" + p.TrackID
		}
		ai.ArtistNames = e.Artists
		ai.MusicService = "spotify.com"
		ai.SubmissionClient = "spotifyhist"
		return enc.Encode(l)
	default:
		return enc.Encode(e)
	}
}
