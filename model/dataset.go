package model

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wardenhq/warden"
)

// Dataset is an evaluation dataset (CONTRACT §5) reduced to what the model
// needs: each account's label, profile and behaviour.
type Dataset struct {
	Name      string
	Accounts  []string
	Labels    []float64 // 1 bot, 0 human
	Profiles  []Profile
	Behaviors []*Behavior // nil where the account has no events
	// Ref is the time account ages are measured to: the latest account
	// creation or event in the dataset, a stand-in for when it was collected.
	Ref           time.Time
	Events        int
	UnknownActors int // events whose actor is not in accounts.csv (ignored)
}

// ParseAccounts reads an accounts.csv strictly: a header with account and
// label, a bot/human label on every row, well-formed values in the columns
// the model reads. name is used in error messages.
func ParseAccounts(r io.Reader, name string) (*Dataset, error) {
	cr := csv.NewReader(r)
	head, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: the file is empty; expected a header with account and label", name)
	}
	if err != nil {
		return nil, csvErr(name, err)
	}
	idx := map[string]int{}
	for i, h := range head {
		h = strings.TrimPrefix(h, "\ufeff")
		if _, dup := idx[h]; dup {
			return nil, fmt.Errorf("%s:1: column %q appears twice", name, h)
		}
		idx[h] = i
	}
	for _, c := range []string{"account", "label"} {
		if _, ok := idx[c]; !ok {
			return nil, fmt.Errorf("%s:1: the header has no %q column", name, c)
		}
	}
	cols := map[string]bool{}
	for _, c := range ProfileColumns {
		_, cols[c] = idx[c]
	}
	ds := &Dataset{Name: filepath.Base(filepath.Dir(name))}
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvErr(name, err)
		}
		line, _ := cr.FieldPos(0)
		acct := rec[idx["account"]]
		if acct == "" {
			return nil, fmt.Errorf("%s:%d: account is empty", name, line)
		}
		if prev, dup := seen[acct]; dup {
			return nil, fmt.Errorf("%s:%d: account %q already appeared on line %d", name, line, clip(acct), prev)
		}
		seen[acct] = line
		var y float64
		switch strings.ToLower(strings.TrimSpace(rec[idx["label"]])) {
		case "bot":
			y = 1
		case "human":
		default:
			return nil, fmt.Errorf("%s:%d: label %q is not bot or human", name, line, clip(rec[idx["label"]]))
		}
		p := NewProfile()
		for _, c := range ProfileColumns {
			if i, ok := idx[c]; ok {
				if err := p.Set(c, rec[i]); err != nil {
					return nil, fmt.Errorf("%s:%d: %v", name, line, err)
				}
			}
		}
		p.KnowText(cols)
		if p.CreatedAt.After(ds.Ref) {
			ds.Ref = p.CreatedAt
		}
		ds.Accounts = append(ds.Accounts, acct)
		ds.Labels = append(ds.Labels, y)
		ds.Profiles = append(ds.Profiles, p)
	}
	if len(ds.Accounts) == 0 {
		return nil, fmt.Errorf("%s: no accounts after the header", name)
	}
	ds.Behaviors = make([]*Behavior, len(ds.Accounts))
	return ds, nil
}

func csvErr(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s:%d: %v", name, pe.Line, pe.Err)
	}
	return fmt.Errorf("%s: %v", name, err)
}

// Load reads an evaluation dataset directory: accounts.csv and, if present,
// events.jsonl or events.jsonl.gz. Events are decoded strictly and reduced to
// per-account behaviour in time order.
func Load(dir string) (*Dataset, error) {
	p := filepath.Join(dir, "accounts.csv")
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	ds, err := ParseAccounts(bufio.NewReader(f), p)
	f.Close()
	if err != nil {
		return nil, err
	}
	ds.Name = filepath.Base(filepath.Clean(dir))
	for _, fn := range []string{"events.jsonl.gz", "events.jsonl"} {
		ep := filepath.Join(dir, fn)
		if _, err := os.Stat(ep); err == nil {
			if err := ds.loadEvents(ep); err != nil {
				return nil, err
			}
			break
		}
	}
	return ds, nil
}

func (ds *Dataset) loadEvents(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = bufio.NewReaderSize(f, 1<<20)
	if strings.HasSuffix(p, ".gz") {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return fmt.Errorf("%s: %v", p, err)
		}
		defer zr.Close()
		r = zr
	}
	return ds.ReadEvents(r, p)
}

type chunk struct {
	first int // line number of lines[0]
	lines [][]byte
}

type decoded struct {
	acct  []int32
	acts  []Action
	profs []profEvent // events that carry profile attributes or date a signup
	err   error
}

// profEvent is an event that says something about its actor's profile.
type profEvent struct {
	acct int32
	ev   warden.Event
}

