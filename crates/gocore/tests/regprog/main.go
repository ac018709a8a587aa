// Command regprog is the test program of gocore's register-variable test
// (crates/gocore/tests/value.rs, `register_variables_of_a_live_program`): two
// goroutines spin with their parameters in registers, one in a nosplit function
// (never preempted: [running] on its thread at dump time), one in a preemptible
// function (interrupted by runtime.asyncPreempt). It prints what the parameters
// hold, then panics (MODE unset; run with GOTRACEBACK=crash for a core) or, with
// MODE=wait, prints READY and parks until killed (kill -QUIT for a core).
package main

import (
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"
)

var stop uint32
var nsReady, prReady uint32

// spinNS cannot be preempted (nosplit).
//
//go:nosplit
//go:noinline
func spinNS(p *uint32, k uint64, s string, b bool, f float64) uint64 {
	atomic.StoreUint32(&nsReady, 1)
	n := k
	for atomic.LoadUint32(p) == 0 {
		n++
	}
	if b {
		n += uint64(len(s)) + uint64(f)
	}
	return n
}

// spinPre is preemptible: asyncPreempt interrupts it.
//
//go:noinline
func spinPre(p *uint32, k uint64, s string, b bool, f float64) uint64 {
	atomic.StoreUint32(&prReady, 1)
	n := k
	for atomic.LoadUint32(p) == 0 {
		n++
	}
	if b {
		n += uint64(len(s)) + uint64(f)
	}
	return n
}

func main() {
	s1 := "nosplit-string"
	s2 := "preempt-string"
	go func() {
		runtime.LockOSThread()
		spinNS(&stop, 0x1111, s1, true, 3.25)
	}()
	go func() {
		spinPre(&stop, 0x2222, s2, true, 3.25)
	}()
	for atomic.LoadUint32(&nsReady) == 0 || atomic.LoadUint32(&prReady) == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	fmt.Fprintf(os.Stderr, "TRUTH p=%#x b=1 f=3.25 len=%d\n", uintptr(unsafe.Pointer(&stop)), len(s1))
	if os.Getenv("MODE") == "wait" {
		fmt.Println("READY")
		select {}
	}
	panic("regprog: crash")
}
