package ingest

import (
	"hash/maphash"
	"sync"
)

// idFilter answers "might this event id have been seen?" without a database
// round trip. It is a scalable Bloom filter: a chain of filters, each twice
// the size of the one before, so it grows with the log while keeping the
// false-positive rate near 1%. A "maybe" costs one indexed lookup; a "no" is
// certain.
type idFilter struct {
	mu     sync.RWMutex
	seed   maphash.Seed
	layers []*bloom
}

type bloom struct {
	bits     []uint64
	mask     uint64 // len(bits)*64 - 1; the bit count is a power of two
	n, limit int
}

const bloomHashes = 7 // optimal for ~10 bits per id at 1% false positives

func newIDFilter(expected int) *idFilter {
	f := &idFilter{seed: maphash.MakeSeed()}
	f.layers = []*bloom{newBloom(max(expected, 1<<16))}
	return f
}

func newBloom(capacity int) *bloom {
	bitsNeeded := uint64(capacity) * 10
	size := uint64(64)
	for size < bitsNeeded {
		size <<= 1
	}
	return &bloom{bits: make([]uint64, size/64), mask: size - 1, limit: int(size / 10)}
}

func (f *idFilter) hashes(id string) (uint64, uint64) {
	h := maphash.String(f.seed, id)
	return h, h>>33 | h<<31 | 1
}

// Add records id.
func (f *idFilter) Add(id string) {
	h1, h2 := f.hashes(id)
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.layers[len(f.layers)-1]
	if b.n >= b.limit {
		b = newBloom(b.limit * 2)
		f.layers = append(f.layers, b)
	}
	for i := uint64(0); i < bloomHashes; i++ {
		bit := (h1 + i*h2) & b.mask
		b.bits[bit/64] |= 1 << (bit % 64)
	}
	b.n++
}

// MayContain reports whether id may have been added; false is certain.
func (f *idFilter) MayContain(id string) bool {
	h1, h2 := f.hashes(id)
	f.mu.RLock()
	defer f.mu.RUnlock()
layers:
	for _, b := range f.layers {
		for i := uint64(0); i < bloomHashes; i++ {
			bit := (h1 + i*h2) & b.mask
			if b.bits[bit/64]&(1<<(bit%64)) == 0 {
				continue layers
			}
		}
		return true
	}
	return false
}
