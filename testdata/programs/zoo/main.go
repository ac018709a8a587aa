// Command zoo is a gocore fixture: it builds every heap shape and goroutine
// state the analyses must read, writes a truth file describing them, and then
// crashes (GOCORE_CRASH=panic) or waits to be dumped (GOCORE_CRASH=wait).
// See testdata/README.md, "Fixture programs and truth files".
package main

import (
	"fmt"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// ---------------------------------------------------------------- heap types
// One distinct named type per purpose, so that live counts per type are exact.
// Every struct contains a pointer so that nothing goes through the tiny allocator.

type ListNode struct {
	Next *ListNode
	Val  int64
	Pad  [4]int64
}

type TreeNode struct {
	Left, Right *TreeNode
	Val         int64
}

type CycleNode struct {
	Next *CycleNode
	Val  int64
}

type MapVal struct {
	Self *MapVal
	ID   int64
}

type BigMapTarget struct {
	Back *BigMapTarget
	ID   int64
}

// BigMapVal is 200 bytes (> 128: stored indirectly in map buckets / slots).
type BigMapVal struct {
	Target *BigMapTarget
	Data   [24]int64
}

type BigMapKey [20]int64 // 160 bytes (> 128: indirect key)

type GrowVal struct {
	Self *GrowVal
	ID   int64
}

type SmallArrElem struct {
	P  *SmallArrElem
	ID int64
}

type MidArrElem struct {
	P  *MidArrElem
	ID int64
}

type LargeArrElem struct {
	P  *LargeArrElem
	ID int64
}

// MidSliceElem: a 40-element slice of these is 960 bytes, a "header" size
// class on go1.22+, whose GC mask must be repeated across the allocation.
type MidSliceElem struct {
	Target *MidSliceTarget
	A, B   int64
}

type MidSliceTarget struct {
	P  *MidSliceTarget
	ID int64
}

type SharedElem struct {
	P  *SharedElem
	ID int64
}

type Interior struct {
	P    *Interior
	A    [4]int64
	Mid  int64
	B    [4]int64
	Tail int64
}

type AnyPtrTarget struct {
	P  *AnyPtrTarget
	ID int64
}

// BoxedVal is stored by value in an interface: the runtime boxes a heap copy.
type BoxedVal struct {
	P    *BoxedVal
	X, Y int64
}

// DirectStruct has a single pointer field: it is a direct-iface type, so an
// interface holding it stores the pointer itself in the data word.
type DirectStruct struct {
	Target *DirectTarget
}

type DirectTarget struct {
	P  *DirectTarget
	ID int64
}

type ZooError struct {
	Cause *ZooError
	Msg   string
}

func (e *ZooError) Error() string { return e.Msg }

type FieldPtrTarget struct {
	P  *FieldPtrTarget
	ID int64
}

type FieldBoxed struct {
	P    *FieldBoxed
	X, Y int64
}

type IfaceHolder struct {
	Any     any
	Err     error
	Str     fmt.Stringer
	Boxed   any
	Func    any
	Integer any
}

type Named struct {
	P    *Named
	Name string
}

func (n *Named) String() string { return n.Name }

type Captured struct {
	P  *Captured
	ID int64
}

type MethodRecv struct {
	P  *MethodRecv
	ID int64
}

func (m *MethodRecv) Describe() string { return "recv " + strconv.FormatInt(m.ID, 10) }

type Box[T any] struct {
	Val  T
	Next *Box[T]
	Link any
}

type ChanItem struct {
	P  *ChanItem
	ID int64
}

type SyncMapVal struct {
	P  *SyncMapVal
	ID int64
}

type Finalized struct {
	P  *Finalized
	ID int64
}

type StackHeld struct {
	P  *StackHeld
	ID int64
}

type SentItem struct {
	P  *SentItem
	ID int64
}

// ---------------------------------------------------------------- sizes

const (
	nList      = 1000
	treeDepth  = 8 // 255 nodes
	nBigMap    = 5000
	nBigKV     = 20
	nSmallArr  = 16
	nMidArr    = 300
	nLargeArr  = 10000
	nMidSlice  = 40
	nShared    = 64
	nCaptured  = 3
	nChanItems = 10
	nSyncMap   = 8
	nIdle      = 1000
	recDepth   = 1000
)

// ---------------------------------------------------------------- globals

var (
	gList        *ListNode
	gTree        *TreeNode
	gCycle       *CycleNode
	gBigMap      map[int]*MapVal
	gBigKV       map[BigMapKey]BigMapVal
	gGrowMap     map[int]*GrowVal
	gSmallArr    *[nSmallArr]*SmallArrElem
	gMidArr      *[nMidArr]*MidArrElem
	gLargeArr    *[nLargeArr]*LargeArrElem
	gMidSlice    []MidSliceElem
	gSliceA      []SharedElem
	gSliceB      []SharedElem
	gInteriorPtr *int64
	gStrAlpha    string
	gStrBeta     string
	gStrGamma    string
	gAny         []any
	gHolder      *IfaceHolder
	gFuncs       []func() int64
	gMethod      func() string
	gBoxInt      *Box[int]
	gBoxStr      *Box[string]
	gChan        chan *ChanItem
	gSyncMap     sync.Map
	gFinalized   *Finalized

	// goroutine plumbing
	gSendCh    = make(chan *SentItem)
	gRecvCh    = make(chan int)
	gSelA      = make(chan int)
	gSelB      = make(chan int)
	gSelC      = make(chan string)
	gMu        sync.Mutex
	gRW        sync.RWMutex // write-locked by main: a reader waits
	gRW2       sync.RWMutex // read-locked by main: a writer waits
	gCondMu    sync.Mutex
	gCond      = sync.NewCond(&gCondMu)
	gWG        sync.WaitGroup
	gListener  *os.File
	gPort      int
	gPipe      [2]int
	gSpin      uint64
	gSpinPhase uint32 // 0: preemptible loop, 1: main.spinNosplit
	gInNosplit uint32
	gDeepCh    = make(chan int)
	gIdleCh    = make(chan int)
	gNilCh     chan int
	gReady     = make(chan struct{}, 64)

	gSink any // forces escapes
	T     = &truth{program: "zoo"}
)

func addr[P any](p *P) uintptr { return uintptr(unsafe.Pointer(p)) }

func mapAddr[K comparable, V any](m map[K]V) uintptr {
	return *(*uintptr)(unsafe.Pointer(&m))
}

func typeName(v any) string { return reflect.TypeOf(v).String() }

// ---------------------------------------------------------------- heap

func buildList() {
	var head *ListNode
	for i := nList - 1; i >= 0; i-- {
		head = &ListNode{Next: head, Val: int64(i)}
	}
	gList = head
	T.object("list_head", "main.ListNode", addr(gList), unsafe.Sizeof(ListNode{}), "head of a singly linked list of 1000 nodes, Val 0..999")
	T.count("main.ListNode", nList, unsafe.Sizeof(ListNode{}), "singly linked list from main.gList")
}

func buildTree(depth int, val *int64) *TreeNode {
	if depth == 0 {
		return nil
	}
	n := &TreeNode{}
	n.Left = buildTree(depth-1, val)
	n.Val = *val
	*val++
	n.Right = buildTree(depth-1, val)
	return n
}

func buildCycle() {
	a := &CycleNode{Val: 1}
	b := &CycleNode{Val: 2}
	c := &CycleNode{Val: 3}
	a.Next, b.Next, c.Next = b, c, a
	gCycle = a
	T.object("cycle_a", "main.CycleNode", addr(a), unsafe.Sizeof(*a), "a -> b -> c -> a")
	T.object("cycle_b", "main.CycleNode", addr(b), unsafe.Sizeof(*b), "")
	T.object("cycle_c", "main.CycleNode", addr(c), unsafe.Sizeof(*c), "")
	T.count("main.CycleNode", 3, unsafe.Sizeof(*a), "3-node cycle from main.gCycle")
}

func buildMaps() {
	gBigMap = make(map[int]*MapVal)
	for i := 0; i < nBigMap; i++ {
		v := &MapVal{ID: int64(i)}
		v.Self = v
		gBigMap[i] = v
	}
	T.maps = append(T.maps, mapInfo{name: "bigmap", addr: mapAddr(gBigMap), length: len(gBigMap),
		keyType: "int", elemType: "*main.MapVal", note: "keys 0..4999, value ID == key"})
	T.count("main.MapVal", nBigMap, unsafe.Sizeof(MapVal{}), "values of main.gBigMap")

	gBigKV = make(map[BigMapKey]BigMapVal)
	for i := 0; i < nBigKV; i++ {
		var k BigMapKey
		for j := range k {
			k[j] = int64(i*100 + j)
		}
		var v BigMapVal
		v.Target = &BigMapTarget{ID: int64(i)}
		v.Target.Back = v.Target
		for j := range v.Data {
			v.Data[j] = int64(i)
		}
		gBigKV[k] = v
	}
	T.maps = append(T.maps, mapInfo{name: "bigkv", addr: mapAddr(gBigKV), length: len(gBigKV),
		keyType: "main.BigMapKey", elemType: "main.BigMapVal",
		note: "key [20]int64 (160 B) and elem 200 B are both > 128 B: stored indirectly (each key and elem its own heap object); key[j] = i*100+j, elem.Target.ID = i"})
	T.count("main.BigMapVal", nBigKV, unsafe.Sizeof(BigMapVal{}), "indirect elems of main.gBigKV (one heap object per entry)")
	T.count("main.BigMapKey", nBigKV, unsafe.Sizeof(BigMapKey{}), "indirect keys of main.gBigKV (one heap object per entry; pointer-free)")
	T.count("main.BigMapTarget", nBigKV, unsafe.Sizeof(BigMapTarget{}), "pointed to by main.gBigKV elems")

	buildGrowMap() // growmap_*.go
}

func buildArrays() {
	gSmallArr = new([nSmallArr]*SmallArrElem)
	for i := range gSmallArr {
		gSmallArr[i] = &SmallArrElem{ID: int64(i)}
	}
	gMidArr = new([nMidArr]*MidArrElem)
	for i := range gMidArr {
		gMidArr[i] = &MidArrElem{ID: int64(i)}
	}
	gLargeArr = new([nLargeArr]*LargeArrElem)
	for i := range gLargeArr {
		gLargeArr[i] = &LargeArrElem{ID: int64(i)}
	}
	T.object("small_ptr_array", typeName(*gSmallArr), addr(gSmallArr), unsafe.Sizeof(*gSmallArr), "small size class (<= 512 B): pointer bits in the span")
	T.object("mid_ptr_array", typeName(*gMidArr), addr(gMidArr), unsafe.Sizeof(*gMidArr), "2400 B: go1.22+ puts a type header word before it (addr is the object, header at addr-8)")
	T.object("large_ptr_array", typeName(*gLargeArr), addr(gLargeArr), unsafe.Sizeof(*gLargeArr), "80000 B: large object (own span)")
	T.count(typeName(*gSmallArr), 1, unsafe.Sizeof(*gSmallArr), "main.gSmallArr")
	T.count(typeName(*gMidArr), 1, unsafe.Sizeof(*gMidArr), "main.gMidArr")
	T.count(typeName(*gLargeArr), 1, unsafe.Sizeof(*gLargeArr), "main.gLargeArr")
	T.count("main.SmallArrElem", nSmallArr, unsafe.Sizeof(SmallArrElem{}), "every element of main.gSmallArr, ID = index")
	T.count("main.MidArrElem", nMidArr, unsafe.Sizeof(MidArrElem{}), "every element of main.gMidArr, ID = index")
	T.count("main.LargeArrElem", nLargeArr, unsafe.Sizeof(LargeArrElem{}), "every element of main.gLargeArr, ID = index")

	gMidSlice = make([]MidSliceElem, nMidSlice)
	for i := range gMidSlice {
		gMidSlice[i] = MidSliceElem{Target: &MidSliceTarget{ID: int64(i)}, A: int64(i), B: -int64(i)}
	}
	T.object("mid_struct_slice", "[40]main.MidSliceElem", addr(&gMidSlice[0]), unsafe.Sizeof(MidSliceElem{})*nMidSlice,
		"backing array of make([]main.MidSliceElem, 40): ONE heap object (960 B) whose allocation type is the element type main.MidSliceElem, mask repeated every 24 B; not counted in type_counts")
	T.count("main.MidSliceTarget", nMidSlice, unsafe.Sizeof(MidSliceTarget{}), "pointed to by each element of main.gMidSlice, ID = index")

	backing := make([]SharedElem, nShared)
	for i := range backing {
		backing[i].ID = int64(i)
	}
	gSliceA = backing[2:10]
	gSliceB = backing[20:40:50]
	base := addr(&gSliceA[0]) - 2*unsafe.Sizeof(SharedElem{})
	T.object("shared_backing", "[64]main.SharedElem", base, unsafe.Sizeof(SharedElem{})*nShared,
		"backing array of two slices; nothing points to its start (ONE heap object, element type main.SharedElem; not counted in type_counts)")
	T.object("shared_slice_a", "[8]main.SharedElem", addr(&gSliceA[0]), unsafe.Sizeof(SharedElem{})*8, "main.gSliceA = backing[2:10], interior pointer")
	T.object("shared_slice_b", "[20]main.SharedElem", addr(&gSliceB[0]), unsafe.Sizeof(SharedElem{})*20, "main.gSliceB = backing[20:40:50], interior pointer")
}

func buildMisc() {
	in := &Interior{Mid: 4242, Tail: 7}
	gInteriorPtr = &in.Mid
	T.object("interior_obj", "main.Interior", addr(in), unsafe.Sizeof(*in), "only reachable through main.gInteriorPtr which points to field Mid at offset "+strconv.Itoa(int(unsafe.Offsetof(in.Mid))))
	T.object("interior_ptr_target", "int64", addr(gInteriorPtr), 8, "value of main.gInteriorPtr (inside interior_obj)")
	T.count("main.Interior", 1, unsafe.Sizeof(*in), "only via interior pointer main.gInteriorPtr")

	gStrAlpha = strings.Repeat("alpha-", 8) + strconv.Itoa(len(gBigMap))
	gStrBeta = fmt.Sprintf("beta string built at run time %d", nList)
	gStrGamma = strings.ToUpper(gStrAlpha + "/gamma/" + gStrBeta)
	for _, s := range []struct {
		name string
		v    *string
	}{{"str_alpha", &gStrAlpha}, {"str_beta", &gStrBeta}, {"str_gamma", &gStrGamma}} {
		T.object(s.name, "string", uintptr(unsafe.Pointer(unsafe.StringData(*s.v))), uintptr(len(*s.v)), "string data; value: "+*s.v)
	}
}

//go:noinline
func namedFunc() int64 { return 42 }

//go:noinline
func runtimeInt(x int) int { return x*1000 + 7 }

func buildIfaces() {
	apt := &AnyPtrTarget{ID: 1}
	bv := BoxedVal{X: int64(runtimeInt(1)), Y: 2}
	dt := &DirectTarget{ID: 3}
	ze := &ZooError{Msg: "zoo error in []any"}
	gAny = []any{
		runtimeInt(5), // boxed int (8 B pointer-free allocation)
		gStrBeta,      // boxed string header
		apt,           // *T: direct iface
		bv,            // struct value: boxed heap copy
		namedFunc,     // func value (static funcval)
		DirectStruct{Target: dt},
		error(ze),
	}
	T.object("any_slice", "[7]interface {}", addr(&gAny[0]), unsafe.Sizeof(gAny[0])*uintptr(len(gAny)),
		"backing of main.gAny: int 5007, string(str_beta), *main.AnyPtrTarget, main.BoxedVal (boxed), func main.namedFunc, main.DirectStruct (direct iface: data word = *main.DirectTarget), error *main.ZooError")
	T.object("any_ptr_target", "main.AnyPtrTarget", addr(apt), unsafe.Sizeof(*apt), "gAny[2]")
	T.object("any_boxed", "main.BoxedVal", uintptr((*[2]unsafe.Pointer)(unsafe.Pointer(&gAny[3]))[1]), unsafe.Sizeof(bv), "gAny[3] data word: heap copy of a main.BoxedVal")
	T.object("any_direct_target", "main.DirectTarget", addr(dt), unsafe.Sizeof(*dt), "gAny[5] data word (main.DirectStruct is direct-iface)")
	T.object("any_error", "main.ZooError", addr(ze), unsafe.Sizeof(*ze), "gAny[6]")
	T.count("main.AnyPtrTarget", 1, unsafe.Sizeof(AnyPtrTarget{}), "gAny[2]")
	T.count("main.BoxedVal", 1, unsafe.Sizeof(BoxedVal{}), "gAny[3] boxed copy")
	T.count("main.DirectTarget", 1, unsafe.Sizeof(DirectTarget{}), "gAny[5] via direct-iface main.DirectStruct (no main.DirectStruct is allocated)")

	fpt := &FieldPtrTarget{ID: 4}
	fe := &ZooError{Msg: "zoo error in IfaceHolder.Err"}
	nm := &Named{Name: "named stringer"}
	gHolder = &IfaceHolder{
		Any:     fpt,
		Err:     fe,
		Str:     nm,
		Boxed:   FieldBoxed{X: int64(runtimeInt(2)), Y: 9},
		Func:    namedFunc,
		Integer: runtimeInt(6),
	}
	T.object("iface_holder", "main.IfaceHolder", addr(gHolder), unsafe.Sizeof(*gHolder), "interface-typed fields: Any=*main.FieldPtrTarget Err=*main.ZooError Str=*main.Named Boxed=main.FieldBoxed Func=main.namedFunc Integer=6007")
	T.count("main.IfaceHolder", 1, unsafe.Sizeof(IfaceHolder{}), "main.gHolder")
	T.count("main.FieldPtrTarget", 1, unsafe.Sizeof(FieldPtrTarget{}), "gHolder.Any")
	T.count("main.FieldBoxed", 1, unsafe.Sizeof(FieldBoxed{}), "gHolder.Boxed (boxed copy)")
	T.count("main.Named", 1, unsafe.Sizeof(Named{}), "gHolder.Str")
	T.count("main.ZooError", 2, unsafe.Sizeof(ZooError{}), "gAny[6] and gHolder.Err")
}

func buildClosures() {
	for i := 0; i < nCaptured; i++ {
		c := &Captured{ID: int64(i)}
		gFuncs = append(gFuncs, func() int64 { return c.ID })
		T.object("captured_"+strconv.Itoa(i), "main.Captured", addr(c), unsafe.Sizeof(*c), "captured by closure main.gFuncs["+strconv.Itoa(i)+"]")
	}
	T.count("main.Captured", nCaptured, unsafe.Sizeof(Captured{}), "captured by the closures in main.gFuncs")
	r := &MethodRecv{ID: 77}
	gMethod = r.Describe
	T.object("method_recv", "main.MethodRecv", addr(r), unsafe.Sizeof(*r), "receiver bound in method value main.gMethod")
	T.count("main.MethodRecv", 1, unsafe.Sizeof(MethodRecv{}), "bound in method value main.gMethod")
}

func buildGenerics() {
	var bi *Box[int]
	for i := 2; i >= 0; i-- {
		bi = &Box[int]{Val: i, Next: bi}
	}
	var bs *Box[string]
	for i := 1; i >= 0; i-- {
		bs = &Box[string]{Val: "box-" + strconv.Itoa(i*10+runtimeInt(0)), Next: bs}
	}
	bi.Next.Next.Link = bs // int chain tail -> string chain head
	bs.Next.Link = bi      // string chain tail -> int chain head
	gBoxInt, gBoxStr = bi, bs
	T.object("box_int_head", typeName(*bi), addr(bi), unsafe.Sizeof(*bi), "3-element chain, Val 0,1,2; tail.Link = box_str_head")
	T.object("box_str_head", typeName(*bs), addr(bs), unsafe.Sizeof(*bs), "2-element chain; tail.Link = box_int_head")
	T.count(typeName(*bi), 3, unsafe.Sizeof(*bi), "main.gBoxInt chain")
	T.count(typeName(*bs), 2, unsafe.Sizeof(*bs), "main.gBoxStr chain")
}

func buildChanAndSync() {
	gChan = make(chan *ChanItem, 16)
	for i := 0; i < nChanItems; i++ {
		gChan <- &ChanItem{ID: int64(i)}
	}
	T.object("chan_hchan", "runtime.hchan", chanAddr(gChan), 0, "main.gChan: cap 16, 10 buffered *main.ChanItem, no receiver (size 0: runtime-internal)")
	T.count("main.ChanItem", nChanItems, unsafe.Sizeof(ChanItem{}), "buffered in main.gChan")

	for i := 0; i < nSyncMap; i++ {
		gSyncMap.Store("k"+strconv.Itoa(i), &SyncMapVal{ID: int64(i)})
	}
	T.count("main.SyncMapVal", nSyncMap, unsafe.Sizeof(SyncMapVal{}), "values in sync.Map main.gSyncMap, keys k0..k7")

	gFinalized = &Finalized{ID: 5}
	runtime.SetFinalizer(gFinalized, func(f *Finalized) { println("finalized", f.ID) })
	T.object("finalized", "main.Finalized", addr(gFinalized), unsafe.Sizeof(*gFinalized), "has a finalizer (runtime.SetFinalizer); kept alive by main.gFinalized")
	T.count("main.Finalized", 1, unsafe.Sizeof(Finalized{}), "main.gFinalized (with finalizer)")

	buildGo124() // go124.go / go124_stub.go
}

func chanAddr[E any](c chan E) uintptr { return *(*uintptr)(unsafe.Pointer(&c)) }

// ---------------------------------------------------------------- goroutines

func reg(role, start, blocksOn string, extra func(w *jw)) {
	T.register(goroutineInfo{id: curGoid(), role: role, start: start, blocksOn: blocksOn, extra: extra})
	gReady <- struct{}{}
}

func chanSender() {
	item := newSentItem()
	reg("chan-send", "main.chanSender", "chan send", nil)
	gSendCh <- item
	runtime.KeepAlive(item)
}

//go:noinline
func newSentItem() *SentItem {
	s := &SentItem{ID: 11}
	T.object("sent_item", "main.SentItem", addr(s), unsafe.Sizeof(*s), "being sent on unbuffered main.gSendCh by the chan-send goroutine; only reachable from its stack")
	T.count("main.SentItem", 1, unsafe.Sizeof(*s), "held by the chan-send goroutine's stack")
	return s
}

func chanReceiver() {
	held := newStackHeld()
	reg("chan-receive", "main.chanReceiver", "chan receive", nil)
	<-gRecvCh
	runtime.KeepAlive(held)
}

//go:noinline
func newStackHeld() *StackHeld {
	s := &StackHeld{ID: 12}
	T.object("stack_held", "main.StackHeld", addr(s), unsafe.Sizeof(*s), "only reachable from a live local of the chan-receive goroutine")
	T.count("main.StackHeld", 1, unsafe.Sizeof(*s), "only from the chan-receive goroutine's stack")
	return s
}

func selectWaiter() {
	reg("select", "main.selectWaiter", "select", nil)
	select {
	case <-gSelA:
	case gSelB <- 1:
	case s := <-gSelC:
		gSink = s
	case <-gNilCh:
	}
}

func mutexWaiter() {
	reg("mutex", "main.mutexWaiter", "sync.Mutex.Lock", nil)
	gMu.Lock()
	gMu.Unlock()
}

func rwReader() {
	reg("rwmutex-rlock", "main.rwReader", "sync.RWMutex.RLock", nil)
	gRW.RLock()
	gRW.RUnlock()
}

func rwWriter() {
	reg("rwmutex-lock", "main.rwWriter", "sync.RWMutex.Lock", nil)
	gRW2.Lock()
	gRW2.Unlock()
}

func condWaiter() {
	gCondMu.Lock()
	reg("cond", "main.condWaiter", "sync.Cond.Wait", nil)
	gCond.Wait()
	gCondMu.Unlock()
}

func sleeper() {
	reg("sleep", "main.sleeper", "sleep", nil)
	time.Sleep(24 * time.Hour)
}

func wgWaiter() {
	reg("waitgroup", "main.wgWaiter", waitGroupReason, nil)
	gWG.Wait()
}

// acceptor waits in accept(2) on a non-blocking 127.0.0.1 listening socket
// through the runtime netpoller ("IO wait"). The socket is made with raw
// syscalls and os.NewFile instead of package net so that the program does not
// link runtime/cgo (package net does when CGO_ENABLED=1).
func acceptor() {
	rc, err := gListener.SyscallConn()
	if err != nil {
		panic(err)
	}
	reg("netpoll-accept", "main.acceptor", "IO wait", func(w *jw) { w.kint("port", int64(gPort)) })
	rc.Read(func(fd uintptr) bool {
		nfd, _, err := syscall.Accept(int(fd))
		if err == syscall.EAGAIN {
			return false
		}
		if err == nil {
			syscall.Close(nfd)
		}
		return true
	})
}

func listen() {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		panic(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		panic(err)
	}
	if err := syscall.Listen(fd, 16); err != nil {
		panic(err)
	}
	if sa, err := syscall.Getsockname(fd); err == nil {
		if in, ok := sa.(*syscall.SockaddrInet4); ok {
			gPort = in.Port
		}
	}
	gListener = os.NewFile(uintptr(fd), "listener")
}

func syscaller() {
	var buf [16]byte
	reg("syscall-read", "main.syscaller", "syscall", nil)
	syscall.Read(gPipe[0], buf[:])
}

func busy() {
	runtime.LockOSThread()
	reg("busy", "main.busy", "running", func(w *jw) {
		w.kstr("note", "spins on main.gSpin on a locked OS thread; at dump time inside the nosplit function main.spinNosplit (not preemptible)")
	})
	for {
		// Preemptible phase: runtime.GC and the in-place checks can stop us.
		for atomic.LoadUint32(&gSpinPhase) == 0 {
			atomic.AddUint64(&gSpin, 1)
		}
		spinNosplit()
	}
}

// spinNosplit spins while gSpinPhase == 1. The compiler marks a nosplit
// function (except at calls) as an async-unsafe point, so neither sysmon's
// 10 ms preemption nor the crash path's freezetheworld can preempt it: the
// goroutine is genuinely [running] when the dump is taken. (Without this the
// crash path preempts every running goroutine and it would be dumped as
// [runnable] inside runtime.asyncPreempt.) Nothing may stop the world while
// it runs: main enters this phase only after the truth is written, and in
// GOCORE_CRASH=wait mode GC is disabled first.
//
//go:nosplit
//go:noinline
func spinNosplit() {
	atomic.StoreUint32(&gInNosplit, 1)
	for atomic.LoadUint32(&gSpinPhase) == 1 {
		atomic.AddUint64(&gSpin, 1)
	}
	atomic.StoreUint32(&gInNosplit, 0)
}

func deepRecursion() {
	recurse(recDepth)
}

//go:noinline
func recurse(depth int) int {
	if depth == 0 {
		reg("deep-recursion", "main.deepRecursion", "chan receive", func(w *jw) {
			w.kint("depth", recDepth)
			w.kint("recurse_frames", recDepth+1)
		})
		return <-gDeepCh
	}
	return recurse(depth-1) + 1
}

func nilChanReceiver() {
	reg("nil-chan-receive", "main.nilChanReceiver", "chan receive (nil chan)", nil)
	<-gNilCh
}

func emptySelect() {
	reg("empty-select", "main.emptySelect", "select (no cases)", nil)
	select {}
}

var (
	gIdleMu  sync.Mutex
	gIdleIDs []int64
	gIdleWG  sync.WaitGroup
)

func idleWorker() {
	id := curGoid()
	gIdleMu.Lock()
	gIdleIDs = append(gIdleIDs, id)
	gIdleMu.Unlock()
	gIdleWG.Done()
	<-gIdleCh
}

func spawnIdle() {
	gIdleWG.Add(nIdle)
	for i := 0; i < nIdle; i++ {
		go idleWorker()
	}
	gIdleWG.Wait()
	T.register(goroutineInfo{role: "idle", start: "main.idleWorker", blocksOn: "chan receive", summary: true, ids: gIdleIDs})
}

func startGoroutines() {
	gMu.Lock()
	gRW.Lock()
	gRW2.RLock()
	gWG.Add(1)
	listen()
	if err := syscall.Pipe(gPipe[:]); err != nil {
		panic(err)
	}
	fns := []func(){chanSender, chanReceiver, selectWaiter, mutexWaiter, rwReader, rwWriter,
		condWaiter, sleeper, wgWaiter, acceptor, syscaller, busy, deepRecursion,
		nilChanReceiver, emptySelect}
	for _, f := range fns {
		go f()
	}
	for range fns {
		<-gReady
	}
	spawnIdle()
	// main itself
	T.register(goroutineInfo{id: curGoid(), role: "main", start: "runtime.main", blocksOn: mainBlocksOn(),
		extra: func(w *jw) { w.kstr("note", "the main goroutine; panics (running) or sleeps in GOCORE_CRASH=wait") }})
}

// ---------------------------------------------------------------- main

func main() {
	buildList()
	var v int64
	gTree = buildTree(treeDepth, &v)
	T.object("tree_root", "main.TreeNode", addr(gTree), unsafe.Sizeof(*gTree), "complete binary tree of depth 8 (255 nodes), in-order Val 0..254")
	T.count("main.TreeNode", 1<<treeDepth-1, unsafe.Sizeof(TreeNode{}), "binary tree from main.gTree")
	buildCycle()
	buildMaps()
	buildArrays()
	buildMisc()
	buildIfaces()
	buildClosures()
	buildGenerics()
	buildChanAndSync()

	globals := []struct {
		name string
		p    uintptr
	}{
		{"main.gList", addr(&gList)}, {"main.gTree", addr(&gTree)}, {"main.gCycle", addr(&gCycle)},
		{"main.gBigMap", addr(&gBigMap)}, {"main.gBigKV", addr(&gBigKV)}, {"main.gGrowMap", addr(&gGrowMap)},
		{"main.gSmallArr", addr(&gSmallArr)}, {"main.gMidArr", addr(&gMidArr)}, {"main.gLargeArr", addr(&gLargeArr)},
		{"main.gMidSlice", addr(&gMidSlice)}, {"main.gSliceA", addr(&gSliceA)}, {"main.gSliceB", addr(&gSliceB)},
		{"main.gInteriorPtr", addr(&gInteriorPtr)}, {"main.gStrAlpha", addr(&gStrAlpha)}, {"main.gStrBeta", addr(&gStrBeta)},
		{"main.gStrGamma", addr(&gStrGamma)}, {"main.gAny", addr(&gAny)}, {"main.gHolder", addr(&gHolder)},
		{"main.gFuncs", addr(&gFuncs)}, {"main.gMethod", addr(&gMethod)}, {"main.gBoxInt", addr(&gBoxInt)},
		{"main.gBoxStr", addr(&gBoxStr)}, {"main.gChan", addr(&gChan)}, {"main.gSyncMap", addr(&gSyncMap)},
		{"main.gFinalized", addr(&gFinalized)}, {"main.gSpin", addr(&gSpin)}, {"main.gMu", addr(&gMu)},
	}
	for _, g := range globals {
		T.global(g.name, g.p)
	}
	globalsGo124()

	startGoroutines()
	gInPlaceError = T.waitInPlace(3 * time.Second)
	for _, e := range gInPlaceError {
		println("gocore fixture: not in place:", e)
	}
	T.extra = func(w *jw) {
		w.key("constants")
		w.obj()
		w.kint("list_len", nList)
		w.kint("tree_depth", treeDepth)
		w.kint("recursion_depth", recDepth)
		w.kint("idle_goroutines", nIdle)
		w.endObj()
	}
	T.finish(waitBusyRunning)
}

// waitBusyRunning puts the busy goroutine into its non-preemptible spin and
// waits until it is there and counting. It must not allocate.
func waitBusyRunning() {
	atomic.StoreUint32(&gSpinPhase, 1)
	deadline := time.Now().Add(2 * time.Second)
	for atomic.LoadUint32(&gInNosplit) == 0 && time.Now().Before(deadline) {
	}
	s0 := atomic.LoadUint64(&gSpin)
	for atomic.LoadUint64(&gSpin) == s0 && time.Now().Before(deadline) {
	}
}
