package incident

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
)

// CaseList filters the queue view.
type CaseList struct {
	Queue  string
	Status string // open, in_review, closed; "" for every case waiting
	// DueWithin, when set, lists only open cases whose SLA runs out within
	// it (or has run out), soonest first: the about-to-breach view.
	DueWithin time.Duration
	// Assignee is a principal id, or "none" for the cases nobody holds.
	Assignee string
	Category string
	// SLA keeps one SLA state: breached, due_soon or on_time.
	SLA string
	// Subject finds the cases about an account or content id (see
	// sqlstore.CaseFilter.Subject).
	Subject string
	// Cursor continues a listing where the page before ended (its
	// NextCursor).
	Cursor string
	Limit  int
}

// MaxCaseLimit is the largest page of cases.
const MaxCaseLimit = 500

// ParseCaseList reads a listing's filters from query parameters, the same
// for the API and the console: status, queue, category, assignee, sla,
// subject, due_within, cursor and limit. Unknown values are refused with
// the field they came from.
func ParseCaseList(q url.Values, defLimit int) (CaseList, error) {
	f := CaseList{Queue: q.Get("queue"), Status: q.Get("status"), Assignee: q.Get("assignee"), Category: q.Get("category"),
		SLA: q.Get("sla"), Subject: strings.TrimSpace(q.Get("subject")), Cursor: q.Get("cursor"), Limit: defLimit}
	for name, v := range map[string]string{"queue": f.Queue, "assignee": f.Assignee, "category": f.Category, "subject": f.Subject} {
		if len(v) > MaxIDLen {
			return f, warden.FieldErrorf(name, "%s is at most %d characters", name, MaxIDLen)
		}
	}
	switch f.Status {
	case "", warden.CaseOpen, warden.CaseInReview, warden.CaseClosed:
	default:
		return f, warden.FieldErrorf("status", "status must be open, in_review or closed")
	}
	switch f.SLA {
	case "", sqlstore.SLABreached, sqlstore.SLADueSoon, sqlstore.SLAOnTime:
	default:
		return f, warden.FieldErrorf("sla", "sla must be breached, due_soon or on_time")
	}
	if v := q.Get("due_within"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return f, warden.FieldErrorf("due_within", "due_within must be a duration such as 2h")
		}
		if f.Status == warden.CaseClosed {
			return f, warden.FieldErrorf("due_within", "due_within lists open cases: it does not go with status=closed")
		}
		f.DueWithin = d
	}
	if v := q.Get("limit"); v != "" {
		n, err := parseLimit(v)
		if err != nil {
			return f, err
		}
		f.Limit = n
	}
	if f.Cursor != "" {
		if _, err := decodeCursor(f.Cursor); err != nil {
			return f, err
		}
	}
	return f, nil
}

func parseLimit(v string) (int, error) {
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' || n > MaxCaseLimit {
			return 0, warden.FieldErrorf("limit", "limit must be an integer from 1 to %d", MaxCaseLimit)
		}
		n = n*10 + int(c-'0')
	}
	if n < 1 || n > MaxCaseLimit {
		return 0, warden.FieldErrorf("limit", "limit must be an integer from 1 to %d", MaxCaseLimit)
	}
	return n, nil
}

// encodeCursor makes an opaque cursor of c.
func encodeCursor(c *sqlstore.CaseCursor) string {
	raw, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// decodeCursor reads a cursor made by encodeCursor.
func decodeCursor(s string) (*sqlstore.CaseCursor, error) {
	bad := warden.FieldErrorf("cursor", "the cursor is not one this server made: use next_cursor from the page before")
	if len(s) > 512 {
		return nil, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	var c sqlstore.CaseCursor
	if err := warden.DecodeStrict(raw, &c); err != nil || c.ID == "" || len(c.ID) > MaxIDLen || len(c.Keys) == 0 || len(c.Keys) > 4 {
		return nil, bad
	}
	return &c, nil
}

// CaseSummary is a case as the queue shows it.
type CaseSummary struct {
	warden.Case
	Subject  SubjectRef `json:"subject"`
	Breached bool       `json:"breached"`
	// SLALeft, on an open case, is the time left to its SLA deadline in
	// seconds, negative once it has passed.
	SLALeft *int64 `json:"sla_left_seconds,omitempty"`
	// AssigneeName is the name of the key or console user holding the case.
	AssigneeName string `json:"assignee_name,omitempty"`
}

// Left is the time left to the deadline, for display.
func (c CaseSummary) Left() time.Duration {
	if c.SLALeft == nil {
		return 0
	}
	return time.Duration(*c.SLALeft) * time.Second
}

// CasePage is one page of a listing.
type CasePage struct {
	Cases []CaseSummary `json:"cases"`
	// NextCursor continues the listing; "" on its last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// Cases lists cases, most urgent first, one page at a time.
func (s *Service) Cases(ctx context.Context, f CaseList) (*CasePage, error) {
	now := s.clock()
	sf := sqlstore.CaseFilter{Queue: f.Queue, Status: f.Status, Assignee: f.Assignee, Category: f.Category,
		SLA: f.SLA, Now: now, Subject: f.Subject, Limit: f.Limit}
	if sf.Assignee == "none" {
		sf.Assignee = sqlstore.Unassigned
	}
	if sf.Limit <= 0 {
		sf.Limit = 100
	}
	if f.DueWithin > 0 {
		sf.DueFrom, sf.DueTo = 0, now+warden.Micros(f.DueWithin.Microseconds())
	}
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, err
		}
		sf.After = c
	}
	// one more than the page, to know whether another follows
	want := sf.Limit
	sf.Limit++
	cs, err := s.db.Cases(ctx, sf)
	if err != nil {
		return nil, err
	}
	p := &CasePage{Cases: make([]CaseSummary, 0, min(len(cs), want))}
	if len(cs) > want {
		cs = cs[:want]
		p.NextCursor = encodeCursor(sqlstore.CursorAfter(sqlstore.CaseOrderOf(sf), &cs[want-1]))
	}
	for _, c := range cs {
		p.Cases = append(p.Cases, summarize(c, now))
	}
	return p, s.assigneeNames(ctx, p.Cases)
}

// ClosedCountWindow is how far back the counts of closed cases go.
const ClosedCountWindow = 30 * 24 * time.Hour

// CaseCounts counts cases per queue and status: every open and in-review
// case, and the cases closed within ClosedCountWindow.
func (s *Service) CaseCounts(ctx context.Context) ([]sqlstore.CaseCount, error) {
	return s.db.CaseCounts(ctx, s.clock()-warden.Micros(ClosedCountWindow.Microseconds()))
}
