package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/saas-export/export/sinks"
)

// stateVersion is the layout of the state objects this build reads and
// writes. A newer one is refused, never read as "no state".
const stateVersion = 1

// JobState is one incremental job's state object, <state.dir>/<job>.state.json.
type JobState struct {
	Version  int    `json:"version"`
	Job      string `json:"job"`
	Provider string `json:"provider"`
	// Cursor is where the next run's window starts, before the overlap:
	// the highest updated_at committed, but never later than the moment
	// the committed read began, since a user changed during the read may
	// have been changed on a page already read. Null: no user had one.
	Cursor *time.Time `json:"cursor"`
	// Boundary is every committed user updated at or after Cursor minus
	// the overlap, with that update time: the next run re-reads them and
	// exports only those whose update time moved.
	Boundary    []BoundaryUser `json:"boundary"`
	RunID       string         `json:"run_id"`
	Manifest    string         `json:"manifest"` // the committed run that wrote this state
	CommittedAt time.Time      `json:"committed_at"`
}

// BoundaryUser is one user of a state's boundary.
type BoundaryUser struct {
	ID        string    `json:"id"`
	UpdatedAt time.Time `json:"updated_at"`
}

func stateKey(job string) string { return job + ".state.json" }
func leaseKey(job string) string { return job + ".lease.json" }

// stateStore is an open state.dir.
type stateStore struct {
	store interface {
		sinks.Store
		sinks.Versioned
	}
	cfg State
}

func openStateStore(ctx context.Context, cfg State) (*stateStore, error) {
	store, err := OpenStore(ctx, Output{Destination: cfg.Dir, S3: cfg.S3})
	if err != nil {
		return nil, fmt.Errorf("state.dir: %w", err)
	}
	v, ok := store.(interface {
		sinks.Store
		sinks.Versioned
	})
	if !ok {
		return nil, fmt.Errorf("state.dir %s: this store keeps no versioned objects", cfg.Dir)
	}
	return &stateStore{store: v, cfg: cfg}, nil
}

// load reads the job's state and the version a later save must replace;
// nil and "" when the job has none yet. A state that cannot be read as
// this build's is an error: a silent full export would pass for an
// incremental one.
func (s *stateStore) load(ctx context.Context, job Job) (*JobState, string, error) {
	key := stateKey(job.Name)
	body, version, err := s.store.Get(ctx, key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read state: %w", err)
	}
	uri := s.store.URI(key)
	var probe struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(body, &probe); err != nil || probe.Version == nil {
		return nil, "", fmt.Errorf("state %s is corrupt (%s); nothing was exported: restore it, or run with --full to export everything and start it again",
			uri, cmpErr(err, "no version"))
	}
	if *probe.Version > stateVersion {
		return nil, "", fmt.Errorf("state %s has version %d, written by a newer export (this one reads version %d); upgrade, or run with --full to start it again",
			uri, *probe.Version, stateVersion)
	}
	var st JobState
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil || st.Version != stateVersion {
		return nil, "", fmt.Errorf("state %s is corrupt (%s); nothing was exported: restore it, or run with --full to export everything and start it again",
			uri, cmpErr(err, fmt.Sprintf("version %d", st.Version)))
	}
	switch {
	case st.Job != job.Name:
		return nil, "", fmt.Errorf("state %s belongs to job %q, not %q", uri, st.Job, job.Name)
	case st.Provider != job.Provider:
		return nil, "", fmt.Errorf("state %s was written for provider %s, and the job now reads %s: run with --full to start it again",
			uri, st.Provider, job.Provider)
	}
	return &st, version, nil
}

func cmpErr(err error, otherwise string) string {
	if err != nil {
		return err.Error()
	}
	return otherwise
}

