package pipeline

import (
	"context"
	"errors"
	"io/fs"
	"time"

	"github.com/saas-export/export/schema"
)

// updatePrecision is the coarsest update-time precision of the providers
// (Medipim's unix seconds).
const updatePrecision = time.Second

// window is one read's incremental filter and the state it gathers.
//
// It keeps the users updated at or after since, except those the last
// committed run wrote with the same update time (its boundary): an
// unchanged user re-read in the overlap is not exported twice, and a user
// whose update landed late, behind the cursor, still is. A full read
// (since nil) keeps everyone.
//
// As it goes it gathers the next state: the cursor, the highest update
// time seen but never past the moment the read began (a user changed
// during the read may have changed on a page already read), and the
// users updated at or after cursor − overlap. A user updated less than
// updatePrecision before the read began stays out of the boundary: a
// second update in the same second, after the read, would carry the same
// update time, so only exporting it again next run is sure to catch it.
type window struct {
	since     *time.Time
	committed map[string]time.Time // the last state's boundary: id → updated_at
	overlap   time.Duration
	began     time.Time // by the wall clock, which update times are on

	fetched  int64 // users the API returned, before the filter
	maxSeen  time.Time
	seenAny  bool
	boundary map[string]time.Time
	pruneAt  int // prune the boundary once it holds this many
}

func newWindow(st *JobState, overlap time.Duration, began time.Time) *window {
	w := &window{overlap: overlap, began: began, boundary: map[string]time.Time{}, pruneAt: 1024}
	if st == nil || st.Cursor == nil {
		return w
	}
	since := st.Cursor.Add(-overlap)
	w.since = &since
	w.committed = make(map[string]time.Time, len(st.Boundary))
	for _, b := range st.Boundary {
		w.committed[b.ID] = b.UpdatedAt
	}
	return w
}

// keep filters users in place and returns those to write.
func (w *window) keep(users []schema.User) []schema.User {
	w.fetched += int64(len(users))
	kept := users[:0]
	for _, u := range users {
		if !u.UpdatedAt.Valid {
			if w.since == nil {
				kept = append(kept, u) // nothing says it changed, but a full read has everyone
			}
			continue
		}
		at := u.UpdatedAt.V
		if w.since != nil && at.Before(*w.since) {
			continue
		}
		w.track(u.ID, at)
		if prev, ok := w.committed[u.ID]; ok && prev.Equal(at) {
			continue
		}
		kept = append(kept, u)
	}
	return kept
}

func (w *window) track(id string, at time.Time) {
	if !w.seenAny || at.After(w.maxSeen) {
		w.maxSeen, w.seenAny = at, true
	}
	if !at.Before(w.cutoff()) && !at.After(w.began.Add(-updatePrecision)) {
		w.boundary[id] = at
	}
	if len(w.boundary) >= w.pruneAt {
		w.prune()
		w.pruneAt = max(1024, 2*len(w.boundary))
	}
}

// cursor is the next state's cursor; ok is false when no user had an
// update time. It is called for every user, so it returns a value.
func (w *window) cursor() (c time.Time, ok bool) {
	if !w.seenAny {
		if w.since != nil { // nothing in the window: the cursor stays
			return w.since.Add(w.overlap), true
		}
		return time.Time{}, false
	}
	c = w.maxSeen
	if w.began.Before(c) {
		c = w.began
	}
	if w.since != nil && c.Before(w.since.Add(w.overlap)) {
		c = w.since.Add(w.overlap) // never backwards
	}
	return c, true
}

func (w *window) cutoff() time.Time {
	c, ok := w.cursor()
	if !ok {
		return time.Time{}
	}
	return c.Add(-w.overlap)
}

// prune drops the users that fell behind the cutoff as it moved on.
func (w *window) prune() {
	cut := w.cutoff()
	for id, at := range w.boundary {
		if at.Before(cut) {
			delete(w.boundary, id)
		}
	}
}

// state is the state a commit of this read leaves.
func (w *window) state(job Job, runID, manifest string, committedAt time.Time) *JobState {
	w.prune()
	var cursor *time.Time
	if c, ok := w.cursor(); ok {
		cursor = &c
	}
	return &JobState{
		Version: stateVersion, Job: job.Name, Provider: job.Provider,
		Cursor: cursor, Boundary: boundaryOf(w.boundary),
		RunID: runID, Manifest: manifest, CommittedAt: committedAt,
	}
}

// incrementalRun is an incremental job's hold on its state for one run:
// the lease, and the state as it was when the run began.
type incrementalRun struct {
	store   *stateStore
	lease   *heldLease
	state   *JobState // nil: everyone is exported (a first run, or --full)
	version string    // of the state object, which the save replaces
	overlap time.Duration
}

// beginIncremental takes the job's lease, then reads its state; lost is
// called if the lease is lost while the job runs. With full, the state's
// content is ignored (it may even be unreadable): the run exports
// everyone and replaces it.
func (r *runner) beginIncremental(ctx context.Context, job Job, lost func(error)) (*incrementalRun, error) {
	store, err := openStateStore(ctx, r.cfg.State)
	if err != nil {
		return nil, err
	}
	lease, err := store.acquire(ctx, job, r.runID, lost)
	if err != nil {
		return nil, err
	}
	inc := &incrementalRun{store: store, lease: lease, overlap: job.Overlap}
	if r.opts.Full {
		_, inc.version, err = store.store.Get(ctx, stateKey(job.Name))
		if errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
	} else {
		inc.state, inc.version, err = store.load(ctx, job)
	}
	if err != nil {
		return nil, errors.Join(err, lease.release(context.WithoutCancel(ctx)))
	}
	return inc, nil
}

// window returns the run's window, nil for a full export.
func (inc *incrementalRun) window(extractedAt time.Time) Window {
	w := Window{Until: extractedAt}
	if inc.state != nil && inc.state.Cursor != nil {
		since := inc.state.Cursor.Add(-inc.overlap)
		w.Since = &since
	}
	return w
}

func (inc *incrementalRun) newWindow(began time.Time) *window {
	return newWindow(inc.state, inc.overlap, began)
}

// save advances the state to what the committed read saw.
func (inc *incrementalRun) save(ctx context.Context, st *JobState) error {
	return inc.store.save(ctx, st, inc.version)
}

// end releases the lease.
func (inc *incrementalRun) end(ctx context.Context) error {
	return inc.lease.release(ctx)
}
