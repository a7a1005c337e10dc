package main

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/httpapi"
	"github.com/wardenhq/warden/sqlstore"
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

func mountConsole(api *httpapi.Server, st *sqlstore.DB, eng servedEngine, logger *slog.Logger) {}
