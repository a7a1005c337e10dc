// Package incident turns user reports into cases that are resolved fast with
// the reporter kept in the loop: intake with receipts, one open case per
// subject, priority and queues with SLAs, decisions that become enforcement
// labels and DSA statements of reasons, notices to reporters, to the affected
// user and to users a removed bad actor had contacted, appeals, delivery
// (inbox, signed webhooks, e-mail) and the transparency report.
//
// Every state change and the notices it causes commit in one transaction, so
// a committed report always has its receipt and a committed decision always
// has its notices; delivery reads them from an outbox afterwards.
package incident

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
)

// Options configure a Service. Only DB is required.
type Options struct {
	DB     *sqlstore.DB
	Logger *slog.Logger
	// Queues and their routing rules, first match wins; DefaultQueues if nil.
	Queues []Queue
	// Labels receives enforcement labels; a new set if nil.
	Labels *Labels
	// Now is the clock; time.Now if nil.
	Now func() time.Time
	// DedupeWindow: a second report by the same reporter on the same subject
	// and category within it returns the first one. 24h if zero.
	DedupeWindow time.Duration
	// NoActionStanding is how long a decision not to act answers new reports
	// on the subject at once (Meta's "apply the original decision"); after
	// it, a new report opens a new case, since the subject may have changed.
	// 30 days if zero.
	NoActionStanding time.Duration
	// Abuse is the Art. 23 procedure for reporters whose notices are
	// mostly unfounded; DefaultAbusePolicy if zero.
	Abuse AbusePolicy
	// PolicyURL is the public terms page cited in statements of reasons.
	PolicyURL string
	// AutoThreshold is the detection confidence at or above which the engine
	// may decide on its own; 0.97 if zero.
	AutoThreshold float64
	// Outbound sends notices and decision events by webhook and e-mail (a
	// notify.Worker); nil keeps them in the inbox only.
	Outbound Outbound
	// Registerer, when set, gets the workflow's operations figures (cases
	// per queue, SLA breaches, notices).
	Registerer prometheus.Registerer
}

// Service runs the incident workflow.
type Service struct {
	opt    Options
	db     *sqlstore.DB
	labels *Labels
	// strikes, when set, lists an account's live ladder strikes (SetStrikes).
	strikes atomic.Pointer[func(account string, now time.Time) []Strike]
	// pending, when set, lists its delayed restrictions (SetPending).
	pending atomic.Pointer[func(account string) []StandingDecision]
	now     func() time.Time
	queue   intakeQueue
}

// New returns a Service and loads the enforcement labels from the store.
func New(ctx context.Context, opt Options) (*Service, error) {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Queues == nil {
		opt.Queues = DefaultQueues
	}
	if len(opt.Queues) == 0 {
		return nil, fmt.Errorf("incident: at least one queue is needed")
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Labels == nil {
		opt.Labels = NewLabels()
		opt.Labels.now = opt.Now // timed labels expire on the service's clock
	}
	if opt.DedupeWindow == 0 {
		opt.DedupeWindow = 24 * time.Hour
	}
	if opt.NoActionStanding == 0 {
		opt.NoActionStanding = 30 * 24 * time.Hour
	}
	if opt.Abuse == (AbusePolicy{}) {
		opt.Abuse = DefaultAbusePolicy
	}
	if opt.AutoThreshold == 0 {
		opt.AutoThreshold = 0.97
	}
	s := &Service{opt: opt, db: opt.DB, labels: opt.Labels, now: opt.Now}
	if opt.Registerer != nil {
		if err := opt.Registerer.Register(&metrics{db: s.db, now: opt.Now}); err != nil {
			return nil, fmt.Errorf("register incident metrics: %w", err)
		}
	}
	if err := s.labels.Load(ctx, s.db); err != nil {
		return nil, fmt.Errorf("load labels: %w", err)
	}
	return s, nil
}

// Labels returns the live label set, for the rule engine.
func (s *Service) Labels() *Labels { return s.labels }

// Queues returns the configured queues.
func (s *Service) Queues() []Queue { return s.opt.Queues }

func (s *Service) clock() warden.Micros { return warden.MicrosOf(s.now()) }

// newID returns prefix + 12 Crockford base32 characters: short enough to read
// out on a support call, random enough never to collide or be guessed.
func newID(prefix string) string {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	b := make([]byte, 12)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[b[i]&31]
	}
	return prefix + string(b)
}

