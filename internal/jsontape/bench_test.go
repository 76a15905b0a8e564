package jsontape_test

import (
	"testing"

	"github.com/hookbridge/hookbridge/bench"
	"github.com/hookbridge/hookbridge/internal/jsontape"
)

// BenchmarkParse parses generated deliveries of 10 events; SetBytes is the
// body size.
func BenchmarkParse(b *testing.B) {
	body, _ := bench.NewGenerator(1).Delivery(10)
	buf := make([]byte, len(body))
	var d jsontape.Doc
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		copy(buf, body)
		if err := d.Parse(buf); err != nil {
			b.Fatal(err)
		}
	}
}
