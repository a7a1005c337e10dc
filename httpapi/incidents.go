package httpapi

import (
	"bufio"
	"net/http"
	"strconv"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/incident"
	"github.com/wardenhq/warden/internal/httpx"
)

// Report flooding is abuse too: each reporter may file a burst of 10
// reports, then one every 30 seconds. Trusted flaggers file notices in bulk
// for many people, so their limit is per key and much higher.
const (
	reporterRate  = 1.0 / 30
	reporterBurst = 10
	flaggerRate   = 50
	flaggerBurst  = 500
)

type incidentsAPI struct {
	svc      *incident.Service
	reporter interface{ Allow(string) bool }
	flagger  interface{ Allow(string) bool }
}

// RegisterIncidents adds the trust-incident calls of CONTRACT §3: reports,
// cases, decisions, the user inbox, appeals, transparency, plus delivery
// dead letters.
func RegisterIncidents(s *Server, svc *incident.Service) {
	h := &incidentsAPI{svc: svc, reporter: httpx.NewLimiter(reporterRate, reporterBurst, 200000), flagger: httpx.NewLimiter(flaggerRate, flaggerBurst, 10000)}
	s.Schema("Report", reportSchema)
	s.Schema("Case", caseSchema)
	s.Schema("Notification", notificationSchema)
	ref := func(name string) string { return `{"$ref":"#/components/schemas/` + name + `"}` }
	mod := []string{warden.RoleModerator}
	s.Route(RouteSpec{Pattern: "POST /v1/reports", Roles: []string{warden.RoleApp, warden.RoleTrustedFlagger}, Status: 201,
		Summary: "File a report. The receipt is in the reporter's inbox when this returns. Idempotent: resending the same \"id\" (or Idempotency-Key header), or the same reporter, subject and category within 24 hours, returns the first report. Rate-limited per reporter (429).",
		Request: []byte(ref("Report")),
		Response: []byte(`{"type":"object","required":["id","case_id","status","received_at"],"properties":{"id":{"type":"string"},"case_id":{"type":"string"},
"status":{"enum":["received","in_review","decided"]},"received_at":{"type":"string","format":"date-time"}}}`)}, h.postReport)
	s.Route(RouteSpec{Pattern: "GET /v1/reports/{id}", Roles: []string{warden.RoleApp, warden.RoleTrustedFlagger}, Summary: "The reporter's view: status and a timeline with one message per step. A trusted flagger sees the reports it filed (others are 404 to it).",
		Response: []byte(`{"type":"object","required":["id","case_id","status","timeline"],"properties":{"id":{"type":"string"},"case_id":{"type":"string"},"status":{"type":"string"},
"timeline":{"type":"array","items":{"type":"object","required":["status","at","message"],"properties":{"status":{"type":"string"},"at":{"type":"string","format":"date-time"},"message":{"type":"string"}}}}}}`)}, h.getReport)
	s.Route(RouteSpec{Pattern: "GET /v1/cases", Roles: mod, Summary: "Open cases, most urgent first. ?queue=, ?status=open|in_review|closed, ?due_within=2h (the about-to-breach view, soonest first), ?assignee=, ?limit=.",
		Response: []byte(`{"type":"object","properties":{"cases":{"type":"array","items":` + ref("Case") + `}}}`)}, h.listCases)
	s.Route(RouteSpec{Pattern: "GET /v1/cases/{id}", Roles: mod, Summary: "The case: reports (trusted flaggers first), subject and its labels, the engine's verdicts and rule hits on it, linked accounts, earlier decisions, appeals, audit timeline.",
		Response: []byte(ref("Case"))}, h.getCase)
	s.Route(RouteSpec{Pattern: "POST /v1/cases/next", Roles: mod, Summary: "Claim the most urgent unassigned case (?queue= to pick a queue); 204 when there is none. Two moderators never get the same case.",
		Response: []byte(ref("Case"))}, h.nextCase)
	s.Route(RouteSpec{Pattern: "POST /v1/cases/{id}/claim", Roles: mod, Summary: "Claim a case; 409 if another moderator holds it.", Response: []byte(ref("Case"))}, h.claimCase)
	s.Route(RouteSpec{Pattern: "POST /v1/cases/{id}/release", Roles: mod, Summary: "Put a case you hold back in its queue."}, h.releaseCase)
	s.Route(RouteSpec{Pattern: "POST /v1/cases/{id}/decision", Roles: mod, Status: 201,
		Summary: "Decide a case. A restriction records labels on the subject, a DSA statement of reasons, and notices to every reporter, the affected user and (for scams, fake profiles, impersonation) every user the account contacted in 90 days. \"note\" is internal and reaches no one outside.",
		Request: []byte(`{"type":"object","additionalProperties":false,"required":["action","policy","explanation"],"properties":{
"action":` + decisionEnum + `,"policy":{"type":"string","maxLength":500},
"explanation":{"type":"string","maxLength":2000,"description":"public: shown to the user and in the statement of reasons; no personal data"},
"duration":{"type":"string","description":"Go duration such as 720h; required for suspend_account"},"note":{"type":"string","maxLength":10000,"description":"internal"},
"members":{"type":"array","maxItems":1000,"items":{"type":"string"},"description":"on a campaign case: the members the decision applies to (default: every member not yet decided); each gets its own decision and statement of reasons"}}}`),
		Response: []byte(`{"type":"object","properties":{"id":{"type":"string"},"case_id":{"type":"string"},"action":{"type":"string"},"statement_of_reasons":{"type":["object","null"]}}}`)}, h.decide)
	s.Route(RouteSpec{Pattern: "GET /v1/users/{id}/notifications", Roles: []string{warden.RoleApp}, Summary: "The user's inbox, oldest first: receipts, status updates, decisions with redress, statements of reasons, exposure notices, appeal outcomes. ?after=<next> pages.",
		Response: []byte(`{"type":"object","properties":{"notifications":{"type":"array","items":` + ref("Notification") + `},"next":{"type":"integer"}}}`)}, h.inbox)
	s.Route(RouteSpec{Pattern: "POST /v1/appeals", Roles: []string{warden.RoleApp}, Status: 201,
		Summary:  "Appeal a decision within six months: the affected user names decision_id; a reporter names report_id (or decision_id) to contest a decision not to act. A person decides.",
		Request:  []byte(`{"type":"object","additionalProperties":false,"required":["appellant","reason"],"properties":{"appellant":{"type":"string"},"decision_id":{"type":"string"},"report_id":{"type":"string"},"reason":{"type":"string","maxLength":5000}}}`),
		Response: []byte(`{"type":"object","required":["id","status"],"properties":{"id":{"type":"string"},"status":{"enum":["pending","upheld","reversed"]}}}`)}, h.postAppeal)
	s.Route(RouteSpec{Pattern: "GET /v1/appeals", Roles: mod, Summary: "Appeals, oldest first; ?status=pending (the default), upheld, reversed or all."}, h.listAppeals)
	s.Route(RouteSpec{Pattern: "POST /v1/appeals/{id}/decision", Roles: mod, Summary: "Decide an appeal; not by the moderator who took the decision. A reversal undoes the measure and tells everyone concerned.",
		Request:  []byte(`{"type":"object","additionalProperties":false,"required":["outcome","explanation"],"properties":{"outcome":{"enum":["upheld","reversed"]},"explanation":{"type":"string","maxLength":2000}}}`),
		Response: []byte(`{"type":"object","properties":{"id":{"type":"string"},"status":{"type":"string"}}}`)}, h.decideAppeal)
	s.Route(RouteSpec{Pattern: "GET /v1/transparency/statements", Roles: []string{warden.RoleAdmin}, ContentType: "application/jsonl",
		Summary:  "JSON Lines: one DSA statement of reasons per restriction decided in [from, to) (RFC 3339 or YYYY-MM-DD), valid against the Transparency Database schema.",
		Response: []byte(`{"type":"string"}`)}, h.statements)
	s.Route(RouteSpec{Pattern: "GET /v1/transparency/report", Roles: []string{warden.RoleAdmin},
		Summary: "Notices by category and source, median and p90 hours from notice to action (all, per category, trusted flaggers), automated share, appeals and reversal rate, for [from, to)."}, h.transparency)
	s.Route(RouteSpec{Pattern: "GET /v1/accounts/{id}/standing", Roles: []string{warden.RoleApp, warden.RoleModerator},
		Summary: "The account's standing (CONTRACT §10): strikes (restrictive decisions of the last year not reversed), the measure in force (restriction, null if none) and its decision history, newest first.",
		Response: []byte(`{"type":"object","required":["account","strikes","restriction","history"],"properties":{"account":{"type":"string"},
"strikes":{"type":"array","items":{"type":"object","properties":{"policy":{"type":"string"},"rule":{"type":["string","null"]},"at":{"type":"string","format":"date-time"},"expires_at":{"type":"string","format":"date-time"}}}},
"restriction":{"type":["object","null"],"properties":{"action":{"type":"string"},"until":{"type":["string","null"],"format":"date-time"},"decision_id":{"type":"string"}}},
"history":{"type":"array","items":{"type":"object","properties":{"action":{"type":"string"},"at":{"type":"string","format":"date-time"},"by":{"enum":["rule","moderator"]},"statement_id":{"type":"string"},"reversed_at":{"type":"string","format":"date-time"}}}}}}`)}, h.standing)
	s.Route(RouteSpec{Pattern: "GET /v1/deliveries/dead", Roles: []string{warden.RoleAdmin}, Summary: "Webhook and e-mail deliveries given up on after repeated failures."}, h.deadLetters)
	s.Route(RouteSpec{Pattern: "POST /v1/deliveries/{seq}/retry", Roles: []string{warden.RoleAdmin}, Summary: "Queue a dead-lettered delivery again."}, h.retryDelivery)
}

