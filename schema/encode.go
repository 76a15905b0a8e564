package schema

import (
	"encoding/binary"
	"errors"
	"math"
	"strconv"
	"time"
	"unsafe"

	"github.com/hookbridge/hookbridge/internal/jsontape"
)

// ErrNotObject is returned for an event that is not a JSON object.
var ErrNotObject = errors.New("event is not a JSON object")

// Meta is the delivery metadata written into every record.
type Meta struct {
	Source string
	// EventID and EventTime are the envelope's; nil writes null.
	EventID    []byte
	EventTime  []byte
	ReceivedAt time.Time
	// KeepRaw adds the event's JSON text to the record.
	KeepRaw bool
}

// Info is what the encoder learned about an event while converting it. Its
// byte slices point into the parsed JSON and live as long as it does.
type Info struct {
	// UUID is nil when uuid is missing, null or not a string.
	UUID      []byte
	EventType []byte
	ActorID   []byte
	// Published is the published string; nil when missing, null or not a
	// string. PublishedOK reports whether it parsed as a timestamp.
	Published   []byte
	PublishedOK bool
}

type member struct {
	key []byte
	val jsontape.Value
}

// Encoder converts Okta events from parsed JSON into Avro binary. It keeps
// scratch buffers between calls, so it is not safe for concurrent use; give
// each goroutine its own.
type Encoder struct {
	extras  []member // a stack: each record pushes its extras, pops them at its end
	scratch []byte
	num     []byte
	// order holds, per record, the order in which members came last time:
	// order[r][0] is the field of the first member, order[r][i+1] that of
	// the member after field i. A sender keeps one order, seldom the
	// schema's, so this predicts the field of most members without a
	// lookup.
	order [][MaxFields + 1]int8
	// timeOK says whether the last Timestamp field parsed; the LogEvent
	// has one, published, so it ends up in Info.PublishedOK.
	timeOK bool
}

// AppendEvent appends the Avro encoding of ev (a LogEvent record followed by
// its Delivery record) to dst. The conversion itself never fails for a JSON
// object: values of unexpected types and unknown members are kept in _extra.
func (e *Encoder) AppendEvent(dst []byte, ev jsontape.Value, m *Meta) ([]byte, Info, error) {
	var info Info
	e.timeOK = false
	if ev.Kind() != jsontape.Object {
		return dst, info, ErrNotObject
	}
	dst = e.record(dst, LogEvent, ev, &info)
	return e.appendDelivery(dst, ev, m), info, nil
}

func (e *Encoder) appendDelivery(dst []byte, ev jsontape.Value, m *Meta) []byte {
	dst = appendNullableString(dst, unsafe.Slice(unsafe.StringData(m.Source), len(m.Source)))
	dst = appendNullableString(dst, m.EventID)
	dst = appendNullableString(dst, m.EventTime)
	dst = append(dst, 2)
	dst = appendLong(dst, m.ReceivedAt.UnixMilli())
	if m.KeepRaw {
		e.scratch = AppendJSON(e.scratch[:0], ev)
		dst = appendNullableString(dst, e.scratch)
	} else {
		dst = append(dst, 0)
	}
	return append(dst, 0, 0) // empty _absent, null _extra
}

