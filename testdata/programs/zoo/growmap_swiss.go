//go:build go1.24 && (go1.26 || goexperiment.swissmap)

package main

import "unsafe"

// Go 1.24+ Swiss-table maps grow a table in one step (no oldbuckets, no
// incremental evacuation), so a map cannot be caught mid-growth. We build the
// same 105-entry map as the classic version for comparison.
func buildGrowMap() {
	gGrowMap = make(map[int]*GrowVal)
	for i := 0; i < 105; i++ {
		v := &GrowVal{ID: int64(i)}
		v.Self = v
		gGrowMap[i] = v
	}
	T.maps = append(T.maps, mapInfo{name: "growmap", addr: mapAddr(gGrowMap), length: len(gGrowMap),
		keyType: "int", elemType: "*main.GrowVal", midGrowth: false,
		note: "Swiss-table map (go1.24+ default): tables grow all at once, there is no incremental growth to catch; keys 0..104, value ID == key"})
	T.count("main.GrowVal", len(gGrowMap), unsafe.Sizeof(GrowVal{}), "values of main.gGrowMap")
}
