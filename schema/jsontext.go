package schema

import (
	"encoding/hex"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/hookbridge/hookbridge/internal/jsontape"
)

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string. Only the quote, the backslash
// and control characters are escaped; everything else, non-ASCII included, is
// written as is, so names stay searchable. s must be valid UTF-8.
func AppendJSONString(dst []byte, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendJSON appends v as compact JSON. Numbers keep their original spelling.
func AppendJSON(dst []byte, v jsontape.Value) []byte {
	switch v.Kind() {
	case jsontape.Object, jsontape.Array:
		if v.Plain() {
			// Sent compact, without escapes: the text is what the walk
			// below would write.
			return append(dst, v.Raw()...)
		}
	}
	switch v.Kind() {
	case jsontape.Object:
		dst = append(dst, '{')
		first := true
		for k, m := range v.Members() {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = AppendJSONString(dst, k)
			dst = append(dst, ':')
			dst = AppendJSON(dst, m)
		}
		return append(dst, '}')
	case jsontape.Array:
		dst = append(dst, '[')
		first := true
		for m := range v.Items() {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = AppendJSON(dst, m)
		}
		return append(dst, ']')
	case jsontape.String:
		if v.Plain() {
			// Sent without escapes, so it needs none: no quote, backslash
			// or control character.
			dst = append(dst, '"')
			dst = append(dst, v.Bytes()...)
			return append(dst, '"')
		}
		return AppendJSONString(dst, v.Bytes())
	default:
		// Numbers, true, false and null: their text as sent.
		return append(dst, v.Bytes()...)
	}
}

// Sanitize returns body with every invalid UTF-8 sequence and every lone
// UTF-16 surrogate escape (\ud800 without its pair) replaced by U+FFFD, so
// that no Avro string ever holds invalid UTF-8. It returns body itself, not a
// copy, when there is nothing to replace (the common case); otherwise it
// appends the result to buf.
//
// Replacing surrogates before parsing matters: a parser that keeps a lone
// surrogate escape as literal text would change the value, and one that pairs
// it with a following non-surrogate escape would drop a character.
func Sanitize(buf, body []byte) []byte {
	if utf8.Valid(body) && !hasLoneSurrogate(body) {
		return body
	}
	out := buf[:0]
	for i := 0; i < len(body); {
		c := body[i]
		// Only an ASCII byte can complete an escape; any other byte after a
		// backslash is left to the UTF-8 check below.
		if c == '\\' && i+1 < len(body) && body[i+1] < utf8.RuneSelf {
			if body[i+1] != 'u' {
				out = append(out, c, body[i+1])
				i += 2
				continue
			}
			if n := loneSurrogateAt(body, i); n > 0 {
				out = append(out, `\ufffd`...)
				i += n
				continue
			}
			if n := surrogatePairAt(body, i); n > 0 {
				out = append(out, body[i:i+n]...)
				i += n
				continue
			}
			out = append(out, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(body[i:])
		if r == utf8.RuneError && size <= 1 {
			out = append(out, "\uFFFD"...)
			i++
			continue
		}
		out = append(out, body[i:i+size]...)
		i += size
	}
	return out
}

// hasLoneSurrogate reports whether body holds a \uXXXX escape of a surrogate
// that is not the first half of a valid pair. Escaped backslashes are
// skipped, so "\\ud800" (a backslash, then text) does not count.
func hasLoneSurrogate(body []byte) bool {
	for i := 0; i < len(body); i++ {
		if body[i] != '\\' || i+1 >= len(body) {
			continue
		}
		if body[i+1] != 'u' {
			i++
			continue
		}
		if loneSurrogateAt(body, i) > 0 {
			return true
		}
		if n := surrogatePairAt(body, i); n > 0 {
			i += n - 1
		}
	}
	return false
}

// loneSurrogateAt returns the length of the escape at b[i:] when it is an
// unpaired surrogate, else 0.
func loneSurrogateAt(b []byte, i int) int {
	r, ok := hexEscape(b, i)
	if !ok || !utf16.IsSurrogate(r) {
		return 0
	}
	if surrogatePairAt(b, i) > 0 {
		return 0
	}
	return 6
}

// surrogatePairAt returns 12 when b[i:] starts with a high surrogate escape
// followed by a low surrogate escape, else 0.
func surrogatePairAt(b []byte, i int) int {
	hi, ok := hexEscape(b, i)
	if !ok || hi < 0xd800 || hi > 0xdbff {
		return 0
	}
	lo, ok := hexEscape(b, i+6)
	if !ok || lo < 0xdc00 || lo > 0xdfff {
		return 0
	}
	return 12
}

// hexEscape decodes the \uXXXX escape at b[i:].
func hexEscape(b []byte, i int) (rune, bool) {
	var r [2]byte
	if i+6 > len(b) || b[i] != '\\' || b[i+1] != 'u' {
		return 0, false
	}
	if _, err := hex.Decode(r[:], b[i+2:i+6]); err != nil {
		return 0, false
	}
	return rune(r[0])<<8 | rune(r[1]), true
}
