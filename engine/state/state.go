// Package state holds the engine's counters: sliding-window counts, distinct
// counts, leaky-bucket rates and last-K timestamps, keyed by a 64-bit hash of
// (counter, key). Everything is in event time, so replaying last month's
// events rebuilds last month's state.
//
// State is sharded by key and kept compact: each key is one small
// pointer-free value in a Go map (the garbage collector never scans them),
// with no goroutine, timer or limiter object per key. Expired keys are
// dropped lazily when touched and in bulk by Sweep. Only distinct counts that
// outgrow their exact small set hold a pointer, to a ring of HyperLogLog
// sketches.
package state

import (
	"bufio"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/axiomhq/hyperloglog"
)

// Kind is the kind of a counter.
type Kind uint8

const (
	// Count counts events in a sliding window of 8 sub-buckets, so the
	// answer is within 1/8 of the window of exact (SQRL uses 10).
	Count Kind = iota
	// Distinct counts distinct values in a sliding window: exactly up to
	// ExactDistinct values, then with HyperLogLog sketches.
	Distinct
	// Rate is a leaky bucket draining Limit events per Window: its value is
	// the bucket's level after the event, the burst above the sustained rate.
	Rate
	// LastK keeps the last K event times; its value is the seconds spanned
	// by the last K events, +Inf while fewer than K were seen in the window.
	LastK
)

// Limits of the compact representations.
const (
	Buckets       = 8 // sub-buckets of a sliding window
	ExactDistinct = 6 // distinct values kept exactly before switching to HyperLogLog
	MaxK          = 8 // largest K of a LastK counter
	bigBuckets    = 4 // sub-buckets of a HyperLogLog distinct count
	// shards is 1,024 rather than a few dozen so that the evaluating
	// goroutines rarely want the same shard at once: with 64, a worker
	// descheduled while holding a shard (a few times a millisecond on a
	// shared VM) often held up the other's next counter too, and sweeping
	// one shard held it for some 250 µs. Snapshots still group keys by their
	// top 6 bits (snapShards), as they always have.
	shardBits  = 10
	shards     = 1 << shardBits
	snapShards = 64
)

