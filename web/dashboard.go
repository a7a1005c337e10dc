package web

import (
	"net/http"
	"net/url"

	"github.com/wardenhq/warden"
)

// liveRows is how many verdicts the dashboard lists.
const liveRows = 50

func (c *Console) mountDashboard() {
	c.Page("GET /{$}", nil, c.dashboard)
	c.Page("GET /live/verdicts", nil, c.liveVerdicts)
	c.Nav("Dashboard", "/")
}

// dashboardData is the dashboard page and its live fragment. The list shows
// flagged verdicts, every verdict (?show=all), or the verdicts one rule hit
// (?rule=NAME).
type dashboardData struct {
	All      bool
	Rule     string
	Query    string // the view's query string, for the poll
	Stats    FeedStats
	Verdicts []FeedItem
	Top      []topRule
	Chart    verdictChart
}

// topRule is a rule that fires often, with its hits per minute.
type topRule struct {
	RuleCount
	Spark sparkline
}

// chartMinutes is how far back the dashboard's charts look.
const chartMinutes = 20

func (c *Console) dashboardData(r *http.Request) dashboardData {
	q := r.URL.Query()
	f := c.opt.Feed
	d := dashboardData{Stats: f.Stats(), Chart: newVerdictChart(f.Minutes(chartMinutes))}
	for _, rc := range f.TopRules(10) {
		d.Top = append(d.Top, topRule{RuleCount: rc, Spark: newSparkline(f.RuleMinutes(rc.Rule, chartMinutes))})
	}
	switch {
	case q.Get("rule") != "":
		d.Rule = q.Get("rule")
		d.Verdicts = f.ByRule(d.Rule, liveRows)
		d.Query = "?" + url.Values{"rule": {d.Rule}}.Encode()
	case q.Get("show") == "all":
		d.All = true
		d.Verdicts = f.Recent(liveRows, false)
		d.Query = "?show=all"
	default:
		d.Verdicts = f.Recent(liveRows, true)
	}
	return d
}

func (c *Console) dashboard(w http.ResponseWriter, r *http.Request, _ *warden.User) error {
	return c.Render(w, r, "dashboard.html", c.dashboardData(r))
}

// liveVerdicts is the fragment the dashboard polls every two seconds.
func (c *Console) liveVerdicts(w http.ResponseWriter, r *http.Request, _ *warden.User) error {
	return c.Fragment(w, r, "dashboard.html", "live", c.dashboardData(r))
}
