//go:build !goexperiment.arenas

package main

// User arenas exist only with GOEXPERIMENT=arenas (arena.go); nothing here.
