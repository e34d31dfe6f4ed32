//go:build !linux

package spotifyhist

import "time"

// processCPU is only measured on Linux.
func processCPU() (time.Duration, bool) { return 0, false }
