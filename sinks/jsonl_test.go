package sinks

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/saas-export/export/schema"
)

const rfc3339Micro = "2006-01-02T15:04:05.999999Z07:00"

func TestJSONLGolden(t *testing.T) {
	out := encode(t, mustFormat(t, FormatJSONL, FormatOptions{}), schema.V1(true), fixtureRows(), 0)
	checkGolden(t, "users.jsonl", out)
}

// TestJSONLValues decodes every line independently of the encoder and
// checks each column: key order, null, lists, bools, timestamps, raw.
func TestJSONLValues(t *testing.T) {
	for _, includeRaw := range []bool{false, true} {
		s := schema.V1(includeRaw)
		rows := fixtureRows()
		out := encode(t, mustFormat(t, FormatJSONL, FormatOptions{}), s, rows, 0)
		if !bytes.HasSuffix(out, []byte("\n")) {
			t.Fatalf("output does not end with a newline")
		}
		lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		if len(lines) != len(rows) {
			t.Fatalf("got %d lines, want %d", len(lines), len(rows))
		}
		for i, line := range lines {
			if keys := jsonKeys(t, line); !reflect.DeepEqual(keys, columnNames(s)) {
				t.Errorf("row %d keys = %v, want %v", i, keys, columnNames(s))
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(line), &got); err != nil {
				t.Fatalf("row %d: %v\n%s", i, err, line)
			}
			for _, c := range s.Columns {
				if want := wantJSON(&rows[i], c); !reflect.DeepEqual(got[c.Name], want) {
					t.Errorf("row %d %s = %#v, want %#v", i, c.Name, got[c.Name], want)
				}
			}
		}
	}
}

func columnNames(s *schema.Schema) []string {
	names := make([]string, len(s.Columns))
	for i, c := range s.Columns {
		names[i] = c.Name
	}
	return names
}

// jsonKeys returns the top-level keys of a JSON object in order.
func jsonKeys(t *testing.T, obj string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(obj))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object (%v): %s", err, obj)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%v in %s", err, obj)
		}
		keys = append(keys, tok.(string))
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			t.Fatalf("%v in %s", err, obj)
		}
	}
	return keys
}

// wantJSON is a column's value as encoding/json decodes the line.
func wantJSON(u *schema.User, c schema.Column) any {
	switch c.Type {
	case schema.String:
		if c.ID == schema.ColRaw {
			if u.Raw == nil {
				return nil
			}
			return string(u.Raw)
		}
		if v := u.StringValue(c.ID); v.Valid {
			return v.V
		}
	case schema.StringList:
		list := u.ListValue(c.ID)
		if list == nil {
			return nil
		}
		out := make([]any, len(list))
		for i, s := range list {
			out[i] = s
		}
		return out
	case schema.Bool:
		if v := u.BoolValue(c.ID); v.Valid {
			return v.V
		}
	case schema.Timestamp:
		if v := u.TimeValue(c.ID); v.Valid {
			return v.V.UTC().Format(rfc3339Micro)
		}
	}
	return nil
}

func TestJSONLBatchingDoesNotChangeOutput(t *testing.T) {
	f := mustFormat(t, FormatJSONL, FormatOptions{})
	rows := append(fixtureRows(), realisticRows(500)...)
	whole := encode(t, f, schema.V1(true), rows, 0)
	single := encode(t, f, schema.V1(true), rows, 1)
	if !bytes.Equal(whole, single) {
		t.Error("writing rows one at a time gives other bytes than one batch")
	}
}

func TestJSONLNoRows(t *testing.T) {
	if out := encode(t, mustFormat(t, FormatJSONL, FormatOptions{}), schema.V1(false), nil, 0); len(out) != 0 {
		t.Errorf("got %q, want an empty file", out)
	}
}

