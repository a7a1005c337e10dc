package httpapi_test

import (
	"os"
	"syscall"
)

// datasync makes f's data durable without flushing metadata that does not
// affect reading it back (fdatasync(2), as SQLite does on Linux): the
// cheapest durable write, hence the floor's.
func datasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
