package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math"
	"path"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sinks"
	"github.com/saas-export/export/sources"
	"github.com/saas-export/export/sources/httpsource"
)

// Names of the files that mark a job's output complete. The leading _ is
// the Hadoop convention that Athena, Glue, Hive and Spark skip, so a table
// over the output prefix reads data files only.
const (
	ManifestName = "_manifest.json"
	SuccessName  = "_SUCCESS"
	// LegacyManifestName is the manifest of versions before the rename; a
	// rerun over such a folder removes it with the other markers.
	LegacyManifestName = "manifest.json"
)

// Manifest is _manifest.json: what a job run wrote and how it can be checked.
type Manifest struct {
	Version       int              `json:"version"`
	Job           string           `json:"job"`
	Provider      string           `json:"provider"`
	RunID         string           `json:"run_id"`
	StartedAt     time.Time        `json:"started_at"`
	FinishedAt    time.Time        `json:"finished_at"`
	SchemaVersion int              `json:"schema_version"`
	Records       int64            `json:"records"`
	SourceTotal   *int64           `json:"source_total"`
	Files         []sinks.FileInfo `json:"files"`
	Incremental   Window           `json:"incremental"`
	// DriftEvents counts the reads of the listing that showed it changing
	// and were thrown away; Confirmed says a second read held the same ids.
	DriftEvents int  `json:"drift_events"`
	Confirmed   bool `json:"confirmed"`
	// Columns are the compliance controls applied; HashKeyFingerprint
	// names the key of the pseudonyms without revealing it ("" when
	// nothing is hashed).
	Columns            ManifestColumns `json:"columns"`
	HashKeyFingerprint string          `json:"hash_key_fingerprint,omitempty"`
	// ConfigSHA256 is the sha256 of the job's effective config without
	// its secrets (EffectiveConfig): equal for runs under one config.
	ConfigSHA256 string `json:"config_sha256"`
}

// Window is the span of changes a run covers: since null means everything.
type Window struct {
	Since *time.Time `json:"since"`
	Until time.Time  `json:"until"`
	// Fetched, for a run with a since, is how many users the API returned
	// before the run kept those new or changed since the last one.
	Fetched *int64 `json:"fetched,omitempty"`
}

// runJob exports one job and reports how it went; it never panics or
// returns an error, so one job cannot stop the others.
func (r *runner) runJob(ctx context.Context, job Job) JobResult {
	t0 := time.Now()
	log := r.log.With("job", job.Name, "provider", job.Provider)
	log.Info("job started")
	r.opts.Progress.JobStarted(job.Name)
	res := JobResult{Job: job.Name, Provider: job.Provider, Files: []FileResult{}}
	var m *Manifest
	var store sinks.Store
	var folders []folderFiles
	var client *httpsource.Client
	// A lease lost while the job runs (another run took it over) stops
	// the job before it can save state.
	jobCtx, stopJob := context.WithCancelCause(ctx)
	defer stopJob(nil)
	var inc *incrementalRun
	var err error
	if job.Incremental {
		if inc, err = r.beginIncremental(jobCtx, job, stopJob); err != nil {
			err = fmt.Errorf("job %q: %w", job.Name, err)
		}
	}
	if err == nil {
		var src jobSource
		if src, client, err = r.openSource(job, inc); err == nil {
			m, store, folders, err = r.export(jobCtx, job, src, inc, log)
		}
	}
	if inc != nil {
		if m != nil {
			res.Incremental = &m.Incremental
		}
		if endErr := inc.end(context.WithoutCancel(ctx)); endErr != nil {
			if err != nil {
				err = errors.Join(err, fmt.Errorf("job %q: %w", job.Name, endErr))
			} else {
				// Committed and saved under the state's own check: a lease
				// that ended badly only delays the next run.
				log.Warn("the job's lease did not end cleanly", "err", endErr)
			}
		}
	}
	r.opts.Progress.JobFinished(job.Name, err)
	elapsed := time.Since(t0)
	res.Seconds = elapsed.Round(time.Millisecond).Seconds()
	if client != nil {
		stats := client.Stats()
		res.Requests, res.Retries, res.RateLimited = stats.Requests, stats.Retries, stats.RateLimited
		if elapsed > 0 {
			res.RequestsPerSecond = math.Round(float64(stats.Requests)/elapsed.Seconds()*100) / 100
		}
		if !math.IsInf(stats.RateLimit, 1) && stats.Requests > 0 {
			r := math.Round(stats.RateLimit*100) / 100
			res.RateLimitFinal = &r
		}
	}
	if m != nil {
		res.Records, res.SourceTotal, res.DriftEvents = m.Records, m.SourceTotal, m.DriftEvents
	}
	if err != nil {
		res.Status, res.Error = StatusFailed, err.Error()
		if isInterrupted(ctx, err) {
			res.Error = "interrupted: " + res.Error
		}
		log.Error("job failed", "err", err, "records", res.Records)
		return res
	}
	res.Status = StatusSucceeded
	for _, folder := range folders {
		res.Manifests = append(res.Manifests, store.URI(path.Join(folder.dir, ManifestName)))
		for _, f := range folder.files {
			res.Files = append(res.Files, FileResult{
				URI: store.URI(path.Join(folder.dir, f.Path)), Format: f.Format, Rows: f.Rows, Bytes: f.Bytes, SHA256: f.SHA256,
			})
		}
	}
	res.Manifest = res.Manifests[0]
	log.Info("job succeeded", "records", m.Records, "files", len(res.Files), "seconds", time.Since(t0).Seconds())
	return res
}

