package pipeline

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources"
	"github.com/saas-export/export/sources/httpsource"
	"github.com/saas-export/export/sources/simulator"
)

// TestEveryProviderMapsEveryColumnToRaw checks the registry: for each
// provider, every column a job may drop or hash has a RawFields entry
// (an empty one for a column the provider does not read from its
// records), no other column has one, and every path compiles.
func TestEveryProviderMapsEveryColumnToRaw(t *testing.T) {
	var droppable, hashable []schema.Column
	for _, c := range complianceColumns {
		if checkDroppable(c) == "" {
			droppable = append(droppable, c)
		}
		if checkHashable(c) == "" {
			hashable = append(hashable, c)
		}
	}
	if len(droppable) < 15 || len(hashable) < 10 {
		t.Fatalf("%d droppable and %d hashable columns: the checks changed", len(droppable), len(hashable))
	}
	for _, p := range sources.All() {
		for _, c := range slices.Concat(droppable, hashable) {
			if _, ok := p.RawFields[c.ID]; !ok {
				t.Errorf("%s: no RawFields entry for %s", p.Name, c.Name)
			}
		}
		for id := range p.RawFields {
			if !slices.ContainsFunc(droppable, func(c schema.Column) bool { return c.ID == id }) {
				t.Errorf("%s: RawFields has an entry for column %d, which no job can drop", p.Name, id)
			}
		}
		if _, err := newRawScrubber(p.RawFields, droppable, nil); err != nil {
			t.Errorf("%s, every column dropped: %v", p.Name, err)
		}
		if _, err := newRawScrubber(p.RawFields, nil, hashable); err != nil {
			t.Errorf("%s, every column hashed: %v", p.Name, err)
		}
	}
}

// TestIncludeRawNeedsRawFields checks that a provider without a RawFields
// entry for a dropped or hashed column makes an include_raw job a config
// error, and nothing else does.
func TestIncludeRawNeedsRawFields(t *testing.T) {
	fake := sources.Provider{Name: "fake", DefaultBaseURL: "https://fake.example",
		PageSize:  httpsource.PageSizes{Default: 10},
		RawFields: map[schema.ColumnID][]string{schema.ColEmail: {"mail"}, schema.ColPhone: {}}}
	yml := "version: 1\njobs:\n" +
		"  - {name: a, provider: fake, include_raw: true, columns: {drop: [phone, last_name]}, hash: [email, username], hash_key: " + testHashKey + "}\n" +
		"  - {name: b, provider: fake, include_raw: true, columns: {drop: [phone]}, hash: [email], hash_key: " + testHashKey + "}\n" +
		"  - {name: c, provider: fake, columns: {drop: [last_name]}}\n"
	_, err := parse("jobs.yaml", []byte(yml), nil, []sources.Provider{fake})
	const prefix = `jobs.yaml:3:44: jobs[0].include_raw: job "a": provider fake does not say which raw members `
	assertLines(t, errorLines(t, err), []string{
		prefix + "last_name is read from, so raw cannot be scrubbed of it",
		prefix + "username is read from, so raw cannot be scrubbed of it",
	})
}

// rawJobs exports every provider from the simulator with include_raw, in
// every format, JSONL and CSV compressed; Requestor in both wire formats,
// Kare with extend=organization, the nested object organization_id reads.
const rawJobs = `
version: 1
output:
  destination: {{out}}
  formats: [jsonl, csv, parquet]
  compression: {jsonl: gzip, csv: zstd}
  include_raw: true
{{controls}}
jobs:
  - {name: kare, provider: kare, base_url: simulator, filter: {extend: [organization]},
     auth: {type: bearer, token: demo-token, headers: {x-session-token: demo-session}}}
  - {name: mctime, provider: mctime, base_url: simulator, auth: {type: header, name: x-api-key, value: demo-key}}
  - {name: medipim, provider: medipim, base_url: simulator, auth: {type: basic, username: demo, password: demo-password}}
  - {name: nameshield, provider: nameshield, base_url: simulator, auth: {type: bearer, token: demo-token}}
  - {name: requestor-json, provider: requestor, base_url: simulator, wire_format: json,
     auth: {type: basic, username: demo, password: demo-password}}
  - {name: requestor-xml, provider: requestor, base_url: simulator, wire_format: xml,
     auth: {type: basic, username: demo, password: demo-password}}
`

