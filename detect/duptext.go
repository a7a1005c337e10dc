package detect

import "math/bits"

// Near-duplicate text across accounts. Each text's 64-bit SimHash is split
// into four 16-bit bands; two texts within Hamming distance 3 agree on at
// least one band (pigeonhole), so the band buckets find every near-duplicate
// candidate, and a popcount confirms it. A text joins the cluster of the first
// confirmed near-duplicate, or starts one; the cluster counts its distinct
// accounts. Texts under three words are not compared (model.SimHash).

const (
	bucketSize    = 8
	maxBuckets    = 1 << 20
	maxClusters   = 1 << 20
	maxClusterIDs = 4096 // distinct accounts remembered per cluster; the count goes on beyond
)

type textEntry struct {
	hash    uint64
	cluster uint64
}

type bucket struct {
	e [bucketSize]textEntry
	n uint32
}

type textCluster struct {
	first    int64
	accounts map[uint32]struct{}
	count    int // distinct accounts, exact up to maxClusterIDs
}

type dupText struct {
	buckets  *gen[*bucket]
	clusters *gen[*textCluster]
	next     uint64
}

func (d *dupText) init(cfg Config) {
	span := int64(cfg.DupWindow.Seconds())
	d.buckets = newGen[*bucket](span, maxBuckets)
	d.clusters = newGen[*textCluster](span, maxClusters)
}

func (d *dupText) tick(now int64) {
	d.buckets.tick(now)
	d.clusters.tick(now)
}

// observe records a text with SimHash h by account id at t and returns the
// distinct accounts in its cluster and the cluster's age; (0, 0) when the
// text has no near-duplicate from another account.
func (d *dupText) observe(id uint32, h uint64, t int64) (int, float64) {
	var bs [4]*bucket
	var found uint64
	for b := 0; b < 4; b++ {
		k := uint64(b)<<16 | h>>(16*b)&0xffff
		bk, ok := d.buckets.get(k)
		if !ok {
			bk = &bucket{}
			d.buckets.put(k, bk)
		}
		bs[b] = bk
		if found != 0 {
			continue
		}
		for i := 0; i < min(int(bk.n), bucketSize); i++ {
			if bits.OnesCount64(bk.e[i].hash^h) <= 3 {
				if _, live := d.clusters.get(bk.e[i].cluster); live {
					found = bk.e[i].cluster
					break
				}
			}
		}
	}
	if found == 0 {
		d.next++
		found = d.next
		d.clusters.put(found, &textCluster{first: t, accounts: map[uint32]struct{}{id: {}}, count: 1})
	}
	c, _ := d.clusters.get(found)
	if _, seen := c.accounts[id]; !seen {
		if len(c.accounts) < maxClusterIDs {
			c.accounts[id] = struct{}{}
		}
		c.count++
	}
	for _, bk := range bs {
		bk.e[bk.n%bucketSize] = textEntry{hash: h, cluster: found}
		bk.n++
	}
	if c.count < 2 {
		return 0, 0
	}
	return c.count, float64(t - min(c.first, t))
}
