package web

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/insights"
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

// TestIntervalChart: each estimate is a dot at its value and an error bar
// from its low to its high end on a 0–100 % scale, one slot per series in
// each group; a significant change is flagged ▲ or ▼ and said in words,
// an insignificant one only said.
func TestIntervalChart(t *testing.T) {
	up := insights.Compare(insights.Estimate{Value: 0.6, SE: 0.02}, insights.Estimate{Value: 0.4, SE: 0.02})
	flat := insights.Compare(insights.Estimate{Value: 0.41, SE: 0.05}, insights.Estimate{Value: 0.4, SE: 0.05})
	down := insights.Compare(insights.Estimate{Value: 0.2, SE: 0.02}, insights.Estimate{Value: 0.4, SE: 0.02})
	c := newIntervalChart("t", []string{"w1", "w2"}, []intervalGroupIn{
		{Label: "JP", Points: []intervalIn{
			{Series: 0, Est: insights.Estimate{Value: 0.4, Low: 0.3, High: 0.5}, N: 100, Label: "JP, w1"},
			{Series: 1, Est: insights.Estimate{Value: 0.6, Low: 0.55, High: 0.65}, N: 90, Change: &up, Label: "JP, w2"},
		}},
		{Label: "ID", Points: []intervalIn{
			{Series: 1, Est: insights.Estimate{Value: 0.41, Low: 0.31, High: 0.51}, N: 80, Change: &flat, Label: "ID, w2"},
			{Series: 9, Est: insights.Estimate{Value: 0.2, Low: -0.1, High: 1.2}, N: 80, Change: &down, Label: "ID, w3"},
		}},
	})
	if !up.Significant || flat.Significant || !down.Significant {
		t.Fatalf("test changes: %+v %+v %+v", up, flat, down)
	}
	if len(c.Groups) != 2 || len(c.Legend) != 2 || len(c.Ticks) != 5 || c.Ticks[0].Label != "0%" || c.Ticks[4].Y != intervalTop {
		t.Fatalf("chart %+v", c)
	}
	p := c.Groups[0].Points[1]
	plot := intervalBottom - intervalTop
	if math.Abs(p.Y-(intervalBottom-0.6*plot)) > 1e-9 || math.Abs(p.YLow-(intervalBottom-0.55*plot)) > 1e-9 || math.Abs(p.YHigh-(intervalBottom-0.65*plot)) > 1e-9 {
		t.Errorf("JP w2 at y %v from %v to %v", p.Y, p.YLow, p.YHigh)
	}
	if p.Flag != "▲" || p.Class != "series-1" || !strings.Contains(p.Title, "JP, w2: 60.0% (95% interval 55.0% to 65.0%), n 90; change +20.0 points, significant") {
		t.Errorf("JP w2: %q %q %q", p.Flag, p.Class, p.Title)
	}
	if q := c.Groups[1].Points[0]; q.Flag != "" || !strings.Contains(q.Title, "not significant") {
		t.Errorf("ID w2: %q %q", q.Flag, q.Title)
	}
	// Out-of-range ends are clipped to the plot; series past the palette
	// reuse its colours.
	if q := c.Groups[1].Points[1]; q.Flag != "▼" || q.YLow != intervalBottom || q.YHigh != intervalTop || q.Class != "series-1" {
		t.Errorf("ID w3: %+v", q)
	}
	if c.Groups[1].Points[0].X-c.Groups[0].Points[1].X != intervalSlot+intervalGap || c.Groups[0].LabelX != c.Groups[0].Points[0].X+intervalSlot/2 {
		t.Errorf("slots: %+v", c.Groups)
	}
	if !strings.Contains(c.Desc, "JP, w1: 40.0%") || !strings.Contains(c.Desc, "ID, w3: 20.0%") {
		t.Errorf("desc %q", c.Desc)
	}
}

// TestShareChart: a bar per driver as long as its share, with a whisker
// over its bootstrap interval when there is one.
func TestShareChart(t *testing.T) {
	c := newShareChart("s", []string{"privacy", "safety"}, []shareGroupIn{
		{Label: "JP", Shares: []float64{0.75, 0.25}, Intervals: [][2]float64{{0.6, 0.9}, {0.1, 0.4}}},
		{Label: "ID", Shares: []float64{0.5, 0.5}},
	})
	jp := c.Groups[0].Bars
	if jp[0].W != 0.75*shareBarsW || !jp[0].HasInterval || jp[0].WhiskerL != shareLabelW+0.6*shareBarsW || jp[0].WhiskerR != shareLabelW+0.9*shareBarsW ||
		jp[0].Title != "JP: privacy 75.0% of R² (bootstrap 95% interval 60.0% to 90.0%)" || jp[0].Text != "75.0%" {
		t.Errorf("JP privacy: %+v", jp[0])
	}
	id := c.Groups[1].Bars
	if id[1].W != 0.5*shareBarsW || id[1].HasInterval || id[1].Title != "ID: safety 50.0% of R²" || id[1].Y != 2*shareBarH+shareGap+shareBarH {
		t.Errorf("ID safety: %+v", id[1])
	}
	if c.H != 4*shareBarH+2*shareGap || len(c.Legend) != 2 {
		t.Errorf("chart height %v legend %v", c.H, c.Legend)
	}
}

// TestMeanAxis: a mean chart spans its answer scale, a grid line per
// point, and writes values and changes on it.
func TestMeanAxis(t *testing.T) {
	ch := insights.Compare(insights.Estimate{Value: 3.5, SE: 0.05}, insights.Estimate{Value: 3.1, SE: 0.05})
	c := newAxisChart("m", meanAxis(1, 5), []string{"w"}, []intervalGroupIn{{Label: "JP", Points: []intervalIn{
		{Est: insights.Estimate{Value: 3.5, Low: 3.4, High: 3.6}, N: 50, Change: &ch, Label: "JP, w"}}}})
	if len(c.Ticks) != 5 || c.Ticks[0].Label != "1" || c.Ticks[0].Y != intervalBottom || c.Ticks[4].Label != "5" || c.Ticks[4].Y != intervalTop {
		t.Fatalf("ticks %+v", c.Ticks)
	}
	p := c.Groups[0].Points[0]
	if math.Abs(p.Y-(intervalBottom-0.625*(intervalBottom-intervalTop))) > 1e-9 || p.Flag != "▲" ||
		!strings.HasPrefix(p.Title, "JP, w: 3.50 (95% interval 3.40 to 3.60), n 50; change +0.40, significant") {
		t.Errorf("point %+v", p)
	}
}
