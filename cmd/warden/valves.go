package main

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/enforce"
	"github.com/wardenhq/warden/engine"
	"github.com/wardenhq/warden/incident"
	"github.com/wardenhq/warden/rules"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/web"
)

// openValves returns the safety valves of set around ladder, with the
// breaker re-arms admins stored, a tripped breaker logged as the admin
// alert (also on /metrics and the console's rules page), and an
// account's delayed restrictions in its standing.
func openValves(set *enforce.ValveSet, ladder *enforce.Ladder, st *sqlstore.DB, svc *incident.Service, logger *slog.Logger, reg prometheus.Registerer) (*enforce.Valves, error) {
	v := enforce.NewValves(set, ladder, 1_000_000)
	stored, err := st.BreakerRearms(context.Background())
	if err != nil {
		return nil, err
	}
	rs := make([]enforce.Rearm, len(stored))
	for i, r := range stored {
		rs[i] = enforce.Rearm{Rule: r.Rule, At: r.At}
	}
	v.SetRearms(rs)
	v.OnTrip = func(b enforce.Breaker) {
		logger.Warn("rule breaker tripped: its actions are held to review until an admin re-arms it", "rule", b.Rule, "reason", b.Reason)
	}
	if reg != nil {
		if err := reg.Register(v.Collector()); err != nil {
			return nil, err
		}
	}
	svc.SetPending(func(account string) []incident.StandingDecision {
		p, ok := v.PendingOf(account)
		if !ok {
			return nil
		}
		act := warden.ActSuspendAccount
		if p.Step == enforce.StepBan {
			act = warden.ActBanAccount
		}
		due := p.Due
		return []incident.StandingDecision{{Action: act, At: p.At, By: "rule", PendingUntil: &due}}
	})
	return v, nil
}

// Breakers returns the rules' tripped breakers.
func (e ruleEngine) Breakers() []enforce.Breaker { return e.valves.Breakers() }

// Rearm re-arms rule's tripped breaker: stored first, so a replay of the
// log applies it at the same point, then applied.
func (e ruleEngine) Rearm(ctx context.Context, rule, by string) (enforce.Rearm, error) {
	if !e.RuleSet().Has(rule) {
		return enforce.Rearm{}, warden.Errorf(warden.ENOTFOUND, "no rule %q in the running set", rule)
	}
	r, err := e.valves.PrepareRearm(rule)
	if err != nil {
		return r, err
	}
	if err := e.db.AddBreakerRearm(ctx, sqlstore.BreakerRearm{Rule: r.Rule, At: r.At, By: by, RearmedAt: warden.MicrosOf(time.Now())}); err != nil {
		return enforce.Rearm{}, err
	}
	e.valves.AddRearm(r)
	return r, nil
}

// TrippedBreakers is Breakers for the console.
func (e ruleEngine) TrippedBreakers() []web.BreakerView {
	var out []web.BreakerView
	for _, b := range e.valves.Breakers() {
		out = append(out, web.BreakerView{Rule: b.Rule, TrippedAt: b.TrippedAt.Time(), Reason: b.Reason})
	}
	return out
}

// RearmBreaker is Rearm for the console.
func (e ruleEngine) RearmBreaker(ctx context.Context, rule, by string) error {
	_, err := e.Rearm(ctx, rule, by)
	return err
}

// withEffects adds to opts the built-in pack's enforcement ladders and
// safety valves, as openEngine wires them (for warden bench --effects).
func withEffects(opts *engine.Options) (*enforce.Valves, error) {
	policies, err := enforce.LoadLadders(rules.FS)
	if err != nil {
		return nil, err
	}
	set, err := enforce.LoadValves(rules.FS)
	if err != nil {
		return nil, err
	}
	ladder := enforce.NewLadder(policies, 1_000_000)
	v := enforce.NewValves(set, ladder, 1_000_000)
	opts.Escalate = v.Escalate
	opts.Parts = map[string]engine.Part{"ladder": ladder, "valves": v}
	return v, nil
}

// checkEffects loads fsys's ladders and safety valves as serve would over
// rs, and says how many there are.
func checkEffects(fsys fs.FS, rs *engine.RuleSet) (string, error) {
	policies, err := enforce.LoadLadders(fsys)
	if err != nil {
		return "", err
	}
	set, err := enforce.LoadValves(fsys)
	if err != nil {
		return "", err
	}
	if err := set.CheckRules(rs.Has); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d ladders, valves declared for %d rules", len(policies), len(set.Rules)), nil
}
