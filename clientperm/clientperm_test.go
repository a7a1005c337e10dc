package clientperm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/clientperm"
	"github.com/wardenhq/warden/internal/sealed"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

var now = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func newService(t testing.TB, db *sqlstore.DB) *clientperm.Service {
	t.Helper()
	mac, err := sealed.NewMac([]byte("the clientperm tests' pseudonym key, 32+ bytes"))
	if err != nil {
		t.Fatal(err)
	}
	return clientperm.New(clientperm.Options{Store: db, Mac: mac, Now: func() time.Time { return now }})
}

// demoManifest declares paste_link (clipboard after a gesture), scan_qr
// (camera after a gesture) and nearby (location, any trigger).
const demoManifest = `{"app_version":"5.2.0","features":[
 {"feature":"paste_link","permissions":[{"permission":"clipboard.read","trigger":"user_gesture"}]},
 {"feature":"scan_qr","permissions":[{"permission":"camera","trigger":"user_gesture"}]},
 {"feature":"nearby","permissions":[{"permission":"location","trigger":"any"}]}]}`

func putManifest(t *testing.T, s *clientperm.Service, body string) {
	t.Helper()
	m, err := clientperm.DecodeManifest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutManifest(context.Background(), &warden.Principal{ID: "k1", Role: warden.RoleAdmin}, m); err != nil {
		t.Fatal(err)
	}
}

func rec(user, version, perm, feature, trigger string, fg bool, n int, at time.Time) clientperm.Record {
	return clientperm.Record{User: user, AppVersion: version, Permission: perm, Feature: feature, Trigger: trigger, Foreground: fg, Count: n, Time: at}
}

func record(t *testing.T, s *clientperm.Service, recs ...clientperm.Record) clientperm.Accepted {
	t.Helper()
	a, err := s.Record(context.Background(), recs)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func flagOf(rep *clientperm.Report, kind, perm, feature string) *clientperm.ReportFlag {
	for i, f := range rep.Flags {
		if f.Kind == kind && f.Permission == perm && f.Feature == feature {
			return &rep.Flags[i]
		}
	}
	return nil
}

// TestClipboardWithoutGestureFromUndeclaredFeature is issue 13's "must
// show": a client that reads the clipboard without a gesture from a feature
// the manifest does not declare is flagged, and a declared permission never
// used is listed as inactive, with last_used null.
func TestClipboardWithoutGestureFromUndeclaredFeature(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		s := newService(t, db)
		putManifest(t, s, demoManifest)
		a := record(t, s,
			rec("u1", "5.2.0", clientperm.Clipboard, "paste_link", clientperm.TriggerUserGesture, true, 2, now.Add(-time.Hour)),
			rec("u1", "5.2.0", clientperm.Camera, "scan_qr", clientperm.TriggerUserGesture, true, 1, now.Add(-time.Hour)),
			rec("u2", "5.2.0", clientperm.Clipboard, "search_suggest", clientperm.TriggerProgrammatic, true, 3, now.Add(-30*time.Minute)),
		)
		if a.Accepted != 3 || a.Undeclared != 1 {
			t.Errorf("accepted %+v, want 3 with 1 undeclared", a)
		}
		rep, err := s.Report(context.Background(), "5.2.0", 90)
		if err != nil {
			t.Fatal(err)
		}
		f := flagOf(rep, clientperm.FlagUndeclared, clientperm.Clipboard, "search_suggest")
		if f == nil || f.Count != 3 {
			t.Fatalf("flags %+v: want search_suggest's 3 clipboard reads flagged undeclared", rep.Flags)
		}
		if len(rep.Flags) != 1 {
			t.Errorf("flags %+v: the declared reads with a gesture are not flagged", rep.Flags)
		}
		if len(rep.Inactive) != 1 || rep.Inactive[0].Feature != "nearby" || rep.Inactive[0].Permission != clientperm.Location || rep.Inactive[0].LastUsed != nil {
			t.Errorf("inactive %+v, want nearby's location, never used", rep.Inactive)
		}
		b, _ := json.Marshal(rep)
		if !strings.Contains(string(b), `"last_used":null`) || !strings.Contains(string(b), `"kind":"undeclared"`) {
			t.Errorf("report JSON %s", b)
		}
	})
}

