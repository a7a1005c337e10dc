package sqlstore_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
	"github.com/wardenhq/warden/survey"
)

const storeCodebook = `
platform_id: pid
weight: w
trust: trust
scales: {agree5: {min: 1, max: 5}}
items: [{name: trust, scale: agree5}, {name: privacy, scale: agree5, reverse: true}]
columns: [{name: age, levels: [young, old]}]
`

// TestSurveyWaveStore: a wave of 1,200 respondents (more than one insert
// batch) comes back as it was stored, on both databases; a second import
// under the same name is refused and changes nothing; no clear platform id
// is stored.
func TestSurveyWaveStore(t *testing.T) {
	cb, err := survey.ParseCodebook([]byte(storeCodebook))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("region,pid,w,trust,privacy,age\n")
	for i := range 1200 {
		pid, age := fmt.Sprintf("acct-%d", i), []string{"young", "old", ""}[i%3]
		if i%4 == 0 {
			pid = ""
		}
		fmt.Fprintf(&b, "%s,%s,%g,%d,%d,%s\n", []string{"US", "JP", "ID"}[i%3], pid, 0.5+float64(i%7)/4, 1+i%5, 1+i%4, age)
	}
	salt := []byte("a salt of at least thirty-two bytes")
	w, err := survey.ParseWave("2025-Q3", cb, strings.NewReader(b.String()), salt)
	if err != nil {
		t.Fatal(err)
	}
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		if _, err := db.Wave(ctx, "2025-Q3"); warden.ErrorCode(err) != warden.ENOTFOUND {
			t.Fatalf("before import: %v", err)
		}
		if err := db.SaveWave(ctx, w); err != nil {
			t.Fatal(err)
		}
		got, err := db.Wave(ctx, "2025-Q3")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Respondents, w.Respondents) || !reflect.DeepEqual(got.Codebook, w.Codebook) {
			t.Fatalf("stored wave differs: %+v vs %+v", got.Respondents[:2], w.Respondents[:2])
		}
		again := *w
		again.Respondents = w.Respondents[:3]
		if err := db.SaveWave(ctx, &again); warden.ErrorCode(err) != warden.ECONFLICT {
			t.Fatalf("second import: %v", err)
		}
		infos, err := db.Waves(ctx)
		if err != nil || len(infos) != 1 || infos[0].Respondents != 1200 {
			t.Fatalf("waves %+v %v", infos, err)
		}
		var clear int
		if err := db.Reader.GetContext(ctx, &clear, `SELECT COUNT(*) FROM survey_respondents WHERE platform_hash LIKE '%acct%' OR answers LIKE '%acct%'`); err != nil || clear != 0 {
			t.Fatalf("clear platform ids stored: %d %v", clear, err)
		}
	})
}
