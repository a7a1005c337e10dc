package survey

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wardenhq/warden"
)

// notesWave is a small wave in JP and ID for notes to explain.
func notesWave(t testing.TB) *Wave {
	t.Helper()
	cb, err := ParseCodebook([]byte(testCodebook))
	if err != nil {
		t.Fatal(err)
	}
	w, err := ParseWave("2026-Q3", cb, strings.NewReader("region,pid,w,trust,privacy,scams,age\nJP,u1,1,2,3,4,18-34\nJP,u2,1,3,3,4,55+\nID,u3,1,5,4,4,35-54\nID,,1,4,4,2,\n"), testSalt)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

const goodNotes = "ref,region,segment,themes,quote,experience\n" +
	"JP-01,JP,low,privacy;control,\"I never know who sees my messages, so I keep them short.\",\n" +
	"ID-01,ID,high,scams,\"A fake seller was gone the day after I reported it.\",report_outcome=actioned\n" +
	"JP-02,UK,medium, transparency ,The rules feel written for lawyers.,age=55+\n"

// TestParseNotes: a valid file reads into tagged notes (UK is GB, theme
// cells trimmed); the experience column is optional.
func TestParseNotes(t *testing.T) {
	w := notesWave(t)
	w.Respondents = append(w.Respondents, Respondent{Row: 5, Region: "GB", Weight: 1, Answers: map[string]float64{"trust": 3}})
	notes, err := ParseNotes(w, DefaultThemes(), strings.NewReader(goodNotes))
	if err != nil {
		t.Fatal(err)
	}
	want := []Note{
		{Wave: "2026-Q3", Ref: "JP-01", Region: "JP", Segment: "low", Themes: []string{"privacy", "control"}, Quote: "I never know who sees my messages, so I keep them short."},
		{Wave: "2026-Q3", Ref: "ID-01", Region: "ID", Segment: "high", Themes: []string{"scams"}, Experience: "report_outcome=actioned", Quote: "A fake seller was gone the day after I reported it."},
		{Wave: "2026-Q3", Ref: "JP-02", Region: "GB", Segment: "medium", Themes: []string{"transparency"}, Experience: "age=55+", Quote: "The rules feel written for lawyers."},
	}
	if !reflect.DeepEqual(notes, want) {
		t.Fatalf("got %+v\nwant %+v", notes, want)
	}
	if _, err := ParseNotes(w, DefaultThemes(), strings.NewReader("ref,region,segment,themes,quote\nX1,ID,high,bots,Fewer fake followers lately.\n")); err != nil {
		t.Fatalf("without experience: %v", err)
	}
}

// TestParseNotesRefuses: every bad input is an error naming the row and
// column (or the header), and no note comes back.
func TestParseNotesRefuses(t *testing.T) {
	w := notesWave(t)
	head := "ref,region,segment,themes,quote\n"
	ok := "A1,JP,low,privacy,They sell our data I think.\n"
	for _, tc := range []struct{ name, in, field, says string }{
		{"unknown column", "ref,region,segment,themes,quote,name\nA1,JP,low,privacy,x,Ann\n", "row 0, column name", "not a notes column"},
		{"missing column", "ref,region,segment,quote\nA1,JP,low,x\n", "row 0, column themes", "needs a column"},
		{"no rows", head, "in", "no notes"},
		{"bad ref", head + "A 1,JP,low,privacy,x\n", "row 1, column ref", "a ref is"},
		{"ref twice", head + ok + "A1,JP,low,privacy,Another one.\n", "row 2, column ref", "used twice"},
		{"region not ISO", head + ok + "A2,XX,low,privacy,x\n", "row 2, column region", "not an ISO 3166-1"},
		{"region lower case", head + "A2,jp,low,privacy,x\n", "row 1, column region", "two capital letters"},
		{"region not in wave", head + "A2,FR,low,privacy,x\n", "row 1, column region", "no respondents in FR"},
		{"segment", head + "A2,JP,lowish,privacy,x\n", "row 1, column segment", "low, medium or high"},
		{"no theme", head + "A2,JP,low,,x\n", "row 1, column themes", "1 to 5 themes"},
		{"theme not in vocabulary", head + "A2,JP,low,privacy;weather,x\n", "row 1, column themes", `"weather" is not a theme`},
		{"theme twice", head + "A2,JP,low,privacy;privacy,x\n", "row 1, column themes", "twice"},
		{"too many themes", head + "A2,JP,low,privacy;scams;bots;control;safety;moderation,x\n", "row 1, column themes", "1 to 5"},
		{"experience group", "ref,region,segment,themes,quote,experience\nA2,JP,low,privacy,x,mood=sad\n", "row 1, column experience", "GROUP=LEVEL"},
		{"experience level", "ref,region,segment,themes,quote,experience\nA2,JP,low,privacy,x,exposed_to_actioned=maybe\n", "row 1, column experience", "not a level"},
		{"empty quote", head + "A2,JP,low,privacy,\n", "row 1, column quote", "empty"},
		{"long quote", head + "A2,JP,low,privacy," + strings.Repeat("a", MaxQuoteRunes+1) + "\n", "row 1, column quote", "over 1000"},
		{"control character", head + "A2,JP,low,privacy,\"a\x07b\"\n", "row 1, column quote", "control"},
		{"ragged row", head + "A2,JP,low\n", "line 2", "number of cells"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			notes, err := ParseNotes(w, DefaultThemes(), strings.NewReader(tc.in))
			if notes != nil || err == nil {
				t.Fatalf("accepted: %v", notes)
			}
			if f := fieldOf(err); !strings.HasPrefix(f, tc.field) {
				t.Errorf("field %q, want %q (%v)", f, tc.field, err)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("%q does not say %q", err, tc.says)
			}
		})
	}
}

