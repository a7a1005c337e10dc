package sqlstore_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

func doc(id, version string, material bool) func(prev *sqlstore.PolicyDocument) (*sqlstore.PolicyDocument, error) {
	return func(prev *sqlstore.PolicyDocument) (*sqlstore.PolicyDocument, error) {
		d := &sqlstore.PolicyDocument{ID: id, Version: version, Body: "text of " + version, BodySHA256: "h", Declares: "{}",
			Material: material, MaterialReasons: "[]", WhatChanged: "[]", CreatedUS: 1}
		if prev != nil {
			d.Diff = "prev " + prev.Version
		}
		return d, nil
	}
}

func TestPolicyDocumentSeries(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		if _, err := db.AddDocument(ctx, "terms", "JP", doc("d1", "1", true)); err != nil {
			t.Fatal(err)
		}
		d2, err := db.AddDocument(ctx, "terms", "JP", doc("d2", "2", false))
		if err != nil {
			t.Fatal(err)
		}
		if d2.Diff != "prev 1" {
			t.Errorf("the second version was built against %q, want the first", d2.Diff)
		}
		// Another region is another series.
		if d, err := db.AddDocument(ctx, "terms", "US", doc("d3", "1", true)); err != nil || d.Diff != "" {
			t.Fatalf("US series: %+v %v", d, err)
		}
		_, err = db.AddDocument(ctx, "terms", "JP", doc("d4", "2", true))
		if warden.ErrorCode(err) != warden.ECONFLICT {
			t.Fatalf("a repeated version: %v, want conflict", err)
		}
		docs, err := db.DocumentsMeta(ctx)
		if err != nil || len(docs) != 3 {
			t.Fatalf("documents after a refused one: %d %v", len(docs), err)
		}
		if !docs[0].Material || docs[1].Material || docs[1].Body != "" {
			t.Errorf("meta rows: %+v", docs)
		}
		full, err := db.DocumentByID(ctx, "d2")
		if err != nil || full.Body != "text of 2" || full.Kind != "terms" || full.Region != "JP" {
			t.Fatalf("DocumentByID: %+v %v", full, err)
		}
		if none, err := db.DocumentByID(ctx, "nope"); none != nil || err != nil {
			t.Errorf("an unknown id: %+v %v", none, err)
		}
		if n, err := db.LastDocumentSeq(ctx); err != nil || n != docs[2].Seq {
			t.Errorf("LastDocumentSeq = %d %v, want %d", n, err, docs[2].Seq)
		}
	})
}

func TestPolicyDocumentsPostedAtOnceEachSeeTheOneBefore(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v := string(rune('a' + i))
				if _, err := db.AddDocument(ctx, "terms", "*", doc("d"+v, v, true)); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		docs, err := db.DocumentsMeta(ctx)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for i, d := range docs {
			full, _ := db.DocumentByID(ctx, d.ID)
			want := ""
			if i > 0 {
				want = "prev " + docs[i-1].Version
			}
			if full.Diff != want {
				t.Errorf("version %s was compared with %q, want %q", d.Version, full.Diff, want)
			}
			seen[d.Version] = true
		}
		if len(seen) != 8 {
			t.Errorf("%d versions stored, want 8", len(seen))
		}
	})
}

func TestConsentDecisions(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		d, err := db.AddDocument(ctx, "terms", "*", doc("d1", "1", true))
		if err != nil {
			t.Fatal(err)
		}
		for i, dec := range []string{"decline", "accept"} {
			c := &sqlstore.ConsentDecision{ReceiptID: "r" + dec, UserID: "u1", DocumentID: d.ID, DocumentSeq: d.Seq, Kind: "terms", Region: "*",
				Version: "1", BodySHA256: "h", Decision: dec, CollectionMethod: "api", KeyID: "k", Receipt: "jws." + dec, AtUS: int64(i + 1)}
			if err := db.AddConsentDecision(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		bad := &sqlstore.ConsentDecision{ReceiptID: "rx", UserID: "u1", DocumentID: "no-such-document", Decision: "accept"}
		if err := db.AddConsentDecision(ctx, bad); err == nil {
			t.Error("a decision on a document that does not exist was stored")
		}
		ds, err := db.UserConsentDecisions(ctx, "u1")
		if err != nil || len(ds) != 2 || ds[0].Decision != "decline" || ds[1].Decision != "accept" || ds[1].Receipt != "" {
			t.Fatalf("decisions: %+v %v", ds, err)
		}
		if ds, _ := db.UserConsentDecisions(ctx, "u2"); len(ds) != 0 {
			t.Errorf("another user's decisions: %+v", ds)
		}
		r, err := db.ConsentReceipt(ctx, "raccept")
		if err != nil || r.Receipt != "jws.accept" {
			t.Fatalf("receipt: %+v %v", r, err)
		}
	})
}