var kindNames = [...]string{"count", "distinct", "rate", "last_k"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// ParseKind returns the Kind named s.
func ParseKind(s string) (Kind, bool) {
	for i, n := range kindNames {
		if n == s {
			return Kind(i), true
		}
	}
	return 0, false
}

// Spec describes a counter's arithmetic. The same (counter, key) hash must
// always be used with the same Spec.
type Spec struct {
	Kind   Kind
	Window time.Duration
	K      int     // LastK: how many event times to keep, 1..MaxK
	Limit  float64 // Rate: events per Window that drain away
}

// winCell is a sliding-window count: 16 saturating sub-bucket counts, the
// newest sub-bucket's epoch and the unix second after which the cell is empty.
type winCell struct {
	Exp   uint32
	Epoch uint32
	B     [Buckets]uint16
}

// distCell is a distinct count held exactly: value hashes and the unix
// second each was last seen. Big marks a count that moved to HyperLogLog.
type distCell struct {
	Exp uint32
	N   uint8
	Big bool
	H   [ExactDistinct]uint32
	T   [ExactDistinct]uint32
}

// bigDist is a distinct count too large to keep exactly: one sketch per
// sub-bucket of the window.
type bigDist struct {
	Epoch uint32
	S     [bigBuckets]*hyperloglog.Sketch
	// The last estimate and the inserts since: a sketch's estimate costs a
	// pass over its registers, so it is refreshed only once the inserts
	// since could move it by more than 1/32, and until then the estimate
	// plus those inserts (an upper bound) is the answer.
	est     float64
	pending float64
}

// precision of the sketches: 1,024 registers, about 3.3% standard error.
// Precision 12 cost some 15 more bytes per counter key on the reference
// workload, for accuracy no threshold in the pack needs: counts up to
// ExactDistinct are exact, and thresholds above it tolerate a few percent.
const precision = 10

func newSketch() *hyperloglog.Sketch {
	sk, _ := hyperloglog.NewSketch(precision, true)
	return sk
}

type rateCell struct {
	Level float32
	Last  int64 // unix milliseconds
}

type lastKCell struct {
	N  uint32 // events seen; the next slot is N % K
	TS [MaxK]int64
}

type shard struct {
	mu sync.Mutex
	// Window counts, the most numerous cells, live in an arena indexed
	// from the map, so an update looks its key up once and writes the
	// cell in place, and the map's slots stay small.
	win       map[uint64]uint32
	winArena  []winCell
	winFree   []uint32
	dist      map[uint64]uint32 // index into distArena, as for windows
	distArena []distCell
	distFree  []uint32
	big       map[uint64]*bigDist
	rate      map[uint64]rateCell
	last      map[uint64]lastKCell
}

// Store is the counter state. The zero Store is not usable; call New.
// A Store is safe for concurrent use.
type Store struct {
	sh [shards]shard
}

// New returns an empty Store.
func New() *Store {
	s := &Store{}
	for i := range s.sh {
		s.sh[i].init()
	}
	return s
}

func (sh *shard) init() {
	sh.win = map[uint64]uint32{}
	sh.winArena, sh.winFree = nil, nil
	sh.dist = map[uint64]uint32{}
	sh.distArena, sh.distFree = nil, nil
	sh.big = map[uint64]*bigDist{}
	sh.rate = map[uint64]rateCell{}
	sh.last = map[uint64]lastKCell{}
}

func (s *Store) shard(key uint64) *shard { return &s.sh[key>>(64-shardBits)] }

// Hash is FNV-1a of s continuing from h; start with Seed. It is stable
// across processes, so snapshots stay valid after a restart.
func Hash(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// Seed is the starting value for Hash.
const Seed uint64 = 14695981039346656037

// Mix scrambles h so that its top bits (which choose the shard) depend on
// all of it.
func Mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	return h ^ h>>33
}

func width(spec *Spec, n int) int64 {
	w := int64(spec.Window) / int64(n)
	if w <= 0 {
		w = 1
	}
	return w
}

func secs(t time.Time) uint32 { return uint32(t.Unix()) }

// Observe returns the value of the counter at key at event time t, counting
// value (the hash of the distinct value, ignored by other kinds) when add is
// set. With commit set the event is also recorded; without it the state is
// left unchanged, which is how evaluation computes values before it decides
// to apply any change.
func (s *Store) Observe(spec *Spec, key uint64, t time.Time, add bool, value uint64, commit bool) float64 {
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	switch spec.Kind {
	case Count:
		return sh.count(spec, key, t, add, commit)
	case Distinct:
		return sh.distinct(spec, key, t, add, value, commit)
	case Rate:
		return sh.rateOf(spec, key, t, add, commit)
	case LastK:
		return sh.lastK(spec, key, t, add, commit)
	}
	return 0
}

func (sh *shard) count(spec *Spec, key uint64, t time.Time, add, commit bool) float64 {
	w := width(spec, Buckets)
	e := uint32(t.UnixNano() / w)
	idx, exists := sh.win[key]
	ok := exists
	var c winCell
	if ok {
		c = sh.winArena[idx]
	}
	if ok && secs(t) > c.Exp && int32(e-c.Epoch) > 0 {
		c, ok = winCell{}, false
	}
	if !ok {
		c.Epoch = e
	}
	if add {
		if d := int32(e - c.Epoch); d > 0 {
			// Advance: clear the sub-buckets that fell out of the window.
			for k := int32(1); k <= d && k <= Buckets; k++ {
				c.B[(c.Epoch+uint32(k))%Buckets] = 0
			}
			c.Epoch = e
		}
		if d := int32(c.Epoch - e); d < Buckets {
			if b := &c.B[e%Buckets]; *b < math.MaxUint16 {
				*b++
			}
		}
		if exp := secs(t) + uint32(spec.Window/time.Second) + 1; exp > c.Exp {
			c.Exp = exp
		}
		if commit {
			if exists {
				sh.winArena[idx] = c
			} else {
				sh.putWin(key, c)
			}
		}
	}
	var n float64
	for k := uint32(0); k < Buckets; k++ {
		ep := c.Epoch - k
		if d := int32(e - ep); d >= 0 && d < Buckets {
			n += float64(c.B[ep%Buckets])
		}
	}
	return n
}

// putWin stores a new window cell for key, reusing a freed arena slot.
func (sh *shard) putWin(key uint64, c winCell) {
	var idx uint32
	if n := len(sh.winFree); n > 0 {
		idx = sh.winFree[n-1]
		sh.winFree = sh.winFree[:n-1]
		sh.winArena[idx] = c
	} else {
		idx = uint32(len(sh.winArena))
		sh.winArena = append(sh.winArena, c)
	}
	sh.win[key] = idx
}

// getDist returns key's distinct cell, its arena index and whether it has
// one.
func (sh *shard) getDist(key uint64) (distCell, uint32, bool) {
	idx, ok := sh.dist[key]
	if !ok {
		return distCell{}, 0, false
	}
	return sh.distArena[idx], idx, true
}

// setDist stores key's distinct cell: in place when it exists (idx from
// getDist), else in a free or new arena slot.
func (sh *shard) setDist(key uint64, idx uint32, exists bool, c distCell) {
	if exists {
		sh.distArena[idx] = c
		return
	}
	if n := len(sh.distFree); n > 0 {
		idx = sh.distFree[n-1]
		sh.distFree = sh.distFree[:n-1]
		sh.distArena[idx] = c
	} else {
		idx = uint32(len(sh.distArena))
		sh.distArena = append(sh.distArena, c)
	}
	sh.dist[key] = idx
}

func (sh *shard) distinct(spec *Spec, key uint64, t time.Time, add bool, value uint64, commit bool) float64 {
	now := secs(t)
	win := uint32(spec.Window / time.Second)
	c, idx, exists := sh.getDist(key)
	ok := exists
	if ok && now > c.Exp {
		if c.Big {
			delete(sh.big, key)
		}
		c = distCell{}
	}
	if c.Big {
		return sh.bigDistinct(spec, key, idx, exists, t, add, value, commit, &c)
	}
	h := fingerprint(value)
	live := func(i int) bool { return c.T[i]+win >= now && c.T[i] <= now+win }
	if add {
		slot := -1
		for i := 0; i < int(c.N); i++ {
			if c.H[i] == h {
				slot = i
				break
			}
		}
		if slot < 0 {
			for i := 0; i < int(c.N); i++ {
				if !live(i) {
					slot = i
					break
				}
			}
		}
		if slot < 0 && int(c.N) < ExactDistinct {
			slot = int(c.N)
			c.N++
		}
		if slot < 0 {
			// Too many to keep exactly: move to sketches, seeded with the
			// values held so far, counted in the current sub-bucket.
			if !commit {
				return float64(c.N) + 1
			}
			c.Big = true
			b := &bigDist{}
			for i := 0; i < int(c.N); i++ {
				b.insert(spec, t, Mix(uint64(c.H[i])))
			}
			sh.big[key] = b
			return sh.bigDistinct(spec, key, idx, exists, t, add, value, commit, &c)
		}
		c.H[slot] = h
		if now > c.T[slot] {
			c.T[slot] = now
		}
		if exp := now + win + 1; exp > c.Exp {
			c.Exp = exp
		}
		if commit {
			sh.setDist(key, idx, exists, c)
		}
	}
	n := 0
	for i := 0; i < int(c.N); i++ {
		if live(i) {
			n++
		}
	}
	return float64(n)
}

// fingerprint is the 32-bit form of a value hash that the exact tier keeps.
// The sketches see values through it too (as Mix of it), so a value counted
// exactly before a count moves to sketches is not counted again after.
func fingerprint(value uint64) uint32 { return uint32(value) ^ uint32(value>>32) }

// insert adds a value, given as Mix of its fingerprint.
func (b *bigDist) insert(spec *Spec, t time.Time, value uint64) {
	b.advance(spec, t)
	e := uint32(t.UnixNano() / width(spec, bigBuckets))
	if d := int32(b.Epoch - e); d >= bigBuckets {
		return
	}
	sk := &b.S[e%bigBuckets]
	if *sk == nil {
		*sk = newSketch()
	}
	(*sk).InsertHash(value)
	b.pending++
}

// advance moves the window to event time t, dropping the sub-buckets that
// fell out and rebuilding the union from the rest.
func (b *bigDist) advance(spec *Spec, t time.Time) {
	e := uint32(t.UnixNano() / width(spec, bigBuckets))
	d := int32(e - b.Epoch)
	if d <= 0 && b.Epoch != 0 {
		return
	}
	for k := int32(1); k <= d && k <= bigBuckets; k++ {
		b.S[(b.Epoch+uint32(k))%bigBuckets] = nil
	}
	b.Epoch = e
	b.rebuild()
}

// rebuild re-estimates the count from the union of the sub-bucket sketches.
func (b *bigDist) rebuild() {
	u := b.union()
	b.est, b.pending = float64(u.Estimate()), 0
	putScratch(u, b.est)
}

// scratch holds sketches to merge into, so a union costs no allocation.
var scratch = sync.Pool{New: func() any { return newSketch() }}

// putScratch returns a scratch sketch with estimate est to the pool unless
// the union was large enough to have made it dense (sparse sketches of
// precision 10 turn dense at a few hundred values): a dense sketch stays
// dense after Reset, and every later small union would pay for its full
// register array.
func putScratch(sk *hyperloglog.Sketch, est float64) {
	if est < 200 {
		scratch.Put(sk)
	}
}

// union merges the sub-bucket sketches into a scratch sketch, which the
// caller returns to scratch. A union is made only when the estimate needs
// refreshing, rather than kept: a standing union sketch per key cost more
// memory than the merges cost time.
func (b *bigDist) union() *hyperloglog.Sketch {
	all := scratch.Get().(*hyperloglog.Sketch)
	all.Reset()
	for _, sk := range b.S {
		if sk != nil {
			_ = all.Merge(sk) // same precision: cannot fail
		}
	}
	return all
}

func (b *bigDist) estimate(spec *Spec, t time.Time) float64 {
	b.advance(spec, t)
	if b.pending > 0 && b.pending*32 > b.est {
		b.rebuild()
	}
	return b.est + b.pending
}

func (sh *shard) bigDistinct(spec *Spec, key uint64, idx uint32, exists bool, t time.Time, add bool, value uint64, commit bool, c *distCell) float64 {
	b := sh.big[key]
	if b == nil {
		b = &bigDist{}
		sh.big[key] = b
	}
	if add && !commit {
		// The value the committing path would return, without changing
		// the count: the same estimator on a copy with the value added.
		b.advance(spec, t)
		if (b.pending+1)*32 > b.est {
			all := b.union()
			all.InsertHash(Mix(uint64(fingerprint(value))))
			est := float64(all.Estimate())
			putScratch(all, est)
			return est
		}
		return b.est + b.pending + 1
	}
	if add {
		b.insert(spec, t, Mix(uint64(fingerprint(value))))
		if exp := secs(t) + uint32(spec.Window/time.Second) + 1; exp > c.Exp {
			c.Exp = exp
		}
		sh.setDist(key, idx, exists, *c)
	}
	return b.estimate(spec, t)
}

func (sh *shard) rateOf(spec *Spec, key uint64, t time.Time, add, commit bool) float64 {
	ms := t.UnixMilli()
	c := sh.rate[key]
	level := float64(c.Level)
	if c.Last != 0 && ms > c.Last {
		drain := spec.Limit * float64(ms-c.Last) / float64(spec.Window.Milliseconds())
		level = math.Max(0, level-drain)
	}
	if add {
		level++
		if commit {
			c.Level = float32(level)
			if ms > c.Last {
				c.Last = ms
			}
			sh.rate[key] = c
		}
	}
	return level
}

func (sh *shard) lastK(spec *Spec, key uint64, t time.Time, add, commit bool) float64 {
	ms := t.UnixMilli()
	c := sh.last[key]
	k := uint32(spec.K)
	if add {
		c.TS[c.N%k] = ms
		c.N++
		if commit {
			sh.last[key] = c
		}
	}
	if c.N < k {
		return math.Inf(1)
	}
	// The oldest of the last K is in the slot that will be written next.
	oldest := c.TS[c.N%k]
	span := float64(ms-oldest) / 1000
	if span > spec.Window.Seconds() {
		return math.Inf(1)
	}
	return math.Max(span, 0)
}

// Add records an event (with the hash of its distinct value) at key, like
// Observe with add and commit, without computing the counter's value.
func (s *Store) Add(spec *Spec, key uint64, t time.Time, value uint64) {
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	switch spec.Kind {
	case Count:
		sh.count(spec, key, t, true, true)
	case Distinct:
		if c, idx, ok := sh.getDist(key); ok && c.Big && secs(t) <= c.Exp {
			sh.big[key].insert(spec, t, Mix(uint64(fingerprint(value))))
			if exp := secs(t) + uint32(spec.Window/time.Second) + 1; exp > c.Exp {
				c.Exp = exp
				sh.distArena[idx] = c
			}
			return
		}
		sh.distinct(spec, key, t, true, value, true)
	case Rate:
		sh.rateOf(spec, key, t, true, true)
	case LastK:
		sh.lastK(spec, key, t, true, true)
	}
}

// Shards is how many shards a Store has, for SweepShard.
const Shards = shards

// Sweep drops every key that has expired by event time t and returns how
// many it dropped. Rate and LastK keys expire after maxWindow of silence.
func (s *Store) Sweep(t time.Time, maxWindow time.Duration) int {
	n := 0
	for i := range s.sh {
		n += s.SweepShard(i, t, maxWindow)
	}
	return n
}

// SweepShard is Sweep for shard i alone, so a caller can spread the work
// and never hold up one event for long.
func (s *Store) SweepShard(i int, t time.Time, maxWindow time.Duration) int {
	now := secs(t)
	cut := t.Add(-maxWindow).UnixMilli()
	n := 0
	{
		sh := &s.sh[i%shards]
		sh.mu.Lock()
		for k, idx := range sh.win {
			if sh.winArena[idx].Exp < now {
				delete(sh.win, k)
				sh.winArena[idx] = winCell{}
				sh.winFree = append(sh.winFree, idx)
				n++
			}
		}
		for k, idx := range sh.dist {
			if sh.distArena[idx].Exp < now {
				delete(sh.dist, k)
				sh.distArena[idx] = distCell{}
				sh.distFree = append(sh.distFree, idx)
				delete(sh.big, k)
				n++
			}
		}
		for k, c := range sh.rate {
			if c.Last < cut {
				delete(sh.rate, k)
				n++
			}
		}
		for k, c := range sh.last {
			if slices.Max(c.TS[:]) < cut {
				delete(sh.last, k)
				n++
			}
		}
		sh.mu.Unlock()
	}
	return n
}

// Keys returns the number of counter keys held.
func (s *Store) Keys() int {
	n := 0
	for i := range s.sh {
		sh := &s.sh[i]
		sh.mu.Lock()
		n += len(sh.win) + len(sh.dist) + len(sh.rate) + len(sh.last)
		sh.mu.Unlock()
	}
	return n
}

// snapshot is the on-disk form of one shard.
type snapshot struct {
	Win  map[uint64]winCell
	Dist map[uint64]distCell
	Big  map[uint64]bigSnap
	Rate map[uint64]rateCell
	Last map[uint64]lastKCell
}

type bigSnap struct {
	Epoch uint32
	S     [bigBuckets][]byte
}

const magic = "warden-state-1"

// WriteTo writes a snapshot of the store to w: snapShards records, the
// keys grouped by their top bits, whatever the number of shards in memory.
func (s *Store) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	enc := gob.NewEncoder(cw)
	if err := enc.Encode(magic); err != nil {
		return cw.n, err
	}
	const per = shards / snapShards
	for g := 0; g < snapShards; g++ {
		snap := snapshot{Win: map[uint64]winCell{}, Dist: map[uint64]distCell{},
			Rate: map[uint64]rateCell{}, Last: map[uint64]lastKCell{}, Big: map[uint64]bigSnap{}}
		for i := g * per; i < (g+1)*per; i++ {
			s.sh[i].snapshotInto(&snap)
		}
		if err := enc.Encode(&snap); err != nil {
			return cw.n, err
		}
	}
	return cw.n, nil
}