func TestNoGestureBackgroundAndLastUsed(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		s := newService(t, db)
		putManifest(t, s, demoManifest)
		record(t, s,
			// paste_link needs a gesture: these had none.
			rec("u1", "5.2.0", clientperm.Clipboard, "paste_link", clientperm.TriggerProgrammatic, true, 4, now.Add(-time.Hour)),
			// nearby may read location without one, but not in the background.
			rec("u1", "5.2.0", clientperm.Location, "nearby", clientperm.TriggerProgrammatic, false, 5, now.Add(-time.Hour)),
			// scan_qr used only before the window.
			rec("u1", "5.2.0", clientperm.Camera, "scan_qr", clientperm.TriggerUserGesture, true, 1, now.AddDate(0, 0, -10)),
		)
		rep, err := s.Report(context.Background(), "5.2.0", 7)
		if err != nil {
			t.Fatal(err)
		}
		if f := flagOf(rep, clientperm.FlagNoGesture, clientperm.Clipboard, "paste_link"); f == nil || f.Count != 4 {
			t.Errorf("flags %+v: want paste_link's 4 reads without a gesture", rep.Flags)
		}
		if f := flagOf(rep, clientperm.FlagBackground, clientperm.Location, "nearby"); f == nil || f.Count != 5 {
			t.Errorf("flags %+v: want nearby's 5 background reads", rep.Flags)
		}
		if flagOf(rep, clientperm.FlagNoGesture, clientperm.Location, "nearby") != nil {
			t.Errorf("nearby's trigger is any: no no_gesture flag, got %+v", rep.Flags)
		}
		if len(rep.Inactive) != 1 || rep.Inactive[0].Feature != "scan_qr" || rep.Inactive[0].LastUsed == nil || !rep.Inactive[0].LastUsed.Equal(now.AddDate(0, 0, -10)) {
			t.Errorf("inactive %+v, want scan_qr last used 10 days ago", rep.Inactive)
		}
		// Over 30 days scan_qr was used: nothing inactive.
		rep, err = s.Report(context.Background(), "5.2.0", 30)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Inactive) != 0 {
			t.Errorf("30 days: inactive %+v", rep.Inactive)
		}
	})
}

// TestUnknownAppVersionIsKeptAndUndeclared: records of an app version
// without a manifest are accepted, stored and flagged undeclared.
func TestUnknownAppVersionIsKeptAndUndeclared(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		s := newService(t, db)
		putManifest(t, s, demoManifest)
		a := record(t, s,
			rec("u1", "9.9.9-beta", clientperm.Contacts, "invite_friends", clientperm.TriggerUserGesture, true, 7, now.Add(-time.Hour)),
			rec("u1", "9.9.9-beta", clientperm.Photos, "avatar", clientperm.TriggerUserGesture, true, 1, now.Add(-time.Hour)),
		)
		if a.Accepted != 2 || a.Undeclared != 2 {
			t.Errorf("accepted %+v, want 2 of 2 undeclared", a)
		}
		rep, err := s.Report(context.Background(), "9.9.9-beta", 90)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Manifest || rep.Reads != 8 {
			t.Errorf("manifest %v reads %d", rep.Manifest, rep.Reads)
		}
		if f := flagOf(rep, clientperm.FlagUndeclared, clientperm.Contacts, "invite_friends"); f == nil || f.Count != 7 {
			t.Errorf("flags %+v", rep.Flags)
		}
		if f := flagOf(rep, clientperm.FlagUndeclared, clientperm.Photos, "avatar"); f == nil || f.Count != 1 {
			t.Errorf("flags %+v", rep.Flags)
		}
		if len(rep.Inactive) != 0 {
			t.Errorf("inactive %+v without a manifest", rep.Inactive)
		}
		vs, err := s.AppVersions(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(vs, "9.9.9-beta") || !slices.Contains(vs, "5.2.0") {
			t.Errorf("versions %v", vs)
		}
	})
}

