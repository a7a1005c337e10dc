package web

import (
	"cmp"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/incident"
	"github.com/wardenhq/warden/sqlstore"
)

// MountCases adds the moderator pages of the incident workflow: the queue,
// the case view with its decision form, appeals and the transparency charts.
func (c *Console) MountCases(svc *incident.Service) {
	p := &casePages{c: c, svc: svc}
	mod := []string{warden.RoleModerator}
	c.Page("GET /cases", mod, p.queue)
	c.Page("GET /live/cases", mod, p.queueLive)
	c.Page("POST /cases/next", mod, p.next)
	c.Page("GET /cases/{id}", mod, p.view)
	c.Page("POST /cases/{id}/claim", mod, p.claim)
	c.Page("POST /cases/{id}/release", mod, p.release)
	c.Page("POST /cases/{id}/decision", mod, p.decide)
	c.Page("GET /appeals", mod, p.appeals)
	c.Page("POST /appeals/{id}/decision", mod, p.decideAppeal)
	c.Page("GET /transparency", []string{warden.RoleAdmin}, p.transparency)
	c.Page("GET /deliveries", []string{warden.RoleAdmin}, p.deliveries)
	c.Page("POST /deliveries/{seq}/retry", []string{warden.RoleAdmin}, p.retryDelivery)
	p.mountExplore()
	c.Nav("Cases", "/cases", warden.RoleModerator)
	c.Nav("Appeals", "/appeals", warden.RoleModerator)
	c.Nav("Transparency", "/transparency", warden.RoleAdmin)
	c.Nav("Deliveries", "/deliveries", warden.RoleAdmin)
}

type casePages struct {
	c   *Console
	svc *incident.Service
}

// queueData is the queue page.
type queueData struct {
	Queues     []queueTab
	Statuses   []queueTab
	Categories []string
	Queue      string
	Breaching  bool
	Status     string // "" (waiting: open and in review), open, in_review or closed
	Category   string
	Assignee   string // "", "me" or "none"
	SLA        string
	Subject    string // search: the cases about this account or content
	Cases      []incident.CaseSummary
	Query      string // the filters, for the live refresh
	Next       string // the next page's URL, "" on the last
	Paged      bool   // this page continues an earlier one
	Now        time.Time
}

// queueTab is one queue or status link with its count.
type queueTab struct {
	Name, Label, Href string
	N                 int64
	Current           bool
}

func (p *casePages) queueData(r *http.Request, u *warden.User) (*queueData, error) {
	q := r.URL.Query()
	d := &queueData{Queue: q.Get("queue"), Breaching: q.Get("breaching") == "1", Now: time.Now(), Status: q.Get("status"),
		Category: q.Get("category"), Assignee: q.Get("assignee"), SLA: q.Get("sla"), Subject: strings.TrimSpace(q.Get("subject")),
		Categories: warden.Categories, Paged: q.Get("cursor") != ""}
	lq := url.Values{}
	for k, v := range q {
		lq[k] = v
	}
	lq.Del("breaching")
	if d.Breaching {
		lq.Set("due_within", "1h")
	}
	switch d.Assignee {
	case "", "none":
	case "me":
		lq.Set("assignee", UserPrincipal(u).ID)
	default:
		return nil, warden.FieldErrorf("assignee", "assignee must be me or none")
	}
	f, err := incident.ParseCaseList(lq, 50)
	if err != nil {
		return nil, err
	}
	page, err := p.svc.Cases(r.Context(), f)
	if err != nil {
		return nil, err
	}
	d.Cases = page.Cases
	counts, err := p.svc.CaseCounts(r.Context())
	if err != nil {
		return nil, err
	}
	d.tabs(p.svc.Queues(), counts)
	// the filters as they came, without the cursor: links keep them
	keep := url.Values{}
	for _, k := range []string{"queue", "status", "category", "assignee", "sla", "subject"} {
		if v := q.Get(k); v != "" {
			keep.Set(k, v)
		}
	}
	if d.Breaching {
		keep.Set("breaching", "1")
	}
	if len(keep) > 0 {
		d.Query = "?" + keep.Encode()
	}
	if page.NextCursor != "" {
		keep.Set("cursor", page.NextCursor)
		d.Next = "/cases?" + keep.Encode()
	}
	return d, nil
}

