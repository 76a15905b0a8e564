package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookbridge/hookbridge/internal/jsontape"
	"github.com/hookbridge/hookbridge/schema"
	"github.com/hookbridge/hookbridge/spool"
)

// Header keys every record carries.
const (
	HeaderEventType  = "okta-event-type"
	HeaderSource     = "hookbridge-source"
	HeaderDeliveryID = "okta-delivery-id"
	HeaderReason     = "hookbridge-dead-letter-reason"
)

// Dead-letter reasons, also the values of the dead_letters metric label.
const (
	ReasonNotObject        = "not_object"
	ReasonMissingUUID      = "missing_uuid"
	ReasonMissingPublished = "missing_published"
	ReasonBadPublished     = "bad_published"
	ReasonTooLarge         = "too_large"
)

// pending is one record of a delivery on its way to Kafka. rec must stay the
// first field: the produce callback gets &rec back and recovers the pending
// from it (see onProduced).
type pending struct {
	rec      kgo.Record
	hdrs     [4]kgo.RecordHeader
	topic    *topic
	dedupKey uint64
	dead     bool
	event    jsontape.Value
	err      error
	// acked is set by the produce callback; the handler reads it when it
	// stops waiting, possibly before every callback ran.
	acked atomic.Bool
	// replaced says a dead letter took this record's place (too large).
	replaced bool
}

// delivery holds the state of one POST, reused through a pool. Nothing in it
// refers to the fasthttp request: the body is copied to text first.
type delivery struct {
	h       *Handler
	src     *source
	text    []byte // the body, with invalid UTF-8 repaired; doc parses it in place
	doc     jsontape.Doc
	enc     schema.Encoder
	buf     []byte // record values, back to back
	recs    []pending
	keys    map[uint64]struct{}
	meta    schema.Meta
	promise func(*kgo.Record, error)

	remaining atomic.Int32
	done      chan struct{} // capacity 1: the last callback never blocks
	dupes     int
}

func newDelivery(h *Handler) *delivery {
	d := &delivery{h: h, keys: make(map[uint64]struct{}), done: make(chan struct{}, 1)}
	d.promise = d.onProduced
	return d
}

// outcome is how a delivery ends: an HTTP status and a one-line reason.
type outcome struct {
	status int
	reason string
}

var (
	accepted  = outcome{status: 200}
	timedOut  = outcome{503, "Kafka did not acknowledge the delivery within the response budget"}
	maxBufCap = 32 << 20 // larger buffers are dropped rather than pooled
)

// run processes a delivery body. It reports whether d may be reused: not
// when it gave up waiting for Kafka, since callbacks may still touch it.
func (d *delivery) run(ctx context.Context, src *source, body []byte, received time.Time) (outcome, bool) {
	d.src = src
	// The parser turns lone surrogate escapes into U+FFFD itself; invalid
	// UTF-8 is repaired first, so that no Avro string holds any.
	if utf8.Valid(body) {
		d.text = append(d.text[:0], body...)
	} else {
		d.text = schema.Sanitize(d.text[:0], body)
	}
	env, err := parseEnvelope(&d.doc, d.text)
	if err != nil {
		return outcome{400, err.Error()}, true
	}
	events := env.events.Len()
	if events == 0 {
		return accepted, true
	}
	d.meta = schema.Meta{
		Source: src.name, EventID: env.eventID, EventTime: env.eventTime,
		ReceivedAt: received, KeepRaw: d.h.keepRaw,
	}
	// Room for every event twice over: once as produced, once more as a
	// dead letter should the broker find it too large. The slice must never
	// grow while records are in flight; see onProduced.
	if cap(d.recs) < 2*events {
		d.recs = make([]pending, 0, 2*events)
	}
	for ev := range env.events.Items() {
		if o := d.add(ev); o.status != 0 {
			return o, true
		}
	}
	if d.dupes > 0 {
		d.h.m.duplicates.WithLabelValues(src.name).Add(float64(d.dupes))
	}
	if len(d.recs) == 0 {
		return accepted, true
	}
	return d.produce(ctx)
}

