package sourcetest

import (
	"slices"
	"testing"
	"time"

	"github.com/saas-export/export/schema"
)

func TestRowsRendersEveryColumn(t *testing.T) {
	at := time.Date(2024, 10, 10, 12, 0, 0, 1000, time.UTC)
	got := Rows(t, []schema.User{
		{Provider: "p", Job: "j", ID: "1", ExtractedAt: at},
		{Provider: "p", Job: "j", ID: "2", Phones: []string{}, Active: schema.Some(false), CreatedAt: schema.SomeTime(at), Raw: []byte(`{"id":2}`)},
	})
	want := `{"provider":"p","job":"j","id":"1","key":null,"username":null,"first_name":null,"last_name":null,"full_name":null,` +
		`"email":null,"phone":null,"phones":null,"language":null,"organization_id":null,"roles":null,"active":null,` +
		`"created_at":null,"updated_at":null,"deleted_at":null,"expires_at":null,"last_login_at":null,"run_id":"",` +
		`"extracted_at":"2024-10-10T12:00:00.000001Z","raw":null}` + "\n" +
		`{"provider":"p","job":"j","id":"2","key":null,"username":null,"first_name":null,"last_name":null,"full_name":null,` +
		`"email":null,"phone":null,"phones":[],"language":null,"organization_id":null,"roles":null,"active":false,` +
		`"created_at":"2024-10-10T12:00:00.000001Z","updated_at":null,"deleted_at":null,"expires_at":null,"last_login_at":null,"run_id":"",` +
		`"extracted_at":"0001-01-01T00:00:00Z","raw":"{\"id\":2}"}` + "\n"
	if got != want {
		t.Errorf("rows\n%s\nwant\n%s", got, want)
	}
}

func TestTimeProblems(t *testing.T) {
	utc := time.Date(2024, 10, 10, 12, 0, 0, 1000, time.UTC)
	users := []schema.User{
		{ID: "ok", CreatedAt: schema.SomeTime(utc), ExtractedAt: utc},
		{ID: "offset", ExpiresAt: schema.Some(utc.In(time.FixedZone("", 3600)))},
		{ID: "nanos", ExtractedAt: utc.Add(1)},
		{ID: "zero offset elsewhere", UpdatedAt: schema.Some(utc.In(time.FixedZone("GMT", 0)))},
	}
	got := timeProblems(schema.V1(false), users)
	want := []string{
		"user offset: expires_at 2024-10-10T13:00:00.000001+01:00 is not UTC to the microsecond",
		"user nanos: extracted_at 2024-10-10T12:00:00.000001001Z is not UTC to the microsecond",
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems\n%q\nwant\n%q", got, want)
	}
}

func TestArrayLen(t *testing.T) {
	tests := []struct {
		body string
		path []any
		n    int
		ok   bool
	}{
		{`[1, 2]`, nil, 2, true},
		{`{"data": [1, 2, 3]}`, []any{"data"}, 3, true},
		{`{"DATA": []}`, []any{"data"}, 0, true},
		{`{"reſults": [{}]}`, []any{"results"}, 1, true},
		{`{"items": [{"data": {"users": [1]}}]}`, []any{"items", 0, "data", "users"}, 1, true},
		{`{"items": []}`, []any{"items", 0, "data"}, 0, false},
		{`{"data": {}}`, []any{"data"}, 0, false},
		{`{"data": [1e400]}`, []any{"data"}, 1, true},
		{`{"data": [1]`, []any{"data"}, 0, false},
	}
	for _, tt := range tests {
		if n, ok := ArrayLen([]byte(tt.body), tt.path...); n != tt.n || ok != tt.ok {
			t.Errorf("%s %v: %d %v, want %d %v", tt.body, tt.path, n, ok, tt.n, tt.ok)
		}
	}
}
