package httpapi_test

import (
	"slices"
	"testing"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/consent"
	"github.com/wardenhq/warden/httpapi"
)

func TestDecodeCenterRequest(t *testing.T) {
	for body, want := range map[string]string{``: "*", ` `: "*", `{}`: "*", `{"region":"JP"}`: "JP", `{"region":"*"}`: "*"} {
		if got, err := httpapi.DecodeCenterRequest([]byte(body)); err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", body, got, err, want)
		}
	}
	for _, body := range []string{`{"region":"GB"}`, `{"region":1}`, `{"lang":"ja"}`, `[]`, `{"region":"JP"}x`} {
		if _, err := httpapi.DecodeCenterRequest([]byte(body)); warden.ErrorCode(err) != warden.EINVALID {
			t.Errorf("%q: %v, want invalid", body, err)
		}
	}
}

// FuzzDecodeCenterRequest checks the decoder never panics and accepts only
// a region documents are kept for.
func FuzzDecodeCenterRequest(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"region":"JP"}`, `{"region":"*"}`, `{"region":"JP","region":"US"}`, `{"region":"\u0000"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := httpapi.DecodeCenterRequest(b)
		if err == nil && !slices.Contains(consent.Regions, r) {
			t.Errorf("accepted region %q", r)
		}
		if err != nil && r != "" {
			t.Errorf("refused body returned %q", r)
		}
	})
}
