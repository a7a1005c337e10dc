package incident

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/incident/incidenttest"
	"github.com/wardenhq/warden/sqlstore"
)

// clock is a test clock that moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var (
	app       = &warden.Principal{ID: "key-app", Role: warden.RoleApp, Kind: "key"}
	flagger   = &warden.Principal{ID: "key-tf", Role: warden.RoleTrustedFlagger, Kind: "key"}
	moderator = &warden.Principal{ID: "mod-1", Role: warden.RoleModerator, Kind: "user"}
	second    = &warden.Principal{ID: "mod-2", Role: warden.RoleModerator, Kind: "user"}
)

func newTestService(t testing.TB, db *sqlstore.DB, c *clock, mod func(*Options)) *Service {
	t.Helper()
	opt := Options{DB: db, Now: c.Now, PolicyURL: "https://example.com/terms"}
	if mod != nil {
		mod(&opt)
	}
	s, err := New(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// logEvents appends events to the event log with the given verdict actions
// ("" for allow with no hits).
func logEvents(t testing.TB, db *sqlstore.DB, evs []warden.Event, flaggedIDs ...string) {
	t.Helper()
	l := sqlstore.NewEventLog(db)
	defer l.Close()
	recs := make([]sqlstore.EventRecord, len(evs))
	for i, e := range evs {
		body, _ := json.Marshal(e)
		v := warden.Verdict{EventID: e.ID, Action: warden.ActionAllow, Hits: []warden.Hit{}}
		for _, f := range flaggedIDs {
			if f == e.ID {
				v.Action, v.Score = warden.ActionReview, 0.9
				v.Hits = []warden.Hit{{Rule: "scam_link_burst", Version: 2, Action: warden.ActionReview, Mode: warden.ModeEnforce, Reason: "12 messages with the same link in 10 minutes"}}
			}
		}
		vb, _ := json.Marshal(v)
		recs[i] = sqlstore.EventRecord{ID: e.ID, Type: e.Type, Actor: e.Actor, Target: e.Target, TimeUS: e.Time.UnixMicro(), ReceivedUS: e.Time.UnixMicro(), Body: body, Verdict: vb}
	}
	if _, err := l.Append(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
}

func report(reporter, kind, id, category string) ReportRequest {
	return ReportRequest{Reporter: reporter, Subject: SubjectRef{Kind: kind, ID: id}, Category: category, Description: "They asked me to send money"}
}

func mustReport(t testing.TB, s *Service, p *warden.Principal, req ReportRequest) *warden.Report {
	t.Helper()
	r, _, err := s.Report(context.Background(), p, req, "")
	if err != nil {
		t.Fatalf("report %+v: %v", req, err)
	}
	return r
}

func inbox(t testing.TB, s *Service, user string) []warden.Notification {
	t.Helper()
	ns, _, err := s.Inbox(context.Background(), user, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

func kinds(ns []warden.Notification) string {
	var k []string
	for _, n := range ns {
		k = append(k, n.Kind)
	}
	return strings.Join(k, ",")
}

func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if warden.ErrorCode(err) != code {
		t.Fatalf("error = %v, want code %s", err, code)
	}
}

// validateSoR checks one statement against the Transparency Database's
// JSON Schema.
func validateSoR(t testing.TB, doc []byte) {
	t.Helper()
	incidenttest.Check(t, doc)
}

func dump(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return fmt.Sprint(string(b))
}
