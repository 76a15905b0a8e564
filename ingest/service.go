package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/valyala/fasthttp"

	"github.com/hookbridge/hookbridge/broker"
	"github.com/hookbridge/hookbridge/schema"
	"github.com/hookbridge/hookbridge/spool"
)

// Options are what New needs besides the ingest configuration.
type Options struct {
	Kafka broker.Config
	// Seeds override Kafka.Brokers; the embedded broker's address goes here.
	Seeds []string
	// Registerer takes the metrics; nil uses a private registry.
	Registerer prometheus.Registerer
	Log        zerolog.Logger
}

// Service is a running ingest front end: its Kafka client, its handler and
// its HTTP listener.
type Service struct {
	cfg    Config
	log    zerolog.Logger
	h      *Handler
	cl     *kgo.Client
	adm    *kadm.Client
	srv    *fasthttp.Server
	ln     net.Listener
	topics []string
	spool  *spool.Spool

	ready     atomic.Pointer[error] // nil error inside means ready
	stop      chan struct{}
	stopped   sync.WaitGroup
	shutOnce  sync.Once
	shutErr   error
	stopDrain context.CancelFunc
}

// dlqRoomBytes is what a dead-letter record may hold beyond the event itself.
const dlqRoomBytes = 1 << 20

// recordOverhead is kept free below a topic's max.message.bytes for the
// record batch header and record framing.
const recordOverhead = 512

// New connects to Kafka, creates missing topics, registers schemas when a
// registry is configured, and binds the listener. Call Serve to serve.
func New(ctx context.Context, cfg Config, opts Options) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	schemas, err := schema.Parse()
	if err != nil {
		return nil, err
	}
	reg := opts.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s := &Service{cfg: cfg, log: opts.Log, stop: make(chan struct{}), topics: cfg.Routing.Topics()}

	limits := map[string]int32{} // read by the client only after New fills it
	var limitsMu sync.RWMutex
	if err := s.connect(opts, func(topic string) int32 {
		limitsMu.RLock()
		defer limitsMu.RUnlock()
		if v, ok := limits[topic]; ok {
			return v
		}
		return broker.DefaultMaxMessageBytes - recordOverhead
	}); err != nil {
		return nil, err
	}
	topicMax, err := s.ensureTopics(ctx, &opts.Kafka)
	if err != nil {
		s.cl.Close()
		return nil, err
	}
	limitsMu.Lock()
	for t, v := range topicMax {
		limits[t] = int32(v)
	}
	limitsMu.Unlock()

	h, err := s.newHandler(ctx, &opts.Kafka, schemas, topicMax, reg)
	if err != nil {
		s.cl.Close()
		return nil, err
	}
	s.h = h
	if cfg.Spool.Enabled {
		if s.spool, err = spool.Open(cfg.Spool, s.log.With().Str("component", "spool").Logger()); err != nil {
			s.cl.Close()
			return nil, err
		}
		h.spool = s.spool
		// Keep a fifth of the budget, at most half a second, for the fsync.
		h.kafkaWait = cfg.Server.ResponseBudget - min(cfg.Server.ResponseBudget/5, 500*time.Millisecond)
		registerSpool(reg, s.spool)
	}
	if err := s.listen(); err != nil {
		s.cl.Close()
		if s.spool != nil {
			s.spool.Close()
		}
		return nil, err
	}
	// The topics were just listed or created. Checking again right away
	// could read metadata cached from before their creation.
	var ready error
	s.ready.Store(&ready)
	s.stopped.Add(1)
	go s.readyLoop()
	if s.spool != nil {
		dctx, cancel := context.WithCancel(context.Background())
		s.stopDrain = cancel
		s.stopped.Add(1)
		go func() {
			defer s.stopped.Done()
			s.spool.Run(dctx, s.produceSpooled)
		}()
	}
	return s, nil
}

