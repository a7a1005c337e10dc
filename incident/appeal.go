package incident

import (
	"context"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
)

// Appeal files an appeal (DSA Art. 20): by the user a restriction affects,
// naming the decision, or by a reporter against a decision not to act,
// naming the decision or their report; within six months of the decision.
// A second appeal while one is pending returns the pending one (replayed).
func (s *Service) Appeal(ctx context.Context, req AppealRequest) (*warden.Appeal, bool, error) {
	if err := req.Validate(); err != nil {
		return nil, false, err
	}
	var a *warden.Appeal
	replayed := false
	err := s.db.Incidents(ctx, func(t *sqlstore.IncidentTx) error {
		replayed = false
		now := s.clock()
		decisionID, reportID := req.DecisionID, req.ReportID
		if reportID != "" {
			r, err := t.ReportByID(ctx, reportID)
			if err != nil {
				return err
			}
			if r == nil || r.Reporter != req.Appellant {
				return warden.Errorf(warden.ENOTFOUND, "no report %s by %s", reportID, req.Appellant)
			}
			if r.DecisionID == "" {
				return warden.Errorf(warden.ECONFLICT, "report %s is not decided yet; you can appeal once we tell you our decision", reportID)
			}
			decisionID = r.DecisionID
		}
		d, err := t.Decision(ctx, decisionID)
		if err != nil {
			return err
		}
		if d == nil {
			return warden.Errorf(warden.ENOTFOUND, "no decision %s", decisionID)
		}
		// Serialise with other appeals and decisions on the subject, so a
		// double submission cannot file two pending appeals.
		if _, err := t.LockSubject(ctx, d.SubjectKind, d.SubjectID); err != nil {
			return err
		}
		kind, err := s.appealKind(ctx, t, d, req.Appellant, &reportID)
		if err != nil {
			return err
		}
		if d.ReversedAt != 0 {
			return warden.Errorf(warden.ECONFLICT, "decision %s was already reversed", d.ID)
		}
		if deadline := appealDeadline(d.DecidedAt); now.Time().After(deadline) {
			return warden.Errorf(warden.ECONFLICT, "the six-month appeal window for decision %s closed on %s", d.ID, deadline.Format(time.DateOnly))
		}
		if prev, err := t.PendingAppeal(ctx, d.ID, req.Appellant); err != nil {
			return err
		} else if prev != nil {
			a, replayed = prev, true
			return nil
		}
		a = &warden.Appeal{ID: newID("A-"), DecisionID: d.ID, CaseID: d.CaseID, ReportID: reportID, Appellant: req.Appellant,
			Kind: kind, Reason: req.Reason, Status: warden.AppealPending, FiledAt: now}
		if err := t.InsertAppeal(ctx, a); err != nil {
			return err
		}
		if err := audit(ctx, t, d.CaseID, "user:"+req.Appellant, "appeal_filed", now, map[string]any{"appeal": a.ID, "kind": kind, "decision": d.ID}); err != nil {
			return err
		}
		_, err = s.notifyMsg(ctx, t, req.Appellant, warden.NoticeAppealReceived, appealReceivedMessage(a),
			warden.Notification{ReportID: reportID, CaseID: d.CaseID, DecisionID: d.ID})
		return err
	})
	if err != nil {
		return nil, false, err
	}
	s.kick()
	return a, replayed, nil
}

// appealKind says who the appellant is to the decision, and refuses anyone
// else. For a reporter it fills in their report id.
func (s *Service) appealKind(ctx context.Context, t *sqlstore.IncidentTx, d *warden.Decision, appellant string, reportID *string) (string, error) {
	if d.Restrictive() && appellant == d.Owner && *reportID == "" {
		return warden.AppealAffected, nil
	}
	if !d.Restrictive() {
		reports, err := t.CaseReports(ctx, d.CaseID)
		if err != nil {
			return "", err
		}
		for _, r := range reports {
			if r.Reporter == appellant && r.Source != warden.SourceDetection && (*reportID == "" || *reportID == r.ID) {
				*reportID = r.ID
				return warden.AppealNotifier, nil
			}
		}
	}
	if d.Restrictive() && *reportID != "" {
		return "", warden.Errorf(warden.ECONFLICT, "your report led to action (%s); a reporter can appeal only a decision not to act", actionPhrase[d.Action])
	}
	return "", warden.Errorf(warden.EFORBIDDEN, "only the user a decision restricts, or a reporter against a decision not to act, may appeal it")
}