// TestClipboardEveryFewKeystrokesIsARateFlag: a client reading the
// clipboard dozens of times a minute is flagged; a person pasting twice a
// minute is not.
func TestClipboardEveryFewKeystrokesIsARateFlag(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		s := newService(t, db)
		putManifest(t, s, `{"app_version":"6.0","features":[{"feature":"compose","permissions":[{"permission":"clipboard.read","trigger":"any"}]}]}`)
		var recs []clientperm.Record
		// 40 users paste twice in a minute, now and then.
		for u := range 40 {
			for m := range 3 {
				recs = append(recs, rec(fmt.Sprintf("p%d", u), "6.0", clientperm.Clipboard, "compose", clientperm.TriggerProgrammatic, true, 2, now.Add(-time.Duration(u*10+m*3)*time.Minute)))
			}
		}
		// One client reads on every fifth keystroke: one record a read,
		// 45 in one minute.
		for i := range 45 {
			recs = append(recs, rec("typist", "6.0", clientperm.Clipboard, "compose", clientperm.TriggerProgrammatic, true, 1, now.Add(-2*time.Hour).Truncate(time.Minute).Add(time.Duration(i)*time.Second)))
		}
		record(t, s, recs...)
		rep, err := s.Report(context.Background(), "6.0", 90)
		if err != nil {
			t.Fatal(err)
		}
		f := flagOf(rep, clientperm.FlagRate, clientperm.Clipboard, "compose")
		if f == nil || f.Count != 45 || f.Users != 1 {
			t.Fatalf("flags %+v: want one user's 45 reads in a minute", rep.Flags)
		}
		if len(rep.Flags) != 1 {
			t.Errorf("flags %+v", rep.Flags)
		}
	})
}

// TestUserViewExportErase: the user's view names permission and feature
// in words; the store holds no user id; Export returns the user's records
// and Erase deletes them, and only them.
func TestUserViewExportErase(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := newService(t, db)
		putManifest(t, s, demoManifest)
		record(t, s,
			rec("alice@example", "5.2.0", clientperm.Clipboard, "paste_link", clientperm.TriggerUserGesture, true, 2, now.Add(-time.Hour)),
			rec("alice@example", "5.2.0", clientperm.Clipboard, "search_suggest", clientperm.TriggerProgrammatic, true, 9, now.Add(-2*time.Hour)),
			rec("alice@example", "5.2.0", clientperm.Location, "nearby", clientperm.TriggerProgrammatic, false, 1, now.AddDate(0, 0, -20)),
			rec("bob", "5.2.0", clientperm.Camera, "scan_qr", clientperm.TriggerUserGesture, true, 1, now.Add(-time.Hour)),
		)
		var n int
		// Only 16-byte pseudonyms in the table, no ids.
		if err := db.GetContext(ctx, &n, `SELECT COUNT(*) FROM client_permission_records WHERE LENGTH(user_hash) <> 16`); err != nil || n != 0 {
			t.Errorf("%d records not under a 16-byte pseudonym (%v)", n, err)
		}
		v, err := s.User(ctx, "alice@example", 7)
		if err != nil {
			t.Fatal(err)
		}
		if v.Total != 11 || len(v.Permissions) != 1 || v.Permissions[0].Permission != clientperm.Clipboard || len(v.Permissions[0].Features) != 2 {
			t.Fatalf("view %+v", v)
		}
		top := v.Permissions[0].Features[0]
		if top.Feature != "search_suggest" || top.WithoutGesture != 9 || top.Undeclared != 9 ||
			!strings.Contains(top.Words, "without you tapping") || !strings.Contains(top.Words, "had not declared") {
			t.Errorf("search_suggest %+v", top)
		}
		if !strings.Contains(v.Summary, "your clipboard (what you copied) 11 times") {
			t.Errorf("summary %q", v.Summary)
		}
		if v, err := s.User(ctx, "alice@example", 30); err != nil || v.Total != 12 || !strings.Contains(v.Permissions[1].Features[0].Words, "while you were not using the app") {
			t.Errorf("30 days: %+v %v", v, err)
		}
		exp, err := s.Export(ctx, "alice@example")
		if err != nil {
			t.Fatal(err)
		}
		got := exp.([]clientperm.ExportedRecord)
		if len(got) != 3 || got[0].Permission != clientperm.Location || got[2].Feature != "paste_link" || got[1].Declared {
			t.Errorf("export %+v", got)
		}
		if n, err := s.Erase(ctx, "alice@example"); err != nil || n != 3 {
			t.Errorf("erase: %d %v, want 3", n, err)
		}
		if exp, _ := s.Export(ctx, "alice@example"); len(exp.([]clientperm.ExportedRecord)) != 0 {
			t.Errorf("after erasure: %+v", exp)
		}
		if v, _ := s.User(ctx, "alice@example", 30); v.Total != 0 || !strings.Contains(v.Summary, "read none") {
			t.Errorf("after erasure: %+v", v)
		}
		if exp, _ := s.Export(ctx, "bob"); len(exp.([]clientperm.ExportedRecord)) != 1 {
			t.Errorf("bob's records: %+v", exp)
		}
		if _, err := s.Erase(ctx, ""); warden.ErrorCode(err) != warden.EINVALID {
			t.Errorf("erase of no user: %v", err)
		}
	})
}

