package pipeline

import (
	"bytes"
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/saas-export/export/sources"
)

// obj is one JSON Schema object; encoding/json sorts its keys, so the
// output is stable.
type obj = map[string]any

// ConfigSchema returns the JSON Schema (draft 2020-12) of jobs.yaml, for
// editors. It is built from the loader's own key tables and enums, so a
// key the loader learns shows up here too.
func ConfigSchema() ([]byte, error) {
	s, _ := configSchema(sources.All())
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // descriptions quote URLs with & in them
	enc.SetIndent("", "  ")
	err := enc.Encode(s)
	return b.Bytes(), err
}

// schemaGaps lists what configSchema could not type: untyped are loader
// keys with no schema here (emitted as {}), stale are schemas for keys the
// loader no longer has. Both should be empty; a test says which are not.
type schemaGaps struct{ untyped, stale []string }

// Scalar patterns. Every scalar may hold ${NAME} or ${NAME:-default}
// (interpolated before it is parsed), so each typed value also accepts a
// string containing one.
const (
	interpPattern   = `\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}`
	durationUnit    = `(ns|us|µs|μs|ms|s|m|h)`
	durationPart    = `(([0-9]+(\.[0-9]*)?|\.[0-9]+)` + durationUnit + `)`
	durationPattern = `^(0|` + durationPart + `+)$`
	// A rate's period is a duration whose leading 1 may be left out.
	ratePattern   = `^\s*\+?[0-9]+\s*/\s*(` + durationUnit + durationPart + `*|` + durationPart + `+)\s*$`
	headerPattern = "^[!#$%&'*+\\-.^_`|~0-9A-Za-z]+$"
)

var interp = obj{"type": "string", "pattern": interpPattern, "description": "a ${NAME} or ${NAME:-default} reference"}

// describe adds a description, when there is one, to o.
func describe(o obj, desc string) obj {
	if desc != "" {
		o["description"] = desc
	}
	return o
}

func withInterp(s obj, desc string) obj { return describe(obj{"anyOf": []any{s, interp}}, desc) }

func strType(desc string) obj { return describe(obj{"type": "string"}, desc) }

// intType is an integer from lo (and up to hi when hi > 0); YAML may
// quote it or write it with digit separators (1_000_000).
func intType(lo, hi int64, desc string) obj {
	n := obj{"type": "integer", "minimum": lo}
	if hi > 0 {
		n["maximum"] = hi
	}
	return describe(obj{"anyOf": []any{n, obj{"type": "string", "pattern": integerText.String()}, interp}}, desc)
}

// boolType: the YAML 1.2 booleans, which the loader also takes quoted.
func boolType(desc string) obj {
	return describe(obj{"anyOf": []any{
		obj{"type": "boolean"},
		obj{"type": "string", "enum": []string{"true", "True", "TRUE", "false", "False", "FALSE"}},
		interp,
	}}, desc)
}

func enumType(values []string, desc string) obj { return withInterp(obj{"enum": values}, desc) }

func durationType(zeroOK bool, desc string) obj {
	d := obj{"type": "string", "pattern": durationPattern}
	if !zeroOK {
		d["not"] = obj{"const": "0"}
	}
	return withInterp(d, desc)
}

func rateType(desc string) obj {
	return withInterp(obj{"type": "string", "pattern": ratePattern}, desc)
}

func sizeType(desc string) obj {
	return describe(obj{"anyOf": []any{
		obj{"type": "integer", "minimum": minPartSize, "maximum": maxPartSize},
		obj{"type": "string", "pattern": sizeText.String()},
		interp,
	}}, desc)
}

// exclusive forbids setting both of each pair (a secret and its *_file).
func exclusive(pairs ...[2]string) []any {
	var out []any
	for _, p := range pairs {
		out = append(out, obj{"not": obj{"required": []string{p[0], p[1]}}})
	}
	return out
}

type schemaGen struct{ gaps schemaGaps }

