package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/cluster"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// wardenBinary is the built warden, or a skip in -short mode.
func wardenBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin, err := buildWarden()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

type clusterChild struct {
	cmd         *exec.Cmd
	addr, admin string
}

// startClusterNode starts `warden serve --nats … --db …` and waits for its
// /healthz.
func startClusterNode(t *testing.T, bin, data, db, nats, id string) *clusterChild {
	t.Helper()
	n := &clusterChild{addr: freeAddr(t), admin: freeAddr(t)}
	n.cmd = exec.Command(bin, "serve", "--addr", n.addr, "--admin-addr", n.admin, "--data", data, "--db", db, "--nats", nats,
		"--partitions", "8", "--node-id", id, "--lease-ttl", "2s", "--snapshot-every", "1s", "--verdict-timeout", "15s", "--log-level", "warn")
	n.cmd.Stderr = os.Stderr
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.cmd.Process.Kill(); n.cmd.Wait() })
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + n.admin + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return n
			}
		}
	}
	t.Fatalf("node %s not healthy in 60s", id)
	return nil
}

// owned counts the partitions a node's /metrics says it owns.
func (n *clusterChild) owned() int {
	resp, err := http.Get("http://" + n.admin + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	k := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "warden_cluster_partition_owned{") && strings.HasSuffix(line, " 1") {
			k++
		}
	}
	return k
}

// runsCrowd reports whether the node runs the crowd stage, from /metrics.
func (n *clusterChild) runsCrowd() bool {
	resp, err := http.Get("http://" + n.admin + "/metrics")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(b), "\nwarden_cluster_crowd_owned 1\n")
}

func waitOwned(t *testing.T, nodes ...*clusterChild) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		total := 0
		for _, n := range nodes {
			total += n.owned()
		}
		if total == 8 {
			return
		}
	}
	t.Fatal("the nodes did not come to own all 8 partitions in 30s")
}

// clusterBatch is a batch of follows by actors spread over the partitions.
func clusterBatch(prefix string, n int) []warden.Event {
	evs := make([]warden.Event, n)
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for i := range evs {
		evs[i] = warden.Event{ID: fmt.Sprintf("%s-%d", prefix, i), Type: "follow", Time: t0.Add(time.Duration(i) * time.Millisecond),
			Actor: fmt.Sprintf("u%d", i%97), Target: fmt.Sprintf("t%d", i%13), IP: fmt.Sprintf("10.0.%d.%d", i%200, i%250)}
	}
	return evs
}

