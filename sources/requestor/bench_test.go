package requestor

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/saas-export/export/sources/httpsource"
	"github.com/saas-export/export/sources/simdata"
)

// BenchmarkDecodePage measures decoding and normalizing a page of 500
// users as the simulator sends them in JSON (indented, as the API does),
// the costliest decode of the five providers:
//
//	go test ./sources/requestor -run '^$' -bench DecodePage -benchmem
func BenchmarkDecodePage(b *testing.B) {
	const pageSize = 500
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", Endpoint, strings.NewReader(`{"PageIndex": 0, "PageSize": 500}`))
	req.Header.Set("Content-Type", "application/json")
	Simulator(&simdata.People{N: pageSize, Seed: 1}).ServeHTTP(rec, req)
	if rec.Code != 200 {
		b.Fatalf("simulator: HTTP %d: %s", rec.Code, rec.Body)
	}
	body := rec.Body.Bytes()
	job := httpsource.Job{Name: "bench", ExtractedAt: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		page, err := decodePage(job, body, 0, pageSize)
		if err != nil {
			b.Fatal(err)
		}
		if len(page.Users) != pageSize {
			b.Fatalf("%d users, want %d", len(page.Users), pageSize)
		}
	}
}