// object is a mapping whose keys are exactly keys, one of the loader's
// tables; a key ending in * stands for every key with that prefix.
func (g *schemaGen) object(table string, keys []string, types map[string]obj) obj {
	props, patterns := obj{}, obj{}
	for _, k := range keys {
		if prefix, ok := strings.CutSuffix(k, "*"); ok {
			patterns["^"+regexp.QuoteMeta(prefix)] = obj{}
			continue
		}
		t, ok := types[k]
		if !ok {
			g.gaps.untyped = append(g.gaps.untyped, table+"."+k)
			t = obj{}
		}
		props[k] = t
	}
	for k := range types {
		if !slices.Contains(keys, k) {
			g.gaps.stale = append(g.gaps.stale, table+"."+k)
		}
	}
	o := obj{"type": "object", "properties": props, "additionalProperties": false}
	if len(patterns) > 0 {
		o["patternProperties"] = patterns
	}
	return o
}

func configSchema(providers []sources.Provider) (obj, schemaGaps) {
	var g schemaGen
	columnNames := make([]string, len(complianceColumns))
	for i, c := range complianceColumns {
		columnNames[i] = c.Name
	}
	columnList := func(desc string) obj {
		return obj{"type": "array", "uniqueItems": true, "items": enumType(columnNames, ""), "description": desc}
	}
	s3 := g.object("s3", s3Keys, map[string]obj{
		"region":             strType("the AWS region"),
		"endpoint":           strType("an S3-compatible endpoint (MinIO); empty for AWS"),
		"force_path_style":   boolType("path-style bucket addressing (MinIO)"),
		"sse":                enumType(sseModes, "server-side encryption"),
		"kms_key_id":         strType("the KMS key for sse: aws:kms or aws:kms:dsse"),
		"part_size":          sizeType("multipart upload part size, 5MiB to 5GiB, like 16MiB"),
		"storage_class":      enumType(storageClasses, `the objects' storage class; "" leaves the bucket's default`),
		"tags":               {"type": "object", "maxProperties": maxS3Tags, "additionalProperties": obj{"type": []string{"string", "null"}}, "description": "object tags"},
		"upload_concurrency": intType(1, maxUploadConcurrency, "parts uploaded at once per destination"),
	})
	outputTypes := map[string]obj{
		"destination": strType("a directory, file:///abs/dir, or s3://bucket/prefix"),
		"formats": {"type": "array", "minItems": 1, "uniqueItems": true, "items": enumType(formatNames, ""),
			"description": "the files written for each job"},
		"path": strType("the run folder under destination; placeholders: {job} {provider} {format} {date} {run_id} ({format}: a folder per format, each with its own _manifest.json and _SUCCESS)"),
		"compression": g.object("compression", compressionKeys, map[string]obj{
			"parquet": enumType(parquetCompressions, ""),
			"jsonl":   enumType(textCompressions, ""),
			"csv":     enumType(textCompressions, ""),
		}),
		"max_rows_per_file":   intType(1, 0, "rotate to a new file after this many rows"),
		"include_raw":         boolType("add the provider's original record as a JSON column"),
		"csv_escape_formulas": boolType("prefix CSV cells that spreadsheets would run as formulas"),
		"s3":                  s3,
		"columns": {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": false,
			"properties":  obj{"keep": columnList("the columns to write; required columns stay"), "drop": columnList("the columns to leave out")},
			"description": "keep or drop columns (one of the two)"},
		"hash":          columnList("columns written as HMAC-SHA256 (hex) under hash_key"),
		"hash_key":      strType("the HMAC key, at least 16 bytes; required when hash is set"),
		"hash_key_file": strType("a file holding hash_key"),
	}
	output := g.object("output", outputKeys, outputTypes)
	output["allOf"] = exclusive([2]string{"hash_key", "hash_key_file"})

	jobTypes := map[string]obj{
		"name":                 withInterp(obj{"type": "string", "pattern": jobName.String()}, "unique; a-z, 0-9 and -"),
		"provider":             enumType(providerNames(providers), "the SaaS API"),
		"base_url":             strType("everything before the endpoint path in the provider's docs; `simulator` = built-in"),
		"auth":                 g.auth(),
		"filter":               {"type": "object", "description": "provider-native filter, checked against that provider's options"},
		"sort":                 {"description": "provider-native sort order, where the provider has one"},
		"page_size":            intType(1, 0, "records per page"),
		"max_in_flight":        intType(1, 0, "requests in flight at once for this job"),
		"rate_limit":           rateType("requests per period, like 100/1m or 10/s"),
		"timeout":              durationType(false, "per request, like 30s"),
		"incremental":          boolType("fetch only what changed since the last successful run"),
		"overlap":              durationType(true, "incremental: re-read this far behind the cursor"),
		"allow_count_mismatch": boolType("succeed with a warning when the records differ from the API's count"),
		"allow_insecure_http":  boolType("allow a plain http:// base_url off loopback"),
		"output":               output,
		"wire_format":          strType("the provider's encoding, where it offers a choice"),
		"retry": g.object("retry", retryKeys, map[string]obj{
			"max_attempts": intType(1, 0, "attempts per request"),
			"max_backoff":  durationType(false, "the longest wait between attempts"),
		}),
		"drift": g.object("drift", driftKeys, map[string]obj{
			"max_restarts": intType(0, maxRestarts, "re-reads of a listing that changed while it was paged"),
			"confirm":      boolType("read the listing once more to confirm it did not change"),
		}),
		"tls": g.object("tls", tlsKeys, map[string]obj{
			"ca_file": strType("a private CA bundle (PEM), relative to the config file; verification is always on"),
		}),
	}
	// The output keys a job may also set directly have the same types.
	for _, group := range jobOutputKeys {
		for _, k := range group {
			if t, ok := outputTypes[k]; ok {
				jobTypes[k] = t
			}
		}
	}
	job := g.object("job", jobKeys, jobTypes)
	job["required"] = []string{"name", "provider"}
	defs := obj{}
	rules := exclusive([2]string{"hash_key", "hash_key_file"})
	for _, p := range providers {
		rules = append(rules, providerRule(p, defs))
	}
	job["allOf"] = rules

	root := g.object("root", rootKeys, map[string]obj{
		"version":     withInterp(obj{"const": 1}, "the config format: 1"),
		"concurrency": intType(1, 0, "jobs run at once"),
		"output":      output,
		"state": g.object("state", stateKeys, map[string]obj{
			"dir":       strType("where incremental jobs keep their state: a directory or s3://bucket/prefix"),
			"s3":        s3,
			"lease_ttl": durationType(false, "how long a run's lease on a job's state lasts unrenewed"),
			"lock_wait": durationType(true, "how long to wait for another run's lease; 0: fail at once"),
		}),
		"jobs": {"type": "array", "minItems": 1, "items": job},
	})
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["title"] = "export jobs.yaml"
	root["required"] = []string{"version", "jobs"}
	root["$defs"] = defs
	return root, g.gaps
}

