package main

import (
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/saas-export/export/pipeline"
	"github.com/saas-export/export/schema"
)

// Progress bars for `export run` on a terminal: one bar per job, drawn
// on stderr by mpb while the run lasts. Off a terminal none of this runs
// and stderr gets plain log lines only.

const (
	barRefresh = 150 * time.Millisecond // how often the bars are redrawn
	barWidth   = 30                     // the bar proper, without name and counts
)

// wantBars reports whether a run should draw progress bars: only when
// stderr is a terminal, and not a dumb one that cannot move the cursor.
func wantBars(e env) bool {
	if !e.stderrIsTerminal {
		return false
	}
	term, _ := e.lookup("TERM")
	return term != "dumb"
}

// wantColor honours NO_COLOR (https://no-color.org): set to anything
// but the empty string, it turns colour off.
func wantColor(e env) bool {
	v, ok := e.lookup("NO_COLOR")
	return !ok || v == ""
}

// logWriter is where the run's logger writes: stderr, or above the bars
// while they are drawn, so that log lines never garble them.
type logWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// set switches the destination once every write under way has finished.
func (l *logWriter) set(w io.Writer) {
	l.mu.Lock()
	l.w = w
	l.mu.Unlock()
}

// bars is the pipeline.Progress that draws the bars. Its methods may be
// called concurrently; Close must be called once the run is over.
type bars struct {
	p        *mpb.Progress
	out      io.Writer // stderr, where logs go again after Close
	logs     *logWriter
	color    bool
	refresh  chan any      // each value redraws the bars
	shutdown chan any      // closed by mpb when it has stopped
	stop     chan struct{} // stops the refresh ticker
	ticking  sync.WaitGroup

	mu     sync.Mutex
	jobs   map[string]*jobBar
	closed bool
}

var _ pipeline.Progress = (*bars)(nil)

// newBars starts drawing on out (stderr, a terminal) and sends the log
// lines written to logs above the bars until Close.
func newBars(out io.Writer, logs *logWriter, color bool) *bars {
	b := &bars{
		out: out, logs: logs, color: color,
		refresh:  make(chan any),
		shutdown: make(chan any),
		stop:     make(chan struct{}),
		jobs:     map[string]*jobBar{},
	}
	b.p = mpb.New(
		mpb.WithOutput(out),
		// The caller decided this is a terminal; out may wrap the real
		// *os.File (or be a test's buffer), so do not ask mpb to guess.
		mpb.ForceTTY(),
		// Finished jobs scroll up as permanent lines and leave the bottom
		// of the screen to the running ones, however many jobs there are.
		mpb.PopCompletedMode(),
		// Redraws come from our own ticker, so that Close can ask for a
		// last one: mpb only flushes lines written above the bars when it
		// redraws, and the last log lines of a run must not be lost.
		mpb.WithManualRefresh(b.refresh),
		mpb.WithShutdownNotifier(b.shutdown),
	)
	b.ticking.Add(1)
	go b.tick()
	logs.set(aboveBars{b})
	return b
}

// aboveBars writes log lines above the bars, or straight to stderr if
// mpb has stopped early (it stops drawing on a terminal write error).
type aboveBars struct{ b *bars }

func (a aboveBars) Write(p []byte) (int, error) {
	n, err := a.b.p.Write(p)
	if err != nil && n == 0 {
		return a.b.out.Write(p)
	}
	return n, err
}

func (b *bars) tick() {
	defer b.ticking.Done()
	t := time.NewTicker(barRefresh)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			select {
			case b.refresh <- now:
			case <-b.stop:
				return
			case <-b.shutdown:
				return
			}
		case <-b.stop:
			return
		case <-b.shutdown:
			return
		}
	}
}

// JobStarted adds the job's bar.
func (b *bars) JobStarted(job string) { b.bar(job) }

// Records moves the job's bar; the provider's total, once known, turns
// the counter into a bar.
func (b *bars) Records(job string, written int64, total schema.Null[int64]) {
	jb := b.bar(job)
	jb.mu.Lock()
	jb.written = written
	if total.Valid {
		jb.total, jb.known = total.V, true
	}
	jb.mu.Unlock()
	if jb.bar == nil {
		return
	}
	if total.Valid {
		jb.bar.SetTotal(max(total.V, 0), false) // shown only: completion is JobFinished's
	}
	jb.bar.SetCurrent(written)
}

// JobFinished completes the job's bar with ✓, or stops it with ✗.
func (b *bars) JobFinished(job string, err error) {
	jb := b.bar(job)
	jb.mu.Lock()
	if jb.ended.IsZero() {
		jb.ended = time.Now()
	}
	jb.mu.Unlock()
	if jb.bar == nil {
		return
	}
	if err != nil {
		jb.bar.Abort(false)
		return
	}
	jb.bar.SetTotal(-1, true) // the total is what was written: a full bar
}

