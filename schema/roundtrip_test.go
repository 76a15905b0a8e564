package schema_test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hamba/avro/v2"

	"github.com/hookbridge/hookbridge/internal/jsontape"
	"github.com/hookbridge/hookbridge/internal/testcorpus"
	"github.com/hookbridge/hookbridge/schema"
)

var meta = &schema.Meta{
	Source:     "okta",
	EventID:    []byte("6f1c2d3e-0000-4000-8000-00000000fake"),
	EventTime:  []byte("2026-05-04T10:15:02.311Z"),
	ReceivedAt: time.UnixMilli(1777889702311),
}

// encode converts one event's JSON text to an Avro body.
func encode(t testing.TB, enc *schema.Encoder, text []byte) ([]byte, schema.Info) {
	t.Helper()
	v, err := jsontape.Parse(schema.Sanitize(nil, bytes.Clone(text)))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	body, info, err := enc.AppendEvent(nil, v, meta)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return body, info
}

func mustSchemas(t testing.TB) *schema.Schemas {
	t.Helper()
	s, err := schema.Parse()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// roundTrip checks JSON → Avro → JSON gives the same value, and that an
// independent Avro implementation (hamba/avro) reads the body completely.
func roundTrip(t *testing.T, events []testcorpus.Event) {
	s := mustSchemas(t)
	var enc schema.Encoder
	for _, ev := range events {
		t.Run(ev.Name(), func(t *testing.T) {
			body, info := encode(t, &enc, ev.JSON)
			got, d, err := schema.DecodeEvent(nil, body)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if ok, why := testcorpus.Equal(ev.JSON, got); !ok {
				t.Fatalf("round trip changed the event: %s\nin:  %s\nout: %s", why, ev.JSON, got)
			}
			if d.Source != "okta" || *d.EventID != string(meta.EventID) ||
				!d.ReceivedAt.Equal(meta.ReceivedAt) || d.Raw != nil {
				t.Fatalf("delivery metadata = %+v", d)
			}
			var generic map[string]any
			if err := avro.Unmarshal(s.LogEvent, body, &generic); err != nil {
				t.Fatalf("hamba/avro cannot read the record: %v", err)
			}
			if uuid, _ := generic["uuid"].(string); uuid != string(info.UUID) {
				t.Fatalf("hamba/avro read uuid %q, the encoder saw %q", uuid, info.UUID)
			}
		})
	}
}

func TestRoundTripCorpus(t *testing.T)   { roundTrip(t, testcorpus.Events(t)) }
func TestRoundTripFixtures(t *testing.T) { roundTrip(t, testcorpus.Fixtures(t)) }

func TestTypedFields(t *testing.T) {
	s := mustSchemas(t)
	var enc schema.Encoder
	evs := testcorpus.Fixtures(t)
	read := func(i int) map[string]any {
		body, _ := encode(t, &enc, evs[i].JSON)
		var m map[string]any
		if err := avro.Unmarshal(s.LogEvent, body, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	f := func(got, want any, what string) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %#v, want %#v", what, got, want)
		}
	}

	first := read(0)
	geo := rec(t, first, "client", "geographicalContext", "geolocation")
	f(geo["lat"], 47.3769, "client.geographicalContext.geolocation.lat")
	sec := rec(t, first, "securityContext")
	f(sec["asNumber"], int64(64496), "securityContext.asNumber")
	f(sec["isProxy"], false, "securityContext.isProxy")
	f(first["publishedTime"], time.UnixMilli(1777889698907).UTC(), "publishedTime")
	f(rec(t, first, "actor")["displayName"], "Zoë Müller 山田", "actor.displayName")
	f(first["_extra"], nil, "_extra")
	f(len(first["_absent"].([]any)), 0, "len(_absent)")

	// Values of the wrong type and unknown or differently cased keys go to
	// _extra; the typed field stays null and the case never overwrites.
	third := read(2)
	f(third["eventType"], "user.lifecycle.deactivate", "eventType")
	extra := third["_extra"].(string)
	for _, want := range []string{`"eventtype":"not the event type"`, `"insertionTimestamp":null`, `1e400`} {
		if !bytes.Contains([]byte(extra), []byte(want)) {
			t.Errorf("_extra %s lacks %s", extra, want)
		}
	}
	geo3 := rec(t, third, "client", "geographicalContext", "geolocation")
	f(geo3["lat"], nil, "lat given as a string")
	f(geo3["lon"], nil, "lon whose digits a double cannot hold")
	f(geo3["_extra"], `{"lat":"44.05","lon":-123.020000000000000000001}`, "geolocation._extra")
	f(third["publishedTime"], time.UnixMilli(1777882501500).UTC(), "publishedTime with offset")
}

// rec follows a path of nested records in hamba/avro's generic form, where
// a record inside a union comes wrapped as {"namespace.Name": {...}}.
func rec(t *testing.T, m map[string]any, path ...string) map[string]any {
	t.Helper()
	for _, p := range path {
		wrapped, ok := m[p].(map[string]any)
		if !ok || len(wrapped) != 1 {
			t.Fatalf("%s is not a record: %#v", p, m[p])
		}
		for _, inner := range wrapped {
			m = inner.(map[string]any)
		}
	}
	return m
}

func TestAbsentDiffersFromNull(t *testing.T) {
	exactRoundTrip(t,
		`{"uuid":"a","client":{"id":null}}`,
		`{"uuid":"a","client":{}}`,
		`{"uuid":"a","client":null}`,
		`{"uuid":"a"}`,
		`{"uuid":"a","published":null}`,
	)
}

func TestDuplicateKeysKeepOrder(t *testing.T) {
	var enc schema.Encoder
	in := `{"uuid":1,"a":0,"uuid":"b"}`
	body, info := encode(t, &enc, []byte(in))
	if info.UUID != nil {
		t.Fatalf("a duplicated uuid must not be taken as the uuid, got %q", info.UUID)
	}
	got, _, err := schema.DecodeEvent(nil, body)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":0,"uuid":1,"uuid":"b"}`; string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestKeepRaw(t *testing.T) {
	var enc schema.Encoder
	v, _ := jsontape.Parse([]byte(`{"uuid":"a", "x": [1, 2]}`))
	m := *meta
	m.KeepRaw = true
	body, _, err := enc.AppendEvent(nil, v, &m)
	if err != nil {
		t.Fatal(err)
	}
	_, d, err := schema.DecodeEvent(nil, body)
	if err != nil {
		t.Fatal(err)
	}
	if d.Raw == nil || *d.Raw != `{"uuid":"a","x":[1,2]}` {
		t.Fatalf("raw = %v", d.Raw)
	}
}

func TestNotObject(t *testing.T) {
	var enc schema.Encoder
	for _, text := range []string{`[]`, `"x"`, `1`, `null`} {
		v, _ := jsontape.Parse([]byte(text))
		if _, _, err := enc.AppendEvent(nil, v, meta); err != schema.ErrNotObject {
			t.Errorf("%s: err = %v, want ErrNotObject", text, err)
		}
	}
}

func TestDecodeRejectsGarbage(t *testing.T) {
	var enc schema.Encoder
	body, _ := encode(t, &enc, testcorpus.Fixtures(t)[0].JSON)
	for n := 0; n < len(body); n += 7 {
		if _, _, err := schema.DecodeEvent(nil, body[:n]); err == nil {
			t.Fatalf("decoding %d of %d bytes succeeded", n, len(body))
		}
	}
	if _, _, err := schema.DecodeEvent(nil, append(body, 0)); err == nil {
		t.Fatal("a trailing byte was accepted")
	}
}

// exactRoundTrip checks that each text comes back byte for byte: key order
// too, for texts whose keys are in schema order.
func exactRoundTrip(t *testing.T, texts ...string) {
	t.Helper()
	var enc schema.Encoder
	for _, text := range texts {
		body, _ := encode(t, &enc, []byte(text))
		got, _, err := schema.DecodeEvent(nil, body)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != text {
			t.Errorf("%s came back as %s", text, got)
		}
	}
}

// A value of the wrong type comes back once, under its key, from _extra.
func TestMismatchedTypeComesBackOnce(t *testing.T) {
	exactRoundTrip(t,
		`{"uuid":"a","client":{"geographicalContext":{"geolocation":{"lat":"x"}}}}`,
		`{"uuid":7,"target":{"id":"not an array"}}`,
		`{"published":42}`,
	)
}

// The single-object fingerprints are the specification's: CRC-64-AVRO of the
// Parsing Canonical Form, where a timestamp-millis long is just "long". The
// expected values were computed by an independent implementation (the
// python3-avro cross-check's own canonical form and Rabin CRC).
func TestFingerprints(t *testing.T) {
	s := mustSchemas(t)
	if got := fmt.Sprintf("%x", s.LogEventFP); got != "0b3000592dc1c6a2" {
		t.Errorf("LogEvent fingerprint %s", got)
	}
	if got := fmt.Sprintf("%x", s.DeadLetterFP); got != "82da0b95fc4bbd4e" {
		t.Errorf("DeadLetter fingerprint %s", got)
	}
}

// TestEncoderHistory: an encoder learns the member order of each record
// from the objects it converts, to find fields sooner. What it learned must
// never change its output: every corpus event, with its members as sent,
// reversed, rotated, and with a duplicate and an unknown member, converts
// to the same bytes after any history as on a fresh encoder.
func TestEncoderHistory(t *testing.T) {
	var texts [][]byte
	for _, ev := range testcorpus.Events(t) {
		v, err := jsontape.Parse(bytes.Clone(ev.JSON))
		if err != nil {
			t.Fatal(err)
		}
		for _, reorder := range []func([]int) []int{
			func(idx []int) []int { return idx },
			func(idx []int) []int { slices.Reverse(idx); return idx },
			func(idx []int) []int { return append(idx[len(idx)/2:], idx[:len(idx)/2]...) },
		} {
			texts = append(texts, reordered(nil, v, reorder, false))
		}
		texts = append(texts, reordered(nil, v, func(idx []int) []int { return idx }, true))
	}
	var shared schema.Encoder
	for round := range 2 {
		for i, text := range texts {
			var fresh schema.Encoder
			want, _ := encode(t, &fresh, text)
			got, _ := encode(t, &shared, text)
			if !bytes.Equal(got, want) {
				t.Fatalf("round %d, text %d: output depends on the encoder's history\n%s", round, i, text)
			}
		}
		// The second round sees the texts after all of them.
		slices.Reverse(texts)
	}
}

// reordered writes v as JSON with the members of every object in the order
// reorder gives for their indexes; odd, when set, repeats each object's first
// member at its end and adds an unknown one.
func reordered(dst []byte, v jsontape.Value, reorder func([]int) []int, odd bool) []byte {
	switch v.Kind() {
	case jsontape.Object:
		var keys [][]byte
		var vals []jsontape.Value
		for k, m := range v.Members() {
			keys, vals = append(keys, k), append(vals, m)
		}
		idx := make([]int, len(keys))
		for i := range idx {
			idx[i] = i
		}
		idx = reorder(idx)
		if odd && len(idx) > 0 {
			idx = append(idx, idx[0])
		}
		dst = append(dst, '{')
		for n, i := range idx {
			if n > 0 {
				dst = append(dst, ',')
			}
			dst = schema.AppendJSONString(dst, keys[i])
			dst = reordered(append(dst, ':'), vals[i], reorder, odd)
		}
		if odd {
			if len(idx) > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `"zzUnknown":[1,{"a":null}]`...)
		}
		return append(dst, '}')
	case jsontape.Array:
		dst = append(dst, '[')
		n := 0
		for it := range v.Items() {
			if n > 0 {
				dst = append(dst, ',')
			}
			dst = reordered(dst, it, reorder, odd)
			n++
		}
		return append(dst, ']')
	}
	return schema.AppendJSON(dst, v)
}
