package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/quality"
)

// QualitySource computes rule quality reports for a page's query
// (quality.Service).
type QualitySource interface {
	Query(ctx context.Context, q url.Values) (*quality.Report, error)
}

// MountQuality registers the rule quality page (admins and moderators):
// each rule version's precision with its interval, the hold-out against
// the acted-on hits, and each rule's hit rate per day with its drift
// alerts, as charts; the rules page links to it.
func (c *Console) MountQuality(src QualitySource) {
	c.quality = true
	c.Page("GET /rules/quality", []string{warden.RoleAdmin, warden.RoleModerator}, func(w http.ResponseWriter, r *http.Request, _ *warden.User) error {
		rep, err := src.Query(r.Context(), r.URL.Query())
		if err != nil {
			return err
		}
		return c.Render(w, r, "rules_quality.html", newQualityPage(rep))
	})
}

// qualityPage is the rule quality page's data.
type qualityPage struct {
	Report *quality.Report
	Rule   string
	Since  string
	Rules  []qualityRule
}

type qualityRule struct {
	quality.RuleQuality
	Precision precisionChart
	Rate      rateChart
}

func newQualityPage(rep *quality.Report) *qualityPage {
	p := &qualityPage{Report: rep, Rule: rep.Rule, Since: rep.Since.Format(time.DateOnly)}
	for _, r := range rep.Rules {
		var rows []precisionIn
		for _, v := range r.Versions {
			rows = append(rows, precisionIn{Label: fmt.Sprintf("version %d", v.Version), P: v.Precision})
			if len(v.Groups) > 1 {
				for _, g := range v.Groups {
					rows = append(rows, precisionIn{Label: fmt.Sprintf("v%d %s", v.Version, g.Mode), Mode: g.Mode, Group: true, P: g.Precision})
				}
			}
		}
		p.Rules = append(p.Rules, qualityRule{RuleQuality: r, Precision: newPrecisionChart(rows), Rate: newRateChart(r.Days)})
	}
	return p
}
