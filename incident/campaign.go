package incident

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/detect"
	"github.com/wardenhq/warden/sqlstore"
)

// Campaigns: a coordinated crowd (a lockstep cluster, a near-duplicate
// text wave, a linked-account group) is one case. The rule that flags a
// member says which kind of campaign it belongs to (case: in its YAML);
// the member joins the open campaign case of that kind that shares one of
// its keys, or opens one:
//
//   - lockstep: the targets it acted on in the hour before (a crowd acts on
//     the same targets);
//   - text: the text, normalised (case, spacing, punctuation);
//   - linked: its link identifiers (detect.Links).
//
// Keys are stored hashed, so the campaign tables hold no target ids, text
// or addresses. Each member is an engine report on the case, with the
// rule's reason: the case page lists the members and why each is in it.
// One decision applies to every member not yet decided, or to a
// selection; each member gets its own decision, statement of reasons,
// notices and webhooks, as if decided alone.

// campaignWindow is how far back a lockstep member's targets are read.
const campaignWindow = time.Hour

// campaignKeys returns the keys that place det's member in a campaign.
func campaignKeys(ctx context.Context, t *sqlstore.IncidentTx, det Detection) ([]string, error) {
	ev := det.Event
	var raw []string
	switch det.Case {
	case warden.CaseLockstep:
		if ev.Target != "" {
			raw = append(raw, ev.Target)
		}
		evs, err := t.SubjectEvents(ctx, ev.Actor, warden.MicrosOf(ev.Time.Add(-campaignWindow)), nil, 50)
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			if e.Target != "" {
				raw = append(raw, e.Target)
			}
		}
	case warden.CaseText:
		if n := normText(ev.Text); n != "" {
			raw = append(raw, n)
		}
	case warden.CaseLinked:
		for _, l := range detect.Links(ev) {
			raw = append(raw, l.Via+":"+l.Value)
		}
	}
	keys := make([]string, 0, len(raw))
	for _, r := range raw {
		sum := sha256.Sum256([]byte(det.Case + "\x00" + r))
		if k := hex.EncodeToString(sum[:12]); !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// normText is text up to case, spacing and punctuation.
func normText(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) }), " ")
}

// detectCampaign files det's member into its campaign case.
func (s *Service) detectCampaign(ctx context.Context, det Detection, rule string) (*warden.Case, error) {
	var c *warden.Case
	err := s.db.Incidents(ctx, func(t *sqlstore.IncidentTx) error {
		c = nil
		now := s.clock()
		member := det.Subject.ID
		subj, err := t.LockSubject(ctx, warden.TargetAccount, member)
		if err != nil {
			return err
		}
		if subj.DecisionID != "" {
			if prev, err := t.Decision(ctx, subj.DecisionID); err != nil {
				return err
			} else if prev != nil && prev.Restrictive() && s.stands(prev, now) {
				return nil // already restricted: nothing to add
			}
		}
		keys, err := campaignKeys(ctx, t, det)
		if err != nil || len(keys) == 0 {
			return err
		}
		id, err := t.OpenCampaign(ctx, det.Case, keys)
		if err != nil {
			return err
		}
		r := &warden.Report{ID: newID("R-"), Reporter: "engine:" + rule, Source: warden.SourceDetection, SubjectKind: warden.TargetAccount,
			SubjectID: member, Category: det.Category, Description: det.Reason, Status: warden.ReportReceived, ReceivedAt: now}
		if id == "" {
			c = &warden.Case{ID: newID("C-"), SubjectKind: warden.TargetCampaign, Status: warden.CaseOpen, Category: det.Category,
				Automated: true, Reports: 1, Detections: 1, OpenedAt: now}
			c.SubjectID = c.ID
			c.Priority = priority(priorityInput{category: c.Category, detections: 1, reporters: 1, credibility: 0.5})
			q := route(s.opt.Queues, c)
			c.Queue, c.DueAt = q.Name, now+warden.Micros(q.SLA.Microseconds())
			r.CaseID = c.ID
			if err := t.InsertCase(ctx, c); err != nil {
				return err
			}
			if err := audit(ctx, t, c.ID, "system", "campaign_opened", now, map[string]any{"kind": det.Case, "queue": c.Queue, "rule": rule}); err != nil {
				return err
			}
		} else {
			reports, err := t.CaseReports(ctx, id)
			if err != nil {
				return err
			}
			if slices.ContainsFunc(reports, func(x warden.Report) bool { return x.SubjectID == member }) {
				c, err = t.Case(ctx, id)
				if err != nil {
					return err
				}
				return t.AddCampaignKeys(ctx, id, det.Case, keys) // already a member
			}
			// More members make a campaign more urgent.
			if c, err = s.joinCase(ctx, t, r, id, 0.5); err != nil {
				return err
			}
		}
		if err := t.AddCampaignKeys(ctx, c.ID, det.Case, keys); err != nil {
			return err
		}
		if err := t.InsertReport(ctx, r); err != nil {
			return err
		}
		return audit(ctx, t, c.ID, "engine:"+rule, "member_added", now, map[string]any{"report": r.ID, "account": member})
	})
	return c, err
}