// rawCoincidences are raw members that no column reads but that hold a
// column's value in the simulator's data: Kare's activatedAt is its
// createdAt there. They stay in raw, so their values are not looked for.
var rawCoincidences = map[string][]string{"kare": {"activatedAt"}}

// rawAbsent are RawFields paths the simulator never sends: Kare's
// organizationId is the docs' other possible shape of the organization.
var rawAbsent = map[string][]string{"kare": {"organizationId"}}

// TestRawComplianceEveryProvider exports every provider with include_raw
// and compliance controls, and checks every output file of the run
// against an unprotected run of the same users: no value of a dropped
// or hashed column is left anywhere (the Parquet file read with
// arrow-go), raw pseudonyms are the columns', and nothing else changed.
func TestRawComplianceEveryProvider(t *testing.T) {
	plain := rawRun(t, "plain", "")
	var everything []string
	for _, c := range complianceColumns {
		if checkDroppable(c) == "" {
			everything = append(everything, c.Name)
		}
	}
	cases := []struct {
		name, controls  string
		dropped, hashed []string
	}{
		{name: "hash email, phones, full_name, organization_id; drop phone, last_name",
			controls: "  columns: {drop: [phone, last_name]}\n" +
				"  hash: [email, phones, full_name, organization_id]\n  hash_key: " + testHashKey,
			dropped: []string{"phone", "last_name"}, hashed: []string{"email", "phones", "full_name", "organization_id"}},
		{name: "every droppable column dropped",
			controls: "  columns: {drop: [" + strings.Join(everything, ", ") + "]}",
			dropped:  everything},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			protected := rawRun(t, fmt.Sprintf("r%d", i+1), tc.controls)
			for _, job := range plain.summary.Jobs {
				t.Run(job.Job, func(t *testing.T) {
					checkRawJob(t, plain.job(t, job.Job), protected.job(t, job.Job), tc.dropped, tc.hashed)
				})
			}
		})
	}
}

// rawRunOutput is one run of rawJobs: its summary and each job's files.
type rawRunOutput struct {
	summary *Summary
	jobs    map[string]*rawJobOutput
}

// rawJobOutput is one job's output, read back through the summary.
type rawJobOutput struct {
	result JobResult
	files  map[string][]byte           // by URI, decompressed; manifests included
	rows   map[string][]map[string]any // by format, in file order
}

func (r rawRunOutput) job(t *testing.T, name string) *rawJobOutput {
	t.Helper()
	j, ok := r.jobs[name]
	if !ok {
		t.Fatalf("no job %s in the run", name)
	}
	return j
}

// rawRun runs rawJobs with controls into a new folder and reads back
// every file the summary names, and the manifest beside each.
func rawRun(t *testing.T, runID, controls string) rawRunOutput {
	t.Helper()
	yml := strings.NewReplacer("{{out}}", t.TempDir(), "{{controls}}", controls).Replace(rawJobs)
	cfg, err := Parse("jobs.yaml", []byte(yml), envOf())
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	sum, err := Run(context.Background(), cfg, Options{
		RunID: runID, Now: pinnedNow, Version: "test",
		Simulator: simulator.Options{Users: 120, Seed: 11},
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != StatusSucceeded {
		t.Fatalf("run %s: status %q: %+v", runID, sum.Status, sum.Jobs)
	}
	out := rawRunOutput{summary: sum, jobs: map[string]*rawJobOutput{}}
	for _, res := range sum.Jobs {
		j := &rawJobOutput{result: res, files: map[string][]byte{}, rows: map[string][]map[string]any{}}
		for _, f := range res.Files {
			data := readRawOutput(t, f.URI)
			j.files[f.URI] = data
			j.rows[f.Format] = append(j.rows[f.Format], decodeRows(t, f.URI, f.Format, data)...)
			manifest := strings.TrimSuffix(f.URI, path.Base(f.URI)) + ManifestName
			if _, ok := j.files[manifest]; !ok {
				j.files[manifest] = readRawOutput(t, manifest)
			}
		}
		if len(j.rows) != 3 {
			t.Fatalf("run %s job %s: files of %d formats, want 3: %+v", runID, res.Job, len(j.rows), res.Files)
		}
		out.jobs[res.Job] = j
	}
	return out
}

// readRawOutput reads a file:// URI, decompressed when its name says so.
func readRawOutput(t *testing.T, uri string) []byte {
	t.Helper()
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "file" {
		t.Fatalf("%s: not a file URI (%v)", uri, err)
	}
	data, err := os.ReadFile(u.Path)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case strings.HasSuffix(u.Path, ".gz"):
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", uri, err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			t.Fatalf("%s: %v", uri, err)
		}
	case strings.HasSuffix(u.Path, ".zst"):
		zr, err := zstd.NewReader(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		if data, err = zr.DecodeAll(data, nil); err != nil {
			t.Fatalf("%s: %v", uri, err)
		}
	}
	return data
}

// decodeRows decodes a data file's rows as JSON would: CSV cells are
// strings (lists as JSON text, null as ""); Parquet is read by pqarrow.
func decodeRows(t *testing.T, uri, format string, data []byte) []map[string]any {
	t.Helper()
	var rows []map[string]any
	switch format {
	case "jsonl":
		for line := range bytes.SplitSeq(bytes.TrimSpace(data), []byte("\n")) {
			var row map[string]any
			if err := json.Unmarshal(line, &row); err != nil {
				t.Fatalf("%s: %v", uri, err)
			}
			rows = append(rows, row)
		}
	case "csv":
		records, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", uri, err)
		}
		for _, rec := range records[1:] {
			row := map[string]any{}
			for i, col := range records[0] {
				row[col] = rec[i]
			}
			rows = append(rows, row)
		}
	case "parquet":
		rows = parquetRows(t, uri, data)
	default:
		t.Fatalf("%s: unknown format %q", uri, format)
	}
	return rows
}

