package incident

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
)

// metrics exposes the incident workflow to operations: cases opened and
// closed per queue, open and overdue cases, SLA breaches, notices per kind.
// The figures are read from the store at scrape time (at most every
// metricsTTL), so they are the same on every replica and survive restarts;
// deliveries and the outbox are package notify's.
type metrics struct {
	db  *sqlstore.DB
	now func() time.Time

	mu     sync.Mutex
	at     time.Time
	queues []sqlstore.QueueFigures
	notes  map[string]int64
}

const metricsTTL = 10 * time.Second

var (
	descOpened   = prometheus.NewDesc("warden_cases_opened_total", "Cases opened, per queue.", []string{"queue"}, nil)
	descClosed   = prometheus.NewDesc("warden_cases_closed_total", "Cases decided, per queue.", []string{"queue"}, nil)
	descOpen     = prometheus.NewDesc("warden_cases_open", "Cases waiting for a decision (open or in review), per queue.", []string{"queue"}, nil)
	descOverdue  = prometheus.NewDesc("warden_cases_overdue", "Cases waiting past their queue's SLA, per queue.", []string{"queue"}, nil)
	descBreached = prometheus.NewDesc("warden_cases_sla_breached_total", "Cases decided after their queue's SLA, per queue.", []string{"queue"}, nil)
	descNotices  = prometheus.NewDesc("warden_notices_total", "Notifications made, per kind (receipt, decision, statement, exposure …).", []string{"kind"}, nil)
)

func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descOpened, descClosed, descOpen, descOverdue, descBreached, descNotices} {
		ch <- d
	}
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if now := m.now(); now.Sub(m.at) >= metricsTTL || m.at.IsZero() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		qs, notes, err := m.db.IncidentFigures(ctx, warden.MicrosOf(now))
		cancel()
		if err == nil {
			m.queues, m.notes, m.at = qs, notes, now
		}
	}
	for _, q := range m.queues {
		ch <- prometheus.MustNewConstMetric(descOpened, prometheus.CounterValue, float64(q.Opened), q.Queue)
		ch <- prometheus.MustNewConstMetric(descClosed, prometheus.CounterValue, float64(q.Closed), q.Queue)
		ch <- prometheus.MustNewConstMetric(descOpen, prometheus.GaugeValue, float64(q.Open), q.Queue)
		ch <- prometheus.MustNewConstMetric(descOverdue, prometheus.GaugeValue, float64(q.Overdue), q.Queue)
		ch <- prometheus.MustNewConstMetric(descBreached, prometheus.CounterValue, float64(q.Breached), q.Queue)
	}
	for k, n := range m.notes {
		ch <- prometheus.MustNewConstMetric(descNotices, prometheus.CounterValue, float64(n), k)
	}
}
