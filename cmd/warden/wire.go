package main

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/httpapi"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/web"
)

// servedEngine is what serve needs of the rule engine.
type servedEngine interface {
	warden.Engine
	Run(ctx context.Context)
	Close() error
	Observe(evs []warden.Event, vs []warden.Verdict)
}

type allowEngine struct{ warden.AllowAll }

func (allowEngine) Run(ctx context.Context)                         {}
func (allowEngine) Close() error                                    { return nil }
func (allowEngine) Observe(evs []warden.Event, vs []warden.Verdict) {}

func openEngine(ctx context.Context, c serveConfig, logger *slog.Logger, reg prometheus.Registerer) (servedEngine, error) {
	return allowEngine{}, nil
}

// consoleFeed is the console's live view of accepted events. serve's ingest
// OnAccepted must feed it (consoleFeed.Add(evs, vs)) beside eng.Observe; it
// is bounded, and cheap enough for the ingest path.
var consoleFeed = web.NewFeed(web.DefaultFeedSize)

func mountConsole(api *httpapi.Server, st *sqlstore.DB, eng servedEngine, logger *slog.Logger) {
	opt := web.Options{DB: st, Feed: consoleFeed, Logger: logger}
	// The rules page needs the engine's rules and last load error; an engine
	// that does not report them leaves the page saying so.
	if rs, ok := eng.(web.RuleSource); ok {
		opt.Rules = rs
	}
	if _, err := web.New(api.Mux(), opt); err != nil {
		// Only a broken build gets here (templates are embedded and
		// tested); serve the API rather than nothing.
		logger.Error("the console is not served", "err", err)
	}
}
