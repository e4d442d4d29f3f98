package pipeline

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/saas-export/export/sinks"
	"github.com/saas-export/export/sources"
	"github.com/saas-export/export/sources/httpsource"
)

// The keys of each mapping in jobs.yaml, in the order the contract
// documents them; error messages list them. Top-level keys starting with
// x- are ignored, as in Docker Compose: a place to define YAML anchors.
var (
	rootKeys   = []string{"version", "concurrency", "output", "state", "jobs", "x-*"}
	outputKeys = []string{"destination", "formats", "path", "compression", "max_rows_per_file",
		"include_raw", "csv_escape_formulas", "s3", "columns", "hash", "hash_key", "hash_key_file"}
	compressionKeys = []string{"parquet", "jsonl", "csv"}
	s3Keys          = []string{"region", "endpoint", "force_path_style", "sse", "kms_key_id", "part_size",
		"storage_class", "tags", "upload_concurrency"}
	jobKeys = []string{"name", "provider", "base_url", "auth", "filter", "sort", "page_size",
		"max_in_flight", "rate_limit", "timeout", "retry", "incremental", "overlap", "drift", "tls", "allow_count_mismatch",
		"allow_insecure_http", "output", "wire_format", "include_raw", "columns", "hash", "hash_key", "hash_key_file"}
	retryKeys = []string{"max_attempts", "max_backoff"}
	driftKeys = []string{"max_restarts", "confirm"}
	stateKeys = []string{"dir", "s3", "lease_ttl", "lock_wait"}
	tlsKeys   = []string{"ca_file"}
	authKeys  = []string{"type", "username", "username_file", "password", "password_file",
		"token", "token_file", "name", "value", "value_file", "headers"}

	// jobOutputKeys are the output keys a job may also set directly (the
	// contract lists them among the per-job compliance controls); each
	// group is one setting.
	jobOutputKeys = [][]string{{"include_raw"}, {"columns"}, {"hash"}, {"hash_key", "hash_key_file"}}
)

// Enumerations.
var (
	formatNames         = []string{sinks.FormatJSONL, sinks.FormatCSV, sinks.FormatParquet}
	parquetCompressions = []string{"zstd", "snappy", "gzip", "none"}
	textCompressions    = []string{"gzip", "zstd", "none"}
	sseModes            = []string{"", "AES256", "aws:kms", "aws:kms:dsse"}
	// storageClasses are those a general purpose bucket takes on upload;
	// "" leaves the bucket's default.
	storageClasses = []string{"", "STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA",
		"INTELLIGENT_TIERING", "GLACIER", "GLACIER_IR", "DEEP_ARCHIVE"}
)

var jobName = regexp.MustCompile(`^[a-z0-9-]+$`)

func (d *decoder) config(root value) *Config {
	if root.node.Kind != yaml.MappingNode {
		d.typeError(root, "a mapping with version: 1 and jobs", root.node.Value)
		return nil
	}
	m := d.mapping(root, rootKeys...)
	cfg := &Config{
		File:        d.file,
		Version:     1,
		Concurrency: defaultConcurrency,
		Output:      defaultOutput(),
	}
	d.version(root, m["version"])
	d.setInt(&cfg.Concurrency, m["concurrency"], 1)
	top := d.output(m["output"], &cfg.Output)
	cfg.State = State{Dir: defaultStateDir, S3: cfg.Output.S3, LeaseTTL: defaultLeaseTTL}
	cfg.State.S3.Tags = maps.Clone(cfg.Output.S3.Tags)
	d.state(m["state"], &cfg.State)
	cfg.Jobs = d.jobs(root, m["jobs"], cfg.Output, top)
	return cfg
}

func (d *decoder) version(root, v value) {
	if !v.present() {
		d.missing(root, "version", "required: add version: 1")
		return
	}
	if n, ok := d.integer(v, 0); ok && n != 1 {
		d.errorf(v, "unsupported version %d: this build reads version 1", n)
	}
}

