package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/valyala/fasthttp"

	"github.com/hookbridge/hookbridge/schema"
	"github.com/hookbridge/hookbridge/spool"
)

// producer is the part of a franz-go client that ingest uses.
type producer interface {
	Produce(ctx context.Context, r *kgo.Record, promise func(*kgo.Record, error))
}

// source is a configured event hook, ready to check requests against.
type source struct {
	name       string
	authHeader string
	// secrets are SHA-256 digests of the accepted values, so comparing
	// takes the same time whatever the lengths involved.
	secrets [][sha256.Size]byte
	maxBody int
}

// authorized compares the header value against every accepted secret in
// constant time.
func (s *source) authorized(got []byte) bool {
	if len(got) == 0 {
		return false
	}
	sum := sha256.Sum256(got)
	ok := 0
	for i := range s.secrets {
		ok |= subtle.ConstantTimeCompare(sum[:], s.secrets[i][:])
	}
	return ok == 1
}

// Handler serves Okta event hook requests. It is safe for concurrent use.
type Handler struct {
	log     zerolog.Logger
	sources map[string]*source // by URL path
	router  *router
	dlq     *topic
	dedup   *dedup
	key     string
	keepRaw bool
	budget  time.Duration
	// spool is nil when off. kafkaWait is how much of the budget goes to
	// waiting for Kafka; the rest is kept for writing to the spool.
	spool     *spool.Spool
	kafkaWait time.Duration
	// kafka writes every topic, dead letters included: the client takes
	// per-topic batch limits, so one is enough.
	kafka   producer
	schemas *schema.Schemas
	// frame is room reserved before each value for the topic's header.
	frame    [schema.SingleObjectHeaderLen]byte
	frameLen int

	admission *admission // server.max_in_flight slots
	pool      sync.Pool
	gzips     sync.Pool
	m         *metrics
	rl        *rateLog
}

// ServeHTTP routes a request by path, then by method.
func (h *Handler) ServeHTTP(ctx *fasthttp.RequestCtx) {
	src := h.sources[string(ctx.Path())]
	if src == nil {
		h.respond(ctx, nil, fasthttp.StatusNotFound, "no event hook source at this path")
		return
	}
	switch {
	case ctx.IsPost():
		h.deliver(ctx, src)
	case ctx.IsGet():
		h.verify(ctx, src)
	default:
		ctx.Response.Header.Set("Allow", "GET, POST")
		h.respond(ctx, src, fasthttp.StatusMethodNotAllowed,
			"method not allowed; Okta sends GET to verify a hook and POST to deliver events")
	}
}

// verify answers Okta's one-time verification: the challenge header's value,
// unchanged, as {"verification": value}.
func (h *Handler) verify(ctx *fasthttp.RequestCtx, src *source) {
	if !src.authorized(ctx.Request.Header.Peek(src.authHeader)) {
		h.unauthorized(ctx, src)
		return
	}
	challenge := ctx.Request.Header.Peek("X-Okta-Verification-Challenge")
	if len(challenge) == 0 {
		h.respond(ctx, src, fasthttp.StatusBadRequest,
			"missing X-Okta-Verification-Challenge header; deliveries are POSTed")
		return
	}
	if !utf8.Valid(challenge) {
		h.respond(ctx, src, fasthttp.StatusBadRequest, "X-Okta-Verification-Challenge is not UTF-8")
		return
	}
	body := []byte(`{"verification":`)
	body = schema.AppendJSONString(body, challenge)
	body = append(body, '}')
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
	h.count(src, fasthttp.StatusOK)
	h.log.Info().Str("source", src.name).Msg("answered okta verification challenge")
}

// admit takes an in-flight slot; see admission.
func (h *Handler) admit() bool {
	ok, early := h.admission.acquire()
	switch {
	case ok:
	case early:
		h.m.shed.WithLabelValues("overload").Inc()
	default:
		h.m.shed.WithLabelValues("waited").Inc()
	}
	return ok
}

// deliver checks, converts and produces one delivery, answering 200 only
// when Kafka holds every event.
func (h *Handler) deliver(ctx *fasthttp.RequestCtx, src *source) {
	received := time.Now()
	if !src.authorized(ctx.Request.Header.Peek(src.authHeader)) {
		h.unauthorized(ctx, src)
		return
	}
	if msg := checkContentType(ctx.Request.Header.ContentType()); msg != "" {
		h.respond(ctx, src, fasthttp.StatusUnsupportedMediaType, msg)
		return
	}
	body, status, msg := h.body(ctx, src)
	if status != 0 {
		h.respond(ctx, src, status, msg)
		return
	}
	h.m.bytesIn.WithLabelValues(src.name).Add(float64(len(body)))

	if !h.admit() {
		h.respond(ctx, src, fasthttp.StatusServiceUnavailable,
			"too many deliveries in flight; try again")
		return
	}
	deadline := received.Add(h.budget)
	pctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	h.m.inFlight.Inc()
	d, _ := h.pool.Get().(*delivery)
	if d == nil {
		d = newDelivery(h)
	}
	out, reusable := d.run(pctx, src, body, received)
	if reusable {
		d.reset()
		if cap(d.buf) <= maxBufCap && cap(d.text) <= maxBufCap && d.doc.Size() <= maxBufCap {
			h.pool.Put(d)
		}
	}
	h.admission.release()
	h.m.inFlight.Dec()
	if out.status == fasthttp.StatusOK {
		h.m.ackLatency.Observe(time.Since(received).Seconds())
	}
	h.respond(ctx, src, out.status, out.reason)
}

