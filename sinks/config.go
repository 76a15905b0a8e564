package sinks

import (
	"errors"
	"fmt"
	"time"

	"github.com/hookbridge/hookbridge/confval"
)

// Sink types.
const (
	TypeStdout = "stdout"
	TypeFile   = "file"
)

// Config is one sink.
type Config struct {
	// Name identifies the sink; its consumer group is hookbridge-sink-<name>.
	Name string `yaml:"name"`
	// Type is the destination: stdout or file.
	Type string `yaml:"type"`
	// Topics are the topics it reads.
	Topics []string `yaml:"topics"`
	// Filter is an expression over the event's fields; only events for
	// which it is true are delivered, e.g.
	// eventType startsWith "user." && outcome?.result == "FAILURE".
	Filter string      `yaml:"filter"`
	Batch  BatchConfig `yaml:"batch"`
	// Concurrency is the most batches in flight at once; the sink adapts
	// between 1 and this. Default 4.
	Concurrency int         `yaml:"concurrency"`
	Retry       RetryConfig `yaml:"retry"`
	// MaxInFlightEvents and MaxInFlightBytes bound what the sink holds; at
	// the bound it pauses fetching until deliveries catch up.
	MaxInFlightEvents int           `yaml:"max_in_flight_events"`
	MaxInFlightBytes  confval.Bytes `yaml:"max_in_flight_bytes"`
	// DeadLetterTopic takes events the destination rejects for good or that
	// exhaust their retries; default <name>.deadletter.
	DeadLetterTopic string `yaml:"dead_letter_topic"`
	// Path is the file of a file sink (NDJSON, appended).
	Path string `yaml:"path"`
}

// BatchConfig bounds a batch: it is sent at whichever limit comes first.
type BatchConfig struct {
	MaxEvents int           `yaml:"max_events"` // default 500
	MaxBytes  confval.Bytes `yaml:"max_bytes"`  // default 1MiB
	MaxAge    time.Duration `yaml:"max_age"`    // default 1s
}

// RetryConfig shapes retries: exponential backoff with jitter from
// Initial to Max, a Retry-After from the destination taking precedence,
// for at most Attempts tries before the event is dead-lettered.
type RetryConfig struct {
	Initial  time.Duration `yaml:"initial"`  // default 200ms
	Max      time.Duration `yaml:"max"`      // default 30s
	Attempts int           `yaml:"attempts"` // default 10
}

// Validate fills defaults and checks a sink's configuration.
func (c *Config) Validate() error {
	if c.Name == "" {
		return errors.New("sinks: name is required")
	}
	key := "sinks[" + c.Name + "]"
	// Types other than stdout and file are destinations of their own
	// packages (sinks/splunk, ...), which the command wires and checks.
	switch c.Type {
	case TypeFile:
		if c.Path == "" {
			return fmt.Errorf("%s.path is required for a file sink", key)
		}
	case "":
		return fmt.Errorf("%s.type is required", key)
	}
	if len(c.Topics) == 0 {
		return fmt.Errorf("%s.topics: at least one topic is required", key)
	}
	if _, err := compileFilter(c.Filter); err != nil {
		return fmt.Errorf("%s.filter: %w", key, err)
	}
	setDefault(&c.Batch.MaxEvents, 500)
	setDefault(&c.Batch.MaxBytes, 1<<20)
	setDefault(&c.Batch.MaxAge, time.Second)
	setDefault(&c.Concurrency, 4)
	setDefault(&c.Retry.Initial, 200*time.Millisecond)
	setDefault(&c.Retry.Max, 30*time.Second)
	setDefault(&c.Retry.Attempts, 10)
	setDefault(&c.MaxInFlightEvents, 10_000)
	setDefault(&c.MaxInFlightBytes, 64<<20)
	if c.DeadLetterTopic == "" {
		c.DeadLetterTopic = c.Name + ".deadletter"
	}
	if c.Batch.MaxEvents < 1 || c.Concurrency < 1 || c.Retry.Attempts < 1 ||
		c.MaxInFlightEvents < c.Batch.MaxEvents {
		return fmt.Errorf("%s: batch.max_events, concurrency and retry.attempts must be positive, "+
			"max_in_flight_events at least batch.max_events", key)
	}
	return nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}
