// bigcore builds one large heap shape (GOCORE_WORKLOAD), records exact counts of
// what it built (GOCORE_TRUTH), then dies with a core (GOTRACEBACK=crash).
// Workloads, for `cargo xtask bigcore` and `cargo xtask bench`:
//
//	b6    ~6 M live objects, ~600 MiB: 5 M 96-byte Nodes chained from gHead,
//	      a 2 M-entry map[int]*Node, 1 M strings
//	b20   ~19 M objects, ~1.8 GiB: records in slices, maps, interfaces, and
//	      10 000 goroutines each holding a private list
//	wide  one pointer array of more than 1 GiB ([]*Leaf) over 1 M leaves
//	deep  a 10 M-long linked list
//
// GOCORE_SCALE (default 1) multiplies b6's object counts (0.25, 0.5, 2 ...), for
// the linear-growth curve.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"unsafe"
)

// Node is the 96-byte struct of b6 and deep.
type Node struct {
	Next *Node
	ID   int64
	Data [10]int64
}

// Rec is b20's record (128 bytes).
type Rec struct {
	Name  string
	Peer  *Rec
	Tags  []byte
	Score int64
	Flags int64
	Hist  [8]int64
}

// Small is boxed in interfaces (32 bytes).
type Small struct {
	A, B int64
	P    *Rec
	C    int64
}

// Leaf is what wide's array points at (16 bytes).
type Leaf struct {
	V    int64
	Self *Leaf
}

// Link is deep's list node (16 bytes).
type Link struct {
	Next *Link
	V    int64
}

// GNode is the private list of each b20 goroutine (32 bytes).
type GNode struct {
	Next *GNode
	Val  int64
	Pad  [2]int64
}

var (
	gHead    *Node
	gMap     map[int]*Node
	gStrings []string

	gRecs   [][]*Rec
	gByName map[string]*Rec
	gIfaces []any

	gWide []*Leaf
	gDeep *Link

	// gTarget is the object `gocore path` is timed on: the far end of the
	// workload's longest chain.
	gTarget uintptr

	gDone  = make(chan struct{})
	gReady sync.WaitGroup
)

type count struct {
	name string
	n    int
	size uintptr
	note string
}

var counts []count

func add(name string, n int, size uintptr, note string) {
	counts = append(counts, count{name: name, n: n, size: size, note: note})
}

