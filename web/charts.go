package web

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/insights"
	"github.com/wardenhq/warden/mfa"
	"github.com/wardenhq/warden/quality"
)

// Charts are drawn on the server as inline SVG: no script, no CDN, and the
// Content-Security-Policy stays strict. Geometry is computed here; the
// templates only place the shapes. Every chart also carries its numbers in
// words (title elements and a table caption), never colour alone.

// chartW and chartH are the verdict chart's viewBox.
const chartW, chartH = 300.0, 100.0

// verdictChart is verdicts per minute, stacked by action.
type verdictChart struct {
	Bars     []chartBar
	Max      uint64
	From, To time.Time
	Total    uint64
}

type chartBar struct {
	X, W  float64
	Segs  []chartSeg
	Title string // "04:51: 212 verdicts, 3 block …"
}

type chartSeg struct {
	X, W, Y, H float64
	Action     string
}

// newVerdictChart lays out ms (oldest first) as stacked bars scaled to the
// busiest minute.
func newVerdictChart(ms []MinuteCount) verdictChart {
	c := verdictChart{}
	if len(ms) == 0 {
		return c
	}
	c.From, c.To = ms[0].Minute, ms[len(ms)-1].Minute.Add(time.Minute)
	for _, m := range ms {
		c.Max = max(c.Max, m.Total)
		c.Total += m.Total
	}
	w := chartW / float64(len(ms))
	for i, m := range ms {
		b := chartBar{X: float64(i) * w, W: w * 0.85}
		words := []string{fmt.Sprintf("%s: %d verdicts", m.Minute.Format("15:04"), m.Total)}
		y := chartH
		// Most severe on top, so block and review stand out at the bar's end.
		for _, a := range warden.Actions {
			n := m.ByAction[a]
			if n == 0 || c.Max == 0 {
				continue
			}
			h := chartH * float64(n) / float64(c.Max)
			y -= h
			b.Segs = append(b.Segs, chartSeg{X: b.X, W: b.W, Y: y, H: h, Action: a.String()})
			if a != warden.ActionAllow {
				words = append(words, fmt.Sprintf("%d %s", n, a))
			}
		}
		b.Title = strings.Join(words, ", ")
		c.Bars = append(c.Bars, b)
	}
	return c
}

// sparkline is a rule's hits per minute as an SVG polyline in a 100×20 box.
type sparkline struct {
	Points string
	Max    uint64
	Title  string
}

func newSparkline(vals []uint64) sparkline {
	s := sparkline{}
	for _, v := range vals {
		s.Max = max(s.Max, v)
	}
	if len(vals) < 2 {
		return s
	}
	var pts []string
	for i, v := range vals {
		y := 19.0
		if s.Max > 0 {
			y = 19 - 18*float64(v)/float64(s.Max)
		}
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", 100*float64(i)/float64(len(vals)-1), y))
	}
	s.Points = strings.Join(pts, " ")
	s.Title = fmt.Sprintf("hits per minute over the last %d minutes, at most %d", len(vals), s.Max)
	return s
}

// funnelChart is the two-factor education funnel of one breakdown (by
// region, by prompt variant or by week) as grouped horizontal bars: for each
// group its four stages, shown → opened → started → confirmed, scaled to the
// largest count of the chart, each bar titled with its count and its share
// of the group's prompts shown.
type funnelChart struct {
	Title  string
	W, H   float64 // viewBox
	Groups []funnelGroup
}

type funnelGroup struct {
	Label  string
	LabelY float64
	Bars   []funnelBar
}

type funnelBar struct {
	Stage      string
	N          int64
	X, Y, W, H float64
	TextX      float64 // where the count is written, after the bar
	Title      string  // "JP: 412 opened, 38% of shown"
}

// Funnel chart geometry: a label column, then bars up to funnelBarsW.
const (
	funnelLabelW = 110.0
	funnelBarsW  = 230.0
	funnelBarH   = 9.0
	funnelGap    = 10.0
)