// export runs source → normalize → sinks for one job and commits the output.
// It returns the manifest so far even on failure, for the counts.
func (r *runner) export(ctx context.Context, job Job, src jobSource, inc *incrementalRun, log *slog.Logger) (_ *Manifest, _ sinks.Store, _ []folderFiles, err error) {
	m := &Manifest{
		Version: 1, Job: job.Name, Provider: job.Provider, RunID: r.runID,
		StartedAt: r.clock(), SchemaVersion: schema.Version,
		Incremental: Window{Until: r.extractedAt},
	}
	if inc != nil {
		m.Incremental = inc.window(r.extractedAt)
	}
	if m.ConfigSHA256, err = ConfigSHA256(job); err != nil {
		return m, nil, nil, err
	}
	store, err := r.storeFor(ctx, job.Output)
	if err != nil {
		return m, nil, nil, fmt.Errorf("job %q: %w", job.Name, err)
	}
	dirs := make([]string, len(job.Output.Formats))
	for i, format := range job.Output.Formats {
		dirs[i] = ExpandPath(job.Output.Path, job, r.extractedAt, r.runID, format)
	}
	var out *jobOutput
	defer func() {
		// A no-op once committed or aborted. An upload that could not be
		// aborted is the user's to know about: it holds storage until a
		// lifecycle rule clears it.
		if out == nil {
			return
		}
		if abortErr := out.abort(); abortErr != nil {
			err = errors.Join(err, fmt.Errorf("job %q: clean-up: %w", job.Name, abortErr))
		}
	}()
	var drifts []string
	var w *window
	for read := 1; ; read++ {
		var drift error
		var confirmW *window
		if inc != nil {
			began := time.Now()
			w, confirmW = inc.newWindow(began), inc.newWindow(began)
		}
		out, drift, err = r.read(ctx, job, src, store, dirs, m, w, confirmW, log)
		if err != nil {
			return m, store, nil, fmt.Errorf("job %q: %w", job.Name, err)
		}
		if drift == nil {
			break
		}
		m.DriftEvents++
		drifts = append(drifts, fmt.Sprintf("read %d: %v", read, drift))
		if abortErr := out.abort(); abortErr != nil {
			return m, store, nil, fmt.Errorf("job %q: clean-up before reading the listing again: %w", job.Name, abortErr)
		}
		if read > job.Drift.MaxRestarts {
			return m, store, nil, fmt.Errorf("job %q: the listing changed while it was paged, on each of %d reads (drift.max_restarts: %d); nothing was committed: %s",
				job.Name, read, job.Drift.MaxRestarts, strings.Join(drifts, "; "))
		}
		log.Warn("the listing changed while it was paged; reading it again from the start",
			"read", read, "max_restarts", job.Drift.MaxRestarts, "drift", drift)
	}
	folders, err := out.commit(ctx)
	if err != nil {
		return m, store, nil, fmt.Errorf("job %q: %w", job.Name, err)
	}
	m.FinishedAt = r.clock()
	// Each folder's manifest lists the files beside it; all of them say
	// the job's records, which every format holds.
	for _, folder := range folders {
		fm := *m
		fm.Files = folder.files
		if err := writeMarkers(ctx, store, folder.dir, &fm); err != nil {
			return m, store, nil, fmt.Errorf("job %q: %w", job.Name, err)
		}
	}
	if inc != nil {
		// Only now that every _SUCCESS is committed: a run killed before
		// this line leaves the old state, and the next run exports its
		// window again (twice rather than never).
		manifest := store.URI(path.Join(folders[0].dir, ManifestName))
		if err := inc.save(ctx, w.state(job, r.runID, manifest, time.Now().UTC())); err != nil {
			return m, store, nil, fmt.Errorf("job %q: the export is committed (%s) but its state was not advanced, so the next run exports this window again: %w",
				job.Name, manifest, err)
		}
	}
	return m, store, folders, nil
}

