package main

import (
	"context"
	"testing"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// Restarting the demo prints a new app key and revokes the one before it,
// so restarts leave one live demo key, not one per start.
func TestDemoRestartsKeepOneLiveKey(t *testing.T) {
	st := sqlstoretest.SQLite(t)
	ctx := context.Background()
	priv, err := openPrivacy(t.TempDir(), st, "")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := demoSetup(ctx, st, priv, "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := st.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	live := 0
	for _, k := range keys {
		if k.Name == "demo" && k.Role == warden.RoleApp && k.RevokedUS == nil {
			live++
		}
	}
	if live != 1 || len(keys) != 3 {
		t.Fatalf("after three demo starts: %d live demo keys of %d", live, len(keys))
	}
}