// funnelGroupIn is one group's counts, to chart.
type funnelGroupIn struct {
	Label  string
	Counts mfa.Counts
}

// newFunnelChart lays out groups (in their order).
func newFunnelChart(title string, groups []funnelGroupIn) funnelChart {
	c := funnelChart{Title: title, W: funnelLabelW + funnelBarsW + 60}
	var most int64
	for _, g := range groups {
		for _, s := range mfa.Stages {
			most = max(most, g.Counts.Of(s))
		}
	}
	y := 0.0
	for _, g := range groups {
		fg := funnelGroup{Label: g.Label, LabelY: y + 2*funnelBarH}
		shown := g.Counts.Shown
		for _, s := range mfa.Stages {
			n := g.Counts.Of(s)
			w := 0.0
			if most > 0 {
				w = funnelBarsW * float64(n) / float64(most)
			}
			title := fmt.Sprintf("%s: %d %s", g.Label, n, s)
			if s != mfa.StageShown && shown > 0 {
				title += fmt.Sprintf(", %.0f%% of shown", 100*float64(n)/float64(shown))
			}
			fg.Bars = append(fg.Bars, funnelBar{Stage: s, N: n, X: funnelLabelW, Y: y, W: w, H: funnelBarH - 1, TextX: funnelLabelW + w + 3, Title: title})
			y += funnelBarH
		}
		y += funnelGap
		c.Groups = append(c.Groups, fg)
	}
	c.H = max(y, 1)
	return c
}

// Trust charts (console insights pages): estimates with their 95 %
// intervals as a dot and an error bar, on a 0–100 % scale, grouped (by
// region, or by region and level), one series per wave or level; and
// key-driver shares as horizontal bars with their bootstrap intervals.

// seriesClasses is how many series colours console.css defines
// (.series-0 … .series-7); more series reuse them in order.
const seriesClasses = 8

// Interval chart geometry: a y-axis column, then per group one slot per
// point and a gap, a plot from intervalTop to intervalBottom, the group
// labels under it.
const (
	intervalAxisW  = 34.0
	intervalSlot   = 12.0
	intervalGap    = 16.0
	intervalTop    = 14.0
	intervalBottom = 124.0
	intervalH      = 142.0
)

// intervalChart is estimates with intervals, grouped.
type intervalChart struct {
	Title  string
	W, H   float64
	Ticks  []chartTick
	Groups []intervalGroup
	Legend []chartLegend
	Desc   string // the chart in words, for the svg's <desc>
}

// Kind names the chart's kind for the template (class ci-chart).
func (intervalChart) Kind() string { return "ci" }

// chartScale is the trust charts' CSS pixels per viewBox unit, so that a
// chart of one region is as legible as one of seven, not stretched.
const chartScale = 2.4

// PixelW and PixelH are the chart's size on the page.
func (c intervalChart) PixelW() float64 { return c.W * chartScale }
func (c intervalChart) PixelH() float64 { return c.H * chartScale }

type chartTick struct {
	Y      float64
	X1, X2 float64 // the grid line's ends
	Label  string
}

type chartLegend struct {
	Label, Class string
}

type intervalGroup struct {
	Label          string
	LabelX, LabelY float64
	Points         []intervalPoint
}

type intervalPoint struct {
	Class         string
	X, Y          float64
	YLow, YHigh   float64 // the error bar's ends
	CapL, CapR    float64 // the caps' ends
	Flag          string  // "▲" or "▼" for a significant change, else ""
	FlagY         float64
	Title         string // the point in words
	Value, Lo, Hi float64
}

// intervalIn is one estimate to chart.
type intervalIn struct {
	Series int // index into the chart's series
	Est    insights.Estimate
	N      int
	// Change is from the point before in the same series order (nil:
	// none); a significant one is flagged.
	Change *insights.Change
	Label  string // "JP, 2026-Q3": the start of the title
}

// intervalGroupIn is one group's estimates, in series order.
type intervalGroupIn struct {
	Label  string
	Points []intervalIn
}