func (s *Service) connect(opts Options, batchMax func(string) int32) error {
	kopts, err := opts.Kafka.ClientOpts(opts.Seeds...)
	if err != nil {
		return err
	}
	codec, err := opts.Kafka.Codec()
	if err != nil {
		return err
	}
	kopts = append(kopts,
		kgo.RequiredAcks(kgo.AllISRAcks()), // idempotent writes, the default, need all ISRs
		kgo.ProducerBatchCompression(codec),
		kgo.ProducerBatchMaxBytesFn(batchMax),
		kgo.MaxBufferedRecords(100_000),
		kgo.MaxBufferedBytes(512<<20),
		kgo.ProducerLinger(0),
	)
	s.cl, err = kgo.NewClient(kopts...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	s.adm = kadm.NewClient(s.cl)
	return nil
}

func (s *Service) ensureTopics(ctx context.Context, kc *broker.Config) (map[string]int, error) {
	maxBody := 0
	for _, src := range s.cfg.Sources {
		maxBody = max(maxBody, int(src.MaxBodyBytes))
	}
	specs := make([]broker.TopicSpec, 0, len(s.topics))
	for _, t := range s.topics {
		spec := broker.TopicSpec{Name: t}
		if t == s.cfg.Routing.DeadLetterTopic {
			spec.Configs = map[string]string{"max.message.bytes": strconv.Itoa(maxBody + dlqRoomBytes)}
		}
		specs = append(specs, spec)
	}
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	topicMax, err := kc.EnsureTopics(tctx, s.adm, specs)
	if err != nil {
		return nil, fmt.Errorf("kafka topics: %w", err)
	}
	if dl := topicMax[s.cfg.Routing.DeadLetterTopic]; dl < maxBody {
		s.log.Warn().Str("topic", s.cfg.Routing.DeadLetterTopic).Int("max_message_bytes", dl).
			Int("max_body_bytes", maxBody).
			Msg("dead-letter topic takes smaller records than a delivery may be; a large bad event will get 503")
	}
	return topicMax, nil
}

func (s *Service) newHandler(ctx context.Context, kc *broker.Config, schemas *schema.Schemas,
	topicMax map[string]int, reg prometheus.Registerer,
) (*Handler, error) {
	cfg := &s.cfg
	h := &Handler{
		log:       s.log,
		sources:   map[string]*source{},
		key:       cfg.Routing.Key,
		keepRaw:   cfg.Routing.KeepRaw,
		budget:    cfg.Server.ResponseBudget,
		kafka:     s.cl,
		schemas:   schemas,
		admission: newAdmission(cfg.Server.MaxInFlight, cfg.Server.AdmissionWait),
	}
	var dd *dedup
	h.m = newMetrics(reg, func() float64 {
		if dd == nil {
			return 0
		}
		return float64(dd.len())
	})
	dd = newDedup(cfg.Dedup.Window, cfg.Dedup.MaxEntries, h.m.dedupEarly.Inc)
	h.dedup = dd
	h.rl = newRateLog(10*time.Second, h.m.suppressed)

	for _, sc := range cfg.Sources {
		src := &source{name: sc.Name, authHeader: sc.AuthHeader, maxBody: int(sc.MaxBodyBytes)}
		for i, sec := range sc.Secrets {
			v, err := sec.Resolve()
			if err != nil {
				return nil, fmt.Errorf("source %s: secrets[%d]: %w", sc.Name, i, err)
			}
			src.secrets = append(src.secrets, sha256.Sum256([]byte(v)))
		}
		h.sources[sc.Path] = src
	}

	headers, err := s.headers(ctx, kc, schemas)
	if err != nil {
		return nil, err
	}
	h.frameLen = len(headers[cfg.Routing.DefaultTopic])
	routed := map[string]bool{cfg.Routing.DefaultTopic: true}
	for _, r := range cfg.Routing.Rules {
		routed[r.Topic] = true
	}
	named := map[string]*topic{}
	for _, t := range s.topics {
		// Dead letters are counted by reason, not here: a dead-letter topic
		// no rule routes to gets a counter nobody sees, rather than a series
		// that stays at zero.
		events := prometheus.NewCounter(prometheus.CounterOpts{Name: "unexported"})
		if routed[t] {
			events = h.m.events.WithLabelValues(t)
		}
		named[t] = &topic{
			name:           t,
			header:         headers[t],
			maxRecordBytes: topicMax[t] - recordOverhead,
			events:         events,
		}
	}
	h.router = newRouter(cfg.Routing.Rules, named[cfg.Routing.DefaultTopic], named)
	h.dlq = named[cfg.Routing.DeadLetterTopic]
	return h, nil
}

// headers returns the value header of each topic: the registry wire format
// when a registry is configured, else single-object encoding.
func (s *Service) headers(ctx context.Context, kc *broker.Config, schemas *schema.Schemas) (map[string][]byte, error) {
	out := map[string][]byte{}
	reg, err := kc.NewRegistry()
	if err != nil {
		return nil, err
	}
	for _, t := range s.topics {
		dead := t == s.cfg.Routing.DeadLetterTopic
		if reg == nil {
			fp := schemas.LogEventFP
			if dead {
				fp = schemas.DeadLetterFP
			}
			out[t] = schema.AppendSingleObjectHeader(nil, fp)
			continue
		}
		text := schema.LogEventJSON()
		if dead {
			text = schema.DeadLetterJSON()
		}
		id, err := reg.Register(ctx, t, text)
		if err != nil {
			return nil, err
		}
		out[t] = schema.AppendConfluentHeader(nil, id)
	}
	return out, nil
}

func (s *Service) listen() error {
	cfg := &s.cfg.Server
	maxBody := 0
	for _, src := range s.cfg.Sources {
		maxBody = max(maxBody, int(src.MaxBodyBytes))
	}
	s.srv = &fasthttp.Server{
		Handler:                       s.h.ServeHTTP,
		Name:                          "hookbridge",
		ReadTimeout:                   cfg.ReadTimeout,
		WriteTimeout:                  cfg.WriteTimeout,
		IdleTimeout:                   cfg.IdleTimeout,
		MaxRequestBodySize:            maxBody,
		ReadBufferSize:                int(cfg.MaxHeaderBytes),
		Concurrency:                   cfg.MaxConnections,
		CloseOnShutdown:               true,
		NoDefaultServerHeader:         true,
		DisablePreParseMultipartForm:  true,
		DisableHeaderNamesNormalizing: false,
		Logger:                        fasthttpLogger{s.log},
		ErrorHandler:                  s.h.requestError,
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	s.ln = ln
	return nil
}

// Addr is the address the server listens on.
func (s *Service) Addr() string { return s.ln.Addr().String() }

// Handler returns the request handler.
func (s *Service) Handler() *Handler { return s.h }

// Serve serves until Shutdown; it returns nil after a clean shutdown.
func (s *Service) Serve() error {
	s.log.Info().Str("listen", s.Addr()).Int("sources", len(s.h.sources)).
		Strs("topics", s.topics).Msg("ingest serving")
	var err error
	if c := s.cfg.Server.TLS; c.CertFile != "" {
		err = s.srv.ServeTLS(s.ln, c.CertFile, c.KeyFile)
	} else {
		err = s.srv.Serve(s.ln)
	}
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// Shutdown stops accepting connections, waits for in-flight deliveries to be
// answered, flushes the producer and closes the Kafka client.
func (s *Service) Shutdown(ctx context.Context) error {
	s.shutOnce.Do(func() {
		err := s.srv.ShutdownWithContext(ctx)
		// Shutdown may come before Serve got to its listener; closing it
		// makes a late Serve return at once instead of serving on.
		_ = s.ln.Close()
		close(s.stop)
		if s.stopDrain != nil {
			s.stopDrain()
		}
		s.stopped.Wait()
		if ferr := s.cl.Flush(ctx); ferr != nil && err == nil {
			err = fmt.Errorf("flush kafka producer: %w", ferr)
		}
		s.cl.Close()
		if s.spool != nil {
			if cerr := s.spool.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("close spool: %w", cerr)
			}
		}
		s.shutErr = err
	})
	return s.shutErr
}

// Ready returns nil when hookbridge can accept deliveries: Kafka is
// reachable and every topic exists, or, while Kafka is away, the spool can
// still take them. detail says which, for /readyz. It is refreshed in the
// background every few seconds.
func (s *Service) Ready() (detail string, err error) {
	kafkaErr := errors.New("not checked yet")
	if p := s.ready.Load(); p != nil {
		kafkaErr = *p
	}
	var waiting int64
	if s.spool != nil {
		waiting, _, _ = s.spool.Stats()
	}
	switch {
	case kafkaErr == nil && waiting > 0:
		return fmt.Sprintf("kafka reachable; draining %d spooled records", waiting), nil
	case kafkaErr == nil:
		return "kafka reachable", nil
	case s.spool != nil && s.spool.Admits():
		return fmt.Sprintf("spooling: %v; %d records waiting", kafkaErr, waiting), nil
	}
	return "", kafkaErr
}

func (s *Service) readyLoop() {
	defer s.stopped.Done()
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			s.checkReady(ctx)
			cancel()
		}
	}
}

