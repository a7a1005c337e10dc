package web

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
)

// A moderator opens an event from its id and the address from the event;
// a wrong address is a 400 page, an unknown event a 404, and a platform
// (app) user gets neither.
func TestEventAndAddressPages(t *testing.T) {
	tc, _, _ := caseConsole(t)
	at := time.Date(2026, 6, 1, 11, 0, 0, 0, time.UTC)
	l := sqlstore.NewEventLog(tc.db)
	var recs []sqlstore.EventRecord
	for i, e := range []warden.Event{
		{ID: "m1", Type: warden.EventMessage, Time: at, Actor: "crook", Target: "ann", TargetKind: warden.TargetAccount, IP: "203.0.113.9", Text: "pay <b>here</b>", Attrs: map[string]any{"link": "x.example"}},
		{ID: "m2", Type: warden.EventLogin, Time: at.Add(time.Second), Actor: "crook2", IP: "203.0.113.50"},
	} {
		body, _ := json.Marshal(e)
		v := warden.Verdict{EventID: e.ID, Action: warden.ActionAllow, Hits: []warden.Hit{}}
		if i == 0 {
			v.Action = warden.ActionBlock
			v.Hits = []warden.Hit{{Rule: "scam_link_burst", Version: 3, Action: warden.ActionBlock, Mode: warden.ModeEnforce, Reason: "5 links in a minute"}}
		}
		vb, _ := json.Marshal(v)
		recs = append(recs, sqlstore.EventRecord{ID: e.ID, Type: e.Type, Actor: e.Actor, Target: e.Target, TimeUS: e.Time.UnixMicro(), ReceivedUS: e.Time.UnixMicro(), Body: body, Verdict: vb})
	}
	if _, err := l.Append(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	l.Close()

	cl := tc.client(t)
	tc.signIn(t, cl, "mia")
	resp, body := tc.do(t, cl, "GET", "/events/m1", nil, nil)
	for _, want := range []string{`href="/ips/203.0.113.9"`, "pay &lt;b&gt;here&lt;/b&gt;", "scam_link_burst", "5 links in a minute", `href="/cases?subject=crook"`, "203.0.113.0/24"} {
		if resp.StatusCode != 200 || !strings.Contains(body, want) {
			t.Fatalf("event page %d lacks %q:\n%s", resp.StatusCode, want, body)
		}
	}
	resp, body = tc.do(t, cl, "GET", "/ips/203.0.113.9", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `href="/events/m1"`) || !strings.Contains(body, "crook2") || !strings.Contains(body, "the network") {
		t.Fatalf("address page %d:\n%s", resp.StatusCode, body)
	}
	if resp, _ := tc.do(t, cl, "GET", "/ips/not-an-ip", nil, nil); resp.StatusCode != 400 {
		t.Fatalf("a malformed address = %d", resp.StatusCode)
	}
	if resp, _ := tc.do(t, cl, "GET", "/events/nope", nil, nil); resp.StatusCode != 404 {
		t.Fatalf("an unknown event = %d", resp.StatusCode)
	}
	tc.user(t, "platform", warden.RoleApp)
	app := tc.client(t)
	tc.signIn(t, app, "platform")
	if resp, _ := tc.do(t, app, "GET", "/events/m1", nil, nil); resp.StatusCode != 403 {
		t.Fatalf("an app user read an event page: %d", resp.StatusCode)
	}
}
