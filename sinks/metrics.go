package sinks

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fastjson"

	"github.com/hookbridge/hookbridge/schema"
)

// metrics are one sink's, labelled with its name.
type metrics struct {
	delivered    prometheus.Counter
	retried      prometheus.Counter
	deadLettered prometheus.Counter
	filtered     prometheus.Counter
	batchSize    prometheus.Histogram
	batchLatency prometheus.Histogram
	paused       prometheus.Gauge
	lag          prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, sink string, concurrency func() float64) *metrics {
	labels := prometheus.Labels{"sink": sink}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels})
	}
	m := &metrics{
		delivered:    counter("hookbridge_sink_delivered_total", "Events the destination took."),
		retried:      counter("hookbridge_sink_retried_total", "Event deliveries retried."),
		deadLettered: counter("hookbridge_sink_dead_letters_total", "Events sent to the sink's dead-letter topic."),
		filtered:     counter("hookbridge_sink_filtered_total", "Events the sink's filter left out."),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hookbridge_sink_batch_events", Help: "Events per batch.", ConstLabels: labels,
			Buckets: prometheus.ExponentialBuckets(1, 4, 8),
		}),
		batchLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hookbridge_sink_batch_seconds", Help: "Time to deliver a batch, retries included.",
			ConstLabels: labels, Buckets: prometheus.ExponentialBuckets(0.005, 4, 9),
		}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hookbridge_sink_consumer_lag", Help: "Records in the sink's topics not yet committed.",
			ConstLabels: labels,
		}),
		paused: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hookbridge_sink_paused", Help: "1 while fetching is paused by backpressure.",
			ConstLabels: labels,
		}),
	}
	reg.MustRegister(m.delivered, m.retried, m.deadLettered, m.filtered, m.batchSize, m.batchLatency,
		m.paused, m.lag, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hookbridge_sink_concurrency", Help: "Batches the sink may have in flight now.",
			ConstLabels: labels,
		}, concurrency))
	return m
}

// eventIdentity reads the uuid and published time of an event's JSON.
func eventIdentity(text []byte) (string, time.Time) {
	v, err := fastjson.ParseBytes(text)
	if err != nil {
		return "", time.Time{}
	}
	uuid := string(v.GetStringBytes("uuid"))
	var published time.Time
	if ms, ok := schema.ParseTime(v.GetStringBytes("published")); ok {
		published = time.UnixMilli(ms).UTC()
	}
	return uuid, published
}
