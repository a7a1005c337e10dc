// Package cluster runs Warden as several nodes sharing the work over NATS
// JetStream, with PostgreSQL as the shared event log.
//
// Every node answers POST /v1/events: it publishes each event to the
// intake stream (durable, replicated and de-duplicated by event id) and
// waits for the verdict (request-reply). Evaluation then runs in two
// stages, each holding its state on exactly one node at a time, the node
// that holds its lease in a JetStream key-value bucket:
//
//   - The crowd stage consumes the whole intake in order and keeps what
//     looks across actors: the counters keyed by an IP, a /24, a device, a
//     target or a text, and the detectors (lockstep, linked accounts,
//     near-duplicate text, bot-likeness). For each event it computes their
//     values (engine.Crowd) and publishes the event with them to its actor's
//     partition, in intake order, gapless and once (each publish expects
//     the stream's last sequence).
//   - Events are routed by actor to one of P partitions (a stable hash; P
//     is fixed when the cluster is first started), each a subject of the
//     events stream. A partition's owner consumes it in order, evaluates
//     each new event once with the crowd stage's values and its own
//     counters keyed by the actor, appends it with its verdict to the event
//     log (PostgreSQL; an id already there is answered with its first
//     verdict), replies, and then acknowledges the message.
//
// So each verdict is the one a single engine evaluating the intake in order
// would give, whatever P and however many nodes.
//
// A stage's state is snapshotted to a JetStream object store with the
// stream sequence it reflects. A new owner (after a node leaves, joins or
// dies) restores the snapshot and replays its stream from that sequence:
// events the old owner had already logged (or, for the crowd stage,
// published) rebuild the state without being evaluated into new effects,
// the rest are evaluated, so the state after a failover equals the state
// without one.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/engine"
	"github.com/wardenhq/warden/ingest"
	"github.com/wardenhq/warden/sqlstore"
)

// DefaultPartitions is the partition count of a new cluster.
const DefaultPartitions = 64

// Names of the JetStream resources a cluster uses.
const (
	StreamName       = "WARDEN_EVENTS"
	IntakeStream     = "WARDEN_INTAKE"
	subjectPrefix    = "warden.events."
	intakeSubject    = "warden.intake"
	configBucket     = "warden_cluster"
	leaseBucket      = "warden_leases"
	stateBucket      = "warden_state"
	configKey        = "config"
	replyHeader      = "Warden-Reply"
	crowdHeader      = "Warden-Crowd"       // the crowd stage's values, base64 of engine.Crowd's binary form
	intakeSeqHeader  = "Warden-Intake-Seq"  // the event's sequence in the intake stream
	receivedHeader   = "Warden-Received-Us" // when the intake stream took the event, Unix microseconds
	layout           = "intake+crowd+partitions/1"
	crowdStage       = -1 // the crowd stage's index among a node's stages
	crowdLeaseKey    = "stage.crowd"
	crowdObjectName  = "crowd"
	crowdDurablePref = "warden-crowd-r"
)

// Engine is what the stages need of the rule engine (*engine.Engine): one
// Engine per partition, holding only that partition's state (counters keyed
// by the actor, labels, ladder, valves), and one for the crowd stage
// (crowd counters and detectors).
type Engine interface {
	// EvaluateCrowd evaluates an event with the crowd stage's values.
	EvaluateCrowd(ctx context.Context, ev *warden.Event, c *engine.Crowd) (warden.Verdict, error)
	// ReplayCrowd rebuilds the state an already logged event left.
	ReplayCrowd(ctx context.Context, ev *warden.Event, c *engine.Crowd) error
	// ObserveCrowd is the crowd stage: it counts the event in the crowd
	// counters and detectors and returns their values for it.
	ObserveCrowd(ev *warden.Event) (engine.Crowd, error)
	SaveState(w io.Writer) error
	LoadState(r io.Reader) error
	ResetState()
}

// Log is what the cluster needs of the shared event log (*sqlstore.EventLog).
type Log interface {
	Append(ctx context.Context, recs []sqlstore.EventRecord) ([]sqlstore.AppendResult, error)
	Logged(ctx context.Context, ids []string) (map[string]sqlstore.LoggedEvent, error)
}

