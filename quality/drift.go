package quality

import (
	"fmt"
	"math"

	"github.com/wardenhq/warden/sqlstore"
)

// Drift is how drift alerts are raised.
//
// Hit rate: each day's hits of a rule among the day's events (event time,
// UTC days) are compared with the pooled hits and events of the
// BaselineDays days before it (at least MinBaselineDays of them with
// events) by a two-proportion z-test. The day is an alert when |z| ≥ Z and
// the rate moved by at least the factor Ratio either way (a large volume
// makes a trivial change significant; the ratio keeps the alert about a
// change a person would care about), with at least MinEvents events on the
// day.
//
// Precision: the accounts first hit in the last RecentDays days that
// decisions judged are compared with those first hit in the
// PrecisionBaselineDays before, by the same test: an alert when |z| ≥
// PrecisionZ, the precision moved by at least PrecisionDelta, and each side
// has MinJudged judged accounts.
type Drift struct {
	BaselineDays, MinBaselineDays int
	Z, Ratio                      float64
	MinEvents                     int64

	RecentDays, PrecisionBaselineDays int
	PrecisionZ, PrecisionDelta        float64
	MinJudged                         int
}

// DefaultDrift is the drift test the server runs. The z-test's normal
// approximation understates the upper tail of small hit counts (a rule
// hitting 80 times a day is beyond 4.5 standard errors about twice as
// often as the normal says), hence z = 5, and a factor of 2 keeps a
// high-volume rule's small, significant wobbles quiet.
var DefaultDrift = Drift{
	BaselineDays: 7, MinBaselineDays: 3, Z: 5, Ratio: 2, MinEvents: 200,
	RecentDays: 7, PrecisionBaselineDays: 28, PrecisionZ: 3, PrecisionDelta: 0.1, MinJudged: 10,
}

// Method says in words how alerts are raised.
func (d Drift) Method() string {
	return fmt.Sprintf("Precision and rates carry Wilson 95 %% intervals. A hit-rate alert is a day whose hits per event differ from the "+
		"pooled %d days before it (at least %d with events) by a two-proportion z-test with |z| ≥ %g and by a factor of at least %g either way, "+
		"on a day of at least %d events. A precision alert is the accounts first hit in the last %d days against those of the %d days before, "+
		"by the same test with |z| ≥ %g, a change of at least %g and at least %d judged accounts on each side.",
		d.BaselineDays, d.MinBaselineDays, d.Z, d.Ratio, d.MinEvents, d.RecentDays, d.PrecisionBaselineDays, d.PrecisionZ, d.PrecisionDelta, d.MinJudged)
}

// hitRate lays out one rule's days from first to last (days since the
// epoch) and tests each against its trailing baseline.
func (d Drift) hitRate(rule string, events, hits map[int64]int64, first, last int64) ([]Day, []Alert) {
	days := []Day{}
	var alerts []Alert
	for day := first; day <= last; day++ {
		n, k := events[day], hits[day]
		out := Day{Day: dayName(day), Events: n, Hits: k}
		if n > 0 {
			out.Per1000 = 1000 * float64(k) / float64(n)
		}
		var bn, bk int64
		withEvents := 0
		for b := day - int64(d.BaselineDays); b < day; b++ {
			if events[b] > 0 {
				withEvents++
				bn += events[b]
				bk += hits[b]
			}
		}
		if withEvents >= d.MinBaselineDays && bn > 0 {
			base := 1000 * float64(bk) / float64(bn)
			out.Baseline = &base
			if n > 0 {
				out.Z = twoProportionZ(float64(k), float64(n), float64(bk), float64(bn))
				if n >= d.MinEvents && math.Abs(out.Z) >= d.Z && moved(out.Per1000, base, d.Ratio) {
					out.Alert = true
					alerts = append(alerts, Alert{Rule: rule, Kind: AlertHitRate, Day: out.Day, Value: out.Per1000, Baseline: base, Z: out.Z,
						Message: fmt.Sprintf("%s hit %.2f per 1,000 events on %s against %.2f over the %d days before (z = %.1f)",
							rule, out.Per1000, out.Day, base, d.BaselineDays, out.Z)})
				}
			}
		}
		days = append(days, out)
	}
	return days, alerts
}

// moved reports whether v differs from base by at least the factor ratio.
func moved(v, base, ratio float64) bool {
	if base == 0 {
		return v > 0
	}
	return v >= base*ratio || v <= base/ratio
}

// precision tests the precision of rule's recently first-hit accounts
// against the baseline window before them; today is the current day.
func (d Drift) precision(rule string, accounts []sqlstore.HitAccount, labels map[string]bool, today int64) (Alert, bool) {
	recentFrom := today - int64(d.RecentDays) + 1
	baseFrom := recentFrom - int64(d.PrecisionBaselineDays)
	first := map[string]int64{}
	for _, h := range accounts {
		if h.Rule != rule {
			continue
		}
		if f, ok := first[h.Actor]; !ok || dayOf(h.First) < f {
			first[h.Actor] = dayOf(h.First)
		}
	}
	var rk, rn, bk, bn int
	for a, f := range first {
		l, ok := labels[a]
		if !ok {
			continue
		}
		tp := 0
		if l {
			tp = 1
		}
		switch {
		case f >= recentFrom:
			rk, rn = rk+tp, rn+1
		case f >= baseFrom:
			bk, bn = bk+tp, bn+1
		}
	}
	if rn < d.MinJudged || bn < d.MinJudged {
		return Alert{}, false
	}
	pr, pb := float64(rk)/float64(rn), float64(bk)/float64(bn)
	z := twoProportionZ(float64(rk), float64(rn), float64(bk), float64(bn))
	if math.Abs(z) < d.PrecisionZ || math.Abs(pr-pb) < d.PrecisionDelta {
		return Alert{}, false
	}
	return Alert{Rule: rule, Kind: AlertPrecision, Day: dayName(today), Value: pr, Baseline: pb, Z: z,
		Message: fmt.Sprintf("%s's precision is %.0f %% on the %d accounts first hit in the last %d days against %.0f %% on the %d before (z = %.1f)",
			rule, 100*pr, rn, d.RecentDays, 100*pb, bn, z)}, true
}
