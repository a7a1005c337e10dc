package quality

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector exposes the drift alerts in force as the gauge
// warden_rule_drift_alert{rule, kind}: 1 for a rule whose hit rate
// (kind hit_rate) or precision (kind precision) drifted today or
// yesterday, and their number as warden_rule_drift_alerts (0 when there is
// none, so an alerting rule can test it). It recomputes at most once a
// minute, so a scrape costs a store read only then.
type Collector struct {
	svc         *Service
	desc, total *prometheus.Desc

	mu     sync.Mutex
	at     time.Time
	alerts []Alert
}

// Collector returns the service's metrics collector.
func (s *Service) Collector() *Collector {
	return &Collector{svc: s, desc: prometheus.NewDesc("warden_rule_drift_alert",
		"1 for each rule whose hit rate or precision drifted beyond its trailing baseline today or yesterday (docs/rule-quality.md).",
		[]string{"rule", "kind"}, nil),
		total: prometheus.NewDesc("warden_rule_drift_alerts", "How many rules' hit rates or precisions drifted today or yesterday.", nil, nil)}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc; ch <- c.total }

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	active := c.active()
	for _, a := range active {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, 1, a.Rule, a.Kind)
	}
	ch <- prometheus.MustNewConstMetric(c.total, prometheus.GaugeValue, float64(len(active)))
}

// active returns the alerts of today and yesterday, one per rule and kind.
func (c *Collector) active() []Alert {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.svc.opt.Now()
	if !c.at.IsZero() && now.Sub(c.at) < time.Minute {
		return c.alerts
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rep, err := c.svc.Report(ctx, "", now.Add(-48*time.Hour))
	if err != nil {
		return c.alerts // the last known, until the store answers
	}
	// A new slice: a concurrent scrape may still read the last one.
	var active []Alert
	seen := map[[2]string]bool{}
	yesterday := now.UTC().Add(-24 * time.Hour).Format(time.DateOnly)
	for _, a := range rep.Alerts {
		k := [2]string{a.Rule, a.Kind}
		if a.Day >= yesterday && !seen[k] {
			seen[k] = true
			active = append(active, a)
		}
	}
	c.at, c.alerts = now, active
	return active
}
