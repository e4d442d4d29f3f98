package sinks

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/saas-export/export/schema"
)

func TestCSVGolden(t *testing.T) {
	tests := []struct {
		golden string
		opts   FormatOptions
	}{
		{"users.csv", FormatOptions{}},
		{"users_escape_formulas.csv", FormatOptions{CSVEscapeFormulas: true}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			out := encode(t, mustFormat(t, FormatCSV, tt.opts), schema.V1(true), fixtureRows(), 0)
			checkGolden(t, tt.golden, out)
		})
	}
}

// TestCSVRoundTrip reads the output back with encoding/csv and checks the
// header and every field.
func TestCSVRoundTrip(t *testing.T) {
	for _, includeRaw := range []bool{false, true} {
		s := schema.V1(includeRaw)
		rows := append(fixtureRows(), realisticRows(50)...)
		out := encode(t, mustFormat(t, FormatCSV, FormatOptions{}), s, rows, 7)
		records, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(records) != len(rows)+1 {
			t.Fatalf("got %d records, want a header and %d rows", len(records), len(rows))
		}
		if !reflect.DeepEqual(records[0], columnNames(s)) {
			t.Errorf("header = %v, want %v", records[0], columnNames(s))
		}
		for i, rec := range records[1:] {
			for j, c := range s.Columns {
				// encoding/csv turns CRLF into LF even inside quotes; the
				// golden file shows the CRLF kept in the bytes.
				want := strings.ReplaceAll(wantCSV(&rows[i], c), "\r\n", "\n")
				if rec[j] != want {
					t.Errorf("row %d %s = %q, want %q", i, c.Name, rec[j], want)
				}
			}
		}
	}
}

// wantCSV is a column's value as encoding/csv reads it: it cannot tell a
// null from "", which TestCSVNullAndEmpty checks on the bytes.
func wantCSV(u *schema.User, c schema.Column) string {
	switch c.Type {
	case schema.StringList:
		if list := u.ListValue(c.ID); list != nil {
			b, _ := json.Marshal(list)
			return string(b)
		}
		return ""
	case schema.String:
		if c.ID == schema.ColRaw {
			return string(u.Raw)
		}
		return u.StringValue(c.ID).V
	}
	v := wantJSON(u, c)
	switch v := v.(type) {
	case nil:
		return ""
	case bool:
		if v {
			return "true"
		}
		return "false"
	}
	return v.(string)
}

// TestCSVFields checks single fields on the bytes: null and "" differ,
// and quoting happens exactly when needed.
func TestCSVFields(t *testing.T) {
	key := schema.V1(false).Columns[schema.ColKey]
	phones := schema.V1(false).Columns[schema.ColPhones]
	active := schema.V1(false).Columns[schema.ColActive]
	s := &schema.Schema{Version: 1, Columns: []schema.Column{key, phones, active}}
	tests := []struct {
		name   string
		key    schema.Null[string]
		phones []string
		active schema.Null[bool]
		want   string
	}{
		{"nulls are empty fields", schema.Null[string]{}, nil, schema.Null[bool]{}, ",,\n"},
		{"empty string and list", str(""), []string{}, schema.Some(false), `"",[],false` + "\n"},
		{"plain", str("abc"), []string{"x"}, schema.Some(true), `abc,"[""x""]",true` + "\n"},
		{"comma", str("a,b"), nil, schema.Null[bool]{}, `"a,b",,` + "\n"},
		{"quote", str(`say "hi"`), nil, schema.Null[bool]{}, `"say ""hi""",,` + "\n"},
		{"lone quote", str(`"`), nil, schema.Null[bool]{}, `"""",,` + "\n"},
		{"LF", str("a\nb"), nil, schema.Null[bool]{}, "\"a\nb\",,\n"},
		{"CR", str("a\rb"), nil, schema.Null[bool]{}, "\"a\rb\",,\n"},
		{"leading space", str(" a"), nil, schema.Null[bool]{}, `" a",,` + "\n"},
		{"trailing tab", str("a\t"), nil, schema.Null[bool]{}, "\"a\t\",,\n"},
		{"inner space", str("a b"), nil, schema.Null[bool]{}, "a b,,\n"},
		{"non-ASCII unchanged", str("é日🎉"), []string{"é"}, schema.Null[bool]{}, `é日🎉,"[""é""]",` + "\n"},
		{"formula unchanged by default", str("=1+1"), nil, schema.Null[bool]{}, "=1+1,,\n"},
		{"list with comma only", str("a"), []string{"a", "b"}, schema.Null[bool]{}, `a,"[""a"",""b""]",` + "\n"},
	}
	header := "key,phones,active\n"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := schema.User{Key: tt.key, Phones: tt.phones, Active: tt.active}
			out := string(encode(t, mustFormat(t, FormatCSV, FormatOptions{}), s, []schema.User{u}, 0))
			if got := strings.TrimPrefix(out, header); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCSVEscapeFormulas(t *testing.T) {
	s := &schema.Schema{Version: 1, Columns: []schema.Column{schema.V1(false).Columns[schema.ColKey]}}
	tests := []struct{ in, want string }{
		{"=SUM(A1)", "'=SUM(A1)"},
		{"+32 2 123", "'+32 2 123"},
		{"-1", "'-1"},
		{"@cmd", "'@cmd"},
		{"\tx", "'\tx"},
		{"\rx", "\"'\rx\""},
		{"=a,b", `"'=a,b"`},
		{`=HYPERLINK("x")`, `"'=HYPERLINK(""x"")"`},
		{"a=b", "a=b"},
		{"", `""`},
		{" =x", `" =x"`},
	}
	for _, tt := range tests {
		u := schema.User{Key: str(tt.in)}
		out := string(encode(t, mustFormat(t, FormatCSV, FormatOptions{CSVEscapeFormulas: true}), s, []schema.User{u}, 0))
		if got := strings.TrimSuffix(strings.TrimPrefix(out, "key\n"), "\n"); got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCSVNoRowsWritesHeader(t *testing.T) {
	out := encode(t, mustFormat(t, FormatCSV, FormatOptions{}), schema.V1(false), nil, 0)
	want := strings.Join(columnNames(schema.V1(false)), ",") + "\n"
	if string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

func TestCSVBatchingDoesNotChangeOutput(t *testing.T) {
	f := mustFormat(t, FormatCSV, FormatOptions{})
	rows := append(fixtureRows(), realisticRows(500)...)
	if !bytes.Equal(encode(t, f, schema.V1(true), rows, 0), encode(t, f, schema.V1(true), rows, 1)) {
		t.Error("writing rows one at a time gives other bytes than one batch")
	}
}
