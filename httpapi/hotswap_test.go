package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/engine"
	"github.com/wardenhq/warden/httpapi"
	"github.com/wardenhq/warden/ingest"
	"github.com/wardenhq/warden/rules"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// TestRuleSetHotSwapUnderLoad changes the running rule set while clients
// send events: no request may fail, the new version must take over, and a
// broken rule file must be refused while the last good set keeps running.
func TestRuleSetHotSwapUnderLoad(t *testing.T) {
	dir := t.TempDir()
	if err := fs.WalkDir(rules.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(rules.FS, p)
		if err != nil {
			return err
		}
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		return os.WriteFile(filepath.Join(dir, p), b, 0o644)
	}); err != nil {
		t.Fatal(err)
	}
	eng, err := engine.Open(engine.Options{RulesDir: dir, Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go eng.Run(ctx)

	db := sqlstoretest.SQLite(t)
	log := sqlstore.NewEventLog(db)
	defer log.Close()
	in, err := ingest.New(ctx, ingest.Options{Log: log, Engine: eng})
	if err != nil {
		t.Fatal(err)
	}
	key, _, _ := db.CreateKey(ctx, warden.RoleApp, "")
	srv := httptest.NewServer(httpapi.New(httpapi.Options{DB: db, Ingest: in}).Handler())
	defer srv.Close()

	// versions[v] counts verdicts whose automation_agent_write hit had version v.
	var mu sync.Mutex
	versions := map[int]int{}
	var sent, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := 0; c < 4; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body := fmt.Sprintf(`{"id":"c%d-%d","type":"follow","time":%q,"actor":"bot%d","target":"u%d","attrs":{"user_agent":"python-requests/2.31"}}`,
					c, i, time.Now().UTC().Format(time.RFC3339Nano), c, i)
				req, _ := http.NewRequest("POST", srv.URL+"/v1/events", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+key)
				resp, err := http.DefaultClient.Do(req)
				sent.Add(1)
				if err != nil {
					failed.Add(1)
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
					continue
				}
				var v struct{ Verdicts []warden.Verdict }
				json.Unmarshal(b, &v)
				for _, h := range v.Verdicts[0].Hits {
					if h.Rule == "automation_agent_write" {
						mu.Lock()
						versions[h.Version]++
						mu.Unlock()
					}
				}
			}
		}()
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if cond() {
				return
			}
		}
		close(stop)
		wg.Wait()
		t.Fatalf("timed out waiting for %s (versions seen %v)", what, versions)
	}
	seen := func(v int) func() bool {
		return func() bool { mu.Lock(); defer mu.Unlock(); return versions[v] > 0 }
	}
	waitFor("verdicts from the original rule", seen(1))

	path := filepath.Join(dir, "automation.yaml")
	orig, _ := os.ReadFile(path)
	i := strings.Index(string(orig), "version: 1")
	v2 := string(orig[:i]) + "version: 2" + string(orig[i+len("version: 1"):])
	if err := os.WriteFile(path, []byte(v2), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor("the new version to take over", seen(2))

	// A typo in an expression: refused, reported, and version 2 keeps running.
	broken := strings.Replace(v2, "automated_agent && !trusted", "automated_agnet && !trusted", 1)
	if err := os.WriteFile(path, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor("the broken set to be refused", func() bool { return eng.LoadError() != nil })
	if msg := eng.LoadError().Error(); !strings.Contains(msg, "automation.yaml") || !strings.Contains(msg, "automated_agnet") {
		t.Errorf("load error %q does not point at the file and the typo", msg)
	}
	mu.Lock()
	before := versions[2]
	mu.Unlock()
	waitFor("verdicts to keep coming from the last good set", func() bool { mu.Lock(); defer mu.Unlock(); return versions[2] > before+20 })
	close(stop)
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d of %d requests failed during the swaps", failed.Load(), sent.Load())
	}
	t.Logf("%d requests, none failed; verdicts by rule version: %v", sent.Load(), versions)
}