// chartAxis is an interval chart's value axis: the range it spans, its
// grid lines, and how values and changes are written.
type chartAxis struct {
	Min, Max float64
	Ticks    []float64
	Tick     func(float64) string // a grid line's label: "25%", "3"
	Value    func(float64) string // "41.3%", "3.12"
	Change   func(float64) string // "+2.0 points", "+0.12"
}

// shareAxis is 0–100 % for top-box shares.
var shareAxis = chartAxis{Min: 0, Max: 1, Ticks: []float64{0, 0.25, 0.5, 0.75, 1}, Value: pct,
	Tick:   func(v float64) string { return strconv.Itoa(int(100*v)) + "%" },
	Change: func(d float64) string { return fmt.Sprintf("%+.1f points", 100*d) }}

// meanAxis spans an answer scale from lo to hi, a grid line per point.
func meanAxis(lo, hi int) chartAxis {
	a := chartAxis{Min: float64(lo), Max: float64(hi),
		Tick:   func(v float64) string { return strconv.Itoa(int(v)) },
		Value:  func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) },
		Change: func(d float64) string { return fmt.Sprintf("%+.2f", d) }}
	for v := lo; v <= hi; v++ {
		a.Ticks = append(a.Ticks, float64(v))
	}
	return a
}

// y maps v to the plot's y, clipped to the axis.
func (a chartAxis) y(v float64) float64 {
	v = math.Max(a.Min, math.Min(a.Max, v))
	return intervalBottom - (v-a.Min)/(a.Max-a.Min)*(intervalBottom-intervalTop)
}

// shareY maps a share in [0, 1] to the plot's y.
func shareY(v float64) float64 { return shareAxis.y(v) }

// pct writes a share as a percentage with one decimal.
func pct(v float64) string { return strconv.FormatFloat(100*v, 'f', 1, 64) + "%" }

// newIntervalChart lays out groups (in their order) on the 0–100 % axis
// with series named by series; each point is titled with its estimate,
// interval, n and change.
func newIntervalChart(title string, series []string, groups []intervalGroupIn) intervalChart {
	return newAxisChart(title, shareAxis, series, groups)
}

// newAxisChart is newIntervalChart on the value axis ax.
func newAxisChart(title string, ax chartAxis, series []string, groups []intervalGroupIn) intervalChart {
	c := intervalChart{Title: title, H: intervalH}
	for i, s := range series {
		c.Legend = append(c.Legend, chartLegend{Label: s, Class: fmt.Sprintf("series-%d", i%seriesClasses)})
	}
	x := intervalAxisW + intervalGap/2
	var words []string
	for _, g := range groups {
		ig := intervalGroup{Label: g.Label, LabelY: intervalBottom + 12}
		start := x
		for _, p := range g.Points {
			cx := x + intervalSlot/2
			ip := intervalPoint{Class: fmt.Sprintf("series-%d", p.Series%seriesClasses), X: cx, Y: ax.y(p.Est.Value),
				YLow: ax.y(p.Est.Low), YHigh: ax.y(p.Est.High), CapL: cx - 3, CapR: cx + 3,
				Value: p.Est.Value, Lo: p.Est.Low, Hi: p.Est.High}
			t := fmt.Sprintf("%s: %s (95%% interval %s to %s), n %d", p.Label, ax.Value(p.Est.Value), ax.Value(p.Est.Low), ax.Value(p.Est.High), p.N)
			if ch := p.Change; ch != nil {
				t += "; change " + ax.Change(ch.Diff)
				if ch.Significant {
					ip.Flag, ip.FlagY = "▲", ip.YHigh-3
					if ch.Diff < 0 {
						ip.Flag = "▼"
					}
					t += fmt.Sprintf(", significant (p = %.3f)", ch.P)
				} else {
					t += fmt.Sprintf(", not significant (p = %.3f)", ch.P)
				}
			}
			ip.Title = t
			words = append(words, t)
			ig.Points = append(ig.Points, ip)
			x += intervalSlot
		}
		ig.LabelX = (start + x) / 2
		x += intervalGap
		c.Groups = append(c.Groups, ig)
	}
	c.W = math.Max(x, intervalAxisW+100)
	for _, v := range ax.Ticks {
		c.Ticks = append(c.Ticks, chartTick{Y: ax.y(v), X1: intervalAxisW, X2: c.W, Label: ax.Tick(v)})
	}
	c.Desc = strings.Join(words, ". ")
	return c
}

