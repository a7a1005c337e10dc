package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/survey"
)

// TestSurveyNotesCLI: `warden survey notes import` refuses a file with one
// bad note naming its row and column and stores nothing, stores a good
// file, adds nothing when it runs again, takes a theme the data
// directory's note-themes.yaml adds, and `notes delete` erases.
func TestSurveyNotesCLI(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cb, wave := filepath.Join(dir, "cb.yaml"), filepath.Join(dir, "wave.csv")
	os.WriteFile(cb, []byte(cliCodebook), 0o644)
	os.WriteFile(wave, []byte("region,pid,trust,privacy\nJP,u1,2,3\nID,u2,5,4\nMX,u3,4,4\n"), 0o644)
	if _, stderr, code := runStderr(t, "survey", "import", "--wave", "2026-Q3", "--in", wave, "--codebook", cb, "--data", data); code != 0 {
		t.Fatalf("wave: %s", stderr)
	}
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	head := "ref,region,segment,themes,quote\n"
	good := write("good.csv", head+"JP-1,JP,low,privacy,I don't know who reads my messages.\nID-1,ID,high,scams;moderation,The fake shop was gone in a day.\n")
	bad := write("bad.csv", head+"JP-1,JP,low,privacy,I don't know who reads my messages.\nID-1,ID,high,scams,Ask @budi_s about it.\n")
	notesIn := func(t *testing.T) []survey.Note {
		st, err := sqlstore.Open(context.Background(), "", data, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		notes, err := st.Notes(context.Background(), "2026-Q3")
		if err != nil {
			t.Fatal(err)
		}
		return notes
	}

	out, stderr, code := runStderr(t, "survey", "notes", "import", "--wave", "2026-Q3", "--in", bad, "--data", data)
	if code != 1 || out != "" || !strings.Contains(stderr, `row 2 (line 3), column "quote"`) || !strings.Contains(stderr, "@handle") {
		t.Fatalf("bad file: exit %d %q %q", code, out, stderr)
	}
	if n := notesIn(t); len(n) != 0 {
		t.Fatalf("a refused file stored %d notes", len(n))
	}
	if _, stderr, code := runStderr(t, "survey", "notes", "import", "--wave", "2025-Q1", "--in", good, "--data", data); code != 1 || !strings.Contains(stderr, "no wave") {
		t.Errorf("unknown wave: exit %d %s", code, stderr)
	}
	if out, stderr, code = runStderr(t, "survey", "notes", "import", "--wave", "2026-Q3", "--in", good, "--data", data); code != 0 || !strings.Contains(out, "2 notes added, 0 stored already") {
		t.Fatalf("good file: exit %d %q %s", code, out, stderr)
	}
	if out, _, code = runStderr(t, "survey", "notes", "import", "--wave", "2026-Q3", "--in", good, "--data", data); code != 0 || !strings.Contains(out, "0 notes added, 2 stored already") {
		t.Fatalf("again: exit %d %q", code, out)
	}
	payments := write("payments.csv", head+"MX-1,MX,medium,payments,Refunds take weeks.\n")
	if _, stderr, code = runStderr(t, "survey", "notes", "import", "--wave", "2026-Q3", "--in", payments, "--data", data); code != 1 || !strings.Contains(stderr, `"payments" is not a theme`) {
		t.Fatalf("theme not in the vocabulary: exit %d %s", code, stderr)
	}
	os.WriteFile(filepath.Join(data, survey.ThemesFile), []byte("themes:\n  - {name: payments, description: \"fees, refunds and payouts\"}\n"), 0o600)
	if _, stderr, code = runStderr(t, "survey", "notes", "import", "--wave", "2026-Q3", "--in", payments, "--data", data); code != 0 {
		t.Fatalf("with note-themes.yaml: exit %d %s", code, stderr)
	}
	if out, _, code = runStderr(t, "survey", "notes", "delete", "--wave", "2026-Q3", "--ref", "JP-1", "--data", data); code != 0 || !strings.Contains(out, "1 notes erased") {
		t.Fatalf("delete: exit %d %q", code, out)
	}
	if n := notesIn(t); len(n) != 2 || n[0].Ref != "ID-1" || n[1].Ref != "MX-1" {
		t.Fatalf("left %+v", n)
	}
	if _, _, code = runStderr(t, "survey", "notes", "import", "--wave", "2026-Q3", "--data", data); code != 2 {
		t.Errorf("no --in: exit %d, want 2", code)
	}
}
