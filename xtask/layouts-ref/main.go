// Command layouts-ref is the reference program `cargo xtask layouts` builds with every
// supported Go release and experiment. Its DWARF is where the version-keyed layout
// tables of crates/gocore/src/layout/generated/ come from.
//
// The runtime's own types are in the DWARF of every Go program, but a type only gets
// a DWARF entry when some linked function or variable uses it. This program therefore
// exercises every runtime feature whose structures the runtime model reads: maps
// (small, large, growing, with big keys), channels (buffered, unbuffered, select),
// goroutines in several wait states, finalizers, cleanups and weak pointers (1.24+),
// timers, interfaces, closures, reflection over every kind of type, and stack traces.
// It never runs in the generator (only its DWARF is read), but it is a valid program.
package main

import (
	"fmt"
	"os"
	"reflect"
	"runtime"
	"runtime/debug"
	"sync"
	"time"
)

type node struct {
	next *node
	val  [4]int
	name string
}

type big struct{ b [200]byte }

type shape interface{ area() float64 }

type square struct{ s float64 }

func (q square) area() float64 { return q.s * q.s }

var sink []any

func main() {
	m := map[string]int{}
	for i := 0; i < 1000; i++ {
		m[fmt.Sprint(i)] = i
	}
	delete(m, "1")
	mb := map[big]*node{{}: {}}
	sink = append(sink, m, mb, len(mb))
	for k, v := range m {
		sink = append(sink, k, v)
		break
	}

	ch := make(chan int, 4)
	unb := make(chan *node)
	var wg sync.WaitGroup
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	wg.Add(2)
	go func() { defer wg.Done(); ch <- 1; unb <- &node{} }()
	go func() {
		defer wg.Done()
		select {
		case v := <-ch:
			sink = append(sink, v)
		case <-time.After(time.Millisecond):
		}
		<-unb
	}()
	go func() { mu.Lock(); cond.Wait(); mu.Unlock() }()
	wg.Wait()

	n := &node{name: "fin"}
	runtime.SetFinalizer(n, func(*node) {})
	extras(n)
	t := time.NewTimer(time.Hour)
	t.Stop()
	tk := time.NewTicker(time.Hour)
	tk.Stop()

	var s shape = square{2}
	f := func() float64 { return s.area() + float64(len(m)) }
	sink = append(sink, f, s)
	for _, v := range []any{1, "s", []int{1}, [2]int{}, ch, m, n, f, s, struct{ a int }{}, new(shape), (func(int) string)(nil), uintptr(0), complex(1, 2)} {
		t := reflect.TypeOf(v)
		sink = append(sink, t.String(), t.Kind(), t.Size())
		if t.Kind() == reflect.Struct {
			sink = append(sink, t.Field(0).Name)
		}
		if t.Kind() == reflect.Func {
			sink = append(sink, t.NumIn())
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	runtime.GC()
	debug.SetGCPercent(100)
	buf := make([]byte, 1<<16)
	buf = buf[:runtime.Stack(buf, true)]
	pcs := make([]uintptr, 16)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(0, pcs)])
	fr, _ := frames.Next()
	fmt.Fprintln(os.Stderr, len(sink), ms.HeapAlloc, len(buf), fr.Function)
}