// body returns the delivery body, decompressed when gzip-encoded, within the
// source's limit.
func (h *Handler) body(ctx *fasthttp.RequestCtx, src *source) ([]byte, int, string) {
	raw := ctx.PostBody()
	tooLarge := fmt.Sprintf("delivery body exceeds the %d-byte limit of source %s", src.maxBody, src.name)
	enc := ctx.Request.Header.ContentEncoding()
	switch {
	case len(enc) == 0 || bytes.EqualFold(enc, []byte("identity")):
		if len(raw) > src.maxBody {
			return nil, fasthttp.StatusRequestEntityTooLarge, tooLarge
		}
		return raw, 0, ""
	case bytes.EqualFold(enc, []byte("gzip")):
		out, err := h.gunzip(raw, src.maxBody)
		if errors.Is(err, errTooLarge) {
			return nil, fasthttp.StatusRequestEntityTooLarge, tooLarge
		}
		if err != nil {
			return nil, fasthttp.StatusBadRequest, "gzip body is corrupt: " + err.Error()
		}
		return out, 0, ""
	}
	return nil, fasthttp.StatusUnsupportedMediaType,
		fmt.Sprintf("Content-Encoding %.32q is not supported; use gzip or none", enc)
}

var errTooLarge = errors.New("decompressed body exceeds the limit")

// gunzip decompresses at most limit bytes; one more byte is an error, so
// that a small compressed body cannot expand without bound.
func (h *Handler) gunzip(raw []byte, limit int) ([]byte, error) {
	zr, _ := h.gzips.Get().(*gzip.Reader)
	var err error
	if zr == nil {
		zr, err = gzip.NewReader(bytes.NewReader(raw))
	} else {
		err = zr.Reset(bytes.NewReader(raw))
	}
	if err != nil {
		return nil, err
	}
	defer h.gzips.Put(zr)
	out, err := io.ReadAll(io.LimitReader(zr, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(out) > limit {
		return nil, errTooLarge
	}
	return out, nil
}

// checkContentType accepts application/json and application/*+json, with
// parameters such as charset.
func checkContentType(ct []byte) string {
	if i := bytes.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = bytes.TrimSpace(ct)
	if len(ct) == 0 {
		return "missing Content-Type; deliveries must be application/json"
	}
	lower := bytes.ToLower(ct)
	if bytes.Equal(lower, []byte("application/json")) ||
		(bytes.HasPrefix(lower, []byte("application/")) && bytes.HasSuffix(lower, []byte("+json"))) {
		return ""
	}
	return fmt.Sprintf("Content-Type %.64q is not JSON; deliveries must be application/json", ct)
}

// requestError answers requests fasthttp could not read. A body over the
// server's limit is 413 like any other oversized delivery; the rest are
// malformed HTTP.
func (h *Handler) requestError(ctx *fasthttp.RequestCtx, err error) {
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		h.respond(ctx, h.sources[string(ctx.Path())], fasthttp.StatusRequestEntityTooLarge,
			"delivery body exceeds the size limit")
		return
	}
	h.respond(ctx, nil, fasthttp.StatusBadRequest, "cannot read the HTTP request")
}

func (h *Handler) unauthorized(ctx *fasthttp.RequestCtx, src *source) {
	// Say nothing about which part was wrong.
	h.respond(ctx, src, fasthttp.StatusUnauthorized, "unauthorized")
	h.rl.event(&h.log, zerolog.WarnLevel, "unauthorized_"+src.name).Str("source", src.name).
		Str("remote", ctx.RemoteIP().String()).Msg("rejected a request with a wrong or missing secret")
}

// respond writes the status and, for errors, a one-line plain-text reason.
// It is the only place a status is set, so metrics see every answer.
func (h *Handler) respond(ctx *fasthttp.RequestCtx, src *source, status int, reason string) {
	ctx.SetStatusCode(status)
	if status != fasthttp.StatusOK {
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.SetBodyString(reason + "\n")
	}
	h.count(src, status)
	if status >= 500 {
		h.rl.event(&h.log, zerolog.WarnLevel, "status_"+strconv.Itoa(status)).Int("status", status).
			Str("reason", reason).Msg("delivery not accepted")
	}
}

func (h *Handler) count(src *source, status int) {
	name := ""
	if src != nil {
		name = src.name
	}
	h.m.requests.WithLabelValues(name, strconv.Itoa(status)).Inc()
}
