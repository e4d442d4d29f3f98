package httpsource

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/saas-export/export/schema"
)

type testRecord struct {
	ID string `json:"id"`
}

func normalizeTestRecord(rec *testRecord) (schema.User, error) {
	if rec.ID == "" {
		return schema.User{}, errors.New("record has no id")
	}
	return schema.User{ID: rec.ID}, nil
}

func TestNormalizeRecords(t *testing.T) {
	users, err := NormalizeRecords([]testRecord{{"a"}, {"b"}}, normalizeTestRecord)
	if err != nil || len(users) != 2 || users[0].ID != "a" || users[1].ID != "b" || users[0].Raw != nil {
		t.Errorf("users %+v, error %v", users, err)
	}
	users, err = NormalizeRecords([]testRecord{{"a"}, {""}}, normalizeTestRecord)
	if users != nil || err == nil || err.Error() != "results[1]: record has no id" {
		t.Errorf("users %+v, error %v; want results[1]: record has no id", users, err)
	}
	if users, err := NormalizeRecords(nil, normalizeTestRecord); err != nil || len(users) != 0 {
		t.Errorf("no records: users %+v, error %v", users, err)
	}
}

func TestNormalizeRaw(t *testing.T) {
	raws := []json.RawMessage{json.RawMessage("{ \"id\": \"a\",\n  \"extra\": [1, 2] }"), json.RawMessage(`{"id":"b"}`)}
	users, err := NormalizeRaw(raws, normalizeTestRecord)
	if err != nil || len(users) != 2 || users[0].ID != "a" || users[1].ID != "b" {
		t.Fatalf("users %+v, error %v", users, err)
	}
	if got, want := string(users[0].Raw), `{"id":"a","extra":[1,2]}`; got != want {
		t.Errorf("raw %s, want %s (compacted, every field kept)", got, want)
	}
	tests := []struct {
		raws []json.RawMessage
		want string
	}{
		{[]json.RawMessage{json.RawMessage(`{"id":"a"}`), json.RawMessage(`{"id":5}`)},
			"results[1]: decode record: json: cannot unmarshal number into Go struct field testRecord.id of type string"},
		{[]json.RawMessage{json.RawMessage(`{}`)}, "results[0]: record has no id"},
	}
	for _, tt := range tests {
		users, err := NormalizeRaw(tt.raws, normalizeTestRecord)
		if users != nil || err == nil || err.Error() != tt.want {
			t.Errorf("users %+v, error %v; want %s", users, err, tt.want)
		}
	}
}

type testEnvelope[T any] struct {
	Count *int64 `json:"count"`
	Items []T    `json:"items"`
}

func (e testEnvelope[T]) Records() []T  { return e.Items }
func (e testEnvelope[T]) Total() *int64 { return e.Count }

func TestDecodeUsersKeepsRawOnlyWhenAsked(t *testing.T) {
	type rec struct{ ID string }
	norm := func(r *rec) (schema.User, error) { return schema.User{ID: r.ID}, nil }
	body := []byte(`{"count": 2, "items": [ {"ID": "a"}, {"ID": "b", "x": [1, 2]} ]}`)
	for _, raw := range []bool{false, true} {
		users, total, err := DecodeUsers[rec, testEnvelope[json.RawMessage], testEnvelope[rec]](body, raw, norm)
		if err != nil || total == nil || *total != 2 || len(users) != 2 || users[1].ID != "b" {
			t.Fatalf("raw=%v: %v, %v, %v", raw, users, total, err)
		}
		if got, want := string(users[1].Raw), map[bool]string{false: "", true: `{"ID":"b","x":[1,2]}`}[raw]; got != want {
			t.Errorf("raw=%v: Raw %q, want %q", raw, got, want)
		}
	}
	if _, _, err := DecodeUsers[rec, testEnvelope[json.RawMessage], testEnvelope[rec]]([]byte(`{"items": 1}`), false, norm); err == nil ||
		!strings.Contains(err.Error(), "decode response") {
		t.Errorf("bad body: %v", err)
	}
}
