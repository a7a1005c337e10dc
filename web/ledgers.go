package web

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/datarequest"
	"github.com/wardenhq/warden/incident"
	"github.com/wardenhq/warden/ledger"
	"github.com/wardenhq/warden/sqlstore"
)

// LedgerOptions are what the console's ledger pages need.
type LedgerOptions struct {
	Access   *ledger.Service
	Requests *datarequest.Service
}

// MountLedgers adds the admins' page of the data-access ledger's open
// policy flags (resolvable) and the open data requests with their due
// dates, and makes every moderator's read of a case page an entry of the
// ledger for the case's subject (purpose SAFETY_REVIEW, ticket = the case).
func (c *Console) MountLedgers(opt LedgerOptions) {
	p := &ledgerPages{c: c, opt: opt}
	admin := []string{warden.RoleAdmin}
	c.Page("GET /ledgers", admin, p.page)
	c.Page("POST /ledgers/flags/{id}/resolve", admin, p.resolve)
	c.Nav("Ledgers", "/ledgers", warden.RoleAdmin)
	c.mu.Lock()
	c.caseReads = p.recordCaseRead
	c.mu.Unlock()
}

type ledgerPages struct {
	c   *Console
	opt LedgerOptions
}

// recordCaseRead records u's read of the case page v in the ledger of the
// case's subject account (a content case's owner), before the page is
// shown: a read that cannot be recorded is not shown.
func (p *ledgerPages) recordCaseRead(ctx context.Context, u *warden.User, v *incident.CaseView) error {
	user := ""
	switch v.SubjectKind {
	case warden.TargetAccount:
		user = v.SubjectID
	case warden.TargetContent:
		user = v.Owner
	}
	if user == "" {
		return nil
	}
	a := ledger.Access{User: user, Actor: ledger.Actor{Class: ledger.ClassEmployee, ID: "console:" + u.Username}, Purpose: ledger.SafetyReview,
		Ticket: v.ID, DataCategories: []string{"account", "content", "reports"}}
	if err := a.Validate(time.Now()); err != nil {
		return err
	}
	_, err := p.opt.Access.Record(ctx, a)
	return err
}

// caseReadFunc records a moderator's read of a case page.
type caseReadFunc = func(context.Context, *warden.User, *incident.CaseView) error

// caseRead runs the recorder MountLedgers set, if any.
func (c *Console) caseRead(ctx context.Context, u *warden.User, v *incident.CaseView) error {
	c.mu.RLock()
	f := c.caseReads
	c.mu.RUnlock()
	if f == nil {
		return nil
	}
	return f(ctx, u, v)
}

type ledgerData struct {
	Flags    []sqlstore.AccessFlag
	Requests []datarequest.Request
	Overdue  int
	Now      time.Time
	Done     string
}

func (p *ledgerPages) page(w http.ResponseWriter, r *http.Request, _ *warden.User) error {
	flags, err := p.opt.Access.Flags(r.Context(), false, 500)
	if err != nil {
		return err
	}
	reqs, err := p.opt.Requests.List(r.Context(), "open")
	if err != nil {
		return err
	}
	d := &ledgerData{Flags: flags, Requests: reqs, Now: time.Now().UTC(), Done: r.URL.Query().Get("done")}
	for _, q := range reqs {
		if q.Overdue {
			d.Overdue++
		}
	}
	return p.c.Render(w, r, "ledgers.html", d)
}

func (p *ledgerPages) resolve(w http.ResponseWriter, r *http.Request, u *warden.User) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := p.opt.Access.Resolve(r.Context(), r.PathValue("id"), u.Username, r.PostFormValue("note")); err != nil {
		return err
	}
	http.Redirect(w, r, "/ledgers?done="+r.PathValue("id"), http.StatusSeeOther)
	return nil
}

// ledgerCharts are the transparency page's charts of the access ledger and
// data requests.
func ledgerCharts(rep *incident.Report) []chart {
	keys := func(m map[string]int64) ([]string, []float64) {
		ks := make([]string, 0, len(m))
		for k := range m {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		vs := make([]float64, len(ks))
		for i, k := range ks {
			vs[i] = float64(m[k])
		}
		return ks, vs
	}
	pl, pv := keys(rep.Access.ByPurpose)
	al, av := keys(rep.Access.ByActorClass)
	dr := rep.DataRequests
	return []chart{
		{"Accesses to users' data, by purpose", bars(pl, pv, "%.0f")},
		{"Accesses to users' data, by who accessed", bars(al, av, "%.0f")},
		{"Access policy flags", bars([]string{"raised", "resolved"}, []float64{float64(rep.Access.FlagsRaised), float64(rep.Access.FlagsResolved)}, "%.0f")},
		{"Data requests (GDPR access and erasure)", bars([]string{"received", "answered", "answered on time", "extended"},
			[]float64{float64(dr.Received), float64(dr.Answered), float64(dr.OnTime), float64(dr.Extended)}, "%.0f")},
	}
}

// centerAccess is the center's "who accessed your data" section.
type centerAccess struct {
	Days      int
	Choices   []int
	Entries   []ledger.Entry
	ByPurpose []purposeCount
	Requests  []datarequest.Request
}

type purposeCount struct {
	Purpose, Words string
	N              int
}

// fillLedgers adds the user's access history of the last days and their
// data requests to the center's page.
func (ce *Center) fillLedgers(ctx context.Context, user string, days int, v *centerView) error {
	if ce.opt.Access == nil {
		return nil
	}
	if !slices.Contains(centerDays, days) {
		days = 30
	}
	view, err := ce.opt.Access.UserView(ctx, user, days)
	if err != nil {
		return err
	}
	a := &centerAccess{Days: days, Choices: centerDays, Entries: view.Entries}
	if len(a.Entries) > 200 {
		a.Entries = a.Entries[:200]
	}
	for _, p := range ledger.Purposes {
		if n := view.ByPurpose[p]; n > 0 {
			a.ByPurpose = append(a.ByPurpose, purposeCount{Purpose: p, Words: ledger.PurposeWords(p), N: n})
		}
	}
	if ce.opt.Requests != nil {
		if a.Requests, err = ce.opt.Requests.UserRequests(ctx, user); err != nil {
			return err
		}
	}
	v.Access = a
	return nil
}

// centerDays are the windows the center's access history offers.
var centerDays = []int{7, 30, 365}

func daysOf(r *http.Request) int {
	n, _ := strconv.Atoi(r.URL.Query().Get("days"))
	return n
}

// request makes a data request from the center's form.
func (ce *Center) request(w http.ResponseWriter, r *http.Request) {
	l, tr, ok := ce.post(w, r)
	if !ok {
		return
	}
	v := &centerView{Days: daysOf(r), translator: tr}
	if ce.opt.Requests == nil {
		ce.again(w, r, l, v, warden.Errorf(warden.EUNAVAILABLE, "data requests are not served here"))
		return
	}
	kind := r.PostFormValue("kind")
	if kind != datarequest.KindAccess && kind != datarequest.KindErasure {
		v.Error = v.T("error_request_kind")
		ce.render(w, r, l, v, http.StatusBadRequest)
		return
	}
	q, err := ce.opt.Requests.Create(r.Context(), l.user, kind)
	if err != nil {
		ce.again(w, r, l, v, err)
		return
	}
	v.Notice = v.T("notice_request", "ID", q.ID, "Kind", v.RequestKind(q.Kind), "Date", q.DueAt.UTC().Format(v.T("layout_date")))
	ce.render(w, r, l, v, http.StatusOK)
}
