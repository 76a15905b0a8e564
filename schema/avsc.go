package schema

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hamba/avro/v2"
	"github.com/hamba/avro/v2/pkg/crc64"
)

// Delivery holds what hookbridge adds to every event: where and when it came.
var Delivery = newRecord("Delivery", "How the event reached hookbridge.",
	str("source", "Name of the hookbridge source (Okta org) it came from."),
	str("eventId", "The envelope eventId of the delivery (one per POST)."),
	str("eventTime", "The envelope eventTime: when Okta sent the delivery."),
	long("receivedAt", "When hookbridge received the delivery, Unix milliseconds."),
	str("raw", "The event's JSON exactly as received, when keeping a raw copy is on."),
)

// DeliveryField names the top-level field of a LogEvent record that holds the
// Delivery metadata.
const DeliveryField = "hookbridge"

type avscField struct {
	Name    string `json:"name"`
	Type    any    `json:"type"`
	Default any    `json:"default,omitempty"`
	Doc     string `json:"doc,omitempty"`
}

// null marshals as JSON null, so a field can say "default": null while a
// field without a default leaves Default nil and omits it.
type null struct{}

// MarshalJSON writes null.
func (null) MarshalJSON() ([]byte, error) { return []byte("null"), nil }

type avscRecord struct {
	Type      string      `json:"type"`
	Name      string      `json:"name"`
	Namespace string      `json:"namespace,omitempty"`
	Doc       string      `json:"doc,omitempty"`
	Fields    []avscField `json:"fields"`
}

type avscArray struct {
	Type  string `json:"type"`
	Items any    `json:"items"`
}

type avscLogical struct {
	Type        string `json:"type"`
	LogicalType string `json:"logicalType"`
}

// schemaBuilder turns records into Avro schema JSON, defining each named type
// once and referring to it by name afterwards, as Avro requires.
type schemaBuilder struct {
	defined map[string]bool
}

func (b *schemaBuilder) record(r *Record, extra ...avscField) any {
	if b.defined[r.Name] {
		return r.Name
	}
	b.defined[r.Name] = true
	out := avscRecord{Type: "record", Name: r.Name, Doc: r.Doc}
	for _, f := range r.Fields {
		out.Fields = append(out.Fields, b.fields(f)...)
	}
	out.Fields = append(out.Fields,
		avscField{Name: AbsentField, Type: avscArray{Type: "array", Items: "string"},
			Default: []string{}, Doc: "Fields missing from the JSON object, or whose value is in _extra."},
		avscField{Name: ExtraField, Type: []any{"null", "string"}, Default: null{},
			Doc: "Members without a typed field, as a JSON object text."},
	)
	out.Fields = append(out.Fields, extra...)
	return out
}

func (b *schemaBuilder) fields(f Field) []avscField {
	nullable := func(name string, t any, doc string) avscField {
		return avscField{Name: name, Type: []any{"null", t}, Default: null{}, Doc: doc}
	}
	switch f.Kind {
	case String, JSON:
		return []avscField{nullable(f.Name, "string", f.Doc)}
	case Long:
		return []avscField{nullable(f.Name, "long", f.Doc)}
	case Double:
		return []avscField{nullable(f.Name, "double", f.Doc)}
	case Bool:
		return []avscField{nullable(f.Name, "boolean", f.Doc)}
	case Object:
		return []avscField{nullable(f.Name, b.record(f.Rec), f.Doc)}
	case Objects:
		return []avscField{nullable(f.Name, avscArray{Type: "array", Items: b.record(f.Rec)}, f.Doc)}
	case Strings:
		return []avscField{nullable(f.Name, avscArray{Type: "array", Items: "string"}, f.Doc)}
	case Timestamp:
		ts := avscLogical{Type: "long", LogicalType: "timestamp-millis"}
		return []avscField{
			nullable(f.Name, "string", f.Doc),
			nullable(f.Name+TimeSuffix, ts, "The "+f.Name+" instant, when it parses."),
		}
	}
	panic(fmt.Sprintf("BUG: field %s has unknown kind %d", f.Name, f.Kind))
}

