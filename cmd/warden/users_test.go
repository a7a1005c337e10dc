package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/wardenhq/warden/sqlstore"
)

// usersCLI runs `warden users ...` with input on stdin and returns its
// combined output and exit status.
func usersCLI(t *testing.T, input string, args ...string) (string, int) {
	t.Helper()
	bin, err := buildWarden()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"users"}, args...)...)
	cmd.Stdin = strings.NewReader(input)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// TestUsersCLI: a console user needs a role, and only a console role; users
// are listed without secrets, disabled and given new passwords, each of
// which ends their sessions.
func TestUsersCLI(t *testing.T) {
	dir := t.TempDir()
	data := "--data=" + dir
	if out, code := usersCLI(t, "correct horse battery\n", "create", "--username", "ana", "--password-stdin", data); code == 0 || !strings.Contains(out, "--role is required") {
		t.Fatalf("create without a role = %d %s", code, out)
	}
	if out, code := usersCLI(t, "correct horse battery\n", "create", "--username", "ana", "--role", "partner", "--password-stdin", data); code == 0 || !strings.Contains(out, "--role must be one of") {
		t.Fatalf("create as partner = %d %s", code, out)
	}
	for _, u := range []string{"ana", "mod1"} {
		role := map[string]string{"ana": "admin", "mod1": "moderator"}[u]
		if out, code := usersCLI(t, "correct horse battery\n", "create", "--username", u, "--role", role, "--password-stdin", data); code != 0 {
			t.Fatalf("create %s = %d %s", u, code, out)
		}
	}
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "", dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u, err := db.CheckLogin(ctx, "mod1", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := db.CreateSession(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if out, code := usersCLI(t, "short\n", "reset-password", "mod1", "--password-stdin", data); code == 0 || !strings.Contains(out, "at least") {
		t.Fatalf("a short password = %d %s", code, out)
	}
	if _, err := db.SessionByToken(ctx, tok); err != nil {
		t.Fatalf("a refused reset ended the session: %v", err)
	}
	if out, code := usersCLI(t, "a new long passphrase\n", "reset-password", "mod1", "--password-stdin", data); code != 0 {
		t.Fatalf("reset = %d %s", code, out)
	}
	if _, err := db.SessionByToken(ctx, tok); err == nil {
		t.Fatal("the session outlived the password reset")
	}
	if _, err := db.CheckLogin(ctx, "mod1", "a new long passphrase"); err != nil {
		t.Fatalf("the new password: %v", err)
	}
	if out, code := usersCLI(t, "", "disable", "mod1", data); code != 0 {
		t.Fatalf("disable = %d %s", code, out)
	}
	if _, err := db.CheckLogin(ctx, "mod1", "a new long passphrase"); err == nil {
		t.Fatal("a disabled user signed in")
	}
	if out, code := usersCLI(t, "", "disable", "nobody", data); code == 0 || !strings.Contains(out, "nobody") {
		t.Fatalf("disable an unknown user = %d %s", code, out)
	}
	out, code := usersCLI(t, "", "list", "--json", data)
	var list struct {
		Users []map[string]string `json:"users"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list.Users) != 2 {
		t.Fatalf("list = %d %s", code, out)
	}
	if list.Users[1]["username"] != "mod1" || list.Users[1]["disabled_at"] == "" || list.Users[0]["disabled_at"] != "" || strings.Contains(out, "argon2") {
		t.Fatalf("list = %s", out)
	}
}
