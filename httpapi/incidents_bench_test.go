package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/httpapi"
	"github.com/wardenhq/warden/incident"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// BenchmarkReportIntake measures POST /v1/reports over loopback HTTP, 16
// concurrent clients, each report durable with its receipt before the 201.
// Reports fall on 2,000 subjects, so most join an open case.
func BenchmarkReportIntake(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchReports(b, sqlstoretest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchReports(b, sqlstoretest.Postgres(b)) })
}

const benchClients = 64

func benchReports(b *testing.B, db *sqlstore.DB) {
	api := httpapi.New(httpapi.Options{DB: db})
	svc, err := incident.New(context.Background(), incident.Options{DB: db})
	if err != nil {
		b.Fatal(err)
	}
	httpapi.RegisterIncidents(api, svc)
	secret, _, _ := db.CreateKey(context.Background(), warden.RoleApp, "")
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchClients}}
	run := fmt.Sprintf("r%d", benchRun.Add(1))
	b.ResetTimer()
	postConcurrently(b, client, srv.URL+"/v1/reports", secret, benchClients, b.N, 201, func(i int) string {
		return fmt.Sprintf(`{"reporter":"%s-u%d","subject":{"kind":"account","id":"%s-s%d"},"category":"scam","description":"asked for money"}`, run, i, run, i%2000)
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
	if batches, reports := svc.IntakeStats(); batches > 0 {
		b.ReportMetric(float64(reports)/float64(batches), "reports/commit")
	}
}
