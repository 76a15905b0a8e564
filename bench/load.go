package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"
)

// LoadConfig describes a load run against any HTTP endpoint that takes Okta
// event hook deliveries.
type LoadConfig struct {
	URL string
	// AuthHeader and Secret are sent with every request.
	AuthHeader, Secret string
	// Connections is how many keep-alive connections send at once.
	Connections int
	// Rate, when above 0, runs an open loop at this many requests per
	// second; latency then counts from each request's intended send time, so
	// queueing is not hidden. 0 runs a closed loop: each connection sends
	// as soon as its previous request is answered.
	Rate float64
	// Events per generated delivery.
	Events int
	// Replay, when set, is sent in turn instead of generated deliveries.
	Replay []Delivery
	// Warmup is run first and not recorded; Duration is measured.
	Warmup, Duration time.Duration
	// DuplicateRatio is the share of requests that resend an earlier
	// delivery, as Okta's retries do.
	DuplicateRatio float64
	Seed           uint64
	// Timeout bounds one request; default 10s.
	Timeout time.Duration
	// Progress, when set, gets a status line every second; ProgressTTY
	// says it is a terminal, where each line overwrites the one before.
	Progress    io.Writer
	ProgressTTY bool
	// OnMeasure, when set, is called as the measured part starts, after the
	// warm-up.
	OnMeasure func()
	// OnAck, when set, is called with the uuids of every delivery answered
	// 200 during the measured part, and the time it was sent.
	OnAck func(uuids []string, sent time.Time)
}

// Latency holds percentiles in milliseconds.
type Latency struct {
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p99_9_ms"`
	Max  float64 `json:"max_ms"`
}

// Result is what a run measured.
type Result struct {
	Mode         string  `json:"mode"`
	URL          string  `json:"url"`
	Connections  int     `json:"connections"`
	TargetRate   float64 `json:"target_rate,omitempty"`
	EventsPerReq int     `json:"events_per_request"`
	Seconds      float64 `json:"seconds"`
	Requests     int64   `json:"requests"`
	// Events counts the events of deliveries answered 2xx: what the target
	// took, not what was offered to it.
	Events int64 `json:"events"`
	Bytes  int64 `json:"bytes"`
	// Errors counts requests that got no answer; LastError is the last
	// reason.
	Errors         int64         `json:"errors"`
	LastError      string        `json:"last_error,omitempty"`
	Status         map[int]int64 `json:"status"`
	RequestsPerSec float64       `json:"requests_per_sec"`
	EventsPerSec   float64       `json:"events_per_sec"`
	MBPerSec       float64       `json:"mb_per_sec"`
	Latency        Latency       `json:"latency"`
	// Service is the time from each request's actual send to its answer:
	// the target's own response time, without the wait for a connection
	// that an open loop's Latency includes when the load generator falls
	// behind. SlowestByStatus is its maximum per status, in milliseconds.
	Service         Latency         `json:"service_latency"`
	SlowestByStatus map[int]float64 `json:"slowest_by_status_ms"`
	Extra           map[string]any  `json:"extra,omitempty"`
}

// recorder collects results from the workers.
type recorder struct {
	measuring atomic.Bool
	answered  atomic.Int64 // warm-up included, for the progress line
	lastErr   atomic.Pointer[string]
	requests  atomic.Int64
	events    atomic.Int64
	bytes     atomic.Int64
	errors    atomic.Int64

	mu sync.Mutex
	// hist, service, status and slowest are guarded by mu.
	hist    *hdrhistogram.Histogram
	service *hdrhistogram.Histogram
	status  map[int]int64
	slowest map[int]time.Duration
}

func (r *recorder) record(status int, err error, latency, service time.Duration, events, bytes int) {
	if err != nil {
		msg := err.Error()
		r.lastErr.Store(&msg)
	} else {
		r.answered.Add(1)
	}
	if !r.measuring.Load() {
		return
	}
	r.requests.Add(1)
	if err != nil {
		r.errors.Add(1)
		return
	}
	if status >= 200 && status < 300 {
		r.events.Add(int64(events))
	}
	r.bytes.Add(int64(bytes))
	r.mu.Lock()
	r.status[status]++
	_ = r.hist.RecordValue(latency.Microseconds())
	_ = r.service.RecordValue(service.Microseconds())
	r.slowest[status] = max(r.slowest[status], service)
	r.mu.Unlock()
}

