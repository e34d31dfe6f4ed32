//go:build !unix

package monitor

import "time"

// importProcessCPU is unknown here.
func importProcessCPU() time.Duration { return 0 }
