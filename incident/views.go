package incident

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/detect"
	"github.com/wardenhq/warden/sqlstore"
)

// TimelineStep is one step of a reporter's timeline.
type TimelineStep struct {
	Status  string        `json:"status"`
	At      warden.Micros `json:"at"`
	Message string        `json:"message"`
}

// ReportView is the reporter's view of a report (GET /v1/reports/{id}).
type ReportView struct {
	ID       string         `json:"id"`
	CaseID   string         `json:"case_id"`
	Status   string         `json:"status"`
	Timeline []TimelineStep `json:"timeline"`
}

// timelineStatus maps the notices a reporter received to timeline steps.
var timelineStatus = map[string]string{
	warden.NoticeReceipt:        warden.ReportReceived,
	warden.NoticeInReview:       warden.ReportInReview,
	warden.NoticeDecision:       warden.ReportDecided,
	warden.NoticeAppealReceived: "appealed",
	warden.NoticeAppealDecided:  "appeal_decided",
	warden.NoticeReversal:       "reversed",
}

// ReportView returns the reporter's view of a report: its status and one
// templated message per step, exactly the notices the reporter received.
// The platform (an app key) sees every report; a trusted flagger only
// those it filed (DSA Art. 22 expects flaggers to be kept informed), and
// any other report is not found for it.
func (s *Service) ReportView(ctx context.Context, p *warden.Principal, id string) (*ReportView, error) {
	r, err := s.db.ReportByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if r == nil || r.Source == warden.SourceDetection ||
		(p.Role == warden.RoleTrustedFlagger && (r.Source != warden.SourceTrustedFlagger || r.Flagger != p.ID)) {
		return nil, warden.Errorf(warden.ENOTFOUND, "no report %s", id)
	}
	ns, err := s.db.ReportNotifications(ctx, id)
	if err != nil {
		return nil, err
	}
	v := &ReportView{ID: r.ID, CaseID: r.CaseID, Status: r.Status, Timeline: []TimelineStep{}}
	for _, n := range ns {
		if n.UserID != r.Reporter {
			continue
		}
		if st, ok := timelineStatus[n.Kind]; ok {
			v.Timeline = append(v.Timeline, TimelineStep{Status: st, At: n.CreatedAt, Message: n.Body})
		}
	}
	return v, nil
}

// Inbox returns a user's notifications after seq, oldest first, and the seq
// to pass next time.
func (s *Service) Inbox(ctx context.Context, user string, after int64, limit int) ([]warden.Notification, int64, error) {
	ns, err := s.db.Notifications(ctx, user, after, limit)
	if err != nil {
		return nil, after, err
	}
	next := after
	if len(ns) > 0 {
		next = ns[len(ns)-1].Seq
	}
	return ns, next, nil
}

// CaseList filters the queue view.
type CaseList struct {
	Queue  string
	Status string
	// DueWithin, when set, lists only open cases whose SLA runs out within
	// it (or has run out), soonest first: the about-to-breach view.
	DueWithin time.Duration
	Assignee  string
	Limit     int
}

// CaseSummary is a case as the queue shows it.
type CaseSummary struct {
	warden.Case
	Subject  SubjectRef `json:"subject"`
	Breached bool       `json:"breached"`
}

// Cases lists cases, most urgent first.
func (s *Service) Cases(ctx context.Context, f CaseList) ([]CaseSummary, error) {
	sf := sqlstore.CaseFilter{Queue: f.Queue, Status: f.Status, Assignee: f.Assignee, Limit: f.Limit}
	now := s.clock()
	if f.DueWithin > 0 {
		sf.DueFrom, sf.DueTo = 0, now+warden.Micros(f.DueWithin.Microseconds())
	}
	cs, err := s.db.Cases(ctx, sf)
	if err != nil {
		return nil, err
	}
	out := make([]CaseSummary, len(cs))
	for i, c := range cs {
		out[i] = summarize(c, now)
	}
	return out, nil
}

func summarize(c warden.Case, now warden.Micros) CaseSummary {
	subj := SubjectRef{Kind: c.SubjectKind, ID: c.SubjectID}
	if c.SubjectKind == warden.TargetContent {
		subj.Owner = c.Owner
	}
	return CaseSummary{Case: c, Subject: subj, Breached: c.ClosedAt == 0 && c.DueAt < now || c.ClosedAt != 0 && c.ClosedAt > c.DueAt}
}