// snapshotInto copies the shard's keys into snap.
func (sh *shard) snapshotInto(snap *snapshot) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for k, idx := range sh.dist {
		snap.Dist[k] = sh.distArena[idx]
	}
	for k, idx := range sh.win {
		snap.Win[k] = sh.winArena[idx]
	}
	for k, c := range sh.rate {
		snap.Rate[k] = c
	}
	for k, c := range sh.last {
		snap.Last[k] = c
	}
	for k, b := range sh.big {
		bs := bigSnap{Epoch: b.Epoch}
		for j, sk := range b.S {
			if sk != nil {
				bs.S[j], _ = sk.MarshalBinary()
			}
		}
		snap.Big[k] = bs
	}
}

// ReadFrom replaces the store's contents with a snapshot read from r.
func (s *Store) ReadFrom(r io.Reader) (int64, error) {
	cr := &countReader{r: r}
	dec := gob.NewDecoder(cr)
	var m string
	if err := dec.Decode(&m); err != nil || m != magic {
		return cr.n, fmt.Errorf("not a warden state snapshot (%v)", err)
	}
	all := new(Store)
	for i := range all.sh {
		all.sh[i].init()
	}
	for i := 0; i < snapShards; i++ {
		var snap snapshot
		if err := dec.Decode(&snap); err != nil {
			return cr.n, fmt.Errorf("state snapshot shard %d: %w", i, err)
		}
		for k, v := range snap.Win {
			all.shard(k).putWin(k, v)
		}
		for k, v := range snap.Dist {
			all.shard(k).setDist(k, 0, false, v)
		}
		for k, v := range snap.Rate {
			all.shard(k).rate[k] = v
		}
		for k, v := range snap.Last {
			all.shard(k).last[k] = v
		}
		for k, bs := range snap.Big {
			b := &bigDist{Epoch: bs.Epoch}
			for j, data := range bs.S {
				if data == nil {
					continue
				}
				b.S[j] = newSketch()
				if err := b.S[j].UnmarshalBinary(data); err != nil {
					return cr.n, fmt.Errorf("state snapshot shard %d: sketch: %w", i, err)
				}
			}
			b.rebuild()
			all.shard(k).big[k] = b
		}
	}
	for i := range s.sh {
		sh, src := &s.sh[i], &all.sh[i]
		sh.mu.Lock()
		sh.win, sh.winArena, sh.winFree = src.win, src.winArena, src.winFree
		sh.dist, sh.distArena, sh.distFree = src.dist, src.distArena, src.distFree
		sh.big, sh.rate, sh.last = src.big, src.rate, src.last
		sh.mu.Unlock()
	}
	return cr.n, nil
}