// Config configures a Node.
type Config struct {
	// NATS is the servers' URLs, comma-separated.
	NATS string
	// Partitions is P; 0 means DefaultPartitions. A cluster keeps the P it
	// was started with: a node with another P refuses to join.
	Partitions int
	// RulesDigest identifies the rule set (RulesDigest of its files); a
	// node whose digest differs from the cluster's refuses to join.
	RulesDigest string
	// NodeID names this node; "" makes a random one.
	NodeID string
	// URL and AdminURL are this node's API and admin addresses, shown to
	// the other nodes and on the console.
	URL, AdminURL string
	Log           Log
	// NewEngine makes the engine of partition p, once per partition a node
	// comes to own; it is kept and reused if the partition comes back (its
	// metrics stay registered).
	NewEngine func(p int) (Engine, error)
	// NewCrowdEngine makes the crowd stage's engine, with the detectors,
	// once if this node comes to run the stage.
	NewCrowdEngine func() (Engine, error)
	// Replicas is how many NATS servers keep each stream and bucket; 0
	// means 3, or 1 when fewer servers are known.
	Replicas int
	// LeaseTTL is how long a partition's lease outlives its owner's last
	// renewal (default 10s); renewals come every LeaseTTL/4.
	LeaseTTL time.Duration
	// SnapshotEvery is how often an owned partition's state is snapshotted
	// (default 1m); a partition is also snapshotted when handed over.
	SnapshotEvery time.Duration
	// VerdictTimeout bounds the wait for an owner's verdict (default 10s);
	// past it Ingest answers unavailable.
	VerdictTimeout time.Duration
	// Duplicates is the stream's window for de-duplicating publishes by
	// event id (default 2m); repeats after it are caught by the event log.
	Duplicates time.Duration
	// OnAccepted is called on the owner with newly logged events and their
	// verdicts, once each. It must not block.
	OnAccepted func(evs []warden.Event, vs []warden.Verdict)
	// Outbound, when set, takes the effects of verdicts (ladder steps) as
	// webhook deliveries, queued in the event's own log transaction, as on
	// one node.
	Outbound   ingest.Outbound
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Node is one Warden node of a cluster. Safe for concurrent use.
type Node struct {
	cfg          Config
	log          *slog.Logger
	nc           *nats.Conn
	js           jetstream.JetStream
	leases, conf jetstream.KeyValue
	state        jetstream.ObjectStore
	p            int

	replyPrefix string
	tok         atomic.Uint64
	waitMu      sync.Mutex
	waiters     map[string]waiter
	replySub    *nats.Subscription

	mu      sync.Mutex
	owned   map[int]*partition
	engines map[int]Engine
	members []Member
	started time.Time

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	closed atomic.Bool

	m metrics
}

// Member is a live node as the cluster sees it.
type Member struct {
	ID       string `json:"id"`
	URL      string `json:"url,omitempty"`
	AdminURL string `json:"admin_url,omitempty"`
	Started  int64  `json:"started"`
}

// clusterConfig is what every node of a cluster must agree on.
type clusterConfig struct {
	Partitions  int    `json:"partitions"`
	RulesDigest string `json:"rules_digest"`
	// Layout names the streams and stages; a node of another layout (an
	// older Warden's) would route events past the crowd stage.
	Layout string `json:"layout"`
}

// Partition returns the partition of actor among p: FNV-1a of the actor,
// modulo p. It never changes between versions, since the stream's
// subjects depend on it.
func Partition(actor string, p int) int {
	h := fnv.New64a()
	h.Write([]byte(actor))
	return int(h.Sum64() % uint64(p))
}

// Subject is the stream subject of partition p.
func Subject(p int) string { return subjectPrefix + strconv.Itoa(p) }

// Join connects to NATS, checks that this node agrees with the cluster on
// the partition count and the rule set (the first node to join sets
// them), and starts taking its share of the partitions.
func Join(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Partitions == 0 {
		cfg.Partitions = DefaultPartitions
	}
	if cfg.Partitions < 1 || cfg.Partitions > 4096 {
		return nil, fmt.Errorf("cluster: partitions must be between 1 and 4096, not %d", cfg.Partitions)
	}
	if cfg.Log == nil || cfg.NewEngine == nil || cfg.NewCrowdEngine == nil {
		return nil, errors.New("cluster: Config.Log, Config.NewEngine and Config.NewCrowdEngine are required")
	}
	if cfg.NodeID == "" {
		b := make([]byte, 4)
		rand.Read(b)
		host, _ := os.Hostname()
		cfg.NodeID = strings.Trim(strings.NewReplacer(".", "-", "*", "-", ">", "-", " ", "-").Replace(host), "-") + "-" + hex.EncodeToString(b)
	}
	if strings.ContainsAny(cfg.NodeID, ".*> ") {
		return nil, fmt.Errorf("cluster: node id %q may not contain '.', '*', '>' or spaces", cfg.NodeID)
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 10 * time.Second
	}
	if cfg.SnapshotEvery <= 0 {
		cfg.SnapshotEvery = time.Minute
	}
	if cfg.VerdictTimeout <= 0 {
		cfg.VerdictTimeout = 10 * time.Second
	}
	if cfg.Duplicates <= 0 {
		cfg.Duplicates = 2 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	urls := strings.Split(cfg.NATS, ",")
	if cfg.Replicas <= 0 {
		cfg.Replicas = 3
		if len(urls) < 3 {
			cfg.Replicas = 1
		}
	}
	n := &Node{cfg: cfg, log: cfg.Logger.With("node", cfg.NodeID), p: cfg.Partitions,
		waiters: map[string]waiter{}, owned: map[int]*partition{}, engines: map[int]Engine{}, done: make(chan struct{}), started: time.Now()}
	n.m = newMetrics(cfg.Registerer, n)
	nc, err := nats.Connect(cfg.NATS, nats.Name("warden "+cfg.NodeID), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			n.log.Warn("NATS connection lost; not acknowledging events", "err", err)
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { n.log.Info("NATS connection back", "server", c.ConnectedUrlRedacted()) }))
	if err != nil {
		return nil, fmt.Errorf("cluster: connect to NATS at %s: %w", redactURLs(cfg.NATS), err)
	}
	n.nc = nc
	if err := n.setup(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	n.replyPrefix = "warden.reply." + cfg.NodeID + "."
	if n.replySub, err = nc.Subscribe(n.replyPrefix+"*", n.onReply); err != nil {
		nc.Close()
		return nil, fmt.Errorf("cluster: subscribe to replies: %w", err)
	}
	n.ctx, n.cancel = context.WithCancel(context.WithoutCancel(ctx))
	// The buckets' streams may still be electing leaders just after they
	// were made: the first heartbeat is retried like the setup.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		err := n.heartbeat(ctx)
		if err == nil {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			nc.Close()
			return nil, err
		}
	}
	go n.run()
	n.log.Info("joined the cluster", "partitions", n.p, "replicas", cfg.Replicas, "lease_ttl", cfg.LeaseTTL)
	return n, nil
}

// setup creates the stream and buckets if they are missing, and checks the
// cluster's configuration. JetStream may still be electing its leaders
// right after the servers start, so failures are retried for a while.
func (n *Node) setup(ctx context.Context) error {
	// A request may carry 10,000 events, each an async publish, and several
	// requests run at once.
	js, err := jetstream.New(n.nc, jetstream.WithPublishAsyncMaxPending(1<<16))
	if err != nil {
		return err
	}
	n.js = js
	deadline := time.Now().Add(30 * time.Second)
	for {
		err = n.setupOnce(ctx)
		var refused *JoinError
		if err == nil || errors.As(err, &refused) || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		n.log.Debug("JetStream not ready; retrying", "err", err)
		time.Sleep(200 * time.Millisecond)
	}
}

// JoinError is a node's refusal to join a cluster it disagrees with.
type JoinError struct{ Msg string }

func (e *JoinError) Error() string { return e.Msg }

func (n *Node) setupOnce(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	r := n.cfg.Replicas
	var err error
	if n.conf, err = n.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: configBucket, Replicas: r, Storage: jetstream.FileStorage, History: 1}); err != nil {
		return fmt.Errorf("cluster: config bucket: %w", err)
	}
	want := clusterConfig{Partitions: n.p, RulesDigest: n.cfg.RulesDigest, Layout: layout}
	if _, err := n.conf.Create(ctx, configKey, encodeConfig(want)); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("cluster: write the cluster's configuration: %w", err)
	}
	e, err := n.conf.Get(ctx, configKey)
	if err != nil {
		return fmt.Errorf("cluster: read the cluster's configuration: %w", err)
	}
	have, err := decodeConfig(e.Value())
	if err != nil {
		return &JoinError{Msg: "cluster: the cluster's configuration is unreadable (was it started by another Warden version?): " + err.Error()}
	}
	if have.Layout != want.Layout {
		return &JoinError{Msg: fmt.Sprintf("cluster: refusing to join: the cluster's streams are laid out as %q and this node's as %q; "+
			"a cluster runs one Warden version: stop every node and start them all with the same one", have.Layout, want.Layout)}
	}
	if have.Partitions != want.Partitions {
		return &JoinError{Msg: fmt.Sprintf("cluster: refusing to join: the cluster has %d partitions and this node was started with %d; "+
			"the partition count is fixed when a cluster starts (start this node with --partitions %d)", have.Partitions, want.Partitions, have.Partitions)}
	}
	if have.RulesDigest != want.RulesDigest {
		return &JoinError{Msg: fmt.Sprintf("cluster: refusing to join: this node's rule set (digest %s) differs from the cluster's (%s); "+
			"every node must run the same rule set, or verdicts would depend on which node owns an actor", short(want.RulesDigest), short(have.RulesDigest))}
	}
	if _, err := n.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: IntakeStream, Subjects: []string{intakeSubject},
		Storage: jetstream.FileStorage, Replicas: r, Duplicates: n.cfg.Duplicates, Retention: jetstream.LimitsPolicy}); err != nil {
		return fmt.Errorf("cluster: intake stream: %w", err)
	}
	// Only the crowd stage publishes here, each message expecting the
	// stream's last sequence, so the stream needs no de-duplication.
	if _, err := n.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: StreamName, Subjects: []string{subjectPrefix + "*"},
		Storage: jetstream.FileStorage, Replicas: r, Retention: jetstream.LimitsPolicy}); err != nil {
		return fmt.Errorf("cluster: event stream: %w", err)
	}
	if n.leases, err = n.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: leaseBucket, Replicas: r, Storage: jetstream.FileStorage,
		History: 1, TTL: n.cfg.LeaseTTL}); err != nil {
		return fmt.Errorf("cluster: lease bucket: %w", err)
	}
	if n.state, err = n.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: stateBucket, Replicas: r, Storage: jetstream.FileStorage}); err != nil {
		return fmt.Errorf("cluster: state bucket: %w", err)
	}
	return nil
}

