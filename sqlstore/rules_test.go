package sqlstore_test

import (
	"context"
	"testing"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

func TestBreakerRearms(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		if rs, err := db.BreakerRearms(ctx); err != nil || len(rs) != 0 {
			t.Fatalf("none yet: %v %v", rs, err)
		}
		if err := db.AddBreakerRearm(ctx, sqlstore.BreakerRearm{Rule: "r"}); warden.ErrorCode(err) != warden.EINVALID {
			t.Fatalf("a re-arm by nobody: %v", err)
		}
		want := []sqlstore.BreakerRearm{{Rule: "r", At: 20, By: "admin", RearmedAt: 5}, {Rule: "r", At: 10, By: "admin2", RearmedAt: 6}}
		for _, r := range want {
			if err := db.AddBreakerRearm(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		got, err := db.BreakerRearms(ctx)
		if err != nil || len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Fatalf("re-arms = %+v, %v", got, err)
		}
	})
}