// CaseView is everything a moderator needs to decide a case.
type CaseView struct {
	CaseSummary
	SubjectLabels []string        `json:"subject_labels"`
	Reports       []warden.Report `json:"reports"`
	History       []DetectionView `json:"detection_history"`
	// Evidence is what the reports cite, resolved to the logged events,
	// then the subject's recent events that carry text (messages,
	// comments, posts, profile edits), each with the rule hits on it.
	Evidence []EvidenceEvent `json:"evidence"`
	// Members, on a campaign case, are its accounts and how far each is
	// decided.
	Members   []CampaignMember    `json:"members,omitempty"`
	Linked    []LinkedAccount     `json:"linked_accounts"`
	Decisions []warden.Decision   `json:"earlier_decisions"`
	Decision  *warden.Decision    `json:"decision,omitempty"`
	Appeals   []warden.Appeal     `json:"appeals"`
	Timeline  []warden.CaseEvent  `json:"timeline"`
	Notes     []map[string]string `json:"internal_notes"`
}

// CampaignMember is one account of a campaign case.
type CampaignMember struct {
	Account    string `json:"account"`
	Reason     string `json:"reason"` // why the rule placed it in the campaign
	Status     string `json:"status"` // received, decided
	DecisionID string `json:"decision_id,omitempty"`
}

// EvidenceEvent is one logged event shown as evidence.
type EvidenceEvent struct {
	EventID string        `json:"event_id"`
	Type    string        `json:"type"`
	Time    warden.Micros `json:"time"`
	Actor   string        `json:"actor"`
	Target  string        `json:"target,omitempty"`
	Text    string        `json:"text,omitempty"`
	Action  string        `json:"action"`
	Hits    []warden.Hit  `json:"hits"`
	Cited   bool          `json:"cited"` // named by a report's evidence
}

// maxEvidence bounds the events a case view resolves.
const maxEvidence = 50

func evidenceOf(e sqlstore.SubjectEvent, cited bool) (EvidenceEvent, bool) {
	var ev warden.Event
	if json.Unmarshal([]byte(e.Body), &ev) != nil {
		return EvidenceEvent{}, false
	}
	x := EvidenceEvent{EventID: e.ID, Type: e.Type, Time: e.Time, Actor: ev.Actor, Target: ev.Target, Text: ev.Text, Action: "allow", Hits: []warden.Hit{}, Cited: cited}
	var v warden.Verdict
	if json.Unmarshal([]byte(e.Verdict), &v) == nil {
		x.Action = v.Action.String()
		if v.Hits != nil {
			x.Hits = v.Hits
		}
	}
	return x, true
}

// DetectionView is one of the subject's events the engine flagged.
type DetectionView struct {
	EventID string        `json:"event_id"`
	Type    string        `json:"type"`
	Time    warden.Micros `json:"time"`
	Action  string        `json:"action"`
	Score   float64       `json:"score"`
	Hits    []warden.Hit  `json:"hits"`
}

// LinkedAccount is another account linked to the subject in recent
// traffic, and how (never the shared value itself).
type LinkedAccount struct {
	Account string `json:"account"`
	Via     string `json:"via"` // "device", "ip", "email" or "phone"
}

// Case returns the case view.
func (s *Service) Case(ctx context.Context, id string) (*CaseView, error) {
	c, err := s.db.CaseByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, warden.Errorf(warden.ENOTFOUND, "no case %s", id)
	}
	v := &CaseView{CaseSummary: summarize(*c, s.clock()), SubjectLabels: s.labels.Of(c.SubjectID)}
	if v.Reports, err = s.db.CaseReports(ctx, id); err != nil {
		return nil, err
	}
	// Trusted flaggers' reports first (Art. 22), then oldest first.
	slices.SortStableFunc(v.Reports, func(a, b warden.Report) int {
		return boolInt(b.Source == warden.SourceTrustedFlagger) - boolInt(a.Source == warden.SourceTrustedFlagger)
	})
	account := c.Owner
	if account == "" && c.SubjectKind == warden.TargetAccount {
		account = c.SubjectID
	}
	if account != "" {
		evs, err := s.db.SubjectEvents(ctx, account, 0, nil, 500)
		if err != nil {
			return nil, err
		}
		v.History = detectionHistory(evs, 50)
		v.Linked = linkedAccounts(ctx, s.db, account, evs)
	}
	if v.Evidence, err = s.evidence(ctx, v.Reports, account); err != nil {
		return nil, err
	}
	if c.SubjectKind == warden.TargetCampaign {
		for _, r := range v.Reports {
			v.Members = append(v.Members, CampaignMember{Account: r.SubjectID, Reason: r.Description, Status: r.Status, DecisionID: r.DecisionID})
		}
	}
	decs, err := s.db.SubjectDecisions(ctx, c.SubjectKind, c.SubjectID, 20)
	if err != nil {
		return nil, err
	}
	for i := range decs {
		if decs[i].ID == c.DecisionID {
			d := decs[i]
			v.Decision = &d
		} else {
			v.Decisions = append(v.Decisions, decs[i])
		}
		if decs[i].Note != "" {
			v.Notes = append(v.Notes, map[string]string{"decision": decs[i].ID, "note": decs[i].Note})
		}
	}
	if v.Appeals, err = s.db.CaseAppeals(ctx, c.ID); err != nil {
		return nil, err
	}
	if v.Timeline, err = s.db.CaseEvents(ctx, id); err != nil {
		return nil, err
	}
	return v, nil
}

