package messaging_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/wardenhq/warden/messaging"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
	"github.com/wardenhq/warden/survey"
)

var benchSalt = []byte("0123456789abcdef0123456789abcdef")

// BenchmarkAssign: one GET /v1/messages/assignment's work behind the
// HTTP layer, the experiments read from SQLite each time (built-in plus
// one stored), the user's id pseudonymised and hashed into an arm.
func BenchmarkAssign(b *testing.B) {
	db := sqlstoretest.SQLite(b)
	svc := messaging.New(db, benchSalt)
	ctx := context.Background()
	br := messaging.Experiment{ID: "br", Seed: 1, Messages: []messaging.Message{{Regions: []string{"BR"}, Variants: []messaging.Variant{{ID: "b", Text: "Hi."}}}}}
	if _, err := svc.Put(ctx, br, "bench"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := svc.Assign(ctx, fmt.Sprintf("user-%d", i), "US"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResults100k: the results of the built-in experiment in a wave
// of 100,000 respondents over seven regions, all with a platform id.
func BenchmarkResults100k(b *testing.B) {
	cb, err := survey.ParseCodebook([]byte("platform_id: pid\ntrust: trust\nscales: {agree5: {min: 1, max: 5}}\nitems: [{name: trust, scale: agree5}]\n"))
	if err != nil {
		b.Fatal(err)
	}
	var sb strings.Builder
	sb.WriteString("region,pid,trust\n")
	regions := []string{"US", "GB", "MX", "JP", "FR", "DE", "ID"}
	for i := range 100_000 {
		fmt.Fprintf(&sb, "%s,u%d,%d\n", regions[i%7], i, 1+i%5)
	}
	w, err := survey.ParseWave("bench", cb, strings.NewReader(sb.String()), benchSalt)
	if err != nil {
		b.Fatal(err)
	}
	e := messaging.Defaults()[0]
	b.ResetTimer()
	for b.Loop() {
		messaging.Analyze(&e, w)
	}
}
