//go:build go1.24 && !go1.25

package main

// On go1.24 the sweeper queues a cleanup on the finalizer queue (a nil arg), and
// the finalizer goroutine runs it (runtime.queuefinalizer, runfinq).
const cleanupQueueName = "finq"
