package partner

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"sync"
)

// MinKeySize is the shortest partner group key accepted, in bytes.
const MinKeySize = 32

// Hasher computes the keyed hashes a partner group shares: HMAC-SHA256 of a
// normalised value with the group's key. It is safe for concurrent use.
type Hasher struct {
	pool sync.Pool
}

// NewHasher returns a Hasher for the group key; a key shorter than
// MinKeySize bytes is refused.
func NewHasher(key []byte) (*Hasher, error) {
	if len(key) < MinKeySize {
		return nil, errorf("the partner group key is %d bytes; it must be at least %d (make one with: head -c 32 /dev/urandom > partner.key)", len(key), MinKeySize)
	}
	k := append([]byte(nil), key...)
	h := &Hasher{}
	h.pool.New = func() any { return &hstate{mac: hmac.New(sha256.New, k)} }
	return h, nil
}

// hstate is a pooled HMAC and the buffer its input is copied to (a
// string converted at the call would be allocated each time).
type hstate struct {
	mac hash.Hash
	buf []byte
}

// Sum returns the keyed hash of a normalised value.
func (h *Hasher) Sum(normalised string) [32]byte {
	st := h.pool.Get().(*hstate)
	st.mac.Reset()
	st.buf = append(st.buf[:0], normalised...)
	st.mac.Write(st.buf)
	var out [32]byte
	st.mac.Sum(out[:0])
	h.pool.Put(st)
	return out
}

// Hex returns the keyed hash of clear value v of kind in hexadecimal, as a
// feed carries it, and false when v is not a value of that kind.
func (h *Hasher) Hex(kind, v string) (string, bool) {
	n := Normalise(kind, v)
	if n == "" {
		return "", false
	}
	s := h.Sum(n)
	return hex.EncodeToString(s[:]), true
}
