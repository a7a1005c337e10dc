package web

import (
	"fmt"
	"strings"
	"time"

	"github.com/wardenhq/warden"
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
