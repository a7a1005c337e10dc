package partner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/engine"
)

// memStore is a Store in memory: partners' keys, saved lists, and the
// confirmed accounts' events.
type memStore struct {
	keys   map[string]string
	lists  map[string][]byte
	trust  map[string]string
	stamps map[string]int64
	saves  int
	events []memEvent
}

type memEvent struct {
	account string
	at      time.Time
	body    string
}

func newMemStore() *memStore {
	return &memStore{keys: map[string]string{}, lists: map[string][]byte{}, trust: map[string]string{}, stamps: map[string]int64{}}
}

func (m *memStore) PartnerKey(_ context.Context, p string) (string, error) {
	k, ok := m.keys[p]
	if !ok {
		return "", warden.Errorf(warden.ENOTFOUND, "no partner %q", p)
	}
	return k, nil
}

func (m *memStore) SavePartnerList(_ context.Context, p, trust string, packed []byte, at time.Time) error {
	m.saves++
	// Stamps differ per save, as a store's clock would make them.
	m.lists[p], m.trust[p], m.stamps[p] = packed, trust, at.UnixMicro()+int64(m.saves)
	return nil
}

func (m *memStore) PartnerLists(_ context.Context, fn func(p, trust string, packed []byte, at int64) error) error {
	for p, b := range m.lists {
		if err := fn(p, m.trust[p], b, m.stamps[p]); err != nil {
			return err
		}
	}
	return nil
}

func (m *memStore) PartnerListStamps(context.Context) (map[string]int64, error) {
	return maps.Clone(m.stamps), nil
}

func (m *memStore) Confirmed(_ context.Context, fn func(string, time.Time, []byte) error) error {
	for _, e := range m.events {
		if err := fn(e.account, e.at, []byte(e.body)); err != nil {
			return err
		}
	}
	return nil
}

