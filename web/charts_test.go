package web

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden"
)

func TestVerdictChartStacksByActionScaledToTheBusiestMinute(t *testing.T) {
	f := NewFeed(10)
	now := time.Date(2026, 12, 6, 10, 0, 30, 0, time.UTC)
	f.now = func() time.Time { return now }
	add := func(n int, a warden.Action) {
		evs := make([]warden.Event, n)
		vs := make([]warden.Verdict, n)
		for i := range vs {
			vs[i] = warden.Verdict{Action: a}
		}
		f.Add(evs, vs)
	}
	add(30, warden.ActionAllow)
	add(10, warden.ActionBlock)
	now = now.Add(time.Minute)
	add(20, warden.ActionAllow)
	now = now.Add(time.Minute) // both minutes are full now
	c := newVerdictChart(f.Minutes(3))
	if c.Max != 40 || c.Total != 60 || len(c.Bars) != 3 {
		t.Fatalf("chart max %d total %d bars %d", c.Max, c.Total, len(c.Bars))
	}
	busy := c.Bars[1] // the minute with 40
	if len(busy.Segs) != 2 || busy.Segs[0].Action != "allow" || busy.Segs[1].Action != "block" {
		t.Fatalf("segments %+v", busy.Segs)
	}
	if h := busy.Segs[0].H + busy.Segs[1].H; math.Abs(h-chartH) > 1e-9 || math.Abs(busy.Segs[1].H-chartH/4) > 1e-9 {
		t.Fatalf("heights %+v", busy.Segs)
	}
	if !strings.Contains(busy.Title, "40 verdicts, 10 block") {
		t.Fatalf("title %q", busy.Title)
	}
	if c.Bars[2].Segs[0].H != chartH/2 {
		t.Fatalf("20 of 40 should be half height: %+v", c.Bars[2].Segs)
	}
	s := newSparkline([]uint64{0, 5, 10})
	if s.Max != 10 || s.Points != "0.0,19.0 50.0,10.0 100.0,1.0" {
		t.Fatalf("sparkline %+v", s)
	}
}