// read pages through the whole listing into a new set of files, finished
// but not committed, then, with drift.confirm, through it again without
// writing. A listing that changed meanwhile is drift: its error (a
// *httpsource.DriftError or a confirmation that does not match) comes
// back as drift, with the files still to abort; any other failure as err.
// An incremental job's reads keep only what w and confirmW let through
// (nil for a job that is not incremental).
func (r *runner) read(ctx context.Context, job Job, src jobSource, store sinks.Store, dirs []string, m *Manifest,
	w, confirmW *window, log *slog.Logger,
) (out *jobOutput, drift, err error) {
	out, err = newJobOutput(ctx, store, dirs, job.Output)
	if err != nil {
		return nil, nil, err
	}
	protect := protectOutput(out, job, m)
	var total schema.Null[int64]
	seed := maphash.MakeSeed() // the confirming read hashes alike
	written := httpsource.NewIDDigest(seed)
	if src.memo != nil {
		src.memo.Reset(seed)
	}
	if src.doubts != nil {
		src.doubts.Reset()
	}
	m.Records, m.SourceTotal = 0, nil
	var fetched int64
	var pages []int // in each listing, for the confirming read
	filtered := w != nil && w.since != nil
	err = src.read.Fetch(ctx, func(p httpsource.Page) error {
		total = p.Total // the latest page's word is final (a Sequence's totals grow)
		fetched += int64(len(p.Users))
		for len(pages) <= p.Listing {
			pages = append(pages, 0)
		}
		pages[p.Listing]++
		users := p.Users
		if w != nil {
			users = w.keep(users)
		}
		r.stamp(job, users)
		written.Add(users)
		// After the digest, which stays on the ids as read. A raw record
		// that cannot be scrubbed fails the job rather than go out as sent.
		if err := protect.apply(users); err != nil {
			return err
		}
		m.Records += int64(len(users))
		expected := total
		if filtered {
			expected = schema.Null[int64]{} // the API's count is of what it sent, not of what is kept
		}
		if err := out.write(users, expected); err != nil {
			return err
		}
		r.opts.Progress.Records(job.Name, m.Records, total)
		return nil
	})
	if total.Valid {
		m.SourceTotal = &total.V
	}
	if err != nil {
		drift, err := asDrift(err)
		return out, drift, err
	}
	if filtered {
		m.Incremental.Fetched = &fetched
	}
	// The API counts what it lists; an incremental run compares what it
	// read, before its own filter. A listing sorted newest first stopped
	// reading early, so its total is of more than was read.
	if total.Valid && total.V != fetched && !(filtered && r.incrementalKind(job) == httpsource.IncrementalSorted) {
		if !job.AllowCountMismatch {
			what := "wrote"
			if filtered {
				what = "read" // and kept fewer
			}
			return out, nil, fmt.Errorf("%s %d records but %s reported a total of %d; nothing was committed (set allow_count_mismatch: true to accept)",
				what, fetched, job.Provider, total.V)
		}
		log.Warn("records read differ from the provider's total", "records", fetched, "source_total", total.V)
	}
	if !job.Drift.Confirm {
		return out, nil, out.finish()
	}
	// The files are finished while the listing is read again: finishing
	// is CPU (and, to S3, an upload) that the requests need not wait for.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(out.finish)
	g.Go(func() error {
		drift, err = r.confirm(gctx, src, pages, seed, written, confirmW)
		return err
	})
	if err := g.Wait(); err != nil {
		return out, nil, err
	}
	if drift == nil {
		m.Confirmed = true
	}
	return out, drift, nil
}

