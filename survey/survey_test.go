package survey

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wardenhq/warden"
)

const testCodebook = `
region: region
platform_id: pid
weight: w
trust: trust
languages: [en, ja]
scales:
  agree5:
    min: 1
    max: 5
    missing: [99]
    labels:
      en: {1: Strongly disagree, 5: Strongly agree}
items:
  - name: trust
    scale: agree5
    labels: {en: "I trust this platform", ja: "このプラットフォームを信頼している"}
  - name: privacy
    scale: agree5
  - name: scams
    scale: agree5
    reverse: true
    labels: {en: "I often meet scams here"}
columns:
  - name: age
    levels: ["18-34", "35-54", "55+"]
    labels: {en: {"55+": "55 and over"}}
`

var testSalt = []byte("0123456789abcdef0123456789abcdef")

func fieldOf(err error) string {
	var e *warden.Error
	if errors.As(err, &e) && e.Code == warden.EINVALID {
		return e.Field
	}
	return ""
}

func TestParseWave(t *testing.T) {
	cb, err := ParseCodebook([]byte(testCodebook))
	if err != nil {
		t.Fatal(err)
	}
	if s := cb.Scales["agree5"]; s.TopBox != 2 {
		t.Errorf("top_box default %d", s.TopBox)
	}
	in := "region,pid,w,trust,privacy,scams,age\nJP,u1,1.5,4,5,2,18-34\nID,,0.5,99,,5,\n"
	w, err := ParseWave("2025-Q3", cb, strings.NewReader(in), testSalt)
	if err != nil {
		t.Fatal(err)
	}
	r := w.Respondents
	if len(r) != 2 || r[0].Region != "JP" || r[0].Weight != 1.5 || r[0].Answers["trust"] != 4 || r[0].Answers["scams"] != 4 || r[0].Attrs["age"] != "18-34" {
		t.Fatalf("%+v", r[0])
	}
	if _, ok := r[1].Answers["trust"]; ok || r[1].Answers["scams"] != 1 || r[1].PlatformHash != "" || r[1].Attrs != nil {
		t.Fatalf("%+v", r[1])
	}
	if r[0].PlatformHash != HashID(testSalt, "u1") || len(r[0].PlatformHash) != 64 || strings.Contains(r[0].PlatformHash, "u1") {
		t.Errorf("hash %q", r[0].PlatformHash)
	}
	if HashID([]byte("another salt of thirty-two bytes"), "u1") == r[0].PlatformHash {
		t.Error("the hash does not depend on the salt")
	}
}

func TestParseWaveRefuses(t *testing.T) {
	cb, err := ParseCodebook([]byte(testCodebook))
	if err != nil {
		t.Fatal(err)
	}
	head := "region,pid,w,trust,privacy,scams,age\n"
	for in, field := range map[string]string{
		head + "JP,u1,1,4,5,2,18-34\nXX,u2,1,4,5,2,18-34\n":                     "row 2, column region",
		head + "jp,u1,1,4,5,2,18-34\n":                                          "row 1, column region",
		head + "EU,u1,1,4,5,2,18-34\n":                                          "row 1, column region",
		head + "JP,u1,1,6,5,2,18-34\n":                                          "row 1, column trust",
		head + "JP,u1,1,4.5,5,2,18-34\n":                                        "row 1, column trust",
		head + "JP,u1,0,4,5,2,18-34\n":                                          "row 1, column w",
		head + "JP,u1,1,4,5,2,teen\n":                                           "row 1, column age",
		head + "JP,u1,1,4,5,2\n":                                                "line 2, column 1",
		"region,pid,w,trust,privacy,scams,age,email\nJP,u1,1,4,5,2,18-34,a@b\n": "row 0, column email",
		"region,pid,w,trust,privacy,age\nJP,u1,1,4,5,18-34\n":                   "row 0, column scams",
		head: "in",
	} {
		w, err := ParseWave("w1", cb, strings.NewReader(in), testSalt)
		if err == nil || w != nil {
			t.Errorf("%q accepted", in)
			continue
		}
		if f := fieldOf(err); f != field {
			t.Errorf("%q: field %q, want %q (%v)", in, f, field, err)
		}
	}
	if _, err := ParseWave("bad name!", cb, strings.NewReader(head), testSalt); fieldOf(err) != "wave" {
		t.Errorf("wave name: %v", err)
	}
	if _, err := ParseWave("w1", cb, strings.NewReader(head+"JP,u1,1,4,5,2,18-34\n"), nil); fieldOf(err) != "salt" {
		t.Errorf("no salt: %v", err)
	}
}

