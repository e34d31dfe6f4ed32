package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/require"
)

// TestRun runs the program in a synctest bubble: the monitor's timers and
// the accelerated Spotify clock follow the bubble's fake time, so two
// simulated hours take a fraction of a second.
func TestRun(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var out, errOut bytes.Buffer
		db := filepath.Join(t.TempDir(), "spotifyhist.db")
		require.NoError(t, run(t.Context(), []string{"-users", "3", "-simulate", "2h", "-show", "3", "-db", db}, &out, &errOut))
		require.Empty(t, errOut.String(), "no warnings or errors logged")

		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		require.Equal(t, "monitoring 3 simulated users for 2h0m0s of simulated time (10s at ×720), SQLite at "+db, lines[0])
		for _, user := range []string{"simuser00001: ", "simuser00002: ", "simuser00003: "} {
			require.Contains(t, out.String(), "\n"+user)
		}
		var stored, captured, visible, bogus int
		_, err := fmt.Sscanf(lines[len(lines)-1], "stored %d plays; captured %d of the %d that appeared in recently-played during the run; %d not in the ground truth",
			&stored, &captured, &visible, &bogus)
		require.NoError(t, err, lines[len(lines)-1])
		require.Positive(t, visible)
		require.Equal(t, visible, captured, "every play that showed in recently-played is stored")
		require.Zero(t, bogus, "every stored play happened")
		require.GreaterOrEqual(t, stored, captured)
	})
}

func TestParseFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "Users", args: []string{"-users", "0"}, want: "-users"},
		{name: "Simulate", args: []string{"-simulate", "1m"}, want: "-simulate"},
		{name: "Speed", args: []string{"-speed", "0"}, want: "-speed"},
		{name: "Show", args: []string{"-show", "-1"}, want: "-show"},
		{name: "Argument", args: []string{"extra"}, want: "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseFlags(tt.args, &bytes.Buffer{})
			require.ErrorContains(t, err, tt.want)
		})
	}
}
