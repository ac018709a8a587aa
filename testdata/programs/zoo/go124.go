//go:build go1.24

package main

import (
	"runtime"
	"unsafe"
	"weak"
)

type Cleaned struct {
	P  *Cleaned
	ID int64
}

type WeakTarget struct {
	P  *WeakTarget
	ID int64
}

var (
	gCleaned    *Cleaned
	gWeakTarget *WeakTarget
	gWeak       weak.Pointer[WeakTarget]
)

func cleanupFn(arg int64) { println("cleanup", arg) }

func buildGo124() {
	gCleaned = &Cleaned{ID: 6}
	runtime.AddCleanup(gCleaned, cleanupFn, int64(66))
	T.object("cleaned", "main.Cleaned", addr(gCleaned), unsafe.Sizeof(*gCleaned), "has a cleanup (runtime.AddCleanup, arg 66); kept alive by main.gCleaned")
	T.count("main.Cleaned", 1, unsafe.Sizeof(Cleaned{}), "main.gCleaned (with cleanup)")

	gWeakTarget = &WeakTarget{ID: 8}
	gWeak = weak.Make(gWeakTarget)
	T.object("weak_target", "main.WeakTarget", addr(gWeakTarget), unsafe.Sizeof(*gWeakTarget), "target of weak.Pointer main.gWeak; also held strongly by main.gWeakTarget")
	// weak.Pointer is {_ [0]*T; u unsafe.Pointer}: u is the runtime's weak handle
	// (an 8-byte cell holding the target address weakly).
	h := *(*uintptr)(unsafe.Pointer(&gWeak))
	T.object("weak_handle", "weak handle (uintptr cell)", h, 8, "value of main.gWeak's handle pointer; the cell holds weak_target's address")
	T.count("main.WeakTarget", 1, unsafe.Sizeof(WeakTarget{}), "main.gWeakTarget (strong) + main.gWeak (weak)")
}

func globalsGo124() {
	T.global("main.gCleaned", addr(&gCleaned))
	T.global("main.gWeakTarget", addr(&gWeakTarget))
	T.global("main.gWeak", addr(&gWeak))
}

// sync.WaitGroup.Wait has its own wait reason from go1.24.
const waitGroupReason = "sync.WaitGroup.Wait"
