package web

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/mfa"
)

// MountPrivacy registers the console's privacy page (admins): the
// two-factor education funnel of the last weeks as charts by region, by
// prompt variant and by week, from mfa's funnel.
func (c *Console) MountPrivacy(svc *mfa.Service) {
	c.Page("GET /privacy", []string{warden.RoleAdmin}, func(w http.ResponseWriter, r *http.Request, _ *warden.User) error {
		v, err := privacyView(r, svc, time.Now())
		if err != nil {
			return err
		}
		return c.Render(w, r, "privacy.html", v)
	})
	c.Nav("Privacy", "/privacy", warden.RoleAdmin)
}

// privacyPage is the privacy page's data.
type privacyPage struct {
	Weeks    int
	Funnel   *mfa.Funnel
	Charts   []funnelChart
	Regions  []string
	Variants []string
}

// funnelWeeks is how far back the page looks unless ?weeks= says.
const funnelWeeks = 12

func privacyView(r *http.Request, svc *mfa.Service, now time.Time) (*privacyPage, error) {
	weeks := funnelWeeks
	if s := r.URL.Query().Get("weeks"); s != "" {
		n, err := parseSmallInt(s)
		if err != nil || n < 1 || n > 104 {
			return nil, warden.FieldErrorf("weeks", "weeks must be a whole number from 1 to 104")
		}
		weeks = n
	}
	f, err := svc.Funnel(r.Context(), now.Add(-time.Duration(weeks)*7*24*time.Hour), now.Add(time.Second))
	if err != nil {
		return nil, err
	}
	v := &privacyPage{Weeks: weeks, Funnel: f, Regions: f.Regions()}
	v.Charts = append(v.Charts, newFunnelChart("All prompts", []funnelGroupIn{{Label: "all", Counts: f.Total}}))
	var byRegion []funnelGroupIn
	for _, k := range v.Regions {
		byRegion = append(byRegion, funnelGroupIn{Label: k, Counts: *f.ByRegion[k]})
	}
	v.Charts = append(v.Charts, newFunnelChart("By region", byRegion))
	for k := range f.ByVariant {
		v.Variants = append(v.Variants, k)
	}
	slices.SortFunc(v.Variants, strings.Compare)
	var byVariant []funnelGroupIn
	for _, k := range v.Variants {
		byVariant = append(byVariant, funnelGroupIn{Label: k, Counts: *f.ByVariant[k]})
	}
	v.Charts = append(v.Charts, newFunnelChart("By prompt variant", byVariant))
	var byWeek []funnelGroupIn
	for _, wk := range f.ByWeek {
		byWeek = append(byWeek, funnelGroupIn{Label: "week of " + wk.Week, Counts: wk.Counts})
	}
	v.Charts = append(v.Charts, newFunnelChart("By week", byWeek))
	return v, nil
}

// parseSmallInt parses a decimal of at most 4 digits.
func parseSmallInt(s string) (int, error) {
	if len(s) == 0 || len(s) > 4 {
		return 0, warden.Errorf(warden.EINVALID, "not a small number")
	}
	n := 0
	for _, ch := range s {
		if ch < '0' || ch > '9' {
			return 0, warden.Errorf(warden.EINVALID, "not a number")
		}
		n = 10*n + int(ch-'0')
	}
	return n, nil
}
