package detect

// Near-duplicate text across accounts: MinHash with LSH. A text's features
// (words and word pairs, model.TextFeatures) get a 16-value MinHash
// signature; signatures agree on a share of values that estimates the
// Jaccard similarity of the feature sets. LSH splits the signature into 8
// bands of 2 values: texts with similarity 0.8 (one word changed in twenty)
// share a band with probability 1-(1-0.8²)⁸ > 0.999, unrelated texts rarely,
// and candidates are confirmed by their signatures agreeing on at least
// dupAgree of 16 values. A text joins the cluster of its first confirmed
// near-duplicate, or starts one; the cluster counts its distinct accounts.
// (SimHash, which the per-account features use, needs far longer texts than
// posts and comments to stay within a few bits after a one-word edit.)

const (
	sigLen        = 16
	bands         = 8
	dupAgree      = 9 // of 16: estimated Jaccard similarity at least 0.56
	maxClusters   = 1 << 20
	maxClusterIDs = 4096 // distinct accounts remembered per cluster; the count goes on beyond
)

// sigMul and sigAdd define the 16 hash functions h_i(f) = (a_i·f + b_i) >> 32
// (multiply-shift) applied to each already well-mixed feature hash.
var sigMul, sigAdd = func() (m, a [sigLen]uint64) {
	x := uint64(0x243f6a8885a308d3) // digits of π: fixed, so signatures are stable
	for i := range m {
		x = x*6364136223846793005 + 1442695040888963407
		m[i] = x | 1
		x = x*6364136223846793005 + 1442695040888963407
		a[i] = x
	}
	return
}()

type signature [sigLen]uint32

// minHasher accumulates a signature from text features.
type minHasher struct{ sig signature }

func (m *minHasher) reset() {
	for i := range m.sig {
		m.sig[i] = ^uint32(0)
	}
}

// add folds feature f into the signature. min compiles to a conditional
// move: a branch here was mispredicted often (a new minimum is a coin toss
// for a text's first features), which made add three times slower.
func (m *minHasher) add(f uint64) {
	for i := range m.sig {
		m.sig[i] = min(m.sig[i], uint32((sigMul[i]*f+sigAdd[i])>>32))
	}
}

type sigEntry struct {
	seq     uint64 // which text this is; a ring slot is reused, so it is checked
	acct    uint32
	cluster uint64 // 0 until a near-duplicate joins it
	t       int64
	sig     signature
}

type bandSlot struct {
	key uint64
	seq uint64
}

type textCluster struct {
	first    int64
	accounts map[uint32]struct{}
	count    int // distinct accounts, exact up to maxClusterIDs
}

// dupText keeps recent signatures in a ring and the LSH band index in a
// direct-mapped table (see lockstep.go for why tables, not maps). Clusters
// exist only for texts that have a near-duplicate, so the map of them stays
// small.
type dupText struct {
	seq      uint64 // written on every text; Set keeps it beside its mutex
	next     uint64
	window   int64
	ring     []sigEntry
	tab      []bandSlot
	clusters *gen[*textCluster]
}

const (
	ringBits = 16 // recent texts remembered
	bandBits = 19
)

func (d *dupText) init(cfg Config) {
	d.window = int64(cfg.DupWindow.Seconds())
	d.ring = make([]sigEntry, 1<<ringBits)
	d.tab = make([]bandSlot, 1<<bandBits)
	d.clusters = newGen[*textCluster](d.window, maxClusters)
}

func (d *dupText) tick(now int64) { d.clusters.tick(now) }

// bandKeys computes the LSH band keys of sig.
func bandKeys(sig *signature, keys *[bands]uint64) {
	for b := range keys {
		keys[b] = mixKey(uint64(b)+1, uint64(sig[2*b])<<32|uint64(sig[2*b+1]))
	}
}

// touch loads the band slots of keys, independently of each other, so their
// cache misses overlap with each other and with the caller's next work
// instead of coming one at a time in observe; it returns a value for the
// caller to keep.
func (d *dupText) touch(keys *[bands]uint64) uint64 {
	var x uint64
	for _, k := range keys {
		x ^= d.tab[k&(1<<bandBits-1)].key
	}
	return x
}

// touchRing starts loading the ring entries that keys' band slots point
// to (observe compares the text with them), once touch's loads are in; it
// returns a value for the caller to keep.
func (d *dupText) touchRing(keys *[bands]uint64) uint64 {
	var x uint64
	for _, k := range keys {
		if slot := &d.tab[k&(1<<bandBits-1)]; slot.key == k {
			x ^= d.ring[slot.seq&(1<<ringBits-1)].seq
		}
	}
	return x
}

// observe records text by account id at t and returns the distinct accounts
// in its cluster and the cluster's age; (0, 0) when no other account posted a
// near-duplicate. sig is the text's MinHash signature and keys its band keys
// (bandKeys).
func (d *dupText) observe(id uint32, sig *signature, keys *[bands]uint64, t int64) (int, float64) {
	d.seq++
	var match *sigEntry
	for _, k := range keys {
		slot := &d.tab[k&(1<<bandBits-1)]
		if match == nil && slot.key == k {
			e := &d.ring[slot.seq&(1<<ringBits-1)]
			if e.seq == slot.seq && t-e.t <= d.window && agree(&e.sig, sig) >= dupAgree {
				match = e
			}
		}
		*slot = bandSlot{key: k, seq: d.seq}
	}
	var c *textCluster
	var cid uint64
	if match != nil {
		if match.cluster != 0 {
			c, _ = d.clusters.get(match.cluster)
			cid = match.cluster
		}
		if c == nil {
			d.next++
			cid = d.next
			c = &textCluster{first: match.t, accounts: map[uint32]struct{}{match.acct: {}}, count: 1}
			d.clusters.put(cid, c)
			match.cluster = cid
		}
		if _, seen := c.accounts[id]; !seen {
			if len(c.accounts) < maxClusterIDs {
				c.accounts[id] = struct{}{}
			}
			c.count++
		}
	}
	d.ring[d.seq&(1<<ringBits-1)] = sigEntry{seq: d.seq, acct: id, cluster: cid, t: t, sig: *sig}
	if c == nil || c.count < 2 {
		return 0, 0
	}
	return c.count, float64(t - min(c.first, t))
}

func agree(a, b *signature) int {
	n := 0
	for i := range a {
		if a[i] == b[i] {
			n++
		}
	}
	return n
}

func mixKey(a, b uint64) uint64 {
	x := a*0x9e3779b97f4a7c15 ^ b
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}
