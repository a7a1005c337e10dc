package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/cluster"
	"github.com/wardenhq/warden/detect"
	"github.com/wardenhq/warden/enforce"
	"github.com/wardenhq/warden/engine"
	"github.com/wardenhq/warden/incident"
	"github.com/wardenhq/warden/ingest"
	"github.com/wardenhq/warden/partner"
	"github.com/wardenhq/warden/rules"
	"github.com/wardenhq/warden/sqlstore"
)

// clusterConfig is serve's cluster flags.
type clusterConfig struct {
	nats           string
	partitions     int
	nodeID         string
	leaseTTL       time.Duration
	verdictTimeout time.Duration
}

func clusterFlags(f *pflag.FlagSet, c *clusterConfig) {
	f.StringVar(&c.nats, "nats", "", "NATS server URLs (comma-separated): join a cluster of Warden nodes partitioned over JetStream; needs --db postgres://… (docs/cluster.md)")
	f.IntVar(&c.partitions, "partitions", cluster.DefaultPartitions, "with --nats: the partition count; fixed when the cluster first starts, and every node must give the same")
	f.StringVar(&c.nodeID, "node-id", "", "with --nats: this node's name in the cluster (default: the host name and a random suffix)")
	f.DurationVar(&c.leaseTTL, "lease-ttl", 10*time.Second, "with --nats: how long a dead node's partitions wait before others take them")
	f.DurationVar(&c.verdictTimeout, "verdict-timeout", 10*time.Second, "with --nats: how long a request waits for a partition owner's verdict before answering 503")
}

// joinCluster makes this serve a node of the cluster at --nats: one engine
// per partition it owns, each with state of its own.
func joinCluster(ctx context.Context, c serveConfig, st *sqlstore.DB, log cluster.Log, svc *incident.Service, ps *partner.Service,
	logger *slog.Logger, reg prometheus.Registerer, outbound ingest.Outbound, onAccepted func([]warden.Event, []warden.Verdict)) (*cluster.Node, error) {
	if st.Dialect != sqlstore.Postgres {
		return nil, usagef("--nats needs --db postgres://…: the nodes of a cluster share one event log")
	}
	if c.cluster.partitions < 1 || c.cluster.partitions > 4096 {
		return nil, usagef("--partitions must be between 1 and 4096, not %d", c.cluster.partitions)
	}
	if c.cluster.leaseTTL < time.Second {
		return nil, usagef("--lease-ttl must be at least 1s, not %s: renewals come every quarter of it", c.cluster.leaseTTL)
	}
	if c.cluster.verdictTimeout <= 0 {
		return nil, usagef("--verdict-timeout must be positive, such as 10s")
	}
	var ruleFS fs.FS = rules.FS
	if c.rules != "" {
		ruleFS = os.DirFS(c.rules)
	}
	digest, err := cluster.RulesDigest(ruleFS)
	if err != nil {
		return nil, err
	}
	// The crowd stage counts what looks across actors apart from the
	// actors' partitions; a rule set whose crowd counters read the actor's
	// own counters or labels cannot be split so (docs/cluster.md).
	if rs, err := engine.Compile(ruleFS, engine.CompileOptions{}); err != nil {
		return nil, err
	} else if err := rs.CheckCrowd(); err != nil {
		return nil, fmt.Errorf("cluster: %w; run this rule set on one node", err)
	}
	var ladders sync.Map // partition → *enforce.Ladder
	var node *cluster.Node
	svc.SetStrikes(ladderStrikes(func(account string) *enforce.Ladder {
		if node == nil {
			return nil
		}
		if l, ok := ladders.Load(cluster.Partition(account, node.Partitions())); ok {
			return l.(*enforce.Ladder)
		}
		return nil // another node owns the account's partition
	}))
	newEngine := func(p int) (cluster.Engine, error) {
		preg := prometheus.WrapRegistererWith(prometheus.Labels{"partition": strconv.Itoa(p)}, reg)
		// Each partition's valves see its own share of the traffic; the
		// breaker calls are not served in a cluster yet. The detectors
		// run in the crowd stage, not here.
		eng, ladder, _, err := buildEngine(c, st, svc, ps, logger, preg, 0, nil)
		if err != nil {
			return nil, err
		}
		ladders.Store(p, ladder)
		return eng, nil
	}
	newCrowdEngine := func() (cluster.Engine, error) {
		return engine.Open(engine.Options{RulesDir: c.rules, Logger: logger, Budget: -1, Detectors: detect.New(detect.Config{}),
			Registerer: prometheus.WrapRegistererWith(prometheus.Labels{"partition": "crowd"}, reg)})
	}
	node, err = cluster.Join(ctx, cluster.Config{NATS: c.cluster.nats, Partitions: c.cluster.partitions, RulesDigest: digest,
		NodeID: c.cluster.nodeID, Log: log, NewEngine: newEngine, NewCrowdEngine: newCrowdEngine, LeaseTTL: c.cluster.leaseTTL, SnapshotEvery: c.snapshotEvery,
		VerdictTimeout: c.cluster.verdictTimeout, OnAccepted: onAccepted, Outbound: outbound, Logger: logger, Registerer: reg})
	if err != nil {
		return nil, err
	}
	return node, nil
}

