package syslog

import (
	"strconv"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/hookbridge/hookbridge/sinks"
)

// timestampLayout is RFC 3339 as RFC 5424 §6.2.3 narrows it: uppercase T
// and Z, at most 6 fractional digits (trailing zeros dropped).
const timestampLayout = "2006-01-02T15:04:05.999999Z07:00"

// header is what every message of a destination starts with: the PRI and
// version, then, after the timestamp, HOSTNAME APP-NAME PROCID.
type header struct {
	pri   []byte // "<182>1 "
	host  []byte // " host app - "
	sdID  string // "okta@32473"
	limit int    // max frame bytes
}

func newHeader(c *Config) header {
	h := header{sdID: "okta@" + strconv.Itoa(c.EnterpriseID), limit: c.MaxMessageBytes}
	h.pri = append(strconv.AppendInt([]byte("<"), int64(c.pri()), 10), ">1 "...)
	h.host = append(append(append(append([]byte(" "), c.Hostname...), ' '), c.AppName...), " - "...)
	return h
}

// appendMessage appends the RFC 5424 message of ev:
//
//	<PRI>1 TIMESTAMP HOSTNAME APP-NAME - MSGID [okta@N uuid=".." eventType=".." actor=".." outcome=".."] JSON
//
// The fields of the structured data come from the event JSON; a field the
// event lacks is left out. p parses the JSON and is not safe to share.
func (h *header) appendMessage(dst []byte, p *fastjson.Parser, ev *sinks.Event) []byte {
	dst = append(dst, h.pri...)
	if ev.Published.IsZero() {
		dst = append(dst, '-')
	} else {
		dst = ev.Published.UTC().AppendFormat(dst, timestampLayout)
	}
	dst = append(dst, h.host...)

	var eventType, actor, outcome string
	if v, err := p.ParseBytes(ev.JSON); err == nil {
		eventType = string(v.GetStringBytes("eventType"))
		actor = string(v.GetStringBytes("actor", "displayName"))
		if actor == "" {
			actor = string(v.GetStringBytes("actor", "alternateId"))
		}
		outcome = string(v.GetStringBytes("outcome", "result"))
	}
	dst = appendHeaderField(dst, eventType, maxMsgID)

	dst = append(append(append(dst, " ["...), h.sdID...), ' ')
	dst = appendParam(dst, "uuid", ev.UUID)
	dst = appendParam(dst, "eventType", eventType)
	dst = appendParam(dst, "actor", actor)
	dst = appendParam(dst, "outcome", outcome)
	dst[len(dst)-1] = ']' // replaces the space after the last param
	dst = append(dst, ' ')
	return appendJSONLine(dst, ev.JSON)
}

// appendFrame appends msg octet-counted (RFC 6587 §3.4.1): its length in
// decimal, a space, then msg.
func appendFrame(dst, msg []byte) []byte {
	dst = strconv.AppendInt(dst, int64(len(msg)), 10)
	dst = append(dst, ' ')
	return append(dst, msg...)
}

// appendHeaderField appends s as an RFC 5424 header field: characters
// outside printable US-ASCII (spaces included) become '_', the result is
// cut to maxLen, and an empty field is the NILVALUE "-".
func appendHeaderField(dst []byte, s string, maxLen int) []byte {
	if s == "" {
		return append(dst, '-')
	}
	s = s[:min(len(s), maxLen)]
	for i := range len(s) {
		c := s[i]
		if c < '!' || c > '~' {
			c = '_'
		}
		dst = append(dst, c)
	}
	return dst
}

// appendParam appends name="value" and a space, the value escaped as
// RFC 5424 §6.3.3 requires: a backslash before exactly '"', '\' and ']'.
// PARAM-VALUE must be UTF-8, so invalid bytes become U+FFFD; control
// characters become spaces to keep the message on one line for collectors
// that frame on LF (the exact value is in the JSON MSG). An empty value
// leaves the parameter out.
func appendParam(dst []byte, name, value string) []byte {
	if value == "" {
		return dst
	}
	dst = append(append(dst, name...), `="`...)
	for _, r := range value {
		switch {
		case r == '"' || r == '\\' || r == ']':
			dst = append(dst, '\\', byte(r))
		case r < 0x20 || r == 0x7f:
			dst = append(dst, ' ')
		default:
			dst = utf8.AppendRune(dst, r) // RuneError for invalid bytes
		}
	}
	return append(dst, `" `...)
}

// appendJSONLine appends the JSON text js on one line. In valid JSON a raw
// CR or LF can only be whitespace between tokens, so it becomes a space;
// a raw control character inside a string (invalid JSON, but it may come
// from upstream) is escaped as \n, \r, \t or \u00XX.
func appendJSONLine(dst, js []byte) []byte {
	inString, escaped := false, false
	for _, c := range js {
		switch {
		case inString && escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString && c < 0x20:
			dst = appendControlEscape(dst, c)
			continue
		case c == '\n' || c == '\r':
			c = ' '
		}
		dst = append(dst, c)
	}
	return dst
}

func appendControlEscape(dst []byte, c byte) []byte {
	switch c {
	case '\n':
		return append(dst, `\n`...)
	case '\r':
		return append(dst, `\r`...)
	case '\t':
		return append(dst, `\t`...)
	}
	const hex = "0123456789abcdef"
	return append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
}
