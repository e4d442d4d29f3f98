package httpsource

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/saas-export/export/schema"
)

// checkedEnvelope is a provider envelope as the providers write theirs:
// {"data": {"count": N, "items": [...]}}.
type checkedEnvelope[T any] struct {
	Data struct {
		Count Member[int64] `json:"count"`
		Items *[]T          `json:"items"`
	} `json:"data"`
}

func (e checkedEnvelope[T]) Records() []T          { return *e.Data.Items }
func (e checkedEnvelope[T]) Total() *int64         { return e.Data.Count.Value() }
func (e checkedEnvelope[T]) RecordsPath() []string { return []string{"data", "items"} }
func (e checkedEnvelope[T]) Check() error {
	if e.Data.Items == nil {
		return errors.New("the response has no data.items")
	}
	return errors.Join(e.Data.Count.Optional("data.count"), CheckCount("data.count", e.Total()))
}

func TestDecodeUsersChecksTheEnvelope(t *testing.T) {
	type rec struct{ ID string }
	norm := func(r *rec) (schema.User, error) { return schema.User{ID: r.ID}, nil }
	decode := func(body string, raw bool) ([]schema.User, error) {
		users, _, err := DecodeUsers[rec, checkedEnvelope[json.RawMessage], checkedEnvelope[rec]]([]byte(body), raw, norm)
		return users, err
	}
	tests := []struct{ body, want string }{
		{`{}`, "the response has no data.items"},
		{`{"data": null}`, "the response has no data.items"},
		{`{"data": {"items": null}}`, "the response has no data.items"},
		{`{"data": {"items": [{"ID": "a"}]}, "data": {"items": []}}`, "data is sent more than once"},
		{`{"data": {"items": [{"ID": "a"}], "items": []}}`, "data.items is sent more than once"},
		{`{"data": {"items": [{"ID": "a"}], "ITEMS": []}}`, "data.items is sent more than once"},
		{`{"data": {"items": [{"ID": "a"}], "\u0069tems": []}}`, "data.items is sent more than once"},
		{"{\"data\": {\"items\": [{\"ID\": \"a\\\"]}\\\\\"}, {\"ID\": \"[{\"}]\n\t ,  \"items\": []}}", "data.items is sent more than once"},
		{`{"data": {"items": {}}}`, "decode response: json: cannot unmarshal object into data.items ("},
		{`{"data": {"count": "1", "items": []}}`, "decode response: json: cannot unmarshal string into data.count (int64)"},
		{`{"data": {"count": 1, "Count": 2, "items": []}}`, "data.count is sent more than once"},
		{`{"data": {"count": -1, "items": []}}`, "data.count is -1: want a count from 0 to 9007199254740991"},
		{`{"data": {"count": 9007199254740992, "items": []}}`, "data.count is 9007199254740992"},
		{`[]`, "decode response: json: cannot unmarshal array into Go value of type"},
	}
	for _, tt := range tests {
		for _, raw := range []bool{false, true} {
			if users, err := decode(tt.body, raw); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s (raw %v): %d users, error %v; want %q", tt.body, raw, len(users), err, tt.want)
			}
		}
	}
	// The walk skips what is off the path, whatever it holds, and the
	// path's names elsewhere are no duplicates.
	for _, body := range []string{
		`{"data": {"items": []}}`,
		`{"data": {"count": 0, "items": []}}`,
		`{"data": {"count": null, "items": [{"ID": "a"}]}}`,
		` { "x" : "\"data\": [\\", "data" : { "items" : [ {"ID": "a\"\\", "items": [1, {"items": 2}]} ] , "z": [[{}], -1.5e3, true, null] } , "y": "\\\\" } `,
		`{"meta": {"data": 1, "items": [{"data": {}}]}, "data": {"items": [], "data": {"items": 1}}, "Data2": {}, "n": 0}`,
	} {
		if users, err := decode(body, false); err != nil || len(users) != strings.Count(body, `"ID"`) {
			t.Errorf("%s: %d users, %v", body, len(users), err)
		}
	}
}

func TestOnceOnPathCrossesArrays(t *testing.T) {
	path := []string{"items", "data", "users"}
	tests := []struct{ body, want string }{
		{`{"items": [{"data": {"users": []}}, {"data": {"users": []}}]}`, ""},
		{`{"items": [{"data": {"users": []}}, {"data": {"users": [], "users": []}}]}`, "items.data.users is sent more than once"},
		{`{"items": [{"data": {}, "DATA": {}}]}`, "items.data is sent more than once"},
		{`{"items": [[{"data": 1}], {"data": 2}], "valid": true}`, ""},
		{`"items"`, ""},
		{`12`, ""},
	}
	for _, tt := range tests {
		got := ""
		if err := onceOnPath([]byte(tt.body), path); err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%s: error %q, want %q", tt.body, got, tt.want)
		}
	}
}
