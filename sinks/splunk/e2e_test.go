package splunk

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookbridge/hookbridge/broker"
	"github.com/hookbridge/hookbridge/confval"
	"github.com/hookbridge/hookbridge/internal/sinktest"
	"github.com/hookbridge/hookbridge/sinks"
	"github.com/hookbridge/hookbridge/sinks/splunk/splunktest"
)

// deadLetters reads up to want records of topic, waiting a bounded time.
func deadLetters(t *testing.T, kc broker.Config, topic string, want int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(kc.Brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []*kgo.Record
	deadline := time.Now().Add(10 * time.Second)
	for len(out) < want && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		out = append(out, cl.PollFetches(ctx).Records()...)
		cancel()
	}
	return out
}

// TestSinkEndToEnd runs the sinks runtime from Kafka to the fake collector,
// which is busy for a few requests and rejects one event as bad: every
// other event is indexed once, the bad one is dead-lettered, and all
// offsets are committed.
func TestSinkEndToEnd(t *testing.T) {
	t.Run("plain", func(t *testing.T) { testSinkEndToEnd(t, false) })
	t.Run("indexer ack", func(t *testing.T) { testSinkEndToEnd(t, true) })
}

func testSinkEndToEnd(t *testing.T, ack bool) {
	const n, busy = 100, 3
	kc, events := sinktest.Cluster(t, n)
	uuids := make([]string, len(events))
	for i, ev := range events {
		uuids[i] = sinktest.UUID(ev)
	}
	hs := splunktest.NewServer(t, testToken)
	badUUID := uuids[37]
	hs.Do(func(s *splunktest.Server) {
		s.Busy, s.Bad[badUUID] = busy, true
		s.Ack, s.AckAfterPolls = ack, 1
	})
	dest, err := New("splunk", Config{
		URL: hs.URL, Token: confval.Secret{Value: testToken}, Index: "okta",
		Ack: ack, AckPoll: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := sinks.Config{
		Name: "splunk", Type: Type, Topics: []string{"events"},
		Batch: sinks.BatchConfig{MaxEvents: 20, MaxAge: 50 * time.Millisecond},
		Retry: sinks.RetryConfig{Initial: 10 * time.Millisecond, Max: 200 * time.Millisecond},
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sk, err := sinks.New(ctx, cfg, sinks.Options{Kafka: kc, Destination: dest, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sk.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		_, byUUID := stored(hs)
		if len(byUUID) == n-1 && sinktest.Committed(t, kc, "hookbridge-sink-splunk") == n {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	_, byUUID := stored(hs)
	dups := 0
	for _, id := range uuids {
		switch got := byUUID[id]; {
		case id == badUUID && got != 0:
			t.Errorf("bad event %s indexed %d times", id, got)
		case id != badUUID && got == 0:
			t.Errorf("event %s never arrived", id)
		case got > 1:
			dups += got - 1
		}
	}
	// The fake keeps nothing of a rejected request and the connection is
	// never cut, so there is nothing to duplicate.
	if dups != 0 {
		t.Errorf("%d duplicates", dups)
	}
	busyAnswers := 0
	for _, r := range hs.Requests() {
		if r.Status == http.StatusServiceUnavailable {
			busyAnswers++
		}
	}
	if busyAnswers != busy {
		t.Errorf("%d busy answers, want %d", busyAnswers, busy)
	}
	if ack && hs.AckPolls() == 0 {
		t.Error("ack on, but the sink never polled /services/collector/ack")
	}

	dead := deadLetters(t, kc, cfg.Name+".deadletter", 1)
	if len(dead) != 1 || string(dead[0].Key) != badUUID {
		t.Fatalf("dead letters %d, want the bad event %s", len(dead), badUUID)
	}
	for _, h := range dead[0].Headers {
		if h.Key == sinks.HeaderSinkError && !strings.Contains(string(h.Value), "code 6") {
			t.Errorf("dead letter reason %q", h.Value)
		}
	}
	if got := sinktest.Committed(t, kc, "hookbridge-sink-splunk"); got != n {
		t.Errorf("committed %d, want %d", got, n)
	}
}
