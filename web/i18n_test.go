package web

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden/clientperm"
	"github.com/wardenhq/warden/datarequest"
	"github.com/wardenhq/warden/internal/sealed"
	"github.com/wardenhq/warden/ledger"

	"golang.org/x/text/language"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/consent"
	"github.com/wardenhq/warden/mfa"
)

// TestCenterMessagesComplete: every message id of the English file is in
// every other language's file and no file has an id English lacks; every
// phrase of what changed has its message.
func TestCenterMessagesComplete(t *testing.T) {
	ids := map[string][]string{}
	for _, tag := range CenterLanguages {
		buf, err := fs.ReadFile(localeFS, "locales/active."+tag.String()+".yaml")
		if err != nil {
			t.Fatal(err)
		}
		got, err := messageIDs(buf)
		if err != nil {
			t.Fatalf("%s: %v", tag, err)
		}
		slices.Sort(got)
		ids[tag.String()] = got
	}
	en := ids["en"]
	for _, p := range consent.PhraseIDs {
		if !slices.Contains(en, "phrase_"+p) {
			t.Errorf("no English message for phrase %s", p)
		}
	}
	for lang, got := range ids {
		for _, id := range en {
			if !slices.Contains(got, id) {
				t.Errorf("%s: no message %s", lang, id)
			}
		}
		for _, id := range got {
			if !slices.Contains(en, id) {
				t.Errorf("%s: message %s is not in English", lang, id)
			}
		}
	}
	if _, err := loadBundle(); err != nil {
		t.Fatal(err)
	}
}

// allPhrases is one of every phrase of what changed.
func allPhrases() []consent.Phrase {
	var ps []consent.Phrase
	for _, id := range consent.PhraseIDs {
		ps = append(ps, consent.Phrase{ID: id, Kind: consent.KindPrivacyPolicy, Region: "JP", Value: "ads measurement", From: "18 months",
			To: "24 months", Version: "3", Date: "2026-11-30", Count: 2})
	}
	return ps
}

// TestCenterRendersInEveryLanguage renders the center page in each
// language in its three 2FA states, with a pending document that names
// every kind of change, decisions, a receipt and an error: no message falls
// back to English (or to its id), the lang attribute is the language's, and
// what changed is in the language's words.
func TestCenterRendersInEveryLanguage(t *testing.T) {
	tc := newTestConsole(t, Options{})
	b, err := loadBundle()
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 6, 14, 5, 0, 0, time.UTC)
	// A line of what changed in each language, as the page must show it.
	want := map[string]string{
		"en": "How long data is kept: 18 months → 24 months",
		"es": "Tiempo de conservación de los datos: 18 months → 24 months",
		"ja": "データの保存期間: 18 months → 24 months",
		"fr": "Durée de conservation des données : 18 months → 24 months",
		"de": "Speicherdauer der Daten: 18 months → 24 months",
		"id": "Lama penyimpanan data: 18 months → 24 months",
	}
	dates := map[string]string{"en": "6 Dec 2026, 14:05 UTC", "es": "06/12/2026, 14:05 UTC", "ja": "2026年12月6日 14:05 UTC",
		"fr": "06/12/2026 14:05 UTC", "de": "06.12.2026, 14:05 UTC", "id": "06/12/2026 14.05 UTC"}
	for _, tag := range CenterLanguages {
		lang := tag.String()
		for _, state := range []mfa.Status{{}, {Pending: true}, {Enabled: true, RecoveryCodesLeft: 2}} {
			tr := newTranslator(b, tag)
			v := &centerView{translator: tr, User: "u9", Region: "JP", CSRF: "x", Action: "/center/tok", Query: "?lang=" + lang,
				Expires: at, Notice: tr.T("notice_accepted"), Error: tr.T("error_code"),
				Receipt: &receiptView{ID: "cr_1", Decision: consent.Accept, Verified: true},
				Consent: &consent.Status{
					Pending: []consent.Pending{{DocumentID: "doc_2", Kind: consent.KindTerms, Region: "JP", Version: "2", Phrases: allPhrases()}},
					Current: []consent.Current{{DocumentID: "doc_1", Kind: consent.KindTerms, Region: "JP", Version: "1", Decision: consent.Decline, At: at, ReceiptID: "cr_0"}},
				},
				TwoFA: &state, Secret: "JBSWY3DPEHPK3PXP", RecoveryCodes: []string{"aaaaa-bbbbb"},
				Reports: []centerReport{{ID: "r1", Steps: []warden.Notification{{Title: "Received", Body: "We got your report."}}}},
				AppReads: &clientperm.UserView{Days: 7, Total: 4, Permissions: []clientperm.PermissionView{{Permission: clientperm.Clipboard, Total: 4,
					Features: []clientperm.FeatureView{{Feature: "paste", Count: 4, WithGesture: 1, WithoutGesture: 3, InBackground: 2, Undeclared: 2, LastAt: at}}}}},
				Access: &centerAccess{Days: 30, Choices: centerDays, ByPurpose: []purposeCount{{Purpose: ledger.SafetyReview, N: 1}},
					Entries:  []ledger.Entry{{Time: at, Actor: ledger.Actor{Class: ledger.ClassVendor}, Purpose: ledger.SafetyReview, Ticket: "t-1", DataCategories: []string{"messages", "profile", "odd"}}},
					Requests: []datarequest.Request{{ID: "DR-1", Kind: datarequest.KindErasure, Status: datarequest.StatusReceived, DueAt: at, Overdue: true}}},
			}
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", "/center/tok", nil)
			if err := tc.execute(rec, req, 200, "center.html", "center", v); err != nil {
				t.Fatal(err)
			}
			page := rec.Body.String()
			if len(tr.missing) > 0 {
				t.Errorf("%s %+v: messages taken from English: %v", lang, state, tr.missing)
			}
			if !strings.Contains(page, fmt.Sprintf(`<html lang="%s">`, lang)) {
				t.Errorf("%s: no lang attribute", lang)
			}
			if !strings.Contains(page, want[lang]) {
				t.Errorf("%s: the page does not say %q", lang, want[lang])
			}
			if !strings.Contains(page, dates[lang]) {
				t.Errorf("%s: the page does not date %q", lang, dates[lang])
			}
			if strings.Contains(page, "<no value>") || strings.Contains(page, "phrase_") {
				t.Errorf("%s: a message is missing a field or an id shows:\n%s", lang, page)
			}
		}
		// The error page for a refused link.
		tr := newTranslator(b, tag)
		rec := httptest.NewRecorder()
		(&Center{c: tc.Console}).linkError(rec, httptest.NewRequest("GET", "/center/x", nil), tr, errLinkExpired)
		if rec.Code != 410 || len(tr.missing) > 0 || !strings.Contains(rec.Body.String(), tr.T("error_expired_title")) {
			t.Errorf("%s: expired link page %d, missing %v", lang, rec.Code, tr.missing)
		}
	}
}

