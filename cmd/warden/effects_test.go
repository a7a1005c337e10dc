package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/notify"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// platform is the platform's webhook endpoint: it verifies each call's
// Standard Webhooks signature, keeps the effects (by webhook-id, as a
// receiver dedupes them), and answers 500 while failing is set.
type platform struct {
	secret   string
	failing  atomic.Bool
	mu       sync.Mutex
	attempts map[string]int           // webhook-id → calls
	effects  map[string]warden.Effect // webhook-id → the effect, once accepted
	badSigs  int
}

func (p *platform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := notify.Verify(p.secret, r.Header, body, time.Now(), 5*time.Minute); err != nil {
		p.badSigs++
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var ev struct {
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal(body, &ev) != nil || ev.Type != warden.EventEffect {
		return // notices and decision events: not what this test follows
	}
	id := r.Header.Get("webhook-id")
	p.attempts[id]++
	if p.failing.Load() {
		http.Error(w, "down for maintenance", http.StatusInternalServerError)
		return
	}
	var e warden.Effect
	if err := json.Unmarshal(ev.Data, &e); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p.effects[id] = e
}

func (p *platform) calls(id string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.attempts[id]
}

func (p *platform) byAction() map[string]warden.Effect {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]warden.Effect{}
	for _, e := range p.effects {
		out[e.Account+"/"+e.Action] = e
	}
	return out
}

// TestEffectsReachThePlatform: the spam ladder's four steps and a
// moderator's ban reach a real local endpoint as signed effects (the
// automated suspension's decision adds none: its effect went with its
// event); an endpoint that keeps failing is retried with backoff, then the
// effect is dead-lettered, listed on the console's deliveries page, and
// redelivered from there under the same webhook-id.
func TestEffectsReachThePlatform(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		p := &platform{secret: "whsec_" + "c2VjcmV0LWtleS1mb3ItdGhlLWVmZmVjdHMtdGVzdA==", attempts: map[string]int{}, effects: map[string]warden.Effect{}}
		hook := httptest.NewServer(p)
		defer hook.Close()
		var skew atomic.Int64 // how far the worker's clock runs ahead, to reach each retry
		out := notify.New(notify.Options{Outbox: db, Webhook: &notify.Webhook{URL: hook.URL, Secret: p.secret},
			Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
		m := newServedWith(t, db, matrixPartners(), out)
		app, mod := m.key(t, warden.RoleApp), m.key(t, warden.RoleModerator)
		deliver := func() {
			t.Helper()
			if _, err := out.DeliverDue(ctx); err != nil {
				t.Fatal(err)
			}
		}

		floodLinks(t, m, app, "flooder", time.Now().Add(-2*time.Hour).Truncate(time.Second))
		ban := func(account string) string {
			var r struct {
				CaseID string `json:"case_id"`
			}
			m.must(t, "POST", "/v1/reports", app, fmt.Sprintf(`{"reporter":"u1","subject":{"kind":"account","id":%q},"category":"scam","description":"asks for money"}`, account), 201, &r)
			var d struct {
				ID string `json:"id"`
			}
			m.must(t, "POST", "/v1/cases/"+r.CaseID+"/decision", mod, `{"action":"ban_account","policy":"Fraud","explanation":"Asked members for money."}`, 201, &d)
			return d.ID
		}
		banned := ban("scammer")
		waitRestricted(t, m, mod, "flooder")
		deliver()
		got := p.byAction()
		for _, step := range []string{"warn", "challenge", "rate_limit", "suspend"} {
			e, ok := got["flooder/"+step]
			if !ok || e.By != warden.EffectByRule || e.Rule != "link_flood_new_account" || e.Version < 1 || e.Policy != "spam" || e.EventID == "" {
				t.Errorf("effect %s = %+v (received %v)", step, e, ok)
			}
		}
		if s := got["flooder/suspend"]; s.Until == nil || s.Until.Time().Sub(s.At.Time()) != 24*time.Hour {
			t.Errorf("suspension effect = %+v, want one ending 24 h after its event", s)
		}
		if b := got["scammer/ban"]; b.By != warden.EffectByModerator || b.DecisionID != banned || b.StatementID != banned || b.Until != nil {
			t.Errorf("moderator's ban effect = %+v", b)
		}
		p.mu.Lock()
		bad := p.badSigs
		p.mu.Unlock()
		if len(got) != 5 || bad != 0 {
			t.Fatalf("effects = %v (%d bad signatures), want the ladder's four and the ban", got, bad)
		}

		// A failing endpoint: retried with backoff until dead-lettered.
		p.failing.Store(true)
		ban("scammer2")
		for range notify.MaxAttempts {
			deliver()
			skew.Add(int64(2 * time.Hour)) // past the longest backoff
		}
		dead, err := db.Deliveries(ctx, warden.DeliveryDead, 10)
		if err != nil || len(dead) != 1 || dead[0].Kind != warden.EventEffect || dead[0].Attempts != notify.MaxAttempts {
			t.Fatalf("dead letters = %+v, %v; want the effect after %d attempts", dead, err, notify.MaxAttempts)
		}
		id := notify.MessageID(&dead[0])
		if p.calls(id) != notify.MaxAttempts {
			t.Errorf("the endpoint saw %d attempts of %s, want %d", p.calls(id), id, notify.MaxAttempts)
		}

		// The console lists it and sends it again.
		admin, err := db.CreateUser(ctx, "ops", "correct horse battery staple", warden.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		enrolConsoleUser(t, m.priv.mfa, &admin)
		caller := consoleCaller{role: warden.RoleAdmin, user: &admin}
		code, _, page := m.call(t, "GET /deliveries", m.headers(t, caller, false))
		row := fmt.Sprintf(`<tr data-delivery="%d">`, dead[0].Seq)
		if code != 200 || !strings.Contains(page, row) || !strings.Contains(page, "<td>effect</td>") {
			t.Fatalf("deliveries page %d lacks the dead effect:\n%s", code, page)
		}
		p.failing.Store(false)
		code, loc, _ := m.call(t, fmt.Sprintf("POST /deliveries/%d/retry", dead[0].Seq), m.headers(t, caller, true))
		if code != http.StatusSeeOther || loc != "/deliveries" {
			t.Fatalf("send again: %d to %q", code, loc)
		}
		deliver()
		if e, ok := p.byAction()["scammer2/ban"]; !ok || p.calls(id) != notify.MaxAttempts+1 {
			t.Fatalf("redelivered effect = %+v (%v) after %d calls of %s", e, ok, p.calls(id), id)
		}
		if n := len(p.byAction()); n != 6 {
			t.Errorf("the platform holds %d distinct effects, want 6", n)
		}
	})
}

// waitRestricted waits for the restriction the verdict bridge decides on
// account after the commit of its ladder step, and returns its decision.
func waitRestricted(t *testing.T, m *matrixServer, mod, account string) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var st struct {
			Restriction *struct {
				DecisionID string `json:"decision_id"`
			} `json:"restriction"`
		}
		m.must(t, "GET", "/v1/accounts/"+account+"/standing", mod, "", 200, &st)
		if st.Restriction != nil {
			return st.Restriction.DecisionID
		}
		if time.Now().After(deadline) {
			t.Fatalf("no restriction on %s was decided", account)
		}
	}
}
