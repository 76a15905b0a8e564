package bench

import (
	"strconv"
	"time"
)

// jw appends JSON text. comma says whether the next key or value needs a
// separator first; keys are written as given and must need no escaping.
type jw struct {
	b     []byte
	comma bool
}

func (w *jw) sep() {
	if w.comma {
		w.b = append(w.b, ',')
	}
}

func (w *jw) key(k string) {
	w.sep()
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
	w.comma = false
}

func (w *jw) open(c byte)  { w.sep(); w.b = append(w.b, c); w.comma = false }
func (w *jw) close(c byte) { w.b = append(w.b, c); w.comma = true }
func (w *jw) raw(s string) { w.sep(); w.b = append(w.b, s...); w.comma = true }
func (w *jw) null()        { w.raw("null") }
func (w *jw) str(s string) { w.sep(); w.b = appendString(w.b, s); w.comma = true }

func (w *jw) int(n int) {
	w.sep()
	w.b = strconv.AppendInt(w.b, int64(n), 10)
	w.comma = true
}

// time writes ms as an RFC 3339 timestamp with milliseconds, in UTC.
func (w *jw) time(ms int64) {
	w.sep()
	w.b = append(w.b, '"')
	w.b = time.UnixMilli(ms).UTC().AppendFormat(w.b, timeLayout)
	w.b = append(w.b, '"')
	w.comma = true
}

func (w *jw) kstr(k, v string) { w.key(k); w.str(v) }
func (w *jw) kraw(k, v string) { w.key(k); w.raw(v) }
func (w *jw) knull(k string)   { w.key(k); w.null() }
func (w *jw) kobj(k string)    { w.key(k); w.open('{') }
func (w *jw) karr(k string)    { w.key(k); w.open('[') }

// kopt writes v, or null when v is empty.
func (w *jw) kopt(k, v string) {
	if v == "" {
		w.knull(k)
		return
	}
	w.kstr(k, v)
}

// target opens a target object and leaves it at its detailEntry value.
func (w *jw) target(typ string, p principal) {
	w.open('{')
	w.kstr("id", p.id)
	w.kstr("type", typ)
	w.kstr("alternateId", p.login)
	w.kstr("displayName", p.name)
	w.key("detailEntry")
}

// plainTarget writes a whole target whose detailEntry is null.
func (w *jw) plainTarget(typ string, p principal) {
	w.target(typ, p)
	w.null()
	w.close('}')
}

// appendString appends s as a JSON string, escaping only what JSON requires.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
