package quality_test

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/quality"
)

// FuzzParseQuery: any query either parses, with since a time it said, or
// is refused as invalid naming rule or since.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"", "rule=scam_dm", "since=2026-06-01", "since=2026-06-01T10:00:00Z&rule=a", "since=yesterday", "rule=a%20b", "rule=%00"} {
		f.Add(s)
	}
	now := time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		rule, since, err := quality.ParseQuery(q, now)
		if err != nil {
			var we *warden.Error
			if !errors.As(err, &we) || we.Code != warden.EINVALID || (we.Field != "rule" && we.Field != "since") {
				t.Fatalf("%q: error %v is not an invalid rule or since", raw, err)
			}
			return
		}
		if rule != q.Get("rule") {
			t.Fatalf("%q: rule %q", raw, rule)
		}
		if q.Get("since") == "" && !since.Equal(now.Add(-quality.DefaultWindow)) {
			t.Fatalf("%q: default since %v", raw, since)
		}
	})
}
