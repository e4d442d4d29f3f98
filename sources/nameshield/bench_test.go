package nameshield

import (
	"fmt"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sinks"
	"github.com/saas-export/export/sources/httpsource"
	"github.com/saas-export/export/sources/simdata"
)

// BenchmarkNormalizeEncode measures the CPU path of an export after the
// network: decode and normalize a page of 500 users as the API sends them,
// then encode the rows in each format. Run with:
//
//	go test ./sources/nameshield -run '^$' -bench NormalizeEncode -benchmem
func BenchmarkNormalizeEncode(b *testing.B) {
	const pageSize = 500
	rec := httptest.NewRecorder()
	Simulator(&simdata.People{N: pageSize, Seed: 1}).ServeHTTP(rec,
		httptest.NewRequest("GET", fmt.Sprintf("/user/v1/users?limit=%d&offset=0", pageSize), nil))
	if rec.Code != 200 {
		b.Fatalf("simulator: HTTP %d", rec.Code)
	}
	body := rec.Body.Bytes()
	job := jobForBench()
	for _, name := range []string{sinks.FormatJSONL, sinks.FormatCSV, sinks.FormatParquet} {
		b.Run(name, func(b *testing.B) {
			f, err := sinks.NewFormat(name, sinks.FormatOptions{ParquetCompression: "zstd"})
			if err != nil {
				b.Fatal(err)
			}
			enc, err := f.NewEncoder(io.Discard, schema.V1(false))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				page, err := decodePage(job, body, 0, pageSize)
				if err != nil {
					b.Fatal(err)
				}
				if err := enc.Write(page.Users); err != nil {
					b.Fatal(err)
				}
			}
			if err := enc.Close(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N*pageSize)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

func jobForBench() httpsource.Job {
	return httpsource.Job{Name: "bench", ExtractedAt: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)}
}
