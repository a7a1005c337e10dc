package quality

import (
	"context"
	"net/url"
	"time"
	"unicode"

	"github.com/wardenhq/warden"
)

// DefaultWindow is the window of a report whose query names no since.
const DefaultWindow = 30 * 24 * time.Hour

// Query is Report for a query's ?rule= and ?since= (see ParseQuery): the
// API's call and the console's page.
func (s *Service) Query(ctx context.Context, q url.Values) (*Report, error) {
	rule, since, err := ParseQuery(q, s.opt.Now())
	if err != nil {
		return nil, err
	}
	return s.Report(ctx, rule, since)
}

// ParseQuery reads a report's ?rule= (one rule, "" for all) and ?since=
// (RFC 3339 or YYYY-MM-DD, UTC; DefaultWindow before now if absent), the
// API's and the console's.
func ParseQuery(q url.Values, now time.Time) (rule string, since time.Time, err error) {
	rule = q.Get("rule")
	if len(rule) > 128 {
		return "", since, warden.FieldErrorf("rule", "rule names are at most 128 characters")
	}
	for _, c := range rule {
		if !unicode.IsPrint(c) || unicode.IsSpace(c) {
			return "", since, warden.FieldErrorf("rule", "rule %q is not a rule name: it has a space or a control character", rule)
		}
	}
	v := q.Get("since")
	if v == "" {
		return rule, now.Add(-DefaultWindow), nil
	}
	if since, err = time.Parse(time.RFC3339, v); err == nil {
		return rule, since, nil
	}
	if since, err = time.Parse(time.DateOnly, v); err == nil {
		return rule, since, nil
	}
	return "", since, warden.FieldErrorf("since", "since %q must be an RFC 3339 time (2026-01-02T15:04:05Z) or a day (2026-01-02)", v)
}
