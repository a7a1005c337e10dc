package consent_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/consent"
	"github.com/wardenhq/warden/internal/sealed"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

func newService(t *testing.T, db *sqlstore.DB) *consent.Service {
	t.Helper()
	dir := t.TempDir()
	box, err := sealed.OpenBox(dir, "box.key")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := consent.OpenKeyring(filepath.Join(dir, "receipt-keys"), box, 0)
	if err != nil {
		t.Fatal(err)
	}
	return consent.New(consent.Options{DB: db, Keys: keys})
}

func jpTerms(version, text string, purposes []string, retention string) consent.DocumentRequest {
	return consent.DocumentRequest{Kind: "terms", Region: "JP", Version: version, Text: text, Declares: &consent.Declarations{
		Purposes: purposes, DataCategories: []string{"profile", "usage"}, Recipients: []string{"hosting provider"},
		Retention: retention, Controller: "Example KK", Contact: "privacy@example.jp"}}
}

func add(t *testing.T, s *consent.Service, req consent.DocumentRequest) *consent.DocumentResult {
	t.Helper()
	r, err := s.AddDocument(context.Background(), nil, req)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func decide(t *testing.T, s *consent.Service, user, doc, decision string) *consent.Decision {
	t.Helper()
	d, err := s.Decide(context.Background(), user, consent.DecisionRequest{DocumentID: doc, Decision: decision, CollectionMethod: "terms banner"})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func pendingIDs(t *testing.T, s *consent.Service, user, region string) []string {
	t.Helper()
	st, err := s.Status(context.Background(), user, region)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range st.Pending {
		out = append(out, p.DocumentID)
	}
	return out
}

// TestMaterialAndTextOnlyVersions is the "must show": a material and
// a non-material version of the JP terms; only the first makes users pending.
func TestMaterialAndTextOnlyVersions(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := newService(t, db)
		v1 := add(t, s, jpTerms("1", "You agree.\nWe keep data.", []string{"service delivery"}, "18 months"))
		if !v1.Material || !slices.Equal(v1.MaterialReasons, []string{"first_version"}) {
			t.Errorf("first version: %+v", v1)
		}
		if got := pendingIDs(t, s, "ana", "JP"); !slices.Equal(got, []string{v1.ID}) {
			t.Fatalf("pending before any decision: %v", got)
		}
		decide(t, s, "ana", v1.ID, consent.Accept)
		decide(t, s, "bo", v1.ID, consent.Accept)
		if got := pendingIDs(t, s, "ana", "JP"); len(got) != 0 {
			t.Fatalf("pending after accepting: %v", got)
		}

		// A text-only edit: not material, nobody is asked again.
		v2 := add(t, s, jpTerms("1.1", "You agree to these terms.\nWe keep data.", []string{"service delivery"}, "18 months"))
		if v2.Material || len(v2.MaterialReasons) != 0 || !slices.Equal(v2.WhatChanged, []string{"wording edited (2 lines changed); nothing you agreed to changed"}) {
			t.Errorf("text-only version: %+v", v2)
		}
		if got := pendingIDs(t, s, "ana", "JP"); len(got) != 0 {
			t.Fatalf("a text-only edit made ana pending: %v", got)
		}

		// A material one: a new purpose and a longer retention.
		v3 := add(t, s, jpTerms("2", "You agree to these terms.\nWe keep data.", []string{"service delivery", "ads measurement"}, "24 months"))
		if !v3.Material {
			t.Fatalf("material version: %+v", v3)
		}
		if diff := cmp.Diff([]string{"purpose_added", "retention_changed"}, v3.MaterialReasons); diff != "" {
			t.Errorf("reasons (-want +got):\n%s", diff)
		}
		wantWords := []string{`added purpose "ads measurement"`, "retention 18 months → 24 months"}
		if diff := cmp.Diff(wantWords, v3.WhatChanged); diff != "" {
			t.Errorf("what_changed (-want +got):\n%s", diff)
		}
		st, err := s.Status(ctx, "ana", "JP")
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Pending) != 1 || st.Pending[0].DocumentID != v3.ID || st.Pending[0].Version != "2" {
			t.Fatalf("pending after the material change: %+v", st.Pending)
		}
		if diff := cmp.Diff(wantWords, st.Pending[0].WhatChanged); diff != "" {
			t.Errorf("pending what_changed (-want +got):\n%s", diff)
		}
		// The phrases the center translates say the same as what_changed.
		if diff := cmp.Diff(st.Pending[0].WhatChanged, consent.English(st.Pending[0].Phrases)); diff != "" {
			t.Errorf("phrases in English (-what_changed +phrases):\n%s", diff)
		}
		if len(st.Current) != 1 || st.Current[0].Decision != "accept" || st.Current[0].Version != "1" {
			t.Errorf("current: %+v", st.Current)
		}

		// Declining is recorded, returned, and leaves the user pending.
		dec := decide(t, s, "ana", v3.ID, consent.Decline)
		st, _ = s.Status(ctx, "ana", "JP")
		if len(st.Pending) != 1 || len(st.Current) != 1 || st.Current[0].Decision != "decline" || st.Current[0].ReceiptID != dec.ReceiptID {
			t.Fatalf("after declining: %+v", st)
		}
		if !strings.HasPrefix(st.Pending[0].WhatChanged[0], "you declined version 2 on ") {
			t.Errorf("pending after a decline says %q", st.Pending[0].WhatChanged)
		}
		if diff := cmp.Diff(st.Pending[0].WhatChanged, consent.English(st.Pending[0].Phrases)); diff != "" {
			t.Errorf("phrases after a decline (-what_changed +phrases):\n%s", diff)
		}
		decide(t, s, "ana", v3.ID, consent.Accept)
		if got := pendingIDs(t, s, "ana", "JP"); len(got) != 0 {
			t.Errorf("pending after accepting version 2: %v", got)
		}

		// Another region without its own terms uses the "*" ones (none
		// here), and the JP terms do not apply there.
		if got := pendingIDs(t, s, "ana", "US"); len(got) != 0 {
			t.Errorf("US pending: %v", got)
		}
	})
}

