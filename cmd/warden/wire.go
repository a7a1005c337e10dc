package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/wardenhq/warden/detect"
	"github.com/wardenhq/warden/enforce"
	"github.com/wardenhq/warden/engine"
	"github.com/wardenhq/warden/httpapi"
	"github.com/wardenhq/warden/incident"
	"github.com/wardenhq/warden/ingest"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/web"
)

// servedEngine is what serve needs of the rule engine.
type servedEngine interface {
	ingest.StatefulEngine
	Run(ctx context.Context)
}

// ruleEngine adapts the engine to the console's rules page.
type ruleEngine struct{ *engine.Engine }

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

func openEngine(c serveConfig, labels *incident.Labels, logger *slog.Logger, reg prometheus.Registerer) (servedEngine, error) {
	// The labels rules set on entities (signup_burst, possibly_compromised
	// …), each until its TTL runs out; this engine's own, in its snapshots.
	ruleLabels := enforce.NewLabels(1_000_000)
	eng, err := engine.Open(engine.Options{
		RulesDir:   c.rules,
		Logger:     logger,
		Registerer: reg,
		Detectors:  detect.New(detect.Config{}),
		// Rules read the labels moderators' decisions set and the
		// labels earlier rules set; enforce-mode label effects land in
		// the latter.
		Labels: enforce.Union{labels, ruleLabels},
		// A banned or suspended account's next event is blocked.
		Standing:  labels,
		OnEffects: ruleLabels.Apply,
		// Rule labels are rebuilt from the log like counters, so the
		// engine's snapshots carry them.
		Parts: map[string]engine.Part{"rule_labels": ruleLabels},
	})
	if err != nil {
		return nil, err
	}
	return ruleEngine{eng}, nil
}

// consoleFeed is the console's live view of accepted events, fed by
// ingest's OnAccepted; it is bounded, and cheap enough for the ingest path.
var consoleFeed = web.NewFeed(web.DefaultFeedSize)

// mountRoutes registers every route of serve's HTTP server on api: each
// feature's /v1 calls, then the console's pages (nil when the console could
// not be built). The role × route matrix test (matrix_test.go) builds its
// server with it, so a route mounted here is a route the matrix calls, and
// one mounted without a declared audience fails it.
func mountRoutes(api *httpapi.Server, st *sqlstore.DB, eng servedEngine, svc *incident.Service, logger *slog.Logger, origins []string) *web.Console {
	httpapi.RegisterIncidents(api, svc)
	return mountConsole(api, st, eng, svc, logger, origins)
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
