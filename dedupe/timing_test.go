package dedupe_test

import (
	"testing"
	"time"

	"github.com/spotifyhist/spotifyhist/dedupe"
)

func TestDebugTiming(t *testing.T) {
	c, cp := benchCorpus(&testing.B{})
	for range 5 {
		st := time.Now()
		dedupe.OneToOne(nil).Match(c.Entries, cp.Rows)
		t.Log(time.Since(st))
	}
}
