package ingest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookbridge/hookbridge/broker"
	"github.com/hookbridge/hookbridge/ingest"
	"github.com/hookbridge/hookbridge/internal/testcorpus"
	"github.com/hookbridge/hookbridge/schema"
)

// deadLetterReason predicts what ingest does with an event: "" when it goes
// to its topic, else the dead-letter reason.
func deadLetterReason(t testing.TB, ev []byte) string {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(ev))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("fixture is not a JSON object: %v", err)
	}
	uuid, ok := m["uuid"].(string)
	if !ok || uuid == "" {
		return ingest.ReasonMissingUUID
	}
	pub, ok := m["published"].(string)
	if !ok {
		return ingest.ReasonMissingPublished
	}
	if _, ok := schema.ParseTime([]byte(pub)); !ok {
		return ingest.ReasonBadPublished
	}
	return ""
}

// TestEndToEndLossless posts every corpus file and the project's fixtures
// through the real server into Kafka, reads every record back and compares
// each event, decoded from the typed Avro fields, with what was sent.
// Deduplication is off: the corpus reuses uuids across different events.
func TestEndToEndLossless(t *testing.T) {
	files := map[string][]testcorpus.Event{"fixtures": testcorpus.Fixtures(t)}
	for _, f := range testcorpus.Files(t) {
		evs := testcorpus.FileEvents(t, f)
		files[evs[0].File] = evs
	}
	h := newHarness(t, func(c *ingest.Config, _ *broker.Config) {
		c.Dedup.Window = 0
		c.Routing.Rules = nil // one topic, one partition: records keep their order
	})

	var typed, dead []testcorpus.Event
	var reasons []string
	for name, evs := range files {
		texts := make([][]byte, len(evs))
		for i, ev := range evs {
			texts[i] = ev.JSON
			if r := deadLetterReason(t, ev.JSON); r != "" {
				dead = append(dead, ev)
				reasons = append(reasons, r)
			} else {
				typed = append(typed, ev)
			}
		}
		if resp := h.post(testcorpus.Envelope("delivery-"+name, texts...)); resp.status != 200 {
			t.Fatalf("%s: status %d: %s", name, resp.status, resp.body)
		}
	}
	if len(typed) < 50 || len(dead) == 0 {
		t.Fatalf("expected most events typed and some dead-lettered, got %d and %d", len(typed), len(dead))
	}

	for i, r := range h.records(h.events, len(typed)) {
		ev := typed[i]
		got := decode(t, r)
		if ok, why := testcorpus.Equal(ev.JSON, got); !ok {
			t.Errorf("%s: %s\nsent: %s\ngot:  %s", ev.Name(), why, ev.JSON, got)
		}
		if !bytes.HasPrefix(r.Value, []byte{0xC3, 0x01}) {
			t.Errorf("%s: value is not single-object encoded", ev.Name())
		}
		if header(r, ingest.HeaderSource) != "okta" {
			t.Errorf("%s: source header %q", ev.Name(), header(r, ingest.HeaderSource))
		}
	}
	for i, r := range h.records(h.dlq, len(dead)) {
		ev := dead[i]
		var got struct {
			DeadLetter struct{ Reason, Source string } `json:"_deadletter"`
		}
		text := decode(t, r)
		if err := json.Unmarshal(text, &got); err != nil {
			t.Fatal(err)
		}
		if got.DeadLetter.Reason != reasons[i] || got.DeadLetter.Source != "okta" {
			t.Errorf("%s: dead letter %+v, want reason %s", ev.Name(), got.DeadLetter, reasons[i])
		}
		// Without its _deadletter member the record is the event as sent.
		var m map[string]json.RawMessage
		_ = json.Unmarshal(text, &m)
		delete(m, "_deadletter")
		stripped, _ := json.Marshal(m)
		if ok, why := testcorpus.Equal(ev.JSON, stripped); !ok {
			t.Errorf("%s: dead letter lost data: %s", ev.Name(), why)
		}
	}
	if got := h.metric("hookbridge_events_total", "topic", h.events); got != float64(len(typed)) {
		t.Errorf("events metric = %v, want %d", got, len(typed))
	}
	t.Logf("%d events typed, %d dead-lettered, all equal to what was sent", len(typed), len(dead))
}

// TestRouting checks that rules pick topics, first match first, and that
// headers and keys are set.
func TestRouting(t *testing.T) {
	h := newHarness(t, func(c *ingest.Config, _ *broker.Config) {
		c.Routing.Rules = append([]ingest.RouteRule{{Match: "user.session.end", Topic: c.Routing.DefaultTopic}},
			c.Routing.Rules...)
	})
	ev := func(uuid, typ string) []byte {
		return []byte(fmt.Sprintf(`{"uuid":%q,"published":"2026-01-02T03:04:05.678Z","eventType":%q}`, uuid, typ))
	}
	body := testcorpus.Envelope("routing-1", ev("u1", "user.session.start"), ev("u2", "user.session.end"),
		ev("u3", "group.user_membership.add"), ev("u4", "user.session.clear"))
	if resp := h.post(body); resp.status != 200 || resp.body != "" {
		t.Fatalf("status %d body %q", resp.status, resp.body)
	}
	sessions := h.records(h.sessions, 2)
	events := h.records(h.events, 2)
	keys := func(rs []*kgo.Record) (out []string) {
		for _, r := range rs {
			out = append(out, string(r.Key))
		}
		return out
	}
	if got := fmt.Sprint(keys(sessions)); got != "[u1 u4]" {
		t.Errorf("session topic keys %s, want [u1 u4]", got)
	}
	if got := fmt.Sprint(keys(events)); got != "[u2 u3]" {
		t.Errorf("default topic keys %s, want [u2 u3] (first matching rule wins)", got)
	}
	r := sessions[0]
	if header(r, ingest.HeaderEventType) != "user.session.start" || header(r, ingest.HeaderDeliveryID) != "routing-1" {
		t.Errorf("headers %v", r.Headers)
	}
}

func TestRecordKeys(t *testing.T) {
	for _, c := range []struct{ key, want string }{
		{ingest.KeyActorID, "00uACTOR"}, {ingest.KeySource, "okta"}, {ingest.KeyUUID, "k1"},
	} {
		t.Run(c.key, func(t *testing.T) {
			h := newHarness(t, func(cfg *ingest.Config, _ *broker.Config) { cfg.Routing.Key = c.key })
			ev := `{"uuid":"k1","published":"2026-01-02T03:04:05.678Z","actor":{"id":"00uACTOR","type":"User"}}`
			if resp := h.post(testcorpus.Envelope("keys", []byte(ev))); resp.status != 200 {
				t.Fatalf("status %d", resp.status)
			}
			if got := string(h.records(h.events, 1)[0].Key); got != c.want {
				t.Errorf("key %q, want %q", got, c.want)
			}
		})
	}
}
