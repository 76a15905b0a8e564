package broker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookbridge/hookbridge/bench"
	"github.com/hookbridge/hookbridge/broker"
	"github.com/hookbridge/hookbridge/internal/jsontape"
	"github.com/hookbridge/hookbridge/schema"
)

// BenchmarkProduce produces deliveries of 10 Avro-encoded generated events
// (about 1.5 KB each) to the in-process broker and waits for every
// acknowledgement, 16 deliveries at a time as ingest does, with the batch
// compressions hookbridge offers. ns/op is per delivery; the broker's work
// is included, since it shares the CPU.
func BenchmarkProduce(b *testing.B) {
	values := avroEvents(b, 10*16)
	for _, codec := range []string{"lz4", "zstd", "snappy", "none"} {
		b.Run(codec, func(b *testing.B) {
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "bench"))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			kc := broker.Default()
			kc.Compression = codec
			cc, err := kc.Codec()
			if err != nil {
				b.Fatal(err)
			}
			cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ProducerBatchCompression(cc),
				kgo.ProducerLinger(0), kgo.DefaultProduceTopic("bench"))
			if err != nil {
				b.Fatal(err)
			}
			defer cl.Close()
			var bytes int64
			for _, v := range values[:10] {
				bytes += int64(len(v))
			}
			b.SetBytes(bytes)
			b.ReportAllocs()
			b.SetParallelism(8) // 16 goroutines with GOMAXPROCS 2
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				i := 0
				for pb.Next() {
					var wg sync.WaitGroup
					for range 10 {
						v := values[i%len(values)]
						i++
						wg.Add(1)
						cl.Produce(ctx, &kgo.Record{Key: v[:16], Value: v}, func(_ *kgo.Record, err error) {
							if err != nil {
								b.Error(err)
							}
							wg.Done()
						})
					}
					wg.Wait()
				}
			})
		})
	}
}

// avroEvents converts n generated events the way ingest does.
func avroEvents(tb testing.TB, n int) [][]byte {
	g := bench.NewGenerator(5)
	var enc schema.Encoder
	meta := &schema.Meta{Source: "okta", ReceivedAt: time.Now()}
	out := make([][]byte, n)
	for i := range out {
		v, err := jsontape.Parse(g.Event())
		if err != nil {
			tb.Fatal(err)
		}
		if out[i], _, err = enc.AppendEvent(nil, v, meta); err != nil {
			tb.Fatal(err)
		}
	}
	return out
}