// record appends obj as rec. info, when not nil, collects what the top level
// reveals about the event.
func (e *Encoder) record(dst []byte, rec *Record, obj jsontape.Value, info *Info) []byte {
	// Each field's member, 0 (the root's ref) for none: on the stack, which
	// clears it quicker than a shared stack of slots could be grown.
	var slotArray [MaxFields]jsontape.Ref
	slots := slotArray[:len(rec.Fields)]
	base := len(e.extras)
	dupes := false
	order := e.orderOf(rec)
	prev := 0 // where in order the next member's field is predicted
	for k, v := range obj.Members() {
		i := int(order[prev])
		if i >= len(rec.Fields) || rec.Fields[i].Name != string(k) {
			if i = rec.lookup(k); i < 0 {
				// An unknown member teaches nothing: the prediction for
				// the member after it stays that after the last known one.
				e.extras = append(e.extras, member{k, v})
				continue
			}
			order[prev] = int8(i)
		}
		prev = i + 1
		if slots[i] != 0 {
			dupes = true
		} else {
			slots[i] = v.Ref()
		}
	}
	if dupes {
		e.moveDuplicates(rec, obj, slots)
	}

	var absent [MaxFields]int8
	nAbsent := 0
	for i := range rec.Fields {
		f := &rec.Fields[i]
		if slots[i] == 0 {
			absent[nAbsent] = int8(i)
			nAbsent++
			dst = appendNulls(dst, f)
			continue
		}
		v := obj.At(slots[i])
		if f.Kind == String && v.Kind() == jsontape.String {
			// The commonest field, written here without a call.
			dst = appendBytes(append(dst, 2), v.Bytes())
			continue
		}
		var ok bool
		if dst, ok = e.field(dst, f, v); !ok {
			// The value lives in _extra; the field counts as absent so that
			// the rebuilt object has the key once, with that value.
			e.extras = append(e.extras, member{unsafe.Slice(unsafe.StringData(f.Name), len(f.Name)), v})
			dst = appendNulls(dst, f)
			absent[nAbsent] = int8(i)
			nAbsent++
		}
	}
	if info != nil {
		e.fillInfo(info, obj, slots)
	}

	dst = appendLong(dst, int64(nAbsent))
	for _, i := range absent[:nAbsent] {
		dst = appendString(dst, rec.Fields[i].Name)
	}
	if nAbsent > 0 {
		dst = append(dst, 0)
	}
	dst = e.appendExtras(dst, base)
	return dst
}

// orderOf returns the member order last seen for rec, at first the
// schema's.
func (e *Encoder) orderOf(rec *Record) *[MaxFields + 1]int8 {
	if e.order == nil {
		e.order = make([][MaxFields + 1]int8, records)
		for r := range e.order {
			for i := range e.order[r] {
				e.order[r][i] = int8(i)
			}
		}
	}
	return &e.order[rec.id]
}

// moveDuplicates sends every occurrence of a field whose key appears more
// than once to _extra, in order, and leaves the field absent. Readers of
// duplicate keys commonly keep the last; keeping all of them in order lets
// the rebuilt JSON read the same way.
func (e *Encoder) moveDuplicates(rec *Record, obj jsontape.Value, slots []jsontape.Ref) {
	var count [MaxFields]uint8
	for k := range obj.Members() {
		if i := rec.lookup(k); i >= 0 && count[i] < 2 {
			count[i]++
		}
	}
	for k, v := range obj.Members() {
		if i := rec.lookup(k); i >= 0 && count[i] > 1 {
			e.extras = append(e.extras, member{k, v})
			slots[i] = 0
		}
	}
}

// field appends the union branch and value of a present field. It reports
// false, appending nothing, when v's type does not fit the field's kind.
func (e *Encoder) field(dst []byte, f *Field, v jsontape.Value) ([]byte, bool) {
	t := v.Kind()
	if t == jsontape.Null {
		return appendNulls(dst, f), true
	}
	switch f.Kind {
	case String:
		if t != jsontape.String {
			return dst, false
		}
		return appendNullableString(dst, v.Bytes()), true
	case Timestamp:
		if t != jsontape.String {
			return dst, false
		}
		s := v.Bytes()
		dst = appendNullableString(dst, s)
		ms, ok := ParseTime(s)
		e.timeOK = ok
		if ok {
			return appendLong(append(dst, 2), ms), true
		}
		return append(dst, 0), true
	case Long:
		if t != jsontape.Number {
			return dst, false
		}
		n, ok := parseLong(v.Bytes())
		if !ok {
			return dst, false
		}
		return appendLong(append(dst, 2), n), true
	case Double:
		if t != jsontape.Number {
			return dst, false
		}
		return e.appendDouble(dst, v)
	case Bool:
		switch t {
		case jsontape.True:
			return append(dst, 2, 1), true
		case jsontape.False:
			return append(dst, 2, 0), true
		}
		return dst, false
	case JSON:
		e.scratch = AppendJSON(e.scratch[:0], v)
		return appendNullableString(dst, e.scratch), true
	case Object:
		if t != jsontape.Object {
			return dst, false
		}
		return e.record(append(dst, 2), f.Rec, v, nil), true
	case Objects:
		return e.appendObjects(dst, f.Rec, v)
	case Strings:
		return appendStrings(dst, v)
	}
	panic("BUG: unknown field kind")
}

