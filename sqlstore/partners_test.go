package sqlstore_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

func TestPartnerStore(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		if _, err := db.PartnerKey(ctx, "b.example"); warden.ErrorCode(err) != warden.ENOTFOUND {
			t.Fatalf("unknown partner: %v", err)
		}
		if err := db.AddPartner(ctx, " ", "k"); warden.ErrorCode(err) != warden.EINVALID {
			t.Fatalf("blank name: %v", err)
		}
		if err := db.AddPartner(ctx, "b.example", "ed25519:one"); err != nil {
			t.Fatal(err)
		}
		if err := db.AddPartner(ctx, "b.example", "ed25519:two"); err != nil { // a new key
			t.Fatal(err)
		}
		if k, err := db.PartnerKey(ctx, "b.example"); err != nil || k != "ed25519:two" {
			t.Fatalf("key: %q %v", k, err)
		}
		packed := bytes.Repeat([]byte{1}, 50)
		if err := db.SavePartnerList(ctx, "b.example", "medium", packed, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := db.SavePartnerList(ctx, "nobody", "high", packed, time.Now()); err == nil {
			t.Fatal("a list of an unregistered partner was kept")
		}
		n := 0
		err := db.PartnerLists(ctx, func(p, tr string, b []byte, _ int64) error {
			n++
			if p != "b.example" || tr != "medium" || !bytes.Equal(b, packed) {
				t.Errorf("list %s %s %d bytes", p, tr, len(b))
			}
			return nil
		})
		if err != nil || n != 1 {
			t.Fatalf("lists: %d %v", n, err)
		}
		if st, err := db.PartnerListStamps(ctx); err != nil || len(st) != 1 || st["b.example"] == 0 {
			t.Fatalf("stamps: %v %v", st, err)
		}
		ps, err := db.Partners(ctx)
		if err != nil || len(ps) != 1 || ps[0].Listed != 2 || ps[0].Trust != "medium" {
			t.Fatalf("partners: %+v %v", ps, err)
		}
	})
}
