package sinks

import (
	"fmt"

	"github.com/parquet-go/parquet-go/compress"
	pqgzip "github.com/parquet-go/parquet-go/compress/gzip"
	"github.com/parquet-go/parquet-go/compress/snappy"
	"github.com/parquet-go/parquet-go/compress/uncompressed"
	pqzstd "github.com/parquet-go/parquet-go/compress/zstd"
)

// Format names accepted by NewFormat.
const (
	FormatJSONL   = "jsonl"
	FormatCSV     = "csv"
	FormatParquet = "parquet"
)

// DefaultParquetRowGroupRows bounds a Parquet row group when
// FormatOptions.ParquetRowGroupRows is zero. A row group is buffered in
// memory until it is flushed, so this bounds the encoder's memory, not
// the file's size.
const DefaultParquetRowGroupRows = 100_000

// FormatOptions configures the formats built by NewFormat. Each format
// reads only the fields that concern it.
type FormatOptions struct {
	// ParquetCompression is the Parquet page codec: zstd (the default
	// when empty), snappy, gzip or none.
	ParquetCompression string
	// CSVEscapeFormulas prefixes CSV cells that a spreadsheet would run as
	// a formula with a single quote.
	CSVEscapeFormulas bool
	// ParquetRowGroupRows is the most rows in one Parquet row group; zero
	// means DefaultParquetRowGroupRows.
	ParquetRowGroupRows int
}

// NewFormat returns the format called name (jsonl, csv or parquet).
func NewFormat(name string, opts FormatOptions) (Format, error) {
	switch name {
	case FormatJSONL:
		return jsonlFormat{}, nil
	case FormatCSV:
		return csvFormat{escapeFormulas: opts.CSVEscapeFormulas}, nil
	case FormatParquet:
		return newParquetFormat(opts)
	}
	return nil, fmt.Errorf("sinks: unknown format %q (want %s, %s or %s)", name, FormatJSONL, FormatCSV, FormatParquet)
}

func newParquetFormat(opts FormatOptions) (Format, error) {
	codec, err := parquetCodec(opts.ParquetCompression)
	if err != nil {
		return nil, err
	}
	if opts.ParquetRowGroupRows < 0 {
		return nil, fmt.Errorf("sinks: parquet row group rows must not be negative, got %d", opts.ParquetRowGroupRows)
	}
	rows := int64(opts.ParquetRowGroupRows)
	if rows == 0 {
		rows = DefaultParquetRowGroupRows
	}
	return parquetFormat{codec: codec, rowGroupRows: rows}, nil
}

// parquetCodec maps a compression name of the contract to a page codec.
func parquetCodec(name string) (compress.Codec, error) {
	switch name {
	case "", "zstd":
		return &pqzstd.Codec{}, nil
	case "snappy":
		return &snappy.Codec{}, nil
	case "gzip":
		return &pqgzip.Codec{}, nil
	case "none":
		return &uncompressed.Codec{}, nil
	}
	return nil, fmt.Errorf("sinks: unknown parquet compression %q (want zstd, snappy, gzip or none)", name)
}
