package sinks

import (
	"io"
	"testing"

	"github.com/saas-export/export/schema"
)

// BenchmarkEncode measures the encoders alone, on 100k realistic rows
// written in pages of 250 rows as a source delivers them, and the text
// formats through each codec:
//
//	go test ./sinks -run '^$' -bench BenchmarkEncode -benchmem
func BenchmarkEncode(b *testing.B) {
	const pageRows = 250
	rows := realisticRows(100_000)
	s := schema.V1(false)
	type variant struct{ format, codec string }
	variants := []variant{{"parquet", "none"}} // compressed inside, zstd by default
	for _, name := range allFormats {
		if name != "parquet" {
			variants = append(variants, variant{name, "none"}, variant{name, "gzip"}, variant{name, "zstd"})
		}
	}
	for _, v := range variants {
		b.Run(v.format+"/"+v.codec, func(b *testing.B) {
			f := mustFormat(b, v.format, FormatOptions{})
			c, err := lookupCompression(v.codec)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				var w io.Writer = io.Discard
				var zw io.WriteCloser
				if c.wrap != nil {
					if zw, err = c.wrap(io.Discard); err != nil {
						b.Fatal(err)
					}
					w = zw
				}
				enc, err := f.NewEncoder(w, s)
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
				if zw != nil {
					if err := zw.Close(); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.N*len(rows))/b.Elapsed().Seconds(), "records/s")
		})
	}
}
