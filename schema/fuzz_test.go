package schema_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/hamba/avro/v2"

	"github.com/hookbridge/hookbridge/internal/jsontape"
	"github.com/hookbridge/hookbridge/internal/testcorpus"
	"github.com/hookbridge/hookbridge/schema"
)

// fuzzSeeds are inputs that steer the fuzzer towards the converter's edges:
// wrong types, duplicates, nulls against absence, numbers a double cannot
// hold, broken UTF-8 and lone surrogates.
var fuzzSeeds = []string{
	`{}`,
	`[]`,
	`"x"`,
	`1`,
	`null`,
	`{"uuid":null}`,
	`{"uuid":1,"a":0,"uuid":"b"}`,
	`{"client":{"id":1,"id":2,"x":{},"x":[]},"target":[{"id":"t","id":null}]}`,
	`{"uuid":"a\ud800b","published":"2022-03-22 14:21:53.225","eventType":"\u0000\u001f"}`,
	`{"published":"redacted","publishedTime":5,"_absent":["uuid"],"_extra":"{}","hookbridge":{}}`,
	`{"client":{"geographicalContext":{"geolocation":{"lat":1e400,"lon":-0.0}}}}`,
	`{"client":{"geographicalContext":{"geolocation":{"lat":0.1000000000000000055,"lon":1E2}}}}`,
	`{"securityContext":{"asNumber":9223372036854775808,"isProxy":"false",` +
		`"ipDetails":{"ipServiceCategories":[{},1]},"risk":{"reasons":["a",null]}}}`,
	`{"authenticationContext":{"authenticationStep":-0,"issuer":[]},"device":{"managed":"true"}}`,
	`{"target":[],"request":{"ipChain":[{"ip":null,"ipDetails":{"asNumber":1.5}}]}}`,
	`{"debugContext":{"debugData":{"x":[1,{"y":"\u0000\"\\"}],"z":-1.50e-7}}}`,
	`{"transaction":{"detail":null},"actor":{"detailEntry":"text"},"outcome":"SUCCESS"}`,
	"{\"k\xff\":\"\\udc00\",\"displayMessage\":\"\xed\xa0\x80\\ud83d\\ude00\"}",
	"{\"displayMessage\":\"\x01\\n\"}",
	"0\\\x80",
	"{\"displayMessage\":\"\\\xc3\xa9\\ud800\"}",
	`{"eventtype":"x","EventType":"y","eventType":"z"}`,
}

var fuzzMeta = &schema.Meta{Source: "fuzz", EventID: []byte("e"), KeepRaw: true}

// FuzzConvert checks the lossless guarantee on arbitrary input: any JSON
// object that survives Sanitize converts to Avro that an independent reader
// accepts and that decodes back to the same JSON value. Plain `go test` runs
// the seeds, -race included.
func FuzzConvert(f *testing.F) {
	for _, ev := range testcorpus.Fixtures(f) {
		f.Add(ev.JSON)
	}
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	schemas := mustSchemas(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		checkConvert(t, schemas, data)
	})
}

// checkConvert converts one input and checks every property the converter
// promises; see FuzzConvert.
func checkConvert(t testing.TB, schemas *schema.Schemas, data []byte) {
	t.Helper()
	body := schema.Sanitize(nil, data)
	if !utf8.Valid(body) {
		t.Fatalf("Sanitize left invalid UTF-8: %q", body)
	}
	v, err := jsontape.Parse(bytes.Clone(body))
	if err != nil {
		return
	}

	var enc schema.Encoder
	rec, info, err := enc.AppendEvent(nil, v, fuzzMeta)
	if v.Kind() != jsontape.Object {
		if !errors.Is(err, schema.ErrNotObject) {
			t.Fatalf("AppendEvent(%s) = %v, want ErrNotObject", body, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("AppendEvent(%s): %v", body, err)
	}
	// A second run on the same Encoder must not see leftovers of the first.
	again, _, _ := enc.AppendEvent(nil, v, fuzzMeta)
	if !bytes.Equal(rec, again) {
		t.Fatalf("converting %s twice gave different records:\n%x\n%x", body, rec, again)
	}
	if info.UUID != nil && !utf8.Valid(info.UUID) {
		t.Fatalf("info.UUID %q is not valid UTF-8", info.UUID)
	}

	var generic map[string]any
	if err := avro.Unmarshal(schemas.LogEvent, rec, &generic); err != nil {
		t.Fatalf("hamba/avro cannot read the record of %s: %v\n%x", body, err, rec)
	}
	out, d, err := schema.DecodeEvent(nil, rec)
	if err != nil {
		t.Fatalf("DecodeEvent: %v\nin:  %s\nrecord: %x", err, body, rec)
	}
	if !utf8.Valid(out) || !json.Valid(out) {
		t.Fatalf("rebuilt JSON is not valid UTF-8 JSON\nin:  %q\nout: %q", body, out)
	}
	if d.Raw == nil || !json.Valid([]byte(*d.Raw)) {
		t.Fatalf("raw copy is not valid JSON: %v", d.Raw)
	}

	if !json.Valid(body) {
		t.Fatalf("the parser accepted %q, which encoding/json refuses", body)
	}
	// Equal compares numbers with big.Rat, which gives up on exponents past
	// about a million (1e1000001), so it cannot judge such text even against
	// itself. The converter keeps those numbers as text in _extra.
	if ok, _ := testcorpus.Equal(body, body); !ok {
		return
	}
	if ok, why := testcorpus.Equal(body, out); !ok {
		t.Fatalf("round trip changed the event: %s\nin:  %s\nout: %s", why, body, out)
	}
	if ok, why := testcorpus.Equal(body, []byte(*d.Raw)); !ok {
		t.Fatalf("raw copy changed the event: %s\nin:  %s\nraw: %s", why, body, *d.Raw)
	}
}
