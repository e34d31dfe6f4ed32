package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const fixture = "testdata/Streaming_History_Audio_2024_0.json"

func TestRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{
			name: "ByPlays",
			args: []string{fixture},
			want: fixture + `: 8 entries, 5 plays, 3 artists
not counted: too_short 1, incognito 1, episode 1

top 3 artists by plays:
  1. The Breakwaters       2 plays     0h07m
  2. Aurora Lane           2 plays     0h06m
  3. Kasbah Echo           1 play      0h05m
`,
		},
		{
			name: "ByTimeWithoutSkips",
			args: []string{"-by", "time", "-exclude-skipped", "-n", "2", fixture},
			want: fixture + `: 8 entries, 4 plays, 3 artists
not counted: too_short 1, incognito 1, episode 1, skipped 1

top 2 artists by time listened:
  1. Aurora Lane       2 plays     0h06m
  2. Kasbah Echo       1 play      0h05m
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			require.NoError(t, run(t.Context(), tt.args, &out, &errOut))
			require.Equal(t, tt.want, out.String())
			require.Empty(t, errOut.String())
		})
	}
}

func TestRunDemo(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), []string{"-demo", "-days", "30", "-n", "5"}, &out, &bytes.Buffer{}))
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	require.Len(t, lines, 9, out.String()) // summary, not counted, blank, title, 5 artists
	require.True(t, strings.HasPrefix(lines[0], "demo export: "), lines[0])
	require.Equal(t, "top 5 artists by plays:", lines[3])
	for i, line := range lines[4:] {
		require.True(t, strings.HasPrefix(line, "  "+string(rune('1'+i))+". "), line)
	}
}

func TestRunErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "NoExport", args: nil, want: "want exactly one EXPORT"},
		{name: "DemoAndExport", args: []string{"-demo", fixture}, want: "want exactly one EXPORT"},
		{name: "BadOrder", args: []string{"-by", "artist", fixture}, want: "-by: want plays or time"},
		{name: "BadCount", args: []string{"-n", "0", fixture}, want: "-n: want at least 1"},
		{name: "BadDays", args: []string{"-demo", "-days", "0"}, want: "-days: want at least 1"},
		{name: "MissingFile", args: []string{"testdata/missing.zip"}, want: "read testdata/missing.zip"},
		{name: "NotAnExport", args: []string{"main.go"}, want: "read main.go"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := run(t.Context(), tt.args, &bytes.Buffer{}, &bytes.Buffer{})
			require.ErrorContains(t, err, tt.want)
		})
	}
}
