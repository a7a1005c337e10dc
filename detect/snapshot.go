package detect

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"unsafe"

	"github.com/wardenhq/warden/model"
)

// A snapshot holds everything a Set has learnt: accounts (profile,
// behaviour, score), lockstep tables, near-duplicate text tables and
// clusters, linked-account clusters, and the hash secret that indexes them
// all. The engine writes it with its counters, tied to a log position, so
// a restart resumes where the log says instead of forgetting clusters.
//
// The fixed-size tables hold no pointers and are mostly empty, so they are
// written as their non-zero slots' raw bytes; the layout is this build's
// (a snapshot names its slot sizes and is refused by a build whose differ).
const snapVersion = 1

type setSnap struct {
	Version      int
	Basis, Mix   uint64
	Now          int64
	Seq          uint32
	DupSeq       uint64
	DupNext      uint64
	Tables       [][]byte // sparse raw tables, in the order of tables()
	Accounts     []accountSnap
	AcctStart    int64
	Clusters     []clusterSnap
	ClusterStart int64
	LinkCur      ufSnap
	LinkPrev     ufSnap
}

type accountSnap struct {
	Key                     uint64
	Prev                    bool // in the previous generation
	ID                      uint32
	Dirty, HasCounts, Dated bool
	FirstSeen, Created      int64
	SinceN, Actions         int
	ScoredAt                int64
	Score                   float64
	LinkUF, PrevUF          uint8 // 0: none, 1: the linker's current epoch, 2: its previous one
	LinkNode, PrevNode      int32
	LinkSig                 uint64
	Reasons                 []string
	Beh                     []byte
	Prof                    model.Profile
}

type clusterSnap struct {
	Key      uint64
	Prev     bool
	First    int64
	Accounts []uint32
	Count    int
}

type ufSnap struct {
	Node  map[uint64]int32
	N     []byte
	Start int64
}

// tables lists the Set's pointer-free tables as raw sparse sections.
func (s *Set) tables() []sparse {
	return []sparse{
		sparseOf(s.lock.targets), sparseOf(s.lock.recent), sparseOf(s.lock.pairs),
		sparseOf(s.lock.partners), sparseOf(s.lock.partnerUsed),
		sparseOf(s.dup.ring), sparseOf(s.dup.tab),
	}
}

// sparse is a table of fixed-size, pointer-free slots seen as bytes.
type sparse struct {
	raw  []byte
	size int
}

func sparseOf[T any](s []T) sparse {
	var z T
	size := int(unsafe.Sizeof(z))
	return sparse{raw: unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*size), size: size}
}

// encode writes the slot count, slot size and each non-zero slot as its
// index and bytes.
func (t sparse) encode() []byte {
	var out bytes.Buffer
	n := len(t.raw) / t.size
	binary.Write(&out, binary.LittleEndian, [2]uint32{uint32(n), uint32(t.size)})
	zero := make([]byte, t.size)
	var idx [4]byte
	for i := 0; i < n; i++ {
		slot := t.raw[i*t.size : (i+1)*t.size]
		if bytes.Equal(slot, zero) {
			continue
		}
		binary.LittleEndian.PutUint32(idx[:], uint32(i))
		out.Write(idx[:])
		out.Write(slot)
	}
	return out.Bytes()
}

func (t sparse) decode(b []byte) error {
	n := len(t.raw) / t.size
	if len(b) < 8 || binary.LittleEndian.Uint32(b) != uint32(n) || binary.LittleEndian.Uint32(b[4:]) != uint32(t.size) {
		return errors.New("a detector table's layout differs from this build's")
	}
	b = b[8:]
	clear(t.raw)
	rec := 4 + t.size
	if len(b)%rec != 0 {
		return errors.New("a detector table is truncated")
	}
	for ; len(b) > 0; b = b[rec:] {
		i := int(binary.LittleEndian.Uint32(b))
		if i >= n {
			return errors.New("a detector table slot is out of range")
		}
		copy(t.raw[i*t.size:], b[4:rec])
	}
	return nil
}

func (l *linker) which(u *uf) uint8 {
	switch {
	case u == nil:
		return 0
	case u == l.cur:
		return 1
	case u == l.prev:
		return 2
	}
	return 0 // an epoch already dropped: the same as none
}

func (l *linker) epoch(w uint8) *uf {
	switch w {
	case 1:
		return l.cur
	case 2:
		return l.prev
	}
	return nil
}

func snapUF(u *uf) ufSnap {
	return ufSnap{Node: u.node, N: append([]byte(nil), sparseOf(u.n).raw...), Start: u.start}
}

func restoreUF(s ufSnap) (*uf, error) {
	size := int(unsafe.Sizeof(ufNode{}))
	if len(s.N)%size != 0 {
		return nil, errors.New("a linked-account epoch is truncated")
	}
	u := &uf{node: s.Node, n: make([]ufNode, len(s.N)/size), start: s.Start}
	if u.node == nil {
		u.node = map[uint64]int32{}
	}
	copy(sparseOf(u.n).raw, s.N)
	for _, i := range u.node {
		if i < 0 || int(i) >= len(u.n) {
			return nil, errors.New("a linked-account node is out of range")
		}
	}
	for i := range u.n {
		if p := u.n[i].parent; p < 0 || int(p) >= len(u.n) {
			return nil, errors.New("a linked-account parent is out of range")
		}
	}
	return u, nil
}