func short(d string) string {
	if len(d) > 19 {
		return d[:19] + "…"
	}
	return d
}

// redactURLs hides passwords in NATS URLs for messages.
func redactURLs(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil {
			parts[i] = u.Redacted()
		}
	}
	return strings.Join(parts, ",")
}

// ID returns the node's id.
func (n *Node) ID() string { return n.cfg.NodeID }

// Partitions returns P.
func (n *Node) Partitions() int { return n.p }

// Healthy reports whether the node is connected to NATS and may
// acknowledge events.
func (n *Node) Healthy() bool { return !n.closed.Load() && n.nc.Status() == nats.CONNECTED }

// run keeps the node's heartbeat and leases until Close.
func (n *Node) run() {
	defer close(n.done)
	t := time.NewTicker(n.cfg.LeaseTTL / 4)
	defer t.Stop()
	for {
		n.tick()
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close hands this node's partitions over (each snapshotted and its lease
// released, so the others take them at once) and disconnects.
func (n *Node) Close() {
	if n.closed.Swap(true) {
		return
	}
	n.cancel()
	<-n.done
	owned := n.ownedNow()
	var wg sync.WaitGroup
	for _, p := range owned {
		wg.Go(func() { n.release(p) })
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	n.leases.Delete(ctx, "node."+n.cfg.NodeID)
	cancel()
	n.replySub.Unsubscribe()
	n.nc.Drain()
	n.log.Info("left the cluster")
}

// Kill stops the node abruptly, as a crash would: no snapshot, no
// release; the leases run out. For tests.
func (n *Node) Kill() {
	if n.closed.Swap(true) {
		return
	}
	n.cancel()
	<-n.done
	n.mu.Lock()
	for _, p := range n.owned {
		p.stop(false)
	}
	n.mu.Unlock()
	n.nc.Close()
}

// SetURLs sets the API and admin addresses this node advertises (once it
// listens); the next heartbeat carries them.
func (n *Node) SetURLs(url, adminURL string) {
	n.mu.Lock()
	n.cfg.URL, n.cfg.AdminURL = url, adminURL
	n.mu.Unlock()
}

// heartbeat writes this node's membership entry, renewed every tick and
// gone LeaseTTL after the last renewal.
func (n *Node) heartbeat(ctx context.Context) error {
	n.mu.Lock()
	m := Member{ID: n.cfg.NodeID, URL: n.cfg.URL, AdminURL: n.cfg.AdminURL, Started: n.started.Unix()}
	n.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, n.cfg.LeaseTTL/2)
	defer cancel()
	if _, err := n.leases.Put(ctx, "node."+n.cfg.NodeID, encodeMember(m)); err != nil {
		return fmt.Errorf("cluster: heartbeat: %w", err)
	}
	return nil
}

// liveMembers lists the nodes whose heartbeats are current, by id, and
// the owner of each leased partition.
func (n *Node) liveMembers(ctx context.Context) ([]Member, map[int]string, error) {
	lister, err := n.leases.ListKeys(ctx)
	if err != nil {
		return nil, nil, err
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	vals := make([][]byte, len(keys))
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Go(func() {
			if e, err := n.leases.Get(ctx, k); err == nil {
				vals[i] = e.Value()
			}
		})
	}
	wg.Wait()
	var members []Member
	owners := map[int]string{}
	for i, k := range keys {
		if vals[i] == nil {
			continue
		}
		switch {
		case strings.HasPrefix(k, "node."):
			if m, err := decodeMember(vals[i]); err == nil {
				members = append(members, m)
			}
		case strings.HasPrefix(k, "lease."):
			if p, err := strconv.Atoi(k[len("lease."):]); err == nil {
				owners[p] = string(vals[i])
			}
		case k == crowdLeaseKey:
			owners[crowdStage] = string(vals[i])
		}
	}
	sort.Slice(members, func(i, j int) bool { return members[i].ID < members[j].ID })
	return members, owners, ctx.Err()
}

// tick renews this node's heartbeat and leases, and takes or gives up
// partitions until it holds its fair share: P divided by the live nodes,
// the first P mod N nodes (by id) taking one more.
func (n *Node) tick() {
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.LeaseTTL/2)
	defer cancel()
	if n.nc.Status() != nats.CONNECTED {
		return
	}
	if err := n.heartbeat(ctx); err != nil {
		n.log.Warn("heartbeat failed", "err", err)
	}
	n.renew(ctx)
	members, owners, err := n.liveMembers(ctx)
	if err != nil {
		n.log.Warn("cluster membership not read", "err", err)
		return
	}
	n.mu.Lock()
	n.members = members
	n.mu.Unlock()
	n.m.nodes.Set(float64(len(members)))
	idx := -1
	for i, m := range members {
		if m.ID == n.cfg.NodeID {
			idx = i
		}
	}
	if idx < 0 {
		return
	}
	// The crowd stage is taken by whichever node finds it free first.
	n.mu.Lock()
	_, runsCrowd := n.owned[crowdStage]
	n.mu.Unlock()
	if _, taken := owners[crowdStage]; !taken && !runsCrowd {
		n.acquire(ctx, crowdStage)
	}
	want := n.p / len(members)
	if idx < n.p%len(members) {
		want++
	}
	n.mu.Lock()
	mine := make([]int, 0, len(n.owned))
	for p := range n.owned {
		if p != crowdStage {
			mine = append(mine, p)
		}
	}
	have := len(mine)
	n.mu.Unlock()
	// Partitions this node cares least about (rendezvous order) go first,
	// and it takes those it cares most about: nodes prefer different
	// partitions, so a join moves few of them.
	if have > want {
		sort.Slice(mine, func(i, j int) bool { return n.score(mine[i]) < n.score(mine[j]) })
		for _, p := range mine[:have-want] {
			n.mu.Lock()
			part := n.owned[p]
			n.mu.Unlock()
			if part != nil {
				n.release(part)
			}
		}
		return
	}
	if have < want {
		free := make([]int, 0, n.p)
		for p := 0; p < n.p; p++ {
			if _, taken := owners[p]; !taken {
				free = append(free, p)
			}
		}
		sort.Slice(free, func(i, j int) bool { return n.score(free[i]) > n.score(free[j]) })
		for _, p := range free {
			if have >= want {
				break
			}
			if n.acquire(ctx, p) {
				have++
			}
		}
	}
}

// score is this node's rendezvous weight for partition p.
func (n *Node) score(p int) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d", n.cfg.NodeID, p)
	return h.Sum64()
}

