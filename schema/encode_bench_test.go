package schema_test

import (
	"testing"

	"github.com/hookbridge/hookbridge/internal/jsontape"
	"github.com/hookbridge/hookbridge/internal/testcorpus"
	"github.com/hookbridge/hookbridge/schema"
)

// One benchmark op is one event; the loops cycle through the events, so
// ns/op and allocs/op are per event and SetBytes is the mean event size.

func BenchmarkEncode(b *testing.B) {
	b.Run("fixtures", func(b *testing.B) { benchEncode(b, testcorpus.Fixtures(b)) })
	b.Run("corpus", func(b *testing.B) { benchEncode(b, testcorpus.Events(b)) })
}

func BenchmarkDecode(b *testing.B) {
	b.Run("fixtures", func(b *testing.B) { benchDecode(b, testcorpus.Fixtures(b)) })
	b.Run("corpus", func(b *testing.B) { benchDecode(b, testcorpus.Events(b)) })
}

func BenchmarkSanitize(b *testing.B) {
	b.Run("fixtures", func(b *testing.B) { benchSanitize(b, eventTexts(testcorpus.Fixtures(b))) })
	b.Run("corpus", func(b *testing.B) { benchSanitize(b, eventTexts(testcorpus.Events(b))) })
	b.Run("dirty", func(b *testing.B) { benchSanitize(b, dirtyTexts(testcorpus.Fixtures(b))) })
}

// benchEncode measures parse + AppendEvent, the per-event work of ingest.
func benchEncode(b *testing.B, events []testcorpus.Event) {
	texts := eventTexts(events)
	b.ReportAllocs()
	b.SetBytes(meanLen(texts))
	var (
		doc jsontape.Doc
		enc schema.Encoder
		dst []byte
		buf []byte
	)
	i := 0
	for b.Loop() {
		// The parser rewrites escapes in place: parse a copy, as ingest does.
		buf = append(buf[:0], texts[i]...)
		if err := doc.Parse(buf); err != nil {
			b.Fatal(err)
		}
		var err error
		if dst, _, err = enc.AppendEvent(dst[:0], doc.Root(), meta); err != nil {
			b.Fatal(err)
		}
		if i++; i == len(texts) {
			i = 0
		}
	}
}

// benchDecode measures DecodeEvent on records made by the encoder; SetBytes
// is the mean Avro body size.
func benchDecode(b *testing.B, events []testcorpus.Event) {
	var enc schema.Encoder
	bodies := make([][]byte, len(events))
	for i, ev := range events {
		bodies[i], _ = encode(b, &enc, ev.JSON)
	}
	b.ReportAllocs()
	b.SetBytes(meanLen(bodies))
	var dst []byte
	i := 0
	for b.Loop() {
		var err error
		if dst, _, err = schema.DecodeEvent(dst[:0], bodies[i]); err != nil {
			b.Fatal(err)
		}
		if i++; i == len(bodies) {
			i = 0
		}
	}
}

func benchSanitize(b *testing.B, texts [][]byte) {
	b.ReportAllocs()
	b.SetBytes(meanLen(texts))
	var buf []byte
	i := 0
	for b.Loop() {
		out := schema.Sanitize(buf, texts[i])
		if len(out) == 0 {
			b.Fatal("empty result")
		}
		if &out[0] != &texts[i][0] {
			buf = out // keep the grown buffer for the next dirty event
		}
		if i++; i == len(texts) {
			i = 0
		}
	}
}

func eventTexts(events []testcorpus.Event) [][]byte {
	out := make([][]byte, len(events))
	for i, ev := range events {
		out[i] = ev.JSON
	}
	return out
}

// dirtyTexts returns copies of the events with a lone surrogate escape and
// an invalid UTF-8 byte in the first string, so Sanitize takes its slow path.
func dirtyTexts(events []testcorpus.Event) [][]byte {
	out := make([][]byte, len(events))
	for i, ev := range events {
		at := 2 // just inside the first key: {"
		dirty := append([]byte{}, ev.JSON[:at]...)
		dirty = append(dirty, "\\ud800\xff"...)
		out[i] = append(dirty, ev.JSON[at:]...)
	}
	return out
}

func meanLen(texts [][]byte) int64 {
	total := 0
	for _, t := range texts {
		total += len(t)
	}
	return int64(total / len(texts))
}
