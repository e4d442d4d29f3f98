package sourcetest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/simdata"
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

func TestRecorderKeepsAndPassesOn(t *testing.T) {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, _ = w.Write(body)
	})
	rec := &Recorder{Next: echo}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	for _, body := range []string{"one", "two"} {
		resp, err := http.Post(srv.URL+"/p?q="+body, "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != body {
			t.Errorf("answer %q, want the body passed on: %q", got, body)
		}
	}
	reqs := rec.Take()
	if len(reqs) != 2 || reqs[0].Body != "one" || reqs[1].Body != "two" || reqs[1].Method != http.MethodPost ||
		reqs[1].URL.Path != "/p" || reqs[1].URL.Query().Get("q") != "two" {
		t.Fatalf("kept %+v", reqs)
	}
	if again := rec.Take(); len(again) != 0 {
		t.Errorf("a second Take: %d requests, want none", len(again))
	}
}

func TestUpdateQuantileAndBetween(t *testing.T) {
	day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var people []simdata.Person
	for _, d := range []int{3, 0, 4, 1, 2} {
		people = append(people, simdata.Person{Number: 1000 + d, UpdatedAt: day.AddDate(0, 0, d)})
	}
	if got := UpdateQuantile(people, 0.5); !got.Equal(day.AddDate(0, 0, 2)) {
		t.Errorf("median %v", got)
	}
	if got := UpdateQuantile(people, 0.2); !got.Equal(day.AddDate(0, 0, 1)) {
		t.Errorf("0.2 quantile %v", got)
	}
	id := func(p simdata.Person) string { return strconv.Itoa(p.Number) }
	if got := UpdatedBetween(people, day.AddDate(0, 0, 1), day.AddDate(0, 0, 3), id); !slices.Equal(got, []string{"1001", "1002", "1003"}) {
		t.Errorf("between days 1 and 3: %v", got)
	}
	if got := UpdatedBetween(people, day.AddDate(0, 0, 3), time.Time{}, id); !slices.Equal(got, []string{"1003", "1004"}) {
		t.Errorf("from day 3: %v", got)
	}
}
