package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/valyala/fastjson"

	"github.com/hookbridge/hookbridge/bench"
	"github.com/hookbridge/hookbridge/broker"
	"github.com/hookbridge/hookbridge/confval"
	"github.com/hookbridge/hookbridge/ingest"
	"github.com/hookbridge/hookbridge/internal/sinktest"
	"github.com/hookbridge/hookbridge/internal/testcorpus"
	"github.com/hookbridge/hookbridge/sinks"
	"github.com/hookbridge/hookbridge/sinks/elastic"
	"github.com/hookbridge/hookbridge/sinks/elastic/elastictest"
	"github.com/hookbridge/hookbridge/sinks/splunk"
	"github.com/hookbridge/hookbridge/sinks/splunk/splunktest"
	"github.com/hookbridge/hookbridge/sinks/syslog"
	"github.com/hookbridge/hookbridge/sinks/syslog/rsyslogtest"
)

const (
	e2eSecret      = "e2e-okta-secret"
	e2eHECToken    = "11111111-2222-3333-4444-555555555555"
	e2eDeliveries  = 20
	e2ePerDelivery = 5
	e2eWait        = 60 * time.Second // a bound, not a speed check
)

// e2eTopics are where ingest routes the events, and what every sink reads.
var e2eTopics = []string{"okta.events", "okta.sessions"}

// e2e is the pipeline under test: ingest on an embedded kfake cluster, and
// the sinks of the command with a fake behind each destination.
type e2e struct {
	url     string
	kafka   broker.Config
	file    string
	hec     *splunktest.Server
	es      *elastictest.Server
	rsyslog *rsyslogtest.Receiver // nil when rsyslog is not installed
}

// TestEndToEnd posts Okta deliveries to ingest and checks that each of the
// four sinks (file, Splunk HEC, Elasticsearch, syslog) hands every event to
// its destination exactly once and unchanged, a redelivery included.
func TestEndToEnd(t *testing.T) {
	p := startE2E(t)

	g := bench.NewGenerator(23)
	posted := map[string][]byte{} // uuid → event JSON as posted
	var first []byte
	for i := range e2eDeliveries {
		body, uuids := g.Delivery(e2ePerDelivery)
		if i == 0 {
			first = body
		}
		p.post(t, body)
		events := deliveryEvents(t, body)
		for _, id := range uuids {
			if events[id] == nil {
				t.Fatalf("delivery %d: no event %s in the body", i, id)
			}
			posted[id] = events[id]
		}
	}
	// Okta delivers again when it did not see the 200 in time; dedup drops
	// the copies before Kafka.
	p.post(t, first)

	end := p.endOffsets(t)
	if end != int64(len(posted)) {
		t.Errorf("ingest wrote %d records for %d events: the redelivery was not dropped", end, len(posted))
	}
	p.waitDelivered(t, posted, end)

	t.Run("file", func(t *testing.T) { checkOnce(t, posted, p.fileEvents(t)) })
	t.Run("splunk_hec", func(t *testing.T) {
		var got [][]byte
		for _, env := range p.hec.Envelopes() {
			got = append(got, env.Event)
		}
		checkOnce(t, posted, got)
	})
	t.Run("elasticsearch", func(t *testing.T) {
		docs := p.es.Docs("okta")
		var got [][]byte
		for id, doc := range docs {
			if uuid := eventUUID(doc); uuid != id {
				t.Errorf("document _id %s holds event %s", id, uuid)
			}
			got = append(got, doc)
		}
		checkOnce(t, posted, got)
		for key, n := range p.es.Writes() {
			if n != 1 {
				t.Errorf("%s written %d times", key, n)
			}
		}
	})
	t.Run("syslog", func(t *testing.T) {
		if p.rsyslog == nil {
			t.Skip(rsyslogtest.Available())
		}
		checkOnce(t, posted, p.syslogEvents(t))
	})
}