// WriteState writes a snapshot of the Set to w. Observe may not run
// meanwhile (the engine's caller holds evaluation off).
func (s *Set) WriteState(w io.Writer) error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := setSnap{Version: snapVersion, Basis: s.h.basis, Mix: s.h.mix, Now: s.now, Seq: s.seq,
		DupSeq: s.dup.seq, DupNext: s.dup.next, AcctStart: s.accts.start, ClusterStart: s.dup.clusters.start,
		LinkCur: snapUF(s.links.cur), LinkPrev: snapUF(s.links.prev)}
	for _, t := range s.tables() {
		snap.Tables = append(snap.Tables, t.encode())
	}
	for prev, m := range []map[uint64]*account{s.accts.cur, s.accts.prev} {
		for k, a := range m {
			a.mu.Lock()
			snap.Accounts = append(snap.Accounts, accountSnap{Key: k, Prev: prev == 1, ID: a.id,
				Dirty: a.dirty, HasCounts: a.hasCounts, Dated: a.dated, FirstSeen: a.firstSeen, Created: a.created,
				SinceN: a.sinceN, Actions: a.actions, ScoredAt: a.scoredAt, Score: a.score,
				LinkUF: s.links.which(a.linkUF), LinkNode: a.linkNode, LinkSig: a.linkSig,
				PrevUF: s.links.which(a.prevUF), PrevNode: a.prevNode, Reasons: a.reasons,
				Beh: append([]byte(nil), unsafe.Slice((*byte)(unsafe.Pointer(&a.beh)), unsafe.Sizeof(a.beh))...), Prof: a.prof})
			a.mu.Unlock()
		}
	}
	for prev, m := range []map[uint64]*textCluster{s.dup.clusters.cur, s.dup.clusters.prev} {
		for k, c := range m {
			cs := clusterSnap{Key: k, Prev: prev == 1, First: c.first, Count: c.count}
			for id := range c.accounts {
				cs.Accounts = append(cs.Accounts, id)
			}
			snap.Clusters = append(snap.Clusters, cs)
		}
	}
	return gob.NewEncoder(w).Encode(&snap)
}

// ReadState replaces the Set's state with a snapshot WriteState wrote. On
// error the Set is left empty.
func (s *Set) ReadState(r io.Reader) error {
	var snap setSnap
	if err := gob.NewDecoder(r).Decode(&snap); err != nil {
		s.Reset()
		return fmt.Errorf("detector snapshot: %w", err)
	}
	if err := s.restore(&snap); err != nil {
		s.Reset()
		return fmt.Errorf("detector snapshot: %w", err)
	}
	return nil
}

func (s *Set) restore(snap *setSnap) error {
	if snap.Version != snapVersion {
		return fmt.Errorf("version %d, this build reads %d", snap.Version, snapVersion)
	}
	s.Reset()
	s.mu.Lock()
	defer s.mu.Unlock()
	tabs := s.tables()
	if len(snap.Tables) != len(tabs) {
		return errors.New("the tables differ from this build's")
	}
	for i, t := range tabs {
		if err := t.decode(snap.Tables[i]); err != nil {
			return err
		}
	}
	var err error
	if s.links.cur, err = restoreUF(snap.LinkCur); err != nil {
		return err
	}
	if s.links.prev, err = restoreUF(snap.LinkPrev); err != nil {
		return err
	}
	s.h = hasher{basis: snap.Basis, mix: snap.Mix}
	s.now, s.seq, s.dup.seq, s.dup.next = snap.Now, snap.Seq, snap.DupSeq, snap.DupNext
	s.accts.start, s.dup.clusters.start = snap.AcctStart, snap.ClusterStart
	behSize := int(unsafe.Sizeof(model.Behavior{}))
	for _, as := range snap.Accounts {
		if len(as.Beh) != behSize {
			return errors.New("an account's behaviour layout differs from this build's")
		}
		a := &account{id: as.ID, dirty: as.Dirty, hasCounts: as.HasCounts, dated: as.Dated, firstSeen: as.FirstSeen,
			created: as.Created, sinceN: as.SinceN, actions: as.Actions, scoredAt: as.ScoredAt, score: as.Score,
			linkUF: s.links.epoch(as.LinkUF), linkNode: as.LinkNode, linkSig: as.LinkSig,
			prevUF: s.links.epoch(as.PrevUF), prevNode: as.PrevNode, reasons: as.Reasons, prof: as.Prof}
		if a.linkUF != nil && (a.linkNode < 0 || int(a.linkNode) >= a.linkUF.len()) ||
			a.prevUF != nil && (a.prevNode < -1 || int(a.prevNode) >= a.prevUF.len()) {
			return errors.New("an account's linked-account node is out of range")
		}
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&a.beh)), behSize), as.Beh)
		if as.Prev {
			s.accts.prev[as.Key] = a
		} else {
			s.accts.cur[as.Key] = a
		}
	}
	for _, cs := range snap.Clusters {
		c := &textCluster{first: cs.First, count: cs.Count, accounts: make(map[uint32]struct{}, len(cs.Accounts))}
		for _, id := range cs.Accounts {
			c.accounts[id] = struct{}{}
		}
		if cs.Prev {
			s.dup.clusters.prev[cs.Key] = c
		} else {
			s.dup.clusters.cur[cs.Key] = c
		}
	}
	return nil
}

// Reset empties the Set, keeping its configuration and model, with a new
// hash secret.
func (s *Set) Reset() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now, s.seq = 0, 0
	s.h = newHasher(s.cfg.HashSeed)
	s.accts = newGen[*account](30*86400, s.cfg.MaxAccounts)
	s.lock.init(s.cfg)
	s.dup = dupText{}
	s.dup.init(s.cfg)
	s.links.init(s.cfg)
}
