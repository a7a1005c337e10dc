package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
)

// snapMagic starts a state snapshot file; the log position follows it.
const snapMagic = "warden-ingest-snapshot-1\n"

// Snapshot writes the engine's state to Options.StatePath with the log
// position it reflects. Evaluation is held off while the state is copied
// to memory, not while it is written to disk.
func (in *Ingester) Snapshot(ctx context.Context) error {
	if in.eng == nil || in.opt.StatePath == "" {
		return nil
	}
	in.gate.Lock()
	start := time.Now()
	if in.dirty.Load() {
		in.gate.Unlock()
		return errors.New("ingest: no snapshot while the engine's state is being rebuilt")
	}
	pos, err := in.opt.Log.LastSeq(ctx)
	var buf bytes.Buffer
	if err == nil {
		buf.WriteString(snapMagic)
		binary.Write(&buf, binary.LittleEndian, pos)
		err = in.eng.SaveState(&buf)
	}
	in.gate.Unlock()
	paused := time.Since(start)
	if err != nil {
		return fmt.Errorf("ingest: snapshot: %w", err)
	}
	if err := writeFileAtomic(in.opt.StatePath, buf.Bytes()); err != nil {
		return fmt.Errorf("ingest: snapshot: %w", err)
	}
	in.snapPause.Observe(paused.Seconds())
	in.opt.Logger.Debug("engine state snapshot written", "position", pos, "bytes", buf.Len(), "intake_paused", paused.Round(time.Microsecond), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// Run snapshots the engine's state every period until ctx ends; the final
// snapshot is the caller's, once intake has stopped.
func (in *Ingester) Run(ctx context.Context, every time.Duration) {
	if in.eng == nil || in.opt.StatePath == "" {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := in.Snapshot(ctx); err != nil {
				in.opt.Logger.Error("engine state snapshot failed", "err", err)
			}
		}
	}
}

// rebuild makes the engine's state that of the log: the snapshot, then
// every logged event after its position. A missing or unreadable snapshot
// means replaying the whole log. The caller holds the gate exclusively (or
// is New, before anyone else can call).
func (in *Ingester) rebuild(ctx context.Context) error {
	if in.eng == nil {
		return nil
	}
	start := time.Now()
	pos, err := in.loadSnapshot()
	if err != nil {
		in.opt.Logger.Warn("engine state snapshot not used; replaying the whole event log", "path", in.opt.StatePath, "err", err)
		in.eng.ResetState()
		pos = 0
	}
	var n, bad int
	err = in.opt.Log.Export(ctx, sqlstore.ExportFilter{AfterSeq: pos}, func(r sqlstore.EventRecord) error {
		ev, err := warden.DecodeEvent(r.Body)
		if err != nil {
			bad++
			return nil
		}
		in.eng.Replay(ctx, &ev)
		n++
		return nil
	})
	if err != nil {
		in.eng.ResetState()
		return fmt.Errorf("ingest: replay the event log after position %d: %w", pos, err)
	}
	if bad > 0 {
		in.opt.Logger.Warn("logged events that no longer decode were not replayed", "events", bad)
	}
	in.opt.Logger.Info("engine state restored", "snapshot_position", pos, "replayed", n, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// loadSnapshot loads Options.StatePath into the engine and returns the log
// position it reflects; with no snapshot file the state is reset and the
// position is 0.
func (in *Ingester) loadSnapshot() (int64, error) {
	in.eng.ResetState()
	if in.opt.StatePath == "" {
		return 0, nil
	}
	f, err := os.Open(in.opt.StatePath)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	head := make([]byte, len(snapMagic))
	var pos int64
	if _, err := io.ReadFull(br, head); err != nil || string(head) != snapMagic {
		return 0, errors.New("not a warden state snapshot")
	}
	if err := binary.Read(br, binary.LittleEndian, &pos); err != nil || pos < 0 {
		return 0, errors.New("the snapshot's log position is unreadable")
	}
	if err := in.eng.LoadState(br); err != nil {
		return 0, err
	}
	return pos, nil
}

// writeFileAtomic replaces path with data: a crash mid-write leaves the
// previous file.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".snapshot-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