// checkRawJob checks one job's protected output against its plain one.
func checkRawJob(t *testing.T, plain, protected *rawJobOutput, dropped, hashed []string) {
	if protected.result.Records != plain.result.Records || plain.result.Records < 100 {
		t.Fatalf("%d records, the plain run %d", protected.result.Records, plain.result.Records)
	}
	listed := map[string]int64{}
	for _, f := range protected.result.Files {
		listed[f.Format] += f.Rows
	}
	for format, rows := range protected.rows {
		if int64(len(rows)) != plain.result.Records || listed[format] != plain.result.Records {
			t.Errorf("%s: %d rows (the summary says %d), want %d", format, len(rows), listed[format], plain.result.Records)
		}
	}
	provider := protected.result.Provider
	originals := recordsByID(t, plain.rows["jsonl"])
	scrubbed := recordsByID(t, protected.rows["jsonl"])
	checkRawPathsSent(t, provider, originals)
	checkRawAgreesAcrossFormats(t, protected)
	needles := leakNeedles(t, provider, originals, slices.Concat(dropped, hashed))
	if int64(len(needles)) < plain.result.Records/2 {
		t.Fatalf("only %d original values to look for", len(needles))
	}
	t.Logf("%d original values looked for", len(needles))
	checkNoLeak(t, protected, needles)
	checkRawPseudonyms(t, provider, originals, scrubbed, dropped, hashed)
	checkDroppedMembersGone(t, provider, scrubbed, dropped)
	checkRawOnlyScrubbed(t, provider, originals, scrubbed, dropped)
}

// rawRecord is one exported row with its raw record, decoded (numbers
// as json.Number) and as leaves in document order.
type rawRecord struct {
	row    map[string]any
	raw    any
	leaves []rawLeaf
	text   string
}

func recordsByID(t *testing.T, rows []map[string]any) map[string]rawRecord {
	t.Helper()
	byID := map[string]rawRecord{}
	for _, row := range rows {
		id := row["id"].(string)
		text, ok := row["raw"].(string)
		if !ok {
			t.Fatalf("user %s: raw is %v", id, row["raw"])
		}
		d := json.NewDecoder(strings.NewReader(text))
		d.UseNumber()
		var raw any
		if err := d.Decode(&raw); err != nil {
			t.Fatalf("user %s: raw %s: %v", id, text, err)
		}
		byID[id] = rawRecord{row: row, raw: raw, leaves: rawLeaves(t, text), text: text}
	}
	return byID
}

// rawLeaf is a string, number, boolean or null in a raw record, at its
// path (array indexes left out, as RawFields writes paths).
type rawLeaf struct {
	path    string
	text    string // a literal's JSON text
	number  bool
	literal bool // true, false or null: too little to look for
}

