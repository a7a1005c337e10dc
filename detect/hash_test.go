package detect

import "testing"

// TestHashSeed checks that a fixed HashSeed hashes alike in every Set (so
// replays repeat) and that the default seeds differ from Set to Set (so
// identifiers cannot be chosen to collide).
func TestHashSeed(t *testing.T) {
	a, b := newHasher(7), newHasher(7)
	if a.key('a', "u123") != b.key('a', "u123") {
		t.Fatal("the same fixed seed hashed one key two ways")
	}
	if a.key('a', "u123") == newHasher(8).key('a', "u123") || a.key('a', "u123") == a.key('t', "u123") {
		t.Fatal("the seed or the key kind does not change the hash")
	}
	r1, r2 := newHasher(0), newHasher(0)
	if r1.key('a', "u123") == r2.key('a', "u123") {
		t.Fatal("two random seeds hashed a key alike")
	}
}
