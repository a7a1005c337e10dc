package web

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/incident"
	"github.com/wardenhq/warden/insights"
	"github.com/wardenhq/warden/internal/demo"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
	"github.com/wardenhq/warden/survey"
)

var insightsSalt = []byte("0123456789abcdef0123456789abcdef")

// insightsConsole is a console with the insights pages over db, where the
// demo's survey is loaded as serve --demo loads it: a scammer messages a
// quarter of the respondents' accounts (through the event log), some
// report it, a moderator bans it, and waves of synthetic respondents in
// seven regions are stored. cl is signed in as the admin ada.
func insightsConsole(t testing.TB, db *sqlstore.DB, opt demo.SurveyOptions) (tc *testConsole, rp *survey.Reporter, cl *http.Client) {
	t.Helper()
	ctx := context.Background()
	svc, err := incident.New(ctx, incident.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	l := sqlstore.NewEventLog(db)
	defer l.Close()
	opt.DB, opt.Service, opt.Salt = db, svc, insightsSalt
	opt.Ingest = func(ctx context.Context, evs []warden.Event) error {
		var recs []sqlstore.EventRecord
		for _, e := range evs {
			body, _ := json.Marshal(e)
			recs = append(recs, sqlstore.EventRecord{ID: e.ID, Type: e.Type, Actor: e.Actor, Target: e.Target, TimeUS: e.Time.UnixMicro(),
				ReceivedUS: e.Time.UnixMicro(), Body: body, Verdict: []byte(`{"action":"allow","hits":[]}`)})
		}
		_, err := l.Append(ctx, recs)
		return err
	}
	if err := demo.Survey(ctx, opt); err != nil {
		t.Fatal(err)
	}
	rp = survey.NewReporter(db, insightsSalt)
	tc = newTestConsoleOn(t, db, Options{})
	tc.MountInsights(rp)
	tc.user(t, "ada", warden.RoleAdmin)
	cl = tc.client(t)
	tc.signIn(t, cl, "ada")
	return tc, rp, cl
}

// pageFigures are the data-figure cells of a page's tables, by figure and
// key: "top2 JP/wave" in the trend table, "driver_share JP/privacy" in the
// drivers', "split_top2 group/JP/yes" in the splits' and
// "split_top2_diff group/JP" in their differences'.
func pageFigures(t *testing.T, page string) map[string]string {
	t.Helper()
	out := map[string]string{}
	tables := regexp.MustCompile(`(?s)<table (?:id="trend-table"|class="([\w-]+)" data-(?:region|group)="([^"]*)")>(.*?)</table>`)
	rows := regexp.MustCompile(`(?s)<tr( data-[^>]*)>(.*?)</tr>`)
	attr := regexp.MustCompile(`data-(\w+)="([^"]*)"`)
	cells := regexp.MustCompile(`data-figure="(\w+)" data-value="([^"]*)"`)
	for _, tm := range tables.FindAllStringSubmatch(page, -1) {
		for _, rm := range rows.FindAllStringSubmatch(tm[3], -1) {
			a := map[string]string{}
			for _, am := range attr.FindAllStringSubmatch(rm[1], -1) {
				a[am[1]] = am[2]
			}
			var key string
			switch tm[1] {
			case "":
				key = a["region"] + "/" + a["wave"]
			case "drivers-table":
				key = tm[2] + "/" + a["driver"]
			case "split-table":
				key = tm[2] + "/" + a["region"] + "/" + a["level"]
			default:
				key = tm[2] + "/" + a["region"]
			}
			for _, c := range cells.FindAllStringSubmatch(rm[2], -1) {
				out[c[1]+" "+key] = c[2]
			}
		}
	}
	return out
}

func g(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// TestInsightsPageShowsTheTrustReport: the console's trust page, over the
// demo's survey on each store, shows the trust report's figures (the same
// computation as GET /v1/insights/trust, with bootstrap intervals of the
// drivers): every region and wave's top-2 share and mean, the change from
// the wave before and its significance, the drivers' shares with their
// intervals, and the split by platform experience, where the respondents
// exposed to the banned scammer trust less in every region; a chart for
// each with its figures in words; one region; and bad input refused.
func TestInsightsPageShowsTheTrustReport(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		tc, rp, cl := insightsConsole(t, db, demo.SurveyOptions{Seed: 3})
		tc.user(t, "mia", warden.RoleModerator)
		ctx := context.Background()
		want, err := rp.Report(ctx, "", "", insightsDrivers)
		if err != nil {
			t.Fatal(err)
		}
		resp, page := tc.do(t, cl, "GET", "/insights", nil, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("insights page %d\n%s", resp.StatusCode, page)
		}
		if want.Wave != demo.SurveyWaves[1] || len(want.Regions) != 7 || len(want.Trend) != 14 {
			t.Fatalf("the demo's report: wave %s, %d regions, %d trend points", want.Wave, len(want.Regions), len(want.Trend))
		}
		fig := pageFigures(t, page)
		for _, p := range want.Trend {
			k := p.Region + "/" + p.Wave
			if fig["top2 "+k] != g(p.TopBox.Value) || fig["mean "+k] != g(p.Mean.Value) {
				t.Errorf("%s: page top2 %s mean %s, report %v %v", k, fig["top2 "+k], fig["mean "+k], p.TopBox.Value, p.Mean.Value)
			}
		}
		exposedLower := 0
		for _, r := range want.Regions {
			k := r.Region + "/" + want.Wave
			if r.Change == nil || fig["top2_change "+k] != g(r.Change.TopBox.Diff) {
				t.Errorf("%s: page change %s, report %+v", k, fig["top2_change "+k], r.Change)
			}
			if r.Drivers == nil || r.Drivers.Intervals == nil {
				t.Fatalf("%s: no drivers or no intervals: %s", r.Region, r.DriversError)
			}
			for j, n := range r.Drivers.Names {
				if got := fig["driver_share "+r.Region+"/"+n]; got != g(r.Drivers.LMGRela[j]) {
					t.Errorf("%s %s: page share %s, report %v", r.Region, n, got, r.Drivers.LMGRela[j])
				}
				iv := r.Drivers.Intervals.LMGRela[j]
				if !strings.Contains(page, fmt.Sprintf("%s: %s %s of R² (bootstrap 95%% interval %s to %s)", r.Region, n, pct(r.Drivers.LMGRela[j]), pct(iv[0]), pct(iv[1]))) {
					t.Errorf("%s %s: the drivers chart does not title the bar with its interval %v", r.Region, n, iv)
				}
			}
			ex := r.ByExperience[survey.GroupExposed]
			if d := insights.Compare(ex["yes"].TopBox, ex["no"].TopBox); fig["split_top2_diff "+survey.GroupExposed+"/"+r.Region] != g(d.Diff) {
				t.Errorf("%s: the page's exposed − not exposed %s, want %v", r.Region, fig["split_top2_diff "+survey.GroupExposed+"/"+r.Region], d.Diff)
			}
			for _, l := range []string{"yes", "no"} {
				k := survey.GroupExposed + "/" + r.Region + "/" + l
				if fig["split_top2 "+k] != g(ex[l].TopBox.Value) || fig["split_mean "+k] != g(ex[l].Mean.Value) {
					t.Errorf("%s: page %s %s, report %+v", k, fig["split_top2 "+k], fig["split_mean "+k], ex[l])
				}
			}
			yes, _ := strconv.ParseFloat(fig["split_mean "+survey.GroupExposed+"/"+r.Region+"/yes"], 64)
			no, _ := strconv.ParseFloat(fig["split_mean "+survey.GroupExposed+"/"+r.Region+"/no"], 64)
			if yes > 0 && yes < no {
				exposedLower++
			}
			for _, grp := range []string{survey.GroupReported, survey.GroupReportResult, "twofa", "safety_center"} {
				for l, ti := range r.ByExperience[grp] {
					if k := grp + "/" + r.Region + "/" + l; fig["split_top2 "+k] != g(ti.TopBox.Value) {
						t.Errorf("%s: page %s, report %v", k, fig["split_top2 "+k], ti.TopBox.Value)
					}
				}
			}
		}
		if exposedLower != 7 {
			t.Errorf("the page shows lower trust for the exposed in %d of 7 regions", exposedLower)
		}
		// The charts: the trend has a point per region and wave, each with
		// its error bar and its figures in words; the exposure split a
		// point per region and level.
		unescaped := html.UnescapeString(page)
		points := 2 * len(want.Trend) // the top-2 and the mean charts
		for _, r := range want.Regions {
			for _, levels := range r.ByExperience {
				points += len(levels)
			}
		}
		if n := strings.Count(page, `<g class="ci-point`); n != points {
			t.Errorf("%d interval points on the page, want %d (the trend and every split level)", n, points)
		}
		jp := want.Regions[slices.IndexFunc(want.Regions, func(r survey.RegionTrust) bool { return r.Region == "JP" })]
		title := fmt.Sprintf("JP, %s: %s (95%% interval %s to %s), n %d; change %+.1f points", want.Wave, pct(jp.TopBox.Value), pct(jp.TopBox.Low), pct(jp.TopBox.High), jp.N, 100*jp.Change.TopBox.Diff)
		if !strings.Contains(unescaped, "<title>"+title) {
			t.Errorf("the trend chart has no point titled %q", title)
		}
		mean := fmt.Sprintf("JP, %s: %.2f (95%% interval %.2f to %.2f), n %d; change %+.2f", want.Wave, jp.Mean.Value, jp.Mean.Low, jp.Mean.High, jp.N, jp.Change.Mean.Diff)
		if !strings.Contains(unescaped, "<title>"+mean) || !strings.Contains(page, "Mean trust by region and wave") {
			t.Errorf("the mean chart has no point titled %q", mean)
		}
		point := regexp.MustCompile(`<g class="ci-point series-1" data-value="` + regexp.QuoteMeta(g(jp.TopBox.Value)) + `"><title>JP[^<]*</title><line class="bar" x1="[\d.]+" y1="([\d.]+)" x2="[\d.]+" y2="([\d.]+)"/>`).FindStringSubmatch(page)
		if point == nil {
			t.Fatal("no JP point of the current wave in the trend chart")
		}
		if lo, _ := strconv.ParseFloat(point[1], 64); lo != shareY(jp.TopBox.Low) {
			t.Errorf("JP's error bar starts at y %v, want %v", lo, shareY(jp.TopBox.Low))
		}
		for _, s := range []string{"Exposed to an account later actioned", "Top-2-box trust by region and wave", "<desc>", `role="img"`,
			`href="/insights/trust.csv?wave=` + want.Wave + `"`, `href="/insights/report?wave=` + want.Wave + `"`, `href="/insights" aria-current="page"`} {
			if !strings.Contains(page, s) {
				t.Errorf("the page lacks %q", s)
			}
		}
		// One region: its figures alone, UK read as GB.
		resp, one := tc.do(t, cl, "GET", "/insights?wave="+demo.SurveyWaves[0]+"&region=JP", nil, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("one region: %d", resp.StatusCode)
		}
		f1 := pageFigures(t, one)
		first, _ := rp.Report(ctx, demo.SurveyWaves[0], "JP", insightsDrivers)
		if len(first.Regions) != 1 || f1["top2 JP/"+demo.SurveyWaves[0]] != g(first.Regions[0].TopBox.Value) || f1["top2 US/"+demo.SurveyWaves[0]] != "" {
			t.Errorf("JP in the first wave: %v", f1)
		}
		if !strings.Contains(one, `<option value="JP" selected>`) || !strings.Contains(one, `aria-current="page">JP</a>`) {
			t.Error("the region selectors do not show JP as chosen")
		}
		if resp, uk := tc.do(t, cl, "GET", "/insights?region=UK", nil, nil); resp.StatusCode != 200 || !strings.Contains(uk, "Trust, wave "+want.Wave+", GB") {
			t.Errorf("region=UK: %d", resp.StatusCode)
		}

		// Bad input: a clear 4xx naming what is wrong, on every page.
		for _, path := range []string{"/insights", "/insights/trust.csv", "/insights/report"} {
			for q, c := range map[string]struct {
				status int
				says   string
			}{
				"?wave=nope":   {404, `no wave &#34;nope&#34; is imported`},
				"?wave=a%20b":  {400, "a wave&#39;s name is"},
				"?region=XX":   {400, "not an ISO 3166-1 country code"},
				"?region=jp":   {400, "two capital letters"},
				"?region=BR":   {400, "has no respondents in region"},
				"?region=%00x": {400, "ISO 3166-1"},
			} {
				if path == "/insights/report" && strings.HasPrefix(q, "?region") {
					continue // the report is of every region
				}
				resp, body := tc.do(t, cl, "GET", path+q, nil, nil)
				if resp.StatusCode != c.status || !strings.Contains(body, c.says) {
					t.Errorf("%s%s: %d, want %d saying %q\n%.300s", path, q, resp.StatusCode, c.status, c.says, body)
				}
			}
		}
		mod := tc.client(t)
		tc.signIn(t, mod, "mia")
		for _, path := range []string{"/insights", "/insights/trust.csv", "/insights/report"} {
			if resp, _ := tc.do(t, mod, "GET", path, nil, nil); resp.StatusCode != http.StatusForbidden {
				t.Errorf("a moderator on %s: %d", path, resp.StatusCode)
			}
		}
	})
}