// output lays the keys set in v over o, so that decoding a job's output
// onto a copy of the top-level one merges them key by key. It returns
// v's entries.
func (d *decoder) output(v value, o *Output) map[string]value {
	m := d.mapping(v, outputKeys...)
	d.setChecked(&o.Destination, m["destination"], checkLocation)
	d.formats(m["formats"], &o.Formats)
	d.setChecked(&o.Path, m["path"], checkPathTemplate)
	d.compression(m["compression"], &o.Compression)
	d.setInt64(&o.MaxRowsPerFile, m["max_rows_per_file"], 1)
	d.setBool(&o.IncludeRaw, m["include_raw"])
	d.setBool(&o.CSVEscapeFormulas, m["csv_escape_formulas"])
	d.s3(m["s3"], &o.S3)
	d.compliance(m, o)
	return m
}

// setChecked sets a string that check accepts; check returns the problem.
func (d *decoder) setChecked(dst *string, v value, check func(string) string) {
	s, ok := d.str(v)
	if !ok {
		return
	}
	if problem := check(s); problem != "" {
		d.errorf(v, "%s", problem)
		return
	}
	*dst = s
}

func (d *decoder) formats(v value, dst *[]string) {
	if !v.present() {
		return
	}
	items := d.list(v, "a list like [jsonl, csv, parquet]")
	if v.node.Kind != yaml.SequenceNode {
		return
	}
	if len(items) == 0 {
		d.errorf(v, "list at least one of %s", strings.Join(formatNames, ", "))
		return
	}
	var out []string
	for _, item := range items {
		f, ok := d.enum(item, formatNames...)
		switch {
		case !ok:
		case slices.Contains(out, f):
			d.errorf(item, "duplicate format %q", f)
		default:
			out = append(out, f)
		}
	}
	*dst = out
}

func (d *decoder) compression(v value, c *Compression) {
	m := d.mapping(v, compressionKeys...)
	d.setEnum(&c.Parquet, m["parquet"], parquetCompressions...)
	d.setEnum(&c.JSONL, m["jsonl"], textCompressions...)
	d.setEnum(&c.CSV, m["csv"], textCompressions...)
}

// s3 lays the keys set in v over s, as output does. Each value is
// checked here, wherever it is set; the checks of one setting against
// another (s3Problems) need the job's effective output.
func (d *decoder) s3(v value, s *S3) {
	m := d.mapping(v, s3Keys...)
	d.setChecked(&s.Region, m["region"], checkRegion)
	d.setChecked(&s.Endpoint, m["endpoint"], checkEndpoint)
	d.setBool(&s.ForcePathStyle, m["force_path_style"])
	d.setEnum(&s.SSE, m["sse"], sseModes...)
	d.setString(&s.KMSKeyID, m["kms_key_id"])
	d.setPartSize(&s.PartSize, m["part_size"])
	d.setEnum(&s.StorageClass, m["storage_class"], storageClasses...)
	d.tags(m["tags"], &s.Tags)
	d.setIntRange(&s.UploadConcurrency, m["upload_concurrency"], 1, maxUploadConcurrency)
}

