package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookbridge/hookbridge/broker"
	"github.com/hookbridge/hookbridge/ingest"
	"github.com/hookbridge/hookbridge/internal/testcorpus"
)

func event(uuid, typ string) []byte {
	return []byte(fmt.Sprintf(`{"uuid":%q,"published":"2026-01-02T03:04:05.678Z","eventType":%q}`, uuid, typ))
}

// TestDeadLetterIsolation sends bad events between good ones: the delivery
// is 200, good events land in their topic, each bad one in the dead-letter
// topic with its reason and its JSON.
func TestDeadLetterIsolation(t *testing.T) {
	h := newHarness(t, nil)
	// key is the dead letter's record key: the event's uuid when it has one.
	bad := []struct{ json, reason, key string }{
		{`{"published":"2026-01-02T03:04:05.678Z","eventType":"user.lifecycle.create"}`, ingest.ReasonMissingUUID, ""},
		{`{"uuid":"","published":"2026-01-02T03:04:05.678Z"}`, ingest.ReasonMissingUUID, ""},
		{`{"uuid":12,"published":"2026-01-02T03:04:05.678Z"}`, ingest.ReasonMissingUUID, ""},
		{`{"uuid":"b4","eventType":"user.lifecycle.create"}`, ingest.ReasonMissingPublished, "b4"},
		{`{"uuid":"b5","published":"yesterday"}`, ingest.ReasonBadPublished, "b5"},
		{`"just a string"`, ingest.ReasonNotObject, ""},
		{`[1,2]`, ingest.ReasonNotObject, ""},
	}
	texts := [][]byte{event("g1", "user.lifecycle.create")}
	for _, b := range bad {
		texts = append(texts, []byte(b.json))
	}
	texts = append(texts, event("g2", "user.lifecycle.create"))
	if resp := h.post(testcorpus.Envelope("dl-1", texts...)); resp.status != 200 {
		t.Fatalf("status %d: %s", resp.status, resp.body)
	}
	good := h.records(h.events, 2)
	if string(good[0].Key) != "g1" || string(good[1].Key) != "g2" {
		t.Errorf("good events: %s, %s", good[0].Key, good[1].Key)
	}
	for i, r := range h.records(h.dlq, len(bad)) {
		var got map[string]json.RawMessage
		if err := json.Unmarshal(decode(t, r), &got); err != nil {
			t.Fatal(err)
		}
		var dl struct{ Reason, Error, Source string }
		_ = json.Unmarshal(got["_deadletter"], &dl)
		if dl.Reason != bad[i].reason || dl.Source != "okta" || dl.Error == "" {
			t.Errorf("dead letter %d: %+v, want reason %s", i, dl, bad[i].reason)
		}
		if header(r, ingest.HeaderReason) != bad[i].reason {
			t.Errorf("dead letter %d: reason header %q", i, header(r, ingest.HeaderReason))
		}
		if string(r.Key) != bad[i].key || (bad[i].key == "" && r.Key != nil) {
			t.Errorf("dead letter %d: key %q, want %q", i, r.Key, bad[i].key)
		}
		delete(got, "_deadletter")
		if inner, ok := got["event"]; ok && len(got) == 1 {
			if ok, why := testcorpus.Equal(inner, []byte(bad[i].json)); !ok {
				t.Errorf("dead letter %d lost the event: %s", i, why)
			}
			continue
		}
		rest, _ := json.Marshal(got)
		if ok, why := testcorpus.Equal(rest, []byte(bad[i].json)); !ok {
			t.Errorf("dead letter %d lost the event: %s", i, why)
		}
	}
	if got := h.metric("hookbridge_dead_letters_total", "reason", ingest.ReasonMissingUUID); got != 3 {
		t.Errorf("missing_uuid dead letters = %v, want 3", got)
	}
}

// TestTooLargeGoesToDeadLetter gives the event topic a small
// max.message.bytes: an event over it is dead-lettered whole, its
// neighbours are stored, and the delivery is 200.
func TestTooLargeGoesToDeadLetter(t *testing.T) {
	var events string
	h := newHarness(t, func(c *ingest.Config, kc *broker.Config) {
		events = c.Routing.DefaultTopic
		cl, err := kgo.NewClient(kgo.SeedBrokers(kc.Brokers...))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		limit := "4000"
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err := kadm.NewClient(cl).CreateTopic(ctx, 1, -1, map[string]*string{"max.message.bytes": &limit}, events)
		if err != nil || resp.Err != nil {
			t.Fatalf("create %s: %v %v", events, err, resp.Err)
		}
	})
	big := []byte(fmt.Sprintf(`{"uuid":"big","published":"2026-01-02T03:04:05.678Z","displayMessage":%q}`,
		strings.Repeat("é", 3000)))
	resp := h.post(testcorpus.Envelope("big-1", event("s1", "a"), big, event("s2", "b")))
	if resp.status != 200 {
		t.Fatalf("status %d: %s", resp.status, resp.body)
	}
	rs := h.records(events, 2)
	if string(rs[0].Key) != "s1" || string(rs[1].Key) != "s2" {
		t.Errorf("neighbours: %s %s", rs[0].Key, rs[1].Key)
	}
	dl := h.records(h.dlq, 1)[0]
	text := decode(t, dl)
	if !strings.Contains(string(text), `"reason":"too_large"`) || !strings.Contains(string(text), `"uuid":"big"`) {
		t.Errorf("dead letter: %.300s", text)
	}
	var m map[string]json.RawMessage
	_ = json.Unmarshal(text, &m)
	delete(m, "_deadletter")
	rest, _ := json.Marshal(m)
	if ok, why := testcorpus.Equal(rest, big); !ok {
		t.Errorf("the dead letter does not hold the whole event: %s", why)
	}
}

func TestDuplicates(t *testing.T) {
	h := newHarness(t, nil)
	first := testcorpus.Envelope("dup-1", event("d1", "x"), event("d2", "x"), event("d1", "x"))
	if resp := h.post(first); resp.status != 200 {
		t.Fatalf("status %d", resp.status)
	}
	// Okta redelivers with the same or a new eventId; both are repeats.
	again := testcorpus.Envelope("dup-2", event("d2", "x"), event("d3", "x"), event("d1", "x"))
	if resp := h.post(again); resp.status != 200 {
		t.Fatalf("status %d", resp.status)
	}
	// Same uuid, different event: kept (exported data has such reuse).
	other := testcorpus.Envelope("dup-3", event("d1", "y"))
	if resp := h.post(other); resp.status != 200 {
		t.Fatalf("status %d", resp.status)
	}
	rs := h.records(h.events, 4)
	var keys []string
	for _, r := range rs {
		keys = append(keys, string(r.Key)+"/"+header(r, ingest.HeaderEventType))
	}
	if got := strings.Join(keys, " "); got != "d1/x d2/x d3/x d1/y" {
		t.Errorf("stored %s", got)
	}
	h.noMoreRecords(h.events, 4)
	if got := h.metric("hookbridge_duplicates_total", "source", "okta"); got != 3 {
		t.Errorf("duplicates metric = %v, want 3", got)
	}
}

func TestDuplicatesOffWhenWindowIsZero(t *testing.T) {
	h := newHarness(t, func(c *ingest.Config, _ *broker.Config) { c.Dedup.Window = 0 })
	body := testcorpus.Envelope("nodup", event("z1", "x"))
	for range 2 {
		if resp := h.post(body); resp.status != 200 {
			t.Fatalf("status %d", resp.status)
		}
	}
	h.records(h.events, 2)
}
