package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/insights"
	"github.com/wardenhq/warden/survey"
)

// TrustReporter is what the insights pages read: trust reports (as
// GET /v1/insights/trust computes them) and the stored waves.
type TrustReporter interface {
	Report(ctx context.Context, wave, region string, opt insights.DriverOptions) (*survey.TrustReport, error)
	Wave(ctx context.Context, name string) (*survey.Wave, error)
}

// insightsDrivers are the key-driver options of the console's figures:
// the trust call's (seed 1) with bootstrap intervals of each driver's
// share.
var insightsDrivers = insights.DriverOptions{Seed: 1, Bootstrap: 200}

// MountInsights registers the console's trust pages (admins, as the trust
// call): /insights, the trust index by region and wave with its intervals
// and significant changes, the key drivers per region and trust by
// platform experience, as SVG charts with tables; /insights/trust.csv,
// the same figures as CSV; /insights/report, a printable report of a wave.
func (c *Console) MountInsights(rp TrustReporter) {
	c.trust = rp
	admin := []string{warden.RoleAdmin}
	c.Page("GET /insights", admin, func(w http.ResponseWriter, r *http.Request, _ *warden.User) error {
		v, err := trustView(r.Context(), rp, r.URL.Query().Get("wave"), r.URL.Query().Get("region"), time.Now())
		if err != nil {
			return err
		}
		return c.Render(w, r, "insights.html", v)
	})
	c.Page("GET /insights/trust.csv", admin, func(w http.ResponseWriter, r *http.Request, _ *warden.User) error {
		v, err := trustView(r.Context(), rp, r.URL.Query().Get("wave"), r.URL.Query().Get("region"), time.Now())
		if err != nil {
			return err
		}
		return writeTrustCSV(w, v)
	})
	c.Page("GET /insights/report", admin, func(w http.ResponseWriter, r *http.Request, _ *warden.User) error {
		v, err := trustView(r.Context(), rp, r.URL.Query().Get("wave"), "", time.Now())
		if err != nil {
			return err
		}
		return c.Fragment(w, r, "insights_report.html", "report", v)
	})
	c.Nav("Trust", "/insights", warden.RoleAdmin)
}

// trustPage is the data of the insights pages and of the CSV export.
type trustPage struct {
	Report    *survey.TrustReport
	Region    string   // the region asked for; "" for all
	Regions   []string // every region of the wave
	Generated time.Time
	CSV       string // the export of the figures shown

	TrendChart intervalChart // top-2-box shares
	MeanChart  intervalChart // means, on the trust item's scale
	Trend      []trendRow

	DriverNames  []string
	DriverLabels map[string]string // English item labels, where the codebook has them
	DriversChart shareChart
	Drivers      []driverRow
	Bootstrap    int // replicates of the driver intervals; 0: none

	Splits []splitView
}

// trendRow is one region in one wave.
type trendRow struct {
	Wave, Region string
	Current      bool // the wave the page is about
	N            int
	TopBox, Mean insights.Estimate
	// TopChange and MeanChange are from the wave before, nil in the first
	// wave or when it lacks the region.
	TopChange, MeanChange *insights.Change
}

// driverRow is one region's key drivers of trust.
type driverRow struct {
	Region  string
	N       int
	R2      float64
	Error   string // why there are none
	Drivers []driverShare
}

type driverShare struct {
	Name, Label  string
	Share        float64
	Interval     *[2]float64
	LMG, Johnson float64
}

// splitView is trust split by one kind of platform experience or one
// categorical column.
type splitView struct {
	Group, Title string
	Levels       []string
	Chart        intervalChart
	Rows         []splitRow
	// Diffs are, for a yes/no split, each region's top-2 share of "yes"
	// minus that of "no", tested as two independent samples.
	Diffs []splitDiff
}

type splitDiff struct {
	Region    string
	N         int // respondents in both groups
	Low, High float64
	insights.Change
}

