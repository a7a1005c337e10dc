package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/clientperm"
	"github.com/wardenhq/warden/detect"
	"github.com/wardenhq/warden/enforce"
	"github.com/wardenhq/warden/engine"
	"github.com/wardenhq/warden/httpapi"
	"github.com/wardenhq/warden/incident"
	"github.com/wardenhq/warden/ingest"
	"github.com/wardenhq/warden/messaging"
	"github.com/wardenhq/warden/partner"
	"github.com/wardenhq/warden/quality"
	"github.com/wardenhq/warden/rules"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/survey"
	"github.com/wardenhq/warden/web"
)

// servedEngine is what serve needs of the rule engine.
type servedEngine interface {
	ingest.StatefulEngine
	Run(ctx context.Context)
}

// ruleEngine adapts the engine to the console's rules page, and lets
// admins promote rules to enforce (the mode is kept in the store and
// applied over the rule files at every start).
type ruleEngine struct {
	*engine.Engine
	db     *sqlstore.DB
	valves *enforce.Valves
}

// promotionWindow and promotionEvents bound the replay a promotion
// preview runs: the last day, at most the newest 200,000 events.
const (
	promotionWindow = 24 * time.Hour
	promotionEvents = 200_000
)

func (e ruleEngine) PreviewPromotion(ctx context.Context, rule string) (web.Promotion, error) {
	since := time.Now().Add(-promotionWindow)
	var evs []warden.Event
	err := e.db.RecentEvents(ctx, promotionEvents, func(r sqlstore.EventRecord) error {
		var ev warden.Event
		if json.Unmarshal(r.Body, &ev) == nil && !ev.Time.Before(since) {
			evs = append(evs, ev)
		}
		return nil
	})
	if err != nil {
		return web.Promotion{}, err
	}
	rep, err := e.PreviewMode(ctx, rule, warden.ModeEnforce, evs)
	if err != nil {
		return web.Promotion{}, err
	}
	p := web.Promotion{Rule: rule, Window: promotionWindow, Events: rep.Events, Changed: rep.Changed}
	for _, c := range rep.Changes {
		p.Changes = append(p.Changes, web.PromotionChange{EventID: c.EventID, Before: c.Before, After: c.After})
	}
	return p, nil
}

func (e ruleEngine) Promote(ctx context.Context, rule, by string) error {
	modes, err := e.db.RuleModes(ctx)
	if err != nil {
		return err
	}
	modes[rule] = warden.ModeEnforce
	if err := e.SetModes(modes); err != nil {
		return err
	}
	return e.db.SetRuleMode(ctx, rule, warden.ModeEnforce, by, warden.MicrosOf(time.Now()))
}

func (e ruleEngine) Rules() []web.RuleView {
	rs := e.Engine.Rules()
	out := make([]web.RuleView, len(rs))
	for i, r := range rs {
		out[i] = web.RuleView{Name: r.Name, Version: r.Version, Mode: r.Mode, Action: r.Action, Tags: r.Tags, Hits: r.Hits}
		if r.File != "" {
			out[i].Source = fmt.Sprintf("%s:%d", r.File, r.Line)
		}
	}
	return out
}

func openEngine(c serveConfig, st *sqlstore.DB, svc *incident.Service, ps *partner.Service, logger *slog.Logger, reg prometheus.Registerer) (servedEngine, error) {
	eng, ladder, valves, err := buildEngine(c, st, svc, ps, logger, reg, 0, detect.New(detect.Config{}))
	if err != nil {
		return nil, err
	}
	// An account's standing lists its live ladder strikes beside its
	// restrictive decisions.
	svc.SetStrikes(ladderStrikes(func(string) *enforce.Ladder { return ladder }))
	return ruleEngine{eng, st, valves}, nil
}

// ladderStrikes lists an account's live strikes from the ladder that
// counts them (nil: none here).
func ladderStrikes(ladderOf func(account string) *enforce.Ladder) func(string, time.Time) []incident.Strike {
	return func(account string, now time.Time) []incident.Strike {
		ladder := ladderOf(account)
		if ladder == nil {
			return nil
		}
		var out []incident.Strike
		for _, s := range ladder.Strikes(account, now) {
			rule := s.Rule
			out = append(out, incident.Strike{Policy: s.Policy, Rule: &rule, At: s.At, ExpiresAt: s.ExpiresAt})
		}
		return out
	}
}

