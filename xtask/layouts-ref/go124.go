//go:build go1.24

package main

import (
	"runtime"
	"unique"
	"weak"
)

// extras uses the 1.24+ features whose runtime structures the model reads:
// cleanups (specialCleanup), weak pointers (specialWeakHandle) and unique handles.
func extras(n *node) {
	p := &node{name: "cleanup"}
	runtime.AddCleanup(p, func(int) {}, 1)
	w := weak.Make(n)
	h := unique.Make("x")
	sink = append(sink, w.Value(), h.Value(), p)
}
