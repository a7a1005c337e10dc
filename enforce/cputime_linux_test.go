package enforce

import (
	"syscall"
	"time"
)

// threadCPU is the CPU time of the calling OS thread (lock it first): on
// a shared machine, the time other processes take the core away is not
// in it.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_THREAD, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
