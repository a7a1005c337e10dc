package incident

import (
	"context"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

func TestVerdictBridgeQueuesFlaggedActorsOnce(t *testing.T) {
	db := sqlstoretest.SQLite(t)
	s := newTestService(t, db, newClock(), nil)
	b := s.NewVerdictBridge(16)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.Run(ctx)
	// The rule's name says nothing about scams: its declared category
	// routes the case.
	hit := func(rule, mode string, a warden.Action) []warden.Hit {
		return []warden.Hit{{Rule: rule, Version: 1, Action: a, Mode: mode, Reason: "12 messages with one link in 10 minutes", Category: warden.CategoryScam}}
	}
	evs := []warden.Event{{ID: "1", Actor: "calm"}, {ID: "2", Actor: "shadowed"}, {ID: "3", Actor: "spammer"}, {ID: "4", Actor: "spammer"}}
	vs := []warden.Verdict{
		{EventID: "1", Action: warden.ActionAllow},
		{EventID: "2", Action: warden.ActionReview, Hits: hit("link_dm_burst", warden.ModeShadow, warden.ActionReview)},
		{EventID: "3", Action: warden.ActionBlock, Score: 0.8, Hits: hit("link_dm_burst", warden.ModeEnforce, warden.ActionBlock)},
		{EventID: "4", Action: warden.ActionBlock, Score: 0.8, Hits: hit("link_dm_burst", warden.ModeEnforce, warden.ActionBlock)},
	}
	b.Observe(evs, vs)
	var cases []CaseSummary
	for deadline := time.Now().Add(10 * time.Second); len(cases) == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond) // waiting for the worker, not asserting a time
		cases, _ = listCases(s, CaseList{})
	}
	if len(cases) != 1 || cases[0].Subject.ID != "spammer" || cases[0].Queue != "scams" || !cases[0].Automated || cases[0].Reports != 1 {
		t.Fatalf("cases = %s", dump(cases))
	}
	if cases[0].Status != warden.CaseOpen {
		t.Fatal("the bridge decided a case by itself")
	}
}
