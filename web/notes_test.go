package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/messaging"
	"github.com/wardenhq/warden/survey"
)

// TestNotesPage: an admin sees the latest wave's notes grouped by region
// and theme beside the region's trust index and interval, and the
// messaging results per arm; another wave is picked by ?wave=, an unknown
// one is a 404 saying so; a moderator may not see the page.
func TestNotesPage(t *testing.T) {
	tc := newTestConsole(t, Options{})
	ctx := context.Background()
	salt := []byte("0123456789abcdef0123456789abcdef")
	cb, err := survey.ParseCodebook([]byte("platform_id: pid\ntrust: trust\nscales: {agree5: {min: 1, max: 5}}\nitems: [{name: trust, scale: agree5}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"2026-Q2", "2026-Q3"} {
		var b strings.Builder
		b.WriteString("region,pid,trust\n")
		for i := range 60 {
			fmt.Fprintf(&b, "%s,u%d,%d\n", []string{"JP", "US"}[i%2], i, 1+i%5)
		}
		w, err := survey.ParseWave(name, cb, strings.NewReader(b.String()), salt)
		if err != nil {
			t.Fatal(err)
		}
		if err := tc.db.SaveWave(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	w, _ := tc.db.Wave(ctx, "2026-Q3")
	notes, err := survey.ParseNotes(w, survey.DefaultThemes(), strings.NewReader("ref,region,segment,themes,quote\n"+
		"JP-1,JP,low,privacy;scams,I keep my messages short because I don't know who reads them.\n"+
		"US-1,US,high,control,Turning off ad tracking was easy.\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tc.db.SaveNotes(ctx, "2026-Q3", notes); err != nil {
		t.Fatal(err)
	}
	tc.MountNotes(NotesOptions{Store: tc.db, Messages: messaging.New(tc.db, salt)})
	tc.user(t, "ada", warden.RoleAdmin)
	tc.user(t, "mia", warden.RoleModerator)

	admin := tc.client(t)
	tc.signIn(t, admin, "ada")
	resp, body := tc.do(t, admin, "GET", "/insights/notes", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("page %d", resp.StatusCode)
	}
	jp, _, _ := strings.Cut(body[strings.Index(body, `data-region="JP"`):], `data-region="US"`)
	ti := survey.RegionTrustIndexes(w)["JP"]
	for _, want := range []string{
		fmt.Sprintf("%.1f %% (%.1f–%.1f %%)", 100*ti.TopBox.Value, 100*ti.TopBox.Low, 100*ti.TopBox.High), "n = 30",
		`data-theme="privacy"`, `data-theme="scams"`, "I keep my messages short", "low trust",
		"Respondents by trust segment: low 40 %, medium 20 %, high 40 %",
	} {
		if !strings.Contains(jp, want) {
			t.Errorf("JP section lacks %q:\n%s", want, jp)
		}
	}
	if strings.Contains(jp, "Turning off ad tracking") || !strings.Contains(body, `href="/insights/notes" aria-current="page"`) {
		t.Errorf("a US note in JP, or no navigation link")
	}
	for _, want := range []string{"regional-trust", `data-variant="control"`, `data-variant="us-data-transparency"`, `data-regions="GB FR DE"`,
		"a trust index needs at least two answers (got 0)"} {
		if !strings.Contains(body, want) {
			t.Errorf("messaging section lacks %q", want)
		}
	}
	_, body = tc.do(t, admin, "GET", "/insights/notes?wave=2026-Q2", nil, nil)
	if !strings.Contains(body, "No notes for JP in this wave.") || strings.Contains(body, "I keep my messages short") {
		t.Errorf("the first wave shows notes of the second")
	}
	if resp, body := tc.do(t, admin, "GET", "/insights/notes?wave=2020", nil, nil); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "No wave &#34;2020&#34; is imported") {
		t.Errorf("unknown wave: %d %s", resp.StatusCode, body)
	}
	mod := tc.client(t)
	tc.signIn(t, mod, "mia")
	if resp, _ := tc.do(t, mod, "GET", "/insights/notes", nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("moderator: %d", resp.StatusCode)
	}
}
