//go:build !unix

package sinks

func allocPart(size int) []byte { return make([]byte, size) }

func idlePart([]byte) {}

func freePart([]byte) {}
