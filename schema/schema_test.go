package schema

import (
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestFullNameFollowsTheContract(t *testing.T) {
	null := Null[string]{}
	for _, tc := range []struct {
		name             string
		own, first, last Null[string]
		want             Null[string]
	}{
		{"own wins", Some("Dr. Jane Doe"), Some("Jane"), Some("Doe"), Some("Dr. Jane Doe")},
		{"empty own falls back", Some(""), Some("Jane"), Some("Doe"), Some("Jane Doe")},
		{"first only", null, Some("Jane"), null, Some("Jane")},
		{"last only, empty first", null, Some(""), Some("Doe"), Some("Doe")},
		{"nothing", null, Some(""), null, null},
	} {
		if got := FullName(tc.own, tc.first, tc.last); got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestV1ColumnsAndArrowTypes(t *testing.T) {
	s := V1(false)
	if len(s.Columns) != 22 || s.Columns[0].Name != "provider" || s.Columns[21].Name != "extracted_at" {
		t.Fatalf("v1 without raw: %d columns", len(s.Columns))
	}
	withRaw := V1(true)
	if last := withRaw.Columns[len(withRaw.Columns)-1]; last.Name != "raw" || last.Type != String {
		t.Errorf("last column with raw: %+v", last)
	}
	a := withRaw.Arrow()
	for name, want := range map[string]arrow.DataType{
		"id":           arrow.BinaryTypes.String,
		"phones":       arrow.ListOf(arrow.BinaryTypes.String),
		"active":       arrow.FixedWidthTypes.Boolean,
		"extracted_at": &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"},
	} {
		f, ok := a.FieldsByName(name)
		if !ok || !arrow.TypeEqual(f[0].Type, want) {
			t.Errorf("%s: %v, want %v", name, f, want)
		}
	}
	if f, _ := a.FieldsByName("id"); f[0].Nullable {
		t.Error("id is required but nullable")
	}
	if f, _ := a.FieldsByName("email"); !f[0].Nullable {
		t.Error("email is optional but not nullable")
	}
}

func TestSomeTimeIsUTCMicroseconds(t *testing.T) {
	in := time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.FixedZone("CET", 3600))
	got := SomeTime(in)
	if got.V.Location() != time.UTC || got.V.Nanosecond() != 123456000 || !got.V.Equal(in.Truncate(time.Microsecond)) {
		t.Errorf("SomeTime(%v) = %v", in, got.V)
	}
}

func TestAthenaDDLTypes(t *testing.T) {
	ddl := V1(false).AthenaDDL("users", "s3://b/p/job/")
	for _, want := range []string{"`phones` array<string>", "`active` boolean", "`created_at` timestamp", "LOCATION 's3://b/p/job/'",
		"'projection.enabled' = 'true'", "'projection.dt.type' = 'date'", "'projection.dt.format' = 'yyyy-MM-dd'"} {
		if !strings.Contains(ddl, want) {
			t.Errorf("DDL lacks %q:\n%s", want, ddl)
		}
	}
}

func TestParseTimeAndFromPtr(t *testing.T) {
	s := func(v string) *string { return &v }
	for _, tc := range []struct {
		in      *string
		want    Null[time.Time]
		wantErr bool
	}{
		{nil, Null[time.Time]{}, false},
		{s(""), Null[time.Time]{}, false},
		{s("2023-01-01T00:00:00.1234567+01:00"), Some(time.Date(2022, 12, 31, 23, 0, 0, 123456000, time.UTC)), false},
		{s("soon"), Null[time.Time]{}, true},
	} {
		got, err := ParseTime(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseTime(%v) = %v, %v", tc.in, got, err)
		}
	}
	if FromPtr[string](nil).Valid || FromPtr(s("")) != Some("") {
		t.Error("FromPtr must keep nil as null and \"\" as \"\"")
	}
}
