package pipeline

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/saas-export/export/schema"
)

// scrubFields is a provider's RawFields for the tests: nested members, a
// path through an array of objects, a whole object, and two columns
// reading one member.
var scrubFields = map[schema.ColumnID][]string{
	schema.ColEmail:          {"contact.email"},
	schema.ColFirstName:      {"name.first"},
	schema.ColFullName:       {"name.first", "name.last"},
	schema.ColPhone:          {"phones"},
	schema.ColPhones:         {"phones"},
	schema.ColRoles:          {"groups.name"},
	schema.ColOrganizationID: {"org"},
	schema.ColLanguage:       {"org.secret"},
	schema.ColKey:            {},
}

func column(t *testing.T, name string) schema.Column {
	t.Helper()
	c, ok := complianceColumn(name)
	if !ok {
		t.Fatalf("no column %s", name)
	}
	return c
}

func columns(t *testing.T, names string) []schema.Column {
	t.Helper()
	var cols []schema.Column
	for name := range strings.FieldsSeq(names) {
		cols = append(cols, column(t, name))
	}
	return cols
}

// pseudonymToken is H(value) in a test's expected JSON: the quoted
// pseudonym of value.
var pseudonymToken = regexp.MustCompile(`H\(([^)]*)\)`)

func expandPseudonyms(want string) string {
	return pseudonymToken.ReplaceAllStringFunc(want, func(tok string) string {
		return `"` + pseudonym(pseudonymToken.FindStringSubmatch(tok)[1]) + `"`
	})
}