// buildEngine makes an engine with state of its own (counters, detectors,
// rule labels, ladder strikes): serve's one, or one per partition in a
// cluster. budget 0 is the engine's default; det is its detectors (nil for
// a cluster partition's, whose detectors run in the crowd stage).
func buildEngine(c serveConfig, st *sqlstore.DB, svc *incident.Service, ps *partner.Service, logger *slog.Logger, reg prometheus.Registerer, budget time.Duration, det *detect.Set) (*engine.Engine, *enforce.Ladder, *enforce.Valves, error) {
	labels := svc.Labels()
	// Rules read partners' imported lists (partner_listed, partner_trust)
	// when partner sharing is on.
	var partners engine.Partners
	if ps != nil {
		partners = ps.Lists()
	}
	// The labels rules set on entities (signup_burst, possibly_compromised
	// …), each until its TTL runs out; this engine's own, in its snapshots.
	ruleLabels := enforce.NewLabels(1_000_000)
	// Enforcement ladders: repeated strikes escalate (rules/ladders, or
	// the --rules directory's ladders/).
	var ruleFS fs.FS = rules.FS
	if c.rules != "" {
		ruleFS = os.DirFS(c.rules)
	}
	policies, err := enforce.LoadLadders(ruleFS)
	if err != nil {
		return nil, nil, nil, err
	}
	ladder := enforce.NewLadder(policies, 1_000_000)
	// Safety valves around the ladder: quotas, breakers, hold-outs and
	// delays per rule (rules/valves, or the --rules directory's valves/).
	valveSet, err := enforce.LoadValves(ruleFS)
	if err != nil {
		return nil, nil, nil, err
	}
	valves, err := openValves(valveSet, ladder, st, svc, logger, reg)
	if err != nil {
		return nil, nil, nil, err
	}
	eng, err := engine.Open(engine.Options{
		RulesDir:   c.rules,
		Logger:     logger,
		Registerer: reg,
		Budget:     budget,
		Detectors:  det,
		// Rules read the labels moderators' decisions set and the
		// labels earlier rules set; enforce-mode label effects land in
		// the latter.
		Labels:   enforce.Union{labels, ruleLabels},
		Partners: partners,
		// A banned or suspended account's next event is blocked.
		Standing:  labels,
		OnEffects: ruleLabels.Apply,
		Escalate:  valves.Escalate,
		// Rule labels, strikes and valves are rebuilt from the log like
		// counters, so the engine's snapshots carry them.
		Parts: map[string]engine.Part{"rule_labels": ruleLabels, "ladder": ladder, "valves": valves},
	})
	if err != nil {
		return nil, nil, nil, err
	}
	if err := valveSet.CheckRules(eng.RuleSet().Has); err != nil {
		return nil, nil, nil, err
	}
	// Modes set in the console apply over the rule files.
	if modes, err := st.RuleModes(context.Background()); err != nil {
		return nil, nil, nil, err
	} else if len(modes) > 0 {
		if err := eng.SetModes(modes); err != nil {
			logger.Error("rule modes set in the console do not apply to this rule set", "err", err)
		}
	}
	return eng, ladder, valves, nil
}

// consoleFeed is the console's live view of accepted events, fed by
// ingest's OnAccepted; it is bounded, and cheap enough for the ingest path.
var consoleFeed = web.NewFeed(web.DefaultFeedSize)

// mountRoutes registers every route of serve's HTTP server on api: each
// feature's /v1 calls, then the console's pages (nil when the console could
// not be built). The role × route matrix test (matrix_test.go) builds its
// server with it, so a route mounted here is a route the matrix calls, and
// one mounted without a declared audience fails it. salt is the survey
// salt that platform ids in survey waves were hashed with; themes the
// vocabulary of interview notes.
func mountRoutes(api *httpapi.Server, st *sqlstore.DB, eng servedEngine, svc *incident.Service, ps *partner.Service, priv *privacy, salt []byte, themes *survey.Vocabulary, logger *slog.Logger, origins []string) *web.Console {
	httpapi.RegisterIncidents(api, svc)
	var partners httpapi.PartnerService // a nil *partner.Service would be a non-nil interface
	if ps != nil {
		partners = ps
	}
	httpapi.RegisterPartners(api, partners, st)
	trust := survey.NewReporter(st, salt)
	httpapi.RegisterInsights(api, trust, st)
	httpapi.RegisterNotes(api, st, themes)
	messages := messaging.New(st, salt)
	httpapi.RegisterMessages(api, messages, st)
	if b, ok := eng.(httpapi.BreakerService); ok {
		httpapi.RegisterBreakers(api, b)
	}
	rq := quality.New(quality.Options{Store: st})
	httpapi.RegisterQuality(api, rq)
	api.Registerer().MustRegister(rq.Collector())
	c := mountConsole(api, st, eng, svc, logger, origins)
	if c != nil {
		c.MountNotes(web.NotesOptions{Store: st, Messages: messages})
	}
	p := httpapi.Privacy{Consent: priv.consent, MFA: priv.mfa}
	if len(origins) > 0 {
		p.Origin = origins[0]
	}
	if c != nil {
		c.MountQuality(rq)
		c.MountTwoFactor(priv.mfa, !priv.optionalAdmin2FA)
		c.MountPrivacy(priv.mfa)
		c.MountInsights(trust)
		c.MountLedgers(web.LedgerOptions{Access: priv.ledgers.access, Requests: priv.ledgers.requests})
		priv.center = c.MountCenter(web.CenterOptions{Mac: priv.centerMac, Consent: priv.consent, MFA: priv.mfa, Incidents: svc,
			Access: priv.ledgers.access, Requests: priv.ledgers.requests})
		p.Center = priv.center
	}
	httpapi.RegisterPrivacy(api, p)
	perms := clientperm.New(clientperm.Options{Store: st, Mac: priv.permMac})
	priv.ledgers.requests.AddSource(permissionSource{perms})
	httpapi.RegisterClientPermissions(api, perms)
	if c != nil {
		c.MountClientPermissions(perms)
		priv.center.SetPermissions(perms)
	}
	httpapi.RegisterLedgers(api, httpapi.Ledgers{Access: priv.ledgers.access, Requests: priv.ledgers.requests})
	return c
}

func mountConsole(api *httpapi.Server, st *sqlstore.DB, eng servedEngine, svc *incident.Service, logger *slog.Logger, origins []string) *web.Console {
	opt := web.Options{DB: st, Feed: consoleFeed, Logger: logger, TrustedOrigins: origins, ClientAddr: api.ClientAddr}
	// The rules page needs the engine's rules and last load error; an engine
	// that does not report them leaves the page saying so.
	if rs, ok := eng.(web.RuleSource); ok {
		opt.Rules = rs
	}
	c, err := web.New(api.Mux(), opt)
	if err != nil {
		// Only a broken build gets here (templates are embedded and
		// tested); serve the API rather than nothing.
		logger.Error("the console is not served", "err", err)
		return nil
	}
	c.MountCases(svc)
	return c
}
