package consent

import (
	"strings"
	"testing"

	"github.com/wardenhq/warden"
)

func TestDecodeDocumentRefusals(t *testing.T) {
	ok := `{"kind":"terms","region":"JP","version":"1","text":"t","declares":{"purposes":["a"],"controller":"C","contact":"c@x"}}`
	if _, err := DecodeDocument([]byte(ok)); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		`{"kind":"eula","region":"JP","version":"1","text":"t","declares":{}}`:                                                      "kind",
		`{"kind":"terms","region":"EU","version":"1","text":"t","declares":{}}`:                                                     "region",
		`{"kind":"terms","region":"JP","version":"","text":"t","declares":{}}`:                                                      "version",
		`{"kind":"terms","region":"JP","version":"1","text":"  ","declares":{}}`:                                                    "text",
		`{"kind":"terms","region":"JP","version":"1","text":"t"}`:                                                                   "declares",
		`{"kind":"terms","region":"JP","version":"1","text":"t","declares":{"controller":"C"}}`:                                     "declares.contact",
		`{"kind":"terms","region":"JP","version":"1","text":"t","declares":{"purposes":["a","A"],"controller":"C","contact":"c"}}`:  "declares.purposes[1]",
		`{"kind":"terms","region":"JP","version":"1","text":"t","declares":{"recipients":["x\ny"],"controller":"C","contact":"c"}}`: "declares.recipients[0]",
		`{"kind":"terms","region":"JP","version":"1","text":"t","declares":{"controller":"C","contact":"c","extra":1}}`:             "extra", // DecodeStrict names an unknown key without its path
		`{"kind":"terms","region":"JP","version":"1","text":"t","declares":{"controller":"C","contact":"c"},"url":"x"}`:             "url",
	}
	for body, field := range cases {
		_, err := DecodeDocument([]byte(body))
		we, isErr := err.(*warden.Error)
		if !isErr || we.Code != warden.EINVALID || we.Field != field {
			t.Errorf("%s: %v, want invalid %s", body, err, field)
		}
	}
}

func TestDecodeDecisionRefusals(t *testing.T) {
	for body, field := range map[string]string{
		`{"document_id":"d","decision":"maybe","collection_method":"x"}`:             "decision",
		`{"document_id":"","decision":"accept","collection_method":"x"}`:             "document_id",
		`{"document_id":"d","decision":"accept"}`:                                    "collection_method",
		`{"document_id":"d","decision":"accept","collection_method":"x","user":"u"}`: "user",
	} {
		_, err := DecodeDecision([]byte(body))
		if we, ok := err.(*warden.Error); !ok || we.Field != field {
			t.Errorf("%s: %v, want %s", body, err, field)
		}
	}
}

// FuzzDecodeDocument: no input panics; a refused one is a *warden.Error
// and yields no request; an accepted one is valid and normalised.
func FuzzDecodeDocument(f *testing.F) {
	f.Add(`{"kind":"terms","region":"JP","version":"1","text":"t","declares":{"purposes":["a"],"controller":"C","contact":"c@x"}}`)
	f.Add(`{"kind":"privacy_policy","region":"*","version":" 2 ","text":"x\ny","declares":{"purposes":[" a ","b"],"data_categories":[],"recipients":["r"],"retention":"1y","controller":"C","contact":"c"}}`)
	f.Add(`{"kind":"terms","kind":"terms"}`)
	f.Add(`[]`)
	f.Add(`{"declares":{"purposes":[1]}}`)
	f.Fuzz(func(t *testing.T, body string) {
		r, err := DecodeDocument([]byte(body))
		if err != nil {
			if _, ok := err.(*warden.Error); !ok {
				t.Fatalf("%T %v is not a *warden.Error", err, err)
			}
			if r.Declares != nil || r.Kind != "" {
				t.Fatal("a refused document returned a request")
			}
			return
		}
		if r.Declares == nil || r.Version != strings.TrimSpace(r.Version) || r.Declares.Controller == "" {
			t.Fatalf("accepted but not valid: %+v", r)
		}
		if err := r.validate(); err != nil {
			t.Fatalf("accepted, then refused on a second look: %v", err)
		}
	})
}

func FuzzDecodeDecision(f *testing.F) {
	f.Add(`{"document_id":"doc_1","decision":"accept","collection_method":"banner"}`)
	f.Add(`{"document_id":"doc_1","decision":"decline","collection_method":" x "}`)
	f.Add(`{"document_id":1}`)
	f.Fuzz(func(t *testing.T, body string) {
		r, err := DecodeDecision([]byte(body))
		if err != nil {
			if _, ok := err.(*warden.Error); !ok {
				t.Fatalf("%T %v is not a *warden.Error", err, err)
			}
			if r != (DecisionRequest{}) {
				t.Fatal("a refused decision returned a request")
			}
			return
		}
		if (r.Decision != Accept && r.Decision != Decline) || r.DocumentID == "" || r.CollectionMethod == "" {
			t.Fatalf("accepted but not valid: %+v", r)
		}
	})
}