// tabs builds the queue and status links with their counts: a queue's count
// is its waiting cases (open and in review); a status's count is within
// the chosen queue.
func (d *queueData) tabs(queues []incident.Queue, counts []sqlstore.CaseCount) {
	waiting := map[string]int64{}
	byStatus := map[string]int64{}
	var all int64
	for _, c := range counts {
		if c.Status != warden.CaseClosed {
			waiting[c.Queue] += c.N
			all += c.N
		}
		if d.Queue == "" || c.Queue == d.Queue {
			byStatus[c.Status] += c.N
		}
	}
	link := func(set url.Values) string {
		v := url.Values{}
		for _, k := range []string{"queue", "status"} {
			if x := set.Get(k); x != "" {
				v.Set(k, x)
			}
		}
		if len(v) == 0 {
			return "/cases"
		}
		return "/cases?" + v.Encode()
	}
	d.Queues = append(d.Queues, queueTab{Label: "All queues", Href: link(url.Values{"status": {d.Status}}), N: all, Current: d.Queue == ""})
	for _, q := range queues {
		d.Queues = append(d.Queues, queueTab{Name: q.Name, Label: q.Name, N: waiting[q.Name], Current: d.Queue == q.Name,
			Href: link(url.Values{"queue": {q.Name}, "status": {d.Status}})})
	}
	for _, s := range []struct{ name, label string }{{"", "Waiting"}, {warden.CaseOpen, "Open"}, {warden.CaseInReview, "In review"}, {warden.CaseClosed, "Closed in 30 days"}} {
		n := byStatus[s.name]
		if s.name == "" {
			n = byStatus[warden.CaseOpen] + byStatus[warden.CaseInReview]
		}
		d.Statuses = append(d.Statuses, queueTab{Name: s.name, Label: s.label, N: n, Current: d.Status == s.name,
			Href: link(url.Values{"queue": {d.Queue}, "status": {s.name}})})
	}
}

func (p *casePages) queue(w http.ResponseWriter, r *http.Request, u *warden.User) error {
	d, err := p.queueData(r, u)
	if err != nil {
		return err
	}
	return p.c.Render(w, r, "cases.html", d)
}

func (p *casePages) queueLive(w http.ResponseWriter, r *http.Request, u *warden.User) error {
	d, err := p.queueData(r, u)
	if err != nil {
		return err
	}
	return p.c.Fragment(w, r, "cases.html", "cases-table", d)
}