func scaled(n int) int {
	s := os.Getenv("GOCORE_SCALE")
	if s == "" {
		return n
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 {
		fmt.Fprintln(os.Stderr, "bigcore: bad GOCORE_SCALE", s)
		os.Exit(2)
	}
	return int(float64(n) * f)
}

func buildB6() {
	nNodes, nMap, nStr := scaled(5_000_000), scaled(2_000_000), scaled(1_000_000)
	nodes := make([]*Node, 0, nMap) // the map's targets; dropped after
	var head *Node
	for i := 0; i < nNodes; i++ {
		n := &Node{Next: head, ID: int64(i)}
		head = n
		if i == 0 {
			gTarget = uintptr(unsafe.Pointer(n))
		}
		if i%(nNodes/nMap+1) == 0 && len(nodes) < nMap {
			nodes = append(nodes, n)
		}
	}
	for len(nodes) < nMap { // scale rounding: never happens at scale 1
		nodes = append(nodes, head)
	}
	gHead = head
	gMap = make(map[int]*Node, nMap)
	for i, n := range nodes {
		gMap[i] = n
	}
	gStrings = make([]string, nStr)
	for i := range gStrings {
		gStrings[i] = "string-number-" + strconv.Itoa(1_000_000_000+i) // 24 bytes each
	}
	add("main.Node", nNodes, unsafe.Sizeof(Node{}), "chained from main.gHead; 2 M of them also values of main.gMap")
	add("string", nStr, 24, "backing bytes of main.gStrings' elements (24-byte size class)")
}

const goroutines = 10_000
const perGoroutine = 300

func holder(id int) {
	var list *GNode
	for i := 0; i < perGoroutine; i++ {
		list = &GNode{Next: list, Val: int64(id*perGoroutine + i)}
		if id == 0 && i == 0 {
			gTarget = uintptr(unsafe.Pointer(list))
		}
	}
	gReady.Done()
	<-gDone
	runtime.KeepAlive(list)
}

func buildB20() {
	const chunks, perChunk = 8, 1_000_000
	var prev *Rec
	for c := 0; c < chunks; c++ {
		s := make([]*Rec, perChunk)
		for i := range s {
			r := &Rec{Score: int64(i), Peer: prev}
			if i%2 == 0 {
				r.Tags = make([]byte, 64)
			}
			s[i] = r
			prev = r
		}
		gRecs = append(gRecs, s)
	}
	const named = 2_000_000
	gByName = make(map[string]*Rec, named)
	for i := 0; i < named; i++ {
		k := "record-" + strconv.Itoa(100_000_000+i) // 16 bytes: not a tiny alloc
		r := gRecs[i%chunks][i/chunks]
		r.Name = k
		gByName[k] = r
	}
	const ifaces = 3_000_000
	gIfaces = make([]any, ifaces)
	for i := range gIfaces {
		if i%3 == 2 {
			gIfaces[i] = gRecs[i%chunks][i%perChunk]
		} else {
			gIfaces[i] = &Small{A: int64(i), P: gRecs[0][i%perChunk]}
		}
	}
	gReady.Add(goroutines)
	for i := 0; i < goroutines; i++ {
		go holder(i)
	}
	gReady.Wait()
	add("main.Rec", chunks*perChunk, unsafe.Sizeof(Rec{}), "in main.gRecs (8 slices of 1 M), 2 M named in main.gByName")
	add("[64]uint8", chunks*perChunk/2, 64, "Rec.Tags of every other record")
	add("string", named, 16, "keys of main.gByName, also Rec.Name")
	add("main.Small", ifaces-ifaces/3, unsafe.Sizeof(Small{}), "boxed in main.gIfaces")
	add("main.GNode", goroutines*perGoroutine, unsafe.Sizeof(GNode{}), "private lists of 10 000 blocked main.holder goroutines")
}

func buildWide() {
	const leaves = 1_000_000
	const slots = 140_000_000 // 1.04 GiB of pointers
	ls := make([]*Leaf, leaves)
	for i := range ls {
		ls[i] = &Leaf{V: int64(i)}
		ls[i].Self = ls[i]
	}
	gTarget = uintptr(unsafe.Pointer(ls[leaves-1]))
	gWide = make([]*Leaf, slots)
	for i := range gWide {
		gWide[i] = ls[(i*7919)%leaves]
	}
	add("main.Leaf", leaves, unsafe.Sizeof(Leaf{}), "targets of main.gWide (140 M slots)")
}

func buildDeep() {
	const n = 10_000_000
	var head *Link
	for i := 0; i < n; i++ {
		head = &Link{Next: head, V: int64(i)}
		if i == 0 {
			gTarget = uintptr(unsafe.Pointer(head))
		}
	}
	gDeep = head
	add("main.Link", n, unsafe.Sizeof(Link{}), "one list from main.gDeep, 10 M long")
}

func main() {
	w := os.Getenv("GOCORE_WORKLOAD")
	debug.SetGCPercent(400) // fewer cycles while building
	switch w {
	case "b6":
		buildB6()
	case "b20":
		buildB20()
	case "wide":
		buildWide()
	case "deep":
		buildDeep()
	default:
		fmt.Fprintln(os.Stderr, "bigcore: GOCORE_WORKLOAD must be b6, b20, wide or deep, not", strconv.Quote(w))
		os.Exit(2)
	}
	path := os.Getenv("GOCORE_TRUTH")
	if path == "" {
		path = "truth.json"
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bigcore:", err)
		os.Exit(2)
	}
	// The JSON is assembled before the last GC; only numbers are appended after.
	buf := make([]byte, 0, 1<<16)
	buf = append(buf, `{"program":"bigcore","workload":`...)
	buf = strconv.AppendQuote(buf, w)
	buf = append(buf, `,"go_version":`...)
	buf = strconv.AppendQuote(buf, runtime.Version())
	buf = append(buf, `,"goarch":`...)
	buf = strconv.AppendQuote(buf, runtime.GOARCH)
	buf = append(buf, `,"scale":`...)
	buf = strconv.AppendQuote(buf, os.Getenv("GOCORE_SCALE"))
	buf = append(buf, `,"pid":`...)
	buf = strconv.AppendInt(buf, int64(os.Getpid()), 10)
	buf = append(buf, `,"path_target":`...)
	buf = strconv.AppendUint(buf, uint64(gTarget), 10)
	buf = append(buf, `,"type_counts":{`...)
	for i, c := range counts {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendQuote(buf, c.name)
		buf = append(buf, `:{"count":`...)
		buf = strconv.AppendInt(buf, int64(c.n), 10)
		buf = append(buf, `,"size":`...)
		buf = strconv.AppendInt(buf, int64(c.size), 10)
		buf = append(buf, `,"note":`...)
		buf = strconv.AppendQuote(buf, c.note)
		buf = append(buf, '}')
	}
	buf = append(buf, `},"goroutines_blocked":`...)
	if w == "b20" {
		buf = strconv.AppendInt(buf, goroutines, 10)
	} else {
		buf = append(buf, '0')
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	buf = append(buf, `,"memstats":{"HeapObjects":`...)
	buf = strconv.AppendUint(buf, ms.HeapObjects, 10)
	buf = append(buf, `,"HeapAlloc":`...)
	buf = strconv.AppendUint(buf, ms.HeapAlloc, 10)
	buf = append(buf, `,"HeapInuse":`...)
	buf = strconv.AppendUint(buf, ms.HeapInuse, 10)
	buf = append(buf, `,"HeapSys":`...)
	buf = strconv.AppendUint(buf, ms.HeapSys, 10)
	buf = append(buf, `,"Sys":`...)
	buf = strconv.AppendUint(buf, ms.Sys, 10)
	buf = append(buf, `,"NumGC":`...)
	buf = strconv.AppendUint(buf, uint64(ms.NumGC), 10)
	buf = append(buf, "}}\n"...)
	f.Write(buf)
	f.Close()
	runtime.KeepAlive(gHead)
	runtime.KeepAlive(gMap)
	runtime.KeepAlive(gStrings)
	panic("gocore bigcore fixture: crash")
}
