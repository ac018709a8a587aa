package main

import (
	"fmt"
	"reflect"
	"strings"
	"unsafe"

	"example.com/dep"
)

// Types whose runtime descriptors the gobinary tests compare with reflect.

type Small struct {
	A int8
	B *int
	C string
	d []byte
}

type Node struct {
	Next *Node
	Val  any
	Err  error
}

type Embedded struct {
	Small
	*Node
	X map[string]int
}

// Big has a pointer mask too large to store inline: a GC program up to Go 1.23,
// built on demand from Go 1.24.
type Big struct {
	Arr [20000]*int
	N   int
	P   *Node
}

// BigArr is an array whose mask is built from its element type (Go 1.24+).
type BigArr [3000]Small

type Generic[T any] struct {
	V T
	P *T
}

type Iface interface{ M() int }

type Impl struct{ x int }

func (i *Impl) M() int { return i.x }

type Fn func(int, ...string) (error, bool)

type Ch chan *Small

type E int

var sink Iface = &Impl{x: 1}

func typeAddr(t reflect.Type) uintptr {
	return uintptr((*[2]unsafe.Pointer)(unsafe.Pointer(&t))[1])
}

// ptrMask sets the bits of the pointer words of t at word offset base.
func ptrMask(t reflect.Type, base uintptr, bits map[uintptr]bool) {
	w := unsafe.Sizeof(uintptr(0))
	switch t.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Chan, reflect.Func, reflect.UnsafePointer, reflect.String, reflect.Slice:
		bits[base] = true
	case reflect.Interface:
		// The type or itab word points outside the heap; only the data word counts.
		bits[base+1] = true
	case reflect.Array:
		for i := 0; i < t.Len(); i++ {
			ptrMask(t.Elem(), base+uintptr(i)*t.Elem().Size()/w, bits)
		}
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			ptrMask(f.Type, base+f.Offset/w, bits)
		}
	}
}

func maskHex(t reflect.Type) string {
	bits := map[uintptr]bool{}
	ptrMask(t, 0, bits)
	var n uintptr
	for b := range bits {
		if b+1 > n {
			n = b + 1
		}
	}
	out := make([]byte, (n+7)/8)
	for b := range bits {
		out[b/8] |= 1 << (b % 8)
	}
	return fmt.Sprintf("%x", out)
}

func dumpTypes() {
	types := []reflect.Type{
		reflect.TypeOf(Small{}),
		reflect.TypeOf(Embedded{}),
		reflect.TypeOf(&Node{}),
		reflect.TypeOf(new(Big)).Elem(),
		reflect.TypeOf(new(BigArr)).Elem(),
		reflect.TypeOf(Generic[int]{}),
		reflect.TypeOf(Generic[*Node]{}),
		reflect.TypeOf((*Iface)(nil)).Elem(),
		reflect.TypeOf(sink),
		reflect.TypeOf(Fn(nil)),
		reflect.TypeOf(Ch(nil)),
		reflect.TypeOf(E(0)),
		reflect.TypeOf(dep.Pair{}),
		reflect.TypeOf(map[E]*Small{}),
		reflect.TypeOf([5]string{}),
		reflect.TypeOf([]Embedded{}),
	}
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		if seen[t] {
			return
		}
		seen[t] = true
		name := t.String()
		if t.Name() != "" && t.PkgPath() != "" {
			name = t.PkgPath() + "." + strings.SplitN(t.String(), ".", 2)[1]
		}
		fmt.Printf("type %#x %d %d %s %s\t%s\n", typeAddr(t), t.Kind(), t.Size(), maskHex(t), t.String(), name)
		switch t.Kind() {
		case reflect.Struct:
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				fmt.Printf("field %s %d %t %#x\n", f.Name, f.Offset, f.Anonymous, typeAddr(f.Type))
			}
			for i := 0; i < t.NumField(); i++ {
				walk(t.Field(i).Type)
			}
		case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Chan:
			walk(t.Elem())
		case reflect.Map:
			walk(t.Key())
			walk(t.Elem())
		}
	}
	for _, t := range types {
		walk(t)
	}
	fmt.Println(sink.M())
}
