package sinks

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hookbridge/hookbridge/broker"
	"github.com/hookbridge/hookbridge/schema"
)

// HeaderSinkError is the header of a sink dead letter that says why.
const HeaderSinkError = "hookbridge-sink-error"

// maxRetryAfter caps a destination's Retry-After.
const maxRetryAfter = 5 * time.Minute

// Options are what New needs besides the sink's configuration.
type Options struct {
	Kafka broker.Config
	// Seeds override Kafka.Brokers (the embedded broker).
	Seeds []string
	// Destination overrides the one built from the configuration.
	Destination Destination
	Registerer  prometheus.Registerer
	Log         zerolog.Logger
	// Group overrides the consumer group, hookbridge-sink-<name>.
	Group string
	// UntilIdle, when set, makes Run return once nothing new arrived for
	// this long and every delivery finished: a replay that ends.
	UntilIdle time.Duration
}

// Sink consumes its topics and delivers their events to its destination.
type Sink struct {
	cfg     Config
	log     zerolog.Logger
	dest    Destination
	cl      *kgo.Client
	reader  *schema.Reader
	filter  *filter
	offsets *offsets
	limit   *limiter
	m       *metrics

	untilIdle      time.Duration
	unhealthyAfter time.Duration
	group          string
	inFlightEvents atomic.Int64
	// failingSince is when deliveries started failing (Unix nanoseconds),
	// 0 while they succeed; lastErr is the latest failure.
	failingSince  atomic.Int64
	lastErr       atomic.Pointer[string]
	inFlightBytes atomic.Int64
	batches       sync.WaitGroup // deliveries in flight
}

// New connects the sink's consumer group and creates its dead-letter topic.
func New(ctx context.Context, cfg Config, opts Options) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	f, _ := compileFilter(cfg.Filter) // checked by Validate
	schemas, err := schema.Parse()
	if err != nil {
		return nil, err
	}
	s := &Sink{
		cfg: cfg, log: opts.Log.With().Str("sink", cfg.Name).Logger(), filter: f,
		reader: schema.NewReader(schemas, nil), offsets: newOffsets(),
		limit: newLimiter(cfg.Concurrency, 10*time.Second), untilIdle: opts.UntilIdle,
		unhealthyAfter: defaultUnhealthyAfter,
	}
	group := opts.Group
	if group == "" {
		group = "hookbridge-sink-" + cfg.Name
	}
	s.group = group
	if s.dest = opts.Destination; s.dest == nil {
		if s.dest, err = NewDestination(&cfg); err != nil {
			return nil, err
		}
	}
	kopts, err := opts.Kafka.ClientOpts(opts.Seeds...)
	if err != nil {
		return nil, err
	}
	s.cl, err = kgo.NewClient(append(kopts,
		kgo.ConsumerGroup(group),
		// A crashed sink's partitions move to the others (or to its own
		// restart) after this long without heartbeats; Kafka's default 45s
		// would stall delivery that long.
		kgo.SessionTimeout(10*time.Second),
		kgo.ConsumeTopics(cfg.Topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsRevoked(s.revoked),
		kgo.OnPartitionsLost(s.lost),
		kgo.RequiredAcks(kgo.AllISRAcks()),
	)...)
	if err != nil {
		return nil, fmt.Errorf("sinks[%s]: kafka client: %w", cfg.Name, err)
	}
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := opts.Kafka.EnsureTopics(tctx, kadm.NewClient(s.cl),
		[]broker.TopicSpec{{Name: cfg.DeadLetterTopic}}); err != nil {
		s.cl.Close()
		return nil, fmt.Errorf("sinks[%s]: %w", cfg.Name, err)
	}
	reg := opts.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s.m = newMetrics(reg, cfg.Name, s.limit.current)
	return s, nil
}

// defaultUnhealthyAfter is how long deliveries may keep failing before the
// sink reports itself unable to deliver.
const defaultUnhealthyAfter = 30 * time.Second

// Healthy returns nil while the sink delivers, or what keeps failing once
// deliveries have failed for a while, for /readyz.
func (s *Sink) Healthy() error {
	since := s.failingSince.Load()
	if since == 0 || time.Since(time.Unix(0, since)) < s.unhealthyAfter {
		return nil
	}
	why := "unknown error"
	if p := s.lastErr.Load(); p != nil {
		why = *p
	}
	return fmt.Errorf("sink %s has not delivered for %s: %s", s.cfg.Name,
		time.Since(time.Unix(0, since)).Round(time.Second), why)
}