func testService(t testing.TB, st *memStore, seed byte, issuer string) *Service {
	s, err := New(context.Background(), Config{GroupKey: testGroupKey, SigningKey: testKey(seed), Issuer: issuer, K: 3, Store: st,
		Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// An import survives a restart (the list is stored packed and loaded by
// New), a delta merges, a whole feed replaces.
func TestServiceImportAndReload(t *testing.T) {
	ctx := context.Background()
	a := newMemStore()
	for i := range 4 {
		acc := fmt.Sprintf("ring%d", max(i-1, 0)) // three accounts, the first twice (one account's events together)
		a.events = append(a.events, memEvent{acc, t0.Add(-time.Hour), fmt.Sprintf(`{"id":"e%d","type":"signup","actor":%q,"attrs":{"email":"ring+%d@scam.example"}}`, i, acc, i)})
	}
	sa := testService(t, a, 1, "a.example")
	f, err := sa.Feed(ctx, nil)
	if err != nil || len(f.Indicators) != 1 || f.Indicators[0].Accounts != 3 {
		t.Fatalf("feed: %+v %v", f, err)
	}
	body, _ := json.Marshal(f)

	b := newMemStore()
	b.keys["a.example"] = sa.PublicKey()
	sb := testService(t, b, 2, "b.example")
	res, err := sb.Import(ctx, fmt.Appendf(nil, `{"partner":"a.example","trust":"medium","feed":%s}`, body))
	if err != nil || res.Imported != 1 {
		t.Fatalf("import: %+v %v", res, err)
	}
	again := testService(t, b, 2, "b.example") // a restart, or another server on the store
	if p, tr := again.Lists().Lookup(KindEmail, "RING@scam.example", engine.TrustLow); p != "a.example" || tr != engine.TrustMedium {
		t.Fatalf("after a restart: %q %d", p, tr)
	}
	defer func() { // the other server learns of the imports below by Refresh
		if err := again.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if n := again.Lists().Count("a.example"); n != 0 {
			t.Errorf("the other server, refreshed: %d listed, want 0 as here", n)
		}
	}()
	// A delta with nothing new keeps the list; a whole empty feed clears it.
	since := t0
	delta, _ := sa.Feed(ctx, &since)
	if len(delta.Indicators) != 0 {
		t.Fatalf("delta: %+v", delta.Indicators)
	}
	db, _ := json.Marshal(delta)
	if _, err := sb.Import(ctx, fmt.Appendf(nil, `{"partner":"a.example","trust":"high","feed":%s}`, db)); err != nil {
		t.Fatal(err)
	}
	if n := sb.Lists().Count("a.example"); n != 1 {
		t.Fatalf("after an empty delta: %d listed", n)
	}
	sa.Feed(ctx, nil) // built, and kept a minute
	a.events = nil
	if cached, _ := sa.Feed(ctx, nil); len(cached.Indicators) != 1 {
		t.Fatalf("the feed built a moment ago was not served again: %+v", cached.Indicators)
	}
	sa.cfg.Now = func() time.Time { return t0.Add(FeedCache) }
	empty, _ := sa.Feed(ctx, nil)
	eb, _ := json.Marshal(empty)
	if _, err := sb.Import(ctx, fmt.Appendf(nil, `{"partner":"a.example","trust":"high","feed":%s}`, eb)); err != nil {
		t.Fatal(err)
	}
	if len(empty.Indicators) != 0 {
		t.Fatalf("a minute later, the feed still lists %+v", empty.Indicators)
	}
	if n := sb.Lists().Count("a.example"); n != 0 {
		t.Fatalf("after an empty whole feed: %d listed", n)
	}
	// An expired feed is refused.
	sb.cfg.Now = func() time.Time { return t0.Add(FeedTTL + time.Second) }
	if _, err := sb.Import(ctx, fmt.Appendf(nil, `{"partner":"a.example","trust":"high","feed":%s}`, body)); warden.ErrorCode(err) != warden.EINVALID {
		t.Fatalf("expired feed: %v", err)
	}
}

// FuzzImport: whatever the body, Import does not panic, and a refused
// import is a *warden.Error that changes nothing: no list in memory, no
// write to the store.
func FuzzImport(f *testing.F) {
	a := newMemStore()
	for i := range 3 {
		a.events = append(a.events, memEvent{fmt.Sprint("r", i), t0, `{"id":"e","type":"signup","actor":"r","attrs":{"email":"x@scam.example","phone":"+15550100000"}}`})
	}
	sa := testService(f, a, 1, "a.example")
	feed, _ := sa.Feed(context.Background(), nil)
	body, _ := json.Marshal(feed)
	f.Add(fmt.Appendf(nil, `{"partner":"a.example","trust":"high","feed":%s}`, body))
	f.Add(fmt.Appendf(nil, `{"partner":"b.example","trust":"high","feed":%s}`, body))
	f.Add([]byte(`{"partner":"a.example","trust":"low","feed":{"issuer":"a"}}`))
	f.Add([]byte(`{"partner":"a.example","trust":"low","feed":null}`))
	f.Add([]byte(`{"partner":1}`))
	f.Add([]byte(`nul`))
	f.Fuzz(func(t *testing.T, in []byte) {
		b := newMemStore()
		b.keys["a.example"] = sa.PublicKey()
		sb := testService(t, b, 2, "b.example")
		res, err := sb.Import(context.Background(), in)
		if err == nil {
			if b.saves != 1 || res.Imported != sb.Lists().Count("a.example") {
				t.Fatalf("accepted: %+v, %d saves, %d listed", res, b.saves, sb.Lists().Count("a.example"))
			}
			return
		}
		var we *warden.Error
		if !errors.As(err, &we) || we.Message == "" {
			t.Fatalf("refusal is not a warden.Error: %v", err)
		}
		if b.saves != 0 || len(*sb.Lists().cur.Load()) != 0 {
			t.Fatalf("refused import %v changed something: %d saves", err, b.saves)
		}
	})
}

func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "group.key")
	if err := os.WriteFile(p, testGroupKey, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadGroupKey(p); err == nil {
		t.Error("a group key others may read was accepted")
	}
	os.Chmod(p, 0o600)
	if k, err := ReadGroupKey(p); err != nil || string(k) != string(testGroupKey) {
		t.Errorf("group key: %v", err)
	}
	os.WriteFile(p, []byte("short"), 0o600)
	if _, err := ReadGroupKey(p); err == nil {
		t.Error("a 5-byte group key was accepted")
	}
	sp := filepath.Join(dir, "sub", "signing.key")
	k1, err := LoadSigningKey(sp)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(sp); fi.Mode().Perm() != 0o600 {
		t.Errorf("signing key mode %v", fi.Mode().Perm())
	}
	k2, err := LoadSigningKey(sp)
	if err != nil || !k1.Equal(k2) {
		t.Errorf("the signing key changed on reload: %v", err)
	}
	if _, err := ParsePublicKey(PublicKeyText(k1)); err != nil {
		t.Error(err)
	}
}