func (s *Service) checkReady(ctx context.Context) {
	err := s.topicsPresent(ctx)
	s.ready.Store(&err)
}

func (s *Service) topicsPresent(ctx context.Context) error {
	details, err := s.adm.ListTopics(ctx, s.topics...)
	if err != nil {
		return fmt.Errorf("kafka unreachable: %w", err)
	}
	for _, t := range s.topics {
		d, ok := details[t]
		switch {
		case !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition):
			return fmt.Errorf("topic %s is missing", t)
		case d.Err != nil:
			return fmt.Errorf("topic %s: %w", t, d.Err)
		}
	}
	return nil
}

// fasthttpLogger sends fasthttp's own messages (connection-level errors) to
// the debug log; they are too frequent and too routine for more.
type fasthttpLogger struct{ log zerolog.Logger }

// Printf logs one fasthttp message at debug level.
func (l fasthttpLogger) Printf(format string, args ...any) {
	if e := l.log.Debug(); e.Enabled() {
		e.Str("component", "fasthttp").Msg(fmt.Sprintf(format, args...))
	}
}

// produceSpooled produces records from the spool and waits for Kafka. An
// event Kafka already acknowledged since it was spooled (its delivery timed
// out just before the ack) is skipped; one that turns out too large for its
// topic goes to the dead-letter topic like any other.
func (s *Service) produceSpooled(ctx context.Context, recs []spool.Record) []error {
	h := s.h
	errs := make([]error, len(recs))
	var wg sync.WaitGroup
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	now := time.Now()
	for i := range recs {
		r := &recs[i]
		if r.DedupKey != 0 && h.dedup != nil && h.dedup.seen(r.DedupKey, now) {
			continue
		}
		wg.Add(1)
		kr := &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value, Headers: r.Headers, Timestamp: r.Timestamp}
		s.cl.Produce(pctx, kr, func(kr *kgo.Record, err error) {
			defer wg.Done()
			errs[i] = err
			if err == nil {
				if r.DedupKey != 0 && h.dedup != nil {
					h.dedup.add(r.DedupKey, time.Now())
				}
				h.m.events.WithLabelValues(kr.Topic).Inc()
			}
		})
	}
	wg.Wait()
	for i := range recs {
		if errs[i] != nil && isTooLarge(errs[i]) && recs[i].Topic != h.dlq.name {
			errs[i] = s.deadLetterSpooled(pctx, &recs[i], errs[i])
		}
	}
	return errs
}