type splitRow struct {
	Region, Level string
	insights.TrustIndex
}

// splitTitles names the platform-experience groups of the trust report.
var splitTitles = map[string]string{
	survey.GroupExposed:      "Exposed to an account later actioned",
	survey.GroupReported:     "Made a report",
	survey.GroupReportResult: "Outcome of their reports",
}

// splitLevels orders the levels of the platform-experience groups.
var splitLevels = map[string][]string{
	survey.GroupExposed:      {"yes", "no"},
	survey.GroupReported:     {"yes", "no"},
	survey.GroupReportResult: {"actioned", "not_actioned", "pending"},
}

// trustView computes the report of wave ("" the latest) and region ("" all)
// and lays out its charts and tables.
func trustView(ctx context.Context, rp TrustReporter, wave, region string, now time.Time) (*trustPage, error) {
	rep, err := rp.Report(ctx, wave, region, insightsDrivers)
	if err != nil {
		return nil, err
	}
	w, err := rp.Wave(ctx, rep.Wave)
	if err != nil {
		return nil, err
	}
	v := &trustPage{Report: rep, Regions: w.Regions(), Generated: now.UTC(), DriverLabels: map[string]string{}}
	q := url.Values{"wave": {rep.Wave}}
	if region != "" && len(rep.Regions) == 1 {
		v.Region = rep.Regions[0].Region // UK is shown as GB
		q.Set("region", v.Region)
	}
	v.CSV = "/insights/trust.csv?" + q.Encode()
	_, scale, _ := w.Codebook.Item(w.Codebook.Trust)
	v.trend(scale)
	v.drivers(w.Codebook)
	v.splits(w.Codebook)
	return v, nil
}

// trend lays out every wave's index per region, with the change from the
// wave before (as the report computes the current wave's: insights.Compare);
// scale is the trust item's.
func (v *trustPage) trend(scale survey.Scale) {
	rep := v.Report
	at := map[[2]string]survey.TrendPoint{}
	var regions []string
	for _, p := range rep.Trend {
		at[[2]string{p.Wave, p.Region}] = p
		if !slices.Contains(regions, p.Region) {
			regions = append(regions, p.Region)
		}
	}
	slices.Sort(regions)
	var groups, means []intervalGroupIn
	for _, reg := range regions {
		g, m := intervalGroupIn{Label: reg}, intervalGroupIn{Label: reg}
		for i, wv := range rep.Waves {
			p, ok := at[[2]string{wv, reg}]
			if !ok {
				continue
			}
			row := trendRow{Wave: wv, Region: reg, Current: wv == rep.Wave, N: p.N, TopBox: p.TopBox, Mean: p.Mean}
			if i > 0 {
				if b, ok := at[[2]string{rep.Waves[i-1], reg}]; ok {
					tc, mc := insights.Compare(p.TopBox, b.TopBox), insights.Compare(p.Mean, b.Mean)
					row.TopChange, row.MeanChange = &tc, &mc
				}
			}
			v.Trend = append(v.Trend, row)
			g.Points = append(g.Points, intervalIn{Series: i, Est: p.TopBox, N: p.N, Change: row.TopChange, Label: reg + ", " + wv})
			m.Points = append(m.Points, intervalIn{Series: i, Est: p.Mean, N: p.N, Change: row.MeanChange, Label: reg + ", " + wv})
		}
		groups, means = append(groups, g), append(means, m)
	}
	v.TrendChart = newIntervalChart("Top-2-box trust by region and wave", rep.Waves, groups)
	v.MeanChart = newAxisChart("Mean trust by region and wave", meanAxis(scale.Min, scale.Max), rep.Waves, means)
}

