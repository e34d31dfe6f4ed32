//go:build unix

package dedupe_test

import (
	"syscall"
	"time"
)

// processCPU is the CPU time the process used so far (user + system), which
// benchmarks report beside wall time on a shared machine.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