// rawLeaves lists a raw record's leaves in document order, by its
// tokens: a map would lose the order of members.
func rawLeaves(t *testing.T, text string) []rawLeaf {
	t.Helper()
	type frame struct {
		object, wantKey bool
		key             string
	}
	var stack []frame
	path := func() string {
		var names []string
		for _, f := range stack {
			if f.object {
				names = append(names, f.key)
			}
		}
		return strings.Join(names, ".")
	}
	var leaves []rawLeaf
	d := json.NewDecoder(strings.NewReader(text))
	d.UseNumber()
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return leaves
		}
		if err != nil {
			t.Fatalf("raw %s: %v", text, err)
		}
		top := len(stack) - 1
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' || v == '[' {
				stack = append(stack, frame{object: v == '{', wantKey: true})
				continue
			}
			stack = stack[:top]
		case string:
			if top >= 0 && stack[top].object && stack[top].wantKey {
				stack[top].key, stack[top].wantKey = v, false
				continue
			}
			leaves = append(leaves, rawLeaf{path: path(), text: v})
		case json.Number:
			leaves = append(leaves, rawLeaf{path: path(), text: v.String(), number: true})
		default:
			b, _ := json.Marshal(v)
			leaves = append(leaves, rawLeaf{path: path(), text: string(b), literal: true})
		}
		if top = len(stack) - 1; top >= 0 && stack[top].object {
			stack[top].wantKey = true // a member's value is done
		}
	}
}

// rawHas reports whether the raw record has a member at path, null
// included, in any element of an array on the way.
func rawHas(v any, path []string) bool {
	switch v := v.(type) {
	case []any:
		return slices.ContainsFunc(v, func(e any) bool { return rawHas(e, path) })
	case map[string]any:
		member, ok := v[path[0]]
		return ok && (len(path) == 1 || rawHas(member, path[1:]))
	}
	return false
}

// checkRawPathsSent checks that every path of the provider's RawFields
// names a member some simulated record sends: a misspelt path would
// scrub nothing.
func checkRawPathsSent(t *testing.T, provider string, originals map[string]rawRecord) {
	t.Helper()
	p, _ := sources.Lookup(provider)
	for _, c := range complianceColumns {
		for _, fieldPath := range p.RawFields[c.ID] {
			if slices.Contains(rawAbsent[provider], fieldPath) {
				continue
			}
			sent := false
			for _, rec := range originals {
				if sent = rawHas(rec.raw, strings.Split(fieldPath, ".")); sent {
					break
				}
			}
			if !sent {
				t.Errorf("RawFields of %s: no record has %q", c.Name, fieldPath)
			}
		}
	}
}

// checkRawAgreesAcrossFormats checks that CSV and Parquet hold the very
// raw text JSONL does, for every user.
func checkRawAgreesAcrossFormats(t *testing.T, out *rawJobOutput) {
	t.Helper()
	want := map[string]any{}
	for _, row := range out.rows["jsonl"] {
		want[row["id"].(string)] = row["raw"]
	}
	for _, format := range []string{"csv", "parquet"} {
		for _, row := range out.rows[format] {
			if id := row["id"].(string); row["raw"] != want[id] {
				t.Fatalf("%s user %s: raw %v, JSONL has %v", format, id, row["raw"], want[id])
			}
		}
	}
}

// userValues are the values of some columns of one row, as its JSONL
// has them, with the timestamps also as instants.
type userValues struct {
	texts []string
	times []time.Time
}

func valuesOf(t *testing.T, row map[string]any, names []string) userValues {
	t.Helper()
	var v userValues
	for _, name := range names {
		c, _ := complianceColumn(name)
		switch x := row[name].(type) {
		case string:
			v.texts = append(v.texts, x)
			if c.Type == schema.Timestamp {
				at, err := time.Parse(time.RFC3339Nano, x)
				if err != nil {
					t.Fatalf("%s %q: %v", name, x, err)
				}
				v.times = append(v.times, at)
			}
		case []any:
			for _, e := range x {
				v.texts = append(v.texts, e.(string))
			}
		}
	}
	return v
}