func TestTOTPEnrolmentStore(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		rec := &sqlstore.TOTPRecord{UserID: "u1", SecretSealed: []byte{1, 2, 3}, Region: "JP", Moment: "after_login", CreatedUS: 100}
		if ok, err := db.BeginTOTP(ctx, rec, 50); !ok || err != nil {
			t.Fatalf("begin: %v %v", ok, err)
		}
		// A second enrolment while the first is fresh changes nothing.
		again := &sqlstore.TOTPRecord{UserID: "u1", SecretSealed: []byte{9}, CreatedUS: 120}
		if ok, err := db.BeginTOTP(ctx, again, 50); ok || err != nil {
			t.Fatalf("second begin: %v %v", ok, err)
		}
		if r, _ := db.TOTP(ctx, "u1"); string(r.SecretSealed) != "\x01\x02\x03" || r.Region != "JP" {
			t.Fatalf("the pending enrolment was changed: %+v", r)
		}
		// An abandoned one is replaced.
		again.CreatedUS = 300
		if ok, err := db.BeginTOTP(ctx, again, 200); !ok || err != nil {
			t.Fatalf("replacing a stale enrolment: %v %v", ok, err)
		}
		if ok, _ := db.ConfirmTOTP(ctx, "u1", 100, 7, []string{"h1", "h2"}, 400); ok {
			t.Error("confirmed the replaced enrolment")
		}
		if ok, err := db.ConfirmTOTP(ctx, "u1", 300, 7, []string{"h1", "h2"}, 400); !ok || err != nil {
			t.Fatalf("confirm: %v %v", ok, err)
		}
		if ok, _ := db.BeginTOTP(ctx, rec, 1<<60); ok {
			t.Error("an enabled enrolment was replaced")
		}
		if ok, _ := db.AcceptTOTPStep(ctx, "u1", 7); ok {
			t.Error("the confirming code's step was accepted again")
		}
		if ok, _ := db.AcceptTOTPStep(ctx, "u1", 8); !ok {
			t.Error("a later step was refused")
		}
		// In one batch: a replay of a step taken earlier in the batch is
		// refused, a newer one taken.
		if ok, err := db.AcceptTOTPSteps(ctx, []sqlstore.TOTPStep{{User: "u1", Step: 9}, {User: "u1", Step: 9}, {User: "u1", Step: 10}, {User: "nobody", Step: 11}}); err != nil || !slices.Equal(ok, []bool{true, false, true, false}) {
			t.Fatalf("batch = %v, %v", ok, err)
		}
		if ok, _ := db.AcceptTOTPStep(ctx, "nobody", 8); ok {
			t.Error("a user without 2FA had a step accepted")
		}
		if n, _ := db.RecoveryCodesLeft(ctx, "u1"); n != 2 {
			t.Errorf("%d codes left, want 2", n)
		}
		if ok, _ := db.UseRecoveryCode(ctx, "u1", "h1", 500); !ok {
			t.Error("an unused code was refused")
		}
		if ok, _ := db.UseRecoveryCode(ctx, "u1", "h1", 501); ok {
			t.Error("a used code was accepted")
		}
		if n, _ := db.RecoveryCodesLeft(ctx, "u1"); n != 1 {
			t.Errorf("%d codes left, want 1", n)
		}
		for i, want := range []int{1, 2, 3} {
			n, since, err := db.RecordTOTPFailure(ctx, "u1", int64(1000+i), 100)
			if err != nil || n != want || since != 1000 {
				t.Fatalf("failure %d: %d since %d %v", i, n, since, err)
			}
		}
		if n, since, _ := db.RecordTOTPFailure(ctx, "u1", 1200, 100); n != 1 || since != 1200 {
			t.Errorf("a failure after the window: %d since %d, want a new count", n, since)
		}
	})
}

func TestFunnelCounts(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		const day = 86400000000
		monday := int64(20451) * day // 2025-12-29, a Monday
		evs := []sqlstore.FunnelEvent{
			{Stage: "shown", Region: "JP", Moment: "after_login", AtUS: monday},
			{Stage: "shown", Region: "JP", Moment: "after_login", AtUS: monday + 6*day},
			{Stage: "shown", Region: "JP", Moment: "after_login", AtUS: monday + 7*day},
			{Stage: "opened", Region: "US", Moment: "security_event", Variant: "b", AtUS: monday - 1},
		}
		if err := db.AddFunnelEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
		cs, err := db.FunnelCounts(ctx, 0, monday+7*day)
		if err != nil {
			t.Fatal(err)
		}
		want := []sqlstore.FunnelCount{
			{Stage: "opened", Region: "US", Moment: "security_event", Variant: "b", Week: (20451+3)/7 - 1, N: 1},
			{Stage: "shown", Region: "JP", Moment: "after_login", Week: (20451 + 3) / 7, N: 2},
		}
		if len(cs) != len(want) || cs[0] != want[0] || cs[1] != want[1] {
			t.Errorf("counts %+v, want %+v", cs, want)
		}
	})
}
