package schema

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/hamba/avro/v2"
)

// Reader turns Kafka record values written by hookbridge back into JSON:
// an event record into the event as Okta sent it, a dead-letter record into
// the event as received plus a _deadletter member. Safe for concurrent use.
type Reader struct {
	s *Schemas
	// lookup fetches a registry schema by id; nil when there is no registry.
	lookup func(id uint32) (string, error)

	mu sync.Mutex
	// ids caches what each registry schema id is; guarded by mu.
	ids map[uint32]*[8]byte
}

// NewReader returns a Reader. lookup may be nil when values are not
// registry-framed.
func NewReader(s *Schemas, lookup func(id uint32) (string, error)) *Reader {
	return &Reader{s: s, lookup: lookup, ids: map[uint32]*[8]byte{}}
}

// AppendJSON appends the JSON object of value to dst.
func (r *Reader) AppendJSON(dst, value []byte) ([]byte, error) {
	f, err := ParseFrame(value)
	if err != nil {
		return dst, err
	}
	fp := f.Fingerprint
	if f.Framing == Confluent {
		if fp, err = r.registryFingerprint(f.SchemaID); err != nil {
			return dst, err
		}
	}
	switch fp {
	case r.s.LogEventFP:
		out, _, err := DecodeEvent(dst, f.Body)
		return out, err
	case r.s.DeadLetterFP:
		return r.appendDeadLetter(dst, f.Body)
	}
	return dst, fmt.Errorf("record written with an unknown schema (fingerprint %x)", fp)
}

// registryFingerprint maps a registry id to the fingerprint of the schema it
// names, so that only schemas this Reader knows are decoded.
func (r *Reader) registryFingerprint(id uint32) ([8]byte, error) {
	r.mu.Lock()
	cached := r.ids[id]
	r.mu.Unlock()
	if cached != nil {
		return *cached, nil
	}
	if r.lookup == nil {
		return [8]byte{}, fmt.Errorf("record uses registry schema id %d; give a registry URL to decode it", id)
	}
	text, err := r.lookup(id)
	if err != nil {
		return [8]byte{}, err
	}
	sch, err := avro.Parse(text)
	if err != nil {
		return [8]byte{}, fmt.Errorf("parse registry schema %d: %w", id, err)
	}
	var fp [8]byte
	if err := fingerprint(sch, &fp); err != nil {
		return fp, err
	}
	r.mu.Lock()
	r.ids[id] = &fp
	r.mu.Unlock()
	return fp, nil
}

func (r *Reader) appendDeadLetter(dst, body []byte) ([]byte, error) {
	d, err := r.s.DecodeDeadLetter(body)
	if err != nil {
		return dst, err
	}
	ev := []byte(d.Event)
	if len(ev) < 2 || ev[0] != '{' {
		// The event was not an object; show it under "event" instead.
		ev = append(append([]byte(`{"event":`), ev...), '}')
	}
	dst = append(dst, ev[:len(ev)-1]...)
	if len(ev) > 2 {
		dst = append(dst, ',')
	}
	dst = append(dst, `"_deadletter":{"reason":`...)
	dst = AppendJSONString(dst, []byte(d.Reason))
	dst = append(dst, `,"error":`...)
	dst = AppendJSONString(dst, []byte(d.Error))
	dst = append(dst, `,"source":`...)
	dst = AppendJSONString(dst, []byte(d.Source))
	dst = append(dst, `,"deliveryEventId":`...)
	if d.DeliveryEventID != nil {
		dst = AppendJSONString(dst, []byte(*d.DeliveryEventID))
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"receivedAt":`...)
	dst = strconv.AppendQuote(dst, d.ReceivedAt.UTC().Format(time.RFC3339Nano))
	return append(dst, "}}"...), nil
}
