package datarequest

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// clock is a settable time for the Art. 12(3) rules.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// TestClock: a request is due one calendar month after it arrives; an
// extension moves it to three months, once, only inside the first month,
// and sends the user a notice; overdue and reminders follow the clock.
func TestClock(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		c := &clock{time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC)}
		s := New(Options{DB: db, Sources: StoreSources(db, nil), Now: c.now})
		r, err := s.Create(ctx, "u1", KindAccess)
		if err != nil {
			t.Fatal(err)
		}
		// Go's AddDate normalises 31 February to 3 March.
		if want := time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC); !r.DueAt.Equal(want) || r.Status != StatusReceived {
			t.Fatalf("due %v, want %v", r.DueAt, want)
		}
		late, _ := s.Create(ctx, "u2", KindErasure)
		c.t = c.t.AddDate(0, 0, 25)
		reminded, err := s.Remind(ctx)
		if err != nil || len(reminded) != 2 {
			t.Fatalf("reminders 4 days before due: %d %v", len(reminded), err)
		}
		if again, _ := s.Remind(ctx); len(again) != 0 {
			t.Fatalf("reminded twice in a day: %d", len(again))
		}
		if _, err := s.Extend(ctx, r.ID, "the export spans three systems"); err != nil {
			t.Fatal(err)
		}
		got, _ := s.Get(ctx, r.ID)
		// Three months after 31 January: 31 April, normalised to 1 May.
		if want := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC); !got.DueAt.Equal(want) {
			t.Fatalf("extended due %v", got.DueAt)
		}
		if got.Status != StatusExtended || got.ExtensionReason == "" {
			t.Fatalf("extended: %+v", got)
		}
		ns, _ := db.AllNotifications(ctx, "u1")
		if len(ns) != 1 || !strings.Contains(ns[0].Body, "the export spans three systems") {
			t.Fatalf("extension notice: %+v", ns)
		}
		if _, err := s.Extend(ctx, r.ID, "again"); warden.ErrorCode(err) != warden.ECONFLICT {
			t.Fatalf("second extension: %v", err)
		}
		c.t = c.t.AddDate(0, 0, 10) // past the first month
		if _, err := s.Extend(ctx, late.ID, "too late"); warden.ErrorCode(err) != warden.ECONFLICT {
			t.Fatalf("extension after the first month: %v", err)
		}
		open, _ := s.List(ctx, "open")
		if len(open) != 2 || open[0].ID != late.ID || !open[0].Overdue || open[1].Overdue {
			t.Fatalf("open, nearest due first: %+v", open)
		}
		if _, err := s.Fulfil(ctx, late.ID, "ada"); err != nil {
			t.Fatal(err)
		}
		done, _ := s.Get(ctx, late.ID)
		if done.Status != StatusDone || done.OnTime == nil || *done.OnTime || len(done.Erased) != 7 {
			t.Fatalf("late erasure: %+v", done)
		}
		if _, err := s.Export(ctx, late.ID); warden.ErrorCode(err) != warden.ECONFLICT {
			t.Fatalf("export of an erasure: %v", err)
		}
		f, err := db.RequestFiguresFor(ctx, 0, c.t.UnixMicro())
		if err != nil || f.Received != 2 || f.Answered != 1 || f.OnTime != 0 || f.Extended != 1 {
			t.Fatalf("figures %+v %v", f, err)
		}
	})
}

// TestErasureLegalHold: an open case about the user keeps their events,
// and says why.
func TestErasureLegalHold(t *testing.T) {
	db := sqlstoretest.SQLite(t)
	ctx := context.Background()
	if _, err := db.Exec(`INSERT INTO incident_cases (id, subject_kind, subject_id, status, queue, category, priority, opened_us, due_us) VALUES ('C-1', 'account', 'u1', 'open', 'general', 'scam', 1, 1, 2)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO events (id, type, actor, time_us, received_us, body, verdict) VALUES ('e1', 'post', 'u1', 1, 1, '{"id":"e1"}', '{}')`); err != nil {
		t.Fatal(err)
	}
	s := New(Options{DB: db, Sources: StoreSources(db, nil)})
	erased, err := s.Erase(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if erased[0].Section != "events" || erased[0].Kept != 1 || erased[0].Deleted != 0 || !strings.Contains(erased[0].Why, "C-1") {
		t.Fatalf("events under legal hold: %+v", erased[0])
	}
}

// TestHTMLExport: the page shows each section, lists as tables, and
// escapes what users wrote.
func TestHTMLExport(t *testing.T) {
	doc := &Document{RequestID: "DR-1", User: "u1", GeneratedAt: time.Unix(0, 0), Order: []string{"reports", "two_factor"},
		Sections: map[string]any{"reports": []map[string]string{{"id": "R-1", "description": "<script>x</script>"}}, "two_factor": map[string]bool{"enabled": false}}}
	var b bytes.Buffer
	if err := WriteHTML(&b, doc); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	if !strings.Contains(s, "Reports you filed") || !strings.Contains(s, "<td>R-1</td>") || strings.Contains(s, "<script>x") || !strings.Contains(s, `&#34;enabled&#34;: false`) {
		t.Fatal(s)
	}
}

func FuzzDecodeKind(f *testing.F) {
	f.Add(`{"kind":"access"}`)
	f.Add(`{"kind":"erasure"}`)
	f.Add(`{"kind":"x","y":1}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, body string) {
		k, err := DecodeKind([]byte(body))
		if err != nil {
			if _, ok := err.(*warden.Error); !ok {
				t.Fatalf("%q: %T %v", body, err, err)
			}
			return
		}
		if k != KindAccess && k != KindErasure {
			t.Fatalf("%q accepted as %q", body, k)
		}
	})
}

func FuzzDecodeReason(f *testing.F) {
	f.Add(`{"reason":"three systems"}`)
	f.Add(`{"reason":"  "}`)
	f.Add(`{"reason":1}`)
	f.Fuzz(func(t *testing.T, body string) {
		r, err := DecodeReason([]byte(body))
		if err != nil {
			if _, ok := err.(*warden.Error); !ok {
				t.Fatalf("%q: %T %v", body, err, err)
			}
			return
		}
		if r == "" || len(r) > 2000 || strings.TrimSpace(r) != r {
			t.Fatalf("%q accepted as %q", body, r)
		}
	})
}
