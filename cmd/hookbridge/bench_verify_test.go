package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookbridge/hookbridge/bench"
)

func TestParseUUID(t *testing.T) {
	want := uuidKey{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
		0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10}
	cases := []struct {
		name string
		in   string
		ok   bool
	}{
		{"lower case", "01234567-89ab-cdef-fedc-ba9876543210", true},
		{"upper case", "01234567-89AB-CDEF-FEDC-BA9876543210", true},
		{"mixed case", "01234567-89aB-cDeF-FeDc-bA9876543210", true},
		{"empty", "", false},
		{"short", "01234567-89ab-cdef-fedc-ba987654321", false},
		{"long", "01234567-89ab-cdef-fedc-ba98765432100", false},
		{"no dashes", "0123456789abcdeffedcba9876543210", false},
		{"braces", "{01234567-89ab-cdef-fedc-ba98765432}", false},
		{"dash moved left", "0123456-789ab-cdef-fedc-ba9876543210", false},
		{"dash moved right", "01234567-89abc-def-fedc-ba9876543210", false},
		{"non-hex letter", "01234567-89ab-cdef-fedc-ba987654321g", false},
		{"non-hex first", "x1234567-89ab-cdef-fedc-ba9876543210", false},
		{"space", "01234567-89ab-cdef-fedc-ba98765432 0", false},
		// A dash in place of a digit: each of these once shifted the pair
		// the parser read, or read past the end.
		{"extra dash first group", "-1234567-89ab-cdef-fedc-ba9876543210", false},
		{"extra dash second group", "01234567--9ab-cdef-fedc-ba9876543210", false},
		{"extra dash last group", "01234567-89ab-cdef-fedc--a9876543210", false},
		{"extra dash at the end", "01234567-89ab-cdef-fedc-ba987654321-", false},
		{"extra dash before the end", "01234567-89ab-cdef-fedc-ba98765432-0", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := parseUUID([]byte(c.in))
			if ok != c.ok {
				t.Fatalf("parseUUID(%q) ok = %v, want %v", c.in, ok, c.ok)
			}
			if ok && got != want {
				t.Fatalf("parseUUID(%q) = %x, want %x", c.in, got, want)
			}
		})
	}
}

// TestParseUUIDAnyDashPosition puts a dash at every position of a valid
// uuid: only the four where one belongs may parse, and none may panic
// (keys read from Kafka and uuids from replayed files are arbitrary bytes).
func TestParseUUIDAnyDashPosition(t *testing.T) {
	const valid = "01234567-89ab-cdef-fedc-ba9876543210"
	for i := range len(valid) {
		b := []byte(valid)
		b[i] = '-'
		if _, ok := parseUUID(b); ok != (valid[i] == '-') {
			t.Errorf("parseUUID(%q) ok = %v", b, ok)
		}
	}
}

// TestVerifyReport checks the verify counts without Kafka: what the
// reader saw is filled in by hand.
func TestVerifyReport(t *testing.T) {
	v := &verifier{live: true, sent: map[uuidKey]int64{}, seen: map[uuidKey]int64{},
		sentOther: map[string]int64{}, seenOther: map[string]int64{}}
	sent := time.Unix(100, 0)
	found := []string{
		"00000000-0000-4000-8000-000000000001",
		"00000000-0000-4000-8000-000000000002",
	}
	lost := "00000000-0000-4000-8000-000000000003"
	v.acked(found, sent)
	// Upper case is the same uuid: acknowledging it again (a duplicate
	// delivery) must not count it twice.
	v.acked([]string{lost, "00000000-0000-4000-8000-00000000000A"}, sent)
	v.acked([]string{"00000000-0000-4000-8000-00000000000a"}, sent)
	// Keys that are no uuids are matched as strings: one is in Kafka, one
	// is missing.
	v.acked([]string{"not-a-uuid", "other-key"}, sent)
	v.seenOther["other-key"] = sent.Add(40 * time.Millisecond).UnixNano()
	// Kafka also holds an event nobody acknowledged; it changes nothing.
	for i, u := range append(found, "00000000-0000-4000-8000-00000000000a",
		"00000000-0000-4000-8000-0000000000ff") {
		k, ok := parseUUID([]byte(u))
		if !ok {
			t.Fatalf("test uuid %q does not parse", u)
		}
		v.seen[k] = sent.Add(time.Duration(i+1) * 10 * time.Millisecond).UnixNano()
	}

	got := v.report(0)
	for key, want := range map[string]int{"acknowledged": 6, "found": 4, "missing": 2} {
		if got[key] != want {
			t.Errorf("%s = %v, want %d (report %v)", key, got[key], want, got)
		}
	}
	// Found keys became visible 10, 20, 30 and 40 ms after they were sent.
	if p50, p99 := got["visible_p50_ms"].(float64), got["visible_p99_ms"].(float64); p50 < 19 ||
		p50 > 21 || p99 < 39 || p99 > 41 {
		t.Errorf("visible p50 %.1f ms, p99 %.1f ms; want 20 and 40", p50, p99)
	}
}

