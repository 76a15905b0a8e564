package schema

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/hamba/avro/v2"
)

// Framing says how a record's Avro body is prefixed in Kafka.
type Framing uint8

const (
	// SingleObject is Avro single-object encoding: C3 01, then the 8-byte
	// little-endian CRC-64-AVRO fingerprint of the writer schema.
	SingleObject Framing = iota + 1
	// Confluent is the schema-registry wire format: a 0 byte, then the
	// 4-byte big-endian schema id.
	Confluent
)

// Header lengths of the two framings.
const (
	SingleObjectHeaderLen = 10
	ConfluentHeaderLen    = 5
)

// ErrUnknownFraming is returned for a value that starts with neither header.
var ErrUnknownFraming = errors.New("value is neither Avro single-object nor Confluent framed")

// AppendSingleObjectHeader appends the single-object encoding header.
func AppendSingleObjectHeader(dst []byte, fingerprint [8]byte) []byte {
	dst = append(dst, 0xC3, 0x01)
	return append(dst, fingerprint[:]...)
}

// AppendConfluentHeader appends the schema-registry wire format header.
func AppendConfluentHeader(dst []byte, schemaID uint32) []byte {
	dst = append(dst, 0)
	return binary.BigEndian.AppendUint32(dst, schemaID)
}

// Frame is a parsed record header.
type Frame struct {
	Framing     Framing
	Fingerprint [8]byte // SingleObject
	SchemaID    uint32  // Confluent
	Body        []byte
}

// ParseFrame splits a Kafka record value into its header and Avro body.
func ParseFrame(value []byte) (Frame, error) {
	switch {
	case len(value) >= SingleObjectHeaderLen && value[0] == 0xC3 && value[1] == 0x01:
		f := Frame{Framing: SingleObject, Body: value[SingleObjectHeaderLen:]}
		copy(f.Fingerprint[:], value[2:SingleObjectHeaderLen])
		return f, nil
	case len(value) >= ConfluentHeaderLen && value[0] == 0:
		return Frame{
			Framing:  Confluent,
			SchemaID: binary.BigEndian.Uint32(value[1:ConfluentHeaderLen]),
			Body:     value[ConfluentHeaderLen:],
		}, nil
	}
	return Frame{}, ErrUnknownFraming
}

// DeadLetter is an event that could not be converted or stored.
type DeadLetter struct {
	Reason          string    `avro:"reason"`
	Error           string    `avro:"error"`
	Source          string    `avro:"source"`
	DeliveryEventID *string   `avro:"deliveryEventId"`
	ReceivedAt      time.Time `avro:"receivedAt"`
	Event           string    `avro:"event"`
}

// AppendDeadLetter appends the Avro body of d.
func (s *Schemas) AppendDeadLetter(dst []byte, d *DeadLetter) ([]byte, error) {
	b, err := avro.Marshal(s.DeadLetter, d)
	if err != nil {
		return dst, fmt.Errorf("encode dead letter: %w", err)
	}
	return append(dst, b...), nil
}

// DecodeDeadLetter reads a DeadLetter Avro body.
func (s *Schemas) DecodeDeadLetter(body []byte) (*DeadLetter, error) {
	d := &DeadLetter{}
	if err := avro.Unmarshal(s.DeadLetter, body, d); err != nil {
		return nil, fmt.Errorf("decode dead letter: %w", err)
	}
	return d, nil
}
