package ingest

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookbridge/hookbridge/spool"
)

// metrics are the ingest counters, registered on the registry given to
// NewHandler so that several handlers (in tests) do not collide.
type metrics struct {
	requests    *prometheus.CounterVec
	events      *prometheus.CounterVec
	deadLetters *prometheus.CounterVec
	duplicates  *prometheus.CounterVec
	bytesIn     *prometheus.CounterVec
	ackLatency  prometheus.Histogram
	inFlight    prometheus.Gauge
	dedupEarly  prometheus.Counter
	spooled     prometheus.Counter
	suppressed  prometheus.Counter
	// shed counts deliveries refused for want of an in-flight slot: after
	// waiting the admission wait, or early during sustained overload.
	shed *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, dedupLen func() float64) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookbridge_requests_total",
			Help: "HTTP requests by source and response status.",
		}, []string{"source", "status"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookbridge_events_total",
			Help: "Events acknowledged by Kafka, by topic.",
		}, []string{"topic"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookbridge_dead_letters_total",
			Help: "Events sent to the dead-letter topic, by reason.",
		}, []string{"reason"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookbridge_duplicates_total",
			Help: "Events dropped because Kafka already acknowledged them within the window.",
		}, []string{"source"}),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookbridge_received_bytes_total",
			Help: "Delivery body bytes received, after decompression, by source.",
		}, []string{"source"}),
		ackLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hookbridge_ack_latency_seconds",
			Help: "Time from receiving a delivery to Kafka acknowledging all its events.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5,
				5},
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hookbridge_in_flight_deliveries",
			Help: "Deliveries being processed.",
		}),
		dedupEarly: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookbridge_dedup_early_turns_total",
			Help: "Times the dedup set filled up and forgot events before the window ended.",
		}),
		spooled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookbridge_spooled_total",
			Help: "Records written to the spool because Kafka did not take them in time.",
		}),
		suppressed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookbridge_log_lines_suppressed_total",
			Help: "Error log lines dropped by the rate limiter.",
		}),
		shed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookbridge_shed_total",
			Help: "Deliveries answered 503 for want of an in-flight slot, by how: " +
				"waited (the whole admission wait) or overload (a few milliseconds, the queue being standing).",
		}, []string{"how"}),
	}
	reg.MustRegister(m.requests, m.events, m.deadLetters, m.duplicates, m.bytesIn,
		m.ackLatency, m.inFlight, m.dedupEarly, m.spooled, m.suppressed, m.shed,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hookbridge_dedup_entries",
			Help: "Events remembered for deduplication.",
		}, dedupLen))
	return m
}

// registerSpool exports the spool's state.
func registerSpool(reg prometheus.Registerer, s *spool.Spool) {
	stat := func(pick func(records, bytes, drained int64) int64) func() float64 {
		return func() float64 { return float64(pick(s.Stats())) }
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hookbridge_spool_records", Help: "Records waiting in the spool.",
		}, stat(func(r, _, _ int64) int64 { return r })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hookbridge_spool_bytes", Help: "Bytes waiting in the spool.",
		}, stat(func(_, b, _ int64) int64 { return b })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "hookbridge_spool_drained_total", Help: "Spooled records Kafka acknowledged.",
		}, stat(func(_, _, d int64) int64 { return d })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hookbridge_spool_oldest_age_seconds", Help: "How long the oldest spooled record has waited.",
		}, func() float64 { return s.OldestAge().Seconds() }),
	)
}
