package pipeline

import (
	"reflect"
	"testing"
)

func TestInterpolate(t *testing.T) {
	env := envOf("HOST", "example.com", "EMPTY", "", "DOLLARS", "a$$b${HOST}")
	cases := []struct {
		in, want string
		problems []string
	}{
		{"plain", "plain", nil},
		{"${HOST}", "example.com", nil},
		{"https://${HOST}:8443/${HOST}", "https://example.com:8443/example.com", nil},
		{"${MISSING:-250}", "250", nil},
		{"${HOST:-other}", "example.com", nil},
		{"${EMPTY:-fallback}", "fallback", nil},
		{"${EMPTY}", "", nil},
		{"${MISSING:-}", "", nil},
		{"${MISSING:-a:-b}", "a:-b", nil},
		{"$${HOST}", "${HOST}", nil},
		{"$$$$", "$$", nil},
		{"$$${HOST}", "$example.com", nil},
		{"^abc$", "^abc$", nil},
		{"a $ b", "a $ b", nil},
		{"${DOLLARS}", "a$$b${HOST}", nil}, // values are not scanned again
		{"${MISSING}", "", []string{"environment variable MISSING is not set (use ${MISSING:-default} for a default)"}},
		{"${A}-${B}", "-", []string{
			"environment variable A is not set (use ${A:-default} for a default)",
			"environment variable B is not set (use ${B:-default} for a default)",
		}},
		{"${}", "", []string{"invalid ${...} reference: want ${NAME} or ${NAME:-default}, NAME made of letters, digits and _ (write $$ for a literal $)"}},
		{"${A B}", "", []string{"invalid ${...} reference: want ${NAME} or ${NAME:-default}, NAME made of letters, digits and _ (write $$ for a literal $)"}},
		{"${A-b}", "", []string{"invalid ${...} reference: want ${NAME} or ${NAME:-default}, NAME made of letters, digits and _ (write $$ for a literal $)"}},
		{"x${HOST", "", []string{"unterminated ${ (write $$ for a literal $)"}},
	}
	for _, tc := range cases {
		got, problems := interpolate(tc.in, env)
		if len(problems) == 0 && got != tc.want || !reflect.DeepEqual(problems, tc.problems) {
			t.Errorf("interpolate(%q) = %q, %q; want %q, %q", tc.in, got, problems, tc.want, tc.problems)
		}
	}
}

func TestInterpolateNilEnv(t *testing.T) {
	if got, problems := interpolate("${A:-x}", nil); got != "x" || problems != nil {
		t.Errorf("got %q, %q", got, problems)
	}
	if _, problems := interpolate("${A}", nil); len(problems) != 1 {
		t.Errorf("got %q, want one problem", problems)
	}
}

func TestConfigErrorFormat(t *testing.T) {
	cases := []struct {
		err  ConfigError
		want string
	}{
		{ConfigError{File: "jobs.yaml", Line: 3, Col: 5, Path: "jobs[2].page_size", Msg: "m"}, "jobs.yaml:3:5: jobs[2].page_size: m"},
		{ConfigError{File: "jobs.yaml", Line: 3, Msg: "m"}, "jobs.yaml:3: m"},
		{ConfigError{File: "jobs.yaml", Msg: "m"}, "jobs.yaml: m"},
		{ConfigError{File: "jobs.yaml", Line: 1, Col: 1, Path: "version", Msg: "m"}, "jobs.yaml:1:1: version: m"},
	}
	for _, tc := range cases {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}
