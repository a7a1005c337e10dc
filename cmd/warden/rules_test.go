package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// run runs the warden binary and returns its stdout and exit status.
func run(t *testing.T, args ...string) (string, int) {
	t.Helper()
	bin, err := buildWarden()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, args...).Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// packCopy copies the built-in pack to a temporary directory, replacing old
// with new in file.
func packCopy(t *testing.T, file, old, new string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../rules")); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, file)
	b, err := os.ReadFile(p)
	if err != nil || !strings.Contains(string(b), old) {
		t.Fatalf("%s: %v, or no %q in it", file, err, old)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRulesCheckAndTest(t *testing.T) {
	if out, code := run(t, "rules", "check", "../../rules"); code != 0 || !strings.HasPrefix(out, "ok: 51 rules") {
		t.Fatalf("check of the built-in pack: exit %d\n%s", code, out)
	}
	if out, code := run(t, "rules", "test", "../../rules"); code != 0 || !strings.Contains(out, "fixture tests passed") {
		t.Fatalf("test of the built-in pack: exit %d\n%s", code, out)
	}
	typo := packCopy(t, "follow.yaml", "new_account && follows_10m >= 25", "new_account && folows_10m >= 25")
	out, code := run(t, "rules", "check", typo)
	want := filepath.Join(typo, "follow.yaml") + ":17:26: unknown name folows_10m: did you mean follows_10m?"
	if code != 1 || strings.TrimSpace(out) != want {
		t.Fatalf("check of a typo: exit %d\n%s\nwant\n%s", code, out, want)
	}
	broken := packCopy(t, "tests/follow.test.yaml", "hits: [follow_burst_new_account]", "hits: [like_burst]")
	if out, code := run(t, "rules", "test", broken); code != 1 || !strings.Contains(out, "want a hit from like_burst") {
		t.Fatalf("test with a wrong expectation: exit %d\n%s", code, out)
	}
	if _, code := run(t, "rules", "check"); code != 2 {
		t.Fatalf("check without a directory: exit %d, want 2", code)
	}
}

func TestReplayRepeatsAndDiffs(t *testing.T) {
	events := filepath.Join(t.TempDir(), "events.jsonl.gz")
	if out, code := run(t, "bench", "--write", events, "--count", "60000"); code != 0 {
		t.Fatalf("bench --write: exit %d\n%s", code, out)
	}
	var a, b replayOutput
	for _, o := range []*replayOutput{&a, &b} {
		out, code := run(t, "replay", "--events", events, "--json")
		if code != 0 || json.Unmarshal([]byte(out), o) != nil {
			t.Fatalf("replay: exit %d\n%s", code, out)
		}
	}
	if a.Events != 60000 || a.Hits["follow_burst_new_account"] == 0 {
		t.Fatalf("replay found %d events and hits %v", a.Events, a.Hits)
	}
	for r, n := range a.Hits {
		if b.Hits[r] != n {
			t.Fatalf("two replays differ on %s: %d and %d", r, n, b.Hits[r])
		}
	}
	cand := packCopy(t, "follow.yaml", "new_account && follows_10m >= 25", "new_account && follows_10m >= 10")
	out, code := run(t, "replay", "--events", events, "--diff", cand, "--json")
	var d replayOutput
	if code != 0 || json.Unmarshal([]byte(out), &d) != nil || d.Diff == nil {
		t.Fatalf("replay --diff: exit %d\n%s", code, out)
	}
	if d.Diff.Changed == 0 || d.Diff.ByRule[0].Rule != "follow_burst_new_account" || d.Diff.ByRule[0].Added == 0 {
		t.Fatalf("diff does not name the changed rule: %+v", d.Diff.ByRule)
	}
	if _, code := run(t, "replay"); code != 2 {
		t.Fatalf("replay without --events: exit %d, want 2", code)
	}
}
