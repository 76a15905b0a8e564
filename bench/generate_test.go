package bench_test

import (
	"bytes"
	"encoding/json"
	"regexp"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hookbridge/hookbridge/bench"
	"github.com/hookbridge/hookbridge/internal/jsontape"
	"github.com/hookbridge/hookbridge/internal/testcorpus"
	"github.com/hookbridge/hookbridge/schema"
)

var uuidV4 = regexp.MustCompile(
	`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// msTime is the only published format the generator writes: RFC 3339 in UTC
// with exactly three fractional digits.
var msTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// logEvent is the part of an event the tests look at.
type logEvent struct {
	UUID      string                                       `json:"uuid"`
	Published string                                       `json:"published"`
	EventType string                                       `json:"eventType"`
	Target    []json.RawMessage                            `json:"target"`
	Request   struct{ IPChain []struct{ Version string } } `json:"request"`
}

func TestGenerateEvents(t *testing.T) {
	const n = 1000
	g := bench.NewGenerator(1)
	seen := make(map[string]bool, n)
	types := make(map[string]int)
	hops := make(map[string]int)
	total, nonASCII := 0, 0
	var last time.Time
	for i := range n {
		text := g.Event()
		ev := parseEvent(t, text)
		if !uuidV4.MatchString(ev.UUID) || seen[ev.UUID] {
			t.Fatalf("event %d: uuid %q is not a fresh v4 uuid", i, ev.UUID)
		}
		seen[ev.UUID] = true
		if !msTime.MatchString(ev.Published) {
			t.Fatalf("event %d: published %q is not RFC 3339 with milliseconds", i, ev.Published)
		}
		at, err := time.Parse(time.RFC3339Nano, ev.Published)
		if err != nil || at.Before(last) {
			t.Fatalf("event %d: published %q does not parse or goes back in time: %v",
				i, ev.Published, err)
		}
		last = at
		if len(text) < 700 || len(text) > 6000 {
			t.Fatalf("event %d (%s) is %d bytes, outside [700, 6000]", i, ev.EventType, len(text))
		}
		if ev.Target != nil && (len(ev.Target) < 1 || len(ev.Target) > 4) {
			t.Fatalf("event %d (%s) has %d targets", i, ev.EventType, len(ev.Target))
		}
		total += len(text)
		types[ev.EventType]++
		for _, h := range ev.Request.IPChain {
			hops[h.Version]++
		}
		if utf8.RuneCount(text) < len(text) {
			nonASCII++
		}
	}
	mean := total / n
	t.Logf("mean event size %d bytes; %d event types; hops %v; %d events with non-ASCII text",
		mean, len(types), hops, nonASCII)
	if mean < 1800 || mean > 2800 {
		t.Errorf("mean event size %d bytes, want 1800-2800", mean)
	}
	if len(types) < 10 {
		t.Errorf("only %d event types in %d events: %v", len(types), n, types)
	}
	if hops["V4"] == 0 || hops["V6"] == 0 {
		t.Errorf("ipChain hops by version: %v, want both V4 and V6", hops)
	}
	if nonASCII < n/4 {
		t.Errorf("only %d of %d events hold non-ASCII text", nonASCII, n)
	}
}

// TestGenerateRoundTrip converts every generated event the way ingest does
// and requires the decoded JSON to be the same value.
func TestGenerateRoundTrip(t *testing.T) {
	g := bench.NewGenerator(2)
	meta := &schema.Meta{Source: "bench", EventID: []byte("delivery-1"), ReceivedAt: time.Now()}
	var (
		doc jsontape.Doc
		enc schema.Encoder
		rec []byte
		out []byte
	)
	for i := range 1000 {
		text := g.Event()
		clean := schema.Sanitize(nil, text)
		if !bytes.Equal(clean, text) {
			t.Fatalf("event %d: Sanitize changed generated text %s", i, text)
		}
		if err := doc.Parse(bytes.Clone(clean)); err != nil {
			t.Fatalf("event %d: parse: %v", i, err)
		}
		v := doc.Root()
		var (
			info schema.Info
			err  error
		)
		if rec, info, err = enc.AppendEvent(rec[:0], v, meta); err != nil {
			t.Fatalf("event %d: encode: %v", i, err)
		}
		if info.UUID == nil || !info.PublishedOK {
			t.Fatalf("event %d: encoder saw uuid %q, published %q (ok %v)",
				i, info.UUID, info.Published, info.PublishedOK)
		}
		if out, _, err = schema.DecodeEvent(out[:0], rec); err != nil {
			t.Fatalf("event %d: decode: %v", i, err)
		}
		if ok, why := testcorpus.Equal(text, out); !ok {
			t.Fatalf("event %d: round trip changed the event: %s\nin:  %s\nout: %s",
				i, why, text, out)
		}
	}
}

func TestGenerateDelivery(t *testing.T) {
	g := bench.NewGenerator(3)
	ids := make(map[string]bool)
	for _, n := range []int{0, 1, 10, 50} {
		body, uuids := g.Delivery(n)
		var env struct {
			EventType string `json:"eventType"`
			EventID   string `json:"eventId"`
			EventTime string `json:"eventTime"`
			Data      struct {
				Events []json.RawMessage `json:"events"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			t.Fatalf("Delivery(%d) is not JSON: %v\n%s", n, err, body)
		}
		if env.EventType != "com.okta.event_hook" || !msTime.MatchString(env.EventTime) {
			t.Fatalf("Delivery(%d): eventType %q, eventTime %q", n, env.EventType, env.EventTime)
		}
		if !uuidV4.MatchString(env.EventID) || ids[env.EventID] {
			t.Fatalf("Delivery(%d): eventId %q is not a fresh v4 uuid", n, env.EventID)
		}
		ids[env.EventID] = true
		if len(env.Data.Events) != n || len(uuids) != n {
			t.Fatalf("Delivery(%d) has %d events and %d uuids", n, len(env.Data.Events), len(uuids))
		}
		for i, raw := range env.Data.Events {
			ev := parseEvent(t, raw)
			if ev.UUID != uuids[i] || ids[ev.UUID] {
				t.Fatalf("Delivery(%d) event %d: uuid %q, reported %q, or seen before",
					n, i, ev.UUID, uuids[i])
			}
			ids[ev.UUID] = true
			if ev.Published > env.EventTime {
				t.Fatalf("Delivery(%d) event %d published %s, after the delivery's %s",
					n, i, ev.Published, env.EventTime)
			}
		}
	}
}

func TestGenerateDeterministic(t *testing.T) {
	a, b, c := bench.NewGenerator(7), bench.NewGenerator(7), bench.NewGenerator(8)
	for range 20 {
		ea, eb, ec := a.Event(), b.Event(), c.Event()
		if !bytes.Equal(ea, eb) {
			t.Fatalf("the same seed gave different events:\n%s\n%s", ea, eb)
		}
		if bytes.Equal(ea, ec) {
			t.Fatalf("seeds 7 and 8 gave the same event %s", ea)
		}
	}
	da, _ := a.Delivery(5)
	db, _ := b.Delivery(5)
	if !bytes.Equal(da, db) {
		t.Fatal("the same seed gave different deliveries")
	}
}

// parseEvent requires text to be one JSON object and returns its main members.
func parseEvent(t testing.TB, text []byte) logEvent {
	t.Helper()
	if !json.Valid(text) || len(text) == 0 || text[0] != '{' {
		t.Fatalf("not a JSON object: %s", text)
	}
	var ev logEvent
	if err := json.Unmarshal(text, &ev); err != nil {
		t.Fatalf("%v: %s", err, text)
	}
	return ev
}
