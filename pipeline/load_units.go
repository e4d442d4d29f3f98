package pipeline

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/saas-export/export/sources/httpsource"
)

const (
	rateWant = "a rate like 100/1m or 10/s (requests per period)"
	sizeWant = "a size like 16MiB, 512KiB, 1GB or a number of bytes"
)

func (d *decoder) setRate(dst *httpsource.Rate, v value) {
	s, ok := d.text(v, rateWant)
	if !ok {
		return
	}
	r, ok := parseRate(s)
	if !ok {
		d.typeError(v, rateWant, s)
		return
	}
	*dst = r
}

// parseRate reads N/PERIOD: a positive count and a Go duration, whose
// leading 1 may be left out (10/s is 10/1s).
func parseRate(s string) (httpsource.Rate, bool) {
	count, period, ok := strings.Cut(s, "/")
	if !ok {
		return httpsource.Rate{}, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(count))
	if err != nil || n < 1 {
		return httpsource.Rate{}, false
	}
	period = strings.TrimSpace(period)
	if period != "" && (period[0] < '0' || period[0] > '9') {
		period = "1" + period
	}
	per, err := time.ParseDuration(period)
	if err != nil || per <= 0 {
		return httpsource.Rate{}, false
	}
	return httpsource.Rate{N: n, Per: per}, true
}

// S3 limits: the size of a part of a multipart upload, the tags on one
// object. maxUploadConcurrency bounds the parts in flight at once per
// destination, each of which holds a part in memory.
const (
	minPartSize          = 5 << 20
	maxPartSize          = 5 << 30
	maxS3Tags            = 10
	maxUploadConcurrency = 64
)

// setIntRange sets an integer between lo and hi.
func (d *decoder) setIntRange(dst *int, v value, lo, hi int64) {
	n, ok := d.integer(v, lo)
	switch {
	case !ok:
	case n > hi:
		d.errorf(v, "must be at most %d, got %d", hi, n)
	default:
		*dst = int(n)
	}
}

func (d *decoder) setPartSize(dst *int64, v value) {
	s, ok := d.text(v, sizeWant)
	if !ok {
		return
	}
	n, ok := parseSize(s)
	switch {
	case !ok:
		d.typeError(v, sizeWant, s)
	case n < minPartSize || n > maxPartSize:
		d.errorf(v, "must be between 5MiB and 5GiB (the S3 limits on a part), got %q", s)
	default:
		*dst = n
	}
}

var (
	sizeText  = regexp.MustCompile(`^([0-9]+) ?([KMGT]i?B|B)?$`)
	sizeUnits = map[string]int64{
		"": 1, "B": 1,
		"KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
		"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
	}
)

// parseSize reads a byte count with an optional SI (KB, MB) or binary
// (KiB, MiB) unit.
func parseSize(s string) (int64, bool) {
	m := sizeText.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	unit := sizeUnits[m[2]]
	if err != nil || n > math.MaxInt64/unit {
		return 0, false
	}
	return n * unit, true
}