func TestAppendJSONString(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", `""`},
		{"plain", `"plain"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"nl\ncr\rtab\tbs\bff\f", `"nl\ncr\rtab\tbs\bff\f"`},
		{"\x00\x01\x1f\x7f", `"\u0000\u0001\u001f` + "\x7f" + `"`},
		{"<b>&</b>", `"<b>&</b>"`},
		{"héllo 日本 🎉", `"héllo 日本 🎉"`},
		{"\u2028\u2029", "\"\u2028\u2029\""},
		{"bad \xff utf8 \xe2\x82", `"bad \ufffd utf8 \ufffd\ufffd"`},
	}
	for _, tt := range tests {
		got := string(appendJSONString(nil, tt.in))
		if got != tt.want {
			t.Errorf("appendJSONString(%q) = %s, want %s", tt.in, got, tt.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("appendJSONString(%q) = %s is not valid JSON", tt.in, got)
		}
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Fatal(err)
		}
		if utf8.ValidString(tt.in) && back != tt.in {
			t.Errorf("appendJSONString(%q) decodes to %q", tt.in, back)
		}
	}
}

// TestAppendJSONStringMatchesEncodingJSON checks random strings against
// encoding/json, which escapes more (HTML, U+2028) but must decode to the
// same value.
func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("ab,\"\\\n\r\t\x00\x1f é日🎉<>&\u2028")
	for range 2000 {
		n := r.IntN(12)
		rs := make([]rune, n)
		for i := range rs {
			rs[i] = alphabet[r.IntN(len(alphabet))]
		}
		in := string(rs)
		var got, want string
		if err := json.Unmarshal(appendJSONString(nil, in), &got); err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		b, _ := json.Marshal(in)
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("%q decodes to %q, encoding/json to %q", in, got, want)
		}
	}
}

func TestAppendTimestampMatchesTimeFormat(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	fixed := []time.Time{
		time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2023, 1, 1, 0, 0, 0, 123456789, time.UTC),
		time.Date(2023, 1, 1, 0, 0, 0, 100000000, time.UTC),
		time.Date(2023, 1, 1, 0, 0, 0, 1000, time.UTC),
		time.Date(2023, 1, 1, 0, 0, 0, 999, time.UTC), // below a microsecond
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2020, 2, 29, 23, 30, 0, 0, time.FixedZone("", -3*3600)),
	}
	for i := range 5000 {
		tm := time.Unix(r.Int64N(253402300800)-62135596800, r.Int64N(1e9))
		if i < len(fixed) {
			tm = fixed[i]
		}
		got, err := appendTimestamp(nil, tm)
		if err != nil {
			t.Fatalf("%v: %v", tm, err)
		}
		if want := tm.UTC().Format(rfc3339Micro); string(got) != want {
			t.Fatalf("appendTimestamp(%v) = %s, want %s", tm, got, want)
		}
	}
}

func TestTimestampOutsideRFC3339IsAnError(t *testing.T) {
	for _, name := range []string{FormatJSONL, FormatCSV} {
		u := realisticRows(1)
		u[0].CreatedAt = ts(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))
		enc, err := mustFormat(t, name, FormatOptions{}).NewEncoder(io.Discard, schema.V1(false))
		if err != nil {
			t.Fatal(err)
		}
		err = enc.Write(u)
		if err == nil || !strings.Contains(err.Error(), "created_at") {
			t.Errorf("%s: error = %v, want one naming created_at", name, err)
		}
	}
}

// TestJSONLLinesAreIndependent reads the golden output with a line
// scanner, as a JSONL consumer does: no value may contain a raw newline.
func TestJSONLLinesAreIndependent(t *testing.T) {
	out := encode(t, mustFormat(t, FormatJSONL, FormatOptions{}), schema.V1(true), fixtureRows(), 0)
	sc := bufio.NewScanner(bytes.NewReader(out))
	n := 0
	for sc.Scan() {
		if !json.Valid(sc.Bytes()) {
			t.Errorf("line %d is not valid JSON: %s", n+1, sc.Text())
		}
		n++
	}
	if n != len(fixtureRows()) {
		t.Errorf("got %d lines, want %d", n, len(fixtureRows()))
	}
}