func (p *casePages) next(w http.ResponseWriter, r *http.Request, u *warden.User) error {
	c, err := p.svc.Next(r.Context(), UserPrincipal(u), r.FormValue("queue"))
	if err != nil {
		return err
	}
	if c == nil {
		http.Redirect(w, r, "/cases?empty=1", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/cases/"+url.PathEscape(c.ID), http.StatusSeeOther)
	return nil
}

// caseData is the case page.
type caseData struct {
	*incident.CaseView
	Mine, Free bool
	Actions    []actionChoice
	Done       string // what the last post did, for the status line
}

// actionChoice is one decision on the form, with its keyboard shortcut.
type actionChoice struct {
	Value, Label, Key string
	Timed             bool
}

var accountActions = []actionChoice{
	{warden.ActBanAccount, "Ban account", "b", false},
	{warden.ActSuspendAccount, "Suspend account", "s", true},
	{warden.ActRestrict, "Restrict", "r", true},
	{warden.ActLabel, "Label", "l", true},
	{warden.ActNoViolation, "No violation", "n", false},
}

var contentActions = []actionChoice{
	{warden.ActRemoveContent, "Remove content", "d", false},
	{warden.ActRestrict, "Restrict", "r", true},
	{warden.ActLabel, "Label", "l", true},
	{warden.ActNoViolation, "No violation", "n", false},
}

func (p *casePages) view(w http.ResponseWriter, r *http.Request, u *warden.User) error {
	v, err := p.svc.Case(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := p.c.caseRead(r.Context(), u, v); err != nil {
		return err
	}
	me := UserPrincipal(u).ID
	d := &caseData{CaseView: v, Mine: v.Assignee == me, Free: v.Assignee == "", Actions: accountActions, Done: r.URL.Query().Get("done")}
	if v.Subject.Kind == warden.TargetContent {
		d.Actions = contentActions
	}
	return p.c.Render(w, r, "cases_view.html", d)
}

func (p *casePages) claim(w http.ResponseWriter, r *http.Request, u *warden.User) error {
	if _, err := p.svc.Claim(r.Context(), UserPrincipal(u), r.PathValue("id")); err != nil {
		return err
	}
	http.Redirect(w, r, "/cases/"+url.PathEscape(r.PathValue("id")), http.StatusSeeOther)
	return nil
}

func (p *casePages) release(w http.ResponseWriter, r *http.Request, u *warden.User) error {
	if err := p.svc.Release(r.Context(), UserPrincipal(u), r.PathValue("id")); err != nil {
		return err
	}
	http.Redirect(w, r, "/cases", http.StatusSeeOther)
	return nil
}

func (p *casePages) decide(w http.ResponseWriter, r *http.Request, u *warden.User) error {
	req := incident.DecisionRequest{Action: r.FormValue("action"), Policy: r.FormValue("policy"),
		Explanation: r.FormValue("explanation"), Duration: r.FormValue("duration"), Note: r.FormValue("note")}
	timed := false
	for _, a := range accountActions {
		timed = timed || a.Value == req.Action && a.Timed
	}
	if !timed {
		req.Duration = "" // the field stays on the form for every action
	}
	d, err := p.svc.Decide(r.Context(), UserPrincipal(u), r.PathValue("id"), req)
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/cases/"+url.PathEscape(r.PathValue("id"))+"?done="+url.QueryEscape(d.Action), http.StatusSeeOther)
	return nil
}

func (p *casePages) appeals(w http.ResponseWriter, r *http.Request, _ *warden.User) error {
	as, err := p.svc.Appeals(r.Context(), warden.AppealPending)
	if err != nil {
		return err
	}
	type row struct {
		warden.Appeal
		Decision *warden.Decision
	}
	rows := make([]row, len(as))
	for i, a := range as {
		rows[i].Appeal = a
		if rows[i].Decision, err = p.svc.Decision(r.Context(), a.DecisionID); err != nil {
			return err
		}
	}
	return p.c.Render(w, r, "cases_appeals.html", rows)
}

func (p *casePages) decideAppeal(w http.ResponseWriter, r *http.Request, u *warden.User) error {
	req := incident.AppealDecisionRequest{Outcome: r.FormValue("outcome"), Explanation: r.FormValue("explanation")}
	if _, err := p.svc.DecideAppeal(r.Context(), UserPrincipal(u), r.PathValue("id"), req); err != nil {
		return err
	}
	http.Redirect(w, r, "/appeals", http.StatusSeeOther)
	return nil
}

// bar is one bar of a chart: Width is in SVG user units (0..100), since
// the Content-Security-Policy forbids inline styles.
type bar struct {
	Label string
	Value float64
	Text  string
	Width float64
}

func bars(labels []string, values []float64, format string) []bar {
	top := 0.0
	for _, v := range values {
		top = math.Max(top, v)
	}
	out := make([]bar, len(values))
	for i, v := range values {
		out[i] = bar{Label: labels[i], Value: v, Text: fmt.Sprintf(format, v)}
		if top > 0 {
			out[i].Width = math.Round(v/top*1000) / 10
		}
	}
	return out
}

type transparencyData struct {
	Report                    *incident.Report
	From, To                  string
	AutomatedPct, ReversalPct float64
	Charts                    []chart
}

type chart struct {
	Title string
	Bars  []bar
}

func (p *casePages) transparency(w http.ResponseWriter, r *http.Request, _ *warden.User) error {
	to := time.Now().UTC()
	from := to.AddDate(0, -6, 0)
	q := r.URL.Query()
	if t, err := time.Parse(time.DateOnly, q.Get("from")); err == nil {
		from = t
	}
	if t, err := time.Parse(time.DateOnly, q.Get("to")); err == nil {
		to = t
	}
	rep, err := p.svc.TransparencyReport(r.Context(), from, to)
	if err != nil {
		return err
	}
	d := &transparencyData{Report: rep, From: from.Format(time.DateOnly), To: to.Format(time.DateOnly)}
	cats := slices.SortedFunc(func(yield func(string) bool) {
		for c := range rep.Notices.ByCategory {
			if !yield(c) {
				return
			}
		}
	}, cmp.Compare[string])
	var med, notices []float64
	var medLabels []string
	for _, c := range cats {
		notices = append(notices, float64(rep.Notices.ByCategory[c]))
		if h, ok := rep.TimeToAction.ByCategory[c]; ok {
			medLabels = append(medLabels, c)
			med = append(med, h.Median)
		}
	}
	human := float64(rep.Decisions.Total - rep.Decisions.Automated)
	d.AutomatedPct, d.ReversalPct = rep.Decisions.AutomatedShare*100, rep.Appeals.ReversalRate*100
	d.Charts = []chart{
		{"Median hours from notice to action, per category", bars(medLabels, med, "%.2f h")},
		{"Notices per category", bars(cats, notices, "%.0f")},
		{"Decisions: automated or by a person", bars([]string{"automated", "by a person"}, []float64{float64(rep.Decisions.Automated), human}, "%.0f")},
		{"Appeals", bars([]string{"upheld", "reversed", "pending"}, []float64{float64(rep.Appeals.Upheld), float64(rep.Appeals.Reversed), float64(rep.Appeals.Pending)}, "%.0f")},
	}
	d.Charts = append(d.Charts, ledgerCharts(rep)...)
	return p.c.Render(w, r, "cases_transparency.html", d)
}

// deliveries is the dead-letter view: notices the platform's webhook or the
// mail server never accepted, with a way to send them again.
func (p *casePages) deliveries(w http.ResponseWriter, r *http.Request, _ *warden.User) error {
	dead, err := p.svc.DeadLetters(r.Context(), 200)
	if err != nil {
		return err
	}
	return p.c.Render(w, r, "cases_deliveries.html", dead)
}

func (p *casePages) retryDelivery(w http.ResponseWriter, r *http.Request, _ *warden.User) error {
	seq, err := strconv.ParseInt(r.PathValue("seq"), 10, 64)
	if err != nil {
		return warden.Errorf(warden.ENOTFOUND, "no delivery %q", r.PathValue("seq"))
	}
	if err := p.svc.RetryDelivery(r.Context(), seq); err != nil {
		return err
	}
	http.Redirect(w, r, "/deliveries", http.StatusSeeOther)
	return nil
}
