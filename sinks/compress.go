package sinks

import (
	"fmt"
	"io"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// zstdStreamWindow is the zstd window of a text file. The default (8 MiB)
// keeps 12 MiB of history per file, the largest buffer of a job's output;
// a row repeats what rows near it hold (a domain, a date, a language), not
// what a row megabytes back held, so files grow by a fraction of a per cent.
const zstdStreamWindow = 1 << 20

// compression is a whole-file codec for the text formats.
type compression struct {
	suffix      string // appended to the file name, with its dot; "" for none
	contentType string // of the compressed file; "" for none
	// wrap returns a writer compressing into w; nil for none.
	wrap func(w io.Writer) (io.WriteCloser, error)
}

// lookupCompression returns the codec called name: gzip, zstd, or none
// (also the empty name). Both write the same bytes for the same input,
// as the contract's byte-identical reruns need: the gzip header carries no
// name and a zero modification time. zstd runs with concurrency 1: the
// output then cannot depend on the machine's GOMAXPROCS, it spends no
// more memory per file, and no goroutine outlives an aborted file. Both
// at their fastest level, since compression was the largest cost of an
// export: zstd's takes about half the CPU and half the memory of its
// default level, for files a few per cent larger; gzip's (level 1) about
// half the CPU of level 5, for JSONL files 15 per cent larger on the
// simulator's users. zstd's lower-memory mode keeps a history of the
// window and one block (1.1 MiB) instead of twice the window, for the
// same bytes (checked on the simulator's CSV and JSONL).
func lookupCompression(name string) (compression, error) {
	switch name {
	case "", "none":
		return compression{}, nil
	case "gzip":
		return compression{suffix: ".gz", contentType: "application/gzip", wrap: func(w io.Writer) (io.WriteCloser, error) {
			zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
			if err != nil {
				return nil, err
			}
			// klauspost writes a zero ModTime as its truncated Unix time, not
			// as 0 (no time) as compress/gzip does: say 0 explicitly.
			zw.ModTime = time.Unix(0, 0)
			return zw, nil
		}}, nil
	case "zstd":
		return compression{suffix: ".zst", contentType: "application/zstd", wrap: func(w io.Writer) (io.WriteCloser, error) {
			return zstd.NewWriter(w, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedFastest),
				zstd.WithWindowSize(zstdStreamWindow), zstd.WithLowerEncoderMem(true))
		}}, nil
	}
	return compression{}, fmt.Errorf("sinks: unknown compression %q (want gzip, zstd or none)", name)
}
