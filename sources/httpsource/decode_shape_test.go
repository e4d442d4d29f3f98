package httpsource

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/saas-export/export/schema"
)

// memberEnvelope is a provider envelope built on Member, as the
// providers' are: {"data": {"count": N, "items": [...]}}.
type memberEnvelope[T any] struct {
	Data Member[struct {
		Count Member[int64] `json:"count"`
		Items Member[[]T]   `json:"items"`
	}] `json:"data"`
}

func (e memberEnvelope[T]) Records() []T  { return e.Data.V.Items.V }
func (e memberEnvelope[T]) Total() *int64 { return e.Data.V.Count.Value() }
func (e memberEnvelope[T]) Check() error {
	if err := e.Data.Required("data"); err != nil {
		return err
	}
	d := e.Data.V
	return errors.Join(d.Items.Required("data.items"), d.Count.Optional("data.count"), CheckCount("data.count", e.Total()))
}

func TestDecodeUsersChecksTheEnvelope(t *testing.T) {
	type rec struct{ ID string }
	norm := func(r *rec) (schema.User, error) { return schema.User{ID: r.ID}, nil }
	tests := []struct{ body, want string }{
		{`{}`, "the response has no data"},
		{`{"data": null}`, "data is null"},
		{`{"data": {}}`, "the response has no data.items"},
		{`{"data": {"items": null}}`, "data.items is null"},
		{`{"data": {"items": [{"ID": "a"}]}, "data": {"items": []}}`, "data is sent 2 times"},
		{`{"data": {"items": [{"ID": "a"}], "items": []}}`, "data.items is sent 2 times"},
		{`{"data": {"items": {}}}`, "decode response: json: cannot unmarshal object into data.items ("},
		{`{"data": {"count": "1", "items": []}}`, "decode response: json: cannot unmarshal string into data.count (int64)"},
		{`{"data": {"count": 1, "count": 2, "items": []}}`, "data.count is sent 2 times"},
		{`{"data": {"count": -1, "items": []}}`, "data.count is -1: want a count from 0 to 9007199254740991"},
		{`{"data": {"count": 9007199254740992, "items": []}}`, "data.count is 9007199254740992"},
		{`[]`, "decode response: json: cannot unmarshal array into Go value of type"},
	}
	for _, tt := range tests {
		for _, raw := range []bool{false, true} {
			users, _, err := DecodeUsers[rec, memberEnvelope[json.RawMessage], memberEnvelope[rec]]([]byte(tt.body), raw, norm)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s (raw %v): %d users, error %v; want %q", tt.body, raw, len(users), err, tt.want)
			}
		}
	}
	for _, body := range []string{`{"data": {"items": []}}`, `{"data": {"count": 0, "items": []}}`, `{"data": {"count": null, "items": [{"ID": "a"}]}}`} {
		if _, _, err := DecodeUsers[rec, memberEnvelope[json.RawMessage], memberEnvelope[rec]]([]byte(body), false, norm); err != nil {
			t.Errorf("%s: %v", body, err)
		}
	}
}