// DecideAppeal records a person's decision on an appeal. Appeals are never
// decided automatically (Art. 20(6)) nor by the moderator who took the
// contested decision. A reversal undoes the measure (labels, the standing
// decision) and tells everyone concerned; reversing a decision not to act
// reopens the case with its reports.
func (s *Service) DecideAppeal(ctx context.Context, p *warden.Principal, appealID string, req AppealDecisionRequest) (*warden.Appeal, error) {
	if p == nil || p.Kind == "engine" {
		return nil, warden.Errorf(warden.EFORBIDDEN, "appeals are decided by a person")
	}
	var a *warden.Appeal
	var removed []warden.Label
	err := s.db.Incidents(ctx, func(t *sqlstore.IncidentTx) error {
		removed = nil
		var err error
		a, err = t.Appeal(ctx, appealID)
		if err != nil {
			return err
		}
		if a == nil {
			return warden.Errorf(warden.ENOTFOUND, "no appeal %s", appealID)
		}
		if a.Status != warden.AppealPending {
			return warden.Errorf(warden.ECONFLICT, "appeal %s was already decided (%s)", a.ID, a.Status)
		}
		d, err := t.Decision(ctx, a.DecisionID)
		if err != nil {
			return err
		}
		if d.DecidedBy == principalID(p) {
			return warden.Errorf(warden.ECONFLICT, "you took decision %s; another moderator must decide its appeal", d.ID)
		}
		if _, err := t.LockSubject(ctx, d.SubjectKind, d.SubjectID); err != nil {
			return err
		}
		now := s.clock()
		a.Status, a.DecidedAt, a.DecidedBy, a.Explanation = req.Outcome, now, principalID(p), req.Explanation
		if err := t.DecideAppeal(ctx, a); err != nil {
			return err
		}
		if err := audit(ctx, t, d.CaseID, actorOf(p), "appeal_decided", now, map[string]any{"appeal": a.ID, "outcome": a.Status}); err != nil {
			return err
		}
		if _, err := s.notifyMsg(ctx, t, a.Appellant, warden.NoticeAppealDecided, appealDecidedMessage(a),
			warden.Notification{ReportID: a.ReportID, CaseID: d.CaseID, DecisionID: d.ID}); err != nil {
			return err
		}
		if a.Status == warden.AppealReversed {
			removed, err = s.reverse(ctx, t, p, d, a, now)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, l := range removed {
		s.labels.remove(l)
	}
	s.kick()
	return a, nil
}

// reverse undoes d and tells the affected user, the reporters and the users
// sent exposure notices (the appellant has their appeal decision already).
func (s *Service) reverse(ctx context.Context, t *sqlstore.IncidentTx, p *warden.Principal, d *warden.Decision, a *warden.Appeal, now warden.Micros) ([]warden.Label, error) {
	if err := t.ReverseDecision(ctx, d.ID, now); err != nil {
		return nil, err
	}
	d.ReversedAt = now
	if err := s.queueLifted(ctx, t, d, now); err != nil {
		return nil, err
	}
	removed, err := t.DeleteDecisionLabels(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	subj, err := t.LockSubject(ctx, d.SubjectKind, d.SubjectID)
	if err != nil {
		return nil, err
	}
	if subj.DecisionID == d.ID {
		subj.DecisionID = ""
	}
	reports, err := t.CaseReports(ctx, d.CaseID)
	if err != nil {
		return nil, err
	}
	ref := warden.Notification{CaseID: d.CaseID, DecisionID: d.ID}
	if d.Restrictive() && d.Owner != "" && d.Owner != a.Appellant {
		if _, err := s.notifyMsg(ctx, t, d.Owner, warden.NoticeReversal, reversalMessage(d, "affected"), ref); err != nil {
			return nil, err
		}
	}
	for i := range reports {
		r := &reports[i]
		if r.Source == warden.SourceDetection || r.Reporter == a.Appellant {
			continue
		}
		n := ref
		n.ReportID = r.ID
		if _, err := s.notifyMsg(ctx, t, r.Reporter, warden.NoticeReversal, reversalMessage(d, "reporter"), n); err != nil {
			return nil, err
		}
	}
	exposed, err := t.NoticeRecipients(ctx, d.ID, warden.NoticeExposure)
	if err != nil {
		return nil, err
	}
	for _, u := range exposed {
		if _, err := s.notifyMsg(ctx, t, u, warden.NoticeReversal, reversalMessage(d, "exposed"), ref); err != nil {
			return nil, err
		}
	}
	if !d.Restrictive() && subj.OpenCase == "" {
		// A decision not to act, reversed: the case needs a new decision.
		// Its reports move to a new case at the head of its queue.
		c, err := t.Case(ctx, d.CaseID)
		if err != nil {
			return nil, err
		}
		nc := *c
		nc.ID, nc.Status, nc.Assignee, nc.AssignedAt, nc.ClosedAt, nc.DecisionID, nc.OpenedAt = newID("C-"), warden.CaseOpen, "", 0, 0, "", now
		nc.Priority += 50 // a reversed non-action is overdue by definition
		q := route(s.opt.Queues, &nc)
		nc.Queue, nc.DueAt = q.Name, now+warden.Micros(q.SLA.Microseconds())
		if err := t.InsertCase(ctx, &nc); err != nil {
			return nil, err
		}
		if _, err := t.MoveReports(ctx, c.ID, nc.ID); err != nil {
			return nil, err
		}
		if err := audit(ctx, t, nc.ID, actorOf(p), "case_reopened", now, map[string]any{"from_case": c.ID, "appeal": a.ID}); err != nil {
			return nil, err
		}
		subj.OpenCase = nc.ID
	}
	if err := t.SetSubject(ctx, d.SubjectKind, d.SubjectID, subj); err != nil {
		return nil, err
	}
	return removed, audit(ctx, t, d.CaseID, actorOf(p), "reversed", now, map[string]any{"decision": d.ID, "labels_removed": len(removed)})
}
