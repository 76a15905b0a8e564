package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fastjson"

	"github.com/hookbridge/hookbridge/internal/sinktest"
)

// TestSinkProcessKilledMidBatch runs "hookbridge sink" with a file sink,
// kills it with SIGKILL while it works through a topic, starts it again, and
// checks that every event reached the file at least once.
func TestSinkProcessKilledMidBatch(t *testing.T) {
	k := &brokerProc{t: t, listen: fmt.Sprintf("127.0.0.1:%d", freePort(t)), dir: t.TempDir()}
	k.start()
	t.Cleanup(k.stop)

	const n = 3000
	uuids := sinktest.Produce(t, k.addr(), "okta.events", n)
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
