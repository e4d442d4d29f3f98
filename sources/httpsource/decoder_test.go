package httpsource

import (
	"encoding/json"
	"reflect"
	"testing"

	goccy "github.com/goccy/go-json"
)

// fuzzRecord has the field kinds the providers' records decode into.
type fuzzRecord struct {
	ID       Member[string] `json:"id"`
	Name     *string
	Count    *int64 `json:"count"`
	Active   *bool
	Phones   []string
	Org      *struct{ ID *int64 }
	When     *string `json:"updated_at"`
	Anything any
}

type fuzzEnvelope struct {
	Meta    struct{ Total Member[int64] }
	Results *[]fuzzRecord
	Raw     *[]json.RawMessage `json:"raw"`
}

// FuzzDecoderAgrees: unmarshal (goccy, with encoding/json on a refusal)
// accepts exactly what encoding/json accepts, decodes it to the same
// values and fails with encoding/json's own error. onceOnPath walks a
// body without checks because of it.
func FuzzDecoderAgrees(f *testing.F) {
	for _, seed := range []string{
		`{"meta":{"total":2},"results":[{"id":"a","Name":"Zoë","count":3,"Active":true,"Phones":["+32 1"],"Org":{"ID":7},"updated_at":null,"Anything":[1,"x",{"y":null}]},{"id":"b"}],"raw":[{"a":1}]}`,
		`{"META":{"TOTAL":1},"results":[{"ID":"x","id":"y"}]}`,
		`{"results":[{"count":1.5}]}`,
		`{"results":[{"Name":"\ud800"}]}`,
		`{"results":[{"Name":"a\u00e9\n"}]} `,
		`{"results":[1]}`, `[]`, `{"results":{}}`, `{"a":1}x`, `{"results":[{"count":1e30}]}`,
		"{\"results\":[{\"Name\":\"\xff\"}]}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var want, got fuzzEnvelope
		wantErr := json.Unmarshal(body, &want)
		gotErr := unmarshal(body, &got)
		if (wantErr == nil) != (gotErr == nil) || wantErr != nil && wantErr.Error() != gotErr.Error() {
			t.Fatalf("%q: encoding/json says %v, unmarshal %v", body, wantErr, gotErr)
		}
		if wantErr == nil && !reflect.DeepEqual(want, got) {
			t.Fatalf("%q decodes differently:\n%#v\n%#v", body, want, got)
		}
		// The fast path alone, on any value: the same verdict.
		var a, b any
		if e1, e2 := json.Unmarshal(body, &a), goccy.Unmarshal(body, &b); (e1 == nil) != (e2 == nil) || e1 == nil && !reflect.DeepEqual(a, b) {
			t.Fatalf("%q as any: encoding/json %v %#v, goccy %v %#v", body, e1, a, e2, b)
		}
	})
}

// FuzzMemberAgrees: a Member decodes any JSON value as encoding/json
// decodes it into the member's type, on plainValue's fast path or off it:
// the same value, the same error.
func FuzzMemberAgrees(f *testing.F) {
	for _, seed := range []string{
		`"a"`, `""`, `"a\"b"`, `"\u00e9"`, `"Zoë"`, "\"\x01\"", `"\ud800"`, "\"\xff\"",
		`0`, `-0`, `7`, `-12`, `007`, `123456789012345678`, `1234567890123456789`, `9223372036854775808`,
		`-9223372036854775808`, `1.5`, `1e3`, `-`, `true`, `null`, `[]`, `{}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return // the decoder hands a member only a valid value
		}
		checkMember[string](t, b)
		checkMember[int64](t, b)
	})
}

func checkMember[T comparable](t *testing.T, b []byte) {
	t.Helper()
	var want T
	wantErr := json.Unmarshal(b, &want)
	var m Member[T]
	gotErr := m.UnmarshalJSON(b)
	if string(b) == "null" {
		if gotErr != nil || m.Value() != nil {
			t.Fatalf("null: %v %v", gotErr, m.Value())
		}
		return
	}
	if (wantErr == nil) != (gotErr == nil) || wantErr != nil && wantErr.Error() != gotErr.Error() || m.V != want {
		t.Fatalf("%q into %T: encoding/json %v %v, Member %v %v", b, want, want, wantErr, m.V, gotErr)
	}
}