// Share chart geometry: a label column, bars up to shareBarsW for a share
// of 1, a bar per driver.
const (
	shareLabelW = 96.0
	shareBarsW  = 200.0
	shareBarH   = 9.0
	shareGap    = 8.0
)

// shareChart is key-driver shares, a group of bars per region.
type shareChart struct {
	Title  string
	W, H   float64
	Groups []shareGroup
	Legend []chartLegend
	Desc   string
}

// Kind names the chart's kind for the template (class share-chart).
func (shareChart) Kind() string { return "share" }

// PixelW and PixelH are the chart's size on the page.
func (c shareChart) PixelW() float64 { return c.W * chartScale }
func (c shareChart) PixelH() float64 { return c.H * chartScale }

type shareGroup struct {
	Label  string
	LabelY float64
	Bars   []shareBar
}

type shareBar struct {
	Class       string
	Name        string
	X, Y, W, H  float64
	WhiskerL    float64 // the interval's ends on x (0, 0: no interval)
	WhiskerR    float64
	WhiskerY    float64
	TextX       float64
	Text        string // the share, written after the bar
	Title       string
	Value       float64
	HasInterval bool
}

// shareGroupIn is one region's driver shares, in the order of the chart's
// names; intervals nil when the report has none.
type shareGroupIn struct {
	Label     string
	Shares    []float64
	Intervals [][2]float64
}

// newShareChart lays out the groups' shares of the drivers names.
func newShareChart(title string, names []string, groups []shareGroupIn) shareChart {
	c := shareChart{Title: title, W: shareLabelW + shareBarsW + 40}
	for i, n := range names {
		c.Legend = append(c.Legend, chartLegend{Label: n, Class: fmt.Sprintf("series-%d", i%seriesClasses)})
	}
	y := 0.0
	var words []string
	for _, g := range groups {
		sg := shareGroup{Label: g.Label, LabelY: y + shareBarH}
		for j, v := range g.Shares {
			b := shareBar{Class: fmt.Sprintf("series-%d", j%seriesClasses), Name: names[j], X: shareLabelW, Y: y, H: shareBarH - 2,
				W: shareBarsW * math.Max(0, math.Min(1, v)), Value: v, Text: pct(v)}
			b.Title = fmt.Sprintf("%s: %s %s of R²", g.Label, names[j], pct(v))
			b.TextX = b.X + b.W + 3
			if g.Intervals != nil && !math.IsNaN(g.Intervals[j][0]) {
				lo, hi := g.Intervals[j][0], g.Intervals[j][1]
				b.HasInterval = true
				b.WhiskerL, b.WhiskerR, b.WhiskerY = shareLabelW+shareBarsW*math.Max(0, lo), shareLabelW+shareBarsW*math.Min(1, hi), y+(shareBarH-2)/2
				b.TextX = math.Max(b.TextX, b.WhiskerR+3)
				b.Title += fmt.Sprintf(" (bootstrap 95%% interval %s to %s)", pct(lo), pct(hi))
			}
			words = append(words, b.Title)
			sg.Bars = append(sg.Bars, b)
			y += shareBarH
		}
		y += shareGap
		c.Groups = append(c.Groups, sg)
	}
	c.H = max(y, 1)
	c.Desc = strings.Join(words, ". ")
	return c
}

// precisionChart is each rule version's precision as a dot on a 0–100 %
// axis with its Wilson 95 % interval as a whisker, one row per version and
// per mode group (acted on, hold-out, shadow) when a version has more
// than one, each titled with its numbers.
type precisionChart struct {
	W, H          float64
	TickY, LabelY float64 // where the axis' ticks end and their labels sit
	AxisX         []precisionTick
	Rows          []precisionRow
}