func (h *incidentsAPI) postReport(w http.ResponseWriter, r *http.Request, p *warden.Principal) error {
	body, err := ReadBody(r, incident.MaxBodyBytes)
	if err != nil {
		return err
	}
	req, err := incident.DecodeReport(body)
	if err != nil {
		return err
	}
	if p.Role == warden.RoleTrustedFlagger {
		if !h.flagger.Allow(p.ID) {
			return warden.Errorf(warden.ERATELIMIT, "this trusted-flagger key has sent too many reports; slow down")
		}
	} else if !h.reporter.Allow(p.ID + "\x00" + req.Reporter) {
		return warden.Errorf(warden.ERATELIMIT, "reporter %s has filed too many reports in a short time; try again later", req.Reporter)
	}
	rep, replayed, err := h.svc.Report(r.Context(), p, req, r.Header.Get("Idempotency-Key"))
	if err != nil {
		return err
	}
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	return WriteJSON(w, http.StatusCreated, map[string]any{"id": rep.ID, "case_id": rep.CaseID, "status": rep.Status, "received_at": rep.ReceivedAt})
}

func (h *incidentsAPI) getReport(w http.ResponseWriter, r *http.Request, p *warden.Principal) error {
	v, err := h.svc.ReportView(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, v)
}

func (h *incidentsAPI) listCases(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	q := r.URL.Query()
	f := incident.CaseList{Queue: q.Get("queue"), Status: q.Get("status"), Assignee: q.Get("assignee")}
	switch f.Status {
	case "", warden.CaseOpen, warden.CaseInReview, warden.CaseClosed:
	default:
		return warden.FieldErrorf("status", "status must be open, in_review or closed")
	}
	if v := q.Get("due_within"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return warden.FieldErrorf("due_within", "due_within must be a duration such as 2h")
		}
		f.DueWithin = d
	}
	var err error
	if f.Limit, err = intParam(q.Get("limit"), "limit", 100); err != nil {
		return err
	}
	cs, err := h.svc.Cases(r.Context(), f)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"cases": cs})
}