// drivers lays out each region's driver shares.
func (v *trustPage) drivers(cb *survey.Codebook) {
	var groups []shareGroupIn
	for _, rt := range v.Report.Regions {
		row := driverRow{Region: rt.Region, Error: rt.DriversError}
		if d := rt.Drivers; d != nil {
			if v.DriverNames == nil {
				v.DriverNames = d.Names
			}
			row.N, row.R2 = d.N, d.R2
			g := shareGroupIn{Label: rt.Region, Shares: d.LMGRela}
			if d.Intervals != nil {
				g.Intervals = d.Intervals.LMGRela
				v.Bootstrap = d.Intervals.Replicates
			}
			for j, n := range d.Names {
				s := driverShare{Name: n, Share: d.LMGRela[j], LMG: d.LMG[j], Johnson: d.Johnson[j]}
				if g.Intervals != nil {
					s.Interval = &g.Intervals[j]
				}
				row.Drivers = append(row.Drivers, s)
			}
			groups = append(groups, g)
		}
		v.Drivers = append(v.Drivers, row)
	}
	for _, n := range v.DriverNames {
		if it, _, ok := cb.Item(n); ok && it.Labels["en"] != "" {
			v.DriverLabels[n] = it.Labels["en"]
		}
	}
	for i := range v.Drivers {
		for j := range v.Drivers[i].Drivers {
			v.Drivers[i].Drivers[j].Label = v.DriverLabels[v.Drivers[i].Drivers[j].Name]
		}
	}
	v.DriversChart = newShareChart("Share of explained variance (lmg) by driver", v.DriverNames, groups)
}

// splits lays out trust by platform experience, then by each categorical
// column of the codebook, in the codebook's order and levels.
func (v *trustPage) splits(cb *survey.Codebook) {
	groups := []string{survey.GroupExposed, survey.GroupReported, survey.GroupReportResult}
	levels := map[string][]string{}
	titles := map[string]string{}
	for _, g := range groups {
		levels[g], titles[g] = splitLevels[g], splitTitles[g]
	}
	for _, col := range cb.Columns {
		if _, ok := levels[col.Name]; ok {
			continue
		}
		groups = append(groups, col.Name)
		levels[col.Name], titles[col.Name] = col.Levels, col.Name
	}
	for _, g := range groups {
		sv := splitView{Group: g, Title: titles[g]}
		var chart []intervalGroupIn
		seen := map[string]bool{}
		for _, rt := range v.Report.Regions {
			byLevel := rt.ByExperience[g]
			if len(byLevel) == 0 {
				continue
			}
			if yes, ok := byLevel["yes"]; ok {
				if no, ok := byLevel["no"]; ok {
					d := splitDiff{Region: rt.Region, N: yes.N + no.N, Change: insights.Compare(yes.TopBox, no.TopBox)}
					d.Low, d.High = d.Interval()
					sv.Diffs = append(sv.Diffs, d)
				}
			}
			cg := intervalGroupIn{Label: rt.Region}
			for li, l := range levels[g] {
				ti, ok := byLevel[l]
				if !ok {
					continue
				}
				seen[l] = true
				sv.Rows = append(sv.Rows, splitRow{Region: rt.Region, Level: l, TrustIndex: ti})
				cg.Points = append(cg.Points, intervalIn{Series: li, Est: ti.TopBox, N: ti.N, Label: rt.Region + ", " + sv.Title + ": " + l})
			}
			chart = append(chart, cg)
		}
		if len(sv.Rows) == 0 {
			continue
		}
		for _, l := range levels[g] {
			if seen[l] {
				sv.Levels = append(sv.Levels, l)
			}
		}
		sv.Chart = newIntervalChart("Top-2-box trust: "+sv.Title, levels[g], chart)
		// The legend names only the levels shown, in their colours.
		sv.Chart.Legend = slices.DeleteFunc(sv.Chart.Legend, func(l chartLegend) bool { return !seen[l.Label] })
		v.Splits = append(v.Splits, sv)
	}
}

// trustCSVHeader is the CSV export's header: one row per figure.
var trustCSVHeader = []string{"wave", "region", "figure", "group", "level", "value", "low", "high", "se", "n", "p", "significant"}

