package cluster

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// NATS is a NATS JetStream cluster embedded in this process, on loopback:
// for tests and `warden cluster up`, not for production (which runs its own
// NATS servers).
type NATS struct {
	Servers []*server.Server
	urls    []string
}

// StartNATS starts n JetStream servers clustered with each other on
// random loopback ports, storing under dir/nats-I. The route ports are
// picked free just before use, so a start that loses one to another
// process is tried again on new ports.
func StartNATS(dir string, n int) (*NATS, error) {
	if n < 1 {
		return nil, fmt.Errorf("cluster: at least one NATS server, not %d", n)
	}
	var err error
	for try := 0; try < 3; try++ {
		var c *NATS
		sub := dir
		if try > 0 { // fresh storage: the failed start's servers knew other peers
			sub = filepath.Join(dir, fmt.Sprintf("retry-%d", try))
		}
		if c, err = startNATS(sub, n); err == nil {
			return c, nil
		}
	}
	return nil, err
}

func startNATS(dir string, n int) (*NATS, error) {
	routePorts := make([]int, n)
	for i := range routePorts {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		routePorts[i] = p
	}
	var routes []*url.URL
	for _, p := range routePorts {
		routes = append(routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", p)})
	}
	c := &NATS{}
	for i := 0; i < n; i++ {
		opts := &server.Options{
			ServerName: fmt.Sprintf("warden-nats-%d", i+1),
			Host:       "127.0.0.1",
			Port:       server.RANDOM_PORT,
			JetStream:  true,
			StoreDir:   filepath.Join(dir, fmt.Sprintf("nats-%d", i+1)),
			NoLog:      true,
			NoSigs:     true,
			// Small limits: this is for one machine.
			JetStreamMaxMemory: 256 << 20,
			JetStreamMaxStore:  8 << 30,
		}
		if n > 1 {
			opts.Cluster = server.ClusterOpts{Name: "warden", Host: "127.0.0.1", Port: routePorts[i]}
			opts.Routes = routes
		}
		s, err := server.NewServer(opts)
		if err != nil {
			c.Shutdown()
			return nil, fmt.Errorf("cluster: NATS server %d: %w", i+1, err)
		}
		go s.Start()
		c.Servers = append(c.Servers, s)
	}
	for i, s := range c.Servers {
		if !s.ReadyForConnections(20 * time.Second) {
			c.Shutdown()
			return nil, fmt.Errorf("cluster: NATS server %d did not start", i+1)
		}
		c.urls = append(c.urls, s.ClientURL())
	}
	// A JetStream cluster needs a meta leader before streams can be made.
	deadline := time.Now().Add(30 * time.Second)
	for n > 1 && time.Now().Before(deadline) {
		ready := false
		for _, s := range c.Servers {
			if s.JetStreamIsLeader() {
				ready = true
			}
		}
		if ready {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return c, nil
}

// URL returns the servers' client URLs, comma-separated, as --nats takes them.
func (c *NATS) URL() string { return strings.Join(c.urls, ",") }

// URLs returns each server's client URL.
func (c *NATS) URLs() []string { return append([]string(nil), c.urls...) }

// Shutdown stops every server.
func (c *NATS) Shutdown() {
	for _, s := range c.Servers {
		s.Shutdown()
	}
	for _, s := range c.Servers {
		s.WaitForShutdown()
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
