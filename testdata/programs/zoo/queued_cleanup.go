//go:build go1.24

// Queued cleanups (runtime.AddCleanup, go1.24+); see queued.go.

package main

import (
	"runtime"
	"sync/atomic"
	"unsafe"
)

// QueuedClean has a cleanup and is unreachable: it is freed, its cleanup queued.
type QueuedClean struct {
	P  *QueuedClean
	ID int64
}

// QueuedCleanArg is a queued cleanup's argument: held only through the queue.
type QueuedCleanArg struct {
	P  *QueuedCleanArg
	ID int64
}

// CleanBlocker's cleanup blocks the cleanup goroutine forever (go1.25+).
type CleanBlocker struct {
	P  *CleanBlocker
	ID int64
}

// CleanBlockerArg is the blocking cleanup's argument.
type CleanBlockerArg struct {
	P  *CleanBlockerArg
	ID int64
}

const nQueuedClean = 8

var (
	gCleanStarted   atomic.Int64
	gQueuedCleanRan atomic.Int32
)

func blockCleanup(a *CleanBlockerArg) {
	gCleanStarted.Store(curGoid())
	<-gQueueBlock
	runtime.KeepAlive(a)
}

func queuedCleanup(a *QueuedCleanArg) {
	gQueuedCleanRan.Add(1)
	<-gQueueBlock
	runtime.KeepAlive(a)
}

//go:noinline
func newCleanBlocker() uintptr {
	b := &CleanBlocker{ID: -2}
	b.P = b
	a := &CleanBlockerArg{ID: -2}
	a.P = a
	runtime.AddCleanup(b, blockCleanup, a)
	return addr(a)
}

// blockCleanups blocks the cleanup goroutine (go1.25+; on go1.24 cleanups run
// on the finalizer goroutine, already blocked). Returns the blocking cleanup's
// argument and the goroutine's id.
func blockCleanups() (uintptr, int64) {
	if cleanupQueueName == "finq" {
		return 0, 0
	}
	a := newCleanBlocker()
	return a, waitStarted(&gCleanStarted, "blocking cleanup")
}

//go:noinline
func newQueuedCleanups() []uintptr {
	out := make([]uintptr, 0, nQueuedClean)
	for i := 0; i < nQueuedClean; i++ {
		o := &QueuedClean{ID: int64(i)}
		o.P = o
		a := &QueuedCleanArg{ID: int64(100 + i)}
		a.P = a
		runtime.AddCleanup(o, queuedCleanup, a)
		out = append(out, addr(a))
	}
	return out
}

func queuedCleanupsRan() int32 { return gQueuedCleanRan.Load() }

func queuedCleanArgSize() uintptr { return unsafe.Sizeof(QueuedCleanArg{}) }