// TestNotesRefusePersonalData: a quote with an e-mail address, a phone
// number, a link or bare domain, an @handle or a long number is refused,
// naming the row and the kind; paraphrases with short numbers and dates
// pass.
func TestNotesRefusePersonalData(t *testing.T) {
	w := notesWave(t)
	for quote, kind := range map[string]string{
		"Write to me at ann.lee@example.com":         "e-mail",
		"He called me from +81 90-1234-5678":         "phone",
		"See https://scam.example/claim for details": "link",
		"The shop was at bestdeals.shop/prizes":      "web address",
		"www.claim-now.top asked for my card":        "link",
		"Ask @kenji_t, he lost money too":            "@handle",
		"My order 2026123 never arrived":             "long number",
		"Card ending 4111111111111111 was charged":   "",
	} {
		in := "ref,region,segment,themes,quote\nA1,JP,low,scams,\"" + quote + "\"\n"
		_, err := ParseNotes(w, DefaultThemes(), strings.NewReader(in))
		if err == nil {
			t.Errorf("%q accepted", quote)
			continue
		}
		if fieldOf(err) != "row 1, column quote" || !strings.Contains(err.Error(), "personal data") || !strings.Contains(err.Error(), kind) {
			t.Errorf("%q: %v", quote, err)
		}
	}
	for _, quote := range []string{
		"I got 3 scam messages in 2 weeks and nobody answered.",
		"Since 2026-05-01 the fake accounts are fewer, maybe 10 a day.",
		"I'd pay 500 yen a month for a feed without bots.",
		"The e.g. examples in the policy are confusing.",
	} {
		in := "ref,region,segment,themes,quote\nA1,JP,low,scams,\"" + quote + "\"\n"
		if _, err := ParseNotes(w, DefaultThemes(), strings.NewReader(in)); err != nil {
			t.Errorf("%q refused: %v", quote, err)
		}
	}
}

