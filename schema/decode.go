package schema

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/valyala/fastjson"
)

// ErrTruncated is returned when Avro data ends inside a value.
var ErrTruncated = errors.New("avro data is truncated")

// DeliveryInfo is the Delivery metadata read back from a record.
type DeliveryInfo struct {
	Source     string
	EventID    *string
	EventTime  *string
	ReceivedAt time.Time
	Raw        *string
}

type reader struct {
	b   []byte
	err error
}

// DecodeEvent rebuilds the event JSON of a LogEvent record from its Avro
// body (without framing) and appends it to dst. It works from the typed
// fields, _absent and _extra only, never from the optional raw copy.
func DecodeEvent(dst, body []byte) ([]byte, DeliveryInfo, error) {
	r := &reader{b: body}
	dst = r.record(dst, LogEvent)
	d := r.delivery()
	if r.err != nil {
		return dst, d, fmt.Errorf("decode LogEvent: %w", r.err)
	}
	if len(r.b) != 0 {
		return dst, d, fmt.Errorf("decode LogEvent: %d bytes left after the record", len(r.b))
	}
	return dst, d, nil
}

func (r *reader) delivery() DeliveryInfo {
	var d DeliveryInfo
	if s := r.nullableString(); s != nil {
		d.Source = *s
	}
	d.EventID = r.nullableString()
	d.EventTime = r.nullableString()
	if r.union() == 1 {
		d.ReceivedAt = time.UnixMilli(r.long()).UTC()
	}
	d.Raw = r.nullableString()
	r.absentAndExtra()
	return d
}

// record appends the JSON object that rec was encoded from.
func (r *reader) record(dst []byte, rec *Record) []byte {
	// Field values go to a side buffer first: whether a null field was
	// absent or null in the JSON is only known once _absent is read.
	var (
		buf   []byte
		spans [MaxFields][2]int
		isNil [MaxFields]bool
	)
	for i := range rec.Fields {
		start := len(buf)
		var present bool
		buf, present = r.field(buf, &rec.Fields[i])
		spans[i] = [2]int{start, len(buf)}
		isNil[i] = !present
		if r.err != nil {
			return dst
		}
	}
	absent, extra := r.absentAndExtra()
	if r.err != nil {
		return dst
	}

	dst = append(dst, '{')
	n := 0
	for i := range rec.Fields {
		name := rec.Fields[i].Name
		if isNil[i] && absent[name] {
			continue
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		dst = AppendJSONString(dst, []byte(name))
		dst = append(dst, ':')
		if isNil[i] {
			dst = append(dst, "null"...)
		} else {
			dst = append(dst, buf[spans[i][0]:spans[i][1]]...)
		}
	}
	if len(extra) > 2 {
		if n > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, extra[1:len(extra)-1]...)
	}
	return append(dst, '}')
}

// field appends the JSON of one field and reports whether it was non-null.
func (r *reader) field(dst []byte, f *Field) ([]byte, bool) {
	idx := r.union()
	if f.Kind == Timestamp {
		s := r.stringIf(idx)
		if r.union() == 1 {
			r.long() // the parsed twin is derived; the string is the value
		}
		if s == nil {
			return dst, false
		}
		return AppendJSONString(dst, s), true
	}
	if idx != 1 {
		return dst, false
	}
	switch f.Kind {
	case String:
		return AppendJSONString(dst, r.bytes()), true
	case Long:
		return strconv.AppendInt(dst, r.long(), 10), true
	case Double:
		return strconv.AppendFloat(dst, r.double(), 'g', -1, 64), true
	case Bool:
		return strconv.AppendBool(dst, r.boolean()), true
	case JSON:
		text := r.bytes()
		if r.err == nil && fastjson.ValidateBytes(text) != nil {
			r.err = fmt.Errorf("field %s holds invalid JSON text", f.Name)
		}
		return append(dst, text...), true
	case Object:
		return r.record(dst, f.Rec), true
	case Objects:
		return r.array(dst, func(dst []byte) []byte { return r.record(dst, f.Rec) }), true
	case Strings:
		return r.array(dst, func(dst []byte) []byte { return AppendJSONString(dst, r.bytes()) }), true
	}
	panic("BUG: unknown field kind")
}

func (r *reader) array(dst []byte, item func([]byte) []byte) []byte {
	dst = append(dst, '[')
	n := 0
	for r.err == nil {
		count := r.long()
		if count == 0 {
			break
		}
		if count < 0 { // a block with its byte size, which we do not need
			count = -count
			r.long()
		}
		for ; count > 0 && r.err == nil; count-- {
			if n > 0 {
				dst = append(dst, ',')
			}
			n++
			dst = item(dst)
		}
	}
	return append(dst, ']')
}

func (r *reader) absentAndExtra() (map[string]bool, []byte) {
	var absent map[string]bool
	for r.err == nil {
		count := r.long()
		if count == 0 {
			break
		}
		if count < 0 {
			count = -count
			r.long()
		}
		if absent == nil {
			absent = make(map[string]bool, count)
		}
		for ; count > 0 && r.err == nil; count-- {
			absent[string(r.bytes())] = true
		}
	}
	var extra []byte
	if r.union() == 1 {
		extra = r.bytes()
		if r.err == nil {
			if v, err := fastjson.ParseBytes(extra); err != nil || v.Type() != fastjson.TypeObject {
				r.err = errors.New("_extra does not hold a JSON object")
			}
		}
	}
	return absent, extra
}

func (r *reader) nullableString() *string {
	if r.union() != 1 {
		return nil
	}
	s := string(r.bytes())
	return &s
}

func (r *reader) stringIf(idx int64) []byte {
	if idx != 1 {
		return nil
	}
	return r.bytes()
}

func (r *reader) union() int64 {
	idx := r.long()
	if r.err == nil && idx != 0 && idx != 1 {
		r.err = fmt.Errorf("union branch %d out of range", idx)
	}
	return idx
}

func (r *reader) long() int64 {
	if r.err != nil {
		return 0
	}
	u, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = ErrTruncated
		return 0
	}
	r.b = r.b[n:]
	return int64(u>>1) ^ -int64(u&1)
}

func (r *reader) bytes() []byte {
	n := r.long()
	if r.err != nil {
		return nil
	}
	if n < 0 || n > int64(len(r.b)) {
		r.err = ErrTruncated
		return nil
	}
	s := r.b[:n:n]
	r.b = r.b[n:]
	return s
}

func (r *reader) double() float64 {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 8 {
		r.err = ErrTruncated
		return 0
	}
	f := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
	r.b = r.b[8:]
	return f
}

func (r *reader) boolean() bool {
	if r.err != nil {
		return false
	}
	if len(r.b) < 1 {
		r.err = ErrTruncated
		return false
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v == 1
}
