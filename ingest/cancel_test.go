package ingest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// failOpenEngine blocks every event, unless its context is cancelled: then
// it fails open, as the rule engine does.
type failOpenEngine struct{ onEval func() }

func (e *failOpenEngine) Evaluate(ctx context.Context, ev *warden.Event) warden.Verdict {
	e.onEval()
	if ctx.Err() != nil {
		return warden.Verdict{EventID: ev.ID, Action: warden.ActionAllow, Hits: []warden.Hit{}}
	}
	return warden.Verdict{EventID: ev.ID, Action: warden.ActionBlock, Hits: []warden.Hit{}}
}

// TestClientGoneDoesNotFailVerdictsOpen: the request's client goes away
// while its events are evaluated. Whatever the log keeps for them is the
// verdict the rules gave, never a failed-open allow.
func TestClientGoneDoesNotFailVerdictsOpen(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		log := sqlstore.NewEventLog(db)
		defer log.Close()
		ctx, cancel := context.WithCancel(context.Background())
		eng := &failOpenEngine{onEval: cancel}
		in, err := New(context.Background(), Options{Log: log, Engine: eng})
		if err != nil {
			t.Fatal(err)
		}
		in.Ingest(ctx, events("gone-1", "gone-2")) // may fail: the client is gone
		logged, err := log.Logged(context.Background(), []string{"gone-1", "gone-2"})
		if err != nil {
			t.Fatal(err)
		}
		for id, l := range logged {
			var v warden.Verdict
			if err := json.Unmarshal(l.Verdict, &v); err != nil {
				t.Fatal(err)
			}
			if v.Action != warden.ActionBlock {
				t.Errorf("%s logged with %s, the rules gave block", id, v.Action)
			}
		}
		t.Logf("%d of 2 events logged", len(logged))
	})
}
