package pipeline

import (
	"fmt"
	"regexp"
	"strings"
)

// envName is what a ${...} reference may name: a POSIX shell variable.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// interpolate replaces ${NAME} and ${NAME:-default} in s with values from
// env, and $$ with a single $. Substituted values are not scanned again, so
// a secret that contains $ stays as it is. A $ followed by anything else is
// kept literally: regular expressions in filters end with $ too.
//
// The problems it returns name variables but never quote s, which may be
// the value of a secret.
func interpolate(s string, env func(string) (string, bool)) (string, []string) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	var problems []string
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			b.WriteString(s)
			return b.String(), problems
		}
		b.WriteString(s[:i])
		s = s[i:]
		switch {
		case strings.HasPrefix(s, "$$"):
			b.WriteByte('$')
			s = s[2:]
		case strings.HasPrefix(s, "${"):
			end := strings.IndexByte(s, '}')
			if end < 0 {
				return "", append(problems, "unterminated ${ (write $$ for a literal $)")
			}
			v, problem := expandRef(s[2:end], env)
			if problem != "" {
				problems = append(problems, problem)
			}
			b.WriteString(v)
			s = s[end+1:]
		default:
			b.WriteByte('$')
			s = s[1:]
		}
	}
}

// expandRef resolves the inside of one ${...}. As in the shell, the
// default of ${NAME:-default} also replaces a variable that is set but
// empty.
func expandRef(ref string, env func(string) (string, bool)) (string, string) {
	name, def, hasDef := strings.Cut(ref, ":-")
	if !envName.MatchString(name) {
		return "", "invalid ${...} reference: want ${NAME} or ${NAME:-default}, NAME made of letters, digits and _ (write $$ for a literal $)"
	}
	var v string
	var ok bool
	if env != nil {
		v, ok = env(name)
	}
	switch {
	case hasDef && v == "":
		return def, ""
	case !ok:
		return "", fmt.Sprintf("environment variable %s is not set (use ${%s:-default} for a default)", name, name)
	}
	return v, ""
}
