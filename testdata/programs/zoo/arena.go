//go:build goexperiment.arenas

// User arenas (GOEXPERIMENT=arenas, package arena). Built only in the matrix's
// exp-arenas mode; other builds get arena_stub.go and are unchanged.
//
// Everything is built in init, before main, so that main's part of the zoo is
// the same as in other builds. The truth goes to a top-level "arenas" section
// (not named_objects/type_counts: the values live inside arena chunks, which the
// runtime tracks only as whole chunks).

package main

import (
	"arena"
	"unsafe"
)

// ArenaItem is allocated in a user arena: it points to the next item (arena →
// arena) and to an ordinary heap object (arena → heap).
type ArenaItem struct {
	Next *ArenaItem
	Val  *ArenaHeapVal
	ID   int64
}

// ArenaHeapVal is an ordinary heap object held only from arena memory.
type ArenaHeapVal struct {
	ID  int64
	Pad [3]int64
}

const (
	nArenaItems = 16 // arena.New[ArenaItem] in the live arena, a list from main.gArenaHead
	nArenaSlice = 8  // arena.MakeSlice[*ArenaHeapVal] in the live arena (main.gArenaSlice)
	nArenaBytes = 1000
	nFreedItems = 4 // in the freed arena's first chunk (quarantined when freed)
	nFreedTail  = 3 // in the freed arena's last chunk (put on the reuse list when freed)
	// Noscan fill of the freed arena's first chunk, so that the next allocation
	// needs a second chunk: each below userArenaChunkMaxAllocBytes (2 MiB), five of
	// them leave less than that free in an 8 MiB chunk.
	arenaFill  = 1536 << 10
	nArenaFill = 5
	// userArenaChunkBytes on 64-bit linux: min(8 MiB, heapArenaBytes).
	arenaChunkBytes = 8 << 20
)

var (
	gArena      *arena.Arena
	gArenaHead  *ArenaItem
	gArenaSlice []*ArenaHeapVal
	gArenaBytes []byte
)

func init() {
	var items, itemVals, sliceVals, freedItems, orphans, tailItems, tailVals []uintptr

	// The live arena: never freed, held by main.gArena.
	gArena = arena.NewArena()
	var prev *ArenaItem
	for i := 0; i < nArenaItems; i++ {
		it := arena.New[ArenaItem](gArena)
		it.ID = int64(i)
		it.Val = &ArenaHeapVal{ID: int64(1000 + i)}
		if prev == nil {
			gArenaHead = it
		} else {
			prev.Next = it
		}
		prev = it
		items = append(items, addr(it))
		itemVals = append(itemVals, addr(it.Val))
	}
	gArenaSlice = arena.MakeSlice[*ArenaHeapVal](gArena, nArenaSlice, nArenaSlice)
	for i := range gArenaSlice {
		gArenaSlice[i] = &ArenaHeapVal{ID: int64(2000 + i)}
		sliceVals = append(sliceVals, addr(gArenaSlice[i]))
	}
	gArenaBytes = arena.MakeSlice[byte](gArena, nArenaBytes, nArenaBytes)
	for i := range gArenaBytes {
		gArenaBytes[i] = byte(i)
	}

	// The freed arena: items in a first chunk, filled up with noscan bytes, then
	// items in a second chunk; Free quarantines the first (full) chunk and puts
	// the second (active) one on the runtime's reuse list, where the GC still
	// scans it.
	a := arena.NewArena()
	for i := 0; i < nFreedItems; i++ {
		it := arena.New[ArenaItem](a)
		it.ID = int64(100 + i)
		it.Val = &ArenaHeapVal{ID: int64(3000 + i)}
		freedItems = append(freedItems, addr(it))
		orphans = append(orphans, addr(it.Val))
	}
	for i := 0; i < nArenaFill; i++ {
		_ = arena.MakeSlice[byte](a, arenaFill, arenaFill)
	}
	_ = arena.MakeSlice[byte](a, arenaFill, arenaFill) // does not fit: second chunk
	for i := 0; i < nFreedTail; i++ {
		it := arena.New[ArenaItem](a)
		it.ID = int64(200 + i)
		it.Val = &ArenaHeapVal{ID: int64(4000 + i)}
		tailItems = append(tailItems, addr(it))
		tailVals = append(tailVals, addr(it.Val))
	}
	a.Free()

	addrs := func(w *jw, k string, v []uintptr) {
		w.key(k)
		w.arr()
		for _, p := range v {
			w.int(int64(p))
		}
		w.endArr()
	}
	T.sections = append(T.sections, func(w *jw) {
		w.key("arenas")
		w.obj()
		w.kstr("note", "user arenas (GOEXPERIMENT=arenas), built in init; the runtime tracks each chunk as one large object")
		w.kint("chunk_bytes", arenaChunkBytes)
		w.key("globals")
		w.obj()
		w.kint("main.gArena", int64(addr(&gArena)))
		w.kint("main.gArenaHead", int64(addr(&gArenaHead)))
		w.kint("main.gArenaSlice", int64(addr(&gArenaSlice)))
		w.kint("main.gArenaBytes", int64(addr(&gArenaBytes)))
		w.endObj()
		w.key("live")
		w.obj()
		w.kstr("note", "arena main.gArena, not freed: items are a list from main.gArenaHead, each Val an ordinary heap object held only by the item")
		w.kstr("item_type", "main.ArenaItem")
		w.kint("item_size", int64(unsafe.Sizeof(ArenaItem{})))
		addrs(w, "items", items)
		w.kstr("val_type", "main.ArenaHeapVal")
		w.kint("val_size", int64(unsafe.Sizeof(ArenaHeapVal{})))
		addrs(w, "item_vals", itemVals)
		w.kint("slice", int64(uintptr(unsafe.Pointer(unsafe.SliceData(gArenaSlice)))))
		w.kint("slice_len", nArenaSlice)
		addrs(w, "slice_vals", sliceVals)
		w.kint("bytes", int64(uintptr(unsafe.Pointer(unsafe.SliceData(gArenaBytes)))))
		w.kint("bytes_len", nArenaBytes)
		w.endObj()
		w.key("freed")
		w.obj()
		w.kstr("note", "a second arena, freed: items in its first chunk (quarantined, noscan; with no pointer into it the sweeper retires it) hold orphans, garbage; tail items in its last chunk (on the runtime's reuse list, still scanned by the GC) hold tail_vals, live")
		addrs(w, "items", freedItems)
		addrs(w, "orphans", orphans)
		addrs(w, "tail_items", tailItems)
		addrs(w, "tail_vals", tailVals)
		w.endObj()
		w.kint("live_vals", nArenaItems+nArenaSlice+nFreedTail)
		w.endObj()
	})
}
