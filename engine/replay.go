package engine

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/detect"
	"github.com/wardenhq/warden/engine/state"
)

// ReadEvents reads a JSON Lines file of events (gzip-compressed or not:
// the content decides), decodes and validates every line, and returns the
// events sorted by event time (stable, so equal times keep file order).
func ReadEvents(path string) ([]warden.Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return DecodeEvents(f)
}

// DecodeEvents is ReadEvents over a reader.
func DecodeEvents(r io.Reader) ([]warden.Event, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("reading gzip: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 1<<20)
	}
	// A reader splits lines into batches while the other cores decode
	// them; batches are put back in file order.
	type batch struct {
		lines [][]byte
		nos   []int
		evs   []warden.Event
		err   error
	}
	workers := runtime.GOMAXPROCS(0)
	todo := make(chan *batch, workers*2)
	var done []*batch
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range todo {
				b.evs = make([]warden.Event, len(b.lines))
				for i, line := range b.lines {
					ev, err := warden.DecodeEvent(line)
					if err != nil {
						b.err = fmt.Errorf("line %d: %s", b.nos[i], warden.ErrorMessage(err))
						break
					}
					b.evs[i] = ev
				}
				b.lines = nil
			}
		}()
	}
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 0, 1<<20), warden.MaxBodyBytes)
	cur := &batch{}
	n := 0
	var readErr error
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		cur.lines = append(cur.lines, bytes.Clone(line))
		cur.nos = append(cur.nos, n)
		if len(cur.lines) == 4096 {
			done = append(done, cur)
			todo <- cur
			cur = &batch{}
		}
	}
	readErr = sc.Err()
	done = append(done, cur)
	todo <- cur
	close(todo)
	wg.Wait()
	if readErr != nil {
		return nil, fmt.Errorf("line %d: %w", n+1, readErr)
	}
	total := 0
	for _, b := range done {
		if b.err != nil {
			return nil, b.err
		}
		total += len(b.evs)
	}
	events := make([]warden.Event, 0, total)
	for _, b := range done {
		events = append(events, b.evs...)
	}
	return sortByTime(events), nil
}

// sortByTime orders events by event time, stably. Files are usually in
// order already, which one pass confirms; otherwise the events are ordered
// through an index, since moving the events themselves costs far more.
func sortByTime(events []warden.Event) []warden.Event {
	if slices.IsSortedFunc(events, func(a, b warden.Event) int { return a.Time.Compare(b.Time) }) {
		return events
	}
	keys := make([]int64, len(events))
	idx := make([]int32, len(events))
	for i := range events {
		keys[i] = events[i].Time.UnixNano()
		idx[i] = int32(i)
	}
	slices.SortStableFunc(idx, func(a, b int32) int { return cmp.Compare(keys[a], keys[b]) })
	out := make([]warden.Event, len(events))
	for i, j := range idx {
		out[i] = events[j]
	}
	return out
}

// ReplayStats summarise a replay.
type ReplayStats struct {
	Events       int            `json:"events"`
	Seconds      float64        `json:"seconds"`
	EventsPerSec float64        `json:"events_per_sec"`
	Hits         map[string]int `json:"hits"`    // per rule, in any mode
	Actions      map[string]int `json:"actions"` // verdicts per action
}

// Replay evaluates events, in order, through rs with fresh state and no time
// budget, on one goroutine, so the same events and rules always give the
// same verdicts. det, when set, is observed with each event and gives the
// rules their detect.* features, as in serving; it should be fresh (a
// detect.Set with a fixed Config.HashSeed keeps replays repeatable). fn,
// when set, receives each verdict; progress, when set, is called every
// 10,000 events with the number done.
func Replay(ctx context.Context, rs *RuleSet, events []warden.Event, det *detect.Set, fn func(i int, v warden.Verdict), progress func(done int)) (ReplayStats, error) {
	st := state.New()
	stats := ReplayStats{Hits: map[string]int{}, Actions: map[string]int{}}
	for _, r := range rs.rules {
		if r.mode != modeDisabled {
			stats.Hits[r.name] = 0
		}
	}
	var lastSweep time.Time
	start := time.Now()
	for i := range events {
		if i%10000 == 0 {
			if err := ctx.Err(); err != nil {
				return stats, err
			}
			if progress != nil && i > 0 {
				progress(i)
			}
		}
		ev := &events[i]
		res := rs.evaluate(ctx, ev, st, observe(det, ev), 0, true, hooks{})
		for _, h := range res.Verdict.Hits {
			stats.Hits[h.Rule]++
		}
		stats.Actions[res.Verdict.Action.String()]++
		if fn != nil {
			fn(i, res.Verdict)
		}
		if ev.Time.Sub(lastSweep) > 5*time.Minute {
			st.Sweep(ev.Time, rs.maxWindow)
			lastSweep = ev.Time
		}
	}
	if progress != nil {
		progress(len(events))
	}
	stats.Events = len(events)
	stats.Seconds = time.Since(start).Seconds()
	if stats.Seconds > 0 {
		stats.EventsPerSec = float64(stats.Events) / stats.Seconds
	}
	return stats, nil
}

