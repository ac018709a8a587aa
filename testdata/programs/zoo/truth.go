// Shared fixture protocol: truth-file writer, goroutine ids, in-place checks and
// the crash/wait ending. An identical copy lives in every fixture program
// (testdata/programs/*/truth.go); keep them in sync.

package main

import (
	"os"
	"reflect"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// ---------------------------------------------------------------- JSON writer

// jw is a minimal append-only JSON writer. It exists so that the truth file can
// be assembled before the final runtime.GC and completed afterwards (memstats)
// without heap allocation.
type jw struct {
	b        []byte
	comma    []bool
	afterKey bool
}

func (w *jw) sep() {
	if w.afterKey {
		w.afterKey = false
		return
	}
	if n := len(w.comma); n > 0 {
		if w.comma[n-1] {
			w.b = append(w.b, ',')
		}
		w.comma[n-1] = true
	}
}

func (w *jw) begin(c byte) {
	w.sep()
	w.b = append(w.b, c)
	w.comma = append(w.comma, false)
}

func (w *jw) end(c byte) {
	w.b = append(w.b, c)
	w.comma = w.comma[:len(w.comma)-1]
}

func (w *jw) obj()    { w.begin('{') }
func (w *jw) endObj() { w.end('}') }
func (w *jw) arr()    { w.begin('[') }
func (w *jw) endArr() { w.end(']') }

func (w *jw) quote(s string) {
	const hex = "0123456789abcdef"
	w.b = append(w.b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			w.b = append(w.b, '\\', c)
		case c == '\n':
			w.b = append(w.b, '\\', 'n')
		case c == '\t':
			w.b = append(w.b, '\\', 't')
		case c < 0x20:
			w.b = append(w.b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			w.b = append(w.b, c)
		}
	}
	w.b = append(w.b, '"')
}

func (w *jw) key(k string) {
	w.sep()
	w.quote(k)
	w.b = append(w.b, ':')
	w.afterKey = true
}

func (w *jw) str(s string)    { w.sep(); w.quote(s) }
func (w *jw) int(v int64)     { w.sep(); w.b = strconv.AppendInt(w.b, v, 10) }
func (w *jw) uint(v uint64)   { w.sep(); w.b = strconv.AppendUint(w.b, v, 10) }
func (w *jw) float(v float64) { w.sep(); w.b = strconv.AppendFloat(w.b, v, 'g', -1, 64) }
func (w *jw) bool(v bool)     { w.sep(); w.b = strconv.AppendBool(w.b, v) }

func (w *jw) kstr(k, v string)       { w.key(k); w.str(v) }
func (w *jw) kint(k string, v int64) { w.key(k); w.int(v) }
func (w *jw) kbool(k string, v bool) { w.key(k); w.bool(v) }

// ---------------------------------------------------------------- truth model

type namedObject struct {
	name, typ, note string
	addr, size      uintptr
}

type typeCount struct {
	typ         string
	count, size int64
	note        string
}

type mapInfo struct {
	name, keyType, elemType string
	addr                    uintptr
	length                  int
	midGrowth               bool
	note                    string
	extra                   func(w *jw) // optional extra fields
}

type globalAddr struct {
	name string
	addr uintptr
}

type goroutineInfo struct {
	id       int64
	role     string
	start    string
	blocksOn string
	summary  bool // one entry for many goroutines: ids instead of id
	ids      []int64
	extra    func(w *jw)
}

type truth struct {
	program    string
	named      []namedObject
	types      []typeCount
	maps       []mapInfo
	globals    []globalAddr
	mu         sync.Mutex
	goroutines []goroutineInfo
	extra      func(w *jw)   // program-specific top-level fields
	sections   []func(w *jw) // more top-level fields, from build-tagged files
}

func (t *truth) object(name, typ string, addr, size uintptr, note string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.named = append(t.named, namedObject{name: name, typ: typ, addr: addr, size: size, note: note})
}

func (t *truth) count(typ string, count int, size uintptr, note string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.types = append(t.types, typeCount{typ: typ, count: int64(count), size: int64(size), note: note})
}

func (t *truth) global(name string, addr uintptr) {
	t.globals = append(t.globals, globalAddr{name, addr})
}

// register is called by a goroutine itself, just before it blocks.
func (t *truth) register(g goroutineInfo) {
	t.mu.Lock()
	t.goroutines = append(t.goroutines, g)
	t.mu.Unlock()
}

// ---------------------------------------------------------------- goroutines

// curGoid parses "goroutine N [" from the calling goroutine's own stack trace.
func curGoid() int64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	s := buf[:n]
	const p = "goroutine "
	if len(s) < len(p) || string(s[:len(p)]) != p {
		panic("curGoid: unexpected runtime.Stack output")
	}
	var id int64
	for _, c := range s[len(p):] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + int64(c-'0')
	}
	return id
}

