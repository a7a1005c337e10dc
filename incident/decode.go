package incident

import (
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wardenhq/warden"
)

// Limits on requests.
const (
	MaxIDLen          = 256
	MaxDescription    = 5000
	MaxEvidence       = 20
	MaxEvidenceLen    = 2048
	MaxPolicyLen      = 500
	MaxExplanationLen = 2000
	MaxNoteLen        = 10000
	MaxReasonLen      = 5000
	MaxBodyBytes      = 64 << 10
	// MaxCampaignMembers bounds a decision's explicit member selection (a
	// decision on every member needs no list).
	MaxCampaignMembers = 1000
)

// SubjectRef names what a report is about. Owner, for content, is the
// account that posted it: the user a restriction affects.
type SubjectRef struct {
	Kind  string `json:"kind"`
	ID    string `json:"id"`
	Owner string `json:"owner,omitempty"`
}

// ReportRequest is the body of POST /v1/reports (CONTRACT §3). ID and Email
// are optional additions: ID is a client-chosen idempotency key, Email the
// reporter's address for e-mail notices (DSA Art. 16(2)(c)).
type ReportRequest struct {
	ID          string     `json:"id,omitempty"`
	Reporter    string     `json:"reporter"`
	Subject     SubjectRef `json:"subject"`
	Category    string     `json:"category"`
	Description string     `json:"description"`
	Evidence    []string   `json:"evidence"`
	Email       string     `json:"email,omitempty"`
}

// DecodeReport decodes and validates a report request.
func DecodeReport(body []byte) (ReportRequest, error) {
	var r ReportRequest
	if err := warden.DecodeStrict(body, &r); err != nil {
		return r, err
	}
	return r, r.Validate()
}

// Validate checks r and says what to fix.
func (r *ReportRequest) Validate() error {
	if err := checkID("id", r.ID, false); err != nil {
		return err
	}
	if err := checkID("reporter", r.Reporter, true); err != nil {
		return err
	}
	if err := r.Subject.validate("subject."); err != nil {
		return err
	}
	if r.Subject.Kind == warden.TargetAccount && r.Subject.ID == r.Reporter {
		return warden.FieldErrorf("subject.id", "a user cannot report their own account; to contest a decision, file an appeal")
	}
	if !slices.Contains(warden.Categories, r.Category) {
		return warden.FieldErrorf("category", "category must be one of %s", strings.Join(warden.Categories, ", "))
	}
	if err := checkText("description", r.Description, MaxDescription, false); err != nil {
		return err
	}
	if len(r.Evidence) > MaxEvidence {
		return warden.FieldErrorf("evidence", "at most %d pieces of evidence per report", MaxEvidence)
	}
	for i, e := range r.Evidence {
		if err := checkText(fmt.Sprintf("evidence[%d]", i), e, MaxEvidenceLen, true); err != nil {
			return err
		}
	}
	if r.Email != "" {
		if a, err := mail.ParseAddress(r.Email); err != nil || a.Address != r.Email || len(r.Email) > 254 {
			return warden.FieldErrorf("email", "email must be a plain address such as name@example.com")
		}
	}
	return nil
}

func (s *SubjectRef) validate(prefix string) error {
	if s.Kind != warden.TargetAccount && s.Kind != warden.TargetContent {
		return warden.FieldErrorf(prefix+"kind", "subject.kind must be \"account\" or \"content\"")
	}
	if err := checkID(prefix+"id", s.ID, true); err != nil {
		return err
	}
	if err := checkID(prefix+"owner", s.Owner, false); err != nil {
		return err
	}
	if s.Kind == warden.TargetAccount && s.Owner != "" && s.Owner != s.ID {
		return warden.FieldErrorf(prefix+"owner", "an account owns itself: leave owner out for accounts")
	}
	return nil
}

// DecisionRequest is the body of POST /v1/cases/{id}/decision. Note is an
// optional internal note for other moderators; it never reaches a reporter,
// the affected user or a statement of reasons.
type DecisionRequest struct {
	Action      string `json:"action"`
	Policy      string `json:"policy"`
	Explanation string `json:"explanation"`
	Duration    string `json:"duration,omitempty"`
	Note        string `json:"note,omitempty"`
	// Members, on a campaign case, selects the members the decision
	// applies to; absent, it applies to every member not yet decided.
	Members []string `json:"members,omitempty"`
}

// DecodeDecision decodes and validates a decision request.
func DecodeDecision(body []byte) (DecisionRequest, time.Duration, error) {
	var d DecisionRequest
	if err := warden.DecodeStrict(body, &d); err != nil {
		return d, 0, err
	}
	dur, err := d.Validate()
	return d, dur, err
}

