package bench_test

import (
	"testing"

	"github.com/hookbridge/hookbridge/bench"
)

// BenchmarkGenerate measures the generator itself, so that a load test can
// tell how much of its client's time goes to making events. SetBytes is the
// mean event size.
func BenchmarkGenerate(b *testing.B) {
	b.Run("event", func(b *testing.B) {
		g := bench.NewGenerator(1)
		b.ReportAllocs()
		b.SetBytes(int64(len(g.Event())))
		for b.Loop() {
			if len(g.Event()) == 0 {
				b.Fatal("empty event")
			}
		}
	})
	b.Run("delivery=50", func(b *testing.B) {
		g := bench.NewGenerator(1)
		body, _ := g.Delivery(50)
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if body, _ := g.Delivery(50); len(body) == 0 {
				b.Fatal("empty delivery")
			}
		}
	})
}
