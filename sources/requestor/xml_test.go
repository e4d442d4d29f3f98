package requestor

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRawJSONOfXML(t *testing.T) {
	const d5 = `xmlns:d5p1="` + nsArrays + `"`
	tests := []struct{ name, user, want string }{
		{"leaves are strings in document order; i:nil is null",
			`<d3p1:Anonymized>false</d3p1:Anonymized><d3p1:Color i:nil="true" /><d3p1:CustomUserFieldsHash>0</d3p1:CustomUserFieldsHash>`,
			`{"Anonymized":"false","Color":null,"CustomUserFieldsHash":"0"}`},
		{"empty leaves are empty strings; text is kept as sent",
			`<d3p1:Email /><d3p1:FirstName>  Zoë &amp; &lt;Jo&gt; "x"</d3p1:FirstName>`,
			`{"Email":"","FirstName":"  Zoë \u0026 \u003cJo\u003e \"x\""}`},
		{"Phones is an array, also with one item or none, and null when nil",
			`<d3p1:Phones ` + d5 + `><d5p1:string>+1</d5p1:string></d3p1:Phones>` +
				`<d3p1:Phones ` + d5 + ` />` +
				`<d3p1:Phones ` + d5 + ` i:nil="true" />`,
			`{"Phones":["+1"],"Phones":[],"Phones":null}`},
		{"group ids are arrays of their items",
			`<d3p1:InternalGroupIds ` + d5 + `><d5p1:int>1</d5p1:int><d5p1:int>2</d5p1:int></d3p1:InternalGroupIds>` +
				`<d3p1:OperatorGroupIds ` + d5 + ` />`,
			`{"InternalGroupIds":["1","2"],"OperatorGroupIds":[]}`},
		{"an unknown collection of primitives is an array",
			`<d3p1:Customers ` + d5 + `><d5p1:int>7</d5p1:int></d3p1:Customers>`,
			`{"Customers":["7"]}`},
		{"Tags is an array of TagData objects",
			`<d3p1:Tags><d3p1:TagData><d3p1:Color>#fff</d3p1:Color><d3p1:Id>1</d3p1:Id><d3p1:Type>UserAndCompany</d3p1:Type></d3p1:TagData></d3p1:Tags>` +
				`<d3p1:Tags />`,
			`{"Tags":[{"Color":"#fff","Id":"1","Type":"UserAndCompany"}],"Tags":[]}`},
		{"an unknown member with members is an object",
			`<d3p1:Customer><d3p1:Id>3</d3p1:Id><d3p1:Name i:nil="true" /></d3p1:Customer>`,
			`{"Customer":{"Id":"3","Name":null}}`},
		{"whitespace between elements is not text", "\n  <d3p1:Tags>\n    <d3p1:TagData>\n      <d3p1:Id>1</d3p1:Id>\n    </d3p1:TagData>\n  </d3p1:Tags>\n",
			`{"Tags":[{"Id":"1"}]}`},
		{"an empty user is an empty string: nothing says it is an object", ``, `""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := parseXML([]byte(`<d3p1:RequestorUser xmlns:i="` + nsInstance + `" xmlns:d3p1="` + nsData + `">` +
				tt.user + `</d3p1:RequestorUser>`))
			if err != nil {
				t.Fatal(err)
			}
			got := string(root.appendJSON(nil))
			if got != tt.want {
				t.Errorf("JSON\n%s\nwant\n%s", got, tt.want)
			}
			if !json.Valid([]byte(got)) {
				t.Errorf("not valid JSON: %s", got)
			}
		})
	}
}

func TestParseXMLErrors(t *testing.T) {
	tests := []struct{ body, want string }{
		{``, "no root element"},
		{`  <!-- nothing -->  `, "no root element"},
		{`<a>`, "XML syntax error on line 1: unexpected EOF"},
		{`<a></b>`, "element <a> closed by </b>"},
		{`<a/><b/>`, "a second root element <b> after <a>"},
		{strings.Repeat("<a>", 65), "elements nested deeper than 64 levels"},
	}
	for _, tt := range tests {
		if _, err := parseXML([]byte(tt.body)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.body, err, tt.want)
		}
	}
	if _, err := parseXML([]byte(strings.Repeat("<a>", 64) + strings.Repeat("</a>", 64))); err != nil {
		t.Errorf("64 levels: %v", err)
	}
}

func TestElementMembersAreInTheContractsNamespace(t *testing.T) {
	root, err := parseXML([]byte(`<U xmlns="urn:a" xmlns:b="urn:b"><b:Name>other</b:Name><Name>mine</Name><Flag> true </Flag><N> 12 </N></U>`))
	if err != nil {
		t.Fatal(err)
	}
	if s := root.str("Name"); s == nil || *s != "mine" {
		t.Errorf("Name = %v", s)
	}
	if b, err := root.boolean("Flag"); err != nil || !*b {
		t.Errorf("Flag = %v, %v", b, err)
	}
	if n, err := root.integer("N"); err != nil || *n != 12 {
		t.Errorf("N = %v, %v", n, err)
	}
	if root.str("Missing") != nil {
		t.Error("a missing member is not nil")
	}
}

func TestXMLWriterLayout(t *testing.T) {
	var w xmlWriter
	w.start(`Root xmlns="urn:x"`)
	w.leaf("A", new("1 < 2 & \"q\""))
	w.leaf("B", nil)
	w.empty("C")
	w.start("D")
	w.leaf("E", new(""))
	w.end("D")
	w.end("Root")
	want := "<Root xmlns=\"urn:x\">\n  <A>1 &lt; 2 &amp; &#34;q&#34;</A>\n  <B i:nil=\"true\" />\n  <C />\n  <D>\n    <E></E>\n  </D>\n</Root>"
	if got := string(w.bytes()); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// BenchmarkParseXMLTextInPieces parses a 1 MB name sent as 100,000 CDATA
// sections: text gathered with += took 8 s, quadratic in the pieces.
func BenchmarkParseXMLTextInPieces(b *testing.B) {
	body := []byte("<a><n>" + strings.Repeat("<![CDATA[0123456789]]>", 100_000) + "</n></a>")
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := parseXML(body); err != nil {
			b.Fatal(err)
		}
	}
}