// watchLag publishes the group's consumer lag every few seconds.
func (s *Sink) watchLag(ctx context.Context) {
	adm := kadm.NewClient(s.cl)
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		lags, err := adm.Lag(lctx, s.group)
		cancel()
		if err == nil {
			if l, ok := lags[s.group]; ok && l.Error() == nil {
				s.m.lag.Set(float64(l.Lag.Total()))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Run consumes and delivers until ctx ends, then waits for the deliveries in
// flight, commits what they finished and closes the consumer.
func (s *Sink) Run(ctx context.Context) error {
	s.log.Info().Strs("topics", s.cfg.Topics).Msg("sink running")
	lagCtx, stopLag := context.WithCancel(ctx)
	defer stopLag()
	go s.watchLag(lagCtx)
	var b batch
	lastCommit, lastRecord := time.Now(), time.Now()
	paused := false
	for ctx.Err() == nil {
		if s.untilIdle > 0 && time.Since(lastRecord) > s.untilIdle && b.empty() &&
			s.inFlightEvents.Load() == 0 {
			break
		}
		pctx, cancel := context.WithTimeout(ctx, min(s.cfg.Batch.MaxAge, 250*time.Millisecond))
		fetches := s.cl.PollRecords(pctx, s.cfg.Batch.MaxEvents)
		cancel()
		for _, fe := range fetches.Errors() {
			if !errors.Is(fe.Err, context.DeadlineExceeded) && !errors.Is(fe.Err, context.Canceled) {
				s.log.Warn().Err(fe.Err).Str("topic", fe.Topic).Int32("partition", fe.Partition).
					Msg("fetch failed; retrying")
			}
		}
		if fetches.NumRecords() > 0 {
			lastRecord = time.Now()
		}
		for _, r := range fetches.Records() {
			s.offsets.track(r)
			ev, ok := s.prepare(ctx, r)
			if !ok {
				continue
			}
			b.add(ev)
			if b.full(&s.cfg.Batch) {
				s.dispatch(ctx, b.take())
			}
		}
		if b.due(s.cfg.Batch.MaxAge) {
			s.dispatch(ctx, b.take())
		}
		paused = s.backpressure(paused)
		s.cl.AllowRebalance()
		if time.Since(lastCommit) >= time.Second {
			s.commit(ctx)
			lastCommit = time.Now()
		}
	}
	if !b.empty() {
		s.dispatch(context.Background(), b.take())
	}
	s.batches.Wait()
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.commit(cctx)
	s.cl.Close()
	err := s.dest.Close()
	s.log.Info().Msg("sink stopped")
	return err
}

// prepare decodes a record and applies the filter. A record that is not
// delivered (filtered out, or dead-lettered because it cannot be decoded)
// is finished here.
func (s *Sink) prepare(ctx context.Context, r *kgo.Record) (Event, bool) {
	text, err := s.reader.AppendJSON(nil, r.Value)
	if err != nil {
		s.deadLetter(ctx, Event{Record: r}, fmt.Errorf("decode record: %w", err))
		return Event{}, false
	}
	match, err := s.filter.match(text)
	if err != nil || !match {
		s.m.filtered.Inc()
		s.offsets.finish(r)
		return Event{}, false
	}
	ev := Event{Record: r, JSON: text}
	ev.UUID, ev.Published = eventIdentity(text)
	return ev, true
}

// dispatch delivers a batch on its own goroutine once the limiter allows.
func (s *Sink) dispatch(ctx context.Context, batch []Event) {
	if err := s.limit.acquire(ctx); err != nil {
		// Shutting down: the batch stays unfinished and is delivered again
		// after the restart.
		return
	}
	n, size := int64(len(batch)), int64(batchBytes(batch))
	s.inFlightEvents.Add(n)
	s.inFlightBytes.Add(size)
	s.batches.Add(1)
	go func() {
		defer s.batches.Done()
		start := time.Now()
		congested := s.deliver(ctx, batch)
		s.limit.release(time.Since(start), congested)
		s.inFlightEvents.Add(-n)
		s.inFlightBytes.Add(-size)
		s.m.batchLatency.Observe(time.Since(start).Seconds())
		s.m.batchSize.Observe(float64(n))
	}()
}

// deliver sends a batch with retries. Delivered and dead-lettered events are
// finished; events still failing when ctx ends are left unfinished, so their
// offsets are not committed. It reports whether the destination pushed back.
func (s *Sink) deliver(ctx context.Context, batch []Event) (congested bool) {
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval = s.cfg.Retry.Initial, s.cfg.Retry.Max
	pending := batch
	for attempt := 1; ; attempt++ {
		errs := s.dest.Deliver(ctx, pending)
		var retry []Event
		var retryAfter time.Duration
		var lastErr error
		for i, err := range errs {
			ev := pending[i]
			if err == nil {
				s.m.delivered.Inc()
				s.offsets.finish(ev.Record)
				continue
			}
			permanent, bp, ra := classify(err)
			congested = congested || bp
			if permanent {
				s.deadLetter(ctx, ev, err)
				continue
			}
			retry, lastErr = append(retry, ev), err
			retryAfter = max(retryAfter, min(ra, maxRetryAfter))
		}
		if len(retry) == 0 {
			s.failingSince.Store(0)
			return congested
		}
		if len(retry) < len(pending) {
			// The round made progress (some events delivered or rejected
			// for good, as when Splunk names one bad event and takes none):
			// it does not count against the attempts, or a batch with
			// several bad events would run out and dead-letter good ones.
			attempt--
			bo.Reset()
		}
		congested = true
		msg := lastErr.Error()
		s.lastErr.Store(&msg)
		s.failingSince.CompareAndSwap(0, time.Now().UnixNano())
		if attempt >= s.cfg.Retry.Attempts {
			for _, ev := range retry {
				s.deadLetter(ctx, ev, fmt.Errorf("gave up after %d attempts: %w", attempt, lastErr))
			}
			return congested
		}
		s.m.retried.Add(float64(len(retry)))
		wait := max(bo.NextBackOff(), retryAfter)
		s.log.Debug().Err(lastErr).Int("events", len(retry)).Dur("wait", wait).Msg("retrying")
		select {
		case <-ctx.Done():
			return congested
		case <-time.After(wait):
		}
		pending = retry
	}
}

// deadLetter writes an event the destination will not take to the sink's
// dead-letter topic: the original record, plus why. Only once Kafka has it
// is the event finished.
func (s *Sink) deadLetter(ctx context.Context, ev Event, cause error) {
	r := ev.Record
	headers := append(append([]kgo.RecordHeader(nil), r.Headers...),
		kgo.RecordHeader{Key: HeaderSinkError, Value: []byte(cause.Error())},
		kgo.RecordHeader{Key: "hookbridge-source-topic", Value: []byte(r.Topic)})
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	res := s.cl.ProduceSync(pctx, &kgo.Record{
		Topic: s.cfg.DeadLetterTopic, Key: r.Key, Value: r.Value, Headers: headers, Timestamp: r.Timestamp,
	})
	if err := res.FirstErr(); err != nil {
		s.log.Error().Err(err).Str("topic", s.cfg.DeadLetterTopic).
			Msg("cannot write a dead letter; the event stays uncommitted and is retried after a restart")
		return
	}
	s.m.deadLettered.Inc()
	s.offsets.finish(r)
}

// backpressure pauses fetching while the sink holds as much as it may, and
// resumes once it is down to half.
func (s *Sink) backpressure(paused bool) bool {
	events, bytes := s.inFlightEvents.Load(), s.inFlightBytes.Load()
	full := events >= int64(s.cfg.MaxInFlightEvents) || bytes >= int64(s.cfg.MaxInFlightBytes)
	switch {
	case full && !paused:
		s.cl.PauseFetchTopics(s.cfg.Topics...)
		s.m.paused.Set(1)
		return true
	case paused && events < int64(s.cfg.MaxInFlightEvents)/2 && bytes < int64(s.cfg.MaxInFlightBytes)/2:
		s.cl.ResumeFetchTopics(s.cfg.Topics...)
		s.m.paused.Set(0)
		return false
	}
	return paused
}

func (s *Sink) commit(ctx context.Context) {
	offs := s.offsets.committable()
	if offs == nil {
		return
	}
	var commitErr error
	s.cl.CommitOffsetsSync(ctx, offs, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, _ *kmsg.OffsetCommitResponse, err error) {
		commitErr = err
	})
	if commitErr != nil {
		s.log.Warn().Err(commitErr).Msg("commit failed; the events after the last commit may be delivered again")
	}
}

// revoked commits what was finished for partitions leaving this member,
// after waiting a bounded time for their deliveries in flight.
func (s *Sink) revoked(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
	done := make(chan struct{})
	go func() { s.batches.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
	case <-ctx.Done():
	}
	s.commit(ctx)
	s.offsets.forget(revoked)
}

func (s *Sink) lost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	s.offsets.forget(lost)
}

// batch collects events until a limit is reached.
type batch struct {
	events []Event
	bytes  int
	since  time.Time
}

func (b *batch) add(ev Event) {
	if len(b.events) == 0 {
		b.since = time.Now()
	}
	b.events = append(b.events, ev)
	b.bytes += len(ev.JSON)
}

func (b *batch) empty() bool { return len(b.events) == 0 }

func (b *batch) full(c *BatchConfig) bool {
	return len(b.events) >= c.MaxEvents || b.bytes >= int(c.MaxBytes)
}

func (b *batch) due(maxAge time.Duration) bool {
	return len(b.events) > 0 && time.Since(b.since) >= maxAge
}

func (b *batch) take() []Event {
	out := b.events
	*b = batch{}
	return out
}

func batchBytes(evs []Event) int {
	n := 0
	for _, ev := range evs {
		n += len(ev.JSON)
	}
	return n
}