// TestPickLanguage: ?lang= first (and a language outside the six is
// refused, naming the field), then Accept-Language, then the market.
func TestPickLanguage(t *testing.T) {
	cases := []struct {
		query, accept, region, want string
	}{
		{"", "", "JP", "ja"},
		{"", "", "MX", "es"},
		{"", "", "UK", "en"},
		{"", "", "*", "en"},
		{"", "fr-CA,fr;q=0.9", "JP", "fr"},
		{"", "pt-BR", "DE", "de"},
		{"ja", "de", "FR", "ja"},
		{"es-MX", "", "", "es"},
		{"id-ID", "", "US", "id"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/center/x?lang="+c.query, nil)
		if c.query == "" {
			r = httptest.NewRequest("GET", "/center/x", nil)
		}
		if c.accept != "" {
			r.Header.Set("Accept-Language", c.accept)
		}
		got, err := pickLanguage(r, c.region)
		if err != nil || got.String() != c.want {
			t.Errorf("lang=%q Accept-Language=%q region=%s: %v %v, want %s", c.query, c.accept, c.region, got, err, c.want)
		}
	}
	for _, bad := range []string{"pt", "xx-!!", "klingon", "tlh", "ms"} {
		r := httptest.NewRequest("GET", "/center/x?lang="+bad, nil)
		if _, err := pickLanguage(r, "JP"); warden.ErrorCode(err) != warden.EINVALID || !strings.Contains(err.Error(), "lang") {
			t.Errorf("lang=%s: %v", bad, err)
		}
	}
}

// TestNumbersAndPlurals: counts pick the plural form and carry the
// language's digit grouping.
func TestNumbersAndPlurals(t *testing.T) {
	b, _ := loadBundle()
	en := newTranslator(b, language.English)
	if got := en.Phrase(consent.Phrase{ID: consent.PhraseTextEdited, Count: 1}); got != "Wording edited (1 line changed)" {
		t.Errorf("one: %q", got)
	}
	if got := en.Phrase(consent.Phrase{ID: consent.PhraseTextEdited, Count: 1200}); got != "Wording edited (1,200 lines changed)" {
		t.Errorf("many: %q", got)
	}
	de := newTranslator(b, language.German)
	if got := de.Phrase(consent.Phrase{ID: consent.PhraseTextEdited, Count: 1200}); got != "Text überarbeitet (1.200 Zeilen geändert)" {
		t.Errorf("de: %q", got)
	}
	var buf bytes.Buffer
	buf.WriteString(newTranslator(b, language.Japanese).RegionName("JP"))
	if buf.String() != "日本" {
		t.Errorf("ja region name %q", buf.String())
	}
}

// TestCenterLinkRefused: an expired link gets a 410 page and a forged one a
// 404 page, each saying so in the reader's language, with nothing of the
// user.
func TestCenterLinkRefused(t *testing.T) {
	tc := newTestConsole(t, Options{})
	mac, err := sealed.OpenMac(t.TempDir(), "center.key")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ce := tc.MountCenter(CenterOptions{Mac: mac, Now: func() time.Time { return now }})
	link, _ := ce.Link(tc.srv.URL, "u9", "JP")
	now = now.Add(16 * time.Minute)
	get := func(u, accept string) (int, string) {
		req, _ := http.NewRequest("GET", u, nil)
		if accept != "" {
			req.Header.Set("Accept-Language", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(link, "en"); code != http.StatusGone || !strings.Contains(body, "This link has expired") || strings.Contains(body, "u9") {
		t.Errorf("expired link: %d\n%s", code, body)
	}
	if code, body := get(link, "de-DE"); code != http.StatusGone || !strings.Contains(body, "Dieser Link ist abgelaufen") || !strings.Contains(body, `lang="de"`) {
		t.Errorf("expired link in German: %d\n%s", code, body)
	}
	now = now.Add(-16 * time.Minute)
	forged := link[:len(link)-3] + "AAA"
	if code, body := get(forged, "ja"); code != http.StatusNotFound || !strings.Contains(body, "このリンクは無効です") {
		t.Errorf("forged link: %d\n%s", code, body)
	}
	if code, _ := get(link+"?lang=tlh", ""); code != http.StatusBadRequest {
		t.Errorf("unknown lang on a refused link: %d", code)
	}
}
