package cluster

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	nodes     prometheus.Gauge
	owned     *prometheus.GaugeVec
	acquired  prometheus.Counter
	evaluated prometheus.Counter
	replayed  prometheus.Counter
	refused   prometheus.Counter
	timeouts  prometheus.Counter
	recounts  prometheus.Counter
	crowd     prometheus.Counter
	crowdOwn  prometheus.Gauge
	restore   prometheus.Histogram
	snapBytes prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, n *Node) metrics {
	m := metrics{
		nodes:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "warden_cluster_nodes", Help: "Live nodes in the cluster, as this node last saw them."}),
		owned:     prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "warden_cluster_partition_owned", Help: "1 for each partition this node owns."}, []string{"partition"}),
		acquired:  prometheus.NewCounter(prometheus.CounterOpts{Name: "warden_cluster_partitions_acquired_total", Help: "Partitions this node took over (at start, on rebalance or failover)."}),
		evaluated: prometheus.NewCounter(prometheus.CounterOpts{Name: "warden_cluster_events_evaluated_total", Help: "Events this node evaluated and logged as a partition owner."}),
		replayed:  prometheus.NewCounter(prometheus.CounterOpts{Name: "warden_cluster_events_replayed_total", Help: "Events a previous owner had logged, replayed into state on take-over."}),
		refused:   prometheus.NewCounter(prometheus.CounterOpts{Name: "warden_cluster_ingest_refused_total", Help: "Ingest calls refused because NATS was unreachable."}),
		timeouts:  prometheus.NewCounter(prometheus.CounterOpts{Name: "warden_cluster_verdict_timeouts_total", Help: "Ingest calls answered 503 because an owner's verdict did not come in time."}),
		recounts:  prometheus.NewCounter(prometheus.CounterOpts{Name: "warden_cluster_partition_rebuilds_total", Help: "Partitions rebuilt from their snapshot because a repeated event id was counted."}),
		crowd:     prometheus.NewCounter(prometheus.CounterOpts{Name: "warden_cluster_crowd_events_total", Help: "Events this node's crowd stage published to their partitions with the crowd values."}),
		crowdOwn:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "warden_cluster_crowd_owned", Help: "1 while this node runs the crowd stage."}),
		restore:   prometheus.NewHistogram(prometheus.HistogramOpts{Name: "warden_cluster_partition_restore_seconds", Help: "Time from taking a partition to having caught up on its stream.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}),
		snapBytes: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "warden_cluster_snapshot_bytes", Help: "Size of partition snapshots written.", Buckets: prometheus.ExponentialBuckets(1024, 4, 10)}),
	}
	if reg == nil {
		return m
	}
	reg.MustRegister(m.nodes, m.owned, m.acquired, m.evaluated, m.replayed, m.refused, m.timeouts, m.recounts, m.crowd, m.crowdOwn, m.restore, m.snapBytes)
	reg.MustRegister(partitionCollector{n})
	return m
}

// setOwned records that this node owns partition p (or the crowd stage)
// or not.
func (m *metrics) setOwned(p int, v float64) {
	if p == crowdStage {
		m.crowdOwn.Set(v)
		return
	}
	m.owned.WithLabelValues(strconv.Itoa(p)).Set(v)
}

// partitionCollector reports, per partition this node owns, its lag (messages
// not yet acknowledged), the stream sequence its state reflects and the age
// of its last snapshot.
type partitionCollector struct{ n *Node }

var (
	lagDesc     = prometheus.NewDesc("warden_cluster_partition_lag", "Messages in the partition's stream not yet processed by its owner (this node).", []string{"partition"}, nil)
	seqDesc     = prometheus.NewDesc("warden_cluster_partition_seq", "Stream sequence the partition's state reflects.", []string{"partition"}, nil)
	snapAgeDesc = prometheus.NewDesc("warden_cluster_partition_snapshot_age_seconds", "Seconds since the partition's state was last snapshotted or restored (-1: never).", []string{"partition"}, nil)
	ownerDesc   = prometheus.NewDesc("warden_cluster_partition_owner", "1 for the node that owns each partition, as this node last saw the leases.", []string{"partition", "node"}, nil)
)

func (c partitionCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- lagDesc
	ch <- seqDesc
	ch <- snapAgeDesc
	ch <- ownerDesc
}

func (c partitionCollector) Collect(ch chan<- prometheus.Metric) {
	c.n.mu.Lock()
	parts := make([]*partition, 0, len(c.n.owned))
	for _, p := range c.n.owned {
		parts = append(parts, p)
	}
	c.n.mu.Unlock()
	for _, p := range parts {
		l := stageName(p.p)
		ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, float64(p.lag.Load()), l)
		ch <- prometheus.MustNewConstMetric(seqDesc, prometheus.GaugeValue, float64(p.seq.Load()), l)
		age := -1.0
		if at := p.snapAt.Load(); at > 0 {
			age = time.Since(time.Unix(0, at)).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(snapAgeDesc, prometheus.GaugeValue, age, l)
		ch <- prometheus.MustNewConstMetric(ownerDesc, prometheus.GaugeValue, 1, l, c.n.cfg.NodeID)
	}
}