// add converts one event into a pending record: to its topic, or to the
// dead-letter topic when it cannot be stored there. A duplicate adds nothing.
func (d *delivery) add(ev jsontape.Value) outcome {
	h := d.h
	start := len(d.buf)
	d.buf = append(d.buf, h.frame[:h.frameLen]...) // the topic's header goes here
	var info schema.Info
	var err error
	d.buf, info, err = d.enc.AppendEvent(d.buf, ev, &d.meta)
	switch {
	case err != nil:
		return d.deadLetter(ev, start, ReasonNotObject, "event is not a JSON object")
	case info.UUID == nil || len(info.UUID) == 0:
		return d.deadLetter(ev, start, ReasonMissingUUID, "event has no uuid string")
	case info.Published == nil:
		return d.deadLetter(ev, start, ReasonMissingPublished, "event has no published string")
	case !info.PublishedOK:
		return d.deadLetter(ev, start, ReasonBadPublished,
			fmt.Sprintf("published %.64q is not an RFC 3339 timestamp", info.Published))
	}

	t := h.router.route(info.EventType)
	value := d.buf[start:]
	copy(value, t.header)
	key := d.recordKey(&info)
	if n := len(value) + len(key) + len(info.EventType) + len(d.meta.EventID); n > t.maxRecordBytes {
		return d.deadLetter(ev, start, ReasonTooLarge,
			fmt.Sprintf("event is %d bytes as Avro; topic %s takes at most %d", n, t.name, t.maxRecordBytes))
	}

	var dk uint64
	if h.dedup != nil {
		dk = h.dedup.key(info.UUID, info.EventType, info.Published)
		_, again := d.keys[dk]
		if again || h.dedup.seen(dk, d.meta.ReceivedAt) {
			d.dupes++
			d.buf = d.buf[:start]
			return outcome{}
		}
		d.keys[dk] = struct{}{}
	}
	p := d.push(t, key, value, info.EventType)
	p.dedupKey = dk
	p.event = ev
	return outcome{}
}

func (d *delivery) recordKey(info *schema.Info) []byte {
	switch d.h.key {
	case KeyActorID:
		return info.ActorID
	case KeySource:
		return unsafe.Slice(unsafe.StringData(d.src.name), len(d.src.name))
	}
	return info.UUID
}

func (d *delivery) push(t *topic, key, value, eventType []byte) *pending {
	d.recs = append(d.recs, pending{topic: t})
	p := &d.recs[len(d.recs)-1]
	p.hdrs[0] = kgo.RecordHeader{Key: HeaderEventType, Value: eventType}
	p.hdrs[1] = kgo.RecordHeader{Key: HeaderSource, Value: unsafe.Slice(unsafe.StringData(d.src.name), len(d.src.name))}
	p.hdrs[2] = kgo.RecordHeader{Key: HeaderDeliveryID, Value: d.meta.EventID}
	p.rec = kgo.Record{
		Topic:     t.name,
		Key:       key,
		Value:     value,
		Timestamp: d.meta.ReceivedAt,
		Headers:   p.hdrs[:3],
	}
	return p
}

// deadLetter replaces whatever add wrote from start with a dead-letter record
// of ev. It fails the delivery only when even the dead-letter topic cannot
// take the event, which start-up checks make a configuration error.
func (d *delivery) deadLetter(ev jsontape.Value, start int, reason, why string) outcome {
	h := d.h
	d.buf = d.buf[:start]
	text := schema.AppendJSON(nil, ev)
	var eventID *string
	if d.meta.EventID != nil {
		s := string(d.meta.EventID)
		eventID = &s
	}
	d.buf = append(d.buf, h.dlq.header...)
	var err error
	d.buf, err = h.schemas.AppendDeadLetter(d.buf, &schema.DeadLetter{
		Reason: reason, Error: why, Source: d.src.name, DeliveryEventID: eventID,
		ReceivedAt: d.meta.ReceivedAt, Event: string(text),
	})
	if err != nil {
		return outcome{500, "cannot encode a dead-letter record"}
	}
	value := d.buf[start:]
	if len(value) > h.dlq.maxRecordBytes {
		h.rl.event(&h.log, zerolog.ErrorLevel, "dead_letter_too_large").Str("source", d.src.name).
			Int("bytes", len(value)).Str("topic", h.dlq.name).
			Msg("event too large even for the dead-letter topic; delivery refused")
		return outcome{503, "an event is too large for the dead-letter topic"}
	}
	// Keyed by the event's uuid when it has one, so that the dead letter
	// can be found by its event.
	var key []byte
	if u := ev.Get("uuid"); u.Kind() == jsontape.String && len(u.Bytes()) > 0 {
		key = u.Bytes()
	}
	p := d.push(h.dlq, key, value, nil)
	p.dead = true
	p.hdrs[3] = kgo.RecordHeader{Key: HeaderReason, Value: []byte(reason)}
	p.rec.Headers = p.hdrs[:4]
	if t := ev.Get("eventType"); t.Kind() == jsontape.String {
		p.hdrs[0].Value = t.Bytes()
	}
	return outcome{}
}

