package elastic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/valyala/fastjson"

	"github.com/hookbridge/hookbridge/broker"
	"github.com/hookbridge/hookbridge/confval"
	"github.com/hookbridge/hookbridge/internal/sinktest"
	"github.com/hookbridge/hookbridge/sinks"
	"github.com/hookbridge/hookbridge/sinks/elastic/elastictest"
)

var day1 = time.Date(2024, 5, 1, 12, 34, 56, 789e6, time.UTC)

func newDest(t *testing.T, srv *elastictest.Server, mut func(c *Config)) sinks.Destination {
	t.Helper()
	c := Config{URL: srv.URL, Index: "okta"}
	if mut != nil {
		mut(&c)
	}
	d, err := New("es", c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func event(uuid string, published time.Time) sinks.Event {
	text := fmt.Sprintf(`{"uuid":%q,"published":%q,"eventType":"user.session.start",`+
		`"displayMessage":"line one\nline two","outcome":{"result":"SUCCESS"}}`,
		uuid, published.Format("2006-01-02T15:04:05.000Z07:00"))
	return sinks.Event{JSON: []byte(text), UUID: uuid, Published: published}
}

func events(n int) []sinks.Event {
	evs := make([]sinks.Event, n)
	for i := range evs {
		evs[i] = event(fmt.Sprintf("uuid-%03d", i), day1)
	}
	return evs
}

// outcome names what Deliver's error means to the sink runtime.
func outcome(err error) string {
	if err == nil {
		return "delivered"
	}
	var e *sinks.Error
	switch {
	case !errors.As(err, &e):
		return "retry"
	case e.Permanent:
		return "permanent"
	case e.Backpressure:
		return "backpressure"
	}
	return "retry"
}

func TestMixedItemResults(t *testing.T) {
	srv := elastictest.NewServer(t)
	srv.BadIDSuffix = "-bad"
	evs := []sinks.Event{
		event("ok-0", day1),
		event("busy-1", day1),
		event("doc-2-bad", day1),
		event("dup-3", day1),
		event("shards-4", day1),
		event("boom-5", day1),
		event("noindex-6", day1),
		event("blocked-7", day1),
		event("mapper-8", day1),
		event("breaker-9", day1),
		event("illegal-10", day1),
	}
	srv.FailID("busy-1", 429, "es_rejected_execution_exception")
	srv.FailID("shards-4", 503, "unavailable_shards_exception")
	srv.FailID("boom-5", 500, "exception")
	srv.FailID("noindex-6", 404, "index_not_found_exception")
	srv.FailID("blocked-7", 403, "cluster_block_exception")
	srv.FailID("mapper-8", 400, "mapper_parsing_exception")
	srv.FailID("breaker-9", 429, "circuit_breaking_exception")
	srv.FailID("illegal-10", 400, "illegal_argument_exception")
	srv.Put("okta", "dup-3", []byte(`{}`))

	d := newDest(t, srv, nil)
	errs := d.Deliver(context.Background(), evs)
	want := []string{"delivered", "backpressure", "permanent", "delivered", "retry", "retry",
		"permanent", "backpressure", "permanent", "backpressure", "permanent"}
	for i, err := range errs {
		if got := outcome(err); got != want[i] {
			t.Errorf("%s: %s (%v), want %s", evs[i].UUID, got, err, want[i])
		}
	}
	if !strings.Contains(fmt.Sprint(errs[2]), "document_parsing_exception") {
		t.Errorf("parse failure error %q does not name the type", errs[2])
	}
	if _, ok := srv.Doc("okta", "ok-0"); !ok || srv.Stored() != 2 {
		t.Fatalf("stored %d documents, want ok-0 and the earlier dup-3", srv.Stored())
	}

	// The runtime resends only the retryable events; once the faults
	// clear they land and nothing else is written again.
	srv.ClearIDFaults()
	var retry []sinks.Event
	for i, err := range errs {
		if o := outcome(err); o == "retry" || o == "backpressure" {
			retry = append(retry, evs[i])
		}
	}
	for i, err := range d.Deliver(context.Background(), retry) {
		if err != nil {
			t.Errorf("resend of %s: %v", retry[i].UUID, err)
		}
	}
	reqs := srv.Requests()
	if last := reqs[len(reqs)-1]; last.Items != 5 {
		t.Errorf("resend carried %d items, want the 5 retryable", last.Items)
	}
	for key, n := range srv.Writes() {
		if n != 1 {
			t.Errorf("%s written %d times", key, n)
		}
	}
}

func TestReplayConflictIsDelivered(t *testing.T) {
	srv := elastictest.NewServer(t)
	d := newDest(t, srv, nil)
	evs := events(20)
	for round := range 2 {
		for i, err := range d.Deliver(context.Background(), evs) {
			if err != nil {
				t.Fatalf("round %d, %s: %v", round, evs[i].UUID, err)
			}
		}
	}
	if n := srv.ItemStatus(409); n != len(evs) {
		t.Errorf("replay got %d conflicts, want %d", n, len(evs))
	}
	if srv.Stored() != len(evs) {
		t.Errorf("stored %d, want %d", srv.Stored(), len(evs))
	}
}

func TestRequestLevelFailures(t *testing.T) {
	f := func(status int, typ, retryAfterHdr, wantOutcome string, wantRetryAfter time.Duration, wantText string) {
		t.Helper()
		srv := elastictest.NewServer(t)
		srv.FailNextRequest(status, typ, retryAfterHdr)
		evs := events(3)
		errs := newDest(t, srv, nil).Deliver(context.Background(), evs)
		for i, err := range errs {
			if got := outcome(err); got != wantOutcome {
				t.Errorf("HTTP %d, event %d: %s (%v), want %s", status, i, got, err, wantOutcome)
				continue
			}
			var e *sinks.Error
			if errors.As(err, &e) && (e.RetryAfter < wantRetryAfter-2*time.Second || e.RetryAfter > wantRetryAfter) {
				t.Errorf("HTTP %d: RetryAfter %s, want %s", status, e.RetryAfter, wantRetryAfter)
			}
			if !strings.Contains(err.Error(), wantText) {
				t.Errorf("HTTP %d: error %q does not contain %q", status, err, wantText)
			}
		}
		if srv.Stored() != 0 {
			t.Errorf("HTTP %d: %d documents stored", status, srv.Stored())
		}
	}
	f(429, "es_rejected_execution_exception", "7", "backpressure", 7*time.Second, "es_rejected_execution_exception")
	f(429, "circuit_breaking_exception", "", "backpressure", 0, "429")
	f(503, "unavailable", time.Now().Add(20*time.Second).UTC().Format(http.TimeFormat),
		"backpressure", 20*time.Second, "503")
	f(502, "bad_gateway", "", "backpressure", 0, "502")
	f(504, "timeout", "", "backpressure", 0, "504")
	f(400, "parse_exception", "", "permanent", 0, "parse_exception")
	f(401, "security_exception", "", "backpressure", 0, "elasticsearch rejected the credentials")
	f(403, "security_exception", "", "backpressure", 0, "elasticsearch rejected the credentials")
	f(500, "exception", "", "retry", 0, "500")
}

func TestSplitsOn413(t *testing.T) {
	srv := elastictest.NewServer(t)
	evs := events(9)
	one := len(evs[0].JSON) + 60 // document and action line, roughly
	srv.MaxBytes = 3 * one
	huge := event("huge", day1)
	huge.JSON = bytes.Replace(huge.JSON, []byte(`"SUCCESS"`), bytes.Repeat([]byte("x"), 4*one), 1)
	huge.JSON = append(huge.JSON[:len(huge.JSON)-1], []byte(`,"pad":"`+strings.Repeat("x", 4*one)+`"}`)...)
	evs = append(evs[:4], append([]sinks.Event{huge}, evs[4:]...)...)

	errs := newDest(t, srv, nil).Deliver(context.Background(), evs)
	for i, err := range errs {
		want := "delivered"
		if evs[i].UUID == "huge" {
			want = "permanent"
		}
		if got := outcome(err); got != want {
			t.Errorf("%s: %s (%v), want %s", evs[i].UUID, got, err, want)
		}
	}
	if srv.Stored() != len(evs)-1 {
		t.Errorf("stored %d, want %d", srv.Stored(), len(evs)-1)
	}
	tooLarge := 0
	for _, r := range srv.Requests() {
		if r.Status == 413 {
			tooLarge++
		} else if len(r.Body) > srv.MaxBytes {
			t.Errorf("a %d-byte request above the %d cap was accepted", len(r.Body), srv.MaxBytes)
		}
	}
	if tooLarge < 2 {
		t.Errorf("%d requests got 413; the test wants splitting to happen", tooLarge)
	}
}

func TestIndexPatternByDate(t *testing.T) {
	srv := elastictest.NewServer(t)
	d := newDest(t, srv, func(c *Config) { c.Index = "okta-{2006.01.02}" })
	late := time.Date(2024, 5, 1, 23, 30, 0, 0, time.FixedZone("UTC-2", -2*3600)) // May 2 in UTC
	noPublished := event("no-published", time.Time{})
	noPublished.Published = time.Time{}
	evs := []sinks.Event{event("a", day1), event("b", late), noPublished}
	for i, err := range d.Deliver(context.Background(), evs) {
		if err != nil {
			t.Fatalf("%s: %v", evs[i].UUID, err)
		}
	}
	for _, c := range []struct{ index, id string }{{"okta-2024.05.01", "a"}, {"okta-2024.05.02", "b"}} {
		if _, ok := srv.Doc(c.index, c.id); !ok {
			t.Errorf("%s not in %s", c.id, c.index)
		}
	}
	today := "okta-" + time.Now().UTC().Format("2006.01.02")
	yesterday := "okta-" + time.Now().UTC().Add(-time.Hour).Format("2006.01.02") // around midnight
	_, okToday := srv.Doc(today, "no-published")
	_, okYesterday := srv.Doc(yesterday, "no-published")
	if !okToday && !okYesterday {
		t.Errorf("an event without a published time is not in today's index %s", today)
	}
}

func TestDataStreamTimestamp(t *testing.T) {
	const stream = "logs-okta.system-default"
	srv := elastictest.NewServer(t)
	srv.DataStreams[stream] = true

	// Without data_stream the documents have no @timestamp: rejected.
	plain := newDest(t, srv, func(c *Config) { c.Index = stream })
	for _, err := range plain.Deliver(context.Background(), events(2)) {
		if outcome(err) != "permanent" || !strings.Contains(err.Error(), "@timestamp") {
			t.Errorf("without @timestamp: %v", err)
		}
	}

	d := newDest(t, srv, func(c *Config) { c.Index, c.DataStream = stream, true })
	empty := sinks.Event{JSON: []byte(`{}`), UUID: "empty", Published: day1}
	evs := append(events(2), empty)
	for i, err := range d.Deliver(context.Background(), evs) {
		if err != nil {
			t.Fatalf("%s: %v", evs[i].UUID, err)
		}
	}
	for _, ev := range evs {
		src, ok := srv.Doc(stream, ev.UUID)
		if !ok {
			t.Fatalf("%s not stored", ev.UUID)
		}
		var doc map[string]any
		if err := json.Unmarshal(src, &doc); err != nil {
			t.Fatalf("%s: stored %s: %v", ev.UUID, src, err)
		}
		if doc["@timestamp"] != "2024-05-01T12:34:56.789Z" {
			t.Errorf("%s: @timestamp %v", ev.UUID, doc["@timestamp"])
		}
		if ev.UUID != "empty" && doc["uuid"] != ev.UUID {
			t.Errorf("%s: the event's fields were not kept: %s", ev.UUID, src)
		}
	}
}

func TestFraming(t *testing.T) {
	srv := elastictest.NewServer(t)
	d := newDest(t, srv, func(c *Config) { c.Gzip = true })
	evs := events(4)
	evs[1].JSON = []byte("{\n  \"uuid\": \"uuid-001\",\n  \"n\": 1\n}\n") // pretty-printed
	evs = append(evs, sinks.Event{JSON: []byte(`not json`), UUID: "broken"})
	errs := d.Deliver(context.Background(), evs)
	for i, err := range errs[:4] {
		if err != nil {
			t.Errorf("%s: %v", evs[i].UUID, err)
		}
	}
	if outcome(errs[4]) != "permanent" {
		t.Errorf("an event that is not JSON: %v, want permanent", errs[4])
	}
	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if ct := r.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("Content-Type %q", ct)
	}
	if r.Header.Get("Content-Encoding") != "gzip" {
		t.Error("gzip is on but the body is not gzipped")
	}
	if !strings.Contains(r.Query, "filter_path=errors,items.*.status") {
		t.Errorf("query %q has no filter_path", r.Query)
	}
	lines := strings.Split(string(r.Body), "\n")
	if lines[len(lines)-1] != "" || len(lines) != 2*4+1 {
		t.Fatalf("body is not 4 newline-terminated pairs:\n%s", r.Body)
	}
	for i, l := range lines[:len(lines)-1] {
		if !json.Valid([]byte(l)) {
			t.Errorf("line %d is not JSON: %s", i, l)
		}
		if i%2 == 0 && !strings.HasPrefix(l, `{"create":{"_index":"okta","_id":"uuid-00`) {
			t.Errorf("line %d is not a create action: %s", i, l)
		}
	}
}

func TestAuthHeaders(t *testing.T) {
	t.Setenv("HB_TEST_ES_PASSWORD", "s3cret-pass")
	srv := elastictest.NewServer(t)
	srv.Username, srv.Password = "elastic", "s3cret-pass"
	basic := newDest(t, srv, func(c *Config) {
		c.Username, c.Password = "elastic", confval.Secret{Env: "HB_TEST_ES_PASSWORD"}
	})
	if err := basic.Deliver(context.Background(), events(1))[0]; err != nil {
		t.Fatalf("basic auth: %v", err)
	}
	if got := srv.Requests()[0].Header.Get("Authorization"); got != "Basic ZWxhc3RpYzpzM2NyZXQtcGFzcw==" {
		t.Errorf("Authorization %q", got)
	}

	wrong := newDest(t, srv, func(c *Config) {
		c.Username, c.Password = "elastic", confval.Secret{Value: "wrong-pass"}
	})
	err := wrong.Deliver(context.Background(), events(1))[0]
	if outcome(err) != "backpressure" || !errors.Is(err, ErrRejectedCredentials) ||
		strings.Contains(err.Error(), "wrong-pass") {
		t.Errorf("wrong password: %v", err)
	}

	keyed := elastictest.NewServer(t)
	keyed.APIKey = "aWQ6a2V5"
	apiKey := newDest(t, keyed, func(c *Config) { c.APIKey = confval.Secret{Value: "aWQ6a2V5"} })
	if err := apiKey.Deliver(context.Background(), events(1))[0]; err != nil {
		t.Fatalf("api key: %v", err)
	}
	if got := keyed.Requests()[0].Header.Get("Authorization"); got != "ApiKey aWQ6a2V5" {
		t.Errorf("Authorization %q", got)
	}
}

func TestNetworkErrorIsRetried(t *testing.T) {
	srv := elastictest.NewServer(t)
	d := newDest(t, srv, nil)
	srv.Close()
	for _, err := range d.Deliver(context.Background(), events(2)) {
		if err == nil || outcome(err) == "permanent" {
			t.Errorf("server down: %v, want retryable", err)
		}
	}
}

// TestFakeFraming checks the fake against Elasticsearch's framing rules,
// which the destination tests rely on.
func TestFakeFraming(t *testing.T) {
	srv := elastictest.NewServer(t)
	srv.DataStreams["logs-x"] = true
	post := func(body string) (int, string) {
		t.Helper()
		res, err := http.Post(srv.URL+"/_bulk", "application/x-ndjson", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(res.Body)
		return res.StatusCode, b.String()
	}
	f := func(body string, wantStatus int, want string) {
		t.Helper()
		status, resp := post(body)
		if status != wantStatus || !strings.Contains(resp, want) {
			t.Errorf("%q: %d %s, want %d with %q", body, status, resp, wantStatus, want)
		}
	}
	f(`{"create":{"_index":"a","_id":"1"}}`+"\n"+`{"x":1}`, 400, "terminated by a newline")
	f(`{"create":{"_index":"a","_id":"1"}}`+"\n", 400, "no document")
	f(`{"create":{"_index":"a","_id":"1"}}`+"\n"+`{"x":1}`+"\n", 200, `"status":201`)
	f(`{"create":{"_index":"a","_id":"1"}}`+"\n"+`{"x":1}`+"\n", 200, "version_conflict_engine_exception")
	f(`{"index":{"_index":"a","_id":"1"}}`+"\n"+`{"x":2}`+"\n", 200, `"status":200`)
	f(`{"index":{"_index":"logs-x","_id":"1"}}`+"\n"+`{"@timestamp":"2024-05-01T00:00:00Z"}`+"\n",
		200, "op_type of create")
	f(`{"create":{"_index":"logs-x","_id":"1"}}`+"\n"+`{"x":1}`+"\n", 200, "[@timestamp] is missing")
	f(`{"create":{"_index":"a","_id":"2"}}`+"\n"+`{"x":`+"\n", 200, "document_parsing_exception")
}

func TestConfigValidate(t *testing.T) {
	f := func(mut func(c *Config), want string) {
		t.Helper()
		c := Config{URL: "http://127.0.0.1:9200", Index: "okta"}
		mut(&c)
		err := c.Validate()
		if want == "" {
			if err != nil {
				t.Errorf("%+v: %v", c, err)
			}
			return
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: %v, want %q", c, err, want)
		}
	}
	f(func(c *Config) {}, "")
	f(func(c *Config) { c.URL = "" }, "elasticsearch.url is required")
	f(func(c *Config) { c.URL = "127.0.0.1:9200" }, "elasticsearch.url")
	f(func(c *Config) { c.URL = "https://u:p@es:9200" }, "must not hold credentials")
	f(func(c *Config) { c.TLS.InsecureSkipVerify = true }, "elasticsearch.tls")
	f(func(c *Config) { c.Index = "" }, "elasticsearch.index is required")
	f(func(c *Config) { c.Index = "Okta" }, "lowercase")
	f(func(c *Config) { c.Index = "okta-{2006.01.02" }, "unbalanced {")
	f(func(c *Config) { c.Index = "okta-{Jan}" }, "lowercase")
	f(func(c *Config) { c.Index = "_okta" }, "must not start")
	f(func(c *Config) { c.Index = "okta-{2006.01.02}" }, "")
	f(func(c *Config) { c.Username = "elastic" }, "elasticsearch.password is required")
	f(func(c *Config) { c.Password = confval.Secret{Value: "x"} }, "elasticsearch.username is required")
	f(func(c *Config) {
		c.Username, c.Password, c.APIKey = "e", confval.Secret{Value: "x"}, confval.Secret{Value: "k"}
	}, "elasticsearch.api_key")
	f(func(c *Config) { c.Timeout = -time.Second }, "elasticsearch.timeout")

	c := Config{URL: "http://127.0.0.1:9200", Index: "okta"}
	if err := c.Validate(); err != nil || c.Timeout != defaultTimeout {
		t.Errorf("timeout default %s, %v", c.Timeout, err)
	}
	if _, err := New("es", Config{URL: "http://127.0.0.1:9200", Index: "okta",
		APIKey: confval.Secret{Env: "HB_TEST_ES_UNSET_KEY"}}); err == nil ||
		!strings.Contains(err.Error(), "elasticsearch.api_key") {
		t.Errorf("unresolvable api_key: %v", err)
	}
}

// TestThroughSinkRuntime runs the destination under the sinks runtime
// against kfake: item 429s are retried, the one document Elasticsearch
// cannot parse is dead-lettered, every other event is stored once, and all
// offsets are committed. A second group replaying the topic from the start
// gets 409 for each stored event, which counts as delivered.
func TestThroughSinkRuntime(t *testing.T) {
	kc, texts := sinktest.Cluster(t, 100)
	uuids := make([]string, len(texts))
	for i, text := range texts {
		uuids[i] = string(fastjson.MustParseBytes(text).GetStringBytes("uuid"))
	}
	bad := uuids[37]
	srv := elastictest.NewServer(t)
	srv.BadIDSuffix = bad // the full uuid: only that event matches
	srv.FailNextItems(15, 429, "es_rejected_execution_exception")
	srv.FailNextRequest(429, "es_rejected_execution_exception", "")
	dest := newDest(t, srv, func(c *Config) { c.Index = "okta-{2006.01}" })

	runSink(t, kc, "es", dest, func() bool {
		return srv.Stored() == len(uuids)-1 && sinktest.Committed(t, kc, "hookbridge-sink-es") == int64(len(uuids))
	})
	if srv.Stored() != len(uuids)-1 {
		t.Fatalf("stored %d, want %d", srv.Stored(), len(uuids)-1)
	}
	if n := sinktest.Committed(t, kc, "hookbridge-sink-es"); n != int64(len(uuids)) {
		t.Errorf("committed %d, want %d", n, len(uuids))
	}
	if srv.ItemStatus(429) != 15 {
		t.Errorf("%d item 429s, want the 15 scripted", srv.ItemStatus(429))
	}
	checkStoredOnce(t, srv, uuids, bad)
	checkDeadLetters(t, kc, "es.deadletter", bad)

	// Replay: a new group reads everything again.
	conflicts := srv.ItemStatus(409)
	replay := newDest(t, srv, func(c *Config) { c.Index = "okta-{2006.01}" })
	runSink(t, kc, "es-replay", replay, func() bool {
		return sinktest.Committed(t, kc, "hookbridge-sink-es-replay") == int64(len(uuids))
	})
	if got := srv.ItemStatus(409) - conflicts; got != len(uuids)-1 {
		t.Errorf("replay got %d conflicts, want %d", got, len(uuids)-1)
	}
	checkStoredOnce(t, srv, uuids, bad)
	checkDeadLetters(t, kc, "es-replay.deadletter", bad)
	checkDeadLetters(t, kc, "es.deadletter", bad)
}

func checkStoredOnce(t *testing.T, srv *elastictest.Server, uuids []string, bad string) {
	t.Helper()
	perID := map[string]int{}
	for key, n := range srv.Writes() {
		perID[key[strings.LastIndexByte(key, '/')+1:]] += n
	}
	for _, id := range uuids {
		want := 1
		if id == bad {
			want = 0
		}
		if perID[id] != want {
			t.Errorf("%s written %d times, want %d", id, perID[id], want)
		}
	}
}

// checkDeadLetters reads topic from the start and wants exactly the event
// bad, with a reason naming the parse failure.
func checkDeadLetters(t *testing.T, kc broker.Config, topic, bad string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(kc.Brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var dead []*kgo.Record
	// Poll until a poll comes back empty once at least one record arrived,
	// so that an extra dead letter would be seen.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		recs := cl.PollFetches(ctx).Records()
		cancel()
		dead = append(dead, recs...)
		if len(dead) > 0 && len(recs) == 0 {
			break
		}
	}
	if len(dead) != 1 {
		t.Fatalf("%s holds %d dead letters, want 1", topic, len(dead))
	}
	r := dead[0]
	if string(r.Key) != bad {
		t.Errorf("%s: dead letter %s, want %s", topic, r.Key, bad)
	}
	var why string
	for _, h := range r.Headers {
		if h.Key == sinks.HeaderSinkError {
			why = string(h.Value)
		}
	}
	if !strings.Contains(why, "document_parsing_exception") {
		t.Errorf("%s: dead letter reason %q", topic, why)
	}
}

// runSink runs sink name until stop returns true or a deadline passes.
func runSink(t *testing.T, kc broker.Config, name string, dest sinks.Destination, stop func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := sinks.Config{
		Name: name, Type: "elasticsearch", Topics: []string{"events"},
		Batch: sinks.BatchConfig{MaxEvents: 20, MaxAge: 50 * time.Millisecond},
		Retry: sinks.RetryConfig{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond},
	}
	s, err := sinks.New(ctx, cfg, sinks.Options{
		Kafka: kc, Destination: dest, Registerer: prometheus.NewRegistry(), Log: zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for !stop() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