// audit appends a case event with a JSON detail.
func audit(ctx context.Context, t *sqlstore.IncidentTx, caseID, actor, kind string, at warden.Micros, detail map[string]any) error {
	var raw []byte
	if detail != nil {
		raw, _ = json.Marshal(detail)
	}
	return t.AddCaseEvent(ctx, warden.CaseEvent{CaseID: caseID, Actor: actor, Kind: kind, Detail: raw, At: at})
}

// actorOf names who acted, for the audit log.
func actorOf(p *warden.Principal) string {
	if p == nil {
		return "system"
	}
	if p.Kind == "engine" && p.Name != "" {
		return "engine:" + p.Name // the rule that acted
	}
	return p.Kind + ":" + p.ID
}

// notify stores a notification in the user's inbox and queues its delivery
// on every configured channel, in the caller's transaction. It reports false
// when a once-only notice (Dedupe) had already been sent.
func (s *Service) notify(ctx context.Context, t *sqlstore.IncidentTx, n *warden.Notification) (bool, error) {
	n.ID = newID("N-")
	if n.CreatedAt == 0 {
		n.CreatedAt = s.clock()
	}
	ok, err := t.InsertNotification(ctx, n)
	if err != nil || !ok {
		return ok, err
	}
	return true, s.queueDelivery(ctx, t, n)
}

func (s *Service) notifyMsg(ctx context.Context, t *sqlstore.IncidentTx, user, kind string, m message, n warden.Notification) (bool, error) {
	n.UserID, n.Kind, n.Title, n.Body = user, kind, m.title, m.body
	return s.notify(ctx, t, &n)
}

// ---- intake ----

// Report files a report for principal p. It returns the report and whether
// it is a replay of an earlier one (same idempotency key, or the same
// reporter, subject and category within the dedupe window): a replay changes
// nothing and sends nothing. The receipt is in the reporter's inbox when
// Report returns.
func (s *Service) Report(ctx context.Context, p *warden.Principal, req ReportRequest, idemKey string) (*warden.Report, bool, error) {
	if err := req.Validate(); err != nil {
		return nil, false, err
	}
	if req.ID != "" {
		idemKey = req.ID
	}
	r := &warden.Report{
		ID: newID("R-"), Reporter: req.Reporter, Source: warden.SourceUser,
		SubjectKind: req.Subject.Kind, SubjectID: req.Subject.ID, Category: req.Category,
		Description: req.Description, Evidence: req.Evidence, Status: warden.ReportReceived,
	}
	if p != nil && p.Role == warden.RoleTrustedFlagger {
		r.Source, r.Flagger = warden.SourceTrustedFlagger, p.ID
	}
	if idemKey != "" {
		k := principalID(p) + ":" + idemKey
		r.IdemKey = &k
	}
	q := &intakeReq{p: p, r: r, owner: req.Subject.Owner, email: req.Email, idemKey: idemKey, done: make(chan struct{})}
	s.submit(q)
	if q.err != nil {
		return nil, false, q.err
	}
	if q.replay != nil {
		return q.replay, true, nil
	}
	return r, false, nil
}

// fileReport is one report's part of an intake transaction. A *warden.Error
// it returns fails only this report; it is returned before anything but the
// subject's row is written.
func (s *Service) fileReport(ctx context.Context, t *sqlstore.IncidentTx, q *intakeReq) error {
	r := q.r
	subj, err := t.LockSubject(ctx, r.SubjectKind, r.SubjectID)
	if err != nil {
		return err
	}
	if r.IdemKey != nil {
		prev, err := t.ReportByIdemKey(ctx, *r.IdemKey)
		if err != nil {
			return err
		}
		if prev != nil {
			if prev.Reporter != r.Reporter || prev.SubjectKind != r.SubjectKind || prev.SubjectID != r.SubjectID || prev.Category != r.Category {
				return warden.FieldErrorf("id", "report id %q was already used for a different report", q.idemKey)
			}
			q.replay = prev
			return nil
		}
	}
	prev, err := t.RecentReport(ctx, r.Reporter, r.SubjectKind, r.SubjectID, r.Category, r.ReceivedAt-warden.Micros(s.opt.DedupeWindow.Microseconds()))
	if err != nil {
		return err
	}
	if prev != nil {
		q.replay = prev
		return nil
	}
	if q.email != "" {
		if err := t.SetContact(ctx, r.Reporter, q.email, r.ReceivedAt); err != nil {
			return err
		}
	}
	cred, err := s.screenReporter(ctx, t, r)
	if err != nil {
		return err
	}
	return s.intake(ctx, t, q.p, r, subj, q.owner, cred)
}

