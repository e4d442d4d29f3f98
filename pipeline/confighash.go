package pipeline

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/saas-export/export/sources/httpsource"
)

// effectiveConfig is the part of a job's effective config that decides
// what it exports and how, with every secret left out: auth carries its
// type only and the hash key is the manifest's fingerprint instead (URLs
// with credentials are refused at load). Where the export goes (the
// destination folder or bucket and its S3 delivery settings) is left out
// too: it does not change what is exported, and the same export to disk and
// to S3 must write the same manifest. It is a whitelist, so a secret added
// to Job later stays out until someone lists it here on purpose.
type effectiveConfig struct {
	Version            int             `json:"version"` // of this document's shape
	Name               string          `json:"name"`
	Provider           string          `json:"provider"`
	BaseURL            string          `json:"base_url"`
	Auth               string          `json:"auth"`
	Filter             map[string]any  `json:"filter"`
	Sort               any             `json:"sort"`
	PageSize           int             `json:"page_size"`
	MaxInFlight        int             `json:"max_in_flight"`
	RateLimit          string          `json:"rate_limit"`
	Timeout            string          `json:"timeout"`
	MaxAttempts        int             `json:"retry_max_attempts"`
	MaxBackoff         string          `json:"retry_max_backoff"`
	Incremental        bool            `json:"incremental"`
	Overlap            string          `json:"overlap"`
	AllowCountMismatch bool            `json:"allow_count_mismatch"`
	AllowInsecureHTTP  bool            `json:"allow_insecure_http"`
	WireFormat         string          `json:"wire_format"`
	DriftMaxRestarts   int             `json:"drift_max_restarts"`
	DriftConfirm       bool            `json:"drift_confirm"`
	TLSCAFile          string          `json:"tls_ca_file"`
	Output             effectiveOutput `json:"output"`
}

type effectiveOutput struct {
	Formats           []string          `json:"formats"`
	Path              string            `json:"path"`
	Compression       map[string]string `json:"compression"`
	MaxRowsPerFile    int64             `json:"max_rows_per_file"`
	IncludeRaw        bool              `json:"include_raw"`
	CSVEscapeFormulas bool              `json:"csv_escape_formulas"`
	ColumnsKeep       []string          `json:"columns_keep"`
	ColumnsDrop       []string          `json:"columns_drop"`
	Hash              []string          `json:"hash"`
}

// EffectiveConfig returns the canonical JSON of job's effective config
// without its secrets: the document whose sha256 is the manifest's
// config_sha256. encoding/json writes struct fields in order and map keys
// sorted, so equal configs give equal bytes.
func EffectiveConfig(job Job) ([]byte, error) {
	o := job.Output
	doc := effectiveConfig{
		Version: 1, Name: job.Name, Provider: job.Provider,
		BaseURL: job.BaseURL, Auth: job.Auth.Type,
		Filter: job.Filter, Sort: job.Sort,
		PageSize: job.PageSize, MaxInFlight: job.MaxInFlight,
		RateLimit: rateText(job.RateLimit),
		Timeout:   job.Timeout.String(), MaxAttempts: job.Retry.MaxAttempts, MaxBackoff: job.Retry.MaxBackoff.String(),
		Incremental: job.Incremental, Overlap: job.Overlap.String(),
		AllowCountMismatch: job.AllowCountMismatch, AllowInsecureHTTP: job.AllowInsecureHTTP,
		WireFormat: job.WireFormat, DriftMaxRestarts: job.Drift.MaxRestarts, DriftConfirm: job.Drift.Confirm,
		TLSCAFile: job.TLS.CAFile,
		Output: effectiveOutput{
			Formats: o.Formats, Path: o.Path,
			Compression:    map[string]string{"parquet": o.Compression.Parquet, "jsonl": o.Compression.JSONL, "csv": o.Compression.CSV},
			MaxRowsPerFile: o.MaxRowsPerFile,
			IncludeRaw:     o.IncludeRaw, CSVEscapeFormulas: o.CSVEscapeFormulas,
			ColumnsKeep: o.Columns.Keep, ColumnsDrop: o.Columns.Drop, Hash: o.Hash,
		},
	}
	// Without HTML escaping, so that a tool re-encoding the document
	// (jq -c) gives the same bytes for a filter holding <, > or &.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("job %q: encode the effective config: %w", job.Name, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// ConfigSHA256 is the hex sha256 of EffectiveConfig(job).
func ConfigSHA256(job Job) (string, error) {
	body, err := EffectiveConfig(job)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:]), nil
}

func rateText(r httpsource.Rate) string {
	if r.N <= 0 || r.Per <= 0 {
		return "unlimited"
	}
	return fmt.Sprintf("%d/%v", r.N, r.Per)
}
