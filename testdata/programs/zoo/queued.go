// Queued finalizers and cleanups: objects the GC found unreachable whose
// finalizer (or whose cleanup) has been queued but not run, because the
// goroutine that runs them is blocked forever in an earlier one. The GC treats
// the queues as roots (runtime.allfin blocks; from go1.25 runtime.gcCleanups),
// so what they hold is live in the core although nothing else references it.
//
// Built in init, before main, so that main's part of the zoo is unchanged.
// The truth goes to a top-level "queued" section (not type_counts). Addresses
// are kept as uintptr, which does not keep anything alive.

package main

import (
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"
)

// QueuedFin has a finalizer and is unreachable: at dump time it is held only by
// its entry in the finalizer queue.
type QueuedFin struct {
	P  *QueuedFin
	ID int64
}

// FinBlocker's finalizer blocks forever, so the finalizer goroutine never gets
// to the QueuedFin entries queued after it.
type FinBlocker struct {
	P  *FinBlocker
	ID int64
}

const nQueuedFin = 8

var (
	gQueueBlock   = make(chan struct{}) // never closed: blocked finalizers and cleanups wait here
	gFinStarted   atomic.Int64          // the finalizer goroutine's id, stored by the blocker
	gQueuedFinRan atomic.Int32          // QueuedFin finalizers that started (must stay 0)
	gQueueErrors  []string
)

// blockFinalizer is FinBlocker's finalizer: it reports the goroutine it runs on
// and never returns.
func blockFinalizer(b *FinBlocker) {
	gFinStarted.Store(curGoid())
	<-gQueueBlock
	runtime.KeepAlive(b)
}

// queuedFinalizer is QueuedFin's finalizer; it is never meant to run.
func queuedFinalizer(q *QueuedFin) {
	gQueuedFinRan.Add(1)
	<-gQueueBlock
	runtime.KeepAlive(q)
}

//go:noinline
func newFinBlocker() uintptr {
	b := &FinBlocker{ID: -1}
	b.P = b
	runtime.SetFinalizer(b, blockFinalizer)
	return addr(b)
}

//go:noinline
func newQueuedFins(n int) []uintptr {
	out := make([]uintptr, 0, n)
	for i := 0; i < n; i++ {
		q := &QueuedFin{ID: int64(i)}
		q.P = q
		runtime.SetFinalizer(q, queuedFinalizer)
		out = append(out, addr(q))
	}
	return out
}

// waitStarted runs GCs until a blocker stores its goroutine id in started. (It
// polls: a time.After timer would make package time register a godebug metric,
// and the runtime's metrics tables would join the heap.)
func waitStarted(started *atomic.Int64, what string) int64 {
	for i := 0; i < 10; i++ {
		runtime.GC()
		for j := 0; j < 100; j++ {
			if id := started.Load(); id != 0 {
				return id
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	gQueueErrors = append(gQueueErrors, what+" never started")
	return 0
}

func init() {
	// 1. A finalizer that blocks the finalizer goroutine.
	finBlocker := newFinBlocker()
	fing := waitStarted(&gFinStarted, "blocking finalizer")
	// 1b. go1.25+: a cleanup that blocks the cleanup goroutine (queued_*.go).
	cleanBlocker, cleanG := blockCleanups()

	// 2. Objects with finalizers (and cleanups), made unreachable; one GC queues
	// them all.
	fins := newQueuedFins(nQueuedFin)
	cleanArgs := newQueuedCleanups()
	runtime.GC()
	time.Sleep(20 * time.Millisecond) // a queued one that could run would have started
	finRan := gQueuedFinRan.Load()
	cleanRan := queuedCleanupsRan()
	if finRan != 0 {
		gQueueErrors = append(gQueueErrors, "queued finalizers ran")
	}
	if cleanRan != 0 {
		gQueueErrors = append(gQueueErrors, "queued cleanups ran")
	}

	addrs := func(w *jw, k string, v []uintptr) {
		w.key(k)
		w.arr()
		for _, p := range v {
			w.int(int64(p))
		}
		w.endArr()
	}
	T.sections = append(T.sections, func(w *jw) {
		w.key("queued")
		w.obj()
		w.kstr("note", "built in init: unreachable objects whose finalizers/cleanups are queued behind one that blocks forever; held only by the queues (GC roots)")
		w.key("finalizers")
		w.obj()
		w.kstr("note", "runtime.allfin blocks; each entry's arg is the object, ot its *T; the blocker's entry stays in its block while its finalizer runs (the runtime clears it after the call)")
		w.kstr("type", "main.QueuedFin")
		w.kint("size", int64(unsafe.Sizeof(QueuedFin{})))
		addrs(w, "objects", fins)
		w.kstr("blocker_type", "main.FinBlocker")
		w.kint("blocker", int64(finBlocker))
		w.kint("goroutine", fing)
		w.kint("ran", int64(finRan))
		w.endObj()
		if cleanArgs != nil {
			w.key("cleanups")
			w.obj()
			w.kstr("note", "runtime.AddCleanup(obj, fn, arg *main.QueuedCleanArg) on unreachable objects: the objects are freed; what is queued is the cleanup (go1.24: a closure of runtime.AddCleanup[...].func1 holding a box that holds arg, in the finalizer queue with a nil arg; go1.25: the same closure in runtime.gcCleanups; go1.26+: a cleanupFn {call, fn, arg} whose arg is a box holding arg) — each arg is held only through it")
			w.kstr("queue", cleanupQueueName)
			w.kstr("arg_type", "main.QueuedCleanArg")
			w.kint("arg_size", int64(queuedCleanArgSize()))
			addrs(w, "args", cleanArgs)
			w.kstr("blocker_arg_type", "main.CleanBlockerArg")
			w.kint("blocker_arg", int64(cleanBlocker))
			w.kint("goroutine", cleanG)
			w.kint("ran", int64(cleanRan))
			w.endObj()
		}
		w.key("errors")
		w.arr()
		for _, e := range gQueueErrors {
			w.str(e)
		}
		w.endArr()
		w.endObj()
	})
}