// TestNoneAccepted: a run without a single 2xx answer is an error that says
// what came back instead.
func TestNoneAccepted(t *testing.T) {
	if err := noneAccepted(&bench.Result{Status: map[int]int64{503: 9, 200: 1}}); err != nil {
		t.Errorf("one 200 among 503s: %v", err)
	}
	err := noneAccepted(&bench.Result{Status: map[int]int64{401: 7}, Errors: 2, LastError: "refused"})
	if err == nil || !strings.Contains(err.Error(), "401:7") || !strings.Contains(err.Error(), "refused") {
		t.Errorf("only 401s and errors: %v", err)
	}
	if noneAccepted(&bench.Result{}) == nil {
		t.Error("nothing at all was accepted as a measurement")
	}
}

// TestVerifyAfterRun: with --verify-after the verifier reads nothing while
// the load runs, then finds the records written since it started, and only
// those, when asked for its report.
func TestVerifyAfterRun(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "okta.events"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic("okta.events"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	produce := func(keys ...string) {
		t.Helper()
		for _, k := range keys {
			r := &kgo.Record{Key: []byte(k), Value: []byte("x")}
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	const (
		before = "00000000-0000-4000-8000-000000000001"
		during = "00000000-0000-4000-8000-000000000002"
		lost   = "00000000-0000-4000-8000-000000000003"
	)
	produce(before)
	v, err := newVerifier(ctx, c.ListenAddrs(), []string{"okta.events"}, false, false)
	if err != nil {
		t.Fatal(err)
	}
	defer v.close()
	produce(during, "not-a-uuid")
	v.acked([]string{before, during, lost, "not-a-uuid"}, time.Now())
	time.Sleep(300 * time.Millisecond) // time enough for a live reader to fetch
	v.mu.Lock()
	seen := len(v.seen) + len(v.seenOther)
	v.mu.Unlock()
	if seen != 0 {
		t.Fatalf("%d keys read during the run", seen)
	}

	got := v.report(2 * time.Second)
	// The record written before the verifier started is not looked for:
	// it counts as missing, like the one never written.
	for key, want := range map[string]int{"acknowledged": 4, "found": 2, "missing": 2, "visible_n": 0} {
		if got[key] != want {
			t.Errorf("%s = %v, want %d (report %v)", key, got[key], want, got)
		}
	}
}

// TestBenchFlagMistakes: flag combinations that cannot mean what the user
// wants fail at once, saying why, before any load is sent.
func TestBenchFlagMistakes(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--rate", "-5"}, "--rate -5"},
		{[]string{"--verify-after"}, "--verify-after needs --verify-brokers"},
	} {
		cmd := benchCmd()
		var out strings.Builder
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(append(c.args, "--url", "http://127.0.0.1:1/hooks", "--duration", "1s"))
		err := cmd.Execute()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one saying %q", c.args, err, c.want)
		}
		if strings.Contains(out.String(), "req/s") {
			t.Errorf("%v: load was sent before the error:\n%s", c.args, out.String())
		}
	}
}

// TestVerifyWarnsOfMissingTopic: a topic that does not exist is named on
// standard error, since every event sent to it would be reported missing.
func TestVerifyWarnsOfMissingTopic(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "okta.events"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cmd := benchCmd()
	var stdout, stderr strings.Builder
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	// Nothing listens at the URL: the run fails, after the warning.
	cmd.SetArgs([]string{"--url", "http://127.0.0.1:1/hooks", "--duration", "100ms", "--warmup", "0s",
		"--verify-brokers", strings.Join(c.ListenAddrs(), ","), "--verify-after",
		"--verify-topics", "okta.events,okta.nope", "--verify-wait", "0s"})
	_ = cmd.Execute()
	if got := stderr.String(); !strings.Contains(got, "topic okta.nope does not exist") ||
		strings.Contains(got, "okta.events does not exist") {
		t.Errorf("stderr %q: want a warning naming okta.nope alone", got)
	}
}
