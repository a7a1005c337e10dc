package warden

// Case statuses.
const (
	CaseOpen     = "open"      // waiting in a queue
	CaseInReview = "in_review" // claimed by a moderator
	CaseClosed   = "closed"    // decided
)

// Case gathers every report on one subject while it is open: at most one
// open case per subject. Priority orders the queue (higher first); DueAt is
// when the queue's SLA runs out.
type Case struct {
	ID          string `db:"id" json:"id"`
	SubjectKind string `db:"subject_kind" json:"-"`
	SubjectID   string `db:"subject_id" json:"-"`
	Owner       string `db:"owner" json:"-"`
	Status      string `db:"status" json:"status"`
	Queue       string `db:"queue" json:"queue"`
	Category    string `db:"category" json:"category"`
	Priority    int    `db:"priority" json:"priority"`
	Trusted     bool   `db:"trusted" json:"trusted_flagger"`
	Automated   bool   `db:"automated" json:"automated_detection"`
	Reports     int    `db:"reports" json:"reports"`
	Reach       int    `db:"reach" json:"reach"`
	Detections  int    `db:"detections" json:"detections"`
	OpenedAt    Micros `db:"opened_us" json:"opened_at"`
	DueAt       Micros `db:"due_us" json:"due_at"`
	Assignee    string `db:"assignee" json:"assignee,omitempty"`
	AssignedAt  Micros `db:"assigned_us" json:"assigned_at,omitempty"`
	ClosedAt    Micros `db:"closed_us" json:"closed_at,omitempty"`
	DecisionID  string `db:"decision_id" json:"decision_id,omitempty"`
}

// Decision actions (CONTRACT §3), least to most severe.
const (
	ActNoViolation    = "no_violation"
	ActRemoveContent  = "remove_content"
	ActLabel          = "label"
	ActRestrict       = "restrict"
	ActSuspendAccount = "suspend_account"
	ActBanAccount     = "ban_account"
)

// DecisionActions lists every decision action.
var DecisionActions = []string{ActNoViolation, ActRemoveContent, ActLabel, ActRestrict, ActSuspendAccount, ActBanAccount}

// Decision is what was decided on a case: an enforcement action on the
// subject (or none), why, and by whom. Note is internal and never reaches a
// reporter or the affected user; Explanation is public and goes into the
// statement of reasons.
type Decision struct {
	ID          string  `db:"id" json:"id"`
	CaseID      string  `db:"case_id" json:"case_id"`
	SubjectKind string  `db:"subject_kind" json:"-"`
	SubjectID   string  `db:"subject_id" json:"-"`
	Owner       string  `db:"owner" json:"-"`
	Action      string  `db:"action" json:"action"`
	Category    string  `db:"category" json:"category"`
	Policy      string  `db:"policy" json:"policy"`
	Explanation string  `db:"explanation" json:"explanation"`
	Note        string  `db:"note" json:"-"`
	Source      string  `db:"source" json:"source"`
	Automated   bool    `db:"automated" json:"automated_decision"`
	Detected    bool    `db:"detected" json:"automated_detection"`
	DecidedBy   string  `db:"decided_by" json:"-"`
	DecidedAt   Micros  `db:"decided_us" json:"decided_at"`
	EndsAt      Micros  `db:"ends_us" json:"ends_at,omitempty"`
	ReversedAt  Micros  `db:"reversed_us" json:"reversed_at,omitempty"`
	SoR         RawJSON `db:"sor" json:"statement_of_reasons,omitempty"`
}

// Restrictive reports whether the decision restricts the subject, and so
// needs a statement of reasons (DSA Art. 17).
func (d *Decision) Restrictive() bool { return d.Action != ActNoViolation }

// Appeal kinds and statuses.
const (
	AppealAffected = "affected" // the user the decision restricts
	AppealNotifier = "notifier" // a reporter, against a decision not to act

	AppealPending  = "pending"
	AppealUpheld   = "upheld"
	AppealReversed = "reversed"
)

// Appeal is a complaint against a decision (DSA Art. 20), decided by a
// person, never automatically.
type Appeal struct {
	ID          string `db:"id" json:"id"`
	DecisionID  string `db:"decision_id" json:"decision_id"`
	CaseID      string `db:"case_id" json:"case_id"`
	ReportID    string `db:"report_id" json:"report_id,omitempty"`
	Appellant   string `db:"appellant" json:"appellant"`
	Kind        string `db:"kind" json:"kind"`
	Reason      string `db:"reason" json:"reason"`
	Status      string `db:"status" json:"status"`
	FiledAt     Micros `db:"filed_us" json:"filed_at"`
	DecidedAt   Micros `db:"decided_us" json:"decided_at,omitempty"`
	DecidedBy   string `db:"decided_by" json:"-"`
	Explanation string `db:"explanation" json:"explanation,omitempty"`
}

// Notification kinds: what lands in a user's inbox.
const (
	NoticeReceipt        = "receipt"              // a report was received
	NoticeInReview       = "in_review"            // a moderator is looking at it
	NoticeDecision       = "decision"             // to a reporter: what was decided, and redress
	NoticeStatement      = "statement_of_reasons" // to the affected user: the restriction, reasons and how to appeal
	NoticeExposure       = "exposure"             // to a user a removed bad actor had contacted
	NoticeAppealReceived = "appeal_received"
	NoticeAppealDecided  = "appeal_decided"
	NoticeReversal       = "reversal" // a decision was reversed on appeal
	// DSA Art. 23: a reporter whose reports are mostly unfounded is warned,
	// then has report processing suspended for a time.
	NoticeReporterWarning   = "reporter_warning"
	NoticeReporterSuspended = "reporter_suspended"
)

// Notification is one message in a user's inbox. Data carries structured
// detail (the statement of reasons for NoticeStatement).
type Notification struct {
	Seq        int64   `db:"seq" json:"-"`
	ID         string  `db:"id" json:"id"`
	UserID     string  `db:"user_id" json:"user"`
	Kind       string  `db:"kind" json:"kind"`
	ReportID   string  `db:"report_id" json:"report_id,omitempty"`
	CaseID     string  `db:"case_id" json:"case_id,omitempty"`
	DecisionID string  `db:"decision_id" json:"decision_id,omitempty"`
	Title      string  `db:"title" json:"title"`
	Body       string  `db:"body" json:"body"`
	Data       RawJSON `db:"data" json:"data,omitempty"`
	CreatedAt  Micros  `db:"created_us" json:"created_at"`
	Dedupe     *string `db:"dedupe" json:"-"`
}

// CaseEvent is one entry of a case's audit log: who did what, when.
type CaseEvent struct {
	Seq    int64   `db:"seq" json:"-"`
	CaseID string  `db:"case_id" json:"case_id"`
	Actor  string  `db:"actor" json:"actor"`
	Kind   string  `db:"kind" json:"kind"`
	Detail RawJSON `db:"detail" json:"detail,omitempty"`
	At     Micros  `db:"at_us" json:"at"`
}