func TestScrubRaw(t *testing.T) {
	cases := []struct {
		name            string
		dropped, hashed string // column names
		in, want        string // want: H(v) is v's pseudonym, quoted
	}{
		{name: "drop a nested member",
			dropped: "email",
			in:      `{"id":1,"contact":{"email":"ann@example.com","city":"Gent"},"z":2}`,
			want:    `{"id":1,"contact":{"city":"Gent"},"z":2}`},
		{name: "hash a nested member",
			hashed: "email",
			in:     `{"id":1,"contact":{"email":"ann@example.com","city":"Gent"},"z":2}`,
			want:   `{"id":1,"contact":{"email":H(ann@example.com),"city":"Gent"},"z":2}`},
		{name: "the first, the last and the only member dropped",
			dropped: "phone",
			in:      `[{"phones":["1"],"a":1},{"a":1,"phones":["1"]},{"phones":[]}]`,
			want:    `[{"a":1},{"a":1},{}]`},
		{name: "a path through an array of objects, hashed",
			hashed: "roles",
			in:     `{"groups":[{"name":"ops","id":1},{"id":2,"name":"dev"},{"id":3},"loose"]}`,
			want:   `{"groups":[{"name":H(ops),"id":1},{"id":2,"name":H(dev)},{"id":3},"loose"]}`},
		{name: "a path through an array of objects, dropped",
			dropped: "roles",
			in:      `{"groups":[{"name":"ops","id":1},{"id":2,"name":"dev"}],"n":[]}`,
			want:    `{"groups":[{"id":1},{"id":2}],"n":[]}`},
		{name: "a hashed list, nested arrays",
			hashed: "phones",
			in:     `{"phones":["+32 1",["+32 2",null]],"x":"+32 1"}`,
			want:   `{"phones":[H(+32 1),[H(+32 2),null]],"x":"+32 1"}`},
		{name: "null leaves stay null when hashed, go when dropped",
			dropped: "first_name", hashed: "email",
			in:   `{"contact":{"email":null},"name":{"first":null,"last":null}}`,
			want: `{"contact":{"email":null},"name":{"last":null}}`},
		{name: "numbers and booleans under a hashed object, by their JSON text",
			hashed: "organization_id",
			in:     `{"org":{"id":12,"vip":true,"off":false,"tags":["x",null,1.50,-3e2],"sub":{"n":0}},"id":12}`,
			want:   `{"org":{"id":H(12),"vip":H(true),"off":H(false),"tags":[H(x),null,H(1.50),H(-3e2)],"sub":{"n":H(0)}},"id":12}`},
		{name: "a dropped member under a hashed object goes",
			dropped: "language", hashed: "organization_id",
			in:   `{"org":{"id":7,"secret":"s3","name":"Acme"}}`,
			want: `{"org":{"id":H(7),"name":H(Acme)}}`},
		{name: "a member read by a dropped and a hashed column goes",
			dropped: "first_name", hashed: "full_name",
			in:   `{"name":{"first":"Ann","last":"Lee"}}`,
			want: `{"name":{"last":H(Lee)}}`},
		{name: "member order is kept, everything else byte for byte",
			dropped: "email",
			in:      `{"b":1,"a":"x","contact":{"z":[1,{"email":"no"}],"email":"e@x","a":2.50},"c":{"d":null},"e":"\u00e9"}`,
			want:    `{"b":1,"a":"x","contact":{"z":[1,{"email":"no"}],"a":2.50},"c":{"d":null},"e":"\u00e9"}`},
		{name: "escapes: a key spelled with one, a value with several",
			hashed: "email",
			in:     `{"contact":{"em\u0061il":"a\"b\u00e9\\"}}`,
			want:   `{"contact":{"em\u0061il":H(a"bé\)}}`},
		{name: "a path that meets a string or null finds nothing",
			dropped: "email first_name",
			in:      `{"contact":"ann@example.com","name":null}`,
			want:    `{"contact":"ann@example.com","name":null}`},
		{name: "space between the tokens of a scrubbed record",
			dropped: "email",
			in:      " {\n \"contact\" : { \"email\" : \"e\" , \"city\" : [ 1 , 2 ] } , \"n\" : true }\n",
			want:    `{"contact":{"city":[ 1 , 2 ]},"n":true}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := newRawScrubber(scrubFields, columns(t, tc.dropped), columns(t, tc.hashed))
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.scrub([]byte(tc.in), newPseudonymizer([]byte(testHashKey)).pseudonym)
			if err != nil {
				t.Fatal(err)
			}
			if want := expandPseudonyms(tc.want); string(got) != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
			if !json.Valid(got) {
				t.Errorf("not valid JSON: %s", got)
			}
		})
	}
}

// TestScrubRawLeavesUntouchedRecords checks that a record holding none of
// the members, or a job whose columns read none, keeps its very bytes,
// space included.
func TestScrubRawLeavesUntouchedRecords(t *testing.T) {
	raw := []byte(`{ "id": 1, "other": {"email": "x@y"}, "groups": [{"id": 2}], "phone": "1" }`)
	for _, tc := range []struct{ name, dropped, hashed string }{
		{"members absent", "email first_name phone roles", "organization_id"},
		{"columns that read nothing", "key", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := newRawScrubber(scrubFields, columns(t, tc.dropped), columns(t, tc.hashed))
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.scrub(raw, newPseudonymizer([]byte(testHashKey)).pseudonym)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, raw) {
				t.Errorf("got %s, want the record unchanged", got)
			}
		})
	}
}

func TestScrubRawErrors(t *testing.T) {
	t.Run("invalid JSON names the record and withholds its raw", func(t *testing.T) {
		s, err := newRawScrubber(scrubFields, columns(t, "email"), nil)
		if err != nil {
			t.Fatal(err)
		}
		users := []schema.User{
			{ID: "u-1", Raw: []byte(`{"contact":{"email":"a@b"}}`)},
			{ID: "u-2", Raw: []byte(`{"contact":{"email":"a@b"}`)},
			{ID: "u-3", Raw: []byte(`{"contact":{"email":"c@d"}}`)},
			{ID: "u-4"},
		}
		err = s.scrubUsers(users, newPseudonymizer([]byte(testHashKey)).pseudonym)
		if err == nil || !strings.Contains(err.Error(), "user u-2") || !strings.Contains(err.Error(), "not valid JSON") {
			t.Fatalf("error %v, want one naming user u-2", err)
		}
		want := []string{`{"contact":{}}`, "", `{"contact":{}}`, ""}
		for i, u := range users {
			if string(u.Raw) != want[i] {
				t.Errorf("user %s: raw %s, want %s", u.ID, u.Raw, want[i])
			}
		}
		if users[1].Raw != nil {
			t.Error("the invalid record's raw is kept")
		}
	})
	t.Run("a column without raw fields", func(t *testing.T) {
		_, err := newRawScrubber(scrubFields, columns(t, "email"), columns(t, "username"))
		if err == nil || !strings.Contains(err.Error(), "column username") {
			t.Errorf("error %v, want one naming username", err)
		}
	})
	t.Run("an empty member name", func(t *testing.T) {
		fields := map[schema.ColumnID][]string{schema.ColEmail: {"contact..email"}}
		_, err := newRawScrubber(fields, columns(t, "email"), nil)
		if err == nil || !strings.Contains(err.Error(), `"contact..email"`) {
			t.Errorf("error %v, want one quoting the path", err)
		}
	})
}

// TestProtectionApplyAgreesWithRaw checks that a hashed column and the
// raw member it is read from get the same pseudonym, and that a protection
// whose scrubber could not be built withholds every raw record.
func TestProtectionApplyAgreesWithRaw(t *testing.T) {
	s, err := newRawScrubber(scrubFields, columns(t, "phone"), columns(t, "email phones"))
	if err != nil {
		t.Fatal(err)
	}
	p := protection{key: []byte(testHashKey), hashed: []schema.ColumnID{schema.ColEmail, schema.ColPhones},
		provider: "test", raw: s}
	users := []schema.User{{
		ID: "1", Email: schema.Some("ann@example.com"), Phones: []string{"+32 1"},
		Raw: []byte(`{"contact":{"email":"ann@example.com"},"phones":["+32 1"]}`),
	}}
	if err := p.apply(users); err != nil {
		t.Fatal(err)
	}
	want := `{"contact":{"email":"` + users[0].Email.V + `"}}`
	if users[0].Email.V != pseudonym("ann@example.com") || string(users[0].Raw) != want {
		t.Errorf("email %s, raw %s; want the pseudonym %s in both", users[0].Email.V, users[0].Raw, pseudonym("ann@example.com"))
	}

	_, p.rawErr = newRawScrubber(scrubFields, columns(t, "username"), nil)
	users[0].Raw = []byte(`{"UserName":"ann"}`)
	if err := p.apply(users); err == nil || !strings.Contains(err.Error(), "provider test") || users[0].Raw != nil {
		t.Errorf("error %v, raw %s: want an error naming the provider and no raw", err, users[0].Raw)
	}
}