// ReadEvents reads JSON Lines events into the dataset's behaviours. Decoding
// is spread over the CPUs; the per-account actions are sorted by time before
// they are folded in, so the file may be in any order.
func (ds *Dataset) ReadEvents(r io.Reader, name string) error {
	index := make(map[string]int32, len(ds.Accounts))
	for i, a := range ds.Accounts {
		index[a] = int32(i)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	in := make(chan chunk, 4)
	out := make(chan decoded, 4)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range in {
				var d decoded
				for i, l := range c.lines {
					if len(bytes.TrimSpace(l)) == 0 {
						continue
					}
					ev, err := warden.DecodeEvent(l)
					if err != nil {
						d.err = fmt.Errorf("%s:%d: %v", name, c.first+i, err)
						break
					}
					ai, ok := index[ev.Actor]
					if !ok {
						ai = -1
					}
					d.acct = append(d.acct, ai)
					d.acts = append(d.acts, ActionOf(&ev))
					if ai >= 0 && (ev.Type == warden.EventSignup || hasProfileAttr(&ev)) {
						d.profs = append(d.profs, profEvent{ai, ev})
					}
				}
				out <- d
			}
		}()
	}
	var readErr error
	go func() {
		defer close(in)
		line := 1
		c := chunk{first: line}
		for sc.Scan() {
			c.lines = append(c.lines, slices.Clone(sc.Bytes()))
			line++
			if len(c.lines) == 4096 {
				in <- c
				c = chunk{first: line}
			}
		}
		if len(c.lines) > 0 {
			in <- c
		}
		if err := sc.Err(); err != nil {
			readErr = fmt.Errorf("%s:%d: %v", name, line, err)
		}
	}()
	go func() { wg.Wait(); close(out) }()
	per := make([][]Action, len(ds.Accounts))
	var profs []profEvent
	var firstErr error
	for d := range out {
		if d.err != nil && firstErr == nil {
			firstErr = d.err
		}
		profs = append(profs, d.profs...)
		for i, a := range d.acct {
			ds.Events++
			if a < 0 {
				ds.UnknownActors++
				continue
			}
			per[a] = append(per[a], d.acts[i])
		}
	}
	if firstErr != nil {
		return firstErr
	}
	if readErr != nil {
		return readErr
	}
	// Profile attributes in events fill what accounts.csv leaves unknown,
	// applied in time order as the live detector would see them.
	slices.SortStableFunc(profs, func(a, b profEvent) int { return a.ev.Time.Compare(b.ev.Time) })
	fromEvents := map[int32]*Profile{}
	for _, pe := range profs {
		p := fromEvents[pe.acct]
		if p == nil {
			q := NewProfile()
			p = &q
			fromEvents[pe.acct] = p
		}
		p.Merge(&pe.ev)
	}
	for i, p := range fromEvents {
		ds.Profiles[i].Fill(p)
	}
	for i, acts := range per {
		if len(acts) == 0 {
			continue
		}
		slices.SortStableFunc(acts, func(a, b Action) int { return int(a.Time - b.Time) })
		b := &Behavior{}
		for _, a := range acts {
			b.Add(a)
		}
		ds.Behaviors[i] = b
		if t := time.Unix(b.Last, 0); t.After(ds.Ref) {
			ds.Ref = t
		}
		per[i] = nil
	}
	return nil
}

// Matrix returns the feature vectors of the dataset's accounts.
func (ds *Dataset) Matrix() [][]float64 {
	X := make([][]float64, len(ds.Accounts))
	for i := range X {
		X[i] = Vector(&ds.Profiles[i], ds.Behaviors[i], ds.Ref, make([]float64, 0, len(Names)))
	}
	return X
}

// Pool is several datasets' feature vectors pooled for training, with the
// group (dataset and class) of every row for GroupWeights.
type Pool struct {
	X      [][]float64
	Y      []float64
	Groups []string
	Names  []string
}

// LoadPool loads each directory and pools its rows. step, if not nil, is
// called after each dataset.
func LoadPool(dirs []string, step func()) (*Pool, error) {
	p := &Pool{}
	for _, dir := range dirs {
		ds, err := Load(dir)
		if err != nil {
			return nil, err
		}
		p.Add(ds.Name, ds.Matrix(), ds.Labels)
		if step != nil {
			step()
		}
	}
	return p, nil
}

// Add pools the rows X, labelled y, of the dataset called name.
func (p *Pool) Add(name string, X [][]float64, y []float64) {
	p.X = append(p.X, X...)
	p.Y = append(p.Y, y...)
	p.Names = append(p.Names, name)
	for _, l := range y {
		p.Groups = append(p.Groups, fmt.Sprint(name, "/", l))
	}
}

func hasProfileAttr(ev *warden.Event) bool {
	for k := range ev.Attrs {
		if _, ok := profileCol[k]; ok {
			return true
		}
	}
	return false
}