func principalID(p *warden.Principal) string {
	if p == nil {
		return "system"
	}
	return p.ID
}

// intake attaches r to the subject's open case, answers it with the
// subject's standing decision, or opens a new case; then sends the receipt.
// cred is the reporter's credibility in [0,1] (see credibility).
func (s *Service) intake(ctx context.Context, t *sqlstore.IncidentTx, p *warden.Principal, r *warden.Report, subj sqlstore.SubjectState, owner string, cred float64) error {
	now := r.ReceivedAt
	var standing *warden.Decision
	if subj.OpenCase == "" && subj.DecisionID != "" {
		d, err := t.Decision(ctx, subj.DecisionID)
		if err != nil {
			return err
		}
		if d != nil && s.stands(d, now) {
			standing = d
		}
	}
	var c *warden.Case
	var err error
	switch {
	case subj.OpenCase != "":
		c, err = s.joinCase(ctx, t, r, subj.OpenCase, cred)
	case standing != nil:
		// Meta's practice (anchors §6.1): a duplicate notice on a decided
		// subject gets the original decision, so decisions never conflict.
		r.CaseID, r.Status, r.DecisionID, r.DecidedAt = standing.CaseID, warden.ReportDecided, standing.ID, now
	default:
		c, err = s.openCase(ctx, t, r, owner, cred)
		if err == nil {
			subj.OpenCase = c.ID
			err = t.SetSubject(ctx, r.SubjectKind, r.SubjectID, subj)
		}
	}
	if err != nil {
		return err
	}
	if err := t.InsertReport(ctx, r); err != nil {
		return err
	}
	if err := audit(ctx, t, r.CaseID, actorOf(p), "report_added", now, map[string]any{"report": r.ID, "source": r.Source, "category": r.Category}); err != nil {
		return err
	}
	if r.Source == warden.SourceDetection {
		return nil // the engine is not a user: no inbox
	}
	ref := warden.Notification{ReportID: r.ID, CaseID: r.CaseID}
	if _, err := s.notifyMsg(ctx, t, r.Reporter, warden.NoticeReceipt, receiptMessage(r), ref); err != nil {
		return err
	}
	if c != nil && c.Status == warden.CaseInReview {
		r.Status = warden.ReportInReview
		if err := t.SetReportsStatus(ctx, c.ID, warden.ReportInReview, "", now); err != nil {
			return err
		}
		_, err = s.notifyMsg(ctx, t, r.Reporter, warden.NoticeInReview, inReviewMessage(r), ref)
		return err
	}
	if standing != nil {
		ref.DecisionID = standing.ID
		_, err = s.notifyMsg(ctx, t, r.Reporter, warden.NoticeDecision, reporterDecisionMessage(r, standing), ref)
		return err
	}
	return nil
}

// stands reports whether d still answers new reports on its subject.
func (s *Service) stands(d *warden.Decision, now warden.Micros) bool {
	if d.ReversedAt != 0 || d.EndsAt != 0 && d.EndsAt <= now {
		return false
	}
	if d.Restrictive() {
		return true
	}
	return now-d.DecidedAt < warden.Micros(s.opt.NoActionStanding.Microseconds())
}

// signals reads the subject's reach and detection history from the event
// log: distinct users it messaged, followed or commented on in the last 30
// days, and its recent events the engine flagged.
func (s *Service) signals(ctx context.Context, t *sqlstore.IncidentTx, account string, now warden.Micros) (reach, detections int, err error) {
	if account == "" {
		return 0, 0, nil
	}
	evs, err := t.SubjectEvents(ctx, account, now-warden.Micros((30*24*time.Hour).Microseconds()), nil, 2000)
	if err != nil {
		return 0, 0, err
	}
	seen := map[string]bool{}
	for _, e := range evs {
		switch e.Type {
		case warden.EventMessage, warden.EventFollow, warden.EventComment:
			if e.Target != "" && e.Target != account {
				seen[e.Target] = true
			}
		}
		if flagged(e.Verdict) {
			detections++
		}
	}
	return len(seen), detections, nil
}