// tags lays the tags set in v over *dst, tag by tag, as a job's
// compression merges with the top-level one. A null value is the empty
// string, which S3 allows.
func (d *decoder) tags(v value, dst *map[string]string) {
	if !v.present() {
		return
	}
	if v.node.Kind != yaml.MappingNode {
		d.typeError(v, "a mapping of tag keys to values", v.node.Value)
		return
	}
	entries := d.entries(v)
	if len(entries) > maxS3Tags {
		d.errorf(v, "at most %d tags per object (the S3 limit), got %d", maxS3Tags, len(entries))
	}
	out := maps.Clone(*dst)
	for _, e := range entries {
		key := e.key.Value
		if problem := checkTagKey(key); problem != "" {
			d.errorf(value{at: e.key, path: e.path}, "%s", problem)
			continue
		}
		var s string
		if e.present() {
			var ok bool
			if s, ok = d.str(e); !ok {
				continue
			}
		}
		if problem := checkTagValue(s); problem != "" {
			d.errorf(e, "%s", problem)
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[key] = s
	}
	*dst = out
}

// minLeaseTTL keeps renewals (every third of the TTL) from flooding the
// state store.
const minLeaseTTL = 3 * time.Second

func (d *decoder) state(v value, s *State) {
	m := d.mapping(v, stateKeys...)
	d.setChecked(&s.Dir, m["dir"], checkLocation)
	d.s3(m["s3"], &s.S3)
	if d.setDuration(&s.LeaseTTL, m["lease_ttl"]); s.LeaseTTL < minLeaseTTL {
		d.errorf(m["lease_ttl"], "must be at least %s, got %s", minLeaseTTL, s.LeaseTTL)
	}
	d.setDurationOrZero(&s.LockWait, m["lock_wait"])
}

// decodedJob is a job with what its later checks need from the file.
type decodedJob struct {
	Job
	item   value
	fields map[string]value // the job's own keys
	output map[string]value // the keys of the job's `output:`
}

// jobs decodes the jobs over base, the top-level output, whose keys are top.
func (d *decoder) jobs(root, v value, base Output, top map[string]value) []Job {
	if !v.present() {
		d.missing(root, "jobs", "required: list at least one job")
		return nil
	}
	items := d.list(v, "a list of jobs")
	if v.node.Kind == yaml.SequenceNode && len(items) == 0 {
		d.errorf(v, "list at least one job")
	}
	var decoded []decodedJob
	byName := map[string]decodedJob{}
	for _, item := range items {
		j := d.job(item, base)
		if first, dup := byName[j.Name]; dup && j.Name != "" {
			line, _ := first.fields["name"].pos()
			d.errorf(j.fields["name"], "duplicate job name %q (first used by %s at line %d)", j.Name, first.item.path, line)
			continue
		}
		byName[j.Name] = j
		decoded = append(decoded, j)
		d.complianceProblems(j, top)
	}
	d.outputCollisions(decoded)
	d.s3Problems(decoded)
	jobs := make([]Job, len(decoded))
	for i, j := range decoded {
		jobs[i] = j.Job
	}
	return jobs
}

func (d *decoder) job(item value, base Output) decodedJob {
	m := d.mapping(item, jobKeys...)
	j := Job{
		Output:      base,
		MaxInFlight: defaultMaxInFlight,
		Drift:       Drift{MaxRestarts: defaultMaxRestarts, Confirm: true},
		Overlap:     defaultOverlap,
		Timeout:     httpsource.DefaultTimeout,
		Retry:       httpsource.Retry{MaxAttempts: httpsource.DefaultMaxAttempts, MaxBackoff: httpsource.DefaultMaxBackoff},
	}
	j.Output.Formats = slices.Clone(base.Formats) // jobs must not share a slice or map
	j.Output.S3.Tags = maps.Clone(base.S3.Tags)
	j.Output.Hash = slices.Clone(base.Hash)
	d.jobName(item, m["name"], &j.Name)
	provider, known := d.provider(item, m["provider"], &j.Provider)
	j.Auth = d.auth(m["auth"])
	j.Filter = d.filter(m["filter"])
	j.Sort = d.freeform(m["sort"])
	d.setInt(&j.PageSize, m["page_size"], 1)
	d.setInt(&j.MaxInFlight, m["max_in_flight"], 1)
	d.setRate(&j.RateLimit, m["rate_limit"])
	d.setDuration(&j.Timeout, m["timeout"])
	d.retry(m["retry"], &j.Retry)
	d.setBool(&j.Incremental, m["incremental"])
	d.setDurationOrZero(&j.Overlap, m["overlap"])
	d.drift(m["drift"], &j.Drift)
	d.tls(m["tls"], &j.TLS)
	d.setBool(&j.AllowCountMismatch, m["allow_count_mismatch"])
	d.setBool(&j.AllowInsecureHTTP, m["allow_insecure_http"])
	out := d.jobOutput(m, &j.Output)
	d.baseURL(m["base_url"], &j) // after allow_insecure_http, which it depends on
	if known {
		d.applyProvider(item, m, &j, provider)
	}
	return decodedJob{Job: j, item: item, fields: m, output: out}
}

func (d *decoder) jobName(item, v value, dst *string) {
	if !v.present() {
		d.missing(item, "name", "required: a unique name made of a-z, 0-9 and -")
		return
	}
	name, ok := d.str(v)
	if !ok {
		return
	}
	if !jobName.MatchString(name) {
		d.errorf(v, "invalid job name %q: use only a-z, 0-9 and -", name)
		return
	}
	*dst = name
}

func (d *decoder) provider(item, v value, dst *string) (sources.Provider, bool) {
	if !v.present() {
		d.missing(item, "provider", "required: one of %s", d.providerNames())
		return sources.Provider{}, false
	}
	name, ok := d.str(v)
	if !ok {
		return sources.Provider{}, false
	}
	i := slices.IndexFunc(d.providers, func(p sources.Provider) bool { return p.Name == name })
	if i < 0 {
		d.errorf(v, "unknown provider %q (known: %s)", name, d.providerNames())
		return sources.Provider{}, false
	}
	*dst = name
	return d.providers[i], true
}

func (d *decoder) providerNames() string {
	var names []string
	for _, p := range d.providers {
		names = append(names, p.Name)
	}
	if len(names) == 0 {
		return "none registered"
	}
	return strings.Join(names, ", ")
}

func (d *decoder) filter(v value) map[string]any {
	if !v.present() {
		return nil
	}
	if v.node.Kind != yaml.MappingNode {
		d.typeError(v, "a mapping", v.node.Value)
		return nil
	}
	m, _ := d.freeform(v).(map[string]any)
	return m
}

func (d *decoder) retry(v value, r *httpsource.Retry) {
	m := d.mapping(v, retryKeys...)
	d.setInt(&r.MaxAttempts, m["max_attempts"], 1)
	d.setDuration(&r.MaxBackoff, m["max_backoff"])
}

// maxRestarts bounds drift.max_restarts: each restart reads the whole
// listing again, and one that changes that often will not settle.
const maxRestarts = 100

func (d *decoder) drift(v value, dr *Drift) {
	m := d.mapping(v, driftKeys...)
	d.setIntRange(&dr.MaxRestarts, m["max_restarts"], 0, maxRestarts)
	d.setBool(&dr.Confirm, m["confirm"])
}

// tls sets the job's CA bundle, its path resolved against the config
// file's directory as *_file paths are. The bundle is read and parsed
// here, so that a wrong path fails validate rather than the run.
func (d *decoder) tls(v value, t *TLS) {
	m := d.mapping(v, tlsKeys...)
	f := m["ca_file"]
	name, ok := d.str(f)
	if !ok || name == "" {
		return
	}
	path, relative := name, !filepath.IsAbs(name)
	if relative {
		path = filepath.Join(d.dir, name)
	}
	if _, err := readCABundle(path); err != nil {
		var note string
		if relative {
			note = " (a relative ca_file is relative to the config file's directory)"
		}
		d.errorf(f, "%v%s", err, note)
		return
	}
	t.CAFile = path
}

// maxCAFile bounds a CA bundle: the whole Mozilla bundle is some 250 KiB,
// and pointing at the wrong file (a log, /dev/zero) must not eat memory.
const maxCAFile = 4 << 20

// readCABundle reads a PEM bundle that holds at least one certificate,
// and every certificate in it parses.
func readCABundle(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if pe, ok := errors.AsType[*fs.PathError](err); ok {
			err = pe.Err // named below
		}
		return nil, fmt.Errorf("cannot read %q: %w", path, err)
	}
	defer f.Close() // read-only: Close has nothing to report
	data, err := io.ReadAll(io.LimitReader(f, maxCAFile+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("cannot read %q: %w", path, err)
	case len(data) > maxCAFile:
		return nil, fmt.Errorf("%q is larger than %d MiB: not a CA bundle", path, maxCAFile>>20)
	}
	if _, err := httpsource.ParseCABundle(data); err != nil {
		return nil, fmt.Errorf("%q %w", path, err)
	}
	return data, nil
}

// jobOutput lays the job's `output:` over its copy of the top-level
// output, then the jobOutputKeys the job sets directly. Each is the same
// setting as under the job's output, so it may be set in one of the two
// places only.
func (d *decoder) jobOutput(m map[string]value, o *Output) map[string]value {
	om := d.output(m["output"], o)
	own := map[string]value{}
	for _, group := range jobOutputKeys {
		for _, k := range group {
			v := m[k]
			if !v.present() {
				continue
			}
			if other, ok := firstPresent(om, group); ok {
				line, _ := other.pos()
				d.errorf(v, "%s is also set under this job's output (line %d): set it once", k, line)
				continue
			}
			own[k] = v
		}
	}
	d.setBool(&o.IncludeRaw, own["include_raw"])
	d.compliance(own, o)
	return om
}

// firstPresent is the first of keys set in m.
func firstPresent(m map[string]value, keys []string) (value, bool) {
	for _, k := range keys {
		if v := m[k]; v.present() {
			return v, true
		}
	}
	return value{}, false
}

// baseURL checks and sets an explicit base_url; applyProvider fills in
// the provider's default when there is none.
func (d *decoder) baseURL(v value, j *Job) {
	s, ok := d.str(v)
	if !ok {
		return
	}
	u, problem := checkBaseURL(s, j.AllowInsecureHTTP)
	if problem != "" {
		d.errorf(v, "%s", problem)
		return
	}
	j.BaseURL = u
}

// applyProvider fills the provider's defaults and runs its own checks.
func (d *decoder) applyProvider(item value, m map[string]value, j *Job, p sources.Provider) {
	switch {
	case m["base_url"].present():
	case p.DefaultBaseURL == "":
		d.missing(item, "base_url", "required: provider %s has no default base URL", p.Name)
	default:
		j.BaseURL = p.DefaultBaseURL
	}
	if !m["page_size"].present() {
		j.PageSize = p.PageSize.Default
	}
	// The documented limits protect the real APIs; the built-in simulator
	// needs none, and the default jobs.yaml should not wait for one.
	if !m["rate_limit"].present() && j.BaseURL != SimulatorURL {
		j.RateLimit = p.DefaultRate
	}
	d.wireFormat(m["wire_format"], j, p)
	if p.NoTotal && !j.Drift.Confirm {
		d.errorf(m["drift"], "confirm: false is refused for %s: it reports no user count, so without the confirming read "+
			"a user deleted during the export shifts another out of the listing unseen", p.Name)
	}
	if v := m["sort"]; v.present() && p.Sort == "" {
		d.errorf(v, "provider %s does not support sort", p.Name)
	}
	d.incremental(m, *j, p)
	d.providerProblems(item, *j, p)
}

// incremental checks that the job's provider can tell what changed.
func (d *decoder) incremental(m map[string]value, j Job, p sources.Provider) {
	if !j.Incremental {
		return
	}
	switch {
	case p.Incremental == httpsource.IncrementalNone:
		d.errorf(m["incremental"], "job %q: provider %s reports no update time, so a run cannot tell what changed; "+
			"remove incremental: true (every run exports everyone)", j.Name, p.Name)
	case p.Incremental == httpsource.IncrementalSorted && m["sort"].present():
		d.errorf(m["sort"], "job %q: an incremental %s job sorts by updated_at, newest first, to stop early; remove sort",
			j.Name, p.Name)
	}
}

// wireFormat picks the job's encoding among those its provider speaks.
func (d *decoder) wireFormat(v value, j *Job, p sources.Provider) {
	switch {
	case !v.present():
		if len(p.WireFormats) > 0 {
			j.WireFormat = p.WireFormats[0]
		}
	case len(p.WireFormats) < 2:
		d.errorf(v, "provider %s has no choice of wire format", p.Name)
	default:
		d.setEnum(&j.WireFormat, v, p.WireFormats...)
	}
}

// outputCollisions reports a job whose files would land in the folder of
// an earlier job: the later commit would delete the earlier one's files.
// It happens when output.path lacks {job}.
func (d *decoder) outputCollisions(jobs []decodedJob) {
	first := map[string]decodedJob{}
	for _, j := range jobs {
		if j.Name == "" {
			continue // an invalid name, already reported
		}
		folder := outputFolder(j.Output, j.Name, j.Provider)
		prev, clash := first[folder]
		if !clash {
			first[folder] = j
			continue
		}
		at := value{key: j.item.key, at: j.item.at, path: joinPath(j.item.path, "output.path")}
		if v := j.output["path"]; v.present() {
			at = v
		}
		d.errorf(at, "writes to the same folder as %s (%s), overwriting its files: put {job} in output.path",
			prev.item.path, prev.Name)
	}
}
