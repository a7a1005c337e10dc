package demo

import (
	"context"
	"testing"

	"github.com/wardenhq/warden/consent"
	"github.com/wardenhq/warden/datarequest"
	"github.com/wardenhq/warden/internal/sealed"
	"github.com/wardenhq/warden/ledger"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// TestDemoLedger: the demo user gets three accesses, flags on the vendor's
// one, and an open request; a second start adds nothing.
func TestDemoLedger(t *testing.T) {
	db := sqlstoretest.SQLite(t)
	dir := t.TempDir()
	box, _ := sealed.OpenBox(dir, "box.key")
	ring, err := consent.OpenKeyring(dir+"/ledger", box, 0)
	if err != nil {
		t.Fatal(err)
	}
	led := ledger.New(ledger.Options{DB: db, Keys: ring})
	defer led.Close()
	reqs := datarequest.New(datarequest.Options{DB: db})
	ctx := context.Background()
	for range 2 {
		if err := Ledger(ctx, LedgerOptions{Access: led, Requests: reqs, User: "demo-user"}); err != nil {
			t.Fatal(err)
		}
	}
	v, _ := led.UserView(ctx, "demo-user", 30)
	flags, _ := led.Flags(ctx, false, 10)
	open, _ := reqs.List(ctx, "open")
	if len(v.Entries) != 3 || len(flags) != 2 || len(open) != 1 {
		t.Fatalf("%d entries, %d flags (%+v), %d requests", len(v.Entries), len(flags), flags, len(open))
	}
}