// flagged reports whether a stored verdict had an action other than allow or
// any rule hit.
func flagged(verdict string) bool {
	var v struct {
		Action string            `json:"action"`
		Hits   []json.RawMessage `json:"hits"`
	}
	if json.Unmarshal([]byte(verdict), &v) != nil {
		return false
	}
	return v.Action != "" && v.Action != "allow" || len(v.Hits) > 0
}

func (s *Service) openCase(ctx context.Context, t *sqlstore.IncidentTx, r *warden.Report, owner string, cred float64) (*warden.Case, error) {
	account := r.SubjectID
	if r.SubjectKind == warden.TargetContent {
		account = owner
	}
	reach, detections, err := s.signals(ctx, t, account, r.ReceivedAt)
	if err != nil {
		return nil, err
	}
	c := &warden.Case{
		ID: newID("C-"), SubjectKind: r.SubjectKind, SubjectID: r.SubjectID, Owner: account,
		Status: warden.CaseOpen, Category: r.Category, Trusted: r.Source == warden.SourceTrustedFlagger,
		Automated: r.Source == warden.SourceDetection, Reports: 1, Reach: reach, Detections: detections, OpenedAt: r.ReceivedAt,
	}
	c.Priority = priority(priorityInput{category: c.Category, reach: reach, detections: detections, reporters: 1, trusted: c.Trusted, credibility: cred})
	q := route(s.opt.Queues, c)
	c.Queue, c.DueAt = q.Name, r.ReceivedAt+warden.Micros(q.SLA.Microseconds())
	r.CaseID = c.ID
	if err := t.InsertCase(ctx, c); err != nil {
		return nil, err
	}
	return c, audit(ctx, t, c.ID, "system", "case_opened", r.ReceivedAt, map[string]any{"queue": c.Queue, "priority": c.Priority, "reach": reach, "detections": detections})
}

func (s *Service) joinCase(ctx context.Context, t *sqlstore.IncidentTx, r *warden.Report, caseID string, cred float64) (*warden.Case, error) {
	c, err := t.Case(ctx, caseID)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, fmt.Errorf("subject %s:%s points at missing case %s", r.SubjectKind, r.SubjectID, caseID)
	}
	r.CaseID = c.ID
	c.Reports++
	if r.Source == warden.SourceTrustedFlagger {
		c.Trusted = true
	}
	if severity[r.Category] > severity[c.Category] {
		c.Category = r.Category
	}
	// Priority only rises as reports join: a low-credibility reporter adds
	// a voice, never pushes a case down.
	c.Priority = max(c.Priority, priority(priorityInput{category: c.Category, reach: c.Reach, detections: c.Detections,
		reporters: c.Reports, trusted: c.Trusted, credibility: cred}))
	q := route(s.opt.Queues, c)
	if q.Name != c.Queue {
		// The new lane's clock starts with the report that moved the case
		// there (a trusted flagger's notice is due an hour after it came),
		// and a move never postpones the deadline.
		if err := audit(ctx, t, c.ID, "system", "rerouted", r.ReceivedAt, map[string]any{"from": c.Queue, "to": q.Name}); err != nil {
			return nil, err
		}
		c.Queue, c.DueAt = q.Name, min(c.DueAt, r.ReceivedAt+warden.Micros(q.SLA.Microseconds()))
	}
	return c, t.UpdateCase(ctx, c)
}

// ---- assignment ----

