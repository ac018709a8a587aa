//go:build !go1.24 || (!go1.26 && !goexperiment.swissmap)

package main

import "unsafe"

// Classic maps (Go <= 1.23, and 1.24-1.25 built with GOEXPERIMENT=noswissmap): runtime.hmap. We insert until a growth has just started
// (oldbuckets != nil) and then never write again, so the growth stays incomplete.
type hmapHeader struct {
	count      int
	flags      uint8
	B          uint8
	noverflow  uint16
	hash0      uint32
	buckets    unsafe.Pointer
	oldbuckets unsafe.Pointer
	nevacuate  uintptr
	extra      unsafe.Pointer
}

func growHeader(m map[int]*GrowVal) *hmapHeader { return *(**hmapHeader)(unsafe.Pointer(&m)) }

func buildGrowMap() {
	gGrowMap = make(map[int]*GrowVal)
	growing := false
	for i := 0; ; i++ {
		v := &GrowVal{ID: int64(i)}
		v.Self = v
		gGrowMap[i] = v
		h := growHeader(gGrowMap)
		// Stop on the insert that starts a growth (first one after 64 entries):
		// that insert evacuated at most two old buckets.
		if i >= 64 && h.oldbuckets != nil && !growing {
			break
		}
		growing = h.oldbuckets != nil
		if i > 100000 {
			panic("map never started growing")
		}
	}
	h := growHeader(gGrowMap)
	T.maps = append(T.maps, mapInfo{name: "growmap", addr: mapAddr(gGrowMap), length: len(gGrowMap),
		keyType: "int", elemType: "*main.GrowVal", midGrowth: h.oldbuckets != nil,
		note: "classic hmap: insertion stopped on the insert that started a growth (oldbuckets != nil, only nevacuate of 2^(B-1) old buckets evacuated, plus possibly the inserted key's old bucket); keys 0..len-1, value ID == key",
		extra: func(w *jw) {
			w.kint("B", int64(h.B))
			w.kint("nevacuate", int64(h.nevacuate))
			w.kint("noverflow", int64(h.noverflow))
			w.kint("buckets", int64(uintptr(h.buckets)))
			w.kint("oldbuckets", int64(uintptr(h.oldbuckets)))
		}})
	T.count("main.GrowVal", len(gGrowMap), unsafe.Sizeof(GrowVal{}), "values of main.gGrowMap")
}