// TestCheckNotes: notes sent as JSON are checked as rows are, the error
// naming notes[i].field; a note of another wave is refused.
func TestCheckNotes(t *testing.T) {
	w := notesWave(t)
	good := Note{Ref: "A1", Region: "JP", Segment: "low", Themes: []string{"privacy"}, Quote: "They keep too much."}
	got, err := CheckNotes(w, DefaultThemes(), []Note{good})
	if err != nil || len(got) != 1 || got[0].Wave != w.Name {
		t.Fatalf("%+v %v", got, err)
	}
	bad := good
	bad.Ref, bad.Quote = "A2", "mail me: a@b.co"
	if _, err := CheckNotes(w, DefaultThemes(), []Note{good, bad}); fieldOf(err) != "notes[1].quote" {
		t.Errorf("pii: %v", err)
	}
	other := good
	other.Wave = "2025-Q1"
	if _, err := CheckNotes(w, DefaultThemes(), []Note{other}); fieldOf(err) != "notes[0].wave" {
		t.Errorf("other wave: %v", err)
	}
	if _, err := CheckNotes(w, DefaultThemes(), nil); fieldOf(err) != "notes" {
		t.Errorf("none: %v", err)
	}
}

// TestSegment: on a 1..5 scale with top-2-box, 1-2 are low, 3 medium, 4-5
// high; on 0..10 with top_box 3, 8-10 are high and 0-2 low.
func TestSegment(t *testing.T) {
	five := Scale{Min: 1, Max: 5, TopBox: 2}
	for v, want := range map[int]string{1: "low", 2: "low", 3: "medium", 4: "high", 5: "high"} {
		if got := Segment(five, v); got != want {
			t.Errorf("%d: %s, want %s", v, got, want)
		}
	}
	eleven := Scale{Min: 0, Max: 10, TopBox: 3}
	for v, want := range map[int]string{0: "low", 2: "low", 3: "medium", 7: "medium", 8: "high"} {
		if got := Segment(eleven, v); got != want {
			t.Errorf("0..10 %d: %s, want %s", v, got, want)
		}
	}
}

// TestSegmentShares: the notes wave's JP respondents answered 2 and 3
// (low and medium), ID's 5 and 4 (both high).
func TestSegmentShares(t *testing.T) {
	w := notesWave(t)
	if got := SegmentShares(w, "JP"); !reflect.DeepEqual(got, map[string]float64{"low": 0.5, "medium": 0.5}) {
		t.Errorf("JP %v", got)
	}
	if got := SegmentShares(w, "ID"); !reflect.DeepEqual(got, map[string]float64{"high": 1}) {
		t.Errorf("ID %v", got)
	}
	if got := SegmentShares(w, "FR"); got != nil {
		t.Errorf("FR %v", got)
	}
}

// TestLoadThemes: the data directory's file adds themes; a theme listed
// twice (across the files) or a bad name is refused naming the place.
func TestLoadThemes(t *testing.T) {
	dir := t.TempDir()
	v, err := LoadThemes(filepath.Join(dir, ThemesFile))
	if err != nil || !v.Has("privacy") || v.Has("payments") {
		t.Fatalf("built-in: %v %v", v, err)
	}
	path := filepath.Join(dir, ThemesFile)
	os.WriteFile(path, []byte("themes:\n  - {name: payments, description: fees and refunds}\n"), 0o600)
	if v, err = LoadThemes(path); err != nil || !v.Has("payments") || !v.Has("scams") {
		t.Fatalf("extended: %v %v", v, err)
	}
	for body, field := range map[string]string{
		"themes:\n  - {name: privacy, description: again}\n":    "themes[0].name",
		"themes:\n  - {name: Pay Ments, description: x}\n":      "themes[0].name",
		"themes:\n  - {name: pay}\n":                            "themes[0].description",
		"themes:\n  - {name: pay, description: x, colour: 1}\n": "themes",
	} {
		os.WriteFile(path, []byte(body), 0o600)
		if _, err := LoadThemes(path); fieldOf(err) != field {
			t.Errorf("%q: %v, want field %s", body, err, field)
		}
	}
}