// Claim assigns the case to p, atomically: a case another moderator holds
// is refused with ECONFLICT. Claiming a case one already holds is a no-op.
// On the first claim every reporter is told their report is in review.
func (s *Service) Claim(ctx context.Context, p *warden.Principal, caseID string) (*warden.Case, error) {
	var c *warden.Case
	err := s.db.Incidents(ctx, func(t *sqlstore.IncidentTx) error {
		var err error
		c, err = t.Case(ctx, caseID)
		if err != nil {
			return err
		}
		if c == nil {
			return warden.Errorf(warden.ENOTFOUND, "no case %s", caseID)
		}
		if c.ClosedAt != 0 {
			return warden.Errorf(warden.ECONFLICT, "case %s is already decided", caseID)
		}
		// Under the subject's lock, a report joining at this moment either
		// commits first (and is told "in review" here) or sees the claim.
		if _, err := t.LockSubject(ctx, c.SubjectKind, c.SubjectID); err != nil {
			return err
		}
		now := s.clock()
		ok, err := t.ClaimCase(ctx, caseID, principalID(p), now)
		if err != nil {
			return err
		}
		if !ok {
			return warden.Errorf(warden.ECONFLICT, "case %s is being reviewed by another moderator", caseID)
		}
		if c.Assignee == principalID(p) {
			return nil
		}
		c.Assignee, c.AssignedAt, c.Status = principalID(p), now, warden.CaseInReview
		if err := audit(ctx, t, caseID, actorOf(p), "claimed", now, nil); err != nil {
			return err
		}
		reports, err := t.CaseReports(ctx, caseID)
		if err != nil {
			return err
		}
		if err := t.SetReportsStatus(ctx, caseID, warden.ReportInReview, "", now); err != nil {
			return err
		}
		for i := range reports {
			r := &reports[i]
			if r.Status != warden.ReportReceived || r.Source == warden.SourceDetection {
				continue
			}
			if _, err := s.notifyMsg(ctx, t, r.Reporter, warden.NoticeInReview, inReviewMessage(r), warden.Notification{ReportID: r.ID, CaseID: r.CaseID}); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		s.kick()
	}
	return c, err
}

// Next claims the most urgent unassigned case in queue ("" for any) for p,
// and returns nil when there is none. Two moderators calling Next at once
// get different cases.
func (s *Service) Next(ctx context.Context, p *warden.Principal, queue string) (*warden.Case, error) {
	for range 20 {
		id, err := s.db.NextCase(ctx, queue)
		if err != nil || id == "" {
			return nil, err
		}
		c, err := s.Claim(ctx, p, id)
		if warden.ErrorCode(err) == warden.ECONFLICT {
			continue // another moderator took it first
		}
		return c, err
	}
	return nil, warden.Errorf(warden.ECONFLICT, "the queue is busy; try again")
}

// Release puts a case p holds back in its queue.
func (s *Service) Release(ctx context.Context, p *warden.Principal, caseID string) error {
	ok, err := s.db.ReleaseCase(ctx, caseID, principalID(p))
	if err != nil {
		return err
	}
	if !ok {
		if c, err := s.db.CaseByID(ctx, caseID); err != nil {
			return err
		} else if c == nil {
			return warden.Errorf(warden.ENOTFOUND, "no case %s", caseID)
		}
		return warden.Errorf(warden.ECONFLICT, "you do not hold case %s", caseID)
	}
	return s.db.AddCaseEvent(ctx, warden.CaseEvent{CaseID: caseID, Actor: actorOf(p), Kind: "released", At: s.clock()})
}

// ---- decisions ----

// decisionInput is a decision before it is taken.
type decisionInput struct {
	DecisionRequest
	duration  time.Duration
	automated bool
	by        *warden.Principal
}

// Decide takes p's decision on a case. The case must be unassigned or held
// by p. Everything the decision causes (labels, statement of reasons,
// notices to the reporters, the affected user and exposed users) commits
// with it.
func (s *Service) Decide(ctx context.Context, p *warden.Principal, caseID string, req DecisionRequest) (*warden.Decision, error) {
	dur, err := req.Validate()
	if err != nil {
		return nil, err
	}
	var d *warden.Decision
	var labels []warden.Label
	err = s.db.Incidents(ctx, func(t *sqlstore.IncidentTx) error {
		c, err := t.Case(ctx, caseID)
		if err != nil {
			return err
		}
		if c == nil {
			return warden.Errorf(warden.ENOTFOUND, "no case %s", caseID)
		}
		if _, err := t.LockSubject(ctx, c.SubjectKind, c.SubjectID); err != nil {
			return err
		}
		in := decisionInput{DecisionRequest: req, duration: dur, by: p}
		if c.SubjectKind == warden.TargetCampaign {
			ds, ls, err := s.decideCampaign(ctx, t, c, in)
			if err == nil {
				d, labels = ds[0], ls
			}
			return err
		}
		if len(req.Members) > 0 {
			return warden.FieldErrorf("members", "members applies to campaign cases; case %s is about one %s", c.ID, c.SubjectKind)
		}
		d, labels, err = s.decide(ctx, t, caseID, in)
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, l := range labels {
		s.labels.put(l)
	}
	s.kick()
	return d, nil
}

// exposureCategories are those whose removal warrants telling the users the
// account contacted: they may be mid-way through being defrauded.
var exposureCategories = []string{warden.CategoryScam, warden.CategoryFakeProfile, warden.CategoryImpersonation}

// ExposureWindow is how far back exposure notices look.
const ExposureWindow = 90 * 24 * time.Hour

func (s *Service) decide(ctx context.Context, t *sqlstore.IncidentTx, caseID string, in decisionInput) (*warden.Decision, []warden.Label, error) {
	c, err := t.Case(ctx, caseID) // re-read under the subject lock
	if err != nil {
		return nil, nil, err
	}
	if c.ClosedAt != 0 {
		return nil, nil, warden.Errorf(warden.ECONFLICT, "case %s is already decided", caseID)
	}
	if !in.automated && c.Assignee != "" && c.Assignee != principalID(in.by) {
		return nil, nil, warden.Errorf(warden.ECONFLICT, "case %s is being reviewed by another moderator", caseID)
	}
	reports, err := t.CaseReports(ctx, caseID)
	if err != nil {
		return nil, nil, err
	}
	now := s.clock()
	d := &warden.Decision{
		ID: newID("D-"), CaseID: c.ID, SubjectKind: c.SubjectKind, SubjectID: c.SubjectID, Owner: c.Owner,
		Action: in.Action, Category: c.Category, Policy: in.Policy, Explanation: in.Explanation, Note: in.Note,
		Source: warden.SourceDetection, Automated: in.automated, Detected: c.Automated,
		DecidedBy: principalID(in.by), DecidedAt: now,
	}
	if in.duration > 0 {
		d.EndsAt = now + warden.Micros(in.duration.Microseconds())
	}
	identifiers := []string{c.SubjectID, c.Owner}
	users := 0
	for _, r := range reports {
		identifiers = append(identifiers, r.Reporter)
		switch r.Source {
		case warden.SourceTrustedFlagger:
			d.Source = warden.SourceTrustedFlagger
		case warden.SourceUser:
			users++
			if d.Source == warden.SourceDetection {
				d.Source = warden.SourceUser
			}
		}
	}
	if err := checkActionFits(d.SubjectKind, d.Action); err != nil {
		return nil, nil, err
	}
	for field, text := range map[string]string{"policy": d.Policy, "explanation": d.Explanation} {
		if kind := warden.PersonalData(text, identifiers...); kind != "" {
			return nil, nil, warden.FieldErrorf(field, "%s holds %s; it is shown to the user and published in the statement of reasons, so leave personal data out (put it in the internal note)", field, kind)
		}
	}
	if err := s.record(ctx, t, d, c, users+boolInt(d.Source == warden.SourceTrustedFlagger), identifiers); err != nil {
		return nil, nil, err
	}
	c.Status, c.ClosedAt, c.DecisionID = warden.CaseClosed, now, d.ID
	if c.Assignee == "" {
		c.Assignee, c.AssignedAt = d.DecidedBy, now
	}
	if err := t.UpdateCase(ctx, c); err != nil {
		return nil, nil, err
	}
	if err := t.SetReportsStatus(ctx, c.ID, warden.ReportDecided, d.ID, now); err != nil {
		return nil, nil, err
	}
	if err := t.SetSubject(ctx, c.SubjectKind, c.SubjectID, sqlstore.SubjectState{DecisionID: d.ID}); err != nil {
		return nil, nil, err
	}
	labels := decisionLabels(d)
	for _, l := range labels {
		if err := t.PutLabel(ctx, l); err != nil {
			return nil, nil, err
		}
	}
	detail := map[string]any{"decision": d.ID, "action": d.Action, "policy": d.Policy, "automated": d.Automated}
	if d.Note != "" {
		detail["note"] = d.Note
	}
	if err := audit(ctx, t, c.ID, actorOf(in.by), "decided", now, detail); err != nil {
		return nil, nil, err
	}
	for i := range reports {
		r := &reports[i]
		if r.Source == warden.SourceDetection {
			continue
		}
		ref := warden.Notification{ReportID: r.ID, CaseID: c.ID, DecisionID: d.ID}
		if _, err := s.notifyMsg(ctx, t, r.Reporter, warden.NoticeDecision, reporterDecisionMessage(r, d), ref); err != nil {
			return nil, nil, err
		}
	}
	if d.Restrictive() && d.Owner != "" {
		n := warden.Notification{CaseID: c.ID, DecisionID: d.ID, Data: statementNotice(d)}
		if _, err := s.notifyMsg(ctx, t, d.Owner, warden.NoticeStatement, statementMessage(d), n); err != nil {
			return nil, nil, err
		}
	}
	if err := s.exposureNotices(ctx, t, d, reports); err != nil {
		return nil, nil, err
	}
	return d, labels, nil
}

// record stores decision d taken on case c, with its statement of reasons
// when it restricts (notices counts the notices behind it; identifiers
// are what must not appear in the statement) and its webhooks.
func (s *Service) record(ctx context.Context, t *sqlstore.IncidentTx, d *warden.Decision, c *warden.Case, notices int, identifiers []string) error {
	if d.Restrictive() {
		content, err := t.FirstEventTime(ctx, d.Owner)
		if err != nil {
			return err
		}
		if content == 0 || content > c.OpenedAt {
			content = c.OpenedAt
		}
		if content.Time().Before(minContentDate) {
			content = warden.MicrosOf(minContentDate)
		}
		st := buildStatement(statementInput{decision: d, contentDate: content.Time(), reports: notices, trusted: c.Trusted, policyURL: s.opt.PolicyURL})
		if err := st.Check(identifiers...); err != nil {
			return err
		}
		d.SoR = marshalStatement(st)
	}
	if err := t.InsertDecision(ctx, d); err != nil {
		return err
	}
	return s.queueDecisionEvents(ctx, t, d)
}

// checkActionFits refuses measures that do not apply to the subject's kind.
func checkActionFits(kind, action string) error {
	switch {
	case kind == warden.TargetAccount && action == warden.ActRemoveContent:
		return warden.FieldErrorf("action", "remove_content applies to content; for an account use label, restrict, suspend_account or ban_account")
	case kind == warden.TargetContent && (action == warden.ActSuspendAccount || action == warden.ActBanAccount):
		return warden.FieldErrorf("action", "%s applies to accounts; for content use remove_content, label or restrict (report the account to act on it)", action)
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// statementNotice is the user-facing statement of reasons: the TDB record
// plus what the TDB leaves out (Art. 17(3)(f)): how to seek redress.
func statementNotice(d *warden.Decision) []byte {
	b, _ := json.Marshal(map[string]any{
		"decision_id":          d.ID,
		"statement_of_reasons": json.RawMessage(d.SoR),
		"redress": map[string]any{
			"appeal":           map[string]any{"how": "POST /v1/appeals with this decision_id, or the appeal link in the app", "until": appealDeadline(d.DecidedAt).Format(time.RFC3339)},
			"out_of_court":     "a certified out-of-court dispute settlement body (DSA Art. 21)",
			"judicial_redress": "the courts of your country",
		},
	})
	return b
}

// exposureNotices tells every user the removed or restricted account
// messaged, followed or commented on in the last 90 days, once each.
func (s *Service) exposureNotices(ctx context.Context, t *sqlstore.IncidentTx, d *warden.Decision, reports []warden.Report) error {
	if !d.Restrictive() || d.SubjectKind != warden.TargetAccount || !slices.Contains(exposureCategories, d.Category) {
		return nil
	}
	evs, err := t.SubjectEvents(ctx, d.SubjectID, d.DecidedAt-warden.Micros(ExposureWindow.Microseconds()),
		[]string{warden.EventMessage, warden.EventFollow, warden.EventComment}, 100000)
	if err != nil {
		return err
	}
	seen := map[string]bool{d.SubjectID: true}
	// Once per user per decision: a user the account messaged and followed
	// hears of it once; a later removal after a reversal is news again.
	dedupe := "exposure:" + d.ID
	sent := 0
	for _, e := range evs {
		user := counterpart(e)
		if user == "" || seen[user] {
			continue
		}
		seen[user] = true
		ok, err := s.notifyMsg(ctx, t, user, warden.NoticeExposure, exposureMessage(d), warden.Notification{DecisionID: d.ID, Dedupe: &dedupe})
		if err != nil {
			return err
		}
		if ok {
			sent++
		}
	}
	return audit(ctx, t, d.CaseID, "system", "exposure_notices", d.DecidedAt, map[string]any{"decision": d.ID, "sent": sent})
}

// counterpart is the user an event reached: the target account, or for a
// comment on content the content's owner when the event names it.
func counterpart(e sqlstore.SubjectEvent) string {
	var ev struct {
		TargetKind string         `json:"target_kind"`
		Attrs      map[string]any `json:"attrs"`
	}
	if e.Target == "" {
		return ""
	}
	if json.Unmarshal([]byte(e.Body), &ev) != nil {
		return e.Target
	}
	if ev.TargetKind == warden.TargetContent {
		owner, _ := ev.Attrs["target_owner"].(string)
		return owner
	}
	return e.Target
}

// ---- detections ----

// Detection is a signal from the rule engine or a model about a subject.
type Detection struct {
	Subject    SubjectRef
	Category   string
	Confidence float64 // in [0,1]
	Rule       string  // which rule or model, for the audit log
	Reason     string  // in words a moderator can read; no personal data
	// Action and Duration are what to do when Confidence reaches the
	// automatic threshold; empty Action means always queue for a human.
	Action   string
	Duration time.Duration
	// Case is what the flagging rule opens (warden.CaseAccount when
	// empty, or a campaign kind: the subject, an account, then joins a
	// campaign case); Event is the flagged event, which places the member
	// in its campaign.
	Case  string
	Event *warden.Event
}

// Detect records a detection: it joins or opens the subject's case as an
// engine report, and when the detection is confident enough and names an
// action, decides the case automatically (disclosed as such in every notice
// and in the statement of reasons). It returns the case and the decision, if
// one was taken.
func (s *Service) Detect(ctx context.Context, det Detection) (*warden.Case, *warden.Decision, error) {
	if err := det.Subject.validate("subject."); err != nil {
		return nil, nil, err
	}
	if !slices.Contains(warden.Categories, det.Category) {
		return nil, nil, warden.FieldErrorf("category", "unknown category %q", det.Category)
	}
	rule := det.Rule
	if rule == "" {
		rule = "engine"
	}
	switch det.Case {
	case "", warden.CaseAccount:
	case warden.CaseLockstep, warden.CaseText, warden.CaseLinked:
		if det.Subject.Kind != warden.TargetAccount || det.Event == nil {
			return nil, nil, warden.FieldErrorf("case", "a campaign member must be an account, with the event that flagged it")
		}
		c, err := s.detectCampaign(ctx, det, rule)
		return c, nil, err
	default:
		return nil, nil, warden.FieldErrorf("case", "case %q does not open a case for a person", det.Case)
	}
	r := &warden.Report{ID: newID("R-"), Reporter: "engine:" + rule, Source: warden.SourceDetection, SubjectKind: det.Subject.Kind,
		SubjectID: det.Subject.ID, Category: det.Category, Description: det.Reason, Status: warden.ReportReceived}
	engine := &warden.Principal{ID: "engine", Name: rule, Kind: "engine"}
	var c *warden.Case
	var d *warden.Decision
	var labels []warden.Label
	err := s.db.Incidents(ctx, func(t *sqlstore.IncidentTx) error {
		c, d, labels = nil, nil, nil
		r.ReceivedAt = s.clock()
		subj, err := t.LockSubject(ctx, r.SubjectKind, r.SubjectID)
		if err != nil {
			return err
		}
		if subj.OpenCase == "" && subj.DecisionID != "" {
			if prev, err := t.Decision(ctx, subj.DecisionID); err != nil {
				return err
			} else if prev != nil && prev.Restrictive() && s.stands(prev, r.ReceivedAt) {
				return nil // already restricted: nothing to add
			}
		}
		if err := s.intake(ctx, t, engine, r, subj, det.Subject.Owner, 0.5); err != nil {
			return err
		}
		if c, err = t.Case(ctx, r.CaseID); err != nil {
			return err
		}
		if det.Action == "" || det.Confidence < s.opt.AutoThreshold || c.Assignee != "" {
			return nil // a person decides
		}
		req := DecisionRequest{Action: det.Action, Policy: "Terms of Service: " + categoryPhrase[det.Category], Explanation: det.Reason}
		if det.Duration > 0 {
			req.Duration = det.Duration.String()
		}
		dur, err := req.Validate()
		if err != nil {
			return err
		}
		d, labels, err = s.decide(ctx, t, c.ID, decisionInput{DecisionRequest: req, duration: dur, automated: true, by: engine})
		if err == nil {
			c, err = t.Case(ctx, c.ID)
		}
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	for _, l := range labels {
		s.labels.put(l)
	}
	s.kick()
	return c, d, nil
}
