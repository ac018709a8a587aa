// Command leak is a gocore fixture and the README's demo: a small request
// "server" with two real leaks — a session cache that never evicts, and a
// goroutine per leakEvery requests blocked forever on a reply channel while
// holding its *Request. LEAK_ROUNDS (default 2000) sets how many requests
// are handled, so cores taken at different rounds show growth.
// See testdata/README.md, "Fixture programs and truth files".
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
	"unsafe"
)

const (
	defaultRounds = 2000
	leakEvery     = 50   // every 50th request leaks a goroutine
	payloadSize   = 1024 // per session
	bodySize      = 256  // per request
	nWorkers      = 4
	statsRingSize = 64
)

// Session is cached forever in Server.sessions: the first leak.
type Session struct {
	ID      string
	User    string
	Token   string
	Payload []byte // payloadSize bytes
	Created int64
	Hits    int
}

// Request is garbage once handled — unless a leaked awaitReply goroutine holds it.
type Request struct {
	ID         int
	Path       string
	SessionKey string
	Body       []byte // bodySize bytes
	Session    *Session
	Reply      chan *Response
}

type Response struct {
	Status int
	Body   []byte
	Req    *Request
}

// Well-behaved structures.

type Config struct {
	Name        string
	MaxSessions int // documented but never enforced: the bug
	Workers     int
}

type Counter struct {
	Name string
	N    int64
	Prev *Counter
}

type StatsRing struct {
	Entries [statsRingSize]StatEntry
	Next    int
}

type StatEntry struct {
	Path    *string
	Latency int64
}

type Server struct {
	cfg      *Config
	mu       sync.Mutex
	sessions map[string]*Session
	counters map[string]*Counter
	stats    *StatsRing
	jobs     chan int
	done     chan int
	leaked   int
}

var (
	gServer *Server
	T       = &truth{program: "leak"}
	gPaths  = []string{"/", "/login", "/cart", "/checkout", "/api/items", "/api/user"}
)

func newServer() *Server {
	s := &Server{
		cfg:      &Config{Name: "gocore-leak-demo", MaxSessions: 100, Workers: nWorkers},
		sessions: make(map[string]*Session),
		counters: make(map[string]*Counter),
		stats:    &StatsRing{},
		jobs:     make(chan int),
		done:     make(chan int),
	}
	var prev *Counter
	for _, p := range gPaths {
		c := &Counter{Name: "hits " + p, Prev: prev}
		s.counters[p] = c
		prev = c
	}
	return s
}

// sessionKey: requests i and i+1 share a session when i%4 == 2 (a returning
// user), so the number of sessions is rounds - rounds/4.
func sessionKey(i int) string {
	if i%4 == 3 {
		i--
	}
	return fmt.Sprintf("sess-%06d", i)
}

func newRequest(i int) *Request {
	body := make([]byte, bodySize)
	for j := range body {
		body[j] = byte(i + j)
	}
	return &Request{
		ID:         i,
		Path:       gPaths[i%len(gPaths)],
		SessionKey: sessionKey(i),
		Body:       body,
		Reply:      make(chan *Response),
	}
}

var (
	gWorkersUp sync.WaitGroup
	gWorkerMu  sync.Mutex
	gWorkerIDs []int64
)

func worker(s *Server) {
	gWorkerMu.Lock()
	gWorkerIDs = append(gWorkerIDs, curGoid())
	gWorkerMu.Unlock()
	gWorkersUp.Done()
	for i := range s.jobs {
		req := newRequest(i)
		resp := s.handle(req)
		s.done <- resp.Status
	}
}

func (s *Server) handle(req *Request) *Response {
	start := time.Now()
	s.mu.Lock()
	sess := s.sessions[req.SessionKey]
	if sess == nil {
		payload := make([]byte, payloadSize)
		for j := range payload {
			payload[j] = byte(req.ID)
		}
		sess = &Session{
			ID:      req.SessionKey,
			User:    "user-" + strconv.Itoa(req.ID%97),
			Token:   fmt.Sprintf("tok-%016x", uint64(req.ID)*0x9e3779b97f4a7c15),
			Payload: payload,
			Created: start.UnixNano(),
		}
		s.sessions[req.SessionKey] = sess // never evicted: leak #1
	}
	sess.Hits++
	req.Session = sess
	s.counters[req.Path].N++
	e := &s.stats.Entries[s.stats.Next%statsRingSize]
	e.Path = &gPaths[req.ID%len(gPaths)]
	e.Latency = int64(time.Since(start))
	s.stats.Next++
	leak := req.ID%leakEvery == leakEvery-1
	if leak {
		s.leaked++
	}
	s.mu.Unlock()

	if leak {
		// "Wait for the backend's asynchronous reply" — which never comes: leak #2.
		go awaitReply(req)
		<-gRegistered
	}
	return &Response{Status: 200, Body: req.Body[:16], Req: req}
}

var (
	gRegistered = make(chan struct{})
	gLeakMu     sync.Mutex
	gLeakIDs    []int64
	gLeakReqs   []uintptr // addresses, for the truth only (not references)
)