func intParam(v, name string, def int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, warden.FieldErrorf(name, "%s must be a non-negative integer", name)
	}
	return n, nil
}

func (h *incidentsAPI) getCase(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	v, err := h.svc.Case(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, v)
}

func (h *incidentsAPI) nextCase(w http.ResponseWriter, r *http.Request, p *warden.Principal) error {
	c, err := h.svc.Next(r.Context(), p, r.URL.Query().Get("queue"))
	if err != nil {
		return err
	}
	if c == nil {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return WriteJSON(w, http.StatusOK, c)
}

func (h *incidentsAPI) claimCase(w http.ResponseWriter, r *http.Request, p *warden.Principal) error {
	c, err := h.svc.Claim(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, c)
}

func (h *incidentsAPI) releaseCase(w http.ResponseWriter, r *http.Request, p *warden.Principal) error {
	if err := h.svc.Release(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"id": r.PathValue("id"), "released": true})
}

func (h *incidentsAPI) decide(w http.ResponseWriter, r *http.Request, p *warden.Principal) error {
	body, err := ReadBody(r, incident.MaxBodyBytes)
	if err != nil {
		return err
	}
	req, _, err := incident.DecodeDecision(body)
	if err != nil {
		return err
	}
	d, err := h.svc.Decide(r.Context(), p, r.PathValue("id"), req)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusCreated, d)
}

func (h *incidentsAPI) inbox(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	q := r.URL.Query()
	after, err := intParam(q.Get("after"), "after", 0)
	if err != nil {
		return err
	}
	limit, err := intParam(q.Get("limit"), "limit", 100)
	if err != nil {
		return err
	}
	ns, next, err := h.svc.Inbox(r.Context(), r.PathValue("id"), int64(after), limit)
	if err != nil {
		return err
	}
	if ns == nil {
		ns = []warden.Notification{}
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"notifications": ns, "next": next})
}

func (h *incidentsAPI) postAppeal(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	body, err := ReadBody(r, incident.MaxBodyBytes)
	if err != nil {
		return err
	}
	req, err := incident.DecodeAppeal(body)
	if err != nil {
		return err
	}
	a, replayed, err := h.svc.Appeal(r.Context(), req)
	if err != nil {
		return err
	}
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	return WriteJSON(w, http.StatusCreated, map[string]any{"id": a.ID, "status": a.Status, "decision_id": a.DecisionID, "kind": a.Kind})
}