// TestBatchIsAllOrNothing: a batch the store refuses part way (past the
// first INSERT of 1,000 rows) leaves nothing behind.
func TestBatchIsAllOrNothing(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		recs := make([]clientperm.StoredRecord, 2500)
		for i := range recs {
			recs[i] = clientperm.StoredRecord{UserHash: "00112233445566778899aabbccddeeff", AppVersion: "1", Permission: clientperm.Photos, Feature: "f", Trigger: clientperm.TriggerUserGesture,
				Foreground: true, Count: 1, TimeUS: now.UnixMicro(), ReceivedUS: now.UnixMicro()}
		}
		recs[2400].Count = 0 // the schema's CHECK refuses it
		if err := db.AddPermissionRecords(ctx, recs); err == nil {
			t.Fatal("a record of 0 reads was stored")
		}
		var n int
		if err := db.GetContext(ctx, &n, `SELECT COUNT(*) FROM client_permission_records`); err != nil || n != 0 {
			t.Errorf("%d records left behind (%v)", n, err)
		}
		recs[2400].Count = 1
		if err := db.AddPermissionRecords(ctx, recs); err != nil {
			t.Fatal(err)
		}
		if err := db.GetContext(ctx, &n, `SELECT COUNT(*) FROM client_permission_records`); err != nil || n != 2500 {
			t.Errorf("%d records, want 2500 (%v)", n, err)
		}
	})
}

func TestManifestReplacesAndRefuses(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := newService(t, db)
		putManifest(t, s, demoManifest)
		putManifest(t, s, `{"app_version":"5.2.0","features":[{"feature":"paste_link","permissions":[{"permission":"clipboard.read","trigger":"any"}]}]}`)
		m, err := s.Manifest(ctx, "5.2.0")
		if err != nil || len(m.Features) != 1 || m.Features[0].Permissions[0].Trigger != clientperm.TriggerAny {
			t.Errorf("manifest %+v %v", m, err)
		}
		if _, err := s.Manifest(ctx, "nope"); warden.ErrorCode(err) != warden.ENOTFOUND {
			t.Errorf("missing manifest: %v", err)
		}
		if _, err := s.PutManifest(ctx, nil, clientperm.Manifest{AppVersion: "x", Features: []clientperm.Feature{{Feature: "f", Permissions: []clientperm.Use{{Permission: "sms", Trigger: "any"}}}}}); warden.ErrorCode(err) != warden.EINVALID {
			t.Errorf("unknown permission: %v", err)
		}
		if _, err := s.Report(ctx, "", 90); warden.ErrorCode(err) != warden.EINVALID {
			t.Errorf("report without app version: %v", err)
		}
		if _, err := s.Report(ctx, "5.2.0", 0); warden.ErrorCode(err) != warden.EINVALID {
			t.Errorf("report of 0 days: %v", err)
		}
	})
}
