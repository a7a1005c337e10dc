package engine

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
)

// Part is evaluation state kept outside the engine's counters, which the
// engine's snapshots carry: the detectors, the labels rules set. ReadState
// replaces the part's contents with what WriteState wrote; Reset empties it.
type Part interface {
	WriteState(w io.Writer) error
	ReadState(r io.Reader) error
	Reset()
}

// stateMagic starts an engine state stream; the number changes with the
// stream's layout.
const stateMagic = "warden-engine-state-2\n"

func (e *Engine) parts() map[string]Part {
	out := maps.Clone(e.opts.Parts)
	if out == nil {
		out = map[string]Part{}
	}
	out["counters"] = e.st
	if e.opts.Detectors != nil {
		out["detectors"] = e.opts.Detectors
	}
	return out
}

// SaveState writes everything evaluation has built up (counters,
// detectors, Parts) to w. The caller makes sure no evaluation runs
// meanwhile, so that the state reflects a known set of events: ingest
// writes it with the log position it reflects.
func (e *Engine) SaveState(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	if _, err := io.WriteString(bw, stateMagic); err != nil {
		return err
	}
	parts := e.parts()
	names := slices.Sorted(maps.Keys(parts))
	if err := writeUvarint(bw, uint64(len(names))); err != nil {
		return err
	}
	for _, name := range names {
		if err := writeString(bw, name); err != nil {
			return err
		}
		// Each part is length-prefixed so a reader can tell a truncated
		// part from the next one; parts are written to memory first.
		var buf bytes.Buffer
		if err := parts[name].WriteState(&buf); err != nil {
			return fmt.Errorf("engine state %s: %w", name, err)
		}
		if err := writeUvarint(bw, uint64(buf.Len())); err != nil {
			return err
		}
		if _, err := bw.Write(buf.Bytes()); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// LoadState replaces the evaluation state with one SaveState wrote. On
// error the state is reset to empty, never left half-loaded. A part the
// stream lacks (one added since it was written) starts empty; a part the
// engine no longer has is skipped.
func (e *Engine) LoadState(r io.Reader) (err error) {
	e.ResetState()
	defer func() {
		if err != nil {
			e.ResetState()
		}
	}()
	br := bufio.NewReaderSize(r, 1<<20)
	head := make([]byte, len(stateMagic))
	if _, err := io.ReadFull(br, head); err != nil || string(head) != stateMagic {
		return errors.New("not a warden engine state (or one from another version)")
	}
	n, err := binary.ReadUvarint(br)
	if err != nil || n > 64 {
		return fmt.Errorf("engine state: bad part count")
	}
	parts := e.parts()
	for range n {
		name, err := readString(br)
		if err != nil {
			return fmt.Errorf("engine state: %w", err)
		}
		size, err := binary.ReadUvarint(br)
		if err != nil {
			return fmt.Errorf("engine state %s: %w", name, err)
		}
		lr := &io.LimitedReader{R: br, N: int64(size)}
		if p, ok := parts[name]; ok {
			if err := p.ReadState(lr); err != nil {
				return fmt.Errorf("engine state %s: %w", name, err)
			}
		}
		// A decoder may stop short of its part's end, and a part this
		// engine lacks is skipped; the next part starts after it.
		if _, err := io.Copy(io.Discard, lr); err != nil {
			return err
		}
		if lr.N != 0 {
			return fmt.Errorf("engine state %s: truncated", name)
		}
	}
	return nil
}

// ResetState empties the counters, the detectors and every Part.
func (e *Engine) ResetState() {
	for _, p := range e.parts() {
		p.Reset()
	}
}

func writeUvarint(w io.Writer, v uint64) error {
	var b [binary.MaxVarintLen64]byte
	_, err := w.Write(b[:binary.PutUvarint(b[:], v)])
	return err
}

func writeString(w io.Writer, s string) error {
	if err := writeUvarint(w, uint64(len(s))); err != nil {
		return err
	}
	_, err := io.WriteString(w, s)
	return err
}

func readString(r *bufio.Reader) (string, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil || n > 256 {
		return "", errors.New("bad part name")
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return string(b), nil
}