// confirm reads the listing again, expecting the first read's pages in
// each listing, and compares its ids with the first read's, written:
// drift when they differ. Any other failure comes back as err.
func (r *runner) confirm(ctx context.Context, src jobSource, pages []int, seed maphash.Seed, written httpsource.IDDigest, confirmW *window) (drift, err error) {
	confirm, err := src.confirm(pages)
	if err != nil {
		return nil, err
	}
	confirmed := httpsource.NewIDDigest(seed)
	if err := confirm.Fetch(ctx, func(p httpsource.Page) error {
		if p.Same != nil { // the first read's page, byte for byte
			confirmed.Merge(p.Same.Digest)
			return nil
		}
		users := p.Users
		if confirmW != nil {
			users = confirmW.keep(users)
		}
		confirmed.Add(users)
		return nil
	}); err != nil {
		return asDrift(err)
	}
	if confirmed != written {
		return &httpsource.DriftError{Event: httpsource.DriftEvent{
			Kind: httpsource.DriftConfirm, Detail: written.Differs(confirmed),
		}}, nil
	}
	if dup := src.doubts.Duplicate(); dup != nil { // the reads agree: the first held it twice too
		return dup, nil
	}
	return nil, nil
}

// incrementalKind is how the job's provider narrows an incremental read.
func (r *runner) incrementalKind(job Job) httpsource.Incremental {
	p, _ := sources.Lookup(job.Provider) // validated at load
	return p.Incremental
}

// asDrift sorts a failed read's error into drift, which a new read may
// cure, and any other error.
func asDrift(err error) (drift, other error) {
	if _, ok := errors.AsType[*httpsource.DriftError](err); ok {
		return err, nil
	}
	return nil, err
}

// jobSource is a job's listing, twice: read decodes whole users; confirm
// builds the confirming read's source, told how many pages each listing
// held in the first, which may decode ids alone since ids are all it
// compares, and no page whose body comes back as memo holds it from the
// first read. An incremental job's confirming read also filters by update
// time, so both are whole there, and there is no memo: what the reads
// compare is what their windows keep of a page. The first read leaves
// in doubts the ids its compact id set could not clear, which the
// confirming read counts, decoding every page to do so.
type jobSource struct {
	read    httpsource.Source
	confirm func(expectPages []int) (httpsource.Source, error)
	memo    *httpsource.PageMemo // nil: none
	doubts  *httpsource.Doubts   // nil: no confirming read
}

// openSource builds the job's provider source on its own HTTP client,
// which it returns too for its request counts. An incremental run's
// source asks only for its window, where the API allows.
func (r *runner) openSource(job Job, inc *incrementalRun) (jobSource, *httpsource.Client, error) {
	var since *time.Time
	if inc != nil {
		since = inc.window(r.extractedAt).Since
	}
	p, sj, client, err := r.connect(job, since, 0)
	if err != nil {
		return jobSource{}, nil, err
	}
	src := jobSource{}
	if job.Drift.Confirm && inc == nil {
		src.memo = httpsource.NewPageMemo()
	}
	if job.Drift.Confirm {
		src.doubts = httpsource.NewDoubts()
	}
	first := sj
	first.Read.NoRecheck, first.Read.Remember, first.Read.Doubt = job.Drift.Confirm, src.memo, src.doubts
	if src.read, err = p.New(first, client); err != nil {
		return jobSource{}, nil, fmt.Errorf("job %q: %w", job.Name, err)
	}
	sj.IDsOnly = inc == nil
	src.confirm = func(expectPages []int) (httpsource.Source, error) {
		confirm := sj
		confirm.Read.Expect, confirm.Read.Recall, confirm.Read.Settle = expectPages, src.memo, src.doubts
		if src.doubts.Any() {
			confirm.Read.Recall = nil // a recalled page's ids are not at hand to count
		}
		s, err := p.New(confirm, client)
		if err != nil {
			return nil, fmt.Errorf("job %q: %w", job.Name, err)
		}
		return s, nil
	}
	return src, client, nil
}

