// Package schema defines the Avro schema of an Okta System Log event, converts
// the JSON that Okta sends into that schema without losing anything, turns the
// Avro back into the same JSON, and frames records for Kafka.
//
// The package does no I/O. The schema is described once, as Go values in this
// file; the .avsc text, the encoder and the decoder are all derived from that
// description, so they cannot drift apart.
package schema

// Kind says how one field of a record maps between JSON and Avro.
type Kind uint8

// Every field is an Avro union of null and the kind's type, so that a JSON
// null maps to Avro null. A JSON value of another type than the kind expects
// is kept in the record's _extra member (see Record).
const (
	// String is a JSON string, Avro string.
	String Kind = iota
	// Long is a JSON integer that fits in 64 bits, Avro long.
	Long
	// Double is a JSON number whose decimal value a float64 holds exactly
	// enough to print back as the same number, Avro double.
	Double
	// Bool is a JSON boolean, Avro boolean.
	Bool
	// JSON is any JSON value kept as compact JSON text in an Avro string:
	// the open-ended members (debugData, detailEntry, changeDetails, ...)
	// whose keys and value types change between events and releases.
	JSON
	// Object is a JSON object mapped to a nested Avro record.
	Object
	// Objects is a JSON array of objects, an Avro array of records.
	Objects
	// Strings is a JSON array of strings, an Avro array of strings.
	Strings
	// Timestamp is a JSON string kept as is, followed in Avro by a derived
	// field <name>Time holding its parsed instant as timestamp-millis (null
	// when it does not parse). Only the string goes back into JSON.
	Timestamp
)

// Field is one member of a record.
type Field struct {
	Name string
	Kind Kind
	Doc  string
	// Rec is the nested record of an Object or Objects field.
	Rec *Record
}

// Record is an Avro record that mirrors one JSON object of the Okta event.
//
// After its own fields every record has two more:
//   - _absent, an array of the names of fields that were missing from the
//     JSON object (as opposed to present with a null value), or whose value
//     had another type than the field's kind and so is kept in _extra;
//   - _extra, null or a JSON object text holding every member that has no
//     field here, or whose value had another type than the field's kind,
//     in the order they appeared.
//
// Together they make the conversion lossless: the JSON object can be rebuilt
// from the record alone.
type Record struct {
	Name   string
	Doc    string
	Fields []Field

	// id numbers the record among all records, for the state an Encoder
	// keeps per record.
	id int
	// slots is an open-addressing hash table of field indexes plus one
	// (0 is empty), probed linearly from fieldHash: a field lookup runs for
	// every member of every event, and this is several times quicker than a
	// map with string keys.
	slots [slotCount]uint8
}

// slotCount is the size of a record's field table: a power of two, at least
// twice MaxFields, so that probe runs stay short.
const slotCount = 128

// fieldHash mixes the length and the first and last two bytes of a key,
// which tell the field names of one record apart with few collisions.
func fieldHash(key []byte) uint {
	n := len(key)
	if n == 0 {
		return 0
	}
	h := uint(n)*0x9e3779b1 ^ uint(key[0])*0x85eb ^ uint(key[n-1])*0xc2b2ae35
	if n > 2 {
		h ^= uint(key[1])*0x27d4eb2f ^ uint(key[n-2])*0x165667b1
	}
	return (h ^ h>>15) & (slotCount - 1)
}

// Names of the two bookkeeping fields every record carries.
const (
	AbsentField = "_absent"
	ExtraField  = "_extra"
	// TimeSuffix is appended to a Timestamp field's name to name its parsed
	// twin.
	TimeSuffix = "Time"
)

// MaxFields bounds the number of fields of one record, so that the encoder can
// keep per-record state on the stack.
const MaxFields = 32

// records counts the records made; all are made as the package
// initialises.
var records int

func newRecord(name, doc string, fields ...Field) *Record {
	r := &Record{Name: name, Doc: doc, Fields: fields, id: records}
	records++
	if len(fields) > MaxFields {
		panic("BUG: record " + name + " has more than MaxFields fields")
	}
	for i, f := range fields {
		h := fieldHash([]byte(f.Name))
		for r.slots[h] != 0 {
			h = (h + 1) & (slotCount - 1)
		}
		r.slots[h] = uint8(i + 1)
	}
	return r
}

// lookup returns the index of the field named key, or -1. Keys match exactly:
// "eventtype" is not "eventType".
func (r *Record) lookup(key []byte) int {
	for h := fieldHash(key); r.slots[h] != 0; h = (h + 1) & (slotCount - 1) {
		i := int(r.slots[h]) - 1
		if r.Fields[i].Name == string(key) {
			return i
		}
	}
	return -1
}

func str(name, doc string) Field       { return Field{Name: name, Kind: String, Doc: doc} }
func long(name, doc string) Field      { return Field{Name: name, Kind: Long, Doc: doc} }
func double(name, doc string) Field    { return Field{Name: name, Kind: Double, Doc: doc} }
func boolean(name, doc string) Field   { return Field{Name: name, Kind: Bool, Doc: doc} }
func anyJSON(name, doc string) Field   { return Field{Name: name, Kind: JSON, Doc: doc} }
func strs(name, doc string) Field      { return Field{Name: name, Kind: Strings, Doc: doc} }
func timestamp(name, doc string) Field { return Field{Name: name, Kind: Timestamp, Doc: doc} }

func object(name, doc string, r *Record) Field {
	return Field{Name: name, Kind: Object, Doc: doc, Rec: r}
}

func objects(name, doc string, r *Record) Field {
	return Field{Name: name, Kind: Objects, Doc: doc, Rec: r}
}
