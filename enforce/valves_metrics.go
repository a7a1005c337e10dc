package enforce

import "github.com/prometheus/client_golang/prometheus"

var (
	trippedDesc = prometheus.NewDesc("warden_rule_breaker_tripped",
		"1 for each rule whose circuit breaker is tripped: its enforce actions are held to review until an admin re-arms it.", []string{"rule"}, nil)
	pendingDesc = prometheus.NewDesc("warden_restrictions_pending",
		"Automated suspensions and bans waiting for their jittered delay.", nil, nil)
)

// valvesCollector reads the valves' state at each scrape, so the figures
// are those of the state however it was reached (evaluation, replay,
// snapshot).
type valvesCollector struct{ v *Valves }

// Collector returns the valves' metrics: the tripped breakers (the admin
// alert) and the pending restrictions.
func (v *Valves) Collector() prometheus.Collector { return valvesCollector{v} }

func (c valvesCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- trippedDesc
	ch <- pendingDesc
}

func (c valvesCollector) Collect(ch chan<- prometheus.Metric) {
	for _, b := range c.v.Breakers() {
		ch <- prometheus.MustNewConstMetric(trippedDesc, prometheus.GaugeValue, 1, b.Rule)
	}
	c.v.mu.Lock()
	n := len(c.v.st.Pending)
	c.v.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(n))
}
