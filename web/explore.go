package web

import (
	"net/http"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/incident"
)

// mountExplore registers the event and address views the dashboard and
// the case page link to: an event with its verdict, and what recent
// traffic shows of an IP address and its network.
func (p *casePages) mountExplore() {
	mod := []string{warden.RoleModerator}
	p.c.Page("GET /events/{id}", mod, p.eventView)
	p.c.Page("GET /ips/{addr}", mod, p.addressView)
}

func (p *casePages) eventView(w http.ResponseWriter, r *http.Request, _ *warden.User) error {
	v, err := p.svc.EventView(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return p.c.Render(w, r, "event_view.html", v)
}

func (p *casePages) addressView(w http.ResponseWriter, r *http.Request, _ *warden.User) error {
	v, err := p.svc.AddressView(r.Context(), r.PathValue("addr"))
	if err != nil {
		return err
	}
	return p.c.Render(w, r, "ip_view.html", v)
}

var _ = incident.EventView{}
