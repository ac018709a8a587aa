// Command gobinarytest prints its own call stack as runtime.CallersFrames
// sees it, so that the gobinary tests can compare inlined frames.
package main

import (
	"fmt"
	"os"
	"runtime"

	"example.com/dep"
)

//go:noinline
func record(n int) []uintptr {
	pcs := make([]uintptr, 32+n)
	k := runtime.Callers(1, pcs)
	return pcs[:k]
}

func inl2(n int) []uintptr { return record(n + dep.Value()) }

func inl1(n int) []uintptr { return inl2(n * 2) }

//go:noinline
func outer(n int) []uintptr { return inl1(n + 1) }

func main() {
	if len(os.Args) > 1 && os.Args[1] == "types" {
		dumpTypes()
		return
	}
	pcs := outer(len(os.Args))
	for _, pc := range pcs {
		fmt.Printf("pc %#x\n", pc)
	}
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		fmt.Printf("frame %#x %s %s:%d\n", f.PC, f.Function, f.File, f.Line)
		if !more {
			break
		}
	}
}
