package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/valyala/fastjson"

	"github.com/hookbridge/hookbridge/bench"
	"github.com/hookbridge/hookbridge/schema"
)

// TestSinkProcessKilledMidBatch runs "hookbridge sink" with a file sink,
// kills it with SIGKILL while it works through a topic, starts it again, and
// checks that every event reached the file at least once.
func TestSinkProcessKilledMidBatch(t *testing.T) {
	k := &brokerProc{t: t, listen: fmt.Sprintf("127.0.0.1:%d", freePort(t)), dir: t.TempDir()}
	k.start()
	t.Cleanup(k.stop)

	const n = 3000
	uuids := produceEvents(t, k.addr(), "okta.events", n)
	dir := t.TempDir()
	out := filepath.Join(dir, "events.ndjson")
	cfg := filepath.Join(dir, "sink.yaml")
	yaml := fmt.Sprintf(`kafka:
  brokers: [%s]
sinks:
  - name: file
    type: file
    path: %s
    topics: [okta.events]
    batch: {max_events: 25}
    concurrency: 1
ops:
  listen: ""
log:
  format: json
`, k.addr(), out)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}

	lines := func() int {
		b, _ := os.ReadFile(out)
		return bytes.Count(b, []byte("\n"))
	}
	first := command(t, "sink", "--config", cfg)
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for lines() < n/10 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	_ = first.Process.Signal(syscall.SIGKILL)
	_ = first.Wait()
	atKill := lines()
	if atKill == 0 || atKill >= n {
		t.Fatalf("killed after %d of %d events; the test needs the kill mid-way", atKill, n)
	}

	second := command(t, "sink", "--config", cfg)
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = second.Process.Kill(); _ = second.Wait() }()
	for lines() < n && time.Now().Before(deadline.Add(30*time.Second)) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	b, _ := os.ReadFile(out)
	got := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		got[string(fastjson.MustParse(l).GetStringBytes("uuid"))]++
	}
	lost, dupes := 0, 0
	for _, u := range uuids {
		if got[u] == 0 {
			lost++
		}
		dupes += max(0, got[u]-1)
	}
	t.Logf("events=%d delivered_before_kill=%d lost=%d duplicates=%d", n, atKill, lost, dupes)
	if lost > 0 {
		t.Fatalf("%d events never reached the file after the restart", lost)
	}
}

// produceEvents writes n generated events to topic as ingest writes them.
func produceEvents(t *testing.T, addr, topic string, n int) []string {
	t.Helper()
	s, err := schema.Parse()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 2, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	g := bench.NewGenerator(11)
	var enc schema.Encoder
	var uuids []string
	for range n {
		v := fastjson.MustParseBytes(g.Event())
		value := schema.AppendSingleObjectHeader(nil, s.LogEventFP)
		value, info, err := enc.AppendEvent(value, v, &schema.Meta{Source: "okta", ReceivedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		uuids = append(uuids, string(info.UUID))
		cl.Produce(ctx, &kgo.Record{Topic: topic, Key: info.UUID, Value: value}, nil)
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return uuids
}
