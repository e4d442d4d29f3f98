package pipeline

import (
	"slices"
	"time"

	"github.com/saas-export/export/sinks"
	"github.com/saas-export/export/sources/httpsource"
)

// SimulatorURL is the base_url that makes a job fetch from the built-in
// simulator, started in-process on loopback, instead of the real API.
const SimulatorURL = "simulator"

// Config is a loaded, validated jobs.yaml with every default filled in.
type Config struct {
	File        string // the path it was loaded from, as given
	Version     int
	Concurrency int // jobs run at once
	Output      Output
	State       State
	Jobs        []Job
}

// Output says where and how a job's files are written.
type Output struct {
	Destination       string   // a directory, file:///abs/dir, or s3://bucket/prefix
	Formats           []string // jsonl, csv, parquet
	Path              string   // template with {job} {provider} {format} {date} {run_id}
	Compression       Compression
	MaxRowsPerFile    int64
	IncludeRaw        bool
	CSVEscapeFormulas bool
	S3                S3
	// Columns narrows the columns written; the zero value writes them all.
	Columns Columns
	// Hash lists the columns written as HMAC-SHA256 pseudonyms (lowercase
	// hex) under HashKey, in schema order; nil for none.
	Hash []string
	// HashKey is secret: it never appears in an error, a log or an output.
	HashKey string
}

// Columns is `columns:`, at most one of Keep and Drop set. The required
// columns are written whatever it says.
type Columns struct {
	Keep, Drop []string // column names, in schema order
}

// Compression is the codec of each format: parquet zstd|snappy|gzip|none,
// jsonl and csv gzip|zstd|none.
type Compression struct {
	Parquet, JSONL, CSV string
}

// S3 configures S3 destinations. A job whose destination is local
// ignores it.
type S3 struct {
	// Region is "" unless the config names one: the store then takes AWS's
	// own chain (AWS_REGION, the profile), falling back to DefaultS3Region.
	Region, Endpoint string
	ForcePathStyle   bool
	SSE, KMSKeyID    string // SSE: "", AES256, aws:kms or aws:kms:dsse
	PartSize         int64  // bytes, 5 MiB to 5 GiB
	// StorageClass is the objects' storage class; "" is the bucket's default.
	StorageClass string
	// Tags are set on every object written; nil when there are none.
	Tags map[string]string
	// UploadConcurrency is the part uploads in flight at once per
	// destination, 1 to 64.
	UploadConcurrency int
}

// State is where incremental jobs keep their state and leases.
type State struct {
	Dir string // a directory, file:///abs/dir, or s3://bucket/prefix
	// S3 configures an s3:// dir: the top-level output's S3 settings, with
	// the state's own `s3:` keys laid over them.
	S3 S3
	// LeaseTTL is how long a run's lease on a job's state lasts unless
	// renewed (every third of it, while the run goes on): how long a run
	// killed on another host blocks the next one.
	LeaseTTL time.Duration
	// LockWait is how long a run waits for another run of the same job to
	// release its lease before failing; 0 fails at once.
	LockWait time.Duration
}

// Job is one export: a provider's user listing to the job's output.
type Job struct {
	Name        string
	Provider    string
	BaseURL     string // without a trailing slash; SimulatorURL for the simulator
	Auth        httpsource.Auth
	Filter      map[string]any // provider-native; nil when not set
	Sort        any            // provider-native; nil for the provider's default
	PageSize    int
	MaxInFlight int
	RateLimit   httpsource.Rate
	Timeout     time.Duration
	Retry       httpsource.Retry
	Incremental bool
	// Overlap is how far behind the cursor an incremental run starts
	// reading: for clock skew and writes that land late.
	Overlap            time.Duration
	AllowCountMismatch bool
	AllowInsecureHTTP  bool
	// Output is the effective output: the top-level output with the job's
	// own `output:` keys laid over it.
	Output Output
	// WireFormat is the request/response encoding, for a provider that
	// speaks more than one (requestor: json or xml); its default if unset.
	WireFormat string
	// Drift bounds how often a listing that changed while it was paged is
	// read again from the start.
	Drift Drift
	// TLS adds trust for a private CA; verification is always on.
	TLS TLS
}

// Drift is a job's `drift:` settings.
type Drift struct {
	MaxRestarts int // listings read again after drift, 0 to 100
	// Confirm reads the listing a second time, without writing, and
	// commits only when both reads hold the same ids: a user created and
	// another deleted behind the cursor leave no other trace.
	Confirm bool
}

// TLS is a job's `tls:` settings.
type TLS struct {
	CAFile string // a PEM bundle trusted in addition to the system roots; "" for none
}

// SourceJob is what the job's provider needs to fetch it. baseURL is the
// URL actually used, which differs from BaseURL for the simulator.
func (j Job) SourceJob(baseURL string, extractedAt time.Time) httpsource.Job {
	return httpsource.Job{
		Name:        j.Name,
		BaseURL:     baseURL,
		Filter:      j.Filter,
		Sort:        j.Sort,
		PageSize:    j.PageSize,
		MaxInFlight: j.MaxInFlight,
		IncludeRaw:  j.Output.IncludeRaw,
		WireFormat:  j.WireFormat,
		ExtractedAt: extractedAt,
	}
}

// DefaultS3Region is the region of an S3 store when neither the config
// nor AWS's own chain (AWS_REGION, the profile) names one.
const DefaultS3Region = "eu-west-1"

// Defaults documented in the jobs.yaml contract. Per-job defaults that
// depend on the provider (base_url, page_size, rate_limit) come from the
// provider registry; timeout and retry from httpsource, which applies the
// same ones.
const (
	defaultConcurrency    = 4
	defaultDestination    = "./out"
	defaultPath           = "{job}/{format}/dt={date}/run={run_id}"
	defaultMaxRowsPerFile = 1_000_000
	defaultStateDir       = "./state"
	defaultMaxInFlight    = 2
	defaultMaxRestarts    = 3
	defaultOverlap        = 5 * time.Minute
	defaultLeaseTTL       = 10 * time.Minute
)

func defaultOutput() Output {
	return Output{
		Destination:    defaultDestination,
		Formats:        slices.Clone(formatNames),
		Path:           defaultPath,
		Compression:    Compression{Parquet: "zstd", JSONL: "none", CSV: "none"},
		MaxRowsPerFile: defaultMaxRowsPerFile,
		S3:             S3{PartSize: sinks.DefaultPartSize, UploadConcurrency: sinks.DefaultUploadConcurrency},
	}
}