// writeTrustCSV writes the figures of v as CSV, an attachment named after
// the wave (and region).
func writeTrustCSV(w http.ResponseWriter, v *trustPage) error {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	if err := cw.WriteAll(append([][]string{trustCSVHeader}, trustCSVRows(v)...)); err != nil {
		return err
	}
	name := "trust-" + v.Report.Wave
	if v.Region != "" {
		name += "-" + v.Region
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	h.Set("Cache-Control", "no-store")
	w.Write(buf.Bytes()) // an error is the client gone: nothing to tell it
	return nil
}

// cell guards a text cell against being read as a formula by spreadsheet
// programs (a leading =, +, -, @, tab or carriage return).
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// trustCSVRows are the figures of v, in the order of the page.
func trustCSVRows(v *trustPage) [][]string {
	var out [][]string
	est := func(wave, region, figure, group, level string, e insights.Estimate, n int) {
		out = append(out, []string{wave, region, figure, cell(group), cell(level), num(e.Value), num(e.Low), num(e.High), num(e.SE), strconv.Itoa(n), "", ""})
	}
	change := func(t trendRow, figure string, c *insights.Change) {
		if c == nil {
			return
		}
		lo, hi := c.Interval()
		out = append(out, []string{t.Wave, t.Region, figure, "", "", num(c.Diff), num(lo), num(hi), num(c.SE), strconv.Itoa(t.N), num(c.P), strconv.FormatBool(c.Significant)})
	}
	for _, t := range v.Trend {
		est(t.Wave, t.Region, "top2", "", "", t.TopBox, t.N)
		est(t.Wave, t.Region, "mean", "", "", t.Mean, t.N)
		change(t, "top2_change", t.TopChange)
		change(t, "mean_change", t.MeanChange)
	}
	wave := v.Report.Wave
	for _, d := range v.Drivers {
		if d.Error != "" {
			continue
		}
		n := strconv.Itoa(d.N)
		out = append(out, []string{wave, d.Region, "drivers_r2", "", "", num(d.R2), "", "", "", n, "", ""})
		for _, s := range d.Drivers {
			lo, hi := "", ""
			if s.Interval != nil {
				lo, hi = num(s.Interval[0]), num(s.Interval[1])
			}
			out = append(out, []string{wave, d.Region, "driver_share", cell(s.Name), "", num(s.Share), lo, hi, "", n, "", ""},
				[]string{wave, d.Region, "driver_lmg", cell(s.Name), "", num(s.LMG), "", "", "", n, "", ""},
				[]string{wave, d.Region, "driver_johnson", cell(s.Name), "", num(s.Johnson), "", "", "", n, "", ""})
		}
	}
	for _, s := range v.Splits {
		for _, r := range s.Rows {
			est(wave, r.Region, "split_top2", s.Group, r.Level, r.TopBox, r.N)
			est(wave, r.Region, "split_mean", s.Group, r.Level, r.Mean, r.N)
		}
		for _, d := range s.Diffs {
			out = append(out, []string{wave, d.Region, "split_top2_diff", cell(s.Group), "yes-no", num(d.Diff), num(d.Low), num(d.High), num(d.SE), strconv.Itoa(d.N), num(d.P), strconv.FormatBool(d.Significant)})
		}
	}
	return out
}

// WarmInsights computes the Trust page's report of the latest wave, so
// that the first view after a start (or after the demo's waves are
// stored) does not pay for it: the reporter keeps what depends on the
// stored waves alone. With no wave stored, or no insights mounted, it does
// nothing.
func (c *Console) WarmInsights(ctx context.Context) {
	if c == nil || c.trust == nil {
		return
	}
	if _, err := c.trust.Report(ctx, "", "", insightsDrivers); err != nil && warden.ErrorCode(err) == warden.EINTERNAL {
		c.opt.Logger.Warn("computing the Trust page's report ahead failed", "err", err)
	}
}
