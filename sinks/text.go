package sinks

import (
	"fmt"
	"time"
	"unicode/utf8"
	"unsafe"
)

// This file holds the value renderings that JSONL and CSV share. They
// append to a caller's buffer so that encoding a row allocates nothing.

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. UTF-8 is kept as is;
// quotes, backslashes and control characters are escaped, and invalid
// UTF-8 bytes become U+FFFD (as encoding/json does), so the output is
// always valid JSON. HTML characters are not escaped: the output is
// data, not markup.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0 // s[start:i] is pending, needing no escape
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			b = appendJSONEscape(b, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendJSONEscape appends the escape sequence of an ASCII byte that JSON
// does not allow unescaped inside a string.
func appendJSONEscape(b []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	case '\b':
		return append(b, '\\', 'b')
	case '\f':
		return append(b, '\\', 'f')
	}
	return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}

// appendJSONList appends a list of strings as a JSON array, or null for a
// nil list, so that [] and null stay distinct.
func appendJSONList(b []byte, list []string) []byte {
	if list == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, "true"...)
	}
	return append(b, "false"...)
}

// appendTimestamp appends t in RFC 3339 form, in UTC, truncated to the
// microsecond with trailing zeros of the fraction dropped:
// 2023-01-01T00:00:00Z, 2023-01-01T00:00:00.1234Z. It is the layout
// "2006-01-02T15:04:05.999999Z07:00" written by hand, because
// time.AppendFormat is several times slower on the hot path. Years
// outside 0000-9999 have no RFC 3339 form and are an error.
func appendTimestamp(b []byte, t time.Time) ([]byte, error) {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return b, fmt.Errorf("timestamp %s is outside the years 0000-9999 that RFC 3339 can write", t)
	}
	hour, minute, second := t.Clock()
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, minute, 2)
	b = append(b, ':')
	b = appendDigits(b, second, 2)
	if micros := t.Nanosecond() / 1000; micros != 0 {
		width := 6
		for micros%10 == 0 {
			micros /= 10
			width--
		}
		b = append(b, '.')
		b = appendDigits(b, micros, width)
	}
	return append(b, 'Z'), nil
}

// appendDigits appends the non-negative v zero-padded to width digits; v
// must have at most width digits.
func appendDigits(b []byte, v, width int) []byte {
	n := len(b) + width
	b = append(b, "000000"[:width]...)
	for i := n - 1; v > 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return b
}

// bytesString views b as a string without copying, so that the raw
// column, which User carries as []byte, goes through the same string
// escapers as the other columns without an allocation per row. The
// escapers only read their input and keep no reference to it.
func bytesString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
