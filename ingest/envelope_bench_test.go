package ingest

import (
	"fmt"
	"testing"
	"time"

	"github.com/valyala/fastjson"

	"github.com/hookbridge/hookbridge/bench"
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
			var p fastjson.Parser
			for b.Loop() {
				env, err := parseEnvelope(&p, body)
				if err != nil || len(env.events) != n {
					b.Fatalf("parseEnvelope: %d events, %v", len(env.events), err)
				}
			}
		})
	}
}

// BenchmarkConvertDelivery measures what delivery.run does to a body before
// producing: Sanitize, parseEnvelope, and AppendEvent of every event behind
// room for its framing header, into buffers reused from one delivery to the
// next.
func BenchmarkConvertDelivery(b *testing.B) {
	for _, n := range benchDeliverySizes {
		body, _ := bench.NewGenerator(uint64(n)).Delivery(n)
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			var (
				p     fastjson.Parser
				enc   schema.Encoder
				clean []byte
				buf   []byte
				frame [schema.SingleObjectHeaderLen]byte
			)
			received := time.UnixMilli(1777889702311)
			for b.Loop() {
				// As in delivery.run: keep only a copy Sanitize made.
				text := body
				if c := schema.Sanitize(clean[:0], body); len(c) > 0 && &c[0] != &body[0] {
					clean, text = c[:0], c
				}
				env, err := parseEnvelope(&p, text)
				if err != nil {
					b.Fatal(err)
				}
				meta := schema.Meta{
					Source: "okta", EventID: env.eventID, EventTime: env.eventTime,
					ReceivedAt: received,
				}
				buf = buf[:0]
				for _, ev := range env.events {
					buf = append(buf, frame[:]...)
					if buf, _, err = enc.AppendEvent(buf, ev, &meta); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