// produce hands every pending record to Kafka and waits, within the budget,
// for all acknowledgements. Records the broker finds too large are sent to
// the dead-letter topic in a second round. With a spool, what Kafka did not
// acknowledge in time is written to the spool instead, and the delivery is
// still accepted.
func (d *delivery) produce(ctx context.Context) (outcome, bool) {
	h := d.h
	if h.spool != nil && h.spool.Pending(d.src.name) {
		// Older deliveries of this source wait in the spool: queue behind
		// them so the source's events reach Kafka in order.
		recs := make([]spool.Record, len(d.recs))
		for i := range d.recs {
			recs[i] = spoolRecord(&d.recs[i])
		}
		return d.spoolRecords(recs), true
	}
	kctx := ctx
	if h.spool != nil {
		var cancel context.CancelFunc
		kctx, cancel = context.WithTimeout(ctx, h.kafkaWait)
		defer cancel()
	}
	if !d.produceAll(kctx, d.recs) {
		if h.spool != nil {
			return d.spoolUnacked(), false
		}
		return timedOut, false
	}
	first := len(d.recs)
	for i := range first {
		p := &d.recs[i]
		if p.err == nil {
			continue
		}
		if p.dead || !isTooLarge(p.err) {
			if h.spool != nil {
				return d.spoolUnacked(), true
			}
			return d.failed(p), true
		}
		p.replaced = true
		if o := d.deadLetter(p.event, len(d.buf), ReasonTooLarge, p.err.Error()); o.status != 0 {
			return o, true
		}
	}
	if retry := d.recs[first:]; len(retry) > 0 {
		if !d.produceAll(kctx, retry) {
			if h.spool != nil {
				return d.spoolUnacked(), false
			}
			return timedOut, false
		}
		for i := range retry {
			if retry[i].err != nil {
				if h.spool != nil {
					return d.spoolUnacked(), true
				}
				return d.failed(&retry[i]), true
			}
		}
	}
	return accepted, true
}

// spoolUnacked spools the records Kafka has not acknowledged. A callback may
// still acknowledge one of them afterwards; the drainer then finds it in the
// dedup set and skips it. Only acked and the fields hookbridge itself set
// are read: franz-go may still be writing the others.
func (d *delivery) spoolUnacked() outcome {
	var left []spool.Record
	for i := range d.recs {
		if p := &d.recs[i]; !p.acked.Load() && !p.replaced {
			left = append(left, spoolRecord(p))
		}
	}
	return d.spoolRecords(left)
}

func spoolRecord(p *pending) spool.Record {
	r := &p.rec
	return spool.Record{
		Topic: r.Topic, Key: r.Key, Value: r.Value, Headers: r.Headers,
		Timestamp: r.Timestamp, DedupKey: p.dedupKey,
	}
}

// spoolRecords writes recs to the spool, fsynced, and answers 200; or 503
// when the spool cannot take them.
func (d *delivery) spoolRecords(recs []spool.Record) outcome {
	h := d.h
	if len(recs) == 0 {
		return accepted
	}
	if err := h.spool.Append(d.src.name, recs); err != nil {
		h.rl.event(&h.log, zerolog.ErrorLevel, "spool_append").Err(err).Str("source", d.src.name).
			Msg("cannot spool a delivery Kafka did not take; answering 503")
		return outcome{503, "Kafka is unavailable and the spool cannot take the delivery"}
	}
	h.m.spooled.Add(float64(len(recs)))
	return accepted
}

// produceAll produces recs and reports whether all were answered in time.
// recs must not move while records are in flight: callbacks find their
// pending through the record pointer.
func (d *delivery) produceAll(ctx context.Context, recs []pending) bool {
	d.remaining.Store(int32(len(recs)))
	for i := range recs {
		d.h.kafka.Produce(ctx, &recs[i].rec, d.promise)
	}
	select {
	case <-d.done:
		return true
	case <-ctx.Done():
		return false
	}
}

// onProduced is the produce callback. It marks an acknowledged event as seen
// even when the request already timed out: a redelivery of it is then a
// duplicate.
func (d *delivery) onProduced(r *kgo.Record, err error) {
	// r is &pending.rec, the first field of its pending.
	p := (*pending)(unsafe.Pointer(r))
	p.err = err
	if err == nil {
		p.acked.Store(true)
		if p.dedupKey != 0 {
			d.h.dedup.add(p.dedupKey, time.Now())
		}
		if p.dead {
			d.h.m.deadLetters.WithLabelValues(string(p.rec.Headers[3].Value)).Inc()
		} else {
			p.topic.events.Inc()
		}
	}
	if d.remaining.Add(-1) == 0 {
		d.done <- struct{}{}
	}
}

func (d *delivery) failed(p *pending) outcome {
	h := d.h
	h.rl.event(&h.log, zerolog.WarnLevel, "produce_failed").Err(p.err).Str("topic", p.rec.Topic).
		Str("source", d.src.name).Msg("kafka did not acknowledge an event; answering 503")
	return outcome{503, "Kafka did not acknowledge the delivery: " + p.err.Error()}
}

// reset makes d ready for the next delivery.
func (d *delivery) reset() {
	clear(d.recs)
	d.recs = d.recs[:0]
	d.buf = d.buf[:0]
	clear(d.keys)
	d.dupes = 0
	d.meta = schema.Meta{}
	d.src = nil
}

func isTooLarge(err error) bool {
	return errors.Is(err, kerr.MessageTooLarge) || errors.Is(err, kerr.RecordListTooLarge)
}