// goroutineStatuses returns id -> status as runtime.Stack(all) prints it in the
// header "goroutine N [status, ...]:", cut at the first comma, with " (scan)"
// style suffixes removed.
func goroutineStatuses() map[int64]string {
	if stackBuf == nil {
		stackBuf = make([]byte, 1<<20)
	}
	var buf []byte
	for {
		n := runtime.Stack(stackBuf, true)
		if n < len(stackBuf) {
			buf = stackBuf[:n]
			break
		}
		stackBuf = make([]byte, 2*len(stackBuf))
	}
	out := make(map[int64]string)
	for len(buf) > 0 {
		var line []byte
		if i := indexByte(buf, '\n'); i >= 0 {
			line, buf = buf[:i], buf[i+1:]
		} else {
			line, buf = buf, nil
		}
		const p = "goroutine "
		if len(line) < len(p) || string(line[:len(p)]) != p {
			continue
		}
		var id int64
		j := len(p)
		for j < len(line) && line[j] >= '0' && line[j] <= '9' {
			id = id*10 + int64(line[j]-'0')
			j++
		}
		open := indexByte(line, '[')
		if open < 0 {
			continue
		}
		rest := line[open+1:]
		end := indexByte(rest, ']')
		if end < 0 {
			continue
		}
		st := rest[:end]
		if c := indexByte(st, ','); c >= 0 {
			st = st[:c]
		}
		s := string(st)
		for _, suf := range []string{" (scan)", " (leaked)", " (durable)"} {
			if len(s) > len(suf) && s[len(s)-len(suf):] == suf {
				s = s[:len(s)-len(suf)]
			}
		}
		out[id] = s
	}
	return out
}

