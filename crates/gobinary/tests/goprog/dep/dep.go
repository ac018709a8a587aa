// Package dep is a local module so that build info has a replaced dependency.
package dep

var calls = 41

// Value counts its calls. It is small enough to be inlined everywhere, so the
// binary has no out-of-line copy: the vulncheck test finds it only in an inline tree.
func Value() int {
	calls++
	return calls
}

// Pair is a type from another module.
type Pair struct {
	Key   string
	Value *int
}