// evidence resolves the reports' evidence ids that name logged events, and
// adds account's recent events with text.
func (s *Service) evidence(ctx context.Context, reports []warden.Report, account string) ([]EvidenceEvent, error) {
	out := []EvidenceEvent{}
	seen := map[string]bool{}
	var ids []string
	for _, r := range reports {
		for _, id := range r.Evidence {
			if !seen[id] && len(ids) < maxEvidence {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	cited, err := s.db.EventsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(cited, func(a, b sqlstore.SubjectEvent) int { return cmp.Compare(a.Time, b.Time) })
	for _, e := range cited {
		if x, ok := evidenceOf(e, true); ok {
			out = append(out, x)
		}
	}
	if account == "" {
		return out, nil
	}
	recent, err := s.db.SubjectEvents(ctx, account, 0, textTypes, maxEvidence)
	if err != nil {
		return nil, err
	}
	for _, e := range recent {
		if len(out) >= maxEvidence {
			break
		}
		if seen[e.ID] {
			continue
		}
		if x, ok := evidenceOf(e, false); ok && x.Text != "" {
			out = append(out, x)
		}
	}
	return out, nil
}

// textTypes are the event types whose text is evidence.
var textTypes = []string{warden.EventMessage, warden.EventComment, warden.EventPost, warden.EventProfileUpdate}

func detectionHistory(evs []sqlstore.SubjectEvent, limit int) []DetectionView {
	out := []DetectionView{}
	for _, e := range evs {
		if !flagged(e.Verdict) {
			continue
		}
		var v warden.Verdict
		if json.Unmarshal([]byte(e.Verdict), &v) != nil {
			continue
		}
		out = append(out, DetectionView{EventID: e.ID, Type: e.Type, Time: e.Time, Action: v.Action.String(), Score: v.Score, Hits: v.Hits})
		if len(out) == limit {
			break
		}
	}
	return out
}

// linkedAccounts finds other accounts linked to the subject as the
// linked-accounts detector links them (detect.Links: a shared device, IP
// address, normalised email or phone), in the most recent events of the
// log (a bounded scan: the log has no index on those fields).
func linkedAccounts(ctx context.Context, db *sqlstore.DB, account string, evs []sqlstore.SubjectEvent) []LinkedAccount {
	mine := map[detect.Link]bool{}
	for _, e := range evs {
		var ev warden.Event
		if json.Unmarshal([]byte(e.Body), &ev) == nil {
			for _, l := range detect.Links(&ev) {
				mine[l] = true
			}
		}
	}
	out := []LinkedAccount{}
	if len(mine) == 0 {
		return out
	}
	seen := map[string]bool{account: true}
	// A failed scan leaves the list short; the case view is still useful.
	_ = db.RecentEvents(ctx, 20000, func(r sqlstore.EventRecord) error {
		if seen[r.Actor] || len(out) >= 50 {
			return nil
		}
		var ev warden.Event
		if json.Unmarshal(r.Body, &ev) != nil {
			return nil
		}
		for _, l := range detect.Links(&ev) {
			if mine[l] {
				out = append(out, LinkedAccount{Account: r.Actor, Via: l.Via})
				seen[r.Actor] = true
				return nil
			}
		}
		return nil
	})
	return out
}

// Appeals lists appeals with status ("" for all), oldest first.
func (s *Service) Appeals(ctx context.Context, status string) ([]warden.Appeal, error) {
	as, err := s.db.Appeals(ctx, status, 500)
	if as == nil {
		as = []warden.Appeal{}
	}
	return as, err
}

// Decision returns one decision, or ENOTFOUND.
func (s *Service) Decision(ctx context.Context, id string) (*warden.Decision, error) {
	d, err := s.db.DecisionByID(ctx, id)
	if err == nil && d == nil {
		err = warden.Errorf(warden.ENOTFOUND, "no decision %s", id)
	}
	return d, err
}
