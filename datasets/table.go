// Package datasets converts public labeled bot-detection datasets into
// Warden's evaluation format (CONTRACT §5): a directory with accounts.csv and,
// where timelines exist, events.jsonl.gz. Every parser is strict: a row that
// does not fit the documented schema is an error naming the file and line,
// because a silently skipped row changes the numbers a reader compares.
package datasets

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// table reads a CSV file with a header, strictly: every row must have as many
// fields as the header.
type table struct {
	name string
	r    *csv.Reader
	idx  map[string]int
	rec  []string
}

func openTable(r io.Reader, name string, required ...string) (*table, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: the file is empty; expected a header row", name)
	}
	if err != nil {
		return nil, csvErr(name, err)
	}
	t := &table{name: name, r: cr, idx: make(map[string]int, len(head))}
	for i, h := range head {
		h = strings.TrimPrefix(h, "\ufeff")
		if _, dup := t.idx[h]; dup {
			return nil, fmt.Errorf("%s:1: column %q appears twice in the header", name, h)
		}
		t.idx[h] = i
	}
	for _, c := range required {
		if _, ok := t.idx[c]; !ok {
			return nil, fmt.Errorf("%s:1: the header has no column %q (it has %s)", name, c, strings.Join(head, ","))
		}
	}
	return t, nil
}

func csvErr(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s:%d: %v", name, pe.Line, pe.Err)
	}
	return fmt.Errorf("%s: %v", name, err)
}

// next reads the next row; it returns false at the end of the file.
func (t *table) next() (bool, error) {
	rec, err := t.r.Read()
	if err == io.EOF {
		return false, nil
	}
	if err != nil {
		return false, csvErr(t.name, err)
	}
	t.rec = rec
	return true, nil
}

// each calls fn for every row after the header, in file order, and stops
// at the first error.
func (t *table) each(fn func() error) error {
	for {
		ok, err := t.next()
		if err != nil || !ok {
			return err
		}
		if err := fn(); err != nil {
			return err
		}
	}
}

// accounts reads every row with row, and fails on an account id seen
// before or on a file with no rows.
func (t *table) accounts(row func() (Account, error)) ([]Account, error) {
	var out []Account
	seen := map[string]int{}
	err := t.each(func() error {
		a, err := row()
		if err != nil {
			return err
		}
		if prev, dup := seen[a["account"]]; dup {
			return t.errorf("account id %s already appeared on line %d", a["account"], prev)
		}
		seen[a["account"]] = t.line()
		out = append(out, a)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no accounts after the header", t.name)
	}
	return out, nil
}

// get returns column c of the current row, or "" when the file has no such
// column.
func (t *table) get(c string) string {
	i, ok := t.idx[c]
	if !ok {
		return ""
	}
	return t.rec[i]
}

func (t *table) has(c string) bool { _, ok := t.idx[c]; return ok }

func (t *table) line() int {
	l, _ := t.r.FieldPos(0)
	return l
}

// errorf reports a problem with the current row.
func (t *table) errorf(format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", t.name, t.line(), fmt.Sprintf(format, args...))
}

// count parses a non-negative integer count column; "" is unknown. Some
// exports write counts as floats ("12.0"), which are accepted when integral.
func (t *table) count(c string) (string, error) {
	s := strings.TrimSpace(t.get(c))
	if s == "" {
		return "", nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
		return strconv.FormatInt(n, 10), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f != float64(int64(f)) || f > 1e15 {
		return "", t.errorf("%s %q is not a non-negative whole number", c, clip(s))
	}
	return strconv.FormatInt(int64(f), 10), nil
}

// twitterTime is the layout of created_at in Twitter v1.1 objects.
const twitterTime = "Mon Jan 02 15:04:05 -0700 2006"

// parseTwitterTime converts a Twitter created_at ("Thu Mar 01 23:17:53 +0000
// 2007") to RFC 3339 UTC; "" stays unknown.
func parseTwitterTime(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	t, err := time.Parse(twitterTime, s)
	if err != nil {
		// Some exports already use RFC 3339 or "2006-01-02 15:04:05".
		if t2, err2 := time.Parse(time.RFC3339, s); err2 == nil {
			t = t2
		} else if t3, err3 := time.Parse(time.DateTime, s); err3 == nil {
			t = t3
		} else {
			return "", fmt.Errorf("created_at %q is not a Twitter time such as \"Thu Mar 01 23:17:53 +0000 2007\"", clip(s))
		}
	}
	if t.Year() < 2000 || t.Year() > 2100 {
		return "", fmt.Errorf("created_at %q is outside 2000..2100", clip(s))
	}
	return t.UTC().Format(time.RFC3339), nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Columns of accounts.csv, in the order the importers write them (CONTRACT §5).
var Columns = []string{"account", "label", "created_at", "screen_name", "name", "description",
	"followers_count", "friends_count", "statuses_count", "favourites_count", "listed_count",
	"verified", "default_profile", "default_profile_image", "geo_enabled", "lang", "location", "url", "protected"}

// Account is one row of accounts.csv, keyed by column name; an absent key or
// "" is unknown.
type Account map[string]string

// Summary says what an import wrote.
type Summary struct {
	Accounts int `json:"accounts"`
	Bots     int `json:"bots"`
	Humans   int `json:"humans"`
	Events   int `json:"events"`
}

func (s *Summary) add(a Account) {
	s.Accounts++
	if a["label"] == "bot" {
		s.Bots++
	} else {
		s.Humans++
	}
}

func writeAccounts(w io.Writer, accts []Account) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(Columns); err != nil {
		return err
	}
	row := make([]string, len(Columns))
	for _, a := range accts {
		for i, c := range Columns {
			row[i] = a[c]
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
