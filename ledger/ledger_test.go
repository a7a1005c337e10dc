package ledger

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/consent"
	"github.com/wardenhq/warden/internal/sealed"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

func newTestService(t testing.TB, db *sqlstore.DB, opt Options) (*Service, *consent.Keyring) {
	t.Helper()
	dir := t.TempDir()
	box, err := sealed.OpenBox(dir, "box.key")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := consent.OpenKeyring(dir+"/ledger", box, 0)
	if err != nil {
		t.Fatal(err)
	}
	opt.DB, opt.Keys = db, ring
	if opt.CheckpointLag == 0 {
		opt.CheckpointLag = time.Nanosecond // tests checkpoint what they just appended
	}
	s := New(opt)
	t.Cleanup(s.Close)
	return s, ring
}

func access(user, purpose, ticket string, cats ...string) Access {
	return Access{User: user, Actor: Actor{Class: ClassEmployee, ID: "agent-7"}, Purpose: purpose, Ticket: ticket, DataCategories: cats}
}

func record(t *testing.T, s *Service, a Access) Receipt {
	t.Helper()
	if err := a.Validate(time.Now()); err != nil {
		t.Fatal(err)
	}
	r, err := s.Record(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func verify(t *testing.T, db *sqlstore.DB, ring *consent.Keyring) Report {
	t.Helper()
	set, err := ring.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(context.Background(), db, &set, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestAccessWithoutPurposeRefused: no purpose (or a support access without
// a ticket) is 422 naming the field, and nothing is written.
func TestAccessWithoutPurposeRefused(t *testing.T) {
	for body, field := range map[string]string{
		`{"user":"u1","actor":{"class":"employee","id":"e1"}}`:                                                         "purpose",
		`{"user":"u1","actor":{"class":"employee","id":"e1"},"purpose":"CURIOSITY"}`:                                   "purpose",
		`{"user":"u1","actor":{"class":"employee","id":"e1"},"purpose":"USER_INITIATED_SUPPORT"}`:                      "ticket",
		`{"user":"u1","actor":{"class":"employee","id":"e1"},"purpose":"SAFETY_REVIEW","ticket":"  "}`:                 "ticket",
		`{"user":"u1","actor":{"class":"intern","id":"e1"},"purpose":"SERVICE_OPERATION"}`:                             "actor.class",
		`{"user":"","actor":{"class":"employee","id":"e1"},"purpose":"SERVICE_OPERATION"}`:                             "user",
		`{"user":"u1","actor":{"class":"employee","id":"e1","region":"de"},"purpose":"LEGAL_REQUEST"}`:                 "actor.region",
		`{"user":"u1","actor":{"class":"employee","id":"e1"},"purpose":"LEGAL_REQUEST","extra":1}`:                     "extra",
		`{"user":"u1","actor":{"class":"employee","id":"e1"},"purpose":"LEGAL_REQUEST","time":"3000-01-01T00:00:00Z"}`: "time",
	} {
		_, err := DecodeAccess([]byte(body), time.Now())
		we, ok := err.(*warden.Error)
		if !ok || we.Field != field {
			t.Errorf("%s: %v, want an error on %s", body, err, field)
			continue
		}
		if (field == "purpose" || field == "ticket") && we.Code != warden.EUNPROCESSABLE {
			t.Errorf("%s: code %s, want unprocessable (422)", body, we.Code)
		}
	}
	a, err := DecodeAccess([]byte(`{"user":"u1","actor":{"class":"employee","id":"e1"},"purpose":"USER_INITIATED_SUPPORT","ticket":"zendesk:1","data_categories":["Profile","messages","profile"]}`), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(a.DataCategories, ",") != "messages,profile" || a.Time.IsZero() {
		t.Fatalf("not normalised: %+v", a)
	}
}

// TestChainVerifiesAndFindsTampering: appended entries chain per user and
// verify; an edited, removed or reordered entry, or one removed from the
// end of a chain under a checkpoint, is named.
func TestChainVerifiesAndFindsTampering(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		s, ring := newTestService(t, db, Options{})
		ctx := context.Background()
		var recs []Receipt
		for i := range 30 {
			recs = append(recs, record(t, s, access(fmt.Sprintf("u%d", i%3), ServiceOperation, "", "profile")))
		}
		if recs[3].Seq != 2 || recs[0].Seq != 1 || recs[0].Hash == recs[3].Hash {
			t.Fatalf("chain positions: %+v %+v", recs[0], recs[3])
		}
		if _, err := s.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		if cp, err := s.Checkpoint(ctx); err != nil || cp != nil {
			t.Fatalf("a second checkpoint with nothing new = %v %v", cp, err)
		}
		rep := verify(t, db, ring)
		if !rep.OK || rep.Entries != 30 || rep.Chains != 3 || rep.Checkpoints != 1 {
			t.Fatalf("clean ledger: %+v %v", rep, rep.Problem)
		}

		// Edit one row's purpose.
		target := recs[10]
		if _, err := db.Exec("UPDATE access_ledger SET purpose = 'LEGAL_REQUEST' WHERE id = $1", target.ID); err != nil {
			t.Fatal(err)
		}
		rep = verify(t, db, ring)
		if rep.OK || rep.Problem.EntryID != target.ID || !strings.Contains(rep.Problem.Reason, "edited") {
			t.Fatalf("edited entry: %+v %v", rep, rep.Problem)
		}
		db.Exec("UPDATE access_ledger SET purpose = 'SERVICE_OPERATION' WHERE id = $1", target.ID)
		if rep := verify(t, db, ring); !rep.OK {
			t.Fatalf("restored: %v", rep.Problem)
		}

		// Remove one from the middle of a chain: the next entry of the
		// same chain is named.
		var next string
		db.Get(&next, "SELECT id FROM access_ledger WHERE subject = (SELECT subject FROM access_ledger WHERE id = $1) AND chain_seq = (SELECT chain_seq + 1 FROM access_ledger WHERE id = $1)", recs[4].ID)
		var saved sqlstore.AccessRow
		if err := db.Get(&saved, "SELECT * FROM access_ledger WHERE id = $1", recs[4].ID); err != nil {
			t.Fatal(err)
		}
		db.Exec("DELETE FROM access_ledger WHERE id = $1", recs[4].ID)
		rep = verify(t, db, ring)
		if rep.OK || rep.Problem.EntryID != next || !strings.Contains(rep.Problem.Reason, "removed") {
			t.Fatalf("removed entry: want %s named, got %+v %v", next, rep, rep.Problem)
		}
		reinsert := func(r sqlstore.AccessRow) {
			t.Helper()
			if _, err := db.NamedExec("INSERT INTO access_ledger ("+strings.ReplaceAll(accessColsForTest, ":", "")+") VALUES ("+accessColsForTest+")", r); err != nil {
				t.Fatal(err)
			}
		}
		reinsert(saved)
		if rep := verify(t, db, ring); !rep.OK {
			t.Fatalf("reinserted: %v", rep.Problem)
		}

		// Reorder: swap the contents of two entries of one chain.
		var a, b sqlstore.AccessRow
		db.Get(&a, "SELECT * FROM access_ledger WHERE id = $1", recs[0].ID)
		db.Get(&b, "SELECT * FROM access_ledger WHERE id = $1", recs[3].ID)
		db.Exec("DELETE FROM access_ledger WHERE id IN ($1, $2)", a.ID, b.ID)
		a.Seq, b.Seq = b.Seq, a.Seq
		reinsert(a)
		reinsert(b)
		rep = verify(t, db, ring)
		if rep.OK || rep.Problem.EntryID != recs[3].ID {
			t.Fatalf("reordered: %+v %v", rep, rep.Problem)
		}
		db.Exec("DELETE FROM access_ledger WHERE id IN ($1, $2)", a.ID, b.ID)
		a.Seq, b.Seq = b.Seq, a.Seq
		reinsert(a)
		reinsert(b)
		if rep := verify(t, db, ring); !rep.OK {
			t.Fatalf("restored order: %v", rep.Problem)
		}

		// Remove the last entry of a chain: only the checkpoint shows it.
		last := recs[29]
		db.Exec("DELETE FROM access_ledger WHERE id = $1", last.ID)
		rep = verify(t, db, ring)
		if rep.OK || rep.Problem.Checkpoint == 0 || !strings.Contains(rep.Problem.Reason, "removed") {
			t.Fatalf("tail removed: %+v %v", rep, rep.Problem)
		}
	})
}

const accessColsForTest = ":seq, :id, :subject, :chain_seq, :user_id, :actor_class, :actor_id, :actor_region, :user_region, :purpose, :ticket, :categories, :time_us, :recorded_us, :prev_hash, :hash"

// TestErasureKeepsChainVerifiable: after a user's link to their chain is
// erased, the ledger still verifies, and the entries name nobody.
func TestErasureKeepsChainVerifiable(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		s, ring := newTestService(t, db, Options{})
		ctx := context.Background()
		for i := range 6 {
			record(t, s, access(fmt.Sprintf("u%d", i%2), ServiceOperation, ""))
		}
		s.Checkpoint(ctx)
		n, err := db.EraseAccessSubject(ctx, "u1")
		if err != nil || n != 3 {
			t.Fatalf("erase = %d %v", n, err)
		}
		s.Forget("u1")
		// The same account id coming back starts a new chain.
		record(t, s, access("u1", ServiceOperation, ""))
		rep := verify(t, db, ring)
		if !rep.OK || rep.Erased != 3 || rep.Chains != 3 {
			t.Fatalf("after erasure: %+v %v", rep, rep.Problem)
		}
		v, err := s.UserView(ctx, "u1", 30)
		if err != nil || len(v.Entries) != 1 {
			t.Fatalf("u1 after erasure sees %d entries (%v)", len(v.Entries), err)
		}
	})
}

// TestPolicyFlags: a purpose not allowed for a category, a closed or
// unknown case as ticket, out-of-region access and one actor touching many
// users are flagged; a prefixed platform ticket is accepted unchecked.
func TestPolicyFlags(t *testing.T) {
	db := sqlstoretest.SQLite(t)
	cases := func(_ context.Context, id string) (bool, bool, error) {
		switch id {
		case "C-OPEN":
			return true, true, nil
		case "C-CLOSED":
			return true, false, nil
		}
		return false, false, nil
	}
	s, _ := newTestService(t, db, Options{Cases: cases, ManyUsers: 5})
	kinds := func(r Receipt) string { return strings.Join(r.Flags, ",") }
	if r := record(t, s, access("u1", SafetyReview, "C-OPEN", "messages")); kinds(r) != "" {
		t.Fatalf("a clean access flagged %v", r.Flags)
	}
	if r := record(t, s, access("u1", UserInitiatedSupport, "zendesk:4821", "profile")); kinds(r) != "" {
		t.Fatalf("a platform ticket flagged %v", r.Flags)
	}
	if r := record(t, s, access("u1", ServiceOperation, "", "messages")); kinds(r) != FlagPurposeNotAllowed {
		t.Fatalf("messages for service operation: %v", r.Flags)
	}
	if r := record(t, s, access("u1", SafetyReview, "C-CLOSED")); kinds(r) != FlagTicketClosed {
		t.Fatalf("closed case: %v", r.Flags)
	}
	if r := record(t, s, access("u1", SafetyReview, "C-NOPE")); kinds(r) != FlagTicketNotFound {
		t.Fatalf("unknown case: %v", r.Flags)
	}
	a := access("u1", LegalRequest, "", "shoe_size")
	a.Actor.Region, a.UserRegion = "US", "DE"
	if r := record(t, s, a); kinds(r) != FlagUnknownCategory+","+FlagOutOfRegion {
		t.Fatalf("unknown category, out of region: %v", r.Flags)
	}
	var many []string
	for i := range 8 {
		r := record(t, s, access(fmt.Sprintf("m%d", i), ServiceOperation, ""))
		many = append(many, r.Flags...)
	}
	if strings.Join(many, ",") != FlagManyUsers {
		t.Fatalf("8 users for a threshold of 5 (6 with u1): %v, want one many_users flag", many)
	}
	open, err := s.Flags(context.Background(), false, 100)
	if err != nil || len(open) != 6 {
		t.Fatalf("open flags = %d %v", len(open), err)
	}
	if err := s.Resolve(context.Background(), open[0].ID, "admin", "checked with the team"); err != nil {
		t.Fatal(err)
	}
	if err := s.Resolve(context.Background(), open[0].ID, "admin", ""); warden.ErrorCode(err) != warden.ENOTFOUND {
		t.Fatalf("resolving twice = %v", err)
	}
	if done, _ := s.Flags(context.Background(), true, 100); len(done) != 1 || done[0].ResolvedBy != "admin" {
		t.Fatalf("resolved flags = %+v", done)
	}
}

// TestGroupCommitConcurrent: appends from many goroutines at once all
// land, each chain in order.
func TestGroupCommitConcurrent(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		s, ring := newTestService(t, db, Options{})
		errs := make(chan error, 400)
		for g := range 8 {
			go func() {
				for i := range 50 {
					a := access(fmt.Sprintf("u%d", (g*50+i)%5), ServiceOperation, "")
					a.Validate(time.Now())
					_, err := s.Record(context.Background(), a)
					errs <- err
				}
			}()
		}
		for range 400 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		rep := verify(t, db, ring)
		if !rep.OK || rep.Entries != 400 || rep.Chains != 5 {
			t.Fatalf("%+v %v", rep, rep.Problem)
		}
	})
}

