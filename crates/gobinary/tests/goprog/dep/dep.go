// Package dep is a local module so that build info has a replaced dependency.
package dep

// Value returns a constant.
func Value() int { return 42 }

// Pair is a type from another module.
type Pair struct {
	Key   string
	Value *int
}
