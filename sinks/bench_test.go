package sinks

import (
	"io"
	"testing"

	"github.com/saas-export/export/schema"
)

// BenchmarkEncode measures the encoders alone, on 100k realistic rows
// written in pages of 250 rows as a source delivers them:
//
//	go test ./sinks -run '^$' -bench BenchmarkEncode -benchmem
func BenchmarkEncode(b *testing.B) {
	const pageRows = 250
	rows := realisticRows(100_000)
	s := schema.V1(false)
	for _, name := range allFormats {
		b.Run(name, func(b *testing.B) {
			f := mustFormat(b, name, FormatOptions{})
			b.ReportAllocs()
			for b.Loop() {
				enc, err := f.NewEncoder(io.Discard, s)
				if err != nil {
					b.Fatal(err)
				}
				for page := rows; len(page) > 0; page = page[min(pageRows, len(page)):] {
					if err := enc.Write(page[:min(pageRows, len(page))]); err != nil {
						b.Fatal(err)
					}
				}
				if err := enc.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(rows))/b.Elapsed().Seconds(), "records/s")
		})
	}
}
