//go:build linux

package spotifyhist

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user + system) the process has used, all threads
// included (the garbage collector's too). Benchmarks report it beside wall time because
// it barely moves when other processes compete for the cores.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
