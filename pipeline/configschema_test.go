package pipeline

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/saas-export/export/sources"
)

// compiledConfigSchema compiles ConfigSchema's output with a real
// validator, as an editor would read it.
func compiledConfigSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	b, err := ConfigSchema()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("jobs.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("jobs.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// validateYAML validates YAML data against s as yaml-language-server
// does: the YAML decoded, then checked as JSON.
func validateYAML(t *testing.T, s *jsonschema.Schema, data []byte) error {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	return s.Validate(inst)
}

func TestConfigSchemaTypesEveryLoaderKey(t *testing.T) {
	_, gaps := configSchema(sources.All())
	if len(gaps.untyped) > 0 {
		t.Errorf("keys the loader knows that configschema.go gives no type (emitted as {}): %s", strings.Join(gaps.untyped, ", "))
	}
	if len(gaps.stale) > 0 {
		t.Errorf("keys configschema.go types that the loader no longer has: %s", strings.Join(gaps.stale, ", "))
	}
}

// invalidFixtures are the config fixtures that are wrong on purpose.
var invalidFixtures = []string{"five-mistakes.yaml"}

// TestConfigSchemaAcceptsValidConfigs: every config fixture the loader
// accepts, and the root jobs.yaml, pass the schema.
func TestConfigSchemaAcceptsValidConfigs(t *testing.T) {
	s := compiledConfigSchema(t)
	files, err := filepath.Glob(fixture("*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join("..", "jobs.yaml"))
	env := envOf("MEDIPIM_KEY_ID", "id", "MEDIPIM_KEY_SECRET", "s3cr3t", "TIMEOUT", "", "NS_CUSTOMER", "4711")
	for _, file := range files {
		if slices.Contains(invalidFixtures, filepath.Base(file)) {
			continue
		}
		t.Run(filepath.Base(file), func(t *testing.T) {
			if _, err := Load(file, env); err != nil {
				t.Fatalf("the loader refuses it (add it to invalidFixtures if that is its point):\n%v", err)
			}
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if err := validateYAML(t, s, data); err != nil {
				t.Errorf("the schema refuses a config the loader accepts:\n%v", err)
			}
		})
	}
}

// rootConfig is the root jobs.yaml decoded: a valid config with a job
// for every provider, to vary one setting at a time.
func rootConfig(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "jobs.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// set sets the value at path in cfg, creating mappings on the way; an
// int element indexes a list.
func set(t *testing.T, cfg map[string]any, v any, path ...any) {
	t.Helper()
	var cur any = cfg
	for i, p := range path {
		last := i == len(path)-1
		switch p := p.(type) {
		case string:
			m := cur.(map[string]any)
			if last {
				m[p] = v
				return
			}
			if m[p] == nil {
				m[p] = map[string]any{}
			}
			cur = m[p]
		case int:
			cur = cur.([]any)[p]
		}
	}
}

// jobIndex is the index of the root jobs.yaml's job of provider.
func jobIndex(t *testing.T, cfg map[string]any, provider string) int {
	t.Helper()
	for i, j := range cfg["jobs"].([]any) {
		if j.(map[string]any)["provider"] == provider {
			return i
		}
	}
	t.Fatalf("jobs.yaml has no %s job", provider)
	return -1
}

// agree checks that the loader and the schema both accept cfg, or both
// refuse it.
func agree(t *testing.T, s *jsonschema.Schema, cfg map[string]any, wantValid bool) {
	t.Helper()
	data, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, loadErr := Parse(filepath.Join("..", "jobs.yaml"), data, envOf())
	schemaErr := validateYAML(t, s, data)
	if (loadErr == nil) != wantValid {
		t.Errorf("loader: valid=%v, want %v: %v", loadErr == nil, wantValid, loadErr)
	}
	if (schemaErr == nil) != wantValid {
		t.Errorf("schema: valid=%v, want %v: %v", schemaErr == nil, wantValid, schemaErr)
	}
}

func TestConfigSchemaAgreesOnUnknownKeys(t *testing.T) {
	s := compiledConfigSchema(t)
	agree(t, s, rootConfig(t), true)
	// One path per key table, where an unknown key goes.
	tables := map[string][]any{
		"rootKeys":        {},
		"outputKeys":      {"output"},
		"jobOutputKeys":   {"jobs", 0, "output"},
		"compressionKeys": {"output", "compression"},
		"s3Keys":          {"output", "s3"},
		"stateS3Keys":     {"state", "s3"},
		"stateKeys":       {"state"},
		"jobKeys":         {"jobs", 0},
		"retryKeys":       {"jobs", 0, "retry"},
		"driftKeys":       {"jobs", 0, "drift"},
		"tlsKeys":         {"jobs", 0, "tls"},
		"authKeys":        {"jobs", 0, "auth"},
	}
	for name, path := range tables {
		t.Run(name, func(t *testing.T) {
			cfg := rootConfig(t)
			set(t, cfg, "1", append(slices.Clone(path), "bogus_key")...)
			agree(t, s, cfg, false)
		})
	}
	t.Run("x-anchors", func(t *testing.T) {
		cfg := rootConfig(t)
		cfg["x-defaults"] = map[string]any{"timeout": "30s"}
		agree(t, s, cfg, true)
	})
}

func TestConfigSchemaAgreesOnEnums(t *testing.T) {
	s := compiledConfigSchema(t)
	requestor := jobIndex(t, rootConfig(t), "requestor")
	enums := []struct {
		name   string
		values []string
		path   []any
		list   bool // the setting is a list of the values
	}{
		{"formatNames", formatNames, []any{"output", "formats"}, true},
		{"parquetCompressions", parquetCompressions, []any{"output", "compression", "parquet"}, false},
		{"textCompressions/jsonl", textCompressions, []any{"output", "compression", "jsonl"}, false},
		{"textCompressions/csv", textCompressions, []any{"output", "compression", "csv"}, false},
		{"sseModes", sseModes, []any{"output", "s3", "sse"}, false},
		{"storageClasses", storageClasses, []any{"output", "s3", "storage_class"}, false},
		{"stateSSEModes", sseModes, []any{"state", "s3", "sse"}, false},
		{"wireFormats", mustProvider(t, "requestor").WireFormats, []any{"jobs", requestor, "wire_format"}, false},
		{"columns", complianceColumnNamesList(), []any{"output", "columns", "drop"}, true},
	}
	for _, e := range enums {
		t.Run(e.name, func(t *testing.T) {
			value := func(v string) any {
				if e.list {
					return []any{v}
				}
				return v
			}
			for _, v := range e.values {
				if e.name == "columns" && !droppable(v) {
					continue
				}
				cfg := rootConfig(t)
				set(t, cfg, value(v), e.path...)
				agree(t, s, cfg, true)
			}
			cfg := rootConfig(t)
			set(t, cfg, value("no-such-value"), e.path...)
			agree(t, s, cfg, false)
		})
	}
	// The providers and auth types: jobs.yaml uses every one of them
	// (TestRootJobsFileExportsEveryProvider checks the providers).
	for name, path := range map[string][]any{"provider": {"jobs", 0, "provider"}, "auth.type": {"jobs", 0, "auth", "type"}} {
		t.Run(name, func(t *testing.T) {
			cfg := rootConfig(t)
			set(t, cfg, "no-such-value", path...)
			agree(t, s, cfg, false)
		})
	}
}

func mustProvider(t *testing.T, name string) sources.Provider {
	t.Helper()
	p, ok := sources.Lookup(name)
	if !ok {
		t.Fatalf("no provider %s", name)
	}
	return p
}

func complianceColumnNamesList() []string {
	return strings.Split(complianceColumnNames(), ", ")
}

// droppable: the columns the loader lets a job drop (required ones stay).
func droppable(name string) bool {
	c, _ := complianceColumn(name)
	return checkDroppable(c) == ""
}
