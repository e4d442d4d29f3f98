package requestor

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
)

// The docs' request samples, verbatim.
const (
	docRequestJSON = `{
  "PageIndex": 0,
  "PageSize": 10,
  "UserName": null,
  "Email": null,
  "IsEndUser": null,
  "IsSmartUser": null,
  "IsOperator": null,
  "IsSuperOperator": null,
  "IsAdministrator": null,
  "CustomerId": null,
  "LastUpdatedDateFromUtc": null,
  "LastUpdatedDateUntilUtc": null
}`
	docRequestXML = `<UsersFilterPost xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.datacontract.org/2004/07/RequestorApiDataStructures.Posts">
  <CustomerId i:nil="true" />
  <Email i:nil="true" />
  <IsAdministrator i:nil="true" />
  <IsEndUser i:nil="true" />
  <IsOperator i:nil="true" />
  <IsSmartUser i:nil="true" />
  <IsSuperOperator i:nil="true" />
  <LastUpdatedDateFromUtc i:nil="true" />
  <LastUpdatedDateUntilUtc i:nil="true" />
  <PageIndex>0</PageIndex>
  <PageSize>10</PageSize>
  <UserName i:nil="true" />
</UsersFilterPost>`
)

func TestPostWithoutFilterIsTheDocsSample(t *testing.T) {
	post := usersFilterPost{PageSize: 10}
	if got := string(post.xml()); got != docRequestXML {
		t.Errorf("XML\n%s\nwant\n%s", got, docRequestXML)
	}
	got, err := json.MarshalIndent(&post, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != docRequestJSON {
		t.Errorf("JSON\n%s\nwant\n%s", got, docRequestJSON)
	}
}

func fullPost() usersFilterPost {
	from := dotnetTime(time.Date(2024, 1, 31, 8, 0, 0, 123456789, time.FixedZone("", 3600)))
	until := dotnetTime(time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC))
	return usersFilterPost{
		PageIndex: 3, PageSize: 250,
		UserName: new("O'Brien & <co>"), Email: new("a@b.c"),
		IsEndUser: new(true), IsSmartUser: new(false), IsOperator: new(true), IsSuperOperator: new(false), IsAdministrator: new(true),
		CustomerID:             new(int64(42)),
		LastUpdatedDateFromUtc: &from, LastUpdatedDateUntilUtc: &until,
	}
}

func TestPostWithEveryMember(t *testing.T) {
	post := fullPost()
	wantXML := `<UsersFilterPost xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.datacontract.org/2004/07/RequestorApiDataStructures.Posts">
  <CustomerId>42</CustomerId>
  <Email>a@b.c</Email>
  <IsAdministrator>true</IsAdministrator>
  <IsEndUser>true</IsEndUser>
  <IsOperator>true</IsOperator>
  <IsSmartUser>false</IsSmartUser>
  <IsSuperOperator>false</IsSuperOperator>
  <LastUpdatedDateFromUtc>2024-01-31T07:00:00.1234567Z</LastUpdatedDateFromUtc>
  <LastUpdatedDateUntilUtc>2024-02-01T00:00:00Z</LastUpdatedDateUntilUtc>
  <PageIndex>3</PageIndex>
  <PageSize>250</PageSize>
  <UserName>O&#39;Brien &amp; &lt;co&gt;</UserName>
</UsersFilterPost>`
	if got := string(post.xml()); got != wantXML {
		t.Errorf("XML\n%s\nwant\n%s", got, wantXML)
	}
	wantJSON := `{"PageIndex":3,"PageSize":250,"UserName":"O'Brien \u0026 \u003cco\u003e","Email":"a@b.c",` +
		`"IsEndUser":true,"IsSmartUser":false,"IsOperator":true,"IsSuperOperator":false,"IsAdministrator":true,` +
		`"CustomerId":42,"LastUpdatedDateFromUtc":"2024-01-31T07:00:00.1234567Z","LastUpdatedDateUntilUtc":"2024-02-01T00:00:00Z"}`
	if got, err := json.Marshal(&post); err != nil || string(got) != wantJSON {
		t.Errorf("JSON %s (%v)\nwant %s", got, err, wantJSON)
	}
}

// TestPostRoundTrips: what the source sends in either form, the
// simulator reads back as the same post. Posts are compared as JSON,
// where times are instants at the precision sent.
func TestPostRoundTrips(t *testing.T) {
	asJSON := func(p usersFilterPost) string {
		b, err := json.Marshal(&p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, post := range []usersFilterPost{{PageSize: 10}, fullPost()} {
		root, err := parseXML(post.xml())
		if err != nil {
			t.Fatal(err)
		}
		fromXML, err := postFromXML(root)
		if err != nil {
			t.Fatal(err)
		}
		var fromJSON usersFilterPost
		if err := json.Unmarshal([]byte(asJSON(post)), &fromJSON); err != nil {
			t.Fatal(err)
		}
		if want := asJSON(post); asJSON(fromXML) != want || asJSON(fromJSON) != want {
			t.Errorf("post %s\nfrom XML  %s\nfrom JSON %s", want, asJSON(fromXML), asJSON(fromJSON))
		}
	}
}

func TestXMLMembersAreTheJSONMembersInOrder(t *testing.T) {
	post := usersFilterPost{}
	var names []string
	for _, m := range post.xmlMembers() {
		names = append(names, m.name)
	}
	body, err := json.Marshal(&post)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(body, &fields); err != nil {
		t.Fatal(err)
	}
	var jsonNames []string
	for name := range fields {
		jsonNames = append(jsonNames, name)
	}
	slices.Sort(jsonNames)
	if !slices.Equal(names, jsonNames) {
		t.Errorf("XML members %v, JSON members %v (sorted)", names, jsonNames)
	}
}

func TestParseDotnetTime(t *testing.T) {
	tests := []struct{ in, want string }{
		{"2023-05-01T10:20:30Z", "2023-05-01T10:20:30Z"},
		{"2023-05-01T10:20:30.1234567Z", "2023-05-01T10:20:30.1234567Z"},
		{"2023-05-01T10:20:30+02:00", "2023-05-01T08:20:30Z"},
		{"2023-05-01T10:20:30.12-05:30", "2023-05-01T15:50:30.12Z"},
		{"2023-05-01T10:20:30", "2023-05-01T10:20:30Z"},
		{"2023-05-01T10:20:30.1234567", "2023-05-01T10:20:30.1234567Z"},
	}
	for _, tt := range tests {
		got, err := parseDotnetTime(tt.in)
		if err != nil || got.UTC().Format(time.RFC3339Nano) != tt.want {
			t.Errorf("%s: %v %v, want %s", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "2023-05-01", "2023-05-01 10:20:30", "/Date(1682936430000)/", "yesterday"} {
		if _, err := parseDotnetTime(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
