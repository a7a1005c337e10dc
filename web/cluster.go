package web

import (
	"context"
	"net/http"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/cluster"
)

// ClusterStatus reports the cluster this node belongs to (*cluster.Node).
type ClusterStatus interface {
	Status(ctx context.Context) (cluster.Status, error)
}

// MountCluster registers the admins' page of the cluster's nodes and
// partitions (GET /cluster), linked in the navigation as "Cluster". With
// a nil src (one node, no --nats) the page says so.
func (c *Console) MountCluster(src ClusterStatus) {
	c.Page("GET /cluster", []string{warden.RoleAdmin}, func(w http.ResponseWriter, r *http.Request, _ *warden.User) error {
		d := clusterData{}
		if src == nil {
			return c.Render(w, r, "cluster.html", d)
		}
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		st, err := src.Status(ctx)
		if err != nil {
			d.Error = "The cluster's leases could not be read from NATS: " + err.Error()
			return c.RenderStatus(w, r, http.StatusServiceUnavailable, "cluster.html", d)
		}
		d.Clustered, d.Status = true, st
		owned := map[string]int{}
		for _, p := range st.Partitions {
			if p.Owner == "" {
				d.Unowned++
			} else {
				owned[p.Owner]++
			}
		}
		for _, n := range st.Nodes {
			d.Nodes = append(d.Nodes, clusterNode{Member: n, Partitions: owned[n.ID], Self: n.ID == st.Node, Started: time.Unix(n.Started, 0)})
		}
		return c.Render(w, r, "cluster.html", d)
	})
	c.Nav("Cluster", "/cluster", warden.RoleAdmin)
}

type clusterData struct {
	Clustered bool
	Status    cluster.Status
	Nodes     []clusterNode
	Unowned   int
	Error     string
}

type clusterNode struct {
	cluster.Member
	Partitions int
	Self       bool
	Started    time.Time
}
