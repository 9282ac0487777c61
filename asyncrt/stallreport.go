package asyncrt

import (
	"bytes"
	"cmp"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// StallReport describes a stall: a task that held the runtime's thread past
// the stall threshold without suspending (see [Builder.StallThreshold]).
// While the stall goes on, the watchdog reports it once the threshold has
// passed and again after every further threshold, with Returned false; when
// the task finally gives the thread back, a last report has Returned true
// and the total.
type StallReport struct {
	// TaskID identifies the task whose code runs on the thread (see
	// [Task.ID]); the last report names the one the reports before it did.
	// It is 0 when no task held the thread but the runtime's own work did
	// (a World's systems, deferred World commands), and then Stack is the
	// runtime goroutine's; or when the holder could not be found, and then
	// Stack is nil: so it is while a stall goes on in a process with too
	// many goroutines to dump their stacks cheaply (see
	// [Builder.StallThreshold]), until the last report.
	TaskID uint64
	// Name is the task function's name as the Go runtime knows it, such as
	// "main.serve" or, for a function literal, "main.main.func1"; "" if
	// unknown.
	Name string
	// TaskName is the task's name: the one given with [Named], or Name.
	TaskName string
	// File and Line tell where the task function is defined. For a task
	// started by [SpawnRemote] they come from its stack, and tell where its
	// function was running instead.
	File string
	Line int
	// Duration is how long the task has held the thread (or held it, once
	// Returned): its run time since it last suspended, not counting time
	// during which the operating system kept the thread from running (it
	// was runnable, waiting for a CPU). Time during which the task blocked
	// the thread (a Go channel, a mutex, a sleep, a system call) counts. It
	// is accurate to about an eighth of the threshold.
	Duration time.Duration
	// Preempted is the time the operating system kept the runtime's thread
	// from running during the stall, which Duration leaves out.
	Preempted time.Duration
	// Returned is false in the reports made while the task holds the thread,
	// true in the last report of a stall, made when it gave the thread back.
	Returned bool
	// Seq numbers the reports of one stall from 1.
	Seq int
	// Stack is the stack trace of the goroutine that holds the thread, in
	// the format of runtime.Stack, as it was at the report (at the last
	// report made while holding, once Returned), followed by those of the
	// tasks waiting for it to finish because they awaited it before it
	// started (see [JoinHandle.Await]): their turn holds the thread too. Nil
	// if it was not found.
	Stack []byte
}

// String describes the report on several lines, ending with the stack: the
// text the runtime writes to standard error when no [Builder.OnStall] hook
// is set.
func (r StallReport) String() string {
	var b strings.Builder
	who := "an unidentified task"
	switch {
	case r.TaskID != 0:
		who = "task " + strconv.FormatUint(r.TaskID, 10)
		switch {
		case r.TaskName != "" && r.TaskName != r.Name:
			who += " " + strconv.Quote(r.TaskName) + " (" + r.Name + ")"
		case r.Name != "":
			who += " (" + r.Name + ")"
		}
	case r.Stack != nil:
		who = "the runtime's own work (a World's systems or deferred commands, not a task)"
	}
	d := r.Duration.Round(time.Microsecond)
	if r.Returned {
		fmt.Fprintf(&b, "asyncrt: stall: %s gave the runtime's thread back after holding it for %v without suspending\n", who, d)
	} else {
		fmt.Fprintf(&b, "asyncrt: stall: %s has held the runtime's thread for %v without suspending, and still holds it: "+
			"no other task, timer or system of the runtime runs meanwhile\n", who, d)
	}
	if r.File != "" {
		fmt.Fprintf(&b, "\ttask function: %s:%d\n", r.File, r.Line)
	}
	if r.Preempted > 0 {
		fmt.Fprintf(&b, "\tnot counted: %v during which the system kept the thread from running\n",
			r.Preempted.Round(time.Microsecond))
	}
	if r.Seq == 1 && r.TaskID != 0 {
		b.WriteString("\ta task must not block its thread (Go channels, mutexes, time.Sleep, blocking calls: " +
			"wait with the runtime's own operations, or run blocking code with asyncrt.Go), " +
			"nor compute for long without suspending (Task.Yield)\n")
	}
	if len(r.Stack) > 0 {
		b.Write(r.Stack)
		if r.Stack[len(r.Stack)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

type stackEntry struct {
	id         uint64
	start, end int
	inline     bool // parked in a coroutine switch, running a task inline
}

// findHolder finds the goroutine that holds the runtime's thread, with
// runtime.Stack(all): of the runtime's coroutines and its own goroutine, the
// one that is not parked in a coroutine switch. It returns its identity and
// stack as a report's fields.
func (w *watchdog) findHolder(rt *Runtime, goroutines int) (r StallReport) {
	per := w.dumpBytesPer
	if per == 0 {
		per = dumpBytesG
	}
	buf := w.dump
	if want := min(goroutines*per*5/4+64<<10, maxDump); len(buf) < want {
		buf = make([]byte, want)
	}
	n := runtime.Stack(buf, true)
	for n == len(buf) && len(buf) < maxDump { // more goroutines, or deeper stacks, than guessed
		buf = make([]byte, min(2*len(buf), maxDump))
		n = runtime.Stack(buf, true)
	}
	w.dumpBytesPer = max(n/max(goroutines, 1), 1)
	w.dump = nil
	if len(buf) <= keepDump {
		w.dump = buf
	}
	text := buf[:n]
	// The goroutines not parked in a coroutine switch, and those parked in
	// one to run a task inline, by number.
	w.found = w.found[:0]
	for start := 0; start < len(text); {
		end := bytes.Index(text[start:], []byte("\n\n"))
		if end < 0 {
			end = len(text)
		} else {
			end += start
		}
		id, state := stackHeader(text[start:end])
		inline := state == "coroutine" && bytes.Contains(text[start:end], []byte(".(*Runtime).runInline("))
		if id != 0 && (state != "coroutine" || inline) {
			w.found = append(w.found, stackEntry{id, start, end, inline})
		}
		start = end + 2
	}
	slices.SortFunc(w.found, func(a, b stackEntry) int { return cmp.Compare(a.id, b.id) })
	lookup := func(id uint64) (stackEntry, bool) {
		i, ok := slices.BinarySearchFunc(w.found, id, func(e stackEntry, id uint64) int { return cmp.Compare(e.id, id) })
		if !ok || id == 0 {
			return stackEntry{}, false
		}
		return w.found[i], true
	}
	// Of the runtime's coroutines, the one running, and those awaiting it
	// (or one another) inline.
	var holder *Task
	var at stackEntry
	var awaiting []stackEntry
	rt.gs.Range(func(_ uintptr, t *Task) bool {
		switch e, ok := lookup(t.goid); {
		case !ok:
		case e.inline:
			awaiting = append(awaiting, e)
		default:
			holder, at = t, e
		}
		return true
	})
	if holder == nil {
		e, ok := lookup(w.goid)
		if !ok || e.inline {
			return r
		}
		at = e
	}
	r.Stack = append(bytes.Clone(text[at.start:at.end]), '\n')
	for _, e := range awaiting {
		r.Stack = append(append(append(r.Stack, '\n'), text[e.start:e.end]...), '\n')
	}
	if holder != nil {
		r.TaskID = holder.wdID.Load()
		if pc := holder.wdFn.Load(); pc != 0 {
			r.Name, r.File, r.Line = funcInfo(pc)
		} else {
			r.Name, r.File, r.Line = taskFrame(r.Stack[:at.end-at.start])
		}
		r.TaskName = r.Name
		if n := holder.wdName.Load(); n != nil {
			r.TaskName = n.name
		}
	}
	return r
}

// stackHeader parses "goroutine 7 [chan receive, locked to thread]:" into
// 7 and "chan receive".
func stackHeader(b []byte) (id uint64, state string) {
	const prefix = "goroutine "
	if !bytes.HasPrefix(b, []byte(prefix)) {
		return 0, ""
	}
	b = b[len(prefix):]
	for len(b) > 0 && '0' <= b[0] && b[0] <= '9' {
		id = id*10 + uint64(b[0]-'0')
		b = b[1:]
	}
	if !bytes.HasPrefix(b, []byte(" [")) {
		return 0, ""
	}
	b = b[2:]
	if i := bytes.IndexAny(b, ",]"); i >= 0 {
		b = b[:i]
	}
	return id, string(b)
}

// funcPC returns the entry address of fn's code (for a closure, that of its
// function literal), which names the task lazily.
func funcPC[T any](fn func(*Task) T) uintptr { return reflect.ValueOf(fn).Pointer() }

// voidPC is funcPC for a task that returns nothing.
func voidPC(fn func(*Task)) uintptr { return reflect.ValueOf(fn).Pointer() }

func (b *body[T]) entryPC() uintptr { return funcPC(b.fn) }

// funcInfo names the function whose code starts at pc and says where it is
// defined.
func funcInfo(pc uintptr) (name, file string, line int) {
	f := runtime.FuncForPC(pc)
	if f == nil {
		return "", "", 0
	}
	file, line = f.FileLine(pc)
	return f.Name(), file, line
}

// taskFrame finds a task function's frame in its coroutine's stack: the
// one called by the run method of the task's body, near the bottom.
func taskFrame(stack []byte) (name, file string, line int) {
	lines := strings.Split(string(stack), "\n")
	for i := len(lines) - 1; i >= 3; i-- {
		l := lines[i]
		if !strings.Contains(l, "/asyncrt.(*") || !strings.Contains(l, "]).run(") {
			continue
		}
		name, loc := lines[i-2], strings.TrimSpace(lines[i-1])
		if j := strings.LastIndexByte(name, '('); j > 0 {
			name = name[:j]
		}
		if j := strings.LastIndex(loc, " +0x"); j >= 0 {
			loc = loc[:j]
		}
		if j := strings.LastIndexByte(loc, ':'); j >= 0 {
			file = loc[:j]
			line, _ = strconv.Atoi(loc[j+1:])
		}
		return name, file, line
	}
	return "", "", 0
}

// Measuring the runtime thread.
