package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden"
)

// breakerRules is a rule source with breakers, one tripped.
type breakerRules struct {
	fakeRules
	tripped []BreakerView
	rearmed []string
}

func (b *breakerRules) TrippedBreakers() []BreakerView { return b.tripped }
func (b *breakerRules) RearmBreaker(_ context.Context, rule, by string) error {
	if len(b.tripped) == 0 || b.tripped[0].Rule != rule {
		return warden.Errorf(warden.ECONFLICT, "the breaker of rule %q is not tripped", rule)
	}
	b.tripped, b.rearmed = nil, append(b.rearmed, rule+" by "+by)
	return nil
}
func (b *breakerRules) PreviewPromotion(context.Context, string) (Promotion, error) {
	return Promotion{}, nil
}
func (b *breakerRules) Promote(context.Context, string, string) error { return nil }

// TestBreakerAlert: the rules page alerts to a tripped breaker, with its
// shares; an admin re-arms it from there, a moderator sees no button and
// is refused.
func TestBreakerAlert(t *testing.T) {
	src := &breakerRules{fakeRules: fakeRules{rules: []RuleView{{Name: "denied_domain", Version: 1, Mode: warden.ModeEnforce, Action: warden.ActionBlock}}},
		tripped: []BreakerView{{Rule: "denied_domain", TrippedAt: time.Date(2026, 12, 1, 10, 3, 0, 0, time.UTC), Reason: "32 % of events vs 2 % usual"}}}
	tc := newTestConsole(t, Options{Rules: src})
	tc.user(t, "mod", warden.RoleModerator)
	tc.user(t, "root", warden.RoleAdmin)

	mod := tc.client(t)
	tok := tc.signInAt(t, mod, "mod", "/rules")
	_, body := tc.do(t, mod, "GET", "/rules", nil, nil)
	if !strings.Contains(body, "Held by their breakers") || !strings.Contains(body, "32 % of events vs 2 % usual") || strings.Contains(body, "rearm-denied_domain") {
		t.Fatalf("a moderator's rules page: %s", body)
	}
	if resp, _ := tc.do(t, mod, "POST", "/rules/denied_domain/breaker/rearm", url.Values{"csrf": {tok}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a moderator's re-arm: %d", resp.StatusCode)
	}

	admin := tc.client(t)
	tok = tc.signInAt(t, admin, "root", "/rules")
	if _, body := tc.do(t, admin, "GET", "/live/rules", nil, nil); !strings.Contains(body, `id="rearm-denied_domain"`) {
		t.Fatalf("an admin's rules page has no re-arm: %s", body)
	}
	if resp, _ := tc.do(t, admin, "POST", "/rules/denied_domain/breaker/rearm", url.Values{}, nil); resp.StatusCode != http.StatusForbidden || len(src.rearmed) != 0 {
		t.Fatalf("a re-arm without the CSRF token: %d", resp.StatusCode)
	}
	resp, _ := tc.do(t, admin, "POST", "/rules/denied_domain/breaker/rearm", url.Values{"csrf": {tok}}, nil)
	if resp.StatusCode != http.StatusSeeOther || len(src.rearmed) != 1 || !strings.HasPrefix(src.rearmed[0], "denied_domain by user:") {
		t.Fatalf("re-arm: %d, %v", resp.StatusCode, src.rearmed)
	}
	_, body = tc.do(t, admin, "GET", resp.Header.Get("Location"), nil, nil)
	if strings.Contains(body, "Held by their breakers") || !strings.Contains(body, "is re-armed") {
		t.Fatalf("after the re-arm: %s", body)
	}
	if resp, _ := tc.do(t, admin, "POST", "/rules/denied_domain/breaker/rearm", url.Values{"csrf": {tok}}, nil); resp.StatusCode != http.StatusConflict {
		t.Fatalf("a second re-arm: %d", resp.StatusCode)
	}
}
