package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/survey"
)

const cliCodebook = `
platform_id: pid
trust: trust
scales: {agree5: {min: 1, max: 5, missing: [99]}}
items: [{name: trust, scale: agree5}, {name: privacy, scale: agree5}]
`

// TestSurveyImport: a valid wave is stored with hashed platform ids (the
// salt made in the data directory); a file with one bad cell is refused
// naming its row and column and stores nothing; a second import of a wave
// is refused.
func TestSurveyImport(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cb := filepath.Join(dir, "cb.yaml")
	good := filepath.Join(dir, "good.csv")
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(cb, []byte(cliCodebook), 0o644)
	os.WriteFile(good, []byte("region,pid,trust,privacy\nJP,u1,2,3\nID,,5,99\nMX,u3,4,4\n"), 0o644)
	os.WriteFile(bad, []byte("region,pid,trust,privacy\nJP,u1,2,3\nFR,u2,7,1\n"), 0o644)

	out, stderr, code := runStderr(t, "survey", "import", "--wave", "w-bad", "--in", bad, "--codebook", cb, "--data", data)
	if code != 1 || out != "" || !strings.Contains(stderr, `row 2 (line 3), column "trust": 7 is outside the scale 1..5`) {
		t.Fatalf("bad file: exit %d %q %q", code, out, stderr)
	}
	out, stderr, code = runStderr(t, "survey", "import", "--wave", "2025-Q3", "--in", good, "--codebook", cb, "--data", data, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res struct {
		Respondents    int `json:"respondents"`
		WithPlatformID int `json:"with_platform_id"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.WithPlatformID != 2 || res.Respondents != 3 {
		t.Fatalf("%s: %v", out, err)
	}
	if _, stderr, code = runStderr(t, "survey", "import", "--wave", "2025-Q3", "--in", good, "--codebook", cb, "--data", data); code != 1 || !strings.Contains(stderr, "imported already") {
		t.Fatalf("second import: exit %d %s", code, stderr)
	}
	if _, _, code = runStderr(t, "survey", "import", "--wave", "2025 Q3", "--in", good, "--codebook", cb, "--data", data); code != 2 {
		t.Fatalf("bad wave name: exit %d", code)
	}
	salt, err := os.ReadFile(filepath.Join(data, survey.SaltFile))
	if err != nil || len(salt) != survey.SaltSize {
		t.Fatalf("salt: %v", err)
	}
	st, err := sqlstore.Open(context.Background(), "", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	waves, err := st.Waves(context.Background())
	if err != nil || len(waves) != 1 || waves[0].Name != "2025-Q3" {
		t.Fatalf("waves %+v %v (the refused file must store nothing)", waves, err)
	}
	w, err := st.Wave(context.Background(), "2025-Q3")
	if err != nil {
		t.Fatal(err)
	}
	if w.Respondents[0].PlatformHash != survey.HashID(salt, "u1") || w.Respondents[1].PlatformHash != "" {
		t.Errorf("hashes %q %q", w.Respondents[0].PlatformHash, w.Respondents[1].PlatformHash)
	}
	if _, ok := w.Respondents[1].Answers["privacy"]; ok {
		t.Error("missing code 99 stored as an answer")
	}
}
