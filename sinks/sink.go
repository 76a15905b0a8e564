// Package sinks runs consumers that forward hookbridge's Kafka topics to the
// systems that act on the events: each sink is its own consumer group, batches
// events, delivers them with bounded, adaptive concurrency and retries, sends
// what a destination rejects for good to a dead-letter topic, and commits an
// offset only once every event up to it was delivered or dead-lettered.
package sinks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Event is one event on its way to a destination.
type Event struct {
	// Record is the Kafka record the event came in.
	Record *kgo.Record
	// JSON is the event as Okta sent it, rebuilt from the Avro record.
	JSON []byte
	// UUID is the event's uuid, the idempotency key where a destination
	// takes one.
	UUID string
	// Published is the event's published time; zero when it has none.
	Published time.Time
}

// Destination delivers batches of events. Deliver returns one error per
// event, nil for delivered; an *Error says how to handle a failure, any
// other error is retried. Implementations must be safe for concurrent use.
type Destination interface {
	Deliver(ctx context.Context, batch []Event) []error
	Close() error
}

// Error classifies a delivery failure.
type Error struct {
	Err error
	// Permanent failures are not retried: the event goes to the dead-letter
	// topic.
	Permanent bool
	// RetryAfter is the destination's requested wait, when it gave one.
	RetryAfter time.Duration
	// Backpressure says the destination is overloaded (429, 503, busy),
	// which lowers the sink's concurrency.
	Backpressure bool
}

// Error returns the underlying error's text.
func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Permanent wraps err as a failure not worth retrying.
func Permanent(err error) error { return &Error{Err: err, Permanent: true} }

// classify reads the handling of err.
func classify(err error) (permanent, backpressure bool, retryAfter time.Duration) {
	var e *Error
	if errors.As(err, &e) {
		return e.Permanent, e.Backpressure, e.RetryAfter
	}
	return false, false, 0
}

// ErrUnknownType is returned for a sink type with no destination.
var ErrUnknownType = errors.New("unknown sink type")

// NewDestination builds the destination of a sink's configuration.
func NewDestination(c *Config) (Destination, error) {
	switch c.Type {
	case TypeStdout, TypeFile:
		return newFileDestination(c)
	}
	return nil, fmt.Errorf("sinks[%s].type %q: %w", c.Name, c.Type, ErrUnknownType)
}
