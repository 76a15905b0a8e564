package ingest_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hookbridge/hookbridge/broker"
	"github.com/hookbridge/hookbridge/ingest"
	"github.com/hookbridge/hookbridge/internal/testcorpus"
)

// slowProduce makes the embedded broker sit on produce requests while on is
// set, as a leaderless or overloaded Kafka would.
func slowProduce(h *harness, on *atomic.Bool) {
	h.cluster.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		h.cluster.KeepControl()
		for on.Load() {
			time.Sleep(20 * time.Millisecond)
		}
		return nil, nil, false
	})
}

// TestSpoolKeepsDeliveriesWhileKafkaStalls stalls Kafka: deliveries are
// answered 200 from the spool, later ones queue behind them, and when Kafka
// recovers every event arrives, in order.
func TestSpoolKeepsDeliveriesWhileKafkaStalls(t *testing.T) {
	h := newHarness(t, func(c *ingest.Config, _ *broker.Config) {
		c.Spool.Enabled = true
		c.Server.ResponseBudget = 600 * time.Millisecond
		c.Routing.Rules = nil
	})
	needFake(t, h)
	var stalled atomic.Bool
	stalled.Store(true)
	slowProduce(h, &stalled)

	const n = 6
	for i := range n {
		body := testcorpus.Envelope(fmt.Sprint("sp-", i), event(fmt.Sprint("sp", i, "a"), "x"),
			event(fmt.Sprint("sp", i, "b"), "x"))
		start := time.Now()
		resp := h.post(body)
		if resp.status != 200 {
			t.Fatalf("delivery %d during the stall: %d %s", i, resp.status, resp.body)
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("delivery %d answered after %s", i, took)
		}
	}
	if got := h.metric("hookbridge_spool_records"); got == 0 {
		t.Fatal("nothing waits in the spool during the stall")
	}
	if detail, err := h.svc.Ready(); err != nil || !strings.Contains(detail, "spooled records") {
		t.Errorf("readiness during the stall: %q %v, want ready and spooling", detail, err)
	}

	stalled.Store(false)
	rs := h.atLeast(h.events, 2*n)
	seen := map[string]int{}
	var order []string
	for _, r := range rs {
		k := string(r.Key)
		if seen[k] == 0 {
			order = append(order, k)
		}
		seen[k]++
	}
	for i := range n {
		for _, s := range []string{"a", "b"} {
			if seen[fmt.Sprint("sp", i, s)] == 0 {
				t.Errorf("sp%d%s lost", i, s)
			}
		}
	}
	for i := 1; i < len(order); i++ {
		if order[i] < order[i-1] {
			t.Errorf("events out of order per source: %v", order)
			break
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for h.metric("hookbridge_spool_records") != 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := h.metric("hookbridge_spool_records"); got != 0 {
		t.Errorf("spool still holds %v records after recovery", got)
	}
	t.Logf("acknowledged=%d found=%d lost=0 duplicates=%d", 2*n, len(seen), len(rs)-len(seen))
}

// TestSpoolFullAnswers503 stalls Kafka with a spool too small for the
// deliveries: once it is full, deliveries get 503, never a 4xx.
func TestSpoolFullAnswers503(t *testing.T) {
	h := newHarness(t, func(c *ingest.Config, _ *broker.Config) {
		c.Spool.Enabled = true
		c.Spool.MaxBytes = 1 << 20
		c.Server.ResponseBudget = 400 * time.Millisecond
	})
	needFake(t, h)
	var stalled atomic.Bool
	stalled.Store(true)
	slowProduce(h, &stalled)
	defer stalled.Store(false)

	pad := strings.Repeat("p", 200<<10)
	statuses := map[int]int{}
	for i := range 8 {
		ev := fmt.Sprintf(`{"uuid":"full%d","published":"2026-01-02T03:04:05.678Z","displayMessage":%q}`, i, pad)
		statuses[h.post(testcorpus.Envelope("full", []byte(ev))).status]++
	}
	if statuses[200] == 0 || statuses[503] == 0 || len(statuses) != 2 {
		t.Fatalf("statuses %v: want 200 until the spool is full, then 503", statuses)
	}
}
