package cluster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"
)

// Status is the cluster as one node sees it: the live nodes and every
// partition's owner, with lag and snapshot age for this node's own.
type Status struct {
	Node       string            `json:"node"`
	Healthy    bool              `json:"healthy"`
	Nodes      []Member          `json:"nodes"`
	Partitions []PartitionStatus `json:"partitions"`
	// Crowd is the crowd stage (Partition -1): its owner and, when this
	// node runs it, its progress through the intake stream.
	Crowd PartitionStatus `json:"crowd"`
}

// PartitionStatus is one partition's owner and, when this node owns it,
// its progress.
type PartitionStatus struct {
	Partition int    `json:"partition"`
	Owner     string `json:"owner,omitempty"` // "" while unowned (failing over)
	Local     bool   `json:"local"`
	Seq       uint64 `json:"seq,omitempty"`
	Lag       int64  `json:"lag,omitempty"`
	// SnapshotAge is the time since the last snapshot or restore; -1 when
	// none, or when another node owns the partition.
	SnapshotAge time.Duration `json:"snapshot_age_ns"`
}

// Status reads the leases and membership from the cluster.
func (n *Node) Status(ctx context.Context) (Status, error) {
	st := Status{Node: n.cfg.NodeID, Healthy: n.Healthy()}
	members, owners, err := n.liveMembers(ctx)
	if err != nil {
		return st, err
	}
	st.Nodes = members
	n.mu.Lock()
	local := make(map[int]*partition, len(n.owned))
	for p, part := range n.owned {
		local[p] = part
	}
	n.mu.Unlock()
	status := func(p int) PartitionStatus {
		ps := PartitionStatus{Partition: p, Owner: owners[p], SnapshotAge: -1}
		if part := local[p]; part != nil {
			ps.Local, ps.Seq, ps.Lag = true, part.seq.Load(), part.lag.Load()
			if at := part.snapAt.Load(); at > 0 {
				ps.SnapshotAge = time.Since(time.Unix(0, at))
			}
		}
		return ps
	}
	for p := 0; p < n.p; p++ {
		st.Partitions = append(st.Partitions, status(p))
	}
	st.Crowd = status(crowdStage)
	sort.Slice(st.Nodes, func(i, j int) bool { return st.Nodes[i].ID < st.Nodes[j].ID })
	return st, nil
}

// ownedNow is the partitions this node owns at this moment.
func (n *Node) ownedNow() []*partition {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Collect(maps.Values(n.owned))
}

// Restored blocks until every partition this node owns has caught up on
// its stream after being taken, or ctx ends.
func (n *Node) Restored(ctx context.Context) error {
	parts := n.ownedNow()
	for _, p := range parts {
		select {
		case <-p.restored:
		case <-p.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// SnapshotAll snapshots every partition this node owns now, rather than at
// the next SnapshotEvery.
func (n *Node) SnapshotAll(ctx context.Context) error {
	parts := n.ownedNow()
	var errs []error
	for _, p := range parts {
		if err := p.snapshotNow(ctx); err != nil {
			errs = append(errs, fmt.Errorf("partition %s: %w", stageName(p.p), err))
		}
	}
	return errors.Join(errs...)
}