func leaseKey(p int) string {
	if p == crowdStage {
		return crowdLeaseKey
	}
	return "lease." + strconv.Itoa(p)
}

// acquire takes partition p's lease if it is free and starts consuming it.
func (n *Node) acquire(ctx context.Context, p int) bool {
	sent := time.Now()
	rev, err := n.leases.Create(ctx, leaseKey(p), []byte(n.cfg.NodeID))
	if err != nil {
		return false
	}
	n.mu.Lock()
	eng := n.engines[p]
	n.mu.Unlock()
	if eng == nil {
		if p == crowdStage {
			eng, err = n.cfg.NewCrowdEngine()
		} else {
			eng, err = n.cfg.NewEngine(p)
		}
		if err != nil {
			n.log.Error("partition engine not made", "partition", stageName(p), "err", err)
			n.leases.Delete(ctx, leaseKey(p), jetstream.LastRevision(rev))
			return false
		}
		n.mu.Lock()
		n.engines[p] = eng
		n.mu.Unlock()
	}
	part := newPartition(n, p, eng, rev, sent.Add(n.leaseValid()))
	n.mu.Lock()
	n.owned[p] = part
	n.mu.Unlock()
	n.m.setOwned(p, 1)
	n.m.acquired.Inc()
	go part.run()
	return true
}

