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
// producing: the UTF-8 check and copy, parseEnvelope, and AppendEvent of every event behind
// room for its framing header, into buffers reused from one delivery to the
// next.
func BenchmarkConvertDelivery(b *testing.B) {
	for _, n := range benchDeliverySizes {
		body, _ := bench.NewGenerator(uint64(n)).Delivery(n)
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			var (
				doc   jsontape.Doc
				enc   schema.Encoder
				text  []byte
				buf   []byte
				frame [schema.SingleObjectHeaderLen]byte
			)
			received := time.UnixMilli(1777889702311)
			for b.Loop() {
				// As in delivery.run: check UTF-8, copy, parse.
				if utf8.Valid(body) {
					text = append(text[:0], body...)
				} else {
					text = schema.Sanitize(text[:0], body)
				}
				env, err := parseEnvelope(&doc, text)
				if err != nil {
					b.Fatal(err)
				}
				meta := schema.Meta{
					Source: "okta", EventID: env.eventID, EventTime: env.eventTime,
					ReceivedAt: received,
				}
				buf = buf[:0]
				for ev := range env.events.Items() {
					buf = append(buf, frame[:]...)
					if buf, _, err = enc.AppendEvent(buf, ev, &meta); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