// connect resolves what the job's provider needs (for base_url: simulator,
// the built-in simulator's URL) and builds the job's HTTP client: auth,
// CA bundle, proxy, timeout, retries and rate limit, the budget of its
// account when other jobs of the run share it. since is the
// incremental window's start, nil for everyone; maxRequests bounds the
// client's requests (0: no bound).
func (r *runner) connect(job Job, since *time.Time, maxRequests int64) (sources.Provider, httpsource.Job, *httpsource.Client, error) {
	p, ok := sources.Lookup(job.Provider)
	if !ok {
		return p, httpsource.Job{}, nil, fmt.Errorf("job %q: unknown provider %q", job.Name, job.Provider)
	}
	fail := func(format string, err error) (sources.Provider, httpsource.Job, *httpsource.Client, error) {
		return p, httpsource.Job{}, nil, fmt.Errorf("job %q: "+format, job.Name, err)
	}
	baseURL := job.BaseURL
	if baseURL == SimulatorURL {
		var err error
		if baseURL, err = r.simulatorURL(p.Name); err != nil {
			return fail("%w", err)
		}
	}
	var ca []byte
	if job.TLS.CAFile != "" {
		var err error
		if ca, err = readCABundle(job.TLS.CAFile); err != nil { // checked at load, but read anew
			return fail("tls.ca_file: %w", err)
		}
	}
	// The proxy settings as they are now, not as net/http first read them.
	proxy, err := httpsource.ProxyFromEnvironment()
	if err != nil {
		return fail("%w", err)
	}
	transport, err := httpsource.NewTransport(httpsource.TransportConfig{CAPEM: ca, Proxy: proxy, MaxInFlight: job.MaxInFlight})
	if err != nil {
		return fail("tls.ca_file: %w", err)
	}
	client := httpsource.NewClient(httpsource.ClientConfig{
		Job: job.Name, Provider: job.Provider, Auth: job.Auth,
		Timeout: job.Timeout, Rate: job.RateLimit, Retry: job.Retry,
		UserAgent: "export/" + r.opts.Version, Logger: r.log, // the client logs job and provider itself
		Transport: transport, MaxRequests: maxRequests, Budget: r.budgets.budget(job.Name),
	})
	sj := job.SourceJob(baseURL, r.extractedAt)
	sj.UpdatedSince = since
	return p, sj, client, nil
}

// stamp is the part of normalization that belongs to the run, not the
// provider: which job and run a row came from, and when.
func (r *runner) stamp(job Job, users []schema.User) {
	for i := range users {
		u := &users[i]
		u.Provider, u.Job, u.RunID, u.ExtractedAt = job.Provider, job.Name, r.runID, r.extractedAt
	}
}

// ExpandPath fills the output path template's placeholders for the
// folder of one format.
func ExpandPath(tmpl string, job Job, now time.Time, runID, format string) string {
	return strings.NewReplacer(
		"{job}", job.Name,
		"{format}", format,
		"{provider}", job.Provider,
		"{date}", now.UTC().Format(time.DateOnly),
		"{run_id}", runID,
	).Replace(tmpl)
}

// writeMarkers writes _manifest.json and then the empty _SUCCESS, each
// committed only when complete.
func writeMarkers(ctx context.Context, store sinks.Store, dir string, m *Manifest) error {
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", ManifestName, err)
	}
	if err := putObject(ctx, store, path.Join(dir, ManifestName), "application/json", append(body, '\n')); err != nil {
		return err
	}
	return putObject(ctx, store, path.Join(dir, SuccessName), "application/octet-stream", nil)
}

func putObject(ctx context.Context, store sinks.Store, key, contentType string, body []byte) error {
	obj, err := store.Create(ctx, key, contentType)
	if err != nil {
		return fmt.Errorf("create %s: %w", store.URI(key), err)
	}
	if _, err := obj.Write(body); err != nil {
		_ = obj.Abort()
		return fmt.Errorf("write %s: %w", store.URI(key), err)
	}
	if err := obj.Close(); err != nil {
		return fmt.Errorf("commit %s: %w", store.URI(key), err)
	}
	return nil
}
