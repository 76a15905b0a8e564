//go:build race

package ingest

// raceEnabled says the race detector is on; its instrumentation makes the
// compiler move closures to the heap, so allocation counts mean nothing.
const raceEnabled = true