// FuzzParseNotes: whatever the file, ParseNotes returns notes that pass
// the checks again (no personal data among them) or an *warden.Error, and
// never panics.
func FuzzParseNotes(f *testing.F) {
	w := notesWave(f)
	f.Add(goodNotes)
	f.Add("ref,region,segment,themes,quote\nA1,JP,low,privacy,call 555 0100 9999\n")
	f.Add("ref,region\n\"a\nb\",JP\n")
	themes := DefaultThemes()
	f.Fuzz(func(t *testing.T, in string) {
		notes, err := ParseNotes(w, themes, strings.NewReader(in))
		if err != nil {
			if warden.ErrorCode(err) != warden.EINVALID || warden.ErrorMessage(err) == "" {
				t.Fatalf("error %v", err)
			}
			return
		}
		for _, n := range notes {
			if kind := notePersonalData(n.Quote); kind != "" {
				t.Fatalf("accepted %q carrying %s", n.Quote, kind)
			}
		}
		if _, err := CheckNotes(w, themes, notes); err != nil {
			t.Fatalf("accepted notes fail the JSON check: %v", err)
		}
	})
}

// FuzzParseThemes: a vocabulary file is read or refused with an error,
// never a panic, and a read one has valid, distinct names.
func FuzzParseThemes(f *testing.F) {
	f.Add(string(builtinThemes))
	f.Add("themes: [{name: a, description: b}, {name: a, description: c}]")
	f.Fuzz(func(t *testing.T, in string) {
		v, err := ParseThemes([]byte(in))
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, th := range v.Themes {
			if !themeName.MatchString(th.Name) || seen[th.Name] {
				t.Fatalf("accepted %q", th.Name)
			}
			seen[th.Name] = true
		}
	})
}

// BenchmarkParseNotes10k: the largest import, 10,000 notes, read and
// checked (personal data among it).
func BenchmarkParseNotes10k(b *testing.B) {
	w := notesWave(b)
	var sb strings.Builder
	sb.WriteString("ref,region,segment,themes,quote,experience\n")
	for i := range MaxNotes {
		sb.WriteString("N-" + strconv.Itoa(i) + ",JP,low,privacy;scams,\"I never know who reads my messages, so I keep them short and say little about myself.\",exposed_to_actioned=yes\n")
	}
	in := sb.String()
	themes := DefaultThemes()
	b.SetBytes(int64(len(in)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := ParseNotes(w, themes, strings.NewReader(in)); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzCheckNotes: a POST /v1/insights/notes body is decoded strictly and
// checked: notes come back valid and free of personal data, or the error
// is an *warden.Error a person can act on; never a panic.
func FuzzCheckNotes(f *testing.F) {
	w := notesWave(f)
	themes := DefaultThemes()
	f.Add(`{"wave": "2026-Q3", "notes": [{"ref": "A1", "region": "JP", "segment": "low", "themes": ["privacy"], "quote": "They keep too much."}]}`)
	f.Add(`{"wave": "2026-Q3", "notes": [{"ref": "A1", "region": "UK", "segment": "high", "themes": ["bots", "bots"], "quote": "x@y.io"}]}`)
	f.Add(`{"notes": [{"ref": "", "themes": null}], "extra": 1}`)
	f.Fuzz(func(t *testing.T, body string) {
		var b NotesBody
		if err := warden.DecodeStrict([]byte(body), &b); err != nil {
			return
		}
		notes, err := CheckNotes(w, themes, b.Notes)
		if err != nil {
			if warden.ErrorCode(err) != warden.EINVALID || warden.ErrorMessage(err) == "" {
				t.Fatalf("error %v", err)
			}
			return
		}
		for _, n := range notes {
			if n.Wave != w.Name || notePersonalData(n.Quote) != "" || !slices.Contains(Segments, n.Segment) {
				t.Fatalf("accepted %+v", n)
			}
		}
	})
}