func (h *incidentsAPI) listAppeals(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	st := r.URL.Query().Get("status")
	switch st {
	case "":
		st = warden.AppealPending
	case "all":
		st = ""
	case warden.AppealPending, warden.AppealUpheld, warden.AppealReversed:
	default:
		return warden.FieldErrorf("status", "status must be pending, upheld, reversed or all")
	}
	as, err := h.svc.Appeals(r.Context(), st)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"appeals": as})
}

func (h *incidentsAPI) decideAppeal(w http.ResponseWriter, r *http.Request, p *warden.Principal) error {
	body, err := ReadBody(r, incident.MaxBodyBytes)
	if err != nil {
		return err
	}
	req, err := incident.DecodeAppealDecision(body)
	if err != nil {
		return err
	}
	a, err := h.svc.DecideAppeal(r.Context(), p, r.PathValue("id"), req)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"id": a.ID, "status": a.Status})
}

// period reads ?from= and ?to= (RFC 3339 or YYYY-MM-DD); from defaults to
// the epoch and to to now.
func period(r *http.Request) (from, to time.Time, err error) {
	parse := func(name string, def time.Time) (time.Time, error) {
		v := r.URL.Query().Get(name)
		if v == "" {
			return def, nil
		}
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t, nil
		}
		if t, err := time.Parse(time.DateOnly, v); err == nil {
			return t, nil
		}
		return time.Time{}, warden.FieldErrorf(name, "%s must be RFC 3339 (2026-01-02T15:04:05Z) or a date (2026-01-02)", name)
	}
	if from, err = parse("from", time.Unix(0, 0)); err != nil {
		return
	}
	if to, err = parse("to", time.Now().Add(time.Second)); err != nil {
		return
	}
	if !to.After(from) {
		err = warden.FieldErrorf("to", "to must be after from")
	}
	return
}

func (h *incidentsAPI) statements(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	from, to, err := period(r)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/jsonl")
	bw := bufio.NewWriter(w)
	if _, err := h.svc.WriteStatements(r.Context(), bw, from, to); err != nil {
		return err
	}
	return bw.Flush()
}

func (h *incidentsAPI) transparency(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	from, to, err := period(r)
	if err != nil {
		return err
	}
	rep, err := h.svc.TransparencyReport(r.Context(), from, to)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, rep)
}

func (h *incidentsAPI) deadLetters(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	ds, err := h.svc.DeadLetters(r.Context(), 200)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"deliveries": ds})
}

func (h *incidentsAPI) retryDelivery(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	seq, err := strconv.ParseInt(r.PathValue("seq"), 10, 64)
	if err != nil {
		return warden.FieldErrorf("seq", "seq must be a delivery number")
	}
	if err := h.svc.RetryDelivery(r.Context(), seq); err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"seq": seq, "status": "pending"})
}

var reportSchema = `{"type":"object","additionalProperties":false,"required":["reporter","subject","category"],"properties":{
"id":{"type":"string","maxLength":256,"description":"optional idempotency key chosen by the caller"},
"reporter":{"type":"string","minLength":1,"maxLength":256},
"subject":{"type":"object","additionalProperties":false,"required":["kind","id"],"properties":{"kind":{"enum":["account","content"]},"id":{"type":"string","minLength":1,"maxLength":256},"owner":{"type":"string","description":"for content: the account that posted it"}}},
"category":` + categoryEnum + `,
"description":{"type":"string","maxLength":5000},
"evidence":{"type":"array","maxItems":20,"items":{"type":"string","maxLength":2048}},
"email":{"type":"string","format":"email","description":"optional: the reporter's address for e-mailed notices"}}}`

const caseSchema = `{"type":"object","properties":{"id":{"type":"string"},"status":{"enum":["open","in_review","closed"]},"queue":{"type":"string"},
"category":{"type":"string"},"priority":{"type":"integer"},"trusted_flagger":{"type":"boolean"},"reports":{"type":"integer"},
"subject":{"type":"object","properties":{"kind":{"type":"string"},"id":{"type":"string"},"owner":{"type":"string"}}},
"opened_at":{"type":"string","format":"date-time"},"due_at":{"type":"string","format":"date-time"},"breached":{"type":"boolean"},"assignee":{"type":"string"}}}`

const notificationSchema = `{"type":"object","properties":{"id":{"type":"string"},"user":{"type":"string"},
"kind":{"enum":["receipt","in_review","decision","statement_of_reasons","exposure","appeal_received","appeal_decided","reversal","reporter_warning","reporter_suspended"]},
"report_id":{"type":"string"},"case_id":{"type":"string"},"decision_id":{"type":"string"},"title":{"type":"string"},"body":{"type":"string"},
"data":{"type":["object","null"]},"created_at":{"type":"string","format":"date-time"}}}`

func (h *incidentsAPI) standing(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	st, err := h.svc.Standing(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, st)
}
