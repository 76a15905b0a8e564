package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hookbridge/hookbridge/bench"
	"github.com/hookbridge/hookbridge/internal/jsontape"
	"github.com/hookbridge/hookbridge/internal/testcorpus"
	"github.com/hookbridge/hookbridge/schema"
)

// maxEnvelopeErrBytes bounds parseEnvelope's error text: it becomes the body
// of the 400 answer and, through Okta, what an operator reads in the event
// hook's delivery log.
const maxEnvelopeErrBytes = 300

// envelopeSeeds are odd bodies next to the corpus-shaped failures: types
// where objects belong, duplicates, nulls, broken text and trailing bytes.
var envelopeSeeds = []string{
	"",
	" \t\r\n",
	"hello",
	"{",
	"null",
	`"data"`,
	"42",
	"true",
	"[]",
	"{}",
	`{"eventType":"com.okta.event_hook"}`,
	`{"data":null}`,
	`{"data":[]}`,
	`{"data":"events"}`,
	`{"data":{}}`,
	`{"data":{"events":null}}`,
	`{"data":{"events":{}}}`,
	`{"data":{"events":"[]"}}`,
	`{"data":{"events":[]}}`,
	`{"data":{"events":[1,"x",null,true,[],{}]}}`,
	`{"data":{"events":[{"uuid":"a"}]},"data":{"events":[]}}`,
	`{"eventId":5,"eventTime":null,"data":{"events":[{}]}}`,
	`{"eventId":"","eventTime":"","data":{"events":[{"uuid":"","published":""}]}}`,
	`{"data":{"events":[{"uuid":"u","published":"2026-05-04T10:14:58.907Z"}]}}`,
	`{"data":{"events":[{"uuid":"a\ud800b","displayMessage":"\udc00\ud83d\ude00"}]}}`,
	"{\"data\":{\"events\":[{\"uuid\":\"\xff\xfe\",\"k\xc3\":1}]}}",
	"\xef\xbb\xbf{\"data\":{\"events\":[]}}",
	"{\"data\":{\"events\":[{\"a\":\"\x01\"}]}}",
	`{"x":"\q","data":{"events":[]}}`,
	`{"data":{"events":[]},"x":NaN}`,
	`{"data":{"events":[]}} x`,
	`{"data":{"events":[]}}{"data":{"events":[]}}`,
	`{"data":{"events":[{"debugContext":{"debugData":{"a":[[[[{"b":[]}]]]]}}}]}}`,
	`{"data":{"events":[{"client":{"geographicalContext":{"geolocation":{"lat":1e400}}}}]}}`,
	`{"data":{"events":[{"securityContext":{"asNumber":9223372036854775808}}]}}`,
}

// FuzzEnvelope feeds delivery bodies through the first steps of the
// handler: Sanitize, parseEnvelope, and the conversion of every event. It
// checks that nothing panics, that a refusal is a short single line fit for
// a 400 answer, and that every accepted event converts to Avro that decodes.
// Plain `go test` runs the seeds.
func FuzzEnvelope(f *testing.F) {
	var events [][]byte
	for _, ev := range testcorpus.Fixtures(f) {
		events = append(events, ev.JSON)
		f.Add(testcorpus.Envelope("seed-"+ev.Name(), ev.JSON))
	}
	all := testcorpus.Envelope("seed-all", events...)
	f.Add(all)
	// The corpus-shaped failures: a truncated delivery and a bare array of
	// events where the envelope belongs. The rest are in envelopeSeeds.
	open := bytes.Index(all, []byte(`"events":[`)) + len(`"events":[`)
	f.Add(all[:open])
	f.Add(all[:open/2])
	f.Add(append(append([]byte{'['}, bytes.Join(events, []byte{','})...), ']'))
	for _, n := range []int{0, 1, 3} {
		body, _ := bench.NewGenerator(uint64(n)).Delivery(n)
		f.Add(body)
	}
	for _, s := range envelopeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkEnvelope(t, data)
	})
}

// checkEnvelope runs one body the way delivery.run does and checks the
// properties FuzzEnvelope states.
func checkEnvelope(t *testing.T, data []byte) {
	// As delivery.run does: only invalid UTF-8 is repaired before parsing.
	body := data
	if !utf8.Valid(body) {
		body = schema.Sanitize(nil, data)
	}
	var doc jsontape.Doc
	env, err := parseEnvelope(&doc, bytes.Clone(body))
	if err != nil {
		msg := err.Error()
		switch {
		case msg == "":
			t.Fatalf("parseEnvelope(%q) failed with an empty message", body)
		case strings.ContainsAny(msg, "\r\n"):
			t.Fatalf("parseEnvelope(%q): message is not one line: %q", body, msg)
		case len(msg) > maxEnvelopeErrBytes:
			t.Fatalf("parseEnvelope(%q): message is %d bytes, over %d: %q",
				body, len(msg), maxEnvelopeErrBytes, msg)
		}
		return
	}
	if !json.Valid(body) {
		t.Fatalf("parseEnvelope accepted %q, which encoding/json refuses", body)
	}

	meta := schema.Meta{
		Source: "fuzz", EventID: env.eventID, EventTime: env.eventTime,
		ReceivedAt: time.UnixMilli(1777889702311), KeepRaw: true,
	}
	var enc schema.Encoder
	var rec, out []byte
	i := -1
	for ev := range env.events.Items() {
		i++
		rec, _, err = enc.AppendEvent(rec[:0], ev, &meta)
		if ev.Kind() != jsontape.Object {
			if !errors.Is(err, schema.ErrNotObject) {
				t.Fatalf("event %d is a JSON %s: AppendEvent = %v, want ErrNotObject",
					i, ev.Kind(), err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("event %d: AppendEvent: %v\nbody: %q", i, err, body)
		}
		if out, _, err = schema.DecodeEvent(out[:0], rec); err != nil {
			t.Fatalf("event %d: DecodeEvent: %v\nbody: %q\nrecord: %x", i, err, body, rec)
		}
		if !json.Valid(out) {
			t.Fatalf("event %d decoded to invalid JSON %q\nbody: %q", i, out, body)
		}
	}
}

// TestHostileNesting sends bodies nested millions of levels deep, which
// would overflow a recursive validator's stack: each is a quick 400.
func TestHostileNesting(t *testing.T) {
	var doc jsontape.Doc
	for _, body := range [][]byte{
		append(append([]byte(`{"data":{"events":[`), bytes.Repeat([]byte("["), 2_100_000)...),
			append(bytes.Repeat([]byte("]"), 2_100_000), "]}}"...)...),
		bytes.Repeat([]byte("["), 40_000),
		append(bytes.Repeat([]byte(`{"a":`), 400), bytes.Repeat([]byte("}"), 400)...),
	} {
		_, err := parseEnvelope(&doc, body)
		if err == nil {
			t.Fatalf("a body nested %d deep was accepted", bytes.Count(body, []byte("[")))
		}
		if len(err.Error()) > maxEnvelopeErrBytes || strings.ContainsAny(err.Error(), "\n\r") {
			t.Errorf("error is not one short line: %q", err)
		}
	}
}

// TestErrorsQuoteNothing checks that a reason names a position, not the body.
func TestErrorsQuoteNothing(t *testing.T) {
	var doc jsontape.Doc
	body := []byte(`{"x":nope,"clientSecret":"s3cr3t-value","data":{"events":[]}}`)
	_, err := parseEnvelope(&doc, body)
	if err == nil || strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), "at byte 6") {
		t.Fatalf("error %q", err)
	}
}
