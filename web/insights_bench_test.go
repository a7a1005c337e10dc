package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/wardenhq/warden/internal/demo"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
	"github.com/wardenhq/warden/survey"
)

// BenchmarkInsightsPage is the trust page of the target (≤ 200 ms
// for 7 regions × 8 waves): GET /insights signed in as an admin, through
// the console's handler and a loopback HTTP connection, over eight waves
// of the demo's synthetic respondents in seven regions (per region and
// wave: respondents=N), with the demo's scammer, its victims' reports and
// its ban in the store (SQLite), so each request reads the platform's
// experience, computes the report (the trend of every wave and region;
// the current wave's indexes, changes, drivers with 200 bootstrap
// replicates and splits) and renders the charts and tables. As in serve,
// the stored waves are loaded once and kept, and with them the figures
// that depend on the waves alone (trust indexes, drivers): warm is every
// request after the first. cold is the first request after a start: a
// new reporter loads the eight waves from the store and computes all of
// it, then the page is rendered. cpu-ms/page is the process's CPU time
// per page (server and client), steadier than ms/page on a shared machine.
func BenchmarkInsightsPage(b *testing.B) {
	var names []string
	for i := range 8 {
		names = append(names, fmt.Sprintf("bench-2026-w%d", i+1))
	}
	for _, per := range []int{120, 1000} {
		b.Run(fmt.Sprintf("respondents=%d", per), func(b *testing.B) {
			tc, _, cl := insightsConsole(b, sqlstoretest.SQLite(b), demo.SurveyOptions{Seed: 5, PerRegion: per, Waves: names})
			get := func() int {
				resp, err := cl.Get(tc.srv.URL + "/insights")
				if err != nil {
					b.Fatal(err)
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
				return int(n)
			}
			size := get() // loads the waves, as the first request after a start does
			b.Run("warm", func(b *testing.B) {
				start, cpu := time.Now(), processCPU()
				for b.Loop() {
					get()
				}
				b.ReportMetric(time.Since(start).Seconds()*1000/float64(b.N), "ms/page")
				b.ReportMetric((processCPU()-cpu).Seconds()*1000/float64(b.N), "cpu-ms/page")
				b.ReportMetric(float64(size), "bytes/page")
			})
			b.Run("cold", func(b *testing.B) {
				req := httptest.NewRequest("GET", "/insights", nil)
				start, cpu := time.Now(), processCPU()
				for b.Loop() {
					v, err := trustView(context.Background(), survey.NewReporter(tc.db, insightsSalt), "", "", time.Now())
					if err != nil {
						b.Fatal(err)
					}
					if err := tc.Render(httptest.NewRecorder(), req, "insights.html", v); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(time.Since(start).Seconds()*1000/float64(b.N), "ms/page")
				b.ReportMetric((processCPU()-cpu).Seconds()*1000/float64(b.N), "cpu-ms/page")
			})
		})
	}
}

// processCPU is the CPU time this process has used (every thread: the
// handler, the client, the runtime): on a shared machine the wall clock
// also counts other processes' turns.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
