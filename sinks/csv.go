package sinks

import (
	"fmt"
	"io"

	"github.com/saas-export/export/schema"
)

// csvFormat writes RFC 4180 CSV with a header row of column names and LF
// line ends (readers of RFC 4180, encoding/csv, DuckDB, pandas and Excel
// among them, accept LF as well as CRLF).
//
// A null is an empty unquoted field and an empty string is a quoted "",
// so the two stay distinct for readers that tell them apart (DuckDB
// does). Other values are written unchanged: timestamps as RFC 3339, bools
// as true/false, lists as JSON arrays (a null list is an empty field, an
// empty one []), the raw column as its JSON text.
type csvFormat struct {
	escapeFormulas bool
}

func (csvFormat) Name() string { return FormatCSV }
func (csvFormat) Ext() string  { return "csv" }

func (csvFormat) ContentType() string { return "text/csv; charset=utf-8" }

func (f csvFormat) NewEncoder(w io.Writer, s *schema.Schema) (Encoder, error) {
	e := &csvEncoder{w: w, cols: s.Columns, escapeFormulas: f.escapeFormulas, buf: make([]byte, 0, textBufferSize)}
	// The header goes out with the first rows, or on Close for a file with
	// none, so that creating an encoder has no side effect on w.
	for i, c := range s.Columns {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = appendCSVField(e.buf, "", c.Name)
	}
	e.buf = append(e.buf, '\n')
	return e, nil
}

type csvEncoder struct {
	w              io.Writer
	cols           []schema.Column
	escapeFormulas bool
	buf            []byte // reused across rows and calls
	list           []byte // scratch for a list's JSON text
}

func (e *csvEncoder) Write(rows []schema.User) error {
	for i := range rows {
		b, err := e.appendRow(e.buf, &rows[i])
		if err != nil {
			return err // e.buf still ends at the last complete row
		}
		e.buf = b
		if len(e.buf) >= flushThreshold {
			if err := e.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close hands on the rows Write gathered, or the header alone if no row
// was written: an empty export is still a valid CSV file with its columns
// named.
func (e *csvEncoder) Close() error { return e.flush() }

func (e *csvEncoder) flush() error {
	if len(e.buf) == 0 {
		return nil
	}
	_, err := e.w.Write(e.buf)
	e.buf = e.buf[:0]
	return err
}

func (e *csvEncoder) appendRow(b []byte, u *schema.User) ([]byte, error) {
	for i := range e.cols {
		c := &e.cols[i] // not a copy: this runs some 25 times a row
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = e.appendValue(b, u, c); err != nil {
			return b, fmt.Errorf("csv: user %q, column %s: %w", u.ID, c.Name, err)
		}
	}
	return append(b, '\n'), nil
}

// appendValue appends one column of u as a CSV field.
func (e *csvEncoder) appendValue(b []byte, u *schema.User, c *schema.Column) ([]byte, error) {
	switch c.Type {
	case schema.String:
		if c.ID == schema.ColRaw {
			if u.Raw == nil {
				return b, nil
			}
			return e.appendString(b, bytesString(u.Raw)), nil
		}
		v := u.StringValue(c.ID)
		if !v.Valid {
			return b, nil
		}
		return e.appendString(b, v.V), nil
	case schema.StringList:
		list := u.ListValue(c.ID)
		if list == nil {
			return b, nil
		}
		e.list = appendJSONList(e.list[:0], list)
		return appendCSVField(b, "", bytesString(e.list)), nil
	case schema.Bool:
		v := u.BoolValue(c.ID)
		if !v.Valid {
			return b, nil
		}
		return appendBool(b, v.V), nil
	case schema.Timestamp:
		v := u.TimeValue(c.ID)
		if !v.Valid {
			return b, nil
		}
		return appendTimestamp(b, v.V)
	}
	return b, fmt.Errorf("unsupported column type %s", c.Type)
}

// appendString appends a present string value: "" quoted so that it is
// not read as null, and, when asked, a cell a spreadsheet would take for a
// formula defused with a leading single quote (the OWASP advice for CSV
// injection).
func (e *csvEncoder) appendString(b []byte, s string) []byte {
	if s == "" {
		return append(b, '"', '"')
	}
	if e.escapeFormulas && startsFormula(s) {
		return appendCSVField(b, "'", s)
	}
	return appendCSVField(b, "", s)
}

// startsFormula reports whether a spreadsheet would evaluate a cell that
// starts like s.
func startsFormula(s string) bool {
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	return false
}

// appendCSVField appends prefix (empty, or a quote-free marker) and s as
// one CSV field, quoted when it holds a comma, quote, CR or LF, or starts
// or ends with a space or tab that a reader might trim. Inner quotes are
// doubled.
func appendCSVField(b []byte, prefix, s string) []byte {
	if !csvNeedsQuotes(s, prefix != "") {
		b = append(b, prefix...)
		return append(b, s...)
	}
	b = append(b, '"')
	b = append(b, prefix...)
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, s[start:i+1]...)
			b = append(b, '"')
			start = i + 1
		}
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// csvNeedsQuotes reports whether s, written after a prefix when
// prefixed, must be quoted.
func csvNeedsQuotes(s string, prefixed bool) bool {
	if s == "" {
		return false
	}
	if isBlank(s[len(s)-1]) || (!prefixed && isBlank(s[0])) {
		return true
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ',', '"', '\r', '\n':
			return true
		}
	}
	return false
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }
