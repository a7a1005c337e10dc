package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wardenhq/warden"
)

// stateRules make a verdict show the state: a follow counter, a rule label
// and the lockstep detector's crowd.
const stateRules = `
counters:
  - {name: follows_1h, kind: count, on: [follow], key: actor, window: 1h}
rules:
  - name: follow_count
    on: [follow]
    when: follows_1h >= 1
    action: allow
    reason: "{{follows_1h}} follows"
    version: 1
    labels: [{entity: actor, label: heavy_follower, ttl: 24h}]
  - name: labelled
    on: [follow]
    when: has_label(actor, "heavy_follower")
    action: allow
    reason: "labelled heavy_follower"
    version: 1
  - name: crowd
    on: [like]
    when: detect.lockstep_group >= 1
    action: review
    reason: "lockstep with {{detect.lockstep_group}} accounts"
    version: 1
`

// stateScript is the traffic of TestCrashKeepsEngineState: 30 follows by
// one account and a crowd of 12 accounts liking 5 posts in lockstep; part
// selects its first (0) or second (1) half.
func stateScript(base time.Time, part int) []string {
	var out []string
	ev := func(id, typ, actor, target string, at time.Duration) {
		out = append(out, fmt.Sprintf(`{"id":%q,"type":%q,"time":%q,"actor":%q,"target":%q}`, id, typ, base.Add(at).Format(time.RFC3339Nano), actor, target))
	}
	for i := part * 15; i < (part+1)*15; i++ {
		ev(fmt.Sprintf("f%d", i), "follow", "fan", "star", time.Duration(i)*time.Second)
	}
	for p := part * 3; p < min(5, (part+1)*3); p++ {
		for c := 0; c < 12; c++ {
			ev(fmt.Sprintf("l%d-%d", p, c), "like", fmt.Sprintf("crowd%d", c), fmt.Sprintf("post%d", p), time.Duration(p)*5*time.Second+time.Duration(c)*200*time.Millisecond)
		}
	}
	return out
}

func postEvents(t *testing.T, addr, key string, lines []string) []warden.Verdict {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/events", strings.NewReader(`{"events":[`+strings.Join(lines, ",")+`]}`))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Verdicts []warden.Verdict }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST /v1/events: %d %v", resp.StatusCode, err)
	}
	return body.Verdicts
}

func reasons(v warden.Verdict) string {
	var rs []string
	for _, h := range v.Hits {
		rs = append(rs, h.Reason)
	}
	return strings.Join(rs, "; ")
}

// TestCrashKeepsEngineState: a kill -9 loses no counter, rule label or
// lockstep cluster. Half the traffic goes in before a snapshot, half after
// it; after the kill and a restart, probe events get the same verdicts as
// on a server that never crashed.
func TestCrashKeepsEngineState(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin, err := buildWarden()
	if err != nil {
		t.Fatal(err)
	}
	rules := t.TempDir()
	if err := os.WriteFile(filepath.Join(rules, "state.yaml"), []byte(stateRules), 0o644); err != nil {
		t.Fatal(err)
	}
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	probe := []string{
		fmt.Sprintf(`{"id":"probe-f","type":"follow","time":%q,"actor":"fan","target":"star"}`, base.Add(31*time.Second).Format(time.RFC3339)),
		fmt.Sprintf(`{"id":"probe-l","type":"like","time":%q,"actor":"crowd3","target":"post9"}`, base.Add(26*time.Second).Format(time.RFC3339)),
	}
	run := func(crash bool) []warden.Verdict {
		data := t.TempDir()
		out, err := exec.Command(bin, "keys", "create", "--role", "app", "--data", data).Output()
		if err != nil {
			t.Fatalf("keys create: %v", err)
		}
		key := strings.TrimSpace(string(out))
		snap := filepath.Join(data, "engine", "state.snap")
		srv := startServe(t, bin, data, "--rules", rules, "--snapshot-every", "200ms")
		postEvents(t, srv.addr, key, stateScript(base, 0))
		if crash {
			// Wait for a snapshot that holds the first half.
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				if _, err := os.Stat(snap); err == nil {
					break
				} else if time.Now().After(deadline) {
					t.Fatal("no state snapshot was written")
				}
			}
		}
		postEvents(t, srv.addr, key, stateScript(base, 1))
		if crash {
			srv.cmd.Process.Signal(syscall.SIGKILL)
			srv.cmd.Wait()
			srv = startServe(t, bin, data, "--rules", rules, "--snapshot-every", "1h")
		}
		return postEvents(t, srv.addr, key, probe)
	}
	want, got := run(false), run(true)
	if r := reasons(want[0]); !strings.Contains(r, "31 follows") || !strings.Contains(r, "labelled heavy_follower") {
		t.Fatalf("weak test: the follow probe on the server that never crashed says %q", r)
	}
	if r := reasons(want[1]); !strings.Contains(r, "lockstep with") {
		t.Fatalf("weak test: the like probe on the server that never crashed says %q", r)
	}
	for i := range want {
		if reasons(got[i]) != reasons(want[i]) || got[i].Action != want[i].Action {
			t.Errorf("after kill -9 probe %d got %s %q, want %s %q", i, got[i].Action, reasons(got[i]), want[i].Action, reasons(want[i]))
		}
	}
}