// Validate checks d and returns its duration (0 for none).
func (d *DecisionRequest) Validate() (time.Duration, error) {
	if !slices.Contains(warden.DecisionActions, d.Action) {
		return 0, warden.FieldErrorf("action", "action must be one of %s", strings.Join(warden.DecisionActions, ", "))
	}
	if len(d.Members) > MaxCampaignMembers {
		return 0, warden.FieldErrorf("members", "at most %d members per decision", MaxCampaignMembers)
	}
	for i, m := range d.Members {
		if err := checkText(fmt.Sprintf("members[%d]", i), m, MaxIDLen, true); err != nil {
			return 0, err
		}
	}
	if err := checkText("policy", d.Policy, MaxPolicyLen, true); err != nil {
		return 0, err
	}
	if err := checkText("explanation", d.Explanation, MaxExplanationLen, true); err != nil {
		return 0, err
	}
	if err := checkText("note", d.Note, MaxNoteLen, false); err != nil {
		return 0, err
	}
	var dur time.Duration
	if d.Duration != "" {
		var err error
		dur, err = time.ParseDuration(d.Duration)
		if err != nil || dur < time.Hour || dur > 5*365*24*time.Hour {
			return 0, warden.FieldErrorf("duration", "duration must be a Go duration between 1h and 43800h, such as \"720h\"")
		}
		switch d.Action {
		case warden.ActNoViolation, warden.ActBanAccount, warden.ActRemoveContent:
			return 0, warden.FieldErrorf("duration", "%s is not timed: leave duration out", d.Action)
		}
	} else if d.Action == warden.ActSuspendAccount {
		return 0, warden.FieldErrorf("duration", "a suspension needs a duration, such as \"720h\"; use ban_account for an indefinite one")
	}
	return dur, nil
}

// AppealRequest is the body of POST /v1/appeals: an appeal names the
// decision (the affected user) or the appellant's report (a reporter,
// against a decision not to act).
type AppealRequest struct {
	Appellant  string `json:"appellant"`
	DecisionID string `json:"decision_id,omitempty"`
	ReportID   string `json:"report_id,omitempty"`
	Reason     string `json:"reason"`
}

// DecodeAppeal decodes and validates an appeal.
func DecodeAppeal(body []byte) (AppealRequest, error) {
	var a AppealRequest
	if err := warden.DecodeStrict(body, &a); err != nil {
		return a, err
	}
	return a, a.Validate()
}

// Validate checks a.
func (a *AppealRequest) Validate() error {
	if err := checkID("appellant", a.Appellant, true); err != nil {
		return err
	}
	if (a.DecisionID == "") == (a.ReportID == "") {
		return warden.FieldErrorf("decision_id", "give exactly one of decision_id (the decision you contest) or report_id (your report that was not acted on)")
	}
	if err := checkID("decision_id", a.DecisionID, false); err != nil {
		return err
	}
	if err := checkID("report_id", a.ReportID, false); err != nil {
		return err
	}
	return checkText("reason", a.Reason, MaxReasonLen, true)
}

// AppealDecisionRequest is the body of POST /v1/appeals/{id}/decision.
type AppealDecisionRequest struct {
	Outcome     string `json:"outcome"`
	Explanation string `json:"explanation"`
}

// DecodeAppealDecision decodes and validates an appeal decision.
func DecodeAppealDecision(body []byte) (AppealDecisionRequest, error) {
	var a AppealDecisionRequest
	if err := warden.DecodeStrict(body, &a); err != nil {
		return a, err
	}
	if a.Outcome != warden.AppealUpheld && a.Outcome != warden.AppealReversed {
		return a, warden.FieldErrorf("outcome", "outcome must be \"upheld\" or \"reversed\"")
	}
	return a, checkText("explanation", a.Explanation, MaxExplanationLen, true)
}

func checkID(field, s string, required bool) error {
	if s == "" {
		if required {
			return warden.FieldErrorf(field, "%s is required", field)
		}
		return nil
	}
	if len(s) > MaxIDLen {
		return warden.FieldErrorf(field, "%s is at most %d bytes", field, MaxIDLen)
	}
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return warden.FieldErrorf(field, "%s must be valid UTF-8 without control characters", field)
	}
	if strings.TrimSpace(s) != s {
		return warden.FieldErrorf(field, "%s must not start or end with spaces", field)
	}
	return nil
}

func checkText(field, s string, maxChars int, required bool) error {
	if strings.TrimSpace(s) == "" {
		if required {
			return warden.FieldErrorf(field, "%s is required", field)
		}
		return nil
	}
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return warden.FieldErrorf(field, "%s must be valid UTF-8 text", field)
	}
	if n := utf8.RuneCountInString(s); n > maxChars {
		return warden.FieldErrorf(field, "%s is %d characters; the limit is %d", field, n, maxChars)
	}
	return nil
}