// TestInsightsCSV: the export has one row per figure of the page, with
// its interval and n, equal to the trust report's, each figure once;
// it is an attachment, and one region's has that region alone.
func TestInsightsCSV(t *testing.T) {
	tc, rp, cl := insightsConsole(t, sqlstoretest.SQLite(t), demo.SurveyOptions{Seed: 3})
	want, err := rp.Report(context.Background(), "", "", insightsDrivers)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := tc.do(t, cl, "GET", "/insights/trust.csv?wave="+want.Wave, nil, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		resp.Header.Get("Content-Disposition") != `attachment; filename="trust-`+want.Wave+`.csv"` {
		t.Fatalf("csv: %d %v", resp.StatusCode, resp.Header)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != "wave,region,figure,group,level,value,low,high,se,n,p,significant" {
		t.Fatalf("header %v", rows[0])
	}
	byKey := map[string][]string{}
	for _, r := range rows[1:] {
		k := strings.Join(r[:5], "|")
		if _, dup := byKey[k]; dup {
			t.Errorf("figure %s twice", k)
		}
		byKey[k] = r
	}
	check := func(k string, e insights.Estimate, n int) {
		t.Helper()
		r := byKey[k]
		if r == nil {
			t.Errorf("no row %s", k)
			return
		}
		if r[5] != g(e.Value) || r[6] != g(e.Low) || r[7] != g(e.High) || r[8] != g(e.SE) || r[9] != strconv.Itoa(n) {
			t.Errorf("%s: %v, want %v n %d", k, r, e, n)
		}
	}
	for _, p := range want.Trend {
		check(p.Wave+"|"+p.Region+"|top2||", p.TopBox, p.N)
		check(p.Wave+"|"+p.Region+"|mean||", p.Mean, p.N)
	}
	for _, r := range want.Regions {
		c := byKey[want.Wave+"|"+r.Region+"|top2_change||"]
		lo, hi := r.Change.TopBox.Interval()
		if c == nil || c[5] != g(r.Change.TopBox.Diff) || c[6] != g(lo) || c[7] != g(hi) || c[10] != g(r.Change.TopBox.P) || c[11] != strconv.FormatBool(r.Change.TopBox.Significant) {
			t.Errorf("%s change: %v, want %+v", r.Region, c, r.Change.TopBox)
		}
		for j, n := range r.Drivers.Names {
			s := byKey[want.Wave+"|"+r.Region+"|driver_share|"+n+"|"]
			iv := r.Drivers.Intervals.LMGRela[j]
			if s == nil || s[5] != g(r.Drivers.LMGRela[j]) || s[6] != g(iv[0]) || s[7] != g(iv[1]) || s[9] != strconv.Itoa(r.Drivers.N) {
				t.Errorf("%s %s share: %v", r.Region, n, s)
			}
		}
		for grp, levels := range r.ByExperience {
			for l, ti := range levels {
				check(want.Wave+"|"+r.Region+"|split_top2|"+grp+"|"+l, ti.TopBox, ti.N)
				check(want.Wave+"|"+r.Region+"|split_mean|"+grp+"|"+l, ti.Mean, ti.N)
			}
		}
	}
	// Trend 2 figures × 14, changes 2 × 7, drivers (R² and 3 × 4 items) ×
	// 7, and two per split level.
	splits := 0
	for _, r := range want.Regions {
		for grp, levels := range r.ByExperience {
			splits += 2 * len(levels)
			yes, y := levels["yes"]
			no, n := levels["no"]
			if !y || !n {
				continue
			}
			// Yes/no splits also have the difference of the top-2 shares.
			splits++
			d := insights.Compare(yes.TopBox, no.TopBox)
			lo, hi := d.Interval()
			if r := byKey[want.Wave+"|"+r.Region+"|split_top2_diff|"+grp+"|yes-no"]; r == nil || r[5] != g(d.Diff) || r[6] != g(lo) || r[7] != g(hi) || r[9] != strconv.Itoa(yes.N+no.N) || r[11] != strconv.FormatBool(d.Significant) {
				t.Errorf("%s %s yes-no: %v, want %+v", grp, r, d, r)
			}
		}
	}
	if n := len(rows) - 1; n != 28+14+7*13+splits {
		t.Errorf("%d rows, want %d", n, 28+14+7*13+splits)
	}

	resp, body = tc.do(t, cl, "GET", "/insights/trust.csv?region=UK", nil, nil)
	one, _ := csv.NewReader(strings.NewReader(body)).ReadAll()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Disposition") != `attachment; filename="trust-`+want.Wave+`-GB.csv"` || len(one) < 2 {
		t.Fatalf("GB csv: %d %v", resp.StatusCode, resp.Header)
	}
	for _, r := range one[1:] {
		if r[1] != "GB" {
			t.Fatalf("GB's export has a row of %s: %v", r[1], r)
		}
	}
}

// TestInsightsReport: the printable report is a page of its own, without
// the console's navigation, with print styles, the wave and the date, the
// method, and every region's figures and charts.
func TestInsightsReport(t *testing.T) {
	tc, rp, cl := insightsConsole(t, sqlstoretest.SQLite(t), demo.SurveyOptions{Seed: 3})
	w0 := demo.SurveyWaves[0]
	resp, page := tc.do(t, cl, "GET", "/insights/report?wave="+w0, nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("report %d\n%s", resp.StatusCode, page)
	}
	want, _ := rp.Report(context.Background(), w0, "", insightsDrivers)
	fig := pageFigures(t, page)
	for _, r := range want.Regions {
		if fig["top2 "+r.Region+"/"+w0] != g(r.TopBox.Value) || !strings.Contains(page, `<table class="drivers-table" data-region="`+r.Region+`">`) {
			t.Errorf("the report lacks %s's figures", r.Region)
		}
	}
	for _, s := range []string{"<h1>Trust report, wave " + w0 + "</h1>", "<h2 id=\"method-h\">Method</h2>", "Kish", `<time datetime="`, "insights.css", `<svg viewBox=`} {
		if !strings.Contains(page, s) {
			t.Errorf("the report lacks %q", s)
		}
	}
	if strings.Contains(page, `aria-label="Console"`) || strings.Contains(page, `class="topbar"`) || strings.Contains(page, "<form") {
		t.Error("the report carries the console's navigation or forms")
	}
	css, err := staticFS.ReadFile("static/insights.css")
	if err != nil || !strings.Contains(string(css), "@media print") {
		t.Errorf("insights.css has no print rules (%v)", err)
	}
}

// TestInsightsPaletteContrast: the series colours of the trust charts
// stand out from the panel at least 3:1 (WCAG 2.2, 1.4.11), and the
// legend and tables carry the words.
func TestInsightsPaletteContrast(t *testing.T) {
	css, err := staticFS.ReadFile("static/insights.css")
	if err != nil {
		t.Fatal(err)
	}
	ms := regexp.MustCompile(`\.series-(\d) \{ --c: (#[0-9a-f]{6}); \}`).FindAllStringSubmatch(string(css), -1)
	if len(ms) != seriesClasses {
		t.Fatalf("%d series colours in insights.css, want %d", len(ms), seriesClasses)
	}
	for _, m := range ms {
		r, err := contrast(m[2], "#ffffff")
		if err != nil || r < 3 {
			t.Errorf("series %s: %s is %.2f:1 on white, under 3:1", m[1], m[2], r)
		}
	}
}

// FuzzInsightsQuery: whatever ?wave= and ?region= hold, the trust page's
// view is either the report or a 4xx error naming what is wrong, never
// an internal error.
func FuzzInsightsQuery(f *testing.F) {
	db := sqlstoretest.SQLite(f)
	ctx := context.Background()
	ws, err := demo.SyntheticWaves(demo.SurveyWaves, 20, 1, insightsSalt)
	if err != nil {
		f.Fatal(err)
	}
	for _, w := range ws {
		if err := db.SaveWave(ctx, w); err != nil {
			f.Fatal(err)
		}
	}
	rp := survey.NewReporter(db, insightsSalt)
	for _, s := range [][2]string{{"", ""}, {demo.SurveyWaves[0], "JP"}, {"nope", "UK"}, {"a b", "XX"}, {"", "jp"}, {"\x00", "\xff\xfe"}, {strings.Repeat("w", 65), "BR"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, wave, region string) {
		v, err := trustView(ctx, rp, wave, region, time.Now())
		if err != nil {
			if c := warden.ErrorCode(err); c != warden.EINVALID && c != warden.ENOTFOUND {
				t.Fatalf("wave %q region %q: %v (%s)", wave, region, err, c)
			}
			return
		}
		if len(v.Report.Regions) == 0 || len(trustCSVRows(v)) == 0 {
			t.Fatalf("wave %q region %q: an empty report", wave, region)
		}
	})
}

// FuzzTrustCSVCell: a text cell of the export never starts with what a
// spreadsheet reads as a formula, and reads back from the CSV as written.
func FuzzTrustCSVCell(f *testing.F) {
	for _, s := range []string{"", "yes", "=HYPERLINK(\"x\")", "+1", "-2", "@SUM(A1)", "\tx", "a,b", "\"q\"", "line\nbreak"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := cell(s)
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			t.Fatalf("cell(%q) = %q starts with a formula character", s, c)
		}
		if c != s && c != "'"+s {
			t.Fatalf("cell(%q) = %q", s, c)
		}
		var b strings.Builder
		w := csv.NewWriter(&b)
		if err := w.Write([]string{c, "1"}); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		got, err := csv.NewReader(strings.NewReader(b.String())).Read()
		if !utf8.ValidString(s) || strings.ContainsRune(s, '\r') {
			return // encoding/csv rewrites \r\n inside quoted fields
		}
		if err != nil || len(got) != 2 || got[0] != c {
			t.Fatalf("%q read back as %q (%v)", c, got, err)
		}
	})
}
