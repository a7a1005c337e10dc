package incident

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/notify"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// outbound is the delivery side as the service sees it, with the channels
// a test configures; kicks counts wake-ups.
type outbound struct {
	webhook, email bool
	kicks          int
}

func (o *outbound) Has(ch string) bool {
	return (ch == warden.ChannelWebhook && o.webhook) || (ch == warden.ChannelEmail && o.email)
}
func (o *outbound) WebhookURL() string { return "https://platform.example/warden" }
func (o *outbound) Kick()              { o.kicks++ }

func pending(t testing.TB, db *sqlstore.DB) []warden.Delivery {
	t.Helper()
	ds, err := db.Deliveries(context.Background(), warden.DeliveryPending, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// Every notice is queued for the webhook, and by e-mail for users who gave
// an address, in the transaction that made it; the worker is woken.
func TestNoticesAreQueuedPerChannel(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		out := &outbound{webhook: true, email: true}
		s := newTestService(t, db, newClock(), func(o *Options) { o.Outbound = out })
		req := report("u1", warden.TargetAccount, "s1", warden.CategoryScam)
		req.Email = "u1@example.org"
		mustReport(t, s, app, req)
		mustReport(t, s, app, report("u2", warden.TargetAccount, "s1", warden.CategoryScam)) // no address: no e-mail
		var hooks, mails int
		for _, d := range pending(t, db) {
			if d.Kind != warden.DeliveryNotification {
				t.Fatalf("kind %q", d.Kind)
			}
			switch d.Channel {
			case warden.ChannelWebhook:
				hooks++
				var p webhookPayload
				if err := json.Unmarshal([]byte(d.Payload), &p); err != nil || p.Type != "notification" || p.Notification.ID != d.Ref {
					t.Fatalf("webhook payload %s: %v", d.Payload, err)
				}
			case warden.ChannelEmail:
				mails++
				var m notify.Message
				if err := json.Unmarshal([]byte(d.Payload), &m); err != nil || d.Target != "u1@example.org" || !strings.Contains(m.Subject, "We received your report") {
					t.Fatalf("mail %+v %s: %v", d, d.Payload, err)
				}
			}
		}
		if hooks != 2 || mails != 1 || out.kicks == 0 {
			t.Fatalf("%d webhooks, %d mails, %d kicks; want 2, 1, >0", hooks, mails, out.kicks)
		}
	})
}

// Without a channel, notices stay in the inbox and nothing is queued.
func TestInboxOnlyQueuesNothing(t *testing.T) {
	db := sqlstoretest.SQLite(t)
	s := newTestService(t, db, newClock(), nil)
	mustReport(t, s, app, report("u1", warden.TargetAccount, "s1", warden.CategoryScam))
	if ds := pending(t, db); len(ds) != 0 {
		t.Fatalf("queued %d deliveries with no channel", len(ds))
	}
	if len(inbox(t, s, "u1")) != 1 {
		t.Fatal("no receipt in the inbox")
	}
}

func machineEvents(t testing.TB, db *sqlstore.DB, kind string) []notify.Event {
	t.Helper()
	var out []notify.Event
	for _, d := range pending(t, db) {
		if d.Kind != kind {
			continue
		}
		var e notify.Event
		if err := json.Unmarshal([]byte(d.Payload), &e); err != nil || e.Type != kind {
			t.Fatalf("payload %s: %v", d.Payload, err)
		}
		e.Timestamp = d.NextAt.Time() // when it is due
		out = append(out, e)
	}
	return out
}

// The platform learns each decision to enforce (decision.created) and
// the end of each restriction (restriction.lifted): at the end of its
// term, or at once when an appeal reverses it, and only once.
func TestDecisionAndLiftEventsReachThePlatform(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		clk := newClock()
		s := newTestService(t, db, clk, func(o *Options) { o.Outbound = &outbound{webhook: true} })
		r := mustReport(t, s, app, report("u1", warden.TargetAccount, "s1", warden.CategoryScam))
		d, err := s.Decide(ctx, moderator, r.CaseID, DecisionRequest{Action: warden.ActSuspendAccount, Policy: "Fraud",
			Explanation: "The account sent payment requests posing as a bank.", Duration: "72h"})
		if err != nil {
			t.Fatal(err)
		}
		created := machineEvents(t, db, warden.EventDecisionCreated)
		if len(created) != 1 {
			t.Fatalf("%d decision.created", len(created))
		}
		data := created[0].Data.(map[string]any)
		if data["decision_id"] != d.ID || data["action"] != warden.ActSuspendAccount || data["account"] != "s1" || data["ends_at"] == nil || data["statement_id"] != d.ID {
			t.Fatalf("decision.created data %v", data)
		}
		lifted := machineEvents(t, db, warden.EventRestrictionLifted)
		if len(lifted) != 1 || !lifted[0].Timestamp.Equal(d.EndsAt.Time()) || lifted[0].Data.(map[string]any)["reason"] != "expired" {
			t.Fatalf("restriction.lifted %v, want one due at %v", lifted, d.EndsAt.Time())
		}

		clk.Advance(time.Hour)
		a, _, err := s.Appeal(ctx, AppealRequest{Appellant: "s1", DecisionID: d.ID, Reason: "I work for the bank."})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.DecideAppeal(ctx, second, a.ID, AppealDecisionRequest{Outcome: warden.AppealReversed, Explanation: "The documents show a genuine employee."}); err != nil {
			t.Fatal(err)
		}
		lifted = machineEvents(t, db, warden.EventRestrictionLifted)
		if len(lifted) != 1 || !lifted[0].Timestamp.Equal(clk.Now()) || lifted[0].Data.(map[string]any)["reason"] != "reversed" {
			t.Fatalf("after the reversal: restriction.lifted %v, want one due now with reason reversed", lifted)
		}
	})
}

// A ban without an end has no scheduled lift; its reversal queues one.
func TestReversedBanIsLifted(t *testing.T) {
	db := sqlstoretest.SQLite(t)
	ctx := context.Background()
	s := newTestService(t, db, newClock(), func(o *Options) { o.Outbound = &outbound{webhook: true} })
	r := mustReport(t, s, app, report("u1", warden.TargetAccount, "s2", warden.CategoryScam))
	d, err := s.Decide(ctx, moderator, r.CaseID, DecisionRequest{Action: warden.ActBanAccount, Policy: "Fraud", Explanation: "Repeated payment scams."})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(machineEvents(t, db, warden.EventRestrictionLifted)); n != 0 {
		t.Fatalf("%d lifts scheduled for a ban without end", n)
	}
	a, _, err := s.Appeal(ctx, AppealRequest{Appellant: "s2", DecisionID: d.ID, Reason: "Not me."})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DecideAppeal(ctx, second, a.ID, AppealDecisionRequest{Outcome: warden.AppealReversed, Explanation: "Another person used the account."}); err != nil {
		t.Fatal(err)
	}
	if n := len(machineEvents(t, db, warden.EventRestrictionLifted)); n != 1 {
		t.Fatalf("%d restriction.lifted after the reversal, want 1", n)
	}
}