// DiffReport says which verdicts a candidate rule set would change.
type DiffReport struct {
	Events  int        `json:"events"`
	Changed int        `json:"changed"` // events whose action or hits differ
	ByRule  []RuleDiff `json:"by_rule"` // rules whose hits differ, most changes first
	Changes []Change   `json:"changes"` // the first changed verdicts
}

// RuleDiff counts, for one rule, the events it hits only under the
// candidate set (Added) and only under the current set (Removed).
type RuleDiff struct {
	Rule     string   `json:"rule"`
	Added    int      `json:"added"`
	Removed  int      `json:"removed"`
	Examples []string `json:"examples"` // event ids, up to 5
}

// Change is one event whose verdict differs.
type Change struct {
	EventID string   `json:"event_id"`
	Before  string   `json:"before"`
	After   string   `json:"after"`
	Added   []string `json:"added,omitempty"`   // rules hitting only under the candidate
	Removed []string `json:"removed,omitempty"` // rules hitting only under the current set
}

// maxChanges is how many changed verdicts a DiffReport lists.
const maxChanges = 50

// Diff replays events through the current and the candidate rule sets side
// by side, each with its own fresh state, and reports the verdicts that
// change, by rule. det, when set, is observed once per event and both sets
// read the same detect.* features (the detectors do not depend on rules).
func Diff(ctx context.Context, current, candidate *RuleSet, events []warden.Event, det *detect.Set, progress func(done int)) (DiffReport, error) {
	stA, stB := state.New(), state.New()
	rep := DiffReport{Events: len(events), Changes: []Change{}}
	by := map[string]*RuleDiff{}
	var lastSweep time.Time
	for i := range events {
		if i%10000 == 0 {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			if progress != nil && i > 0 {
				progress(i)
			}
		}
		ev := &events[i]
		f := observe(det, ev)
		a := current.evaluate(ctx, ev, stA, f, 0, true, hooks{}).Verdict
		b := candidate.evaluate(ctx, ev, stB, f, 0, true, hooks{}).Verdict
		added, removed := hitDiff(a.Hits, b.Hits)
		if a.Action == b.Action && len(added) == 0 && len(removed) == 0 {
			continue
		}
		rep.Changed++
		if len(rep.Changes) < maxChanges {
			rep.Changes = append(rep.Changes, Change{EventID: ev.ID, Before: a.Action.String(), After: b.Action.String(), Added: added, Removed: removed})
		}
		note := func(rule string, add bool) {
			d := by[rule]
			if d == nil {
				d = &RuleDiff{Rule: rule, Examples: []string{}}
				by[rule] = d
			}
			if add {
				d.Added++
			} else {
				d.Removed++
			}
			if len(d.Examples) < 5 {
				d.Examples = append(d.Examples, ev.ID)
			}
		}
		for _, r := range added {
			note(r, true)
		}
		for _, r := range removed {
			note(r, false)
		}
		if ev.Time.Sub(lastSweep) > 5*time.Minute {
			stA.Sweep(ev.Time, current.maxWindow)
			stB.Sweep(ev.Time, candidate.maxWindow)
			lastSweep = ev.Time
		}
	}
	if progress != nil {
		progress(len(events))
	}
	rep.ByRule = []RuleDiff{}
	for _, d := range by {
		rep.ByRule = append(rep.ByRule, *d)
	}
	sort.Slice(rep.ByRule, func(i, j int) bool {
		a, b := rep.ByRule[i], rep.ByRule[j]
		if a.Added+a.Removed != b.Added+b.Removed {
			return a.Added+a.Removed > b.Added+b.Removed
		}
		return a.Rule < b.Rule
	})
	return rep, nil
}

// observe returns det's features for ev, or nil without detectors.
func observe(det *detect.Set, ev *warden.Event) *detect.Features {
	if det == nil {
		return nil
	}
	f := det.Observe(ev)
	return &f
}

// hitDiff returns the rules (with their mode and version) hitting only in b
// and only in a.
func hitDiff(a, b []warden.Hit) (added, removed []string) {
	key := func(h warden.Hit) string { return fmt.Sprintf("%s@v%d/%s", h.Rule, h.Version, h.Mode) }
	in := func(hs []warden.Hit, h warden.Hit) bool {
		return slices.ContainsFunc(hs, func(x warden.Hit) bool { return key(x) == key(h) })
	}
	for _, h := range b {
		if !in(a, h) {
			added = append(added, h.Rule)
		}
	}
	for _, h := range a {
		if !in(b, h) {
			removed = append(removed, h.Rule)
		}
	}
	return added, removed
}
