package cluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/detect"
	"github.com/wardenhq/warden/engine"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
	"github.com/wardenhq/warden/synth"
)

// newEngine makes partition engines that repeat exactly across processes
// (no time budget); their detectors run in the crowd stage.
func newEngine(int) (Engine, error) {
	return engine.Open(engine.Options{Budget: -1})
}

// newCrowdEngine makes the crowd stage's engine, with detectors that
// repeat exactly across processes (a fixed hash seed).
func newCrowdEngine() (Engine, error) {
	return newOneEngine()
}

// newOneEngine is one node's engine: detectors and every counter.
func newOneEngine() (*engine.Engine, error) {
	return engine.Open(engine.Options{Detectors: detect.New(detect.Config{HashSeed: 7}), Budget: -1})
}

type harness struct {
	t     testing.TB
	nats  *NATS
	db    *sqlstore.DB
	p     int
	nodes []*Node
	cfg   func(*Config)
}

// newHarness starts servers embedded NATS servers and a fresh PostgreSQL
// schema; it skips without WARDEN_TEST_POSTGRES.
func newHarness(t testing.TB, servers, partitions int) *harness {
	t.Helper()
	db := sqlstoretest.Postgres(t)
	nc, err := StartNATS(t.TempDir(), servers)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Shutdown)
	return &harness{t: t, nats: nc, db: db, p: partitions}
}

