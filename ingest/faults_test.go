package ingest_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hookbridge/hookbridge/broker"
	"github.com/hookbridge/hookbridge/ingest"
	"github.com/hookbridge/hookbridge/internal/testcorpus"
)

func needFake(t *testing.T, h *harness) {
	t.Helper()
	if h.cluster == nil {
		t.Skip("injects faults into the embedded broker; HOOKBRIDGE_TEST_BROKERS is set")
	}
}

// TestKafkaUnreachable stops the broker: deliveries get 503, never a 4xx,
// within the response budget, and /readyz-style readiness turns false.
func TestKafkaUnreachable(t *testing.T) {
	budget := 500 * time.Millisecond
	h := newHarness(t, func(c *ingest.Config, _ *broker.Config) { c.Server.ResponseBudget = budget })
	needFake(t, h)
	if _, err := h.svc.Ready(); err != nil {
		t.Fatalf("not ready at start: %v", err)
	}
	h.cluster.Close()

	for i := range 3 {
		start := time.Now()
		resp := h.post(testcorpus.Envelope("down", event("k"+string(rune('0'+i)), "x")))
		took := time.Since(start)
		if resp.status != 503 {
			t.Fatalf("status %d (%s), want 503", resp.status, resp.body)
		}
		// Generous slack over the budget for a loaded machine; the point is
		// that the answer comes near the budget, not after Okta's 3 s.
		if took > budget+2*time.Second {
			t.Errorf("answered after %s, budget %s", took, budget)
		}
	}
	if got := h.metric("hookbridge_requests_total", "source", "okta", "status", "503"); got != 3 {
		t.Errorf("503 count = %v", got)
	}
}

// TestShutdownAnswersInFlight slows Kafka down, starts a delivery, then shuts
// the service down while it is in flight: the delivery still gets 200 and
// its event is in Kafka; new connections are refused.
func TestShutdownAnswersInFlight(t *testing.T) {
	h := newHarness(t, nil)
	needFake(t, h)
	var once sync.Once
	producing := make(chan struct{})
	h.cluster.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		h.cluster.KeepControl()
		once.Do(func() { close(producing) })
		time.Sleep(400 * time.Millisecond)
		return nil, nil, false
	})

	got := make(chan response, 1)
	go func() { got <- h.post(testcorpus.Envelope("inflight", event("f1", "x"))) }()
	<-producing

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.svc.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if resp := <-got; resp.status != 200 {
		t.Fatalf("in-flight delivery got %d: %s", resp.status, resp.body)
	}
	if c, err := net.DialTimeout("tcp", h.svc.Addr(), time.Second); err == nil {
		c.Close()
		t.Error("still accepting connections after shutdown")
	}
	r := h.records(h.events, 1)[0]
	if string(r.Key) != "f1" {
		t.Errorf("stored %s", r.Key)
	}
}

// TestNotReadyWithoutTopics points readiness at a topic that is deleted.
func TestReadiness(t *testing.T) {
	h := newHarness(t, nil)
	if _, err := h.svc.Ready(); err != nil {
		t.Fatalf("not ready: %v", err)
	}
	if os.Getenv("HOOKBRIDGE_TEST_BROKERS") != "" {
		return
	}
	h.cluster.Close()
	deadline := time.Now().Add(15 * time.Second)
	ready := func() bool { _, err := h.svc.Ready(); return err == nil }
	for ready() && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if ready() {
		t.Fatal("still ready with the broker gone")
	}
}

// holdProduces keeps every produce request at the broker until release is
// called (at the latest when the test ends).
func holdProduces(t *testing.T, h *harness) (release func()) {
	held := make(chan struct{})
	h.cluster.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		h.cluster.KeepControl()
		<-held
		return nil, nil, false
	})
	var once sync.Once
	release = func() { once.Do(func() { close(held) }) }
	t.Cleanup(release)
	return release
}

// TestInFlightLimit sends more concurrent deliveries than max_in_flight
// while Kafka holds the produce requests: the one admitted waits for Kafka,
// the others find no slot within the admission wait and get 503 before it
// is answered, never a 4xx; released, the admitted one is stored.
func TestInFlightLimit(t *testing.T) {
	h := newHarness(t, func(c *ingest.Config, _ *broker.Config) {
		c.Server.MaxInFlight = 1
		c.Server.ResponseBudget = 2 * time.Second
		c.Server.AdmissionWait = 50 * time.Millisecond
	})
	needFake(t, h)
	release := holdProduces(t, h)
	const n = 4
	got := make(chan response, n)
	for i := range n {
		go func() { got <- h.post(testcorpus.Envelope("slow", event(fmt.Sprint("i", i), "x"))) }()
	}
	for range n - 1 {
		if r := <-got; r.status != 503 {
			t.Fatalf("a delivery without a slot: status %d %s", r.status, r.body)
		}
	}
	release()
	if r := <-got; r.status != 200 {
		t.Fatalf("the admitted delivery: status %d %s", r.status, r.body)
	}
	if recs := h.records(h.events, 1); len(recs) != 1 {
		t.Fatalf("%d records stored, want the admitted delivery's one", len(recs))
	}
}

// TestSustainedOverloadShedsEarly holds the only in-flight slot: refused
// deliveries first wait the admission wait, then, the queue standing, are
// answered 503 early (counted as overload); after the slot is free again
// deliveries are admitted.
func TestSustainedOverloadShedsEarly(t *testing.T) {
	h := newHarness(t, func(c *ingest.Config, _ *broker.Config) {
		c.Server.MaxInFlight = 1
		c.Server.ResponseBudget = 2 * time.Second
		c.Server.AdmissionWait = 100 * time.Millisecond
	})
	needFake(t, h)
	release := holdProduces(t, h)
	first := make(chan response, 1)
	go func() { first <- h.post(testcorpus.Envelope("held", event("held-1", "x"))) }()
	for deadline := time.Now().Add(10 * time.Second); h.metric("hookbridge_in_flight_deliveries") < 1; {
		if time.Now().After(deadline) {
			t.Fatal("the first delivery never took its slot")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i := 0; h.metric("hookbridge_shed_total", "how", "overload") == 0; i++ {
		if i == 8 {
			t.Fatalf("%v deliveries shed after waiting, none early", h.metric("hookbridge_shed_total", "how", "waited"))
		}
		r := h.post(testcorpus.Envelope("shed", event(fmt.Sprint("shed-", i), "x")))
		if r.status != 503 {
			t.Fatalf("delivery %d without a slot: status %d %s", i, r.status, r.body)
		}
	}
	if h.metric("hookbridge_shed_total", "how", "waited") == 0 {
		t.Error("the first refusals did not wait: a burst would get no chance")
	}
	release()
	if r := <-first; r.status != 200 {
		t.Fatalf("the admitted delivery: status %d %s", r.status, r.body)
	}
	if r := h.post(testcorpus.Envelope("after", event("after-1", "x"))); r.status != 200 {
		t.Fatalf("with the slot free again: status %d %s", r.status, r.body)
	}
}
