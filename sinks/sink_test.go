package sinks

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/valyala/fastjson"

	"github.com/hookbridge/hookbridge/broker"
	"github.com/hookbridge/hookbridge/internal/sinktest"
	"github.com/hookbridge/hookbridge/internal/testcorpus"
)

func sinkConfig(name string) Config {
	return Config{Name: name, Type: TypeStdout, Topics: []string{"events"},
		Batch: BatchConfig{MaxEvents: 20, MaxAge: 50 * time.Millisecond}}
}

// run runs a sink until stop returns true or a deadline passes.
func run(t *testing.T, kc broker.Config, cfg Config, dest Destination, reg *prometheus.Registry,
	stop func() bool,
) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := New(ctx, cfg, Options{Kafka: kc, Destination: dest, Registerer: reg, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for !stop() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// recorder is a destination that keeps what it was given and can fail.
type recorder struct {
	mu   sync.Mutex
	got  map[string]int // uuid → deliveries
	fail func(ev Event, attempt int) error
	seen map[string]int // uuid → attempts
	hold chan struct{}  // when set, Deliver waits for it
}

func newRecorder() *recorder { return &recorder{got: map[string]int{}, seen: map[string]int{}} }

func (r *recorder) Deliver(ctx context.Context, batch []Event) []error {
	if r.hold != nil {
		select {
		case <-r.hold:
		case <-ctx.Done():
			errs := make([]error, len(batch))
			for i := range errs {
				errs[i] = ctx.Err()
			}
			return errs
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	errs := make([]error, len(batch))
	for i, ev := range batch {
		r.seen[ev.UUID]++
		if r.fail != nil {
			if errs[i] = r.fail(ev, r.seen[ev.UUID]); errs[i] != nil {
				continue
			}
		}
		r.got[ev.UUID]++
	}
	return errs
}

func (r *recorder) Close() error { return nil }

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func TestFileSinkDeliversEveryEvent(t *testing.T) {
	kc, events := sinktest.Cluster(t, 120)
	cfg := sinkConfig("file")
	cfg.Type, cfg.Path = TypeFile, filepath.Join(t.TempDir(), "okta.ndjson")
	lines := func() []string {
		b, _ := os.ReadFile(cfg.Path)
		return strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	run(t, kc, cfg, nil, prometheus.NewRegistry(), func() bool { return len(lines()) >= len(events) })

	got := map[string]string{}
	for _, l := range lines() {
		v := fastjson.MustParse(l)
		got[string(v.GetStringBytes("uuid"))] = l
	}
	for _, ev := range events {
		uuid := string(fastjson.MustParseBytes(ev).GetStringBytes("uuid"))
		if ok, why := testcorpus.Equal(ev, []byte(got[uuid])); !ok {
			t.Fatalf("event %s: %s", uuid, why)
		}
	}
	if n := sinktest.Committed(t, kc, "hookbridge-sink-file"); n != int64(len(events)) {
		t.Errorf("committed %d, want %d", n, len(events))
	}
}

// TestRetriesAndDeadLetters: a destination that is busy twice (with a
// Retry-After) and rejects some events for good. Everything else arrives,
// the rejected go to the dead-letter topic, and all offsets are committed.
func TestRetriesAndDeadLetters(t *testing.T) {
	kc, events := sinktest.Cluster(t, 60)
	dest := newRecorder()
	var firstTry, retried sync.Map
	dest.fail = func(ev Event, attempt int) error {
		if strings.HasSuffix(ev.UUID, "7") {
			return Permanent(errors.New("400 document_parsing_exception"))
		}
		if attempt == 1 {
			firstTry.Store(ev.UUID, time.Now())
		}
		if attempt <= 2 {
			return &Error{Err: errors.New("429 busy"), Backpressure: true, RetryAfter: 150 * time.Millisecond}
		}
		retried.Store(ev.UUID, time.Now())
		return nil
	}
	rejected := 0
	for _, ev := range events {
		if strings.HasSuffix(string(fastjson.MustParseBytes(ev).GetStringBytes("uuid")), "7") {
			rejected++
		}
	}
	cfg := sinkConfig("retry")
	reg := prometheus.NewRegistry()
	run(t, kc, cfg, dest, reg, func() bool {
		return dest.count() == len(events)-rejected && sinktest.Committed(t, kc, "hookbridge-sink-retry") == int64(len(events))
	})
	if dest.count() != len(events)-rejected {
		t.Fatalf("delivered %d, want %d", dest.count(), len(events)-rejected)
	}
	retried.Range(func(k, v any) bool {
		first, _ := firstTry.Load(k)
		if gap := v.(time.Time).Sub(first.(time.Time)); gap < 300*time.Millisecond {
			t.Errorf("%v retried after %s; two Retry-After waits of 150ms were asked", k, gap)
		}
		return true
	})
	cl, err := kgo.NewClient(kgo.SeedBrokers(kc.Brokers...), kgo.ConsumeTopics("retry.deadletter"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var dead []*kgo.Record
	deadline := time.Now().Add(10 * time.Second)
	for len(dead) < rejected && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		dead = append(dead, cl.PollFetches(ctx).Records()...)
		cancel()
	}
	if len(dead) != rejected {
		t.Fatalf("dead letters %d, want %d", len(dead), rejected)
	}
	for _, r := range dead {
		var why string
		for _, h := range r.Headers {
			if h.Key == HeaderSinkError {
				why = string(h.Value)
			}
		}
		if !strings.Contains(why, "document_parsing_exception") {
			t.Errorf("dead letter reason %q", why)
		}
	}
	if sinktest.Committed(t, kc, "hookbridge-sink-retry") != int64(len(events)) {
		t.Error("not every offset committed")
	}
}

// TestOffsetsOnlyAfterDelivery stops a sink while its destination holds a
// batch: that batch's offsets are not committed, and a restarted sink
// delivers every event at least once.
func TestOffsetsOnlyAfterDelivery(t *testing.T) {
	kc, events := sinktest.Cluster(t, 80)
	stuck := newRecorder()
	stuck.hold = make(chan struct{}) // never released: the destination hangs
	cfg := sinkConfig("crash")
	var calls atomic.Int32
	run(t, kc, cfg, &countingDest{Destination: stuck, calls: &calls}, prometheus.NewRegistry(),
		func() bool { return calls.Load() > 0 })
	if n := sinktest.Committed(t, kc, "hookbridge-sink-crash"); n != 0 {
		t.Fatalf("committed %d offsets though nothing was delivered", n)
	}
	ok := newRecorder()
	run(t, kc, cfg, ok, prometheus.NewRegistry(), func() bool { return ok.count() == len(events) })
	if ok.count() != len(events) {
		t.Fatalf("after the restart %d of %d events arrived", ok.count(), len(events))
	}
}

type countingDest struct {
	Destination
	calls *atomic.Int32
}

func (d *countingDest) Deliver(ctx context.Context, b []Event) []error {
	d.calls.Add(1)
	return d.Destination.Deliver(ctx, b)
}

// TestBackpressurePausesFetching gives a slow destination a small in-flight
// budget: the sink pauses, never holds more than the budget, and delivers
// everything.
func TestBackpressurePausesFetching(t *testing.T) {
	kc, events := sinktest.Cluster(t, 200)
	dest := newRecorder()
	var maxHeld atomic.Int64
	cfg := sinkConfig("slow")
	cfg.MaxInFlightEvents, cfg.Concurrency = 40, 2
	slow := &slowDest{recorder: dest, delay: 30 * time.Millisecond}
	reg := prometheus.NewRegistry()
	var s *Sink
	slow.onDeliver = func() {
		if s != nil {
			if held := s.inFlightEvents.Load(); held > maxHeld.Load() {
				maxHeld.Store(held)
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var err error
	s, err = New(ctx, cfg, Options{Kafka: kc, Destination: slow, Registerer: reg, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	pausedSeen := false
	deadline := time.Now().Add(30 * time.Second)
	for dest.count() < len(events) && time.Now().Before(deadline) {
		if testGauge(reg, "hookbridge_sink_paused") == 1 {
			pausedSeen = true
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if dest.count() != len(events) {
		t.Fatalf("delivered %d of %d", dest.count(), len(events))
	}
	if !pausedSeen {
		t.Error("the sink never paused fetching")
	}
	if held := maxHeld.Load(); held > int64(cfg.MaxInFlightEvents+cfg.Batch.MaxEvents) {
		t.Errorf("held %d events in flight, budget %d", held, cfg.MaxInFlightEvents)
	}
}

type slowDest struct {
	*recorder
	delay     time.Duration
	onDeliver func()
}

func (d *slowDest) Deliver(ctx context.Context, b []Event) []error {
	d.onDeliver()
	time.Sleep(d.delay)
	return d.recorder.Deliver(ctx, b)
}

func testGauge(reg *prometheus.Registry, name string) float64 {
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) > 0 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return -1
}

func TestFilter(t *testing.T) {
	kc, events := sinktest.Cluster(t, 100)
	want := 0
	for _, ev := range events {
		if strings.HasPrefix(string(fastjson.MustParseBytes(ev).GetStringBytes("eventType")), "user.") {
			want++
		}
	}
	dest := newRecorder()
	cfg := sinkConfig("filtered")
	cfg.Filter = `eventType startsWith "user."`
	run(t, kc, cfg, dest, prometheus.NewRegistry(), func() bool {
		return sinktest.Committed(t, kc, "hookbridge-sink-filtered") == int64(len(events))
	})
	if dest.count() != want || want == 0 {
		t.Fatalf("delivered %d, want %d user.* events", dest.count(), want)
	}
}

func TestConfigErrors(t *testing.T) {
	f := func(c Config, want string) {
		t.Helper()
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: %v, want %q", c, err, want)
		}
	}
	f(Config{Type: TypeStdout, Topics: []string{"t"}}, "name is required")
	f(Config{Name: "a", Topics: []string{"t"}}, "type is required")
	f(Config{Name: "a", Type: TypeFile, Topics: []string{"t"}}, "path is required")
	f(Config{Name: "a", Type: TypeStdout}, "topics")
	f(Config{Name: "a", Type: TypeStdout, Topics: []string{"t"}, Filter: "eventType =="}, "filter")
}

// TestReplayDeadLetters dead-letters some events, then replays the
// dead-letter topic into a destination that takes them: each arrives, and
// the replay ends by itself once caught up.
func TestReplayDeadLetters(t *testing.T) {
	kc, events := sinktest.Cluster(t, 40)
	rejecting := newRecorder()
	rejecting.fail = func(ev Event, _ int) error {
		if strings.HasSuffix(ev.UUID, "a") || strings.HasSuffix(ev.UUID, "b") {
			return Permanent(errors.New("400 bad event"))
		}
		return nil
	}
	cfg := sinkConfig("replayed")
	run(t, kc, cfg, rejecting, prometheus.NewRegistry(), func() bool {
		return sinktest.Committed(t, kc, "hookbridge-sink-replayed") == int64(len(events))
	})
	dead := len(events) - rejecting.count()
	if dead == 0 {
		t.Fatal("nothing was dead-lettered; the test needs some")
	}

	accepting := newRecorder()
	rc := cfg
	rc.Topics = []string{cfg.Name + ".deadletter"}
	rc.DeadLetterTopic = cfg.Name + ".deadletter.replay"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := New(ctx, rc, Options{Kafka: kc, Destination: accepting, Registerer: prometheus.NewRegistry(),
		Log: zerolog.Nop(), Group: "hookbridge-replay-replayed", UntilIdle: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("the replay did not end by itself")
	}
	if accepting.count() != dead {
		t.Fatalf("replayed %d events, want %d", accepting.count(), dead)
	}
}

// TestStalledSinkDoesNotStallAnother runs two sinks on one topic: one whose
// destination hangs, one that works. The working one delivers everything.
func TestStalledSinkDoesNotStallAnother(t *testing.T) {
	kc, events := sinktest.Cluster(t, 100)
	stuck := newRecorder()
	stuck.hold = make(chan struct{})
	working := newRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var runs sync.WaitGroup
	for _, c := range []struct {
		name string
		dest Destination
	}{{"stuck", stuck}, {"working", working}} {
		s, err := New(ctx, sinkConfig(c.name), Options{Kafka: kc, Destination: c.dest,
			Registerer: prometheus.NewRegistry(), Log: zerolog.Nop()})
		if err != nil {
			t.Fatal(err)
		}
		runs.Add(1)
		go func() { defer runs.Done(); _ = s.Run(ctx) }()
	}
	deadline := time.Now().Add(20 * time.Second)
	for working.count() < len(events) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	runs.Wait()
	if working.count() != len(events) || stuck.count() != 0 {
		t.Fatalf("working sink delivered %d of %d; stuck one %d", working.count(), len(events), stuck.count())
	}
}

// TestHealthReflectsFailingDestination: a destination that keeps failing
// makes the sink unhealthy; once it delivers again the sink is healthy.
func TestHealthReflectsFailingDestination(t *testing.T) {
	kc, _ := sinktest.Cluster(t, 20)
	dest := newRecorder()
	var failing atomic.Bool
	failing.Store(true)
	dest.fail = func(Event, int) error {
		if failing.Load() {
			return &Error{Err: errors.New("503 service unavailable"), Backpressure: true}
		}
		return nil
	}
	cfg := sinkConfig("health")
	cfg.Retry = RetryConfig{Initial: 10 * time.Millisecond, Max: 20 * time.Millisecond, Attempts: 1000}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := New(ctx, cfg, Options{Kafka: kc, Destination: dest, Registerer: prometheus.NewRegistry(),
		Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	s.unhealthyAfter = 200 * time.Millisecond
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for s.Healthy() == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	err = s.Healthy()
	if err == nil || !strings.Contains(err.Error(), "503 service unavailable") {
		t.Fatalf("health while failing: %v", err)
	}
	failing.Store(false)
	for dest.count() < 20 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.Healthy(); err != nil {
		t.Errorf("still unhealthy after delivering: %v", err)
	}
	cancel()
	<-done
}

// oneBadAtATime acts like Splunk's code 6: when a batch holds bad events it
// names the first as invalid and takes none of the others.
type oneBadAtATime struct{ *recorder }

func (d oneBadAtATime) Deliver(ctx context.Context, batch []Event) []error {
	errs := make([]error, len(batch))
	for i, ev := range batch {
		if strings.HasSuffix(ev.UUID, "a") || strings.HasSuffix(ev.UUID, "b") {
			for j := range errs {
				errs[j] = errors.New("503 resend the rest")
			}
			errs[i] = Permanent(errors.New("400 code 6 invalid event"))
			return errs
		}
	}
	return d.recorder.Deliver(ctx, batch)
}

// TestRoundsWithProgressDoNotUseUpAttempts: a batch with more bad events
// than retry attempts still delivers every good event.
func TestRoundsWithProgressDoNotUseUpAttempts(t *testing.T) {
	kc, events := sinktest.Cluster(t, 60)
	bad := 0
	for _, ev := range events {
		if u := sinktest.UUID(ev); strings.HasSuffix(u, "a") || strings.HasSuffix(u, "b") {
			bad++
		}
	}
	cfg := sinkConfig("progress")
	cfg.Batch.MaxEvents = 60
	cfg.Batch.MaxAge = time.Second
	cfg.Retry = RetryConfig{Initial: time.Millisecond, Max: 5 * time.Millisecond, Attempts: 2}
	dest := newRecorder()
	run(t, kc, cfg, oneBadAtATime{dest}, prometheus.NewRegistry(), func() bool {
		return sinktest.Committed(t, kc, "hookbridge-sink-progress") == int64(len(events))
	})
	if bad < 3 {
		t.Fatalf("only %d bad events; the test needs more than the 2 attempts", bad)
	}
	if dest.count() != len(events)-bad {
		t.Fatalf("delivered %d good events, want %d (bad: %d)", dest.count(), len(events)-bad, bad)
	}
}