// Run sends load as cfg says and returns what it measured. It stops early,
// with what it has, when ctx ends.
func Run(ctx context.Context, cfg LoadConfig) (*Result, error) {
	if cfg.URL == "" || cfg.Connections < 1 || cfg.Duration <= 0 ||
		(cfg.Events < 1 && len(cfg.Replay) == 0) {
		return nil, errors.New("bench: url, connections (>= 1), events (>= 1) and duration (> 0) are required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	rec := &recorder{hist: hdrhistogram.New(1, 60_000_000, 3), service: hdrhistogram.New(1, 60_000_000, 3),
		status: map[int]int64{}, slowest: map[int]time.Duration{}}
	client := &fasthttp.Client{
		MaxConnsPerHost: cfg.Connections, ReadTimeout: cfg.Timeout, WriteTimeout: cfg.Timeout,
		MaxIdleConnDuration: time.Minute, NoDefaultUserAgentHeader: true,
	}
	// Everything costly is made before the clock starts.
	pool := templates(&cfg)
	senders := make([]*sender, cfg.Connections)
	for w := range senders {
		senders[w] = newSender(&cfg, client, rec, pool, uint64(w))
	}
	runCtx, cancel := context.WithTimeout(ctx, cfg.Warmup+cfg.Duration)
	defer cancel()

	var measuredFrom atomic.Int64
	measure := func() {
		if cfg.OnMeasure != nil {
			cfg.OnMeasure()
		}
		measuredFrom.Store(time.Now().UnixNano())
		rec.measuring.Store(true)
	}
	if cfg.Warmup <= 0 {
		measure() // before the first request, so that none goes uncounted
	} else {
		go func() {
			select {
			case <-time.After(cfg.Warmup):
				measure()
			case <-runCtx.Done():
			}
		}()
	}
	stopProgress := progress(runCtx, &cfg, rec)

	var wg sync.WaitGroup
	if cfg.Rate > 0 {
		openLoop(runCtx, &cfg, senders, &wg)
	} else {
		for _, s := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for runCtx.Err() == nil {
					if !s.send(time.Now()) {
						// No answer (connection refused, say): pause
						// rather than spin on the error.
						select {
						case <-runCtx.Done():
						case <-time.After(10 * time.Millisecond):
						}
					}
				}
			}()
		}
	}
	wg.Wait()
	rec.measuring.Store(false)
	stopProgress()

	start := time.Unix(0, measuredFrom.Load())
	if measuredFrom.Load() == 0 {
		start = time.Now()
	}
	return rec.result(&cfg, time.Since(start)), nil
}

// openLoop schedules requests at the configured rate. Each request has an
// intended send time; a request that waits for a free connection still
// counts its latency from then.
func openLoop(ctx context.Context, cfg *LoadConfig, senders []*sender, wg *sync.WaitGroup) {
	slots := make(chan time.Time, cfg.Connections*4)
	for _, s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for intended := range slots {
				s.send(intended)
			}
		}()
	}
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	next := time.Now()
	for ctx.Err() == nil {
		if d := time.Until(next); d > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(d):
			}
		}
		select {
		case slots <- next:
		case <-ctx.Done():
		}
		next = next.Add(interval)
	}
	close(slots)
}

// templates generates the deliveries that senders fill with fresh uuids:
// enough of them for a varied mix (about 2,500 distinct events, at least 32
// deliveries), which costs tens of milliseconds before the run starts.
func templates(cfg *LoadConfig) []*Template {
	if len(cfg.Replay) > 0 {
		return nil
	}
	n := min(max(2560/cfg.Events, 32), 256)
	g := NewGenerator(cfg.Seed)
	pool := make([]*Template, n)
	for i := range pool {
		pool[i] = g.Template(cfg.Events)
	}
	return pool
}

// sender owns one connection's requests and the buffer its bodies are
// filled in.
type sender struct {
	cfg    *LoadConfig
	client *fasthttp.Client
	rec    *recorder
	pool   []*Template
	rnd    *rand.Rand
	next   int // the next of cfg.Replay to send
	buf    []byte
	req    *fasthttp.Request
	resp   *fasthttp.Response
	sent   [][]byte // earlier bodies, for duplicates
}

func newSender(cfg *LoadConfig, client *fasthttp.Client, rec *recorder, pool []*Template,
	worker uint64) *sender {
	s := &sender{
		cfg: cfg, client: client, rec: rec, pool: pool,
		rnd: rand.New(rand.NewPCG(cfg.Seed, worker)), next: int(worker),
		req: fasthttp.AcquireRequest(), resp: fasthttp.AcquireResponse(),
	}
	s.req.SetRequestURI(cfg.URL)
	s.req.Header.SetMethod(fasthttp.MethodPost)
	s.req.Header.SetContentType("application/json")
	if cfg.AuthHeader != "" {
		s.req.Header.Set(cfg.AuthHeader, cfg.Secret)
	}
	return s
}

