package survey_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/insights"
	"github.com/wardenhq/warden/internal/demo"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
	"github.com/wardenhq/warden/survey"
)

// TestReporterIsAnalyzeTrust: a Reporter over a store gives, for every
// wave and region, and again on a second call (from what it keeps), the
// report AnalyzeTrust computes from the waves; bad input is refused
// naming the field, an unknown wave is not found.
func TestReporterIsAnalyzeTrust(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		salt := []byte("0123456789abcdef0123456789abcdef")
		names := []string{"r-1", "r-2", "r-3"}
		ws, err := demo.SyntheticWaves(names, 30, 7, salt)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range ws {
			if err := db.SaveWave(ctx, w); err != nil {
				t.Fatal(err)
			}
		}
		rp := survey.NewReporter(db, salt)
		opt := insights.DriverOptions{Seed: 1, Bootstrap: 20}
		for _, c := range []struct{ wave, region, at, want string }{
			{"", "", "r-3", ""}, {"r-1", "", "r-1", ""}, {"r-2", "JP", "r-2", "JP"}, {"r-3", "UK", "r-3", "GB"},
		} {
			at := map[string]int{"r-1": 0, "r-2": 1, "r-3": 2}[c.at]
			want, err := survey.AnalyzeTrust(ws, at, c.want, map[string]survey.Experience{}, opt)
			if err != nil {
				t.Fatal(err)
			}
			wb, _ := json.Marshal(want)
			for i := range 2 {
				got, err := rp.Report(ctx, c.wave, c.region, opt)
				if err != nil {
					t.Fatal(err)
				}
				if gb, _ := json.Marshal(got); string(gb) != string(wb) {
					t.Fatalf("wave %q region %q, call %d: the reporter's report differs from AnalyzeTrust's", c.wave, c.region, i+1)
				}
			}
		}
		for _, c := range []struct{ wave, region, code, field string }{
			{"nope", "", warden.ENOTFOUND, ""}, {"a b", "", warden.EINVALID, "wave"}, {"", "XX", warden.EINVALID, "region"},
			{"", "jp", warden.EINVALID, "region"}, {"", "BR", warden.EINVALID, "region"},
		} {
			_, err := rp.Report(ctx, c.wave, c.region, opt)
			var e *warden.Error
			if warden.ErrorCode(err) != c.code || (c.field != "" && (!errors.As(err, &e) || e.Field != c.field)) {
				t.Errorf("wave %q region %q: %v, want %s on %q", c.wave, c.region, err, c.code, c.field)
			}
		}
	})
}
