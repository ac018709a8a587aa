//go:build !(cgo && gocore_cgo)

package main

const cgoLinked = false