// leaseValid is how long after sending a renewal this node acts on the
// lease: a margin short of the TTL, so that it stops before anyone else
// may take the partition.
func (n *Node) leaseValid() time.Duration { return n.cfg.LeaseTTL * 3 / 4 }

// renew extends every lease this node holds, all at once; a lease that
// another node holds now stops its partition at once.
func (n *Node) renew(ctx context.Context) {
	parts := n.ownedNow()
	var wg sync.WaitGroup
	for _, part := range parts {
		wg.Go(func() { n.renewOne(ctx, part) })
	}
	wg.Wait()
}

func (n *Node) renewOne(ctx context.Context, part *partition) {
	select {
	case <-part.done:
		// It stopped by itself (its lease ran out while NATS was slow or
		// away): let the lease go, and take it again if it is still ours
		// to take.
		n.release(part)
		return
	default:
	}
	sent := time.Now()
	rev, err := n.leases.Update(ctx, leaseKey(part.p), []byte(n.cfg.NodeID), part.rev.Load())
	if err != nil {
		// An update that timed out may still have been applied: the
		// lease is ours if the key says so, at its current revision.
		gctx, cancel := context.WithTimeout(context.Background(), n.cfg.LeaseTTL/4)
		e, gerr := n.leases.Get(gctx, leaseKey(part.p))
		cancel()
		switch {
		case gerr == nil && string(e.Value()) == n.cfg.NodeID:
			part.rev.Store(e.Revision())
			return // renewed at the next tick, at this revision
		case gerr != nil && !errors.Is(gerr, jetstream.ErrKeyNotFound):
			return // unknown: the lease runs out by itself, and so does part's validity
		}
		n.log.Warn("partition lease lost", "partition", stageName(part.p), "err", err)
		n.drop(part, false)
		return
	}
	part.rev.Store(rev)
	part.until.Store(sent.Add(n.leaseValid()).UnixNano())
}