// Close draws the bars one last time, stops drawing and sends the logs
// straight to stderr again. The screen keeps the final bars.
func (b *bars) Close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	open := make([]*jobBar, 0, len(b.jobs))
	for _, jb := range b.jobs {
		open = append(open, jb)
	}
	b.mu.Unlock()

	for _, jb := range open {
		if jb.bar != nil {
			jb.bar.Abort(false) // a no-op unless a job never reported its end
		}
	}
	b.logs.set(b.out) // waits for a log line being written above the bars
	close(b.stop)
	b.ticking.Wait()
	// A last redraw, which also flushes the log lines written since the
	// previous one. Once mpb has the request it draws before shutting down.
	select {
	case b.refresh <- time.Now():
	case <-b.shutdown: // stopped already, on a write error
	}
	b.p.Wait()
}

// bar returns the job's bar, adding it on first use.
func (b *bars) bar(job string) *jobBar {
	b.mu.Lock()
	defer b.mu.Unlock()
	if jb, ok := b.jobs[job]; ok {
		return jb
	}
	jb := &jobBar{started: time.Now()}
	b.jobs[job] = jb
	if b.closed {
		return jb // no bar: calls after Close change nothing
	}
	// Total 0: the bar never completes by itself, only in JobFinished.
	bar, err := b.p.Add(0, jb.filler(), jb.options(job, b.color)...)
	if err == nil { // else mpb has stopped: the job goes without a bar
		jb.bar = bar
	}
	return jb
}

// jobBar is one job's bar and what it shows.
type jobBar struct {
	bar *mpb.Bar // nil once mpb has stopped

	mu             sync.Mutex
	written, total int64
	known          bool // the provider reported a total
	started, ended time.Time
}

func (jb *jobBar) snapshot() (written, total int64, known bool, elapsed time.Duration) {
	jb.mu.Lock()
	defer jb.mu.Unlock()
	end := jb.ended
	if end.IsZero() {
		end = time.Now()
	}
	return jb.written, jb.total, jb.known, end.Sub(jb.started)
}

// filler draws a bar once the total is known, and a spinner until then.
// When the job ends the bar is full, or as far as it got.
func (jb *jobBar) filler() mpb.BarFiller {
	bar := mpb.BarStyle().Build()
	spin := mpb.SpinnerStyle().PositionLeft().Build()
	return mpb.BarFillerFunc(func(w io.Writer, st decor.Statistics) error {
		if _, _, known, _ := jb.snapshot(); known || st.Completed || st.Aborted {
			return bar.Fill(w, st) // without a total, a failed job's bar stays empty
		}
		return spin.Fill(w, st)
	})
}

// options lay a bar out as
//
//	✓ job-name  [==============================] 2000/2000 100% 8000/s 0.3s
//
// with the columns of every bar aligned.
func (jb *jobBar) options(job string, color bool) []mpb.BarOption {
	status := decor.Any(func(st decor.Statistics) string {
		switch {
		case st.Completed:
			return "✓"
		case st.Aborted:
			return "✗"
		}
		return " "
	}, decor.WC{C: decor.DextraSpace | decor.DindentRight}) // a space before the name
	if color {
		status = decor.OnCompleteMeta(decor.OnAbortMeta(status, sgr("31")), sgr("32"))
	}
	counts := decor.Any(func(decor.Statistics) string {
		written, total, known, _ := jb.snapshot()
		if !known {
			return strconv.FormatInt(written, 10)
		}
		return strconv.FormatInt(written, 10) + "/" + strconv.FormatInt(total, 10)
	}, decor.WCSyncSpace)
	percent := decor.Any(func(decor.Statistics) string {
		written, total, known, _ := jb.snapshot()
		switch {
		case !known:
			return ""
		case total <= 0 || written >= total:
			return "100%"
		}
		return strconv.FormatInt(written*100/total, 10) + "%"
	}, decor.WCSyncSpace)
	rate := decor.Any(func(decor.Statistics) string {
		written, _, _, elapsed := jb.snapshot()
		if elapsed <= 0 {
			return "0/s"
		}
		return strconv.FormatInt(int64(float64(written)/elapsed.Seconds()), 10) + "/s"
	}, decor.WCSyncSpace)
	elapsed := decor.Any(func(decor.Statistics) string {
		_, _, _, elapsed := jb.snapshot()
		if elapsed < time.Minute {
			return strconv.FormatFloat(elapsed.Seconds(), 'f', 1, 64) + "s"
		}
		return elapsed.Round(time.Second).String()
	}, decor.WCSyncSpace)
	return []mpb.BarOption{
		mpb.BarWidth(barWidth),
		mpb.PrependDecorators(status, decor.Name(job, decor.WCSyncSpaceR)),
		mpb.AppendDecorators(counts, percent, rate, elapsed),
	}
}

// sgr wraps text in an ANSI colour and a reset.
func sgr(code string) func(string) string {
	return func(s string) string { return "\x1b[" + code + "m" + s + "\x1b[0m" }
}
