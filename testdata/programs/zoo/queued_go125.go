//go:build go1.25

package main

// From go1.25 cleanups have their own queue, runtime.gcCleanups, run by
// runtime.runCleanups goroutines.
const cleanupQueueName = "cleanup-queue"
