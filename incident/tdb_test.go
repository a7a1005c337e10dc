package incident

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/incident/incidenttest"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// fakeTDB behaves like the Transparency Database's batch endpoint: a bearer
// token, 1–100 statements, each valid against the schema, puids unique, and
// all-or-nothing with 422 {"errors": {"statement_<i>": {field: [msg]}}}.
type fakeTDB struct {
	mu      sync.Mutex
	stored  map[string]bool
	batches []int
}

func (f *fakeTDB) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer tok" || r.URL.Path != "/api/v1/statements" {
		http.Error(w, `{"message":"Unauthenticated."}`, http.StatusUnauthorized)
		return
	}
	var body struct {
		Statements []json.RawMessage `json:"statements"`
	}
	json.NewDecoder(r.Body).Decode(&body)
	f.mu.Lock()
	defer f.mu.Unlock()
	errs := map[string]map[string][]string{}
	if n := len(body.Statements); n < 1 || n > 100 {
		errs["statements"] = map[string][]string{"statements": {"between 1 and 100"}}
	}
	for i, st := range body.Statements {
		var v struct {
			PUID string `json:"puid"`
		}
		json.Unmarshal(st, &v)
		if err := incidenttest.Validate(st); err != nil {
			errs[fmt.Sprintf("statement_%d", i)] = map[string][]string{"schema": {err.Error()}}
		} else if f.stored[v.PUID] {
			errs[fmt.Sprintf("statement_%d", i)] = map[string][]string{"puid": {"The identifier given is not unique within this platform."}}
		}
	}
	if len(errs) > 0 {
		w.WriteHeader(422)
		json.NewEncoder(w).Encode(map[string]any{"message": "invalid", "errors": errs})
		return
	}
	for _, st := range body.Statements {
		var v struct {
			PUID string `json:"puid"`
		}
		json.Unmarshal(st, &v)
		f.stored[v.PUID] = true
	}
	f.batches = append(f.batches, len(body.Statements))
	w.WriteHeader(201)
}

func TestSubmitStatementsInBatchesOnce(t *testing.T) {
	db := sqlstoretest.SQLite(t)
	s := newTestService(t, db, newClock(), nil)
	ctx := context.Background()
	var first string
	for i := range 150 {
		r := mustReport(t, s, app, report("u", warden.TargetAccount, fmt.Sprintf("acct%d", i), warden.CategoryFakeProfile))
		d, err := s.Decide(ctx, moderator, r.CaseID, DecisionRequest{Action: warden.ActBanAccount, Policy: "Authentic identity", Explanation: "The profile is fake."})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = d.ID
		}
	}
	fake := &fakeTDB{stored: map[string]bool{first: true}} // sent before, answer lost
	srv := httptest.NewServer(fake)
	defer srv.Close()
	tdb := TDB{URL: srv.URL + "/api/v1", Token: "tok"}
	n, err := s.SubmitStatements(ctx, tdb)
	if err != nil || n != 149 {
		t.Fatalf("submitted %d, %v; want the 149 new ones", n, err)
	}
	if fmt.Sprint(fake.batches) != "[100 49]" || len(fake.stored) != 150 {
		t.Fatalf("batches %v, stored %d", fake.batches, len(fake.stored))
	}
	if n, err := s.SubmitStatements(ctx, tdb); err != nil || n != 0 {
		t.Fatalf("a second run sent %d, %v", n, err)
	}
	_, err = s.SubmitStatements(ctx, TDB{URL: srv.URL + "/api/v1", Token: "wrong"})
	if err != nil {
		t.Fatalf("nothing left to send, yet: %v", err)
	}
	// A new statement with a bad token fails with the database's answer.
	r := mustReport(t, s, app, report("u", warden.TargetAccount, "late", warden.CategoryFakeProfile))
	if _, err := s.Decide(ctx, moderator, r.CaseID, DecisionRequest{Action: warden.ActBanAccount, Policy: "Authentic identity", Explanation: "The profile is fake."}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SubmitStatements(ctx, TDB{URL: srv.URL + "/api/v1", Token: "wrong"}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("bad token: %v", err)
	}
}