func providerNames(providers []sources.Provider) []string {
	names := make([]string, len(providers))
	for i, p := range providers {
		names[i] = p.Name
	}
	return names
}

// auth: the keys of authKeys, with the credentials each type needs, each
// given directly or by its *_file twin, and those of other types refused.
func (g *schemaGen) auth() obj {
	types := map[string]obj{
		"type": enumType(append([]string{""}, slices.Sorted(maps.Keys(authTypes))...), "basic, bearer or header"),
		"headers": {"type": "object", "propertyNames": obj{"pattern": headerPattern},
			"additionalProperties": obj{"type": []string{"string", "null"}},
			"description":          "extra headers sent on every request (secret)"},
	}
	var pairs [][2]string
	for _, k := range credentialKeys {
		types[k] = strType("")
		if f := k + "_file"; slices.Contains(authKeys, f) {
			types[f] = strType("a file holding " + k)
			pairs = append(pairs, [2]string{k, f})
		}
	}
	a := g.object("auth", authKeys, types)
	rules := exclusive(pairs...)
	for _, typ := range slices.Sorted(maps.Keys(authTypes)) {
		var then []any
		for _, k := range credentialKeys {
			given := []any{obj{"required": []string{k}}}
			if slices.Contains(authKeys, k+"_file") {
				given = append(given, obj{"required": []string{k + "_file"}})
			}
			if slices.Contains(authTypes[typ], k) {
				then = append(then, obj{"anyOf": given})
			} else {
				then = append(then, obj{"not": obj{"anyOf": given}})
			}
		}
		rules = append(rules, obj{
			"if":   obj{"properties": obj{"type": obj{"const": typ}}, "required": []string{"type"}},
			"then": obj{"allOf": then},
		})
	}
	a["allOf"] = rules
	return a
}

