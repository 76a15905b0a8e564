package ingest_test

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/hookbridge/hookbridge/bench"
)

// BenchmarkDeliver runs whole deliveries through the handler, from the
// request to Kafka's acknowledgement, 16 at a time as concurrent
// connections would, against the in-process broker. ns/op is per delivery
// at that concurrency; allocs/op include the broker's and the Kafka
// client's. Each delivery gets fresh uuids, so that dedup drops none.
func BenchmarkDeliver(b *testing.B) {
	for _, n := range []int{1, 10, 50} {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			h := newHarness(b, nil)
			handler := h.svc.Handler()
			g := bench.NewGenerator(uint64(n))
			templates := make([]*bench.Template, 16)
			for i := range templates {
				templates[i] = g.Template(n)
			}
			var seed atomic.Uint64
			b.ReportAllocs()
			b.SetParallelism(8) // with GOMAXPROCS 2: 16 goroutines
			b.RunParallel(func(pb *testing.PB) {
				rnd := rand.New(rand.NewPCG(seed.Add(1), 1))
				var ctx fasthttp.RequestCtx
				var body []byte
				for pb.Next() {
					t := templates[rnd.IntN(len(templates))]
					body = t.Fill(body, rnd)
					ctx.Request.Reset()
					ctx.Response.Reset()
					ctx.Request.Header.SetMethod(fasthttp.MethodPost)
					ctx.Request.SetRequestURI("/hooks/okta")
					ctx.Request.Header.Set("Authorization", secret)
					ctx.Request.Header.SetContentType("application/json")
					ctx.Request.SetBodyRaw(body)
					handler.ServeHTTP(&ctx)
					if code := ctx.Response.StatusCode(); code != fasthttp.StatusOK {
						b.Fatalf("status %d: %s", code, ctx.Response.Body())
					}
				}
			})
			b.SetBytes(int64(len(templates[0].Fill(nil, rand.New(rand.NewPCG(1, 1))))))
		})
	}
}