func TestParseCodebookRefuses(t *testing.T) {
	for name, c := range map[string]struct{ old, new, field string }{
		"unknown key":       {"trust: trust", "trust: trust\ncolour: red", "codebook"},
		"undefined scale":   {"scale: agree5\n  - name: scams", "scale: agree7\n  - name: scams", "items[1].scale"},
		"trust not an item": {"trust: trust", "trust: overall", "trust"},
		"duplicate item":    {"name: privacy", "name: scams", "items[2].name"},
		"item is a column":  {`name: age`, `name: trust`, "columns[0].name"},
		"label language":    {`ja: "この`, `fr: "この`, "items[0].labels.fr"},
		"label point":       {"5: Strongly agree", "6: Strongly agree", "scales.agree5.labels.en.6"},
		"missing on scale":  {"missing: [99]", "missing: [3]", "scales.agree5.missing[0]"},
		"empty scale":       {"max: 5", "max: 1", "scales.agree5"},
		"level label":       {`"55+": "55 and over"`, `"65+": "65 and over"`, "columns[0].labels.en"},
		"repeated level":    {`"35-54", "55+"`, `"35-54", "35-54"`, "columns[0].levels[2]"},
		"bad column name":   {"platform_id: pid", "platform_id: 'p id'", "platform_id"},
		"two documents":     {"trust: trust", "trust: trust\n---\nregion: x", "codebook"},
		"bad top box":       {"missing: [99]", "missing: [99]\n    top_box: 5", "scales.agree5.top_box"},
		"wrong type":        {"min: 1", "min: one", "codebook"},
		"no items":          {"items:", "items: []\nold_items:", "codebook"},
	} {
		if !strings.Contains(testCodebook, c.old) {
			t.Fatalf("%s: %q not in the codebook", name, c.old)
		}
		_, err := ParseCodebook([]byte(strings.Replace(testCodebook, c.old, c.new, 1)))
		if f := fieldOf(err); f != c.field {
			t.Errorf("%s: field %q, want %q (%v)", name, f, c.field, err)
		}
	}
	if _, err := ParseCodebook(nil); fieldOf(err) != "codebook" {
		t.Errorf("empty: %v", err)
	}
}

func TestEnsureSalt(t *testing.T) {
	p := filepath.Join(t.TempDir(), "d", SaltFile)
	a, err := EnsureSalt(p)
	if err != nil || len(a) != SaltSize {
		t.Fatal(a, err)
	}
	b, err := EnsureSalt(p)
	if err != nil || string(a) != string(b) {
		t.Fatal("a second call made a new salt", err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}
	os.WriteFile(p, []byte("short"), 0o600)
	if _, err := EnsureSalt(p); err == nil {
		t.Error("a short salt accepted")
	}
}

// FuzzParseCodebook: a codebook is refused with an invalid-input error
// naming a place, or it validates again after parsing (its trust item is an
// item, its items' scales exist).
func FuzzParseCodebook(f *testing.F) {
	f.Add([]byte(testCodebook))
	f.Add([]byte("trust: t\nscales: {s: {min: 0, max: 10}}\nitems: [{name: t, scale: s}]\n"))
	f.Add([]byte("items: [[]]"))
	f.Add([]byte("scales: {s: {labels: {en: {x: 1}}}}"))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cb, err := ParseCodebook(data)
		if err != nil {
			if cb != nil || fieldOf(err) == "" {
				t.Fatalf("error %v, codebook %v", err, cb)
			}
			return
		}
		if _, s, ok := cb.Item(cb.Trust); !ok || s.Max <= s.Min || s.TopBox < 1 {
			t.Fatalf("trust item %q: %v %+v", cb.Trust, ok, s)
		}
		if err := cb.validate(); err != nil {
			t.Fatalf("a parsed codebook fails validation: %v", err)
		}
	})
}

// FuzzParseWave: a wave file is refused with an error naming a row or
// column and no wave, or every respondent has a country code, a positive
// weight and answers on their items' scales.
func FuzzParseWave(f *testing.F) {
	cb, err := ParseCodebook([]byte(testCodebook))
	if err != nil {
		f.Fatal(err)
	}
	head := "region,pid,w,trust,privacy,scams,age\n"
	for _, s := range []string{head + "JP,u1,1.5,4,5,2,18-34\nID,,0.5,99,,5,\n", head + "XX,u,1,1,1,1,\n", head, "region\nJP\n", head + "JP,u1,1e308,5,5,5,55+\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		w, err := ParseWave("w", cb, strings.NewReader(in), testSalt)
		if err != nil {
			if w != nil || fieldOf(err) == "" {
				t.Fatalf("error %v, wave %v", err, w)
			}
			return
		}
		for _, r := range w.Respondents {
			if _, err := Region(r.Region); err != nil || !(r.Weight > 0) || (r.PlatformHash != "" && len(r.PlatformHash) != 64) {
				t.Fatalf("%+v", r)
			}
			for item, v := range r.Answers {
				_, s, ok := cb.Item(item)
				if !ok || v < float64(s.Min) || v > float64(s.Max) {
					t.Fatalf("%s = %g", item, v)
				}
			}
		}
	})
}