// providerRule narrows a job of provider p: its filter keys (a $defs
// entry, since a filter may nest filters), page sizes, wire formats, sort
// and base_url.
func providerRule(p sources.Provider, defs obj) obj {
	ref := "#/$defs/filter-" + p.Name
	props := obj{}
	for _, f := range p.Filters {
		t := filterValueType(f.Type, ref)
		t["description"] = f.Doc
		props[f.Key] = t
	}
	defs["filter-"+p.Name] = obj{"type": "object", "properties": props, "additionalProperties": false}
	then := obj{"filter": obj{"$ref": ref}}
	switch ps := p.PageSize; {
	case len(ps.Allowed) > 0:
		then["page_size"] = withInterp(obj{"enum": ps.Allowed}, "one of "+joinInts(ps.Allowed))
	case ps.Max > 0:
		then["page_size"] = intType(1, int64(ps.Max), "")
	}
	switch {
	case len(p.WireFormats) >= 2:
		then["wire_format"] = enumType(p.WireFormats, "")
	default:
		then["wire_format"] = false // the loader refuses it: no choice
	}
	if p.Sort == "" {
		then["sort"] = false
	}
	rule := obj{
		"if":   obj{"properties": obj{"provider": obj{"const": p.Name}}, "required": []string{"provider"}},
		"then": obj{"properties": then},
	}
	if p.DefaultBaseURL == "" {
		rule["then"].(obj)["required"] = []string{"base_url"}
	}
	return rule
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// filterValueType reads a FilterDoc type ("integer | list of integers");
// a type it does not know leaves the value unconstrained. filterRef is
// the provider's own filter, for types that nest one.
func filterValueType(doc, filterRef string) obj {
	var alts []any
	for alt := range strings.SplitSeq(doc, " | ") {
		t := filterAlt(alt, filterRef)
		if t == nil {
			return obj{}
		}
		alts = append(alts, t)
	}
	if len(alts) == 1 {
		return alts[0].(obj)
	}
	return obj{"anyOf": alts}
}

func filterAlt(alt, filterRef string) obj {
	scalar := map[string]obj{
		"string":  {"type": "string"},
		"date":    {"type": "string"},
		"integer": withInterp(obj{"type": "integer"}, ""),
		"bool":    withInterp(obj{"type": "boolean"}, ""),
		"filter":  {"$ref": filterRef},
	}
	if t, ok := scalar[alt]; ok {
		return t
	}
	if item, ok := strings.CutPrefix(alt, "list of "); ok {
		if t, ok := scalar[strings.TrimSuffix(item, "s")]; ok {
			return obj{"type": "array", "items": t}
		}
	}
	if strings.HasPrefix(alt, "{start, end}") {
		return obj{"type": "object", "properties": obj{"start": obj{"type": "string"}, "end": obj{"type": "string"}}}
	}
	return nil
}