// release hands partition part over: it stops, snapshots, and lets its
// lease go.
func (n *Node) release(part *partition) {
	n.drop(part, true)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.leases.Delete(ctx, leaseKey(part.p), jetstream.LastRevision(part.rev.Load())); err != nil {
		n.log.Warn("partition lease not released; it runs out by itself", "partition", stageName(part.p), "err", err)
	}
}

// drop stops consuming part, with a final snapshot when snapshot is set.
func (n *Node) drop(part *partition, snapshot bool) {
	part.stop(snapshot)
	n.mu.Lock()
	if n.owned[part.p] == part {
		delete(n.owned, part.p)
	}
	n.mu.Unlock()
	n.m.setOwned(part.p, 0)
}

// stageName names partition p, or the crowd stage, in logs and metrics.
func stageName(p int) string {
	if p == crowdStage {
		return "crowd"
	}
	return strconv.Itoa(p)
}

// RunsCrowd reports whether this node runs the crowd stage now.
func (n *Node) RunsCrowd() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	_, ok := n.owned[crowdStage]
	return ok
}

// Owned returns the partitions this node holds, in order (not the crowd
// stage: see RunsCrowd).
func (n *Node) Owned() []int {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]int, 0, len(n.owned))
	for p := range n.owned {
		if p != crowdStage {
			out = append(out, p)
		}
	}
	sort.Ints(out)
	return out
}