// parseLong reads a JSON number that is an integer within int64. Up to 18
// digits, the common case, it needs no overflow check and no strconv.
func parseLong(text []byte) (int64, bool) {
	digits := text
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 18 {
		n, err := strconv.ParseInt(unsafe.String(unsafe.SliceData(text), len(text)), 10, 64)
		return n, err == nil
	}
	var n int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false // a fraction or an exponent
		}
		n = n*10 + int64(c-'0')
	}
	if len(digits) < len(text) {
		n = -n
	}
	return n, true
}

// appendDouble writes a number as a double only when the double prints back
// as the same decimal value; otherwise precision would be lost.
func (e *Encoder) appendDouble(dst []byte, v jsontape.Value) ([]byte, bool) {
	if f, ok := exactDouble(v.Bytes()); ok {
		dst = append(dst, 2)
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(f)), true
	}
	e.num = append(e.num[:0], v.Bytes()...)
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(e.num), len(e.num)), 64)
	if err != nil || math.IsInf(f, 0) {
		return dst, false
	}
	// A decimal of at most 15 significant digits in the normal range comes
	// back unchanged from a float64 (DBL_DIG is 15), so only longer ones
	// need the check by printing.
	var digits [64]byte
	if sig, exp, _, ok := decimal(e.num, &digits); ok && sig <= 15 && exp > -300 && exp < 300 {
		dst = append(dst, 2)
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(f)), true
	}
	n := len(e.num)
	e.num = strconv.AppendFloat(e.num, f, 'g', -1, 64)
	if !SameNumber(e.num[:n], e.num[n:]) {
		return dst, false
	}
	dst = append(dst, 2)
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(f)), true
}

// pow10 holds the powers of ten a float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// exactDouble converts the common number, such as a latitude, without
// strconv: at most 15 significant digits m and a decimal exponent of at
// most 22 either way. Both m and the power of ten are exact in a float64,
// so one multiplication or division rounds correctly (Clinger's fast path),
// and 15 digits come back unchanged from a float64. Other numbers report
// false and take the general path. text is a valid JSON number.
func exactDouble(text []byte) (float64, bool) {
	i, neg := 0, false
	if len(text) > 0 && text[0] == '-' {
		neg, i = true, 1
	}
	var m uint64
	sig, scale := 0, 0 // significant digits, digits after the point
	point := false
	for ; i < len(text); i++ {
		c := text[i]
		if c == '.' {
			point = true
			continue
		}
		if c < '0' || c > '9' {
			break
		}
		if m == 0 && c == '0' {
			if point {
				scale++
			}
			continue // a leading zero
		}
		if sig++; sig > 15 {
			return 0, false
		}
		m = m*10 + uint64(c-'0')
		if point {
			scale++
		}
	}
	exp := 0
	if i < len(text) { // an exponent: e or E, a sign, digits
		i++
		eneg := false
		if i < len(text) && (text[i] == '+' || text[i] == '-') {
			eneg, i = text[i] == '-', i+1
		}
		if len(text)-i > 3 {
			return 0, false
		}
		for ; i < len(text); i++ {
			exp = exp*10 + int(text[i]-'0')
		}
		if eneg {
			exp = -exp
		}
	}
	f := float64(m)
	if neg {
		f = -f
	}
	if m == 0 {
		return f, true
	}
	switch e := exp - scale; {
	case e >= 0 && e < len(pow10):
		return f * pow10[e], true
	case e < 0 && -e < len(pow10):
		return f / pow10[-e], true
	}
	return 0, false
}

