package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/saas-export/export/sinks"
)

// CheckTimeout bounds the writing of one destination's probe object, and
// separately its removal, so that a black-holed endpoint cannot hang a
// check.
const CheckTimeout = 30 * time.Second

// CheckObjectPrefix starts the name of the probe object a destination
// check writes at the destination's root and removes again.
const CheckObjectPrefix = ".export-check-"

// checkConcurrency bounds the destinations checked at once.
const checkConcurrency = 8

// DestinationCheck is the outcome of proving write access to one output
// destination.
type DestinationCheck struct {
	URI  string   // the destination's root, as its store names it
	Jobs []string // the jobs writing there, in file order
	Err  error    // nil when the probe was written, committed and removed, and listing worked
}

// CheckDestinations proves, for each distinct destination of jobs, that a
// run could write there: it opens the store as a run does, creates a tiny
// object at the destination's root, commits it and removes it, and lists
// a folder (as a run lists its output folder).
// Destinations are told apart by their location and, for S3, their
// settings (SSE, KMS key, tags...), which the probe object is written
// with. A local destination's directory is created when missing, as a
// run would create it. A probe committed and then not removed is an
// error naming it. The checks run concurrently, each bounded by
// CheckTimeout; the results are in the order the destinations first
// appear among jobs.
func CheckDestinations(ctx context.Context, jobs []Job) []DestinationCheck {
	return checkDestinations(ctx, jobs, CheckTimeout)
}

func checkDestinations(ctx context.Context, jobs []Job, timeout time.Duration) []DestinationCheck {
	var (
		checks  []DestinationCheck
		outputs []Output
		index   = map[string]int{}
	)
	for _, j := range jobs {
		key := destinationKey(j.Output)
		i, ok := index[key]
		if !ok {
			i = len(checks)
			index[key] = i
			checks = append(checks, DestinationCheck{URI: j.Output.Destination})
			outputs = append(outputs, j.Output)
		}
		checks[i].Jobs = append(checks[i].Jobs, j.Name)
	}
	var g errgroup.Group
	g.SetLimit(checkConcurrency)
	for i := range checks {
		g.Go(func() error {
			checks[i].URI, checks[i].Err = checkDestination(ctx, outputs[i], timeout)
			return nil
		})
	}
	_ = g.Wait()
	return checks
}

// destinationKey tells destinations apart as the run's storeFor does, by
// location and S3 settings; a local destination ignores the S3 settings,
// so they do not split it.
func destinationKey(o Output) string {
	if isS3Location(o.Destination) {
		return fmt.Sprintf("%s %+v", o.Destination, o.S3)
	}
	return o.Destination
}

// checkDestination writes, commits and removes a probe object at the root
// of o's destination, then lists a folder of the probe's name. It returns the destination's URI (as
// given when the store cannot be opened) and what went wrong.
func checkDestination(ctx context.Context, o Output, timeout time.Duration) (string, error) {
	store, err := OpenStore(ctx, o)
	if err != nil {
		return o.Destination, err
	}
	uri := store.URI("")
	key, err := probeKey()
	if err != nil {
		return uri, err
	}

	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := putProbe(wctx, store, key); err != nil {
		return uri, timeoutHint(wctx, err, timeout)
	}
	// The probe is committed: remove it even when ctx was cancelled in the
	// meantime, within a bound of its own.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer rcancel()
	if err := store.Remove(rctx, key); err != nil {
		return uri, fmt.Errorf("the probe object %s was written but not removed; delete it by hand: %w",
			store.URI(key), timeoutHint(rctx, err, timeout))
	}
	// A run lists each output folder to take down stale files, so listing
	// is part of write access. A folder named after the probe, gone by now,
	// keeps the listing empty and cheap whatever the destination holds.
	if _, err := store.List(wctx, key); err != nil {
		return uri, timeoutHint(wctx, err, timeout)
	}
	return uri, nil
}

// probeKey is a fresh, hidden probe object name. Hidden names are skipped
// by Athena, and a run's stale-file cleanup never touches them.
func probeKey() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return CheckObjectPrefix + hex.EncodeToString(b[:]), nil
}

func putProbe(ctx context.Context, store sinks.Store, key string) error {
	obj, err := store.Create(ctx, key, "text/plain; charset=utf-8")
	if err != nil {
		return err
	}
	body := fmt.Sprintf("export validate --check-destination: a write-access probe, removed right away; safe to delete. Written at %s.\n",
		time.Now().UTC().Format(time.RFC3339))
	if _, err := obj.Write([]byte(body)); err != nil {
		return errors.Join(err, obj.Abort())
	}
	return obj.Close() // commits, or leaves nothing at key
}

// timeoutHint says which bound a context deadline error came from, which
// the SDK's own message leaves to guess.
func timeoutHint(ctx context.Context, err error, timeout time.Duration) error {
	if err == nil || !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("no response within %v: %w", timeout, err)
}