func (h *harness) join(id string) *Node {
	h.t.Helper()
	log := sqlstore.NewEventLog(h.db)
	h.t.Cleanup(log.Close)
	cfg := Config{Logger: testLogger(), NATS: h.nats.URL(), Partitions: h.p, RulesDigest: "sha256:test", NodeID: id, Log: log, NewEngine: newEngine, NewCrowdEngine: newCrowdEngine,
		LeaseTTL: 3 * time.Second, SnapshotEvery: time.Second, VerdictTimeout: 20 * time.Second}
	if h.cfg != nil {
		h.cfg(&cfg)
	}
	n, err := Join(context.Background(), cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(n.Kill)
	h.nodes = append(h.nodes, n)
	return n
}

// balanced waits until the live nodes own every partition in fair shares
// and have caught up on them.
func (h *harness) balanced(nodes ...*Node) {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		total, ok, crowd := 0, true, 0
		for _, n := range nodes {
			if n.RunsCrowd() {
				crowd++
			}
			k := len(n.Owned())
			total += k
			if k < h.p/len(nodes) || k > (h.p+len(nodes)-1)/len(nodes) {
				ok = false
			}
		}
		if ok && total == h.p && crowd == 1 {
			break
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("partitions not balanced in 30s: %d of %d owned, %d crowd stage(s) run", total, h.p, crowd)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, n := range nodes {
		if err := n.Restored(ctx); err != nil {
			h.t.Fatal(err)
		}
	}
}

// send ingests evs in batches, one request at a time, round robin over
// nodes, and returns the verdicts in order.
func send(t *testing.T, evs []warden.Event, batch int, nodes ...*Node) [][]byte {
	t.Helper()
	var out [][]byte
	for i, k := 0, 0; i < len(evs); i, k = i+batch, k+1 {
		j := min(i+batch, len(evs))
		vs, err := nodes[k%len(nodes)].Ingest(context.Background(), evs[i:j])
		if err != nil {
			t.Fatalf("ingest events %d-%d: %v", i, j, err)
		}
		out = append(out, vs...)
	}
	return out
}

func digest(vs [][]byte) string {
	h := sha256.New()
	for _, v := range vs {
		h.Write(v)
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func TestPartitionIsStable(t *testing.T) {
	// The routing function is part of the stream's layout: these must
	// never change.
	for actor, want := range map[string]int{"u42": 26, "": 37, "alice": 7} {
		if got := Partition(actor, 64); got != want {
			t.Errorf("Partition(%q, 64) = %d, want %d", actor, got, want)
		}
	}
	seen := map[int]int{}
	for i := 0; i < 64000; i++ {
		seen[Partition(fmt.Sprintf("u%d", i), 64)]++
	}
	for p := 0; p < 64; p++ {
		if seen[p] < 800 || seen[p] > 1200 {
			t.Errorf("partition %d got %d of 64,000 actors, want about 1,000", p, seen[p])
		}
	}
}

func TestIngestAnyNodeOnceEach(t *testing.T) {
	h := newHarness(t, 3, 8)
	a, b, c := h.join("a"), h.join("b"), h.join("c")
	start := time.Now()
	h.balanced(a, b, c)
	t.Logf("balanced in %v", time.Since(start))
	evs, _ := synth.Collect(synth.Config{Seed: 3, Accounts: 500, Rate: 50, Every: 20 * time.Second}, 20*time.Second)
	evs = evs[:10000]
	// The largest batch the API takes, in one call.
	start = time.Now()
	got := send(t, evs, 10000, a)
	t.Logf("%d events in one call: %v", len(evs), time.Since(start))
	if len(got) != len(evs) {
		t.Fatalf("%d verdicts for %d events", len(got), len(evs))
	}
	// The same events again, through another node: the first verdicts,
	// and nothing counted again.
	again := send(t, evs, 2500, c, a, b)
	for i := range got {
		if !bytes.Equal(got[i], again[i]) {
			t.Fatalf("event %s: verdict %s, then %s", evs[i].ID, got[i], again[i])
		}
	}
	var n int64
	if err := h.db.Reader.QueryRow("SELECT COUNT(*) FROM events").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != int64(len(evs)) {
		t.Fatalf("the log has %d events, want %d", n, len(evs))
	}
	// Another event under a used id is refused, naming the field.
	bad := evs[3]
	bad.Actor = "someone-else"
	_, err := b.Ingest(context.Background(), []warden.Event{evs[0], bad})
	var we *warden.Error
	if !errors.As(err, &we) || we.Code != warden.ECONFLICT || we.Field != "events[1].id" {
		t.Fatalf("a reused id: %v, want a conflict on events[1].id", err)
	}
}

func TestJoinRefusesAnotherRuleSetOrPartitionCount(t *testing.T) {
	h := newHarness(t, 1, 4)
	h.join("a")
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"rules", func(c *Config) { c.RulesDigest = "sha256:other" }, "differs from the cluster's"},
		{"partitions", func(c *Config) { c.Partitions = 8 }, "the cluster has 4 partitions and this node was started with 8"},
	} {
		log := sqlstore.NewEventLog(h.db)
		cfg := Config{Logger: testLogger(), NATS: h.nats.URL(), Partitions: 4, RulesDigest: "sha256:test", NodeID: "b-" + tc.name, Log: log, NewEngine: newEngine, NewCrowdEngine: newCrowdEngine}
		tc.mod(&cfg)
		_, err := Join(context.Background(), cfg)
		log.Close()
		var je *JoinError
		if !errors.As(err, &je) || !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
			t.Errorf("%s: Join = %v, want a refusal saying %q", tc.name, err, tc.want)
		}
	}
	// A cluster laid out by an older Warden (no crowd stage, no layout in
	// its configuration) is refused: its nodes would route past the stage.
	a := h.nodes[0]
	if _, err := a.conf.Put(context.Background(), configKey, []byte(`{"partitions":4,"rules_digest":"sha256:test","layout":""}`)); err != nil {
		t.Fatal(err)
	}
	log := sqlstore.NewEventLog(h.db)
	defer log.Close()
	_, err := Join(context.Background(), Config{Logger: testLogger(), NATS: h.nats.URL(), Partitions: 4, RulesDigest: "sha256:test", NodeID: "b-layout", Log: log,
		NewEngine: newEngine, NewCrowdEngine: newCrowdEngine})
	var je *JoinError
	if !errors.As(err, &je) || !strings.Contains(err.Error(), "laid out as") {
		t.Errorf("old layout: Join = %v, want a refusal naming the layouts", err)
	}
}

// checkEventsStream reads the events stream whole: the crowd stage must
// have published each intake message once, in intake order, with no gap.
func checkEventsStream(t *testing.T, n *Node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	intake, err := n.js.Stream(ctx, IntakeStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := intake.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	events, err := n.js.Stream(ctx, StreamName)
	if err != nil {
		t.Fatal(err)
	}
	einfo, err := events.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if einfo.State.Msgs != info.State.Msgs {
		t.Fatalf("the events stream holds %d messages, the intake %d", einfo.State.Msgs, info.State.Msgs)
	}
	want := uint64(1)
	for seq := einfo.State.FirstSeq; seq <= einfo.State.LastSeq; seq++ {
		m, err := events.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("events stream message %d: %v", seq, err)
		}
		got, err := strconv.ParseUint(m.Header.Get(intakeSeqHeader), 10, 64)
		if err != nil || got != want {
			t.Fatalf("events stream: message with intake sequence %q where %d was due (a gap or a repeat)", m.Header.Get(intakeSeqHeader), want)
		}
		want++
	}
}

func TestLostNATSMakesNodeUnhealthy(t *testing.T) {
	h := newHarness(t, 1, 2)
	a := h.join("a")
	h.balanced(a)
	if !a.Healthy() {
		t.Fatal("not healthy while connected")
	}
	h.nats.Shutdown()
	deadline := time.Now().Add(5 * time.Second)
	for a.Healthy() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if a.Healthy() {
		t.Fatal("still healthy 5s after NATS went away")
	}
	ev := warden.Event{ID: "e1", Type: "follow", Time: time.Now().UTC(), Actor: "u1"}
	_, err := a.Ingest(context.Background(), []warden.Event{ev})
	var we *warden.Error
	if !errors.As(err, &we) || we.Code != warden.EUNAVAILABLE {
		t.Fatalf("Ingest without NATS = %v, want unavailable", err)
	}
}

func TestFuzzCorpusDecoders(t *testing.T) {
	if _, _, err := decodeSnapshot(snapshotHeader(42)); err != nil {
		t.Fatal(err)
	}
	seq, body, err := decodeSnapshot(append(snapshotHeader(42), 'x'))
	if err != nil || seq != 42 || string(body) != "x" {
		t.Fatalf("decodeSnapshot = %d, %q, %v", seq, body, err)
	}
	c, err := decodeConfig(encodeConfig(clusterConfig{Partitions: 64, RulesDigest: "d"}))
	if err != nil || c.Partitions != 64 {
		t.Fatalf("decodeConfig = %+v, %v", c, err)
	}
	for _, bad := range []string{`{"partitions":0}`, `{"partitions":64,"x":1}`, `[]`, `{"partitions":64} {}`} {
		if _, err := decodeConfig([]byte(bad)); err == nil {
			t.Errorf("decodeConfig(%s) accepted", bad)
		}
	}
}

func FuzzDecodeSnapshot(f *testing.F) {
	f.Add(snapshotHeader(7))
	f.Add([]byte("warden-partition-snapshot-1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		seq, body, err := decodeSnapshot(b)
		if err == nil && !bytes.Equal(append(snapshotHeader(seq), body...), b) {
			t.Fatalf("decodeSnapshot does not round-trip %q", b)
		}
	})
}

func FuzzDecodeConfig(f *testing.F) {
	f.Add([]byte(`{"partitions":64,"rules_digest":"sha256:ab"}`))
	f.Add([]byte(`{"partitions":-1}`))
	f.Fuzz(func(t *testing.T, b []byte) { roundTrips(t, b, decodeConfig, encodeConfig) })
}

// testLogger logs to stderr with -v and WARDEN_CLUSTER_LOG=1, else nowhere.
func testLogger() *slog.Logger {
	if os.Getenv("WARDEN_CLUSTER_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}

// digestEvents is the workload of the digest and failover tests: the
// first events of a synthetic stream with campaigns in it, dense enough
// that the built-in rules hit (about 100 hits in the first 6,000 events;
// a stream of 2,000 accounts at 100 events/s had none in its first 6,000,
// so its digests compared rule-less verdicts).
func digestEvents(n int) ([]warden.Event, []synth.Truth) {
	evs, truths := synth.Collect(synth.Config{Seed: 1, Accounts: 500, Rate: 30, Every: 20 * time.Second}, 4*time.Minute)
	return evs[:n], truths[:n]
}

// partitioned evaluates evs in order through p engines, each event in its
// actor's partition, as a cluster does, without NATS; it returns each
// verdict as JSON.
func partitioned(t *testing.T, evs []warden.Event, p int) [][]byte {
	t.Helper()
	vs := partitionedVerdicts(t, evs, p)
	out := make([][]byte, len(vs))
	for i := range vs {
		out[i] = mustJSON(vs[i])
	}
	return out
}

func partitionedVerdicts(t *testing.T, evs []warden.Event, p int) []warden.Verdict {
	t.Helper()
	engs := make([]Engine, p)
	for i := range engs {
		e, err := newEngine(i)
		if err != nil {
			t.Fatal(err)
		}
		engs[i] = e
	}
	crowd, err := newCrowdEngine()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]warden.Verdict, len(evs))
	for i := range evs {
		// The crowd stage, its values through their header encoding, then
		// the actor's partition.
		c, err := crowd.ObserveCrowd(&evs[i])
		if err != nil {
			t.Fatal(err)
		}
		enc, err := c.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got engine.Crowd
		if err := decodeCrowd(base64.RawStdEncoding.EncodeToString(enc), &got); err != nil {
			t.Fatal(err)
		}
		out[i], err = engs[Partition(evs[i].Actor, p)].EvaluateCrowd(context.Background(), &evs[i], &got)
		if err != nil {
			t.Fatal(err)
		}
		if out[i].Hits == nil {
			out[i].Hits = []warden.Hit{}
		}
	}
	return out
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func TestOneNodeAndThreeNodesGiveTheSameVerdicts(t *testing.T) {
	const p = 8
	evs, _ := digestEvents(6000)
	want := digest(partitioned(t, evs, p))
	// One engine evaluating the events in order, as one node does: the
	// crowd stage makes P partitions give its verdicts.
	solo, err := newOneEngine()
	if err != nil {
		t.Fatal(err)
	}
	var ones [][]byte
	for i := range evs {
		v := solo.Evaluate(context.Background(), &evs[i])
		if v.Hits == nil {
			v.Hits = []warden.Hit{}
		}
		ones = append(ones, mustJSON(v))
	}
	if d := digest(ones); d != want {
		t.Fatalf("one engine's verdict digest %s, %d partitions in process %s", d, p, want)
	}

	one := newHarness(t, 3, p)
	a := one.join("solo")
	one.balanced(a)
	start := time.Now()
	d1 := digest(send(t, evs, 500, a))
	t.Logf("1 node: %d events in %v", len(evs), time.Since(start).Round(time.Millisecond))

	three := newHarness(t, 3, p)
	x, y, z := three.join("x"), three.join("y"), three.join("z")
	three.balanced(x, y, z)
	start = time.Now()
	vs3 := send(t, evs, 500, x, y, z)
	d3 := digest(vs3)
	t.Logf("3 nodes: %d events in %v", len(evs), time.Since(start).Round(time.Millisecond))
	if d1 != want || d3 != want {
		t.Fatalf("verdict digests: 1 node %s, 3 nodes %s, partitioned in process %s; want all equal", d1, d3, want)
	}
	// Rule quality's counts are written with each event, as on one node:
	// every rule hit of every verdict, once.
	var hits int64
	for _, raw := range vs3 {
		var v warden.Verdict
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		for _, h := range v.Hits {
			if h.Escalation == nil && h.Rule != warden.RuleRestricted {
				hits++
			}
		}
	}
	days, err := three.db.RuleHitDays(context.Background(), 0, "")
	if err != nil {
		t.Fatal(err)
	}
	var counted int64
	for _, d := range days {
		if d.Rule != "" {
			counted += d.Hits
		}
	}
	t.Logf("%d rule hits in the verdicts, %d counted in the log", hits, counted)
	if counted != hits || hits == 0 {
		t.Fatalf("rule hits counted in the log %d, in the verdicts %d", counted, hits)
	}
}

func TestFailoverKeepsStateAndCountsOnce(t *testing.T) {
	const p = 8
	evs, _ := digestEvents(6000)
	want := partitioned(t, evs, p)

	h := newHarness(t, 3, p)
	var mu sync.Mutex
	accepted := map[string]int{}
	onAccepted := func(evs []warden.Event, _ []warden.Verdict) {
		mu.Lock()
		for _, ev := range evs {
			accepted[ev.ID]++
		}
		mu.Unlock()
	}
	h.cfg = func(c *Config) {
		c.SnapshotEvery = time.Hour // snapshots only when the test says
		c.OnAccepted = onAccepted
	}
	nodes := []*Node{h.join("a"), h.join("b"), h.join("c")}
	h.balanced(nodes...)
	// The victim runs the crowd stage: its failover and a partition's
	// are both on trial.
	var c *Node
	var survivors []*Node
	for _, n := range nodes {
		if n.RunsCrowd() && c == nil {
			c = n
		} else {
			survivors = append(survivors, n)
		}
	}
	a, b := survivors[0], survivors[1]
	third := len(evs) / 3
	got := send(t, evs[:third], 250, a, b, c)
	// A snapshot a third of the way in; the new owner restores it and
	// replays the second third, which c had logged, without evaluating it
	// again.
	if err := c.SnapshotAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	got = append(got, send(t, evs[third:2*third], 250, a, b, c)...)
	// c dies while the last third is being sent: no snapshot, no
	// release, its leases run out. A request whose partition is failing
	// over answers 503 and is retried with the same events.
	killed := make(chan time.Time, 1)
	time.AfterFunc(50*time.Millisecond, func() { killed <- time.Now(); c.Kill() })
	var firstOK time.Duration
	for i := 2 * third; i < len(evs); i += 250 {
		j := min(i+250, len(evs))
		node := []*Node{a, b}[(i/250)%2]
		for try := 0; ; try++ {
			vs, err := node.Ingest(context.Background(), evs[i:j])
			if err == nil {
				got = append(got, vs...)
				break
			}
			if try > 20 {
				t.Fatalf("events %d-%d still refused after %d tries: %v", i, j, try, err)
			}
			t.Logf("events %d-%d: %v; retrying", i, j, err)
		}
	}
	h.balanced(a, b)
	firstOK = time.Since(<-killed)
	t.Logf("failover: the survivors own all %d partitions and every event is answered %v after the kill", p, firstOK.Round(time.Millisecond))
	for i := range evs {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("event %d (%s): verdict %s after the failover, %s without one", i, evs[i].ID, got[i], want[i])
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, ev := range evs {
		if accepted[ev.ID] != 1 {
			t.Fatalf("event %s accepted %d times", ev.ID, accepted[ev.ID])
		}
	}
	var n int64
	if err := h.db.Reader.QueryRow("SELECT COUNT(*) FROM events").Scan(&n); err != nil || n != int64(len(evs)) {
		t.Fatalf("the log has %d events (%v), want %d", n, err, len(evs))
	}
	checkEventsStream(t, a)
}

// TestJoinAndLeaveHandOverState: a node joins mid-stream and another leaves
// gracefully (SIGTERM's path: snapshot, release); the partitions that move
// carry their state, so every verdict is the one without any move.
func TestJoinAndLeaveHandOverState(t *testing.T) {
	const p = 8
	evs, _ := digestEvents(6000)
	want := partitioned(t, evs, p)
	h := newHarness(t, 3, p)
	h.cfg = func(c *Config) { c.SnapshotEvery = time.Hour } // only hand-overs snapshot
	a, b := h.join("a"), h.join("b")
	h.balanced(a, b)
	third := len(evs) / 3
	got := send(t, evs[:third], 250, a, b)
	c := h.join("c")
	h.balanced(a, b, c)
	got = append(got, send(t, evs[third:2*third], 250, a, b, c)...)
	b.Close()
	h.balanced(a, c)
	got = append(got, send(t, evs[2*third:], 250, a, c)...)
	for i := range evs {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("event %d (%s): verdict %s after the moves, %s without", i, evs[i].ID, got[i], want[i])
		}
	}
}

func FuzzDecodeMember(f *testing.F) {
	f.Add(encodeMember(Member{ID: "n1", URL: "http://a", AdminURL: "http://a:9090", Started: 1}))
	f.Add([]byte(`{"id":""}`))
	f.Fuzz(func(t *testing.T, b []byte) { roundTrips(t, b, decodeMember, encodeMember) })
}

// roundTrips checks that what decode accepts from b encodes to something
// it decodes to the same value.
func roundTrips[T comparable](t *testing.T, b []byte, decode func([]byte) (T, error), encode func(T) []byte) {
	v, err := decode(b)
	if err != nil {
		return
	}
	again, err := decode(encode(v))
	if err != nil || again != v {
		t.Fatalf("decoding %q gave %+v, which does not round-trip: %+v, %v", b, v, again, err)
	}
}

// blockingEngine is a partition engine whose evaluation can be held, to
// stop its partition in the middle of a batch.
type blockingEngine struct {
	Engine
	hold    atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (b *blockingEngine) EvaluateCrowd(ctx context.Context, ev *warden.Event, c *engine.Crowd) (warden.Verdict, error) {
	if b.hold.Load() {
		select {
		case b.entered <- struct{}{}:
		default:
		}
		<-b.release
	}
	return b.Engine.EvaluateCrowd(ctx, ev, c)
}

// TestStopMidBatchIsNotSnapshotted: a partition stopped while evaluating a
// batch has counted events the log lacks; its hand-over must not snapshot
// that state (the next owner would count them again), so the snapshot
// stays the last one taken between batches, and the next owner's verdicts
// are those without any stop.
func TestStopMidBatchIsNotSnapshotted(t *testing.T) {
	evs, _ := digestEvents(1500)
	want := partitioned(t, evs, 1)
	h := newHarness(t, 1, 1)
	blocker := &blockingEngine{entered: make(chan struct{}, 1), release: make(chan struct{})}
	h.cfg = func(c *Config) {
		c.SnapshotEvery = time.Hour
		c.NewEngine = func(p int) (Engine, error) {
			e, err := newEngine(p)
			blocker.Engine = e
			return blocker, err
		}
	}
	a := h.join("a")
	h.balanced(a)
	got := send(t, evs[:500], 250, a)
	if err := a.SnapshotAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	snapSeq := func(n *Node) uint64 {
		data, err := n.state.GetBytes(context.Background(), "partition-0")
		if err != nil {
			t.Fatal(err)
		}
		seq, _, err := decodeSnapshot(data)
		if err != nil {
			t.Fatal(err)
		}
		return seq
	}
	first := snapSeq(a)
	got = append(got, send(t, evs[500:1000], 250, a)...) // past the snapshot
	blocker.hold.Store(true)
	go a.Ingest(context.Background(), evs[1000:1250]) // held mid-batch; answered after the move
	<-blocker.entered
	a.mu.Lock()
	part := a.owned[0]
	a.mu.Unlock()
	closed := make(chan struct{})
	go func() { a.Close(); close(closed) }()
	<-part.ctx.Done() // the stop has cancelled the partition mid-batch
	blocker.hold.Store(false)
	close(blocker.release)
	<-closed
	h.cfg = func(c *Config) { c.SnapshotEvery = time.Hour }
	b := h.join("b")
	if s := snapSeq(b); s != first {
		t.Fatalf("the hand-over snapshotted the partition at sequence %d after stopping mid-batch (last clean snapshot: %d)", s, first)
	}
	h.balanced(b)
	for i := 1000; i < len(evs); i += 250 {
		for try := 0; ; try++ {
			vs, err := b.Ingest(context.Background(), evs[i:i+250])
			if err == nil {
				got = append(got, vs...)
				break
			}
			if try > 10 {
				t.Fatal(err)
			}
		}
	}
	for i := range evs {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("event %d (%s): verdict %s after the stop, %s without one", i, evs[i].ID, got[i], want[i])
		}
	}
}
