package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wardenhq/warden"
)

// buildWarden compiles the warden binary once per test run.
var buildWarden = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "warden-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "warden")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type child struct {
	cmd  *exec.Cmd
	addr string
}

func startServe(t *testing.T, bin, data string, args ...string) *child {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin, append([]string{"serve", "--addr", addr, "--admin-addr", "", "--data", data, "--log-level", "warn"}, args...)...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return &child{cmd: cmd, addr: addr}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("warden serve did not become ready in 30s")
	return nil
}

func batchBody(prefix string, n int) string {
	var sb strings.Builder
	sb.WriteString(`{"events":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id":"%s-%d","type":"follow","time":"2026-11-22T10:00:00Z","actor":"u%d","target":"t%d","ip":"10.0.%d.%d"}`, prefix, i, i%97, i%13, i%200, i%250)
	}
	sb.WriteString(`]}`)
	return sb.String()
}

// TestCrashLosesNoAcknowledgedEvent is the durability promise: every event
// in a batch that got a 200 is in the log after a kill -9, exactly once.
func TestCrashLosesNoAcknowledgedEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin, err := buildWarden()
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	out, err := exec.Command(bin, "keys", "create", "--role", "app", "--data", data).Output()
	if err != nil {
		t.Fatalf("keys create: %v", err)
	}
	key := strings.TrimSpace(string(out))
	srv := startServe(t, bin, data)

	const senders, per = 4, 500
	var mu sync.Mutex
	acked := map[string]bool{} // event ids in batches that got a 200
	var wg sync.WaitGroup
	stop := make(chan struct{})
	client := &http.Client{Timeout: 10 * time.Second}
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; ; b++ {
				select {
				case <-stop:
					return
				default:
				}
				prefix := fmt.Sprintf("s%d-b%d", s, b)
				req, _ := http.NewRequest("POST", "http://"+srv.addr+"/v1/events", strings.NewReader(batchBody(prefix, per)))
				req.Header.Set("Authorization", "Bearer "+key)
				resp, err := client.Do(req)
				if err != nil {
					return // the server died under us: that batch was not acknowledged
				}
				resp.Body.Close()
				if resp.StatusCode == 200 {
					mu.Lock()
					for i := 0; i < per; i++ {
						acked[fmt.Sprintf("%s-%d", prefix, i)] = true
					}
					mu.Unlock()
				}
			}
		}()
	}
	// Kill once a fair amount is acknowledged, while batches are in flight.
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 20*per {
			break
		}
	}
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.cmd.Wait()
	close(stop)
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("nothing was acknowledged before the kill")
	}

	// Restart on the same data: it must come up, and a resent acknowledged
	// batch must not be logged twice.
	srv = startServe(t, bin, data)
	req, _ := http.NewRequest("POST", "http://"+srv.addr+"/v1/events", strings.NewReader(batchBody("s0-b0", per)))
	req.Header.Set("Authorization", "Bearer "+key)
	if resp, err := client.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("resend after restart: %v %v", resp, err)
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	if err := srv.cmd.Wait(); err != nil {
		t.Fatalf("graceful shutdown: %v", err)
	}

	seen := exportedOnce(t, bin, "--data", data)
	missing := 0
	for id := range acked {
		if seen[id] == 0 {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged events are missing after kill -9", missing, len(acked))
	}
	t.Logf("%d events acknowledged before kill -9, %d in the log after restart, none lost, none twice", len(acked), len(seen))
}

// exportedOnce runs `warden events export` with args and returns how often
// each event id came out, failing t for a line that is not a valid event
// and for an id exported more than once.
func exportedOnce(t *testing.T, bin string, args ...string) map[string]int {
	t.Helper()
	exp := exec.Command(bin, append([]string{"events", "export"}, args...)...)
	var stdout bytes.Buffer
	exp.Stdout = &stdout
	if err := exp.Run(); err != nil {
		t.Fatalf("events export: %v", err)
	}
	seen := map[string]int{}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		ev, err := warden.DecodeEvent(sc.Bytes())
		if err != nil {
			t.Fatalf("exported line is not a valid event: %v: %s", err, sc.Text())
		}
		seen[ev.ID]++
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("event %s exported %d times", id, n)
		}
	}
	return seen
}