// save replaces the state at version (""; it must not exist yet). A
// state changed meanwhile means another run advanced it: that is an
// error, and this run's state is not written.
func (s *stateStore) save(ctx context.Context, st *JobState, version string) error {
	body, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	key := stateKey(st.Job)
	if _, err := s.store.Put(ctx, key, append(body, '\n'), version); err != nil {
		if errors.Is(err, sinks.ErrVersionChanged) {
			return fmt.Errorf("state %s changed since this run read it: another run of the job advanced it; this run's state was not saved: %w",
				s.store.URI(key), err)
		}
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// Lease is the record that one run holds a job's state:
// <state.dir>/<job>.lease.json. It is renewed while the run goes on and
// marked released at its end; a lease that was not renewed in time, or
// whose process is gone from this host, is stale and may be taken over.
type Lease struct {
	Job        string    `json:"job"`
	RunID      string    `json:"run_id"`
	Host       string    `json:"host"`
	PID        int       `json:"pid"`
	Process    string    `json:"process"` // random per process: tells a reused pid apart
	AcquiredAt time.Time `json:"acquired_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Released   bool      `json:"released"`
}

func (l Lease) holder() string {
	return fmt.Sprintf("run %s (host %s, pid %d) since %s", l.RunID, l.Host, l.PID, l.AcquiredAt.Format(time.RFC3339))
}

// stale says the lease protects nothing any more: released, expired, or
// taken by a process of this host that is gone. A process with the
// lease's pid but another token is not its holder: a restarted container
// reuses pid 1.
func (l Lease) stale(now time.Time, host string, pid int, process string) bool {
	if l.Released || now.After(l.ExpiresAt) {
		return true
	}
	if l.Host != host {
		return false
	}
	if l.PID == pid {
		return l.Process != process
	}
	return !processAlive(l.PID)
}

// processToken tells this process apart from an earlier one with its pid.
var processToken = func() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}()

// processAlive asks the kernel whether pid exists; EPERM means it does,
// under another user.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}

// heldLease is a lease this run holds, renewed in the background until
// released.
type heldLease struct {
	store   *stateStore
	key     string
	lease   Lease
	version string
	stop    chan struct{}
	done    chan struct{}
	lostErr error // set by the renewer before done closes
}

// acquire takes the job's lease, waiting up to state.lock_wait for a live
// holder to release it; lost is called if the lease is lost while held
// (another run took it over after it expired unrenewed).
func (s *stateStore) acquire(ctx context.Context, job Job, runID string, lost func(error)) (*heldLease, error) {
	key := leaseKey(job.Name)
	host, _ := os.Hostname()
	deadline := time.Now().Add(s.cfg.LockWait)
	for {
		body, version, err := s.store.Get(ctx, key)
		var current Lease
		switch {
		case errors.Is(err, fs.ErrNotExist):
			version = ""
		case err != nil:
			return nil, fmt.Errorf("read lease: %w", err)
		default:
			if err := json.Unmarshal(body, &current); err != nil {
				return nil, fmt.Errorf("lease %s is corrupt (%v): remove it once no run of the job is going on", s.store.URI(key), err)
			}
		}
		now := time.Now()
		if version == "" || current.stale(now, host, os.Getpid(), processToken) {
			mine := Lease{Job: job.Name, RunID: runID, Host: host, PID: os.Getpid(), Process: processToken, AcquiredAt: now.UTC(), ExpiresAt: now.Add(s.cfg.LeaseTTL).UTC()}
			newVersion, err := s.putLease(ctx, key, mine, version)
			if errors.Is(err, sinks.ErrVersionChanged) {
				continue // another run came first; look again
			}
			if err != nil {
				return nil, err
			}
			h := &heldLease{store: s, key: key, lease: mine, version: newVersion, stop: make(chan struct{}), done: make(chan struct{})}
			go h.renew(ctx, lost)
			return h, nil
		}
		if !now.Before(deadline) {
			return nil, fmt.Errorf("another run of the job holds its state: %s, until %s (lease %s; state.lock_wait: %s)",
				current.holder(), current.ExpiresAt.Format(time.RFC3339), s.store.URI(key), s.cfg.LockWait)
		}
		t := time.NewTimer(min(time.Second, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

func (s *stateStore) putLease(ctx context.Context, key string, l Lease, version string) (string, error) {
	body, err := json.Marshal(l)
	if err != nil {
		return "", err
	}
	v, err := s.store.Put(ctx, key, append(body, '\n'), version)
	if err != nil && !errors.Is(err, sinks.ErrVersionChanged) {
		return "", fmt.Errorf("write lease: %w", err)
	}
	return v, err
}

// renew extends the lease every third of its TTL. A renewal refused
// because the lease changed means another run took it over: the job must
// stop before it saves state. A renewal that fails otherwise is tried
// again at the next tick, until the lease would expire.
func (h *heldLease) renew(ctx context.Context, lost func(error)) {
	defer close(h.done)
	ttl := h.store.cfg.LeaseTTL
	tick := time.NewTicker(ttl / 3)
	defer tick.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		next := h.lease
		next.ExpiresAt = time.Now().Add(ttl).UTC()
		version, err := h.store.putLease(ctx, h.key, next, h.version)
		switch {
		case err == nil:
			h.lease, h.version = next, version
		case errors.Is(err, sinks.ErrVersionChanged) || time.Now().After(h.lease.ExpiresAt):
			h.lostErr = fmt.Errorf("lost the lease %s: %w", h.store.store.URI(h.key), err)
			lost(h.lostErr)
			return
		}
	}
}

// release stops renewing and marks the lease released, so the next run
// need not wait for it to expire. It reports a lease lost while held.
func (h *heldLease) release(ctx context.Context) error {
	close(h.stop)
	<-h.done
	if h.lostErr != nil {
		return h.lostErr
	}
	released := h.lease
	released.Released = true
	if _, err := h.store.putLease(ctx, h.key, released, h.version); err != nil {
		return fmt.Errorf("release the lease %s: %w", h.store.store.URI(h.key), err)
	}
	return nil
}

// boundaryOf lists a boundary sorted by id, so a state's bytes depend
// only on what was committed.
func boundaryOf(m map[string]time.Time) []BoundaryUser {
	out := make([]BoundaryUser, 0, len(m))
	for id, at := range m {
		out = append(out, BoundaryUser{ID: id, UpdatedAt: at})
	}
	slices.SortFunc(out, func(a, b BoundaryUser) int { return strings.Compare(a.ID, b.ID) })
	return out
}
