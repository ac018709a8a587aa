//go:build !go1.24

package main

// runtime.AddCleanup exists from go1.24: no queued cleanups before.

const cleanupQueueName = ""

func blockCleanups() (uintptr, int64) { return 0, 0 }

func newQueuedCleanups() []uintptr { return nil }

func queuedCleanupsRan() int32 { return 0 }

func queuedCleanArgSize() uintptr { return 0 }