// upNode is one node of `warden cluster up`, as printed.
type upNode struct {
	URL      string `json:"url"`
	PID      int    `json:"pid"`
	AdminURL string `json:"admin_url"`
	cmd      *exec.Cmd
	exited   chan struct{}
}

func init() {
	grp := &cobra.Command{Use: "cluster", Short: "Try a cluster of Warden nodes on one machine"}
	var nodes, partitions int
	var data, db string
	var asJSON bool
	up := &cobra.Command{
		Use:   "up --nodes N --data DIR --db URL [--json]",
		Short: "Start an embedded NATS JetStream cluster and N Warden nodes on loopback",
		Long: `Starts, on loopback, three embedded NATS JetStream servers clustered together and N
Warden nodes (each a ` + "`warden serve --nats … --db …`" + ` child process), prints the nodes and
servers once all are healthy, and runs until SIGTERM or Ctrl-C, which stops them all.
Any node answers POST /v1/events; ` + "`warden events export --db URL`" + ` lists every
acknowledged event once. For trying and testing; production runs its own NATS.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := envDefaults(cmd); err != nil {
				return err
			}
			if nodes < 1 || nodes > 64 {
				return usagef("--nodes must be between 1 and 64, not %d", nodes)
			}
			if db == "" {
				return usagef("--db postgres://… is required: the nodes share one event log")
			}
			if data == "" {
				return usagef("--data DIR is required")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return clusterUp(ctx, cmd, nodes, partitions, data, db, asJSON)
		},
	}
	f := up.Flags()
	f.IntVar(&nodes, "nodes", 3, "how many Warden nodes")
	f.IntVar(&partitions, "partitions", cluster.DefaultPartitions, "the cluster's partition count")
	f.StringVar(&data, "data", "", "directory for the NATS servers' storage and the nodes' data")
	f.StringVar(&db, "db", "", "PostgreSQL URL the nodes share (postgres://…)")
	f.BoolVar(&asJSON, "json", false, "print one JSON object: {\"nodes\": [{\"url\", \"pid\", \"admin_url\"}], \"nats\": [...]}")
	grp.AddCommand(up)
	root.AddCommand(grp)
}

func clusterUp(ctx context.Context, cmd *cobra.Command, nodes, partitions int, data, db string, asJSON bool) error {
	if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	nc, err := cluster.StartNATS(data, 3)
	if err != nil {
		return err
	}
	defer nc.Shutdown()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var started []*upNode
	defer func() {
		for _, n := range started {
			n.cmd.Process.Signal(syscall.SIGTERM)
		}
		for _, n := range started {
			<-n.exited
		}
	}()
	// The nodes share one data directory (the keys that seal secrets must
	// be the same on every node): the first makes it, then the others start.
	nodeData := filepath.Join(data, "warden")
	for i := 0; i < nodes; i++ {
		n, err := startNode(ctx, self, nodeData, db, nc.URL(), partitions, i+1)
		if err != nil {
			return err
		}
		started = append(started, n)
		if i == 0 {
			if err := waitHealthy(ctx, n); err != nil {
				return err
			}
		}
	}
	for _, n := range started {
		if err := waitHealthy(ctx, n); err != nil {
			return err
		}
	}
	out := struct {
		Nodes []*upNode `json:"nodes"`
		NATS  []string  `json:"nats"`
	}{started, nc.URLs()}
	w := cmd.OutOrStdout()
	if asJSON {
		json.NewEncoder(w).Encode(out)
	} else {
		fmt.Fprintf(w, "NATS JetStream: %s\n", nc.URL())
		for i, n := range started {
			fmt.Fprintf(w, "node %d: %s (pid %d, metrics %s/metrics)\n", i+1, n.URL, n.PID, n.AdminURL)
		}
		fmt.Fprintf(w, "Make an API key with: warden keys create --role app --db %s\nStop with Ctrl-C.\n", redactDB(db))
	}
	<-ctx.Done()
	return nil
}

// redactDB hides a password in a database URL.
func redactDB(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "(the --db URL)"
}

func loopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startNode starts `warden serve --nats … --db …` as a child process.
func startNode(ctx context.Context, self, data, db, nats string, partitions, i int) (*upNode, error) {
	addr, err := loopbackAddr()
	if err != nil {
		return nil, err
	}
	admin, err := loopbackAddr()
	if err != nil {
		return nil, err
	}
	c := exec.Command(self, "serve", "--addr", addr, "--admin-addr", admin, "--data", data, "--db", db, "--nats", nats,
		"--partitions", strconv.Itoa(partitions), "--node-id", fmt.Sprintf("node-%d", i), "--log-level", "warn")
	c.Stdout, c.Stderr = os.Stderr, os.Stderr
	if err := c.Start(); err != nil {
		return nil, err
	}
	n := &upNode{URL: "http://" + addr, PID: c.Process.Pid, AdminURL: "http://" + admin, cmd: c, exited: make(chan struct{})}
	go func() { c.Wait(); close(n.exited) }()
	return n, nil
}

// waitHealthy waits for a node's /healthz to answer 200.
func waitHealthy(ctx context.Context, n *upNode) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		resp, err := http.Get(n.AdminURL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-n.exited:
			return fmt.Errorf("node %s exited: %s", n.URL, n.cmd.ProcessState)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("node %s not healthy within 60s", n.URL)
}
