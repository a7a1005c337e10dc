package httpapi_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/detect"
	"github.com/wardenhq/warden/engine"
	"github.com/wardenhq/warden/httpapi"
	"github.com/wardenhq/warden/ingest"
	"github.com/wardenhq/warden/sqlstore"
)

// servedEngine is the engine as warden serve runs it: the built-in rule
// pack and the built-in detectors.
func servedEngine(tb testing.TB) *engine.Engine {
	tb.Helper()
	eng, err := engine.Open(engine.Options{Detectors: detect.New(detect.Config{})})
	if err != nil {
		tb.Fatal(err)
	}
	return eng
}

// serveAPI serves the API over loopback HTTP with eng behind ingest and a
// durable event log in db, and returns its URL and an app key. Everything
// is closed when tb ends.
func serveAPI(tb testing.TB, db *sqlstore.DB, eng warden.Engine) (url, appKey string) {
	tb.Helper()
	log := sqlstore.NewEventLog(db)
	in, err := ingest.New(context.Background(), ingest.Options{Log: log, Engine: eng})
	if err != nil {
		tb.Fatal(err)
	}
	key, _, err := db.CreateKey(context.Background(), warden.RoleApp, "")
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(httpapi.Options{DB: db, Ingest: in}).Handler())
	// Cleanups run last-in first-out: the server stops before the log.
	tb.Cleanup(log.Close)
	tb.Cleanup(srv.Close)
	return srv.URL, key
}
