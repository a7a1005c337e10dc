//go:build !linux

package enforce

import "time"

var cpuStart = time.Now()

// threadCPU falls back to wall time where a thread's CPU time is not
// available.
func threadCPU() time.Duration { return time.Since(cpuStart) }