// LogEventJSON returns the Avro schema of a LogEvent record as JSON text.
func LogEventJSON() string {
	b := &schemaBuilder{defined: map[string]bool{}}
	delivery := b.record(Delivery)
	rec := b.record(LogEvent, avscField{
		Name: DeliveryField, Type: delivery, Doc: "Added by hookbridge.",
	}).(avscRecord)
	rec.Namespace = Namespace
	return mustJSON(rec)
}

// DeadLetterJSON returns the Avro schema of a dead-letter record as JSON text.
func DeadLetterJSON() string {
	rec := avscRecord{
		Type: "record", Name: "DeadLetter", Namespace: Namespace,
		Doc: "An event hookbridge could not convert or store, with its raw JSON.",
		Fields: []avscField{
			{Name: "reason", Type: "string", Doc: "Short machine-readable reason, e.g. missing_uuid."},
			{Name: "error", Type: "string", Doc: "What went wrong, for people."},
			{Name: "source", Type: "string", Doc: "Name of the hookbridge source."},
			{Name: "deliveryEventId", Type: []any{"null", "string"}, Default: null{},
				Doc: "The envelope eventId of the delivery."},
			{Name: "receivedAt", Type: avscLogical{Type: "long", LogicalType: "timestamp-millis"},
				Doc: "When hookbridge received the delivery."},
			{Name: "event", Type: "string", Doc: "The event's JSON as received."},
		},
	}
	return mustJSON(rec)
}

func mustJSON(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic("BUG: marshal schema: " + err.Error())
	}
	return string(b)
}

// Schemas holds the parsed schemas and their single-object fingerprints.
type Schemas struct {
	LogEvent   avro.Schema
	DeadLetter avro.Schema
	// Fingerprints are CRC-64-AVRO of the canonical form, little-endian, as
	// the Avro single-object encoding header carries them.
	LogEventFP   [8]byte
	DeadLetterFP [8]byte
}

// Parse parses both schemas with hamba/avro, which also checks them against
// the Avro specification.
func Parse() (*Schemas, error) {
	s := &Schemas{}
	var err error
	if s.LogEvent, err = avro.Parse(LogEventJSON()); err != nil {
		return nil, fmt.Errorf("parse LogEvent schema: %w", err)
	}
	if s.DeadLetter, err = avro.Parse(DeadLetterJSON()); err != nil {
		return nil, fmt.Errorf("parse DeadLetter schema: %w", err)
	}
	if err := fingerprint(s.LogEvent, &s.LogEventFP); err != nil {
		return nil, err
	}
	if err := fingerprint(s.DeadLetter, &s.DeadLetterFP); err != nil {
		return nil, err
	}
	return s, nil
}

// fingerprint computes the CRC-64-AVRO fingerprint, little-endian, of the
// schema's Parsing Canonical Form. The specification's [STRIP] rule drops
// every attribute but a few, logicalType included, so a timestamp-millis
// long is canonically just "long"; hamba/avro's canonical text keeps the
// logical type, which would give a fingerprint no other implementation
// computes. So the logical types are removed here before hashing.
func fingerprint(s avro.Schema, dst *[8]byte) error {
	canonical := s.String()
	for _, lt := range []string{"timestamp-millis", "timestamp-micros"} {
		canonical = strings.ReplaceAll(canonical, `{"type":"long","logicalType":"`+lt+`"}`, `"long"`)
	}
	if strings.Contains(canonical, "logicalType") {
		return fmt.Errorf("BUG: canonical form still has a logical type: %.200s", canonical)
	}
	*dst = crc64.SumWithByteOrder([]byte(canonical), crc64.LittleEndian)
	return nil
}
