package web

import (
	"context"
	"testing"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/insights"
	"github.com/wardenhq/warden/survey"
)

// countingReporter records the reports asked of it.
type countingReporter struct {
	asked []insights.DriverOptions
	err   error
}

func (r *countingReporter) Report(_ context.Context, wave, region string, opt insights.DriverOptions) (*survey.TrustReport, error) {
	r.asked = append(r.asked, opt)
	return &survey.TrustReport{}, r.err
}

func (r *countingReporter) Wave(context.Context, string) (*survey.Wave, error) { return nil, nil }

// TestWarmInsightsAsksThePagesReport: computing ahead asks the reporter
// for the latest wave with the page's own driver options (so the page
// finds it kept); without insights, or with no wave yet, it is a no-op.
func TestWarmInsightsAsksThePagesReport(t *testing.T) {
	var none *Console
	none.WarmInsights(context.Background()) // no console: nothing
	tc := newTestConsole(t, Options{})
	tc.WarmInsights(context.Background()) // no insights mounted: nothing
	rp := &countingReporter{}
	tc.MountInsights(rp)
	tc.WarmInsights(context.Background())
	if len(rp.asked) != 1 || rp.asked[0] != insightsDrivers {
		t.Fatalf("asked %+v, want one report with the page's options %+v", rp.asked, insightsDrivers)
	}
	rp.err = warden.Errorf(warden.ENOTFOUND, "no survey wave is imported yet")
	tc.WarmInsights(context.Background())
	if len(rp.asked) != 2 {
		t.Fatalf("asked %d reports", len(rp.asked))
	}
}
