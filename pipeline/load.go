package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/saas-export/export/sources"
)

// Load reads the config file at path, validates it and fills in the
// defaults. env looks up ${NAME} references (os.LookupEnv in production).
// Any error is a ConfigErrors listing every problem found.
func Load(path string, env func(string) (string, bool)) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is already named by the error's File
		}
		return nil, ConfigErrors{{File: path, Msg: "cannot read the config file: " + err.Error()}}
	}
	return Parse(path, data, env)
}

// Parse validates config data as if read from file, which names it in
// errors and anchors relative *_file paths.
func Parse(file string, data []byte, env func(string) (string, bool)) (*Config, error) {
	return parse(file, data, env, sources.All())
}

// parse is Parse against a given set of providers.
func parse(file string, data []byte, env func(string) (string, bool), providers []sources.Provider) (*Config, error) {
	root, err := parseDocument(file, data)
	if err != nil {
		return nil, ConfigErrors{*err}
	}
	d := newDecoder(file, env, providers)
	cfg := d.config(root)
	if len(d.errs) > 0 {
		sortErrors(d.errs)
		return nil, d.errs
	}
	return cfg, nil
}

// parseDocument parses data into the root value of its only document.
func parseDocument(file string, data []byte) (value, *ConfigError) {
	if err := checkText(file, data); err != nil {
		return value{}, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return value{}, syntaxError(file, data, err)
	}
	if len(doc.Content) == 0 {
		return value{}, &ConfigError{File: file, Msg: "the file is empty: expected a mapping with version: 1 and jobs"}
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return value{}, syntaxError(file, data, err)
	default:
		return value{}, &ConfigError{File: file, Line: next.Line, Col: next.Column,
			Msg: "a second YAML document: a config file holds one (remove this ---)"}
	}
	return value{at: doc.Content[0], node: doc.Content[0]}, nil
}

// checkText finds what YAML does not accept as text, with a position:
// yaml.v3 reports these without one.
func checkText(file string, data []byte) *ConfigError {
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return &ConfigError{File: file, Line: line, Col: col, Msg: "invalid UTF-8: the config must be UTF-8 text"}
		case r == '\n':
			line, col = line+1, 0
		case r < 0x20 && r != '\t' && r != '\r', r >= 0x7f && r <= 0x9f && r != 0x85:
			return &ConfigError{File: file, Line: line, Col: col, Msg: fmt.Sprintf("control character %U is not allowed", r)}
		}
		i += size
		col++
	}
	return nil
}

var (
	yamlErrorLine = regexp.MustCompile(`^yaml: line ([0-9]+): (.*)$`)
	unknownAnchor = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)
)

// syntaxError turns a yaml.v3 parse error into a ConfigError with the best
// line it can tell. yaml.v3 puts the line in the message only, and only
// when it is not the first; for parser-stage errors ("did not find
// expected ...") it prints the 0-based line of the enclosing block.
func syntaxError(file string, data []byte, err error) *ConfigError {
	msg := err.Error()
	if m := unknownAnchor.FindStringSubmatch(msg); m != nil {
		line, col := locate(data, "*"+m[1])
		return &ConfigError{File: file, Line: line, Col: col, Msg: fmt.Sprintf("invalid YAML: unknown anchor %q referenced", m[1])}
	}
	line := 1
	if m := yamlErrorLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if strings.HasPrefix(msg, "did not find expected") {
			line++
		}
	}
	return &ConfigError{File: file, Line: line, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// locate returns the 1-based line and column of the first occurrence of
// s in data, or 0, 0.
func locate(data []byte, s string) (int, int) {
	i := bytes.Index(data, []byte(s))
	if i < 0 {
		return 0, 0
	}
	before := data[:i]
	lineStart := bytes.LastIndexByte(before, '\n') + 1
	return bytes.Count(before, []byte("\n")) + 1, utf8.RuneCount(before[lineStart:]) + 1
}
