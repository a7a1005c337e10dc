package web

import (
	"net/http"

	"github.com/wardenhq/warden/sqlstore"
)

// liveRows is how many verdicts the dashboard lists.
const liveRows = 50

func (c *Console) mountDashboard() {
	c.Page("GET /{$}", nil, c.dashboard)
	c.Page("GET /live/verdicts", nil, c.liveVerdicts)
	c.Nav("Dashboard", "/")
}

// dashboardData is the dashboard page and its live fragment.
type dashboardData struct {
	All      bool // every verdict, not only flagged ones
	Stats    FeedStats
	Verdicts []FeedItem
	Top      []RuleCount
}

func (c *Console) dashboardData(r *http.Request) dashboardData {
	all := r.URL.Query().Get("show") == "all"
	f := c.opt.Feed
	return dashboardData{All: all, Stats: f.Stats(), Verdicts: f.Recent(liveRows, !all), Top: f.TopRules(10)}
}

func (c *Console) dashboard(w http.ResponseWriter, r *http.Request, _ *sqlstore.User) error {
	return c.Render(w, r, "dashboard.html", c.dashboardData(r))
}

// liveVerdicts is the fragment the dashboard polls every two seconds.
func (c *Console) liveVerdicts(w http.ResponseWriter, r *http.Request, _ *sqlstore.User) error {
	return c.Fragment(w, r, "dashboard.html", "live", c.dashboardData(r))
}