// deadLetterSpooled sends a spooled record its topic refused as too large
// to the dead-letter topic, with the event rebuilt from the record.
func (s *Service) deadLetterSpooled(ctx context.Context, r *spool.Record, cause error) error {
	h := s.h
	event, err := schema.NewReader(h.schemas, nil).AppendJSON(nil, r.Value)
	if err != nil {
		event = fmt.Appendf(nil, `{"avro_base64":%q}`, base64.StdEncoding.EncodeToString(r.Value))
	}
	src := ""
	for _, hd := range r.Headers {
		if hd.Key == HeaderSource {
			src = string(hd.Value)
		}
	}
	value, err := h.schemas.AppendDeadLetter(append([]byte(nil), h.dlq.header...), &schema.DeadLetter{
		Reason: ReasonTooLarge, Error: cause.Error(), Source: src, ReceivedAt: r.Timestamp, Event: string(event),
	})
	if err != nil {
		return err
	}
	headers := append(append([]kgo.RecordHeader(nil), r.Headers...),
		kgo.RecordHeader{Key: HeaderReason, Value: []byte(ReasonTooLarge)})
	res := s.cl.ProduceSync(ctx, &kgo.Record{
		Topic: h.dlq.name, Value: value, Headers: headers, Timestamp: r.Timestamp,
	})
	if err := res.FirstErr(); err != nil {
		return err
	}
	h.m.deadLetters.WithLabelValues(ReasonTooLarge).Inc()
	return nil
}