func TestDecisionsThatChangeNothing(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := newService(t, db)
		v1 := add(t, s, jpTerms("1", "a", []string{"x"}, ""))
		add(t, s, jpTerms("2", "b", []string{"x", "y"}, ""))
		_, err := s.Decide(ctx, "ana", consent.DecisionRequest{DocumentID: "doc_nope", Decision: "accept", CollectionMethod: "api"})
		if we, ok := err.(*warden.Error); !ok || we.Code != warden.ENOTFOUND || we.Field != "document_id" {
			t.Errorf("unknown document: %v", err)
		}
		_, err = s.Decide(ctx, "ana", consent.DecisionRequest{DocumentID: v1.ID, Decision: "accept", CollectionMethod: "api"})
		if warden.ErrorCode(err) != warden.ECONFLICT {
			t.Errorf("a superseded version: %v", err)
		}
		if _, err := s.Status(ctx, "ana", "XX"); warden.ErrorCode(err) != warden.EINVALID {
			t.Errorf("an unknown region: %v", err)
		}
		if ds, _ := db.UserConsentDecisions(ctx, "ana"); len(ds) != 0 {
			t.Errorf("refused decisions were stored: %+v", ds)
		}
		_, err = s.AddDocument(ctx, nil, jpTerms("2", "c", []string{"x"}, ""))
		if warden.ErrorCode(err) != warden.ECONFLICT {
			t.Errorf("a repeated version: %v", err)
		}
		if docs, _ := db.DocumentsMeta(ctx); len(docs) != 2 {
			t.Errorf("%d documents after a refused one, want 2", len(docs))
		}
	})
}

