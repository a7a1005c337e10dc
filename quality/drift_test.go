package quality_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/quality"
	"github.com/wardenhq/warden/sqlstore"
	"gonum.org/v1/gonum/stat/distuv"
)

// memStore is a Store over synthetic traffic.
type memStore struct {
	days     []sqlstore.HitDay
	accounts []sqlstore.HitAccount
	js       []sqlstore.AccountJudgement
}

func (m *memStore) RuleHitDays(_ context.Context, from int64, rule string) ([]sqlstore.HitDay, error) {
	var out []sqlstore.HitDay
	for _, d := range m.days {
		if d.Day >= from && (rule == "" || d.Rule == "" || d.Rule == rule) {
			out = append(out, d)
		}
	}
	return out, nil
}

func (m *memStore) RuleHitAccounts(_ context.Context, since warden.Micros, rule string, fn func(sqlstore.HitAccount) error) error {
	for _, a := range m.accounts {
		if a.Last >= since && (rule == "" || a.Rule == rule) {
			if err := fn(a); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *memStore) AccountJudgements(context.Context) ([]sqlstore.AccountJudgement, error) {
	return m.js, nil
}

func (m *memStore) ActiveSpans(context.Context, []string) (map[string][2]warden.Micros, error) {
	return nil, nil
}

const day = 24 * time.Hour

// traffic is 28 days of events with a rule firing at perMille per 1,000
// events, and at stepTo from stepDay on (0: no step).
func traffic(seed uint64, perMille, stepTo float64, stepDay int) (*memStore, time.Time) {
	src := rand.NewPCG(seed, 7)
	r := rand.New(src)
	start := t0.Truncate(day)
	m := &memStore{}
	for d := range 28 {
		n := 15000 + r.IntN(10000)
		p := perMille
		if stepDay > 0 && d >= stepDay {
			p = stepTo
		}
		k := distuv.Binomial{N: float64(n), P: p / 1000, Src: src}.Rand()
		dn := start.Add(time.Duration(d)*day).UnixMicro() / (86_400_000_000)
		m.days = append(m.days, sqlstore.HitDay{Day: dn, Hits: int64(n)},
			sqlstore.HitDay{Rule: "follow_burst", Version: 1, Mode: warden.ModeEnforce, Day: dn, Hits: int64(k)})
	}
	return m, start.Add(27*day + 12*time.Hour)
}

// A rule that starts firing on three times its share raises an alert on
// the day it does; stable traffic raises none, over many seeds.
func TestHitRateDrift(t *testing.T) {
	ctx := context.Background()
	for seed := range uint64(200) {
		m, now := traffic(seed, 4, 4, 0)
		q := quality.New(quality.Options{Store: m, Now: func() time.Time { return now }})
		rep, err := q.Report(ctx, "", now.Add(-27*day))
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Alerts) != 0 {
			t.Fatalf("seed %d: stable traffic raised %v", seed, rep.Alerts)
		}
		if len(rep.Rules) != 1 || len(rep.Rules[0].Days) != 28 {
			t.Fatalf("seed %d: rules = %+v, want one with 28 days", seed, rep.Rules)
		}
	}
	for seed := range uint64(20) {
		m, now := traffic(seed, 4, 12, 20)
		q := quality.New(quality.Options{Store: m, Now: func() time.Time { return now }})
		rep, err := q.Report(ctx, "follow_burst", now.Add(-27*day))
		if err != nil {
			t.Fatal(err)
		}
		stepDay := now.Add(-7 * day).Format(time.DateOnly)
		if len(rep.Alerts) == 0 || rep.Alerts[0].Day != stepDay || rep.Alerts[0].Kind != quality.AlertHitRate || rep.Alerts[0].Z < 5 {
			t.Fatalf("seed %d: step on %s raised %v", seed, stepDay, rep.Alerts)
		}
		days := rep.Rules[0].Days
		if !days[20].Alert || days[19].Alert || days[20].Baseline == nil {
			t.Errorf("seed %d: days 19, 20 = %+v, %+v; want the alert on day 20 only", seed, days[19], days[20])
		}
	}
}

// judged gives n accounts first hit on day d, k of them judged violations.
func judged(m *memStore, d time.Time, n, k int, tag string) {
	for i := range n {
		a := fmt.Sprintf("%s%d", tag, i)
		m.accounts = append(m.accounts, sqlstore.HitAccount{Rule: "scam_dm", Version: 1, Mode: warden.ModeEnforce, Actor: a,
			First: warden.MicrosOf(d), Last: warden.MicrosOf(d), Hits: 1})
		action := warden.ActNoViolation
		if i < k {
			action = warden.ActBanAccount
		}
		m.js = append(m.js, sqlstore.AccountJudgement{Account: a, DecidedAt: warden.MicrosOf(d.Add(time.Hour)), Action: action})
	}
}

func TestPrecisionDrift(t *testing.T) {
	now := t0
	for _, tt := range []struct {
		name         string
		recent, base [2]int // judged, violations
		alert        bool
	}{
		{"fell from 90 % to 40 %", [2]int{30, 12}, [2]int{60, 54}, true},
		{"steady at 90 %", [2]int{30, 27}, [2]int{60, 54}, false},
		{"too few judged to tell", [2]int{5, 1}, [2]int{60, 54}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := &memStore{}
			judged(m, now.Add(-2*day), tt.recent[0], tt.recent[1], "r")
			judged(m, now.Add(-20*day), tt.base[0], tt.base[1], "b")
			q := quality.New(quality.Options{Store: m, Now: func() time.Time { return now }})
			rep, err := q.Report(context.Background(), "", now.Add(-30*day))
			if err != nil {
				t.Fatal(err)
			}
			got := len(rep.Alerts) == 1 && rep.Alerts[0].Kind == quality.AlertPrecision
			if got != tt.alert || (!tt.alert && len(rep.Alerts) > 0) {
				t.Errorf("alerts = %+v, want a precision alert: %v", rep.Alerts, tt.alert)
			}
		})
	}
}

// The gauge carries the drift alert of the last two days, once per rule and
// kind, and the count of them, 0 for stable traffic.
func TestDriftGauge(t *testing.T) {
	gauges := func(m *memStore, now time.Time) []string {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(quality.New(quality.Options{Store: m, Now: func() time.Time { return now }}).Collector())
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				s := mf.GetName()
				for _, l := range m.GetLabel() {
					s += " " + l.GetName() + "=" + l.GetValue()
				}
				out = append(out, fmt.Sprintf("%s %g", s, m.GetGauge().GetValue()))
			}
		}
		return out
	}
	if got := gauges(traffic(3, 4, 12, 27)); strings.Join(got, ";") != "warden_rule_drift_alert kind=hit_rate rule=follow_burst 1;warden_rule_drift_alerts 1" {
		t.Errorf("step on the last day: gauges %q", got)
	}
	if got := gauges(traffic(3, 4, 4, 0)); strings.Join(got, ";") != "warden_rule_drift_alerts 0" {
		t.Errorf("stable traffic: gauges %q, want only the count, 0", got)
	}
}