// stackBuf is reused by goroutineStatuses and dropped by waitInPlace so that
// it is garbage at the final runtime.GC.
var stackBuf []byte

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// waitInPlace polls runtime.Stack(all) until every registered goroutine shows
// its expected wait reason ("running" goroutines are checked by the caller).
// It returns the mismatches left at the deadline.
func (t *truth) waitInPlace(timeout time.Duration) []string {
	deadline := time.Now().Add(timeout)
	for {
		st := goroutineStatuses()
		var bad []string
		t.mu.Lock()
		for _, g := range t.goroutines {
			if g.blocksOn == "running" || g.blocksOn == "runnable" || g.role == "main" {
				continue
			}
			ids := g.ids
			if !g.summary {
				ids = []int64{g.id}
			}
			for _, id := range ids {
				if got := st[id]; got != g.blocksOn {
					bad = append(bad, "goroutine "+strconv.FormatInt(id, 10)+" ("+g.role+"): want ["+g.blocksOn+"] got ["+got+"]")
					break
				}
			}
		}
		t.mu.Unlock()
		if len(bad) == 0 || time.Now().After(deadline) {
			stackBuf = nil
			return bad
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// ---------------------------------------------------------------- ending

var (
	gMemStats     runtime.MemStats
	gCrashMode    = envOr("GOCORE_CRASH", "panic")
	gTruthPath    = envOr("GOCORE_TRUTH", "truth.json")
	gInPlaceError []string
)

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// mainBlocksOn is the wait reason the main goroutine will show at dump time.
func mainBlocksOn() string {
	if gCrashMode == "wait" {
		return "sleep"
	}
	return "running"
}

// gStructNames holds field names of struct types inside MemStats (BySize),
// computed before the final GC so that writing them does not allocate.
var gStructNames = map[reflect.Type][]string{}

type msField struct {
	name  string
	index int
}

// finish implements the end of the protocol: (goroutines already in place)
// runtime.GC -> runtime.ReadMemStats -> write truth -> crash or wait.
// beforeDump, if non-nil, runs after the truth is written and right before the
// panic or the READY line (it must not allocate).
func (t *truth) finish(beforeDump func()) {
	if gCrashMode != "panic" && gCrashMode != "wait" {
		println("gocore fixture: unknown GOCORE_CRASH", gCrashMode)
		os.Exit(2)
	}
	w := &jw{b: make([]byte, 0, 256<<10), comma: make([]bool, 0, 16)}
	w.obj()
	w.kstr("program", t.program)
	w.kstr("go_version", runtime.Version())
	w.kstr("goos", runtime.GOOS)
	w.kstr("goarch", runtime.GOARCH)
	w.kint("pid", int64(os.Getpid()))
	w.kint("gomaxprocs", int64(runtime.GOMAXPROCS(0)))
	w.kstr("crash_mode", gCrashMode)
	w.kstr("godebug", os.Getenv("GODEBUG"))
	w.kbool("cgo", cgoLinked)

	w.key("named_objects")
	w.arr()
	for _, o := range t.named {
		w.obj()
		w.kstr("name", o.name)
		w.kint("addr", int64(o.addr))
		w.kint("size", int64(o.size))
		w.kstr("type", o.typ)
		if o.note != "" {
			w.kstr("note", o.note)
		}
		w.endObj()
	}
	w.endArr()

	w.key("type_counts")
	w.obj()
	for _, c := range t.types {
		w.key(c.typ)
		w.obj()
		w.kint("count", c.count)
		w.kint("size", c.size)
		w.kstr("note", c.note)
		w.endObj()
	}
	w.endObj()

	w.key("maps")
	w.arr()
	for _, m := range t.maps {
		w.obj()
		w.kstr("name", m.name)
		w.kint("addr", int64(m.addr))
		w.kint("len", int64(m.length))
		w.kstr("key_type", m.keyType)
		w.kstr("elem_type", m.elemType)
		w.kbool("mid_growth", m.midGrowth)
		if m.note != "" {
			w.kstr("note", m.note)
		}
		if m.extra != nil {
			m.extra(w)
		}
		w.endObj()
	}
	w.endArr()

	w.key("globals")
	w.obj()
	for _, g := range t.globals {
		w.kint(g.name, int64(g.addr))
	}
	w.endObj()

	w.key("goroutines")
	w.arr()
	t.mu.Lock()
	for _, g := range t.goroutines {
		w.obj()
		if !g.summary {
			w.kint("id", g.id)
		}
		w.kstr("role", g.role)
		w.kstr("start", g.start)
		w.kstr("blocks_on", g.blocksOn)
		if g.summary {
			w.kint("count", int64(len(g.ids)))
			w.key("ids")
			w.arr()
			for _, id := range g.ids {
				w.int(id)
			}
			w.endArr()
		}
		if g.extra != nil {
			g.extra(w)
		}
		w.endObj()
	}
	t.mu.Unlock()
	w.endArr()

	w.key("in_place_errors")
	w.arr()
	for _, e := range gInPlaceError {
		w.str(e)
	}
	w.endArr()

	if t.extra != nil {
		t.extra(w)
	}
	for _, f := range t.sections {
		f(w)
	}

	// Everything that allocates is done; prepare the memstats field list too.
	msType := reflect.TypeOf(gMemStats)
	fields := make([]msField, 0, msType.NumField())
	for i := 0; i < msType.NumField(); i++ {
		f := msType.Field(i)
		if f.Name == "PauseNs" || f.Name == "PauseEnd" {
			continue
		}
		fields = append(fields, msField{f.Name, i})
		if f.Type.Kind() == reflect.Array && f.Type.Elem().Kind() == reflect.Struct {
			et := f.Type.Elem()
			names := make([]string, et.NumField())
			for j := range names {
				names[j] = et.Field(j).Name
			}
			gStructNames[et] = names
		}
	}
	msVal := reflect.ValueOf(&gMemStats).Elem()
	path := gTruthPath

	runtime.GC()
	runtime.ReadMemStats(&gMemStats)

	// From here on: no heap allocation (except the path conversion in Open).
	w.key("memstats")
	w.obj()
	for _, f := range fields {
		w.key(f.name)
		writeValue(w, msVal.Field(f.index))
	}
	w.endObj()
	w.endObj()
	w.b = append(w.b, '\n')

	fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_TRUNC|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		println("gocore fixture: cannot write truth file", path)
		os.Exit(2)
	}
	for b := w.b; len(b) > 0; {
		n, err := syscall.Write(fd, b)
		if err != nil {
			println("gocore fixture: write error")
			os.Exit(2)
		}
		b = b[n:]
	}
	syscall.Close(fd)

	if gCrashMode == "wait" {
		// No GC from now on (not even the forced 2-minute one): the heap stays
		// as described and nothing needs to stop the world while we wait.
		debug.SetGCPercent(-1)
	}
	if beforeDump != nil {
		beforeDump()
	}
	if gCrashMode == "wait" {
		ready := [...]byte{'R', 'E', 'A', 'D', 'Y', '\n'}
		syscall.Write(1, ready[:])
		for {
			time.Sleep(time.Hour)
		}
	}
	panic("gocore fixture: crash")
}

func writeValue(w *jw, v reflect.Value) {
	switch v.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		w.uint(v.Uint())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		w.int(v.Int())
	case reflect.Float32, reflect.Float64:
		w.float(v.Float())
	case reflect.Bool:
		w.bool(v.Bool())
	case reflect.Array, reflect.Slice:
		w.arr()
		for i := 0; i < v.Len(); i++ {
			writeValue(w, v.Index(i))
		}
		w.endArr()
	case reflect.Struct:
		w.obj()
		names := gStructNames[v.Type()]
		for i := 0; i < v.NumField() && i < len(names); i++ {
			w.key(names[i])
			writeValue(w, v.Field(i))
		}
		w.endObj()
	default:
		w.str("?")
	}
}