// WriteState writes a snapshot of the store to w (WriteTo without the
// count), for the engine's state snapshots.
func (s *Store) WriteState(w io.Writer) error {
	_, err := s.WriteTo(w)
	return err
}

// ReadState replaces the store's contents with a snapshot from r.
func (s *Store) ReadState(r io.Reader) error {
	_, err := s.ReadFrom(r)
	return err
}

// Reset empties the store.
func (s *Store) Reset() {
	for i := range s.sh {
		sh := &s.sh[i]
		sh.mu.Lock()
		sh.init()
		sh.mu.Unlock()
	}
}

// Save writes a snapshot to path atomically: a crash mid-write leaves the
// previous snapshot in place.
func (s *Store) Save(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".state-*")
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	_, err = s.WriteTo(bw)
	if err == nil {
		err = bw.Flush()
	}
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
	}
	return err
}

// Load restores a snapshot from path. A missing file is not an error: the
// store stays empty.
func (s *Store) Load(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = s.ReadFrom(bufio.NewReaderSize(f, 1<<20))
	return err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Shards returns the shard indexes, for ShardStats.
func (s *Store) Shards() []int {
	out := make([]int, shards)
	for i := range out {
		out[i] = i
	}
	return out
}

// ShardStats reports shard i's keys by kind, how many distinct counts use
// sketches, and how many sketches they hold.
func (s *Store) ShardStats(i int) (win, dist, big, rate, last, sketches int) {
	sh := &s.sh[i]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for _, b := range sh.big {
		for _, sk := range b.S {
			if sk != nil {
				sketches++
			}
		}
	}
	return len(sh.win), len(sh.dist), len(sh.big), len(sh.rate), len(sh.last), sketches
}
