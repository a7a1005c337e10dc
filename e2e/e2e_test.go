package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestBrowser builds warden and runs every *.test.mjs here with node:test.
// It needs Debian's Chromium, node and npm; without them it skips, unless
// WARDEN_E2E=1 (as in .ci/run) asks for a failure instead, so that CI
// cannot pass by not running the browser tests.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	missing := func(what string) {
		if os.Getenv("WARDEN_E2E") == "1" {
			t.Fatalf("WARDEN_E2E=1 but %s; install it (e2e/run.sh does) or unset WARDEN_E2E", what)
		}
		t.Skipf("skipping the browser tests: %s (set WARDEN_E2E=1 to make this a failure)", what)
	}
	if _, err := os.Stat(chromium); err != nil {
		missing("there is no Chromium at " + chromium)
	}
	for _, tool := range []string{"node", "npm", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing(tool + " is not on PATH")
		}
	}

	if !installed(t) {
		// npm ci needs the registry; offline, that is a missing tool too.
		if out, err := runCmd(".", "npm", "ci", "--no-audit", "--no-fund"); err != nil {
			missing(fmt.Sprintf("npm ci failed (%v):\n%s", err, out))
		}
	}
	bin := filepath.Join(t.TempDir(), "warden")
	if out, err := runCmd("..", "go", "build", "-o", bin, "./cmd/warden"); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	files, _ := filepath.Glob("*.test.mjs")
	if len(files) == 0 {
		t.Fatal("no *.test.mjs files in e2e/")
	}
	cmd := exec.Command("node", append([]string{"--test", "--test-reporter=spec"}, files...)...)
	cmd.Env = append(os.Environ(), "WARDEN_BIN="+bin, "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

// installed reports whether node_modules holds the playwright-core version
// that package-lock.json pins, so that npm (and the network) is only needed
// on a fresh clone or after an upgrade.
func installed(t *testing.T) bool {
	var lock struct {
		Packages map[string]struct{ Version string } `json:"packages"`
	}
	var have struct{ Version string }
	b, err := os.ReadFile("package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &lock); err != nil {
		t.Fatalf("package-lock.json: %v", err)
	}
	want := lock.Packages["node_modules/playwright-core"].Version
	b, err = os.ReadFile("node_modules/playwright-core/package.json")
	if err != nil || json.Unmarshal(b, &have) != nil {
		return false
	}
	return want != "" && have.Version == want
}

func runCmd(dir, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}
