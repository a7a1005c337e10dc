package sqlstore_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

func rec(id string) sqlstore.EventRecord {
	return sqlstore.EventRecord{ID: id, Type: "follow", Actor: "a", TimeUS: 1, ReceivedUS: 2,
		Body: []byte(`{"id":"` + id + `"}`), Verdict: []byte(`{"event_id":"` + id + `"}`)}
}

func TestEventLogAppendIsIdempotent(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		log := sqlstore.NewEventLog(db)
		defer log.Close()

		first := rec("e1")
		res, err := log.Append(ctx, []sqlstore.EventRecord{first, rec("e2"), rec("e1")})
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Duplicate || res[1].Duplicate || !res[2].Duplicate {
			t.Fatalf("duplicates = %v %v %v, want false false true", res[0].Duplicate, res[1].Duplicate, res[2].Duplicate)
		}
		again := rec("e1")
		again.Verdict = []byte(`{"changed":true}`)
		res, err = log.Append(ctx, []sqlstore.EventRecord{again})
		if err != nil {
			t.Fatal(err)
		}
		if !res[0].Duplicate || string(res[0].Verdict) != string(first.Verdict) {
			t.Fatalf("resent e1: %+v, want the first verdict %s", res[0], first.Verdict)
		}
		var ids []string
		if err := log.Export(ctx, sqlstore.ExportFilter{}, func(r sqlstore.EventRecord) error {
			ids = append(ids, r.ID)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ids) != "[e1 e2]" {
			t.Fatalf("exported %v, want [e1 e2]", ids)
		}
	})
}

func TestEventLogConcurrentAppendsKeepEveryEventOnce(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		log := sqlstore.NewEventLog(db)
		defer log.Close()
		const writers, per = 8, 250
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var recs []sqlstore.EventRecord
				for i := 0; i < per; i++ {
					// Writers overlap on half their ids: each id must land once.
					recs = append(recs, rec(fmt.Sprintf("e%d", (w/2)*per+i)))
				}
				if _, err := log.Append(ctx, recs); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		n, err := log.Count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := int64(writers / 2 * per); n != want {
			t.Fatalf("log holds %d events, want %d", n, want)
		}
	})
}

func TestKeys(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		secret, key, err := db.CreateKey(ctx, warden.RoleModerator, "mod one")
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.KeyBySecret(ctx, secret)
		if err != nil || got.ID != key.ID || got.Role != warden.RoleModerator {
			t.Fatalf("KeyBySecret = %+v, %v", got, err)
		}
		if _, err := db.KeyBySecret(ctx, secret+"x"); warden.ErrorCode(err) != warden.EUNAUTHORIZED {
			t.Fatalf("wrong secret: %v, want unauthorized", err)
		}
		if _, _, err := db.CreateKey(ctx, "root", ""); warden.ErrorCode(err) != warden.EINVALID {
			t.Fatalf("bad role: %v, want invalid", err)
		}
		if err := db.RevokeKey(ctx, key.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.KeyBySecret(ctx, secret); warden.ErrorCode(err) != warden.EUNAUTHORIZED {
			t.Fatalf("revoked key: %v, want unauthorized", err)
		}
	})
}

func TestUsersAndSessions(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		if _, err := db.CreateUser(ctx, "ana", "short", warden.RoleAdmin); warden.ErrorCode(err) != warden.EINVALID {
			t.Fatalf("short password: %v, want invalid", err)
		}
		u, err := db.CreateUser(ctx, "ana", "correct horse battery", warden.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.CreateUser(ctx, "ana", "another long password", warden.RoleAdmin); warden.ErrorCode(err) != warden.EINVALID {
			t.Fatalf("duplicate username: %v, want invalid", err)
		}
		if _, err := db.CheckLogin(ctx, "ana", "wrong password!!"); warden.ErrorCode(err) != warden.EUNAUTHORIZED {
			t.Fatalf("wrong password: %v", err)
		}
		if _, err := db.CheckLogin(ctx, "bob", "correct horse battery"); warden.ErrorCode(err) != warden.EUNAUTHORIZED {
			t.Fatalf("unknown user: %v", err)
		}
		got, err := db.CheckLogin(ctx, "ana", "correct horse battery")
		if err != nil || got.ID != u.ID {
			t.Fatalf("CheckLogin = %+v, %v", got, err)
		}
		tok, s, err := db.CreateSession(ctx, got)
		if err != nil {
			t.Fatal(err)
		}
		s2, err := db.SessionByToken(ctx, tok)
		if err != nil || s2.User.ID != u.ID || s2.CSRF != s.CSRF {
			t.Fatalf("SessionByToken = %+v, %v", s2, err)
		}
		if err := db.DeleteSession(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SessionByToken(ctx, tok); warden.ErrorCode(err) != warden.EUNAUTHORIZED {
			t.Fatalf("after sign-out: %v", err)
		}
	})
}

// A large group (COPY on PostgreSQL) that carries ids already logged and
// repeats of its own: every new id lands once in arrival order, and every
// repeat is answered with the first copy's verdict.
func TestEventLogLargeGroupWithRepeats(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		log := sqlstore.NewEventLog(db)
		defer log.Close()
		var recs []sqlstore.EventRecord
		for i := range 200 {
			recs = append(recs, rec(fmt.Sprintf("g%03d", i)))
		}
		if res, err := log.Append(ctx, recs); err != nil || res[199].Duplicate {
			t.Fatalf("first group: %v", err)
		}
		var next []sqlstore.EventRecord
		for i := 150; i < 350; i++ {
			r := rec(fmt.Sprintf("g%03d", i))
			r.Verdict = []byte(fmt.Sprintf(`{"second":%d}`, i))
			next = append(next, r)
		}
		next = append(next, next[120]) // g270 twice in one group
		res, err := log.Append(ctx, next)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			id := next[i].ID
			wantDup := id < "g200" || i == len(next)-1
			if r.Duplicate != wantDup {
				t.Fatalf("%s (#%d): duplicate %v, want %v", id, i, r.Duplicate, wantDup)
			}
			if id < "g200" && string(r.Verdict) != `{"event_id":"`+id+`"}` {
				t.Fatalf("%s: verdict %s, want the first copy's", id, r.Verdict)
			}
		}
		var ids []string
		log.Export(ctx, sqlstore.ExportFilter{}, func(r sqlstore.EventRecord) error { ids = append(ids, r.ID); return nil })
		if len(ids) != 350 || ids[0] != "g000" || ids[349] != "g349" || !sort.StringsAreSorted(ids) {
			t.Fatalf("exported %d ids, %v … %v", len(ids), ids[:3], ids[len(ids)-3:])
		}
	})
}
