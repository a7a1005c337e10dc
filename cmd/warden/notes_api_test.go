package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/incident"
	"github.com/wardenhq/warden/internal/demo"
	"github.com/wardenhq/warden/messaging"
	"github.com/wardenhq/warden/partner"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
	"github.com/wardenhq/warden/survey"
)

// servedDemoSurvey is serve's HTTP server over db with the demo's survey
// loaded through it, and an app and an admin key.
func servedDemoSurvey(t *testing.T, db *sqlstore.DB) (m *matrixServer, app, admin string) {
	t.Helper()
	m = newServed(t, db, partner.Config{GroupKey: groupKey, SigningKey: signingKey('s'), Issuer: "s.example", K: 3})
	app, admin = m.key(t, warden.RoleApp), m.key(t, warden.RoleAdmin)
	m.loadDemoSurvey(t, app)
	return m, app, admin
}

// loadDemoSurvey loads the demo's survey (seed 3), its platform events
// posted with the app key, and returns the incident service it used.
func (m *matrixServer) loadDemoSurvey(t *testing.T, app string) *incident.Service {
	t.Helper()
	ctx := context.Background()
	svc, err := incident.New(ctx, incident.Options{DB: m.db})
	if err != nil {
		t.Fatal(err)
	}
	err = demo.Survey(ctx, demo.SurveyOptions{DB: m.db, Service: svc, Salt: testSurveySalt, Seed: 3,
		Ingest: func(ctx context.Context, evs []warden.Event) error {
			b, err := json.Marshal(map[string]any{"events": evs})
			if err != nil {
				return err
			}
			m.must(t, "POST", "/v1/events", app, string(b), 200, nil)
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// postCSV posts body as text/csv.
func (m *matrixServer) postCSV(t *testing.T, path, key, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", m.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "text/csv; charset=utf-8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type notesList struct {
	Notes []survey.Note `json:"notes"`
}

// TestNotesAPI, on both databases: the demo's notes come back beside each
// region of the trust call (the existing fields unchanged) and in the
// notes list; an import with one bad note (personal data, an unknown
// theme, a region the wave lacks) is refused naming it and stores nothing;
// a CSV import adds notes and, sent again, adds none; notes are erased one
// by one or by wave; an app key may not call any of it.
func TestNotesAPI(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		m, app, admin := servedDemoSurvey(t, db)
		wave := demo.SurveyWaves[1]
		var rep struct {
			Wave    string
			Regions []struct {
				Region string
				N      int
				Notes  []survey.Note
			}
		}
		m.must(t, "GET", "/v1/insights/trust", admin, "", 200, &rep)
		perRegion := map[string]int{}
		for _, r := range rep.Regions {
			if r.N == 0 {
				t.Errorf("%s: the trust figures are gone", r.Region)
			}
			for _, n := range r.Notes {
				if n.Region != r.Region || n.Wave != wave || len(n.Themes) == 0 || n.Quote == "" {
					t.Errorf("%s: note %+v", r.Region, n)
				}
			}
			perRegion[r.Region] = len(r.Notes)
		}
		if perRegion["JP"] != 3 || perRegion["GB"] != 2 || len(perRegion) != 7 {
			t.Fatalf("notes per region %v", perRegion)
		}
		var first struct {
			Regions []struct{ Notes []survey.Note }
		}
		m.must(t, "GET", "/v1/insights/trust?wave="+demo.SurveyWaves[0], admin, "", 200, &first)
		if n := first.Regions[0].Notes; n == nil || len(n) != 0 {
			t.Errorf("the first wave has no notes: %v", n)
		}
		var all notesList
		m.must(t, "GET", "/v1/insights/notes?wave="+wave, admin, "", 200, &all)
		var jpScams notesList
		m.must(t, "GET", "/v1/insights/notes?wave="+wave+"&region=JP&theme=scams", admin, "", 200, &jpScams)
		if len(all.Notes) != 17 || len(jpScams.Notes) != 1 || jpScams.Notes[0].Ref != "JP-02" {
			t.Fatalf("%d notes, JP scams %+v", len(all.Notes), jpScams.Notes)
		}

		good := `{"ref": "JP-10", "region": "JP", "segment": "low", "themes": ["privacy"], "quote": "Nobody tells me where my photos go."}`
		for name, tc := range map[string]struct{ body, field string }{
			"email":      {`{"ref": "JP-11", "region": "JP", "segment": "low", "themes": ["privacy"], "quote": "Write to yuki@example.jp"}`, "notes[1].quote"},
			"theme":      {`{"ref": "JP-11", "region": "JP", "segment": "low", "themes": ["weather"], "quote": "Rainy."}`, "notes[1].themes"},
			"region":     {`{"ref": "BR-1", "region": "BR", "segment": "low", "themes": ["bots"], "quote": "Bots."}`, "notes[1].region"},
			"segment":    {`{"ref": "JP-11", "region": "JP", "segment": "5", "themes": ["bots"], "quote": "Bots."}`, "notes[1].segment"},
			"unknown":    {`{"ref": "JP-11", "region": "JP", "segment": "low", "themes": ["bots"], "quote": "Bots.", "name": "Yuki"}`, "name"},
			"stored ref": {`{"ref": "JP-01", "region": "JP", "segment": "low", "themes": ["bots"], "quote": "Another text."}`, "notes[1].ref"},
		} {
			code, body := m.do(t, "POST", "/v1/insights/notes", admin, `{"wave": "`+wave+`", "notes": [`+good+`, `+tc.body+`]}`)
			var e struct {
				Error struct{ Field, Message string }
			}
			json.Unmarshal(body, &e)
			if code/100 != 4 || e.Error.Field != tc.field || e.Error.Message == "" {
				t.Errorf("%s: %d %s, want a 4xx naming %s", name, code, body, tc.field)
			}
		}
		if code, _ := m.do(t, "POST", "/v1/insights/notes", admin, `{"wave": "no-such-wave", "notes": [`+good+`]}`); code != 404 {
			t.Errorf("unknown wave: %d", code)
		}
		m.must(t, "GET", "/v1/insights/notes?wave="+wave, admin, "", 200, &all)
		if len(all.Notes) != 17 {
			t.Fatalf("refused imports stored notes: %d", len(all.Notes))
		}

		csv := "ref,region,segment,themes,quote\nJP-10,JP,low,privacy,Nobody tells me where my photos go.\nUS-10,US,high,control;privacy,I like that I can download my data.\n"
		if code, body := m.postCSV(t, "/v1/insights/notes?wave="+wave, admin, "ref,region,segment,themes,quote\nX-1,JP,low,privacy,call me on 090 1234 5678\n"); code != 400 || !strings.Contains(body, `row 1, column quote`) {
			t.Errorf("csv with a phone number: %d %s", code, body)
		}
		var saved struct{ Added, Unchanged int }
		if code, body := m.postCSV(t, "/v1/insights/notes?wave="+wave, admin, csv); code != 201 || json.Unmarshal([]byte(body), &saved) != nil || saved.Added != 2 {
			t.Fatalf("csv import: %d %s", code, body)
		}
		if code, body := m.postCSV(t, "/v1/insights/notes?wave="+wave, admin, csv); code != 201 || json.Unmarshal([]byte(body), &saved) != nil || saved.Added != 0 || saved.Unchanged != 2 {
			t.Fatalf("csv import again: %d %s", code, body)
		}
		if code, _ := m.postCSV(t, "/v1/insights/notes?wave="+wave, app, csv); code != 403 {
			t.Errorf("app key import: %d", code)
		}
		if code, _ := m.do(t, "GET", "/v1/insights/notes", app, ""); code != 403 {
			t.Errorf("app key list: %d", code)
		}
		m.must(t, "DELETE", "/v1/insights/notes/"+wave+"/JP-10", admin, "", 200, nil)
		if code, _ := m.do(t, "DELETE", "/v1/insights/notes/"+wave+"/JP-10", admin, ""); code != 404 {
			t.Errorf("erased twice: %d", code)
		}
		var deleted struct{ Deleted int }
		m.must(t, "DELETE", "/v1/insights/notes/"+wave, admin, "", 200, &deleted)
		if deleted.Deleted != 18 {
			t.Errorf("erased %d of the wave's 18 notes", deleted.Deleted)
		}
		m.must(t, "GET", "/v1/insights/trust", admin, "", 200, &rep)
		for _, r := range rep.Regions {
			if len(r.Notes) != 0 {
				t.Errorf("%s still shows %d notes", r.Region, len(r.Notes))
			}
		}
	})
}

// TestMessagesAPI, on both databases: the app gets a user's arm, the same
// every time, and nothing where no experiment runs; results per variant
// of the demo's latest wave count every linked respondent once and flag
// the US transparency and EU compliance messages, which the demo makes
// work;
// an admin adds an experiment in a free region, is refused one in a region
// that runs already, and replaces one.
func TestMessagesAPI(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		m, app, admin := servedDemoSurvey(t, db)
		var a, again messaging.Assignment
		m.must(t, "GET", "/v1/messages/assignment?user=demo-resp-us-001&region=US", app, "", 200, &a)
		m.must(t, "GET", "/v1/messages/assignment?user=demo-resp-us-001&region=US", app, "", 200, &again)
		if a != again || a.Experiment != "regional-trust" || a.Variant == "" || a.Show == a.Control || a.Show && a.Text == "" {
			t.Fatalf("assignment %+v then %+v", a, again)
		}
		arms := map[string]int{}
		for _, u := range []string{"u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9", "u10", "u11", "u12"} {
			m.must(t, "GET", "/v1/messages/assignment?user="+u+"&region=DE", app, "", 200, &a)
			arms[a.Variant]++
		}
		if len(arms) != 2 || arms["control"] == 0 || arms["eu-regulatory-compliance"] == 0 {
			t.Errorf("DE arms over 12 users: %v", arms)
		}
		var none messaging.Assignment
		m.must(t, "GET", "/v1/messages/assignment?user=u1&region=BR", app, "", 200, &none)
		if none.Show || none.Experiment != "" || none.Region != "BR" {
			t.Errorf("BR: %+v", none)
		}
		for _, q := range []string{"?user=u1&region=Brazil", "?region=US", "?user=u1"} {
			if code, _ := m.do(t, "GET", "/v1/messages/assignment"+q, app, ""); code != 400 {
				t.Errorf("%s: %d, want 400", q, code)
			}
		}

		var res struct {
			Wave        string
			Experiments []messaging.Results
		}
		m.must(t, "GET", "/v1/insights/messages", admin, "", 200, &res)
		if res.Wave != demo.SurveyWaves[1] || len(res.Experiments) != 1 {
			t.Fatalf("results %+v", res)
		}
		flagged := map[string]bool{}
		for _, msg := range res.Experiments[0].Messages {
			total := 0
			for _, arm := range msg.Arms {
				total += arm.N
				if arm.VsControl != nil {
					flagged[arm.Variant] = arm.VsControl.Mean.Significant
					t.Logf("%v %s: n %d, mean %+.2f p %.3f; top2 %+.3f p %.3f", msg.Regions, arm.Variant, arm.N, arm.VsControl.Mean.Diff, arm.VsControl.Mean.P, arm.VsControl.TopBox.Diff, arm.VsControl.TopBox.P)
				}
			}
			if want := 96 * len(msg.Regions); total != want {
				t.Errorf("%v: %d respondents in arms, want the %d linked", msg.Regions, total, want)
			}
		}
		// The null variant's flag is left to chance here (a few dozen
		// respondents per arm); messaging's tests check it over seeds.
		if _, ok := flagged["us-data-control"]; !ok || !flagged["us-data-transparency"] || !flagged["eu-regulatory-compliance"] {
			t.Errorf("significant: %v", flagged)
		}
		if code, _ := m.do(t, "GET", "/v1/insights/messages?wave=nope", admin, ""); code != 404 {
			t.Errorf("unknown wave: %d", code)
		}
		if code, _ := m.do(t, "GET", "/v1/insights/messages", app, ""); code != 403 {
			t.Errorf("app key results: %d", code)
		}

		br := `{"id": "br-trust", "seed": 5, "messages": [{"regions": ["BR"], "theme": "safety", "variants": [{"id": "br-safety", "text": "We review every scam report."}]}]}`
		if code, _ := m.do(t, "PUT", "/v1/messages/experiments/br-trust", app, br); code != 403 {
			t.Errorf("app key put: %d", code)
		}
		m.must(t, "PUT", "/v1/messages/experiments/br-trust", admin, br, 201, nil)
		m.must(t, "PUT", "/v1/messages/experiments/br-trust", admin, strings.Replace(br, `"seed": 5`, `"seed": 6`, 1), 200, nil)
		clash := `{"id": "us-again", "messages": [{"regions": ["US"], "variants": [{"id": "us-x", "text": "Hi."}]}]}`
		if code, body := m.do(t, "PUT", "/v1/messages/experiments/us-again", admin, clash); code != 409 || !strings.Contains(string(body), "regional-trust") {
			t.Errorf("overlap: %d %s", code, body)
		}
		if code, _ := m.do(t, "PUT", "/v1/messages/experiments/other", admin, br); code != 400 {
			t.Errorf("id mismatch: %d", code)
		}
		var list struct{ Experiments []messaging.Experiment }
		m.must(t, "GET", "/v1/messages/experiments", admin, "", 200, &list)
		if len(list.Experiments) != 2 || list.Experiments[0].ID != "br-trust" || list.Experiments[0].Seed != 6 {
			t.Errorf("experiments %+v", list.Experiments)
		}
		var br1 messaging.Assignment
		m.must(t, "GET", "/v1/messages/assignment?user=u1&region=BR", app, "", 200, &br1)
		if br1.Experiment != "br-trust" {
			t.Errorf("BR after put: %+v", br1)
		}
	})
}