func TestWhy(t *testing.T) {
	got := Why(ClassEmployee, UserInitiatedSupport, "zendesk:1", []string{"profile", "messages", "ip"})
	if got != "An employee looked at your profile, your messages and your IP addresses to answer a support request you made (ticket zendesk:1)." {
		t.Fatal(got)
	}
}

// FuzzDecodeAccess: no input panics; a refused one is a *warden.Error; an
// accepted one has a purpose from the list, a ticket where needed and
// normalised categories.
func FuzzDecodeAccess(f *testing.F) {
	f.Add(`{"user":"u1","actor":{"class":"employee","id":"e1"},"purpose":"USER_INITIATED_SUPPORT","ticket":"zendesk:1","data_categories":["Profile"]}`)
	f.Add(`{"user":"u1","actor":{"class":"service","id":"s","region":"DE"},"purpose":"SERVICE_OPERATION","time":"2026-01-01T00:00:00Z","user_region":"FR"}`)
	f.Add(`{"user":"u1","actor":{"class":"employee","id":"e1"}}`)
	f.Add(`{"purpose":1}`)
	f.Add(`[]`)
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body string) {
		a, err := DecodeAccess([]byte(body), now)
		if err != nil {
			if _, ok := err.(*warden.Error); !ok {
				t.Fatalf("%q: %T %v", body, err, err)
			}
			return
		}
		if !contains(Purposes, a.Purpose) || (NeedsTicket(a.Purpose) && a.Ticket == "") || a.Time.IsZero() {
			t.Fatalf("%q accepted as %+v", body, a)
		}
		for _, c := range a.DataCategories {
			if c == "" || strings.ToLower(c) != c || strings.Contains(c, ",") {
				t.Fatalf("%q: category %q", body, c)
			}
		}
	})
}
