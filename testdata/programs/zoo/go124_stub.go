//go:build !go1.24

package main

// runtime.AddCleanup and package weak exist from go1.24.
func buildGo124() {}

func globalsGo124() {}

// Before go1.24 a goroutine in sync.WaitGroup.Wait shows as "semacquire".
const waitGroupReason = "semacquire"