func awaitReply(req *Request) {
	gLeakMu.Lock()
	gLeakIDs = append(gLeakIDs, curGoid())
	gLeakReqs = append(gLeakReqs, uintptr(unsafe.Pointer(req)))
	gLeakMu.Unlock()
	gRegistered <- struct{}{}
	<-req.Reply
	req.Session.Hits--
}

func rounds() int {
	if v := os.Getenv("LEAK_ROUNDS"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			return n
		}
	}
	return defaultRounds
}

func janitor() {
	T.register(goroutineInfo{id: curGoid(), role: "janitor", start: "main.janitor", blocksOn: "sleep",
		extra: func(w *jw) { w.kstr("note", "well-behaved: would evict sessions, but never gets around to it") }})
	gRegistered <- struct{}{}
	for {
		time.Sleep(time.Hour)
	}
}

func main() {
	n := rounds()
	s := newServer()
	gServer = s

	gWorkersUp.Add(nWorkers)
	for w := 0; w < nWorkers; w++ {
		go worker(s)
	}
	gWorkersUp.Wait()
	go janitor()
	<-gRegistered

	for i := 0; i < n; i++ {
		s.jobs <- i
		<-s.done
	}

	sessions := len(s.sessions)
	leaked := s.leaked
	if leaked != len(gLeakIDs) || sessions != n-n/4 || leaked != n/leakEvery {
		panic("leak fixture: bookkeeping mismatch")
	}

	T.register(goroutineInfo{role: "worker", start: "main.worker", blocksOn: "chan receive", summary: true, ids: gWorkerIDs,
		extra: func(w *jw) { w.kstr("note", "well-behaved worker pool, idle in range over Server.jobs") }})
	T.register(goroutineInfo{role: "leaked", start: "main.awaitReply", blocksOn: "chan receive", summary: true, ids: gLeakIDs,
		extra: func(w *jw) {
			w.kstr("note", "leaked: one per 50 requests, each blocked forever on its Request.Reply and holding that *main.Request")
			w.key("requests")
			w.arr()
			for _, a := range gLeakReqs {
				w.int(int64(a))
			}
			w.endArr()
		}})
	T.register(goroutineInfo{id: curGoid(), role: "main", start: "runtime.main", blocksOn: mainBlocksOn()})

	T.count("main.Session", sessions, unsafe.Sizeof(Session{}), "values of Server.sessions (never evicted)")
	T.count("main.Request", leaked, unsafe.Sizeof(Request{}), "only the requests held by leaked main.awaitReply goroutines survive")
	T.count("main.Server", 1, unsafe.Sizeof(Server{}), "main.gServer")
	T.count("main.Config", 1, unsafe.Sizeof(Config{}), "Server.cfg")
	T.count("main.StatsRing", 1, unsafe.Sizeof(StatsRing{}), "Server.stats (fixed size ring)")
	T.count("main.Counter", len(gPaths), unsafe.Sizeof(Counter{}), "values of Server.counters")

	T.object("server", "main.Server", uintptr(unsafe.Pointer(s)), unsafe.Sizeof(*s), "")
	T.object("config", "main.Config", uintptr(unsafe.Pointer(s.cfg)), unsafe.Sizeof(*s.cfg), "")
	T.object("stats_ring", "main.StatsRing", uintptr(unsafe.Pointer(s.stats)), unsafe.Sizeof(*s.stats), "")
	if first := s.sessions[sessionKey(0)]; first != nil {
		T.object("session_0", "main.Session", uintptr(unsafe.Pointer(first)), unsafe.Sizeof(*first), "session of request 0 (key sess-000000)")
		T.object("session_0_payload", "[1024]uint8", uintptr(unsafe.Pointer(&first.Payload[0])), payloadSize, "its payload buffer")
	}
	if len(gLeakReqs) > 0 {
		T.object("leaked_request_0", "main.Request", gLeakReqs[0], unsafe.Sizeof(Request{}), "request held by the first leaked goroutine (ID 49)")
	}
	T.maps = append(T.maps, mapInfo{name: "sessions", addr: *(*uintptr)(unsafe.Pointer(&s.sessions)), length: sessions,
		keyType: "string", elemType: "*main.Session", note: "the leaking session cache (Server.sessions)"})
	T.maps = append(T.maps, mapInfo{name: "counters", addr: *(*uintptr)(unsafe.Pointer(&s.counters)), length: len(s.counters),
		keyType: "string", elemType: "*main.Counter", note: "Server.counters, one per path"})
	T.global("main.gServer", uintptr(unsafe.Pointer(&gServer)))
	T.global("main.gPaths", uintptr(unsafe.Pointer(&gPaths)))
	T.extra = func(w *jw) {
		w.key("leak")
		w.obj()
		w.kint("rounds", int64(n))
		w.kint("leak_every", leakEvery)
		w.kint("sessions", int64(sessions))
		w.kint("payload_buffers", int64(sessions))
		w.kint("payload_size", payloadSize)
		w.kint("requests_live", int64(leaked))
		w.kint("request_bodies", int64(leaked))
		w.kint("request_body_size", bodySize)
		w.kint("leaked_goroutines", int64(leaked))
		w.kint("workers", nWorkers)
		w.endObj()
	}

	gInPlaceError = T.waitInPlace(3 * time.Second)
	for _, e := range gInPlaceError {
		println("gocore fixture: not in place:", e)
	}
	T.finish(nil)
}
