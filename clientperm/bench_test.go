package clientperm_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden/clientperm"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// permissionTarget is issue 13's goal: permission records per second, in
// batches, durable.
const permissionTarget = 100_000

// BenchmarkPermissionRecords measures the whole path of POST
// /v1/client/permissions but HTTP: decode and check a batch of 10,000
// records (the largest allowed) of 1,000 users, pseudonymise them, check
// them against the manifest and commit them in one durable transaction
// (SQLite synchronous=FULL, PostgreSQL with its default fsync), indexes
// included. It reports records/s and x_target, the ratio to the target of
// 100,000 records/s.
func BenchmarkPermissionRecords(b *testing.B) {
	for _, backend := range []struct {
		name string
		open func(testing.TB) *sqlstore.DB
	}{{"sqlite", sqlstoretest.SQLite}, {"postgres", sqlstoretest.Postgres}} {
		b.Run(backend.name, func(b *testing.B) {
			db := backend.open(b)
			s := newService(b, db)
			ctx := context.Background()
			if _, err := s.PutManifest(ctx, nil, clientperm.Manifest{AppVersion: "5.2.0", Features: []clientperm.Feature{
				{Feature: "paste_link", Permissions: []clientperm.Use{{Permission: clientperm.Clipboard, Trigger: clientperm.TriggerUserGesture}}}}}); err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			var sb strings.Builder
			sb.WriteString(`{"records":[`)
			features := []string{"paste_link", "search_suggest", "scan_qr"}
			perms := []string{clientperm.Clipboard, clientperm.Clipboard, clientperm.Camera}
			for i := range clientperm.MaxRecords {
				if i > 0 {
					sb.WriteByte(',')
				}
				fmt.Fprintf(&sb, `{"user":"user%d","app_version":"5.2.0","permission":%q,"feature":%q,"trigger":"user_gesture","foreground":true,"count":%d,"time":%q}`,
					i%1000, perms[i%3], features[i%3], 1+i%4, now.Add(-time.Duration(i)*time.Second).UTC().Format(time.RFC3339))
			}
			sb.WriteString(`]}`)
			body := []byte(sb.String())
			b.SetBytes(int64(len(body)))
			b.ResetTimer()
			for b.Loop() {
				recs, err := clientperm.DecodeRecords(body, now)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.Record(ctx, recs); err != nil {
					b.Fatal(err)
				}
			}
			rate := float64(b.N*clientperm.MaxRecords) / b.Elapsed().Seconds()
			b.ReportMetric(rate, "records/s")
			b.ReportMetric(rate/permissionTarget, "x_target")
		})
	}
}