type precisionTick struct {
	X     float64
	Label string
}

type precisionRow struct {
	Label        string
	Mid          float64 // the row's middle
	Known        bool
	X, Low, High float64
	TextX        float64
	Count, Title string
	Group        bool // a mode group's row under its version's
	Mode         string
}

// Precision chart geometry: a label column, then the 0–100 % axis.
const (
	precLabelW = 120.0
	precAxisW  = 200.0
	precRowH   = 14.0
)

// precisionIn is one row to chart.
type precisionIn struct {
	Label, Mode string
	Group       bool
	P           quality.Interval
}

func newPrecisionChart(rows []precisionIn) precisionChart {
	c := precisionChart{W: precLabelW + precAxisW + 50, H: float64(len(rows))*precRowH + 14}
	c.TickY, c.LabelY = c.H-12, c.H-2
	for _, p := range []float64{0, .25, .5, .75, 1} {
		c.AxisX = append(c.AxisX, precisionTick{X: precLabelW + precAxisW*p, Label: fmt.Sprintf("%.0f %%", 100*p)})
	}
	for i, r := range rows {
		row := precisionRow{Label: r.Label, Mid: float64(i)*precRowH + precRowH/2, Known: r.P.Known, Group: r.Group, Mode: r.Mode,
			TextX: precLabelW + precAxisW + 4}
		if r.P.Known {
			at := func(p float64) float64 { return math.Round(10*(precLabelW+precAxisW*p)) / 10 }
			row.X, row.Low, row.High = at(r.P.Value), at(r.P.Low), at(r.P.High)
			row.Count = fmt.Sprintf("%d/%d", r.P.K, r.P.N)
			row.Title = fmt.Sprintf("%s: precision %.0f %% (95 %% interval %.0f–%.0f %%), %d of %d judged accounts violated",
				r.Label, 100*r.P.Value, 100*r.P.Low, 100*r.P.High, r.P.K, r.P.N)
		} else {
			row.Count = "n = 0"
			row.Title = r.Label + ": no judged account yet"
		}
		c.Rows = append(c.Rows, row)
	}
	return c
}

// rateChart is a rule's hits per 1,000 events per day as a line, its
// trailing baseline dashed, and its drift alerts as marked points.
type rateChart struct {
	Points, Baseline string
	Alerts           []ratePoint
	Dots             []ratePoint
	Max              float64
	From, To         string
}

type ratePoint struct {
	X, Y  float64
	Title string
}

func newRateChart(days []quality.Day) rateChart {
	c := rateChart{}
	if len(days) == 0 {
		return c
	}
	c.From, c.To = days[0].Day, days[len(days)-1].Day
	for _, d := range days {
		c.Max = max(c.Max, d.Per1000)
		if d.Baseline != nil {
			c.Max = max(c.Max, *d.Baseline)
		}
	}
	scale := func(v float64) float64 {
		if c.Max == 0 {
			return chartH - 2
		}
		return chartH - 2 - (chartH-6)*v/c.Max
	}
	step := chartW / float64(max(len(days)-1, 1))
	var line, base []string
	for i, d := range days {
		x, y := float64(i)*step, scale(d.Per1000)
		line = append(line, fmt.Sprintf("%.1f,%.1f", x, y))
		title := fmt.Sprintf("%s: %.2f hits per 1,000 events (%d of %d)", d.Day, d.Per1000, d.Hits, d.Events)
		if d.Baseline != nil {
			base = append(base, fmt.Sprintf("%.1f,%.1f", x, scale(*d.Baseline)))
			title += fmt.Sprintf(", baseline %.2f, z = %.1f", *d.Baseline, d.Z)
		}
		p := ratePoint{X: x, Y: y, Title: title}
		if d.Alert {
			p.Title = "drift alert: " + title
			c.Alerts = append(c.Alerts, p)
		} else {
			c.Dots = append(c.Dots, p)
		}
	}
	c.Points, c.Baseline = strings.Join(line, " "), strings.Join(base, " ")
	return c
}
