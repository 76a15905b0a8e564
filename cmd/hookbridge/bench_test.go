package main

import (
	"testing"
	"time"

	"github.com/hookbridge/hookbridge/bench"
)

// TestBenchSeedDiffersPerRun: without --seed two runs generate different
// events, so a second run is not taken for a redelivery of the first.
func TestBenchSeedDiffersPerRun(t *testing.T) {
	now := time.Now()
	a, b := benchSeed(false, 0, now), benchSeed(false, 0, now.Add(time.Millisecond))
	if a == b {
		t.Fatal("two runs got the same seed")
	}
	_, first := bench.NewGenerator(a).Delivery(1)
	_, second := bench.NewGenerator(b).Delivery(1)
	if first[0] == second[0] {
		t.Fatal("two runs generated the same uuid")
	}
	if benchSeed(true, 7, now) != 7 {
		t.Fatal("--seed was not used")
	}
}