func postClusterEvents(client *http.Client, addr, key string, evs []warden.Event) (map[string]json.RawMessage, int, error) {
	body, _ := json.Marshal(map[string]any{"events": evs})
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/events", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, resp.StatusCode, nil
	}
	var out struct {
		Verdicts []json.RawMessage `json:"verdicts"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, 200, err
	}
	vs := make(map[string]json.RawMessage, len(evs))
	for i, ev := range evs {
		vs[ev.ID] = out.Verdicts[i]
	}
	return vs, 200, nil
}

// TestClusterNodeKill9 is the failover promise: three `warden serve --nats`
// processes on an embedded 3-server NATS cluster and PostgreSQL; under a
// bounded load one is killed with SIGKILL; every acknowledged event is in
// the log once, with the verdict its client got, and the survivors answer
// for every partition again within a few lease periods.
func TestClusterNodeKill9(t *testing.T) {
	db := sqlstoretest.PostgresURL(t)
	bin := wardenBinary(t)
	nc, err := cluster.StartNATS(t.TempDir(), 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Shutdown) // after the nodes' cleanups, which run first
	data := t.TempDir()
	out, err := exec.Command(bin, "keys", "create", "--role", "app", "--db", db, "--data", data).Output()
	if err != nil {
		t.Fatalf("keys create: %v", err)
	}
	key := strings.TrimSpace(string(out))
	nodes := []*clusterChild{startClusterNode(t, bin, data, db, nc.URL(), "n1")}
	nodes = append(nodes, startClusterNode(t, bin, data, db, nc.URL(), "n2"), startClusterNode(t, bin, data, db, nc.URL(), "n3"))
	waitOwned(t, nodes...)

	// Bounded load: two clients, batches of 40, round robin over the
	// nodes; a batch that fails is retried as is on the next node, as a
	// platform's backend would.
	var mu sync.Mutex
	acked := map[string]json.RawMessage{}
	var dead sync.Map // addr → true once killed
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 20 * time.Second}
	for c := 0; c < 2; c++ {
		wg.Go(func() {
			for b, k := 0, c; ; b++ {
				select {
				case <-stop:
					return
				default:
				}
				evs := clusterBatch(fmt.Sprintf("c%d-b%d", c, b), 40)
				for try := 0; ; try++ {
					n := nodes[k%len(nodes)]
					k++
					if _, gone := dead.Load(n.addr); gone {
						continue
					}
					vs, code, err := postClusterEvents(client, n.addr, key, evs)
					if err == nil && code == 200 {
						mu.Lock()
						for id, v := range vs {
							acked[id] = v
						}
						mu.Unlock()
						break
					}
					if try > 50 {
						t.Errorf("batch %d of client %d refused %d times (last: %d %v)", b, c, try, code, err)
						return
					}
					time.Sleep(20 * time.Millisecond)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	time.Sleep(3 * time.Second)
	mu.Lock()
	before := len(acked)
	mu.Unlock()
	// The victim is the node running the crowd stage, so that both a
	// partition's and the crowd stage's failover are on trial.
	victim := nodes[2]
	for _, n := range nodes {
		if n.runsCrowd() {
			victim = n
		}
	}
	if !victim.runsCrowd() {
		t.Fatal("no node reports running the crowd stage")
	}
	survivors := make([]*clusterChild, 0, 2)
	for _, n := range nodes {
		if n != victim {
			survivors = append(survivors, n)
		}
	}
	dead.Store(victim.addr, true)
	killed := time.Now()
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	victim.cmd.Wait()
	// Recovery: the survivors own every partition and answer a probe with
	// an event in each.
	probe := make([]warden.Event, 0, 8)
	for i := 0; len(probe) < 8; i++ {
		actor := fmt.Sprintf("probe-%d", i)
		if cluster.Partition(actor, 8) == len(probe) {
			probe = append(probe, warden.Event{ID: fmt.Sprintf("probe-%d-%d", len(probe), time.Now().UnixNano()), Type: "follow", Time: time.Now().UTC(), Actor: actor, Target: "t1"})
		}
	}
	var recovered time.Duration
	for time.Since(killed) < 40*time.Second {
		quick := &http.Client{Timeout: 500 * time.Millisecond}
		if _, code, err := postClusterEvents(quick, survivors[0].addr, key, probe); err == nil && code == 200 && survivors[0].owned()+survivors[1].owned() == 8 {
			recovered = time.Since(killed)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if recovered == 0 {
		t.Fatal("the survivors did not answer for every partition within 40s of the kill")
	}
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	t.Logf("kill -9 of one of 3 nodes: %d events acknowledged before, %d in all; the crowd stage and every partition answered again %v after the kill of the crowd stage's node (lease TTL 2s)",
		before, len(acked), recovered.Round(time.Millisecond))

	// Every acknowledged event is in the log once, whichever node took it,
	// with the verdict its client was given.
	seen := exportedOnce(t, bin, "--db", db, "--data", data)
	st, err := sqlstore.Open(context.Background(), db, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := sqlstore.NewEventLog(st)
	defer log.Close()
	ids := make([]string, 0, len(acked))
	for id := range acked {
		if seen[id] != 1 {
			t.Fatalf("acknowledged event %s is in the log %d times", id, seen[id])
		}
		ids = append(ids, id)
	}
	logged, err := log.Logged(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	for id, v := range acked {
		if !bytes.Equal(logged[id].Verdict, v) {
			t.Fatalf("event %s: the client got %s, the log has %s", id, v, logged[id].Verdict)
		}
	}
}

// TestClusterUp: `warden cluster up --json` prints its nodes once they are
// healthy, any node answers an event, the log has it once, and SIGTERM
// stops everything.
func TestClusterUp(t *testing.T) {
	db := sqlstoretest.PostgresURL(t)
	bin := wardenBinary(t)
	dir := t.TempDir()
	up := exec.Command(bin, "cluster", "up", "--nodes", "2", "--partitions", "4", "--data", dir, "--db", db, "--json")
	up.Stderr = os.Stderr
	stdout, _ := up.StdoutPipe()
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { up.Process.Kill(); up.Wait() })
	var got struct {
		Nodes []struct {
			URL      string `json:"url"`
			PID      int    `json:"pid"`
			AdminURL string `json:"admin_url"`
		} `json:"nodes"`
		NATS []string `json:"nats"`
	}
	if err := json.NewDecoder(stdout).Decode(&got); err != nil {
		t.Fatalf("cluster up --json: %v", err)
	}
	if len(got.Nodes) != 2 || len(got.NATS) != 3 || got.Nodes[0].PID == 0 || got.Nodes[1].AdminURL == "" {
		t.Fatalf("cluster up printed %+v", got)
	}
	out, err := exec.Command(bin, "keys", "create", "--role", "app", "--db", db, "--data", dir).Output()
	if err != nil {
		t.Fatalf("keys create: %v", err)
	}
	key := strings.TrimSpace(string(out))
	evs := clusterBatch("up", 12)
	client := &http.Client{Timeout: 20 * time.Second}
	var first map[string]json.RawMessage
	for i, n := range got.Nodes {
		vs, code, err := postClusterEvents(client, strings.TrimPrefix(n.URL, "http://"), key, evs)
		if err != nil || code != 200 {
			t.Fatalf("node %d: %d %v", i+1, code, err)
		}
		if first == nil {
			first = vs
		}
		for id, v := range vs {
			if !bytes.Equal(v, first[id]) {
				t.Fatalf("event %s: node 1 said %s, node %d %s", id, first[id], i+1, v)
			}
		}
	}
	if err := up.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- up.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("cluster up after SIGTERM: %v", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("cluster up did not stop within 40s of SIGTERM")
	}
	for _, n := range got.Nodes {
		if err := syscall.Kill(n.PID, 0); err == nil {
			t.Errorf("node pid %d still runs after cluster up stopped", n.PID)
		}
	}
	exp, err := exec.Command(bin, "events", "export", "--db", db, "--data", dir).Output()
	if err != nil {
		t.Fatalf("events export: %v", err)
	}
	if n := bytes.Count(exp, []byte("\n")); n != len(evs) {
		t.Fatalf("events export lists %d events, want %d", n, len(evs))
	}
}

// TestServeNATSRefusesBadFlags: --nats without PostgreSQL, and a bad
// partition count or lease, are usage errors (exit 2) naming the flag.
func TestServeNATSRefusesBadFlags(t *testing.T) {
	bin := wardenBinary(t)
	cases := [][]string{{"--nats", "nats://127.0.0.1:1", "--data", t.TempDir()}}
	want := []string{"--nats needs --db postgres://"}
	if os.Getenv("WARDEN_TEST_POSTGRES") != "" {
		db := sqlstoretest.PostgresURL(t)
		cases = append(cases, []string{"--nats", "nats://127.0.0.1:1", "--db", db, "--data", t.TempDir(), "--partitions", "0"},
			[]string{"--nats", "nats://127.0.0.1:1", "--db", db, "--data", t.TempDir(), "--lease-ttl", "100ms"})
		want = append(want, "--partitions must be between 1 and 4096, not 0", "--lease-ttl must be at least 1s")
	}
	for i, args := range cases {
		cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--admin-addr", ""}, args...)...)
		out, err := cmd.CombinedOutput()
		code := -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if code != 2 || !strings.Contains(string(out), want[i]) {
			t.Errorf("serve %v: exit %d, %s; want exit 2 saying %q", args, code, out, want[i])
		}
	}
}
