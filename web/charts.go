package web

import (
	"fmt"
	"strings"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/mfa"
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