// startE2E starts kfake, ingest and the sinks; all stop when the test ends,
// the sinks first.
func startE2E(t *testing.T) *e2e {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	p := &e2e{
		kafka: broker.Default(),
		file:  filepath.Join(t.TempDir(), "events.ndjson"),
		hec:   splunktest.NewServer(t, e2eHECToken),
		es:    elastictest.NewServer(t),
	}
	p.kafka.Brokers = c.ListenAddrs()
	p.kafka.Topics.Partitions = 2

	switch err := rsyslogtest.Available(); {
	case err == nil:
		p.rsyslog = rsyslogtest.Start(t)
	case os.Getenv("CI") == "true":
		t.Fatalf("CI must run the syslog sink: %v", err)
	default:
		t.Logf("the syslog sink is left out: %v", err)
	}

	cfg := config{Config: ingest.DefaultConfig(), Kafka: p.kafka, Sinks: p.sinkConfigs(t)}
	cfg.Server.Listen = "127.0.0.1:0"
	cfg.Sources = []ingest.SourceConfig{
		{Name: "okta", Path: "/hooks/okta", Secrets: []confval.Secret{{Value: e2eSecret}}},
	}
	cfg.Routing.DefaultTopic = e2eTopics[0]
	cfg.Routing.Rules = []ingest.RouteRule{{Match: "user.session.*", Topic: e2eTopics[1]}}
	cfg.Spool.Enabled = false
	if err := cfg.Config.Validate(); err != nil {
		t.Fatal(err)
	}
	p.url = startIngest(t, cfg)

	log := e2eLogger(t)
	running, err := startSinks(context.Background(), cfg, nil, prometheus.NewRegistry(), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(running.stop)
	return p
}

// sinkConfigs returns one sink per destination, checked as loadConfig
// checks them.
func (p *e2e) sinkConfigs(t *testing.T) []sinkConfig {
	t.Helper()
	base := func(name, typ string) sinks.Config {
		return sinks.Config{
			Name: name, Type: typ, Topics: e2eTopics,
			Batch: sinks.BatchConfig{MaxEvents: 20, MaxAge: 50 * time.Millisecond},
			Retry: sinks.RetryConfig{Initial: 10 * time.Millisecond, Max: 200 * time.Millisecond},
		}
	}
	file := base("file", sinks.TypeFile)
	file.Path = p.file
	scs := []sinkConfig{
		{Config: file},
		{Config: base("splunk", splunk.Type),
			Splunk: &splunk.Config{URL: p.hec.URL, Token: confval.Secret{Value: e2eHECToken}}},
		{Config: base("es", "elasticsearch"), Elastic: &elastic.Config{URL: p.es.URL, Index: "okta"}},
	}
	if p.rsyslog != nil {
		scs = append(scs, sinkConfig{Config: base("syslog", "syslog"),
			Syslog: &syslog.Config{Address: p.rsyslog.TCPAddr}})
	}
	for i := range scs {
		if err := scs[i].validate(); err != nil {
			t.Fatal(err)
		}
	}
	return scs
}

// startIngest serves ingest and returns its base URL.
func startIngest(t *testing.T, cfg config) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eWait)
	defer cancel()
	svc, err := ingest.New(ctx, cfg.Config, ingest.Options{
		Kafka: cfg.Kafka, Registerer: prometheus.NewRegistry(), Log: e2eLogger(t),
	})
	if err != nil {
		t.Fatalf("start ingest: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- svc.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = svc.Shutdown(ctx)
		<-served
	})
	return "http://" + svc.Addr()
}

func e2eLogger(t *testing.T) zerolog.Logger {
	if testing.Verbose() {
		return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)
	}
	return zerolog.Nop()
}

// post delivers body to the okta source with the right secret and wants
// 200.
func (p *e2e) post(t *testing.T, body []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.url+"/hooks/okta", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", e2eSecret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST answered %d: %s", resp.StatusCode, answer)
	}
}

// endOffsets sums the end offsets of the ingest topics: once each sink's
// group committed that much, it has read everything ingest wrote.
func (p *e2e) endOffsets(t *testing.T) int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.kafka.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), e2eWait)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, e2eTopics...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

