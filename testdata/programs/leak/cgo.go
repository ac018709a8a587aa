//go:build cgo && gocore_cgo

package main

// Build with CGO_ENABLED=1 -tags gocore_cgo for a cgo variant of the fixture:
// runtime/cgo and libc are linked and threads are created by pthreads; the
// heap and goroutines are unchanged (one C call is made at init).

/*
static int gocore_fixture_cgo(int x) { return x + 1; }
*/
import "C"

const cgoLinked = true

func init() { _ = C.gocore_fixture_cgo(41) }
