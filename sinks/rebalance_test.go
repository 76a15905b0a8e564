package sinks

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/hookbridge/hookbridge/internal/sinktest"
)

// slowRecorder delivers slowly, so that batches are in flight when the group
// rebalances.
type slowRecorder struct{ *recorder }

func (d slowRecorder) Deliver(ctx context.Context, b []Event) []error {
	time.Sleep(100 * time.Millisecond)
	return d.recorder.Deliver(ctx, b)
}

// TestRebalanceDropsNothing runs one sink as two members of its group: the
// second joins mid-stream and the first leaves mid-stream, each time a
// rebalance with batches in flight. Every event is delivered by one of them
// and the group commits to the end.
func TestRebalanceDropsNothing(t *testing.T) {
	kc, events := sinktest.Cluster(t, 400)
	cfg := sinkConfig("shared")
	cfg.Batch.MaxEvents, cfg.Concurrency = 10, 1
	a, b := newRecorder(), newRecorder()
	start := func(dest Destination) (context.CancelFunc, chan error) {
		ctx, cancel := context.WithCancel(context.Background())
		s, err := New(ctx, cfg, Options{Kafka: kc, Destination: dest, Registerer: prometheus.NewRegistry(),
			Log: zerolog.Nop()})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		return cancel, done
	}
	delivered := func() int {
		seen := map[string]bool{}
		for _, r := range []*recorder{a, b} {
			r.mu.Lock()
			for u := range r.got {
				seen[u] = true
			}
			r.mu.Unlock()
		}
		return len(seen)
	}
	wait := func(cond func() bool) {
		deadline := time.Now().Add(40 * time.Second)
		for !cond() && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}

	stopA, doneA := start(slowRecorder{a})
	wait(func() bool { return a.count() > 50 })
	stopB, doneB := start(slowRecorder{b})
	wait(func() bool { return b.count() > 0 })
	stopA()
	if err := <-doneA; err != nil {
		t.Fatal(err)
	}
	wait(func() bool { return delivered() == len(events) })
	wait(func() bool { return sinktest.Committed(t, kc, "hookbridge-sink-shared") == int64(len(events)) })
	stopB()
	if err := <-doneB; err != nil {
		t.Fatal(err)
	}
	if delivered() != len(events) {
		t.Fatalf("delivered %d of %d across the rebalances", delivered(), len(events))
	}
	if n := sinktest.Committed(t, kc, "hookbridge-sink-shared"); n != int64(len(events)) {
		t.Errorf("committed %d, want %d", n, len(events))
	}
	dupes := a.count() + b.count() - len(events)
	t.Logf("member a %d, member b %d, duplicates %d", a.count(), b.count(), dupes)
	if b.count() == 0 || a.count() == 0 {
		t.Error("one member delivered nothing: no rebalance was exercised")
	}
}