// decideCampaign decides campaign case c: one decision per member (every
// member not yet decided, or those in.Members names).
func (s *Service) decideCampaign(ctx context.Context, t *sqlstore.IncidentTx, c *warden.Case, in decisionInput) ([]*warden.Decision, []warden.Label, error) {
	if c.ClosedAt != 0 {
		return nil, nil, warden.Errorf(warden.ECONFLICT, "case %s is already decided", c.ID)
	}
	if !in.automated && c.Assignee != "" && c.Assignee != principalID(in.by) {
		return nil, nil, warden.Errorf(warden.ECONFLICT, "case %s is being reviewed by another moderator", c.ID)
	}
	if in.Action == warden.ActRemoveContent {
		return nil, nil, warden.FieldErrorf("action", "a campaign's members are accounts: use label, restrict, suspend_account, ban_account or no_violation")
	}
	reports, err := t.CaseReports(ctx, c.ID)
	if err != nil {
		return nil, nil, err
	}
	var members []warden.Report
	identifiers := []string{}
	for _, r := range reports {
		identifiers = append(identifiers, r.SubjectID)
		if r.Status != warden.ReportDecided && (len(in.Members) == 0 || slices.Contains(in.Members, r.SubjectID)) {
			members = append(members, r)
		}
	}
	for _, m := range in.Members {
		if !slices.ContainsFunc(reports, func(r warden.Report) bool { return r.SubjectID == m }) {
			return nil, nil, warden.FieldErrorf("members", "%s is not a member of campaign %s", m, c.ID)
		}
	}
	if len(members) == 0 {
		return nil, nil, warden.Errorf(warden.ECONFLICT, "every selected member of campaign %s is decided already", c.ID)
	}
	for field, text := range map[string]string{"policy": in.Policy, "explanation": in.Explanation} {
		if kind := warden.PersonalData(text, identifiers...); kind != "" {
			return nil, nil, warden.FieldErrorf(field, "%s holds %s; it is shown to each member and published in the statements of reasons, so leave personal data out (put it in the internal note)", field, kind)
		}
	}
	now := s.clock()
	var out []*warden.Decision
	var labels []warden.Label
	for _, r := range members {
		d := &warden.Decision{
			ID: newID("D-"), CaseID: c.ID, SubjectKind: warden.TargetAccount, SubjectID: r.SubjectID, Owner: r.SubjectID,
			Action: in.Action, Category: c.Category, Policy: in.Policy, Explanation: in.Explanation, Note: in.Note,
			Source: warden.SourceDetection, Automated: in.automated, Detected: true, DecidedBy: principalID(in.by), DecidedAt: now,
		}
		if in.duration > 0 {
			d.EndsAt = now + warden.Micros(in.duration.Microseconds())
		}
		if err := s.record(ctx, t, d, c, 0, identifiers); err != nil {
			return nil, nil, err
		}
		if err := t.SetReportDecision(ctx, r.ID, d.ID, now); err != nil {
			return nil, nil, err
		}
		subj, err := t.LockSubject(ctx, warden.TargetAccount, r.SubjectID)
		if err != nil {
			return nil, nil, err
		}
		subj.DecisionID = d.ID
		if err := t.SetSubject(ctx, warden.TargetAccount, r.SubjectID, subj); err != nil {
			return nil, nil, err
		}
		for _, l := range decisionLabels(d) {
			if err := t.PutLabel(ctx, l); err != nil {
				return nil, nil, err
			}
			labels = append(labels, l)
		}
		if d.Restrictive() {
			n := warden.Notification{CaseID: c.ID, DecisionID: d.ID, Data: statementNotice(d)}
			if _, err := s.notifyMsg(ctx, t, d.Owner, warden.NoticeStatement, statementMessage(d), n); err != nil {
				return nil, nil, err
			}
		}
		if err := s.exposureNotices(ctx, t, d, nil); err != nil {
			return nil, nil, err
		}
		out = append(out, d)
	}
	detail := map[string]any{"action": in.Action, "policy": in.Policy, "members": len(out), "automated": in.automated}
	if in.Note != "" {
		detail["note"] = in.Note
	}
	if len(out) == len(reports)-countDecided(reports) {
		// Every member decided: the campaign case closes.
		c.Status, c.ClosedAt, c.DecisionID = warden.CaseClosed, now, out[len(out)-1].ID
		if c.Assignee == "" {
			c.Assignee, c.AssignedAt = principalID(in.by), now
		}
		if err := t.UpdateCase(ctx, c); err != nil {
			return nil, nil, err
		}
	}
	if err := audit(ctx, t, c.ID, actorOf(in.by), "campaign_decided", now, detail); err != nil {
		return nil, nil, err
	}
	return out, labels, nil
}

func countDecided(rs []warden.Report) int {
	n := 0
	for _, r := range rs {
		if r.Status == warden.ReportDecided {
			n++
		}
	}
	return n
}