// TestReceiptVerifiesAndCarriesKantaraFields: the JWS verifies with the
// published key set and carries the Kantara Consent Receipt v1.1 fields; a
// rotation keeps the old receipt verifying.
func TestReceiptVerifiesAndCarriesKantaraFields(t *testing.T) {
	db := sqlstoretest.SQLite(t)
	dir := t.TempDir()
	box, _ := sealed.OpenBox(dir, "box.key")
	keys, err := consent.OpenKeyring(filepath.Join(dir, "receipt-keys"), box, 0)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	s := consent.New(consent.Options{DB: db, Keys: keys, PolicyURL: "https://example.jp/terms", Now: func() time.Time { return at }})
	v1 := add(t, s, jpTerms("1", "text", []string{"service delivery", "ads measurement"}, "24 months"))
	rec := decide(t, s, "ana", v1.ID, consent.Accept)

	set, err := s.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	// The set as a client fetches it: JSON, public keys only.
	b, _ := json.Marshal(set)
	if strings.Contains(string(b), `"d"`) {
		t.Fatalf("the JWKS carries a private key: %s", b)
	}
	var published jose.JSONWebKeySet
	if err := json.Unmarshal(b, &published); err != nil {
		t.Fatal(err)
	}
	payload, err := consent.VerifyReceipt(rec.Receipt, published)
	if err != nil {
		t.Fatalf("the receipt does not verify with the published keys: %v", err)
	}
	var got map[string]any
	json.Unmarshal(payload, &got)
	for _, f := range []string{"version", "jurisdiction", "consentTimestamp", "collectionMethod", "consentReceiptID", "piiPrincipalId", "piiControllers", "policyUrl", "services", "sensitive", "spiCat"} {
		if _, ok := got[f]; !ok {
			t.Errorf("the receipt lacks the Kantara field %s", f)
		}
	}
	var r consent.Receipt
	json.Unmarshal(payload, &r)
	if r.Version != "KI-CR-v1.1.0" || r.Jurisdiction != "JP" || r.ConsentTimestamp != at.Unix() || r.ConsentReceiptID != rec.ReceiptID ||
		r.PIIPrincipalID != "ana" || r.CollectionMethod != "terms banner" || r.PolicyURL != "https://example.jp/terms" || r.Decision != "accept" ||
		r.Document.ID != v1.ID || r.Document.Version != "1" || len(r.Document.TextSHA256) != 64 {
		t.Errorf("receipt: %+v", r)
	}
	if r.PIIControllers[0].PIIController != "Example KK" || r.PIIControllers[0].Email != "privacy@example.jp" {
		t.Errorf("controller: %+v", r.PIIControllers)
	}
	if p := r.Services[0].Purposes; len(p) != 2 || p[1].Purpose != "ads measurement" || !p[0].PrimaryPurpose || p[0].Termination != "24 months" || !p[0].ThirdPartyDisclosure {
		t.Errorf("purposes: %+v", p)
	}

	// A receipt altered after signing does not verify.
	parts := strings.Split(rec.Receipt, ".")
	forged := parts[0] + "." + strings.TrimRight(parts[1], "=") + "A." + parts[2]
	if _, err := consent.VerifyReceipt(forged, published); err == nil {
		t.Error("an altered receipt verified")
	}

	// Rotate: new receipts use the new key; the old receipt still verifies
	// with the new set; a restart loads both keys.
	old := published.Keys[0].KeyID
	kid, err := keys.Rotate()
	if err != nil || kid == old {
		t.Fatalf("rotate: %q %v", kid, err)
	}
	v2 := add(t, s, jpTerms("2", "text", []string{"service delivery"}, "24 months"))
	rec2 := decide(t, s, "ana", v2.ID, consent.Accept)
	reopened, err := consent.OpenKeyring(filepath.Join(dir, "receipt-keys"), box, 0)
	if err != nil {
		t.Fatal(err)
	}
	set2, _ := reopened.JWKS()
	if len(set2.Keys) != 2 || set2.Keys[0].KeyID != kid || set2.Keys[1].KeyID != old {
		t.Fatalf("keys after rotation: %+v", set2.Keys)
	}
	for _, jws := range []string{rec.Receipt, rec2.Receipt} {
		if _, err := consent.VerifyReceipt(jws, set2); err != nil {
			t.Errorf("a receipt does not verify after rotation: %v", err)
		}
	}
	obj, _ := jose.ParseSignedCompact(rec2.Receipt, []jose.SignatureAlgorithm{jose.ES256})
	if obj.Signatures[0].Header.KeyID != kid {
		t.Errorf("a new receipt was signed with %s, not the new key %s", obj.Signatures[0].Header.KeyID, kid)
	}

	// The private keys are sealed and private on disk.
	files, _ := filepath.Glob(filepath.Join(dir, "receipt-keys", "*.json"))
	for _, f := range files {
		fi, _ := os.Stat(f)
		b, _ := os.ReadFile(f)
		if fi.Mode().Perm() != 0o600 || strings.Contains(string(b), "PRIVATE") || !strings.Contains(string(b), `"sealed"`) {
			t.Errorf("%s: mode %v, %s", f, fi.Mode().Perm(), b)
		}
	}
	other, _ := sealed.OpenBox(t.TempDir(), "box.key")
	if _, err := consent.OpenKeyring(filepath.Join(dir, "receipt-keys"), other, 0); err == nil {
		t.Error("the keys opened under another data directory's key")
	}
}

func TestCompareWords(t *testing.T) {
	prev := consent.Declarations{Purposes: []string{"a"}, DataCategories: []string{"email"}, Recipients: []string{"AdCo"}, Retention: "", Controller: "X", Contact: "c@x"}
	next := consent.Declarations{Purposes: []string{"A"}, DataCategories: []string{"email", "location"}, Retention: "1 year", Controller: "Y", Contact: "c@x"}
	c := consent.Compare("privacy_policy", "DE", &prev, "same", next, "same")
	want := []string{`added data category "location"`, `removed recipient "AdCo"`, "retention now stated: 1 year", "controller X → Y"}
	if diff := cmp.Diff(want, c.WhatChanged); diff != "" || !c.Material {
		t.Errorf("what_changed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"data_category_added", "recipient_removed", "retention_changed", "controller_changed"}, c.Reasons); diff != "" {
		t.Errorf("reasons (-want +got):\n%s", diff)
	}
	same := consent.Compare("terms", "*", &prev, "t", prev, "t")
	if same.Material || !slices.Equal(same.WhatChanged, []string{"no change to the text or to what you agreed to"}) {
		t.Errorf("no change: %+v", same)
	}
}
