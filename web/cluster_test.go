package web

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/cluster"
)

type fakeCluster struct {
	st  cluster.Status
	err error
}

func (f *fakeCluster) Status(context.Context) (cluster.Status, error) { return f.st, f.err }

// TestClusterPage: admins see the nodes, how many partitions each owns,
// the partitions without an owner, and this node's progress; moderators
// are refused; one node says it is one node.
func TestClusterPage(t *testing.T) {
	src := &fakeCluster{st: cluster.Status{Node: "n1", Healthy: true,
		Nodes: []cluster.Member{{ID: "n1", URL: "http://a", AdminURL: "http://a:9090", Started: time.Now().Unix()}, {ID: "n2", URL: "http://b"}},
		Partitions: []cluster.PartitionStatus{
			{Partition: 0, Owner: "n1", Local: true, Seq: 42, Lag: 3, SnapshotAge: 7 * time.Second},
			{Partition: 1, Owner: "n2", SnapshotAge: -1},
			{Partition: 2, SnapshotAge: -1},
		},
		Crowd: cluster.PartitionStatus{Partition: -1, Owner: "n2", SnapshotAge: -1}}}
	tc := newTestConsole(t, Options{})
	tc.MountCluster(src)
	tc.user(t, "ada", warden.RoleAdmin)
	tc.user(t, "mia", warden.RoleModerator)
	cl := tc.client(t)
	tc.signIn(t, cl, "ada")
	resp, body := tc.do(t, cl, "GET", "/cluster", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("cluster page: %d", resp.StatusCode)
	}
	for _, want := range []string{"2 live node(s), 3 partitions", "1 without an owner", ">42<", ">3<", "7s", "this node", "http://a:9090/metrics", `id="cluster-crowd"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the cluster page lacks %q", want)
		}
	}
	if i, j := strings.Index(body, `id="cluster-crowd"`), strings.Index(body, `id="cluster-parts-h"`); i < 0 || j < i || !strings.Contains(body[i:j], `<td class="mono">n2</td>`) {
		t.Error("the crowd stage's table does not name its owner")
	}
	// A crowd stage without an owner is failing over, and says so.
	full := src.st
	src.st.Crowd.Owner = ""
	if _, body := tc.do(t, cl, "GET", "/cluster", nil, nil); !strings.Contains(body, "(failing over)") {
		t.Error("a crowd stage without an owner is not shown as failing over")
	}
	src.st = full
	src.st.Healthy = false
	if _, body := tc.do(t, cl, "GET", "/cluster", nil, nil); !strings.Contains(body, "not connected to NATS") {
		t.Error("an unhealthy node does not say so")
	}
	src.err = errors.New("nats: timeout")
	if resp, body := tc.do(t, cl, "GET", "/cluster", nil, nil); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "nats: timeout") {
		t.Errorf("unreadable leases: %d", resp.StatusCode)
	}
	mod := tc.client(t)
	tc.signIn(t, mod, "mia")
	if resp, _ := tc.do(t, mod, "GET", "/cluster", nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a moderator got the cluster page: %d", resp.StatusCode)
	}

	one := newTestConsole(t, Options{})
	one.MountCluster(nil)
	one.user(t, "ada", warden.RoleAdmin)
	c1 := one.client(t)
	one.signIn(t, c1, "ada")
	if _, body := one.do(t, c1, "GET", "/cluster", nil, nil); !strings.Contains(body, "runs as one node") {
		t.Error("one node's cluster page does not say it is one node")
	}
}