// waitDelivered waits, for a bounded time, until every destination holds
// every posted uuid and every sink committed all end offsets.
func (p *e2e) waitDelivered(t *testing.T, posted map[string][]byte, end int64) {
	t.Helper()
	groups := []string{"file", "splunk", "es"}
	if p.rsyslog != nil {
		groups = append(groups, "syslog")
	}
	deadline := time.Now().Add(e2eWait)
	for {
		missing := p.missing(t, posted)
		for _, g := range groups {
			if n := sinktest.Committed(t, p.kafka, "hookbridge-sink-"+g); n != end {
				missing = append(missing, fmt.Sprintf("%s committed %d of %d", g, n, end))
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", e2eWait, strings.Join(missing, "; "))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// missing says which destinations lack posted events.
func (p *e2e) missing(t *testing.T, posted map[string][]byte) []string {
	t.Helper()
	var hec [][]byte
	for _, env := range p.hec.Envelopes() {
		hec = append(hec, env.Event)
	}
	var es [][]byte
	for _, doc := range p.es.Docs("okta") {
		es = append(es, doc)
	}
	got := map[string][][]byte{"file": p.fileEvents(t), "splunk": hec, "es": es}
	if p.rsyslog != nil {
		got["syslog"] = p.syslogEvents(t)
	}
	var out []string
	for name, events := range got {
		seen := map[string]bool{}
		for _, ev := range events {
			seen[eventUUID(ev)] = true
		}
		n := 0
		for id := range posted {
			if !seen[id] {
				n++
			}
		}
		if n > 0 {
			out = append(out, fmt.Sprintf("%s lacks %d of %d events", name, n, len(posted)))
		}
	}
	return out
}

// fileEvents returns the lines of the file sink.
func (p *e2e) fileEvents(t *testing.T) [][]byte {
	t.Helper()
	b, err := os.ReadFile(p.file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
}

// syslogEvents returns the MSG part of each message rsyslog received.
func (p *e2e) syslogEvents(t *testing.T) [][]byte {
	t.Helper()
	var out [][]byte
	for _, line := range p.rsyslog.ReadLines(t, rsyslogtest.TCPRaw) {
		msg, err := syslogMSG(line)
		if err != nil {
			t.Fatalf("rsyslog received %.300q: %v", line, err)
		}
		out = append(out, []byte(msg))
	}
	return out
}

// syslogMSG returns the MSG of an RFC 5424 message: what follows the six
// header fields and the structured data.
func syslogMSG(line string) (string, error) {
	rest := line
	for range 6 { // PRI VERSION, TIMESTAMP, HOSTNAME, APP-NAME, PROCID, MSGID
		_, after, ok := strings.Cut(rest, " ")
		if !ok {
			return "", errors.New("short header")
		}
		rest = after
	}
	if after, ok := strings.CutPrefix(rest, "- "); ok {
		return after, nil
	}
	for strings.HasPrefix(rest, "[") {
		end := sdElementEnd(rest)
		if end < 0 {
			return "", errors.New("unterminated structured data")
		}
		rest = rest[end+1:]
	}
	msg, ok := strings.CutPrefix(rest, " ")
	if !ok {
		return "", errors.New("no space after the structured data")
	}
	return strings.TrimPrefix(msg, "\ufeff"), nil
}

// sdElementEnd returns the index of the "]" that closes the element s
// starts with, skipping escapes and quoted values; -1 when there is none.
func sdElementEnd(s string) int {
	quoted := false
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case c == ']' && !quoted:
			return i
		}
	}
	return -1
}

// deliveryEvents returns the events of an Okta delivery body by uuid.
func deliveryEvents(t *testing.T, body []byte) map[string][]byte {
	t.Helper()
	v, err := fastjson.ParseBytes(body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, ev := range v.GetArray("data", "events") {
		out[string(ev.GetStringBytes("uuid"))] = ev.MarshalTo(nil)
	}
	return out
}

// checkOnce checks that got holds each posted event exactly once, equal
// as a JSON value to what was posted.
func checkOnce(t *testing.T, posted map[string][]byte, got [][]byte) {
	t.Helper()
	count := map[string]int{}
	for _, ev := range got {
		id := eventUUID(ev)
		count[id]++
		want, ok := posted[id]
		if !ok {
			t.Errorf("event %q was never posted: %.200s", id, ev)
			continue
		}
		if count[id] > 1 {
			continue
		}
		if eq, diff := testcorpus.Equal(want, ev); !eq {
			t.Errorf("event %s changed on the way: %s", id, diff)
		}
	}
	for id := range posted {
		if count[id] != 1 {
			t.Errorf("event %s arrived %d times, want once", id, count[id])
		}
	}
}

// eventUUID is the uuid of an event's JSON, "" when it is not a JSON
// object with one.
func eventUUID(ev []byte) string {
	v, err := fastjson.ParseBytes(ev)
	if err != nil {
		return ""
	}
	return string(v.GetStringBytes("uuid"))
}
