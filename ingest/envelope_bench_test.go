package ingest

import (
	"fmt"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hookbridge/hookbridge/bench"
	"github.com/hookbridge/hookbridge/internal/jsontape"
	"github.com/hookbridge/hookbridge/schema"
)

// Deliveries of 1, 10 and 50 generated events; Okta sends up to 50 events in
// one event hook request. SetBytes is the body size, so MB/s is delivery
// bytes taken in.
var benchDeliverySizes = []int{1, 10, 50}

func BenchmarkParseEnvelope(b *testing.B) {
	for _, n := range benchDeliverySizes {
		body, _ := bench.NewGenerator(uint64(n)).Delivery(n)
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			var doc jsontape.Doc
			text := make([]byte, len(body))
			for b.Loop() {
				// As in delivery.run: the parser works on a copy of the body.
				copy(text, body)
				env, err := parseEnvelope(&doc, text)
				if err != nil || env.events.Len() != n {
					b.Fatalf("parseEnvelope: %d events, %v", env.events.Len(), err)
				}
			}
		})
	}
}

// BenchmarkConvertDelivery measures what delivery.run does to a body before
// producing (see convertDelivery), into buffers reused from one delivery to
// the next. Divide ns/op by the events per delivery for JSON to Avro per
// event, parsing included.
func BenchmarkConvertDelivery(b *testing.B) {
	for _, n := range benchDeliverySizes {
		body, _ := bench.NewGenerator(uint64(n)).Delivery(n)
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			var (
				doc       jsontape.Doc
				enc       schema.Encoder
				text, buf []byte
			)
			for b.Loop() {
				text, buf = convertDelivery(b, &doc, &enc, text, buf, body)
			}
		})
	}
}

// convertDelivery does what delivery.run does to a body before producing,
// into buffers the caller keeps: check and copy, parse, and convert every
// event behind room for its framing header.
func convertDelivery(tb testing.TB, doc *jsontape.Doc, enc *schema.Encoder, text, buf, body []byte) ([]byte, []byte) {
	if utf8.Valid(body) {
		text = append(text[:0], body...)
	} else {
		text = schema.Sanitize(text[:0], body)
	}
	env, err := parseEnvelope(doc, text)
	if err != nil {
		tb.Fatal(err)
	}
	meta := schema.Meta{Source: "okta", EventID: env.eventID, EventTime: env.eventTime,
		ReceivedAt: time.UnixMilli(1777889702311)}
	var frame [schema.SingleObjectHeaderLen]byte
	buf = buf[:0]
	for ev := range env.events.Items() {
		buf = append(buf, frame[:]...)
		if buf, _, err = enc.AppendEvent(buf, ev, &meta); err != nil {
			tb.Fatal(err)
		}
	}
	return text, buf
}

// TestConvertAllocations holds the conversion to its allocation budget:
// at most 4 per event (the target of the load benchmarks); once buffers have
// grown it is none at all.
func TestConvertAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector; " +
			"make test runs this test again without it")
	}
	for _, n := range benchDeliverySizes {
		body, _ := bench.NewGenerator(uint64(n)).Delivery(n)
		var (
			doc       jsontape.Doc
			enc       schema.Encoder
			text, buf []byte
		)
		allocs := testing.AllocsPerRun(20, func() {
			text, buf = convertDelivery(t, &doc, &enc, text, buf, body)
		})
		if allocs/float64(n) > 4 {
			t.Errorf("%d events: %.1f allocations per delivery, over 4 per event", n, allocs)
		}
		t.Logf("%d events: %.1f allocations per delivery", n, allocs)
	}
}

// BenchmarkRoute measures picking the topic of an event type, cached.
func BenchmarkRoute(b *testing.B) {
	def, sessions := &topic{name: "okta.events"}, &topic{name: "okta.sessions"}
	r := newRouter([]RouteRule{{Match: "user.session.*", Topic: "okta.sessions"},
		{Match: "security.threat.*", Topic: "okta.sessions"}}, def,
		map[string]*topic{"okta.sessions": sessions})
	types := [][]byte{[]byte("user.session.start"), []byte("user.authentication.sso"),
		[]byte("policy.evaluate_sign_on"), []byte("group.user_membership.add")}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if r.route(types[i%len(types)]) == nil {
			b.Fatal("no topic")
		}
		i++
	}
}
