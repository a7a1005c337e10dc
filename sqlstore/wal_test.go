package sqlstore

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWALStaysBounded: a writer committing back to back never lets SQLite
// start its write-ahead log over by itself; the checkpointer must, so the
// log stays near walRestartFrames however long the writes go on.
func TestWALStaysBounded(t *testing.T) {
	old := walRestartFrames
	walRestartFrames = 256 // 1 MiB
	defer func() { walRestartFrames = old }()
	dir := t.TempDir()
	path := filepath.Join(dir, "w.db")
	db, err := Open(context.Background(), "sqlite:"+path, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE filler (k TEXT PRIMARY KEY, v TEXT)"); err != nil {
		t.Fatal(err)
	}
	pad := strings.Repeat("x", 200)
	maxWAL, last, restarts := int64(0), int64(0), 0
	deadline := time.Now().Add(1500 * time.Millisecond)
	for i := 0; time.Now().Before(deadline); i++ {
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		for j := range 200 {
			// Random-order keys dirty pages all over the index.
			if _, err := tx.Exec("INSERT INTO filler VALUES (?, ?)", fmt.Sprintf("%08x", uint32(i*7919+j)*2654435761), pad); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(path + "-wal"); err == nil {
			maxWAL = max(maxWAL, fi.Size())
			if fi.Size() < last {
				restarts++
			}
			last = fi.Size()
		}
	}
	// The checkpointer looks every 200 ms: between looks the log grows
	// with the writes; it must be started over, not only grow.
	t.Logf("write-ahead log %d bytes at the end, %d at most, truncated %d times", last, maxWAL, restarts)
	if restarts == 0 {
		t.Fatalf("the write-ahead log only grew, to %d bytes, in 1.5 s of writes: nothing starts it over", maxWAL)
	}
}
