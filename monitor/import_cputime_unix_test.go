//go:build unix

package monitor

import (
	"syscall"
	"time"
)

// importProcessCPU is the CPU time the process used so far (user + system),
// which the import benchmarks report beside wall time.
func importProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
