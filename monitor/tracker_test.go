package monitor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/spotifyhist"
)

func TestTracker(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	track := func(id string, secs int) *spotifyhist.Track {
		return &spotifyhist.Track{ID: id, Name: id, DurationMS: secs * 1000}
	}
	a, b := track("a", 200), track("b", 180)
	play := func(ts float64, tr *spotifyhist.Track, progress float64) observation {
		return observation{at: at(ts), track: tr, progress: time.Duration(progress * float64(time.Second)), playing: true}
	}
	paused := func(ts float64, tr *spotifyhist.Track, progress float64) observation {
		o := play(ts, tr, progress)
		o.playing = false
		return o
	}
	idle := func(ts float64) observation { return observation{at: at(ts)} }

	type ended struct {
		id        string
		start     float64
		ms        int
		end       float64
		qualifies bool
	}
	tests := []struct {
		name string
		obs  []observation
		want []ended
	}{
		{
			name: "FullPlayThenNext",
			obs:  []observation{play(0, a, 1), play(100, a, 101), play(205, b, 4)},
			want: []ended{{"a", -1, 200_000, 199, true}},
		},
		{
			name: "SkipSeenThroughNextStart",
			obs:  []observation{play(0, a, 2), play(33, a, 35), play(40, b, 3)},
			want: []ended{{"a", -2, 39_000, 37, true}},
		},
		{
			name: "ShortSkipDoesNotCount",
			obs:  []observation{play(0, a, 2), play(25, b, 3)},
			want: []ended{{"a", -2, 24_000, 22, false}},
		},
		{
			name: "RepeatByRewind",
			obs:  []observation{play(0, a, 150), play(60, a, 10), play(300, b, 1)},
			want: []ended{{"a", -150, 200_000, 50, true}, {"a", 50, 200_000, 250, true}},
		},
		{
			name: "RepeatAfterNaturalEnd",
			obs:  []observation{play(0, a, 190), play(240, a, 30)},
			want: []ended{{"a", -190, 200_000, 10, true}},
		},
		{
			name: "RestartEarly",
			obs:  []observation{play(0, a, 2), play(10, a, 4), play(300, b, 1)},
			want: []ended{{"a", -2, 8_000, 6, false}, {"a", 6, 200_000, 206, true}},
		},
		{
			name: "PauseNotCounted",
			obs: []observation{
				play(0, a, 50), paused(20, a, 60), paused(200, a, 60), play(300, a, 100), play(400, b, 5),
			},
			want: []ended{{"a", -50, 195_000, 395, true}},
		},
		{
			name: "SessionEndsNaturally",
			obs:  []observation{play(0, a, 100), idle(300)},
			want: []ended{{"a", -100, 200_000, 100, true}},
		},
		{
			name: "StoppedBetweenPolls",
			obs:  []observation{play(0, a, 40), idle(20)},
			want: []ended{{"a", -40, 50_000, 10, true}},
		},
		{
			name: "PausedThenGone",
			obs:  []observation{play(0, a, 10), paused(10, a, 20), idle(60)},
			want: []ended{{"a", -10, 20_000, 10, false}},
		},
		{
			name: "AdBetweenTracks",
			obs:  []observation{play(0, a, 150), idle(60), play(90, b, 10)},
			want: []ended{{"a", -150, 200_000, 50, true}},
		},
		{
			name: "UnobservedAdAfterNaturalEnd",
			obs:  []observation{play(0, a, 190), play(60, b, 20)},
			want: []ended{{"a", -190, 200_000, 10, true}},
		},
		{
			name: "LongTailAfterSkipNotTrusted",
			obs:  []observation{play(0, a, 5), play(50, b, 20)},
			want: []ended{{"a", -5, 35_000, 30, false}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var tr tracker
			var got []ended
			for _, o := range tc.obs {
				if e := tr.observe(o); e != nil {
					got = append(got, ended{
						id:        e.track.ID,
						start:     e.start.Sub(t0).Seconds(),
						ms:        e.msPlayed,
						end:       e.end.Sub(t0).Seconds(),
						qualifies: e.qualifies(),
					})
				}
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestEndedPlayShortTrack(t *testing.T) {
	t.Parallel()
	p := &endedPlay{track: spotifyhist.Track{ID: "x", DurationMS: 40_000}, msPlayed: 21_000, observedMS: 21_000}
	require.True(t, p.qualifies(), "half of a track shorter than a minute counts")
	p.observedMS, p.msPlayed = 19_000, 19_000
	require.False(t, p.qualifies())
	require.Equal(t, p.start.Add(19*time.Second), p.playedAt())
}

func TestObservationFrom(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	tr := &spotifyhist.Track{ID: "a", DurationMS: 1000}
	tests := []struct {
		name      string
		pb        *spotifyhist.Playback
		wantTrack bool
		wantAt    time.Time
	}{
		{"Idle", nil, false, now},
		{"Track", &spotifyhist.Playback{Type: spotifyhist.PlaybackTrack, Track: tr, ProgressKnown: true, IsPlaying: true, Timestamp: now.Add(-time.Second)}, true, now.Add(-time.Second)},
		{"SkewedTimestamp", &spotifyhist.Playback{Type: spotifyhist.PlaybackTrack, Track: tr, ProgressKnown: true, Timestamp: now.Add(-time.Hour)}, true, now},
		{"Ad", &spotifyhist.Playback{Type: spotifyhist.PlaybackAd, IsPlaying: true}, false, now},
		{"Episode", &spotifyhist.Playback{Type: spotifyhist.PlaybackEpisode, ProgressKnown: true}, false, now},
		{"NoProgress", &spotifyhist.Playback{Type: spotifyhist.PlaybackTrack, Track: tr}, false, now},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := observationFrom(tc.pb, now)
			require.Equal(t, tc.wantTrack, o.track != nil)
			require.Equal(t, tc.wantAt, o.at)
		})
	}
}
