package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookbridge/hookbridge/broker"
	"github.com/hookbridge/hookbridge/confval"
	"github.com/hookbridge/hookbridge/ingest"
	"github.com/hookbridge/hookbridge/schema"
)

// Secrets of the test sources.
const (
	secret    = "s3cret-okta"
	oldSecret = "rotating-old"
	newSecret = "rotating-new"
)

// harness runs an ingest service against a real broker: the embedded kfake
// cluster, or the Kafka named by HOOKBRIDGE_TEST_BROKERS. Each harness uses
// its own topic names, so tests can share a real Kafka.
type harness struct {
	t       testing.TB
	svc     *ingest.Service
	url     string
	brokers []string
	cluster *kfake.Cluster // nil against a real Kafka
	reg     *prometheus.Registry

	events, sessions, dlq string
}

var topicSeq atomic.Int64

// newHarness starts a service; adjust may change the configuration first.
func newHarness(t testing.TB, adjust func(*ingest.Config, *broker.Config)) *harness {
	t.Helper()
	h := &harness{t: t, reg: prometheus.NewRegistry()}
	if env := os.Getenv("HOOKBRIDGE_TEST_BROKERS"); env != "" {
		h.brokers = strings.Split(env, ",")
	} else {
		c, err := kfake.NewCluster(kfake.NumBrokers(1))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		h.cluster = c
		h.brokers = c.ListenAddrs()
	}
	prefix := fmt.Sprintf("test%d-%d", time.Now().UnixNano()%1e9, topicSeq.Add(1))
	h.events, h.sessions, h.dlq = prefix+".events", prefix+".sessions", prefix+".deadletter"

	cfg := ingest.DefaultConfig()
	cfg.Server.Listen = "127.0.0.1:0"
	cfg.Sources = []ingest.SourceConfig{
		{Name: "okta", Path: "/hooks/okta", Secrets: []confval.Secret{{Value: secret}}},
		{Name: "org2", Path: "/hooks/org2", AuthHeader: "X-Hook-Secret",
			Secrets: []confval.Secret{{Value: oldSecret}, {Value: newSecret}}, MaxBodyBytes: 4096},
	}
	cfg.Routing.DefaultTopic, cfg.Routing.DeadLetterTopic = h.events, h.dlq
	cfg.Routing.Rules = []ingest.RouteRule{{Match: "user.session.*", Topic: h.sessions}}
	// The spool is off unless a test turns it on: most tests are about what
	// reaches Kafka directly, and the 503 paths need it off.
	cfg.Spool.Enabled = false
	cfg.Spool.Dir = t.TempDir()
	kc := broker.Default()
	kc.Brokers = h.brokers
	kc.Topics.Partitions = 1
	if adjust != nil {
		adjust(&cfg, &kc)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	svc, err := ingest.New(ctx, cfg, ingest.Options{Kafka: kc, Registerer: h.reg, Log: testLogger(t)})
	if err != nil {
		t.Fatalf("start ingest: %v", err)
	}
	h.svc = svc
	h.url = "http://" + svc.Addr()
	served := make(chan error, 1)
	go func() { served <- svc.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = svc.Shutdown(ctx)
		<-served
	})
	return h
}

func testLogger(t testing.TB) zerolog.Logger {
	if testing.Verbose() {
		return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.DebugLevel)
	}
	return zerolog.Nop()
}

type response struct {
	status int
	body   string
	header http.Header
}

// do sends one request; headers alternate name, value.
func (h *harness) do(method, path string, body []byte, headers ...string) response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url+path, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, body: string(b), header: resp.Header}
}

// post delivers a body to the okta source with the right secret.
func (h *harness) post(body []byte) response {
	h.t.Helper()
	return h.do("POST", "/hooks/okta", body, "Authorization", secret, "Content-Type", "application/json")
}

// consumer returns a client reading topic from its start.
func (h *harness) consumer(topic string) *kgo.Client {
	h.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(h.brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		h.t.Fatal(err)
	}
	return cl
}

// records reads topic from the start until it has want records, failing
// after a deadline.
func (h *harness) records(topic string, want int) []*kgo.Record {
	h.t.Helper()
	out := h.read(topic, want, 0)
	if len(out) != want {
		h.t.Fatalf("topic %s: got %d records, want %d", topic, len(out), want)
	}
	return out
}

// atLeast reads topic until it has want records, then a little longer for
// any duplicates, and returns everything it read.
func (h *harness) atLeast(topic string, want int) []*kgo.Record {
	h.t.Helper()
	out := h.read(topic, want, time.Second)
	if len(out) < want {
		h.t.Fatalf("topic %s: got %d records, want at least %d", topic, len(out), want)
	}
	return out
}

// read polls topic from its start until it has want records or 20 s pass,
// then for extra longer.
func (h *harness) read(topic string, want int, extra time.Duration) []*kgo.Record {
	h.t.Helper()
	cl := h.consumer(topic)
	defer cl.Close()
	var out []*kgo.Record
	poll := func(d time.Duration) {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		out = append(out, cl.PollFetches(ctx).Records()...)
		cancel()
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(out) < want && time.Now().Before(deadline) {
		poll(time.Second)
	}
	if extra > 0 {
		poll(extra)
	}
	return out
}

// noMoreRecords checks that topic holds exactly n records, by waiting a
// little for any extra one.
func (h *harness) noMoreRecords(topic string, n int) {
	h.t.Helper()
	cl := h.consumer(topic)
	defer cl.Close()
	got := 0
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		got += cl.PollFetches(ctx).NumRecords()
		cancel()
	}
	if got != n {
		h.t.Fatalf("topic %s holds %d records, want %d", topic, got, n)
	}
}

// decode turns a record value back into JSON.
func decode(t testing.TB, r *kgo.Record) []byte {
	t.Helper()
	s, err := schema.Parse()
	if err != nil {
		t.Fatal(err)
	}
	out, err := schema.NewReader(s, nil).AppendJSON(nil, r.Value)
	if err != nil {
		t.Fatalf("decode %s@%d: %v", r.Topic, r.Offset, err)
	}
	return out
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// metric returns the value of a counter or gauge with the given labels.
func (h *harness) metric(name string, labels ...string) float64 {
	h.t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelsMatch(m, labels) {
				if m.GetCounter() != nil {
					return m.GetCounter().GetValue()
				}
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

func labelsMatch(m *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}