// send posts one delivery: a fresh one, a replayed file, or a duplicate of
// an earlier one. It reports whether an answer came.
func (s *sender) send(intended time.Time) bool {
	var (
		body   []byte
		events int
		uuids  []string
	)
	switch {
	case len(s.sent) > 0 && s.rnd.Float64() < s.cfg.DuplicateRatio:
		body = s.sent[s.rnd.IntN(len(s.sent))]
		events = s.cfg.Events
	case len(s.cfg.Replay) > 0:
		d := &s.cfg.Replay[s.next%len(s.cfg.Replay)]
		s.next++
		body, events, uuids = d.Body, d.Events, d.UUIDs
	default:
		t := s.pool[s.rnd.IntN(len(s.pool))]
		body = t.Fill(s.buf, s.rnd)
		s.buf, events = body, t.Events()
		if s.cfg.OnAck != nil {
			uuids = t.UUIDs(body, make([]string, 0, events))
		}
		if s.cfg.DuplicateRatio > 0 && len(s.sent) < 256 {
			s.sent = append(s.sent, bytes.Clone(body))
		}
	}
	s.req.SetBodyRaw(body)
	sent := time.Now()
	err := s.client.DoTimeout(s.req, s.resp, s.cfg.Timeout)
	status := s.resp.StatusCode()
	s.rec.record(status, err, time.Since(intended), time.Since(sent), events, len(body))
	if err == nil && status == fasthttp.StatusOK && uuids != nil && s.cfg.OnAck != nil &&
		s.rec.measuring.Load() {
		s.cfg.OnAck(uuids, intended)
	}
	return err == nil
}

func progress(ctx context.Context, cfg *LoadConfig, rec *recorder) func() {
	w := cfg.Progress
	if w == nil {
		return func() {}
	}
	// A terminal gets one line rewritten in place; a file or pipe gets a
	// line per second.
	start, end := "", "\n"
	if cfg.ProgressTTY {
		start, end = "\r", "   "
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		began := time.Now()
		var lastReq, lastEv int64
		stop := ctx.Done()
		for {
			select {
			case <-done:
				if cfg.ProgressTTY {
					fmt.Fprintln(w)
				}
				return
			case <-stop:
				stop = nil // the run is over; wait for done
			case <-t.C:
				req, ev := rec.answered.Load(), rec.events.Load()
				rec.mu.Lock()
				p99 := float64(rec.hist.ValueAtQuantile(99)) / 1000
				st := fmt.Sprint(rec.status)
				rec.mu.Unlock()
				phase := "warm-up"
				if rec.measuring.Load() {
					phase = "measuring"
				}
				fmt.Fprintf(w, "%s%4.0fs %-9s %7d req/s %8d events/s p99 %7.2f ms status %s errors %d%s",
					start, time.Since(began).Seconds(), phase, req-lastReq, ev-lastEv, p99, st,
					rec.errors.Load(), end)
				lastReq, lastEv = req, ev
			}
		}
	}()
	return func() { close(done); <-stopped }
}

func (r *recorder) result(cfg *LoadConfig, took time.Duration) *Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	secs := took.Seconds()
	ms := func(q float64) float64 { return float64(r.hist.ValueAtQuantile(q)) / 1000 }
	sms := func(q float64) float64 { return float64(r.service.ValueAtQuantile(q)) / 1000 }
	slowest := make(map[int]float64, len(r.slowest))
	for st, d := range r.slowest {
		slowest[st] = float64(d.Microseconds()) / 1000
	}
	res := &Result{
		Mode: "closed", URL: cfg.URL, Connections: cfg.Connections, EventsPerReq: cfg.Events,
		Seconds: secs, Requests: r.requests.Load(), Events: r.events.Load(), Bytes: r.bytes.Load(),
		Errors: r.errors.Load(), Status: r.status,
		Latency: Latency{P50: ms(50), P90: ms(90), P99: ms(99), P999: ms(99.9),
			Max: float64(r.hist.Max()) / 1000},
		Service: Latency{P50: sms(50), P90: sms(90), P99: sms(99), P999: sms(99.9),
			Max: float64(r.service.Max()) / 1000},
		SlowestByStatus: slowest,
	}
	if cfg.Rate > 0 {
		res.Mode, res.TargetRate = "open", cfg.Rate
	}
	if e := r.lastErr.Load(); e != nil && res.Errors > 0 {
		res.LastError = *e
	}
	if n := len(cfg.Replay); n > 0 {
		events := 0
		for _, d := range cfg.Replay {
			events += d.Events
		}
		res.EventsPerReq = (events + n/2) / n
	}
	if secs > 0 {
		res.RequestsPerSec = float64(res.Requests) / secs
		res.EventsPerSec = float64(res.Events) / secs
		res.MBPerSec = float64(res.Bytes) / secs / 1e6
	}
	return res
}

// Table formats results as a plain-text table.
func Table(results ...*Result) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%-6s %5s %6s %10s %11s %8s %8s %8s %8s %8s %8s %6s %s\n", "mode", "conns",
		"events", "req/s", "events/s", "MB/s", "p50 ms", "p90 ms", "p99 ms", "p99.9", "max ms", "errors",
		"status")
	for _, r := range results {
		fmt.Fprintf(&b, "%-6s %5d %6d %10.0f %11.0f %8.1f %8.2f %8.2f %8.2f %8.2f %8.2f %6d %v\n", r.Mode,
			r.Connections, r.EventsPerReq, r.RequestsPerSec, r.EventsPerSec, r.MBPerSec,
			r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.P999, r.Latency.Max, r.Errors,
			r.Status)
	}
	return b.String()
}
