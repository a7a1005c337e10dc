package enforce

import (
	"encoding/gob"
	"fmt"
	"io"
)

// WriteState writes the labels to w, for the engine's state snapshots: rule
// labels are rebuilt from the log like counters, so they are saved with
// the log position they reflect.
func (l *Labels) WriteState(w io.Writer) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return gob.NewEncoder(w).Encode(l.m)
}

// ReadState replaces the labels with those WriteState wrote.
func (l *Labels) ReadState(r io.Reader) error {
	var m map[string]map[string]int64
	if err := gob.NewDecoder(r).Decode(&m); err != nil {
		l.Reset()
		return fmt.Errorf("rule labels snapshot: %w", err)
	}
	if m == nil {
		m = map[string]map[string]int64{}
	}
	l.mu.Lock()
	l.m = m
	l.mu.Unlock()
	return nil
}

// Reset drops every label.
func (l *Labels) Reset() {
	l.mu.Lock()
	l.m = map[string]map[string]int64{}
	l.mu.Unlock()
}
