package cluster

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/engine"
	"github.com/wardenhq/warden/synth"
)

// BenchmarkClusterThroughput sends b.N synthetic events (8 clients, batches
// of 50 and of 1,000, round robin over the nodes; P = 16, and P = 1) through clusters of 1, 2 and 3 nodes
// on an embedded 3-server NATS cluster and PostgreSQL (WARDEN_TEST_POSTGRES),
// all on this machine, and fits the Universal Scalability Law to the three
// throughputs. Run with a fixed count, since each run sets a cluster up:
//
//	go test -run XXX -bench ClusterThroughput -benchtime 20000x ./cluster
func BenchmarkClusterThroughput(b *testing.B) {
	for _, c := range []struct{ batch, p int }{{50, 16}, {1000, 16}, {1000, 1}} {
		batch, p := c.batch, c.p
		b.Run(fmt.Sprintf("batch=%d/P=%d", batch, p), func(b *testing.B) {
			var x [4]float64
			for nodes := 1; nodes <= 3; nodes++ {
				ok := b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
					var cpu time.Duration
					x[nodes], cpu = clusterThroughput(b, nodes, batch, p, b.N)
					b.ReportMetric(x[nodes], "events/s")
					// CPU of this process (the nodes and the three NATS
					// servers, not PostgreSQL) per event.
					b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/event")
				})
				if !ok {
					return // no fit through a failed run
				}
			}
			if x[1] == 0 || x[2] == 0 || x[3] == 0 {
				return
			}
			u, err := FitUSL(x[1], x[2], x[3])
			if err != nil {
				b.Fatal(err)
			}
			b.Logf("batches of %d: 1 node %.0f, 2 nodes %.0f, 3 nodes %.0f events/s", batch, x[1], x[2], x[3])
			b.Logf("USL fit: λ=%.0f σ=%.3f κ=%.4f; peak at %.1f nodes", u.Lambda, u.Sigma, u.Kappa, u.Peak())
			for _, n := range []int{4, 6, 8, 12} {
				b.Logf("  predicted X(%d) = %.0f events/s", n, u.Predict(n))
			}
		})
	}
}

func clusterThroughput(b *testing.B, nodes, batch, p, n int) (float64, time.Duration) {
	b.StopTimer()
	// 16 partitions, not 64: each holds its own detectors' tables (~60 MB),
	// and nine clusters are set up in turn. P = 1 is one owner at a time,
	// the exact single-node detection.
	h := newHarness(b, 3, p)
	h.cfg = func(c *Config) { c.SnapshotEvery, c.LeaseTTL = time.Minute, 10*time.Second } // as serve's defaults
	var ns []*Node
	for i := 0; i < nodes; i++ {
		ns = append(ns, h.join(fmt.Sprintf("bench-%d", i)))
	}
	h.balanced(ns...)
	evs, _ := synth.Collect(synth.Config{Seed: 11, Accounts: 20000, Rate: 200, Every: 2 * time.Minute}, 10*time.Minute)
	for len(evs) < n {
		evs = append(evs, evs...)
	}
	evs = evs[:n]
	for i := range evs {
		evs[i].ID = fmt.Sprintf("b%d-%d", nodes, i)
	}
	const clients = 8
	next := make(chan []warden.Event, clients)
	go func() {
		for i := 0; i < len(evs); i += batch {
			next <- evs[i:min(i+batch, len(evs))]
		}
		close(next)
	}()
	var wg sync.WaitGroup
	b.StartTimer()
	start, cpu0 := time.Now(), processCPU()
	for c := 0; c < clients; c++ {
		wg.Go(func() {
			for k := c; ; k++ {
				evs, ok := <-next
				if !ok {
					return
				}
				if _, err := ns[k%len(ns)].Ingest(context.Background(), evs); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	took, cpu := time.Since(start), processCPU()-cpu0
	b.StopTimer()
	return float64(n) / took.Seconds(), cpu
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkStages compares, in process on the reference workload, one
// engine evaluating an event (detectors and every counter) with the two
// stages a cluster splits it into: the crowd stage (detectors and crowd
// counters, and encoding the values) and the partition (decoding them and
// evaluating with its own counters). The crowd stage is serial in a
// cluster: its events/s is the ceiling of one crowd stage's CPU.
//
//	go test -run XXX -bench Stages -benchtime 60000x ./cluster
func BenchmarkStages(b *testing.B) {
	evs, _ := synth.Collect(synth.Config{Seed: 5, Accounts: 3000, Rate: 100, Every: 30 * time.Second}, 6*time.Minute)
	ctx := context.Background()
	b.Run("one-engine", func(b *testing.B) {
		eng, err := newOneEngine()
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			eng.Evaluate(ctx, &evs[i%len(evs)])
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	crowd, err := newCrowdEngine()
	if err != nil {
		b.Fatal(err)
	}
	encoded := make([][]byte, len(evs))
	b.Run("crowd", func(b *testing.B) {
		crowd.ResetState()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			c, err := crowd.ObserveCrowd(&evs[i%len(evs)])
			if err != nil {
				b.Fatal(err)
			}
			if encoded[i%len(evs)], err = c.MarshalBinary(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("partition", func(b *testing.B) {
		part, err := newEngine(0)
		if err != nil {
			b.Fatal(err)
		}
		if encoded[0] == nil {
			b.Skip("run with the crowd sub-benchmark")
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			var c engine.Crowd
			k := i % len(evs)
			if encoded[k] == nil {
				continue
			}
			if err := c.UnmarshalBinary(encoded[k]); err != nil {
				b.Fatal(err)
			}
			if _, err := part.EvaluateCrowd(ctx, &evs[k], &c); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