func (e *Encoder) appendObjects(dst []byte, rec *Record, v jsontape.Value) ([]byte, bool) {
	if v.Kind() != jsontape.Array {
		return dst, false
	}
	n := 0
	for it := range v.Items() {
		if it.Kind() != jsontape.Object {
			return dst, false
		}
		n++
	}
	dst = appendLong(append(dst, 2), int64(n))
	for it := range v.Items() {
		dst = e.record(dst, rec, it, nil)
	}
	if n > 0 {
		dst = append(dst, 0)
	}
	return dst, true
}

func appendStrings(dst []byte, v jsontape.Value) ([]byte, bool) {
	if v.Kind() != jsontape.Array {
		return dst, false
	}
	n := 0
	for it := range v.Items() {
		if it.Kind() != jsontape.String {
			return dst, false
		}
		n++
	}
	dst = appendLong(append(dst, 2), int64(n))
	for it := range v.Items() {
		dst = appendBytes(dst, it.Bytes())
	}
	if n > 0 {
		dst = append(dst, 0)
	}
	return dst, true
}

// appendExtras writes the extras pushed since base as the _extra field and
// pops them.
func (e *Encoder) appendExtras(dst []byte, base int) []byte {
	if len(e.extras) == base {
		return append(dst, 0)
	}
	buf := append(e.scratch[:0], '{')
	for i, m := range e.extras[base:] {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = AppendJSONString(buf, m.key)
		buf = append(buf, ':')
		buf = AppendJSON(buf, m.val)
	}
	buf = append(buf, '}')
	e.scratch = buf
	clear(e.extras[base:])
	e.extras = e.extras[:base]
	return appendNullableString(dst, buf)
}

// The LogEvent fields whose values Info reports.
var (
	uuidField      = LogEvent.lookup([]byte("uuid"))
	eventTypeField = LogEvent.lookup([]byte("eventType"))
	publishedField = LogEvent.lookup([]byte("published"))
	actorField     = LogEvent.lookup([]byte("actor"))
)

func (e *Encoder) fillInfo(info *Info, obj jsontape.Value, slots []jsontape.Ref) {
	at := func(i int) jsontape.Value {
		if slots[i] == 0 {
			return jsontape.Value{}
		}
		return obj.At(slots[i])
	}
	str := func(i int) []byte {
		if v := at(i); v.Kind() == jsontape.String {
			return v.Bytes()
		}
		return nil
	}
	info.UUID, info.EventType, info.Published = str(uuidField), str(eventTypeField), str(publishedField)
	info.PublishedOK = info.Published != nil && e.timeOK
	if id := at(actorField).Get("id"); id.Kind() == jsontape.String {
		info.ActorID = id.Bytes()
	}
}

// appendNulls writes the null branch of every Avro field f maps to.
func appendNulls(dst []byte, f *Field) []byte {
	if f.Kind == Timestamp {
		return append(dst, 0, 0)
	}
	return append(dst, 0)
}

func appendNullableString(dst, s []byte) []byte {
	if s == nil {
		return append(dst, 0)
	}
	return appendBytes(append(dst, 2), s)
}

func appendString(dst []byte, s string) []byte {
	dst = appendLong(dst, int64(len(s)))
	return append(dst, s...)
}

func appendBytes(dst, s []byte) []byte {
	dst = appendLong(dst, int64(len(s)))
	return append(dst, s...)
}

// appendLong writes an Avro long: zig-zag, then a base-128 varint.
func appendLong(dst []byte, n int64) []byte {
	return binary.AppendUvarint(dst, uint64(n<<1)^uint64(n>>63))
}