// denotes reports whether a raw leaf holds one of v's values: the same
// text (a number too: organization 12 is organization_id "12"), or the
// same instant in any of the providers' time forms (RFC 3339, .NET's
// zoneless UTC, unix seconds).
func (v userValues) denotes(l rawLeaf) bool {
	if slices.Contains(v.texts, l.text) {
		return true
	}
	var at time.Time
	var err error
	if l.number {
		var sec int64
		sec, err = strconv.ParseInt(l.text, 10, 64)
		at = time.Unix(sec, 0)
	} else if at, err = time.Parse(time.RFC3339Nano, l.text); err != nil {
		at, err = time.Parse("2006-01-02T15:04:05.9999999", l.text)
	}
	return err == nil && slices.ContainsFunc(v.times, at.Equal)
}

// leakNeedles are the original values of the removed columns that must
// appear in no output file: each value as the columns had it, and each
// raw leaf that holds one, as the provider wrote it. Left out, and
// documented so: values shorter than 4 bytes (a language code, an
// organization number: they would match by chance), and values that
// legitimately stay, being part of a text the job keeps: a kept
// column's value or the raw leaf holding it (a dropped first_name within
// a kept full_name), or a member in rawCoincidences.
func leakNeedles(t *testing.T, provider string, originals map[string]rawRecord, removed []string) []string {
	t.Helper()
	var kept []string
	for _, c := range schema.V1(false).Columns {
		if !slices.Contains(removed, c.Name) {
			kept = append(kept, c.Name)
		}
	}
	needles := map[string]bool{}
	var keptTexts []string
	for _, rec := range originals {
		gone, stays := valuesOf(t, rec.row, removed), valuesOf(t, rec.row, kept)
		for _, s := range gone.texts {
			needles[s] = true
		}
		keptTexts = append(keptTexts, stays.texts...)
		for _, l := range rec.leaves {
			switch {
			case l.literal:
			case stays.denotes(l), slices.Contains(rawCoincidences[provider], l.path):
				keptTexts = append(keptTexts, l.text)
			case gone.denotes(l):
				needles[l.text] = true
			}
		}
	}
	allKept := strings.Join(keptTexts, "\x00")
	var out []string
	for s := range needles {
		if len(s) >= 4 && !strings.Contains(allKept, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// spellings are the ways a value can appear in the files: as is, JSON
// escaped (a JSONL cell, a member of raw), escaped twice (raw within a
// JSONL line), and with CSV's doubled quotes.
func spellings(s string) []string {
	esc := func(s string) string {
		b, _ := json.Marshal(s)
		return string(b[1 : len(b)-1])
	}
	csvQuoted := func(s string) string { return strings.ReplaceAll(s, `"`, `""`) }
	all := []string{s, esc(s), esc(esc(s)), csvQuoted(s), csvQuoted(esc(s))}
	slices.Sort(all)
	return slices.Compact(all)
}

// checkNoLeak greps every byte of every file of the job, decompressed,
// and every string the Parquet file holds, raw included, for each
// needle in each spelling.
func checkNoLeak(t *testing.T, out *rawJobOutput, needles []string) {
	t.Helper()
	var cells []string
	for _, row := range out.rows["parquet"] {
		for _, v := range row {
			switch v := v.(type) {
			case string:
				cells = append(cells, v)
			case []any:
				for _, e := range v {
					cells = append(cells, fmt.Sprint(e))
				}
			}
		}
	}
	parquetStrings := []byte(strings.Join(cells, "\x00"))
	haystacks := maps.Clone(out.files)
	haystacks["the Parquet file's strings"] = parquetStrings
	for name, data := range haystacks {
		for _, needle := range needles {
			for _, s := range spellings(needle) {
				if bytes.Contains(data, []byte(s)) {
					t.Errorf("%s holds the original value %q", name, s)
				}
			}
		}
	}
}

// checkRawPseudonyms checks that each hashed value the original raw
// record held, in a member no dropped column reads, is, in the protected
// raw record, the HMAC-SHA256 of the original, computed here on its own,
// and the column's value: the email for every provider that sends one.
func checkRawPseudonyms(t *testing.T, provider string, originals, scrubbed map[string]rawRecord, dropped, hashed []string) {
	t.Helper()
	droppedPaths := rawPaths(provider, dropped)
	kept := func(l rawLeaf) bool { return !under(l.path, droppedPaths) }
	checked := map[string]int{}
	for id, orig := range originals {
		got, ok := scrubbed[id]
		if !ok {
			t.Fatalf("user %s is missing", id)
		}
		var leaves []string
		for _, l := range got.leaves {
			leaves = append(leaves, l.text)
		}
		origLeaves := orig.leaves
		for _, name := range hashed {
			for _, v := range valuesOf(t, orig.row, []string{name}).texts {
				if !slices.ContainsFunc(origLeaves, func(l rawLeaf) bool { return !l.literal && l.text == v && kept(l) }) {
					continue // built from several members (a joined full_name), or dropped
				}
				mac := hmac.New(sha256.New, []byte(testHashKey))
				mac.Write([]byte(v))
				want := hex.EncodeToString(mac.Sum(nil))
				if !slices.Contains(leaves, want) {
					t.Errorf("user %s: raw lacks the pseudonym %s of %s %q: %s", id, want, name, v, got.text)
				}
				if !slices.Contains(valuesOf(t, got.row, []string{name}).texts, want) {
					t.Errorf("user %s: column %s %v lacks the pseudonym %s", id, name, got.row[name], want)
				}
				checked[name]++
			}
		}
	}
	if len(hashed) > 0 && len(checked) == 0 {
		t.Fatalf("no hashed value of %v is in the raw records", hashed)
	}
	if slices.Contains(hashed, "email") && checked["email"] == 0 && anyEmail(originals) {
		t.Error("no raw email pseudonym was checked")
	}
	t.Logf("raw pseudonyms checked: %v", checked)
}

func anyEmail(records map[string]rawRecord) bool {
	for _, rec := range records {
		if _, ok := rec.row["email"].(string); ok {
			return true
		}
	}
	return false
}

// checkDroppedMembersGone checks that no protected raw record still has
// a member a dropped column reads, not even as null.
func checkDroppedMembersGone(t *testing.T, provider string, scrubbed map[string]rawRecord, dropped []string) {
	t.Helper()
	for _, fieldPath := range rawPaths(provider, dropped) {
		for id, rec := range scrubbed {
			if rawHas(rec.raw, strings.Split(fieldPath, ".")) {
				t.Fatalf("user %s: raw still has %s, which a dropped column reads: %s", id, fieldPath, rec.text)
			}
		}
	}
}

// checkRawOnlyScrubbed checks that scrubbing changed nothing else: each
// protected raw record is its original, in the original order, with
// leaves left out or replaced by their pseudonyms (null kept), and a leaf
// is left out only under a member that a dropped column reads.
func checkRawOnlyScrubbed(t *testing.T, provider string, originals, scrubbed map[string]rawRecord, dropped []string) {
	t.Helper()
	droppedPaths := rawPaths(provider, dropped)
	for id, orig := range originals {
		j := 0
		gone := func(o rawLeaf) {
			if !under(o.path, droppedPaths) {
				t.Fatalf("user %s: raw lost %s %q, which no dropped column reads: %s", id, o.path, o.text, scrubbed[id].text)
			}
		}
		for _, l := range scrubbed[id].leaves {
			for j < len(orig.leaves) && !scrubbedFrom(orig.leaves[j], l) {
				gone(orig.leaves[j])
				j++
			}
			if j == len(orig.leaves) {
				t.Fatalf("user %s: raw leaf %s %q is not the original's, in its order: %s", id, l.path, l.text, orig.text)
			}
			j++
		}
		for ; j < len(orig.leaves); j++ {
			gone(orig.leaves[j])
		}
	}
}

// scrubbedFrom reports whether l is the original leaf o, or its pseudonym.
func scrubbedFrom(o, l rawLeaf) bool {
	null := o.literal && o.text == "null"
	hashed := !null && !l.number && !l.literal && l.text == pseudonym(o.text)
	return o.path == l.path && (o.text == l.text || hashed)
}

// rawPaths are the RawFields paths of the provider's columns names.
func rawPaths(provider string, names []string) []string {
	p, _ := sources.Lookup(provider)
	var paths []string
	for _, name := range names {
		c, _ := complianceColumn(name)
		paths = append(paths, p.RawFields[c.ID]...)
	}
	return paths
}

// under reports whether a leaf's path is one of paths or inside one.
func under(leaf string, paths []string) bool {
	return slices.ContainsFunc(paths, func(p string) bool { return leaf == p || strings.HasPrefix(leaf, p+".") })
}
