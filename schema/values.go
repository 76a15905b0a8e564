package schema

import (
	"time"
	"unsafe"
)

// Layouts ParseTime accepts after RFC 3339. Okta sends RFC 3339 with
// milliseconds; the zone-less forms with a space are how some log stores
// export it, and are read as UTC.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

// ParseTime parses an Okta timestamp into Unix milliseconds.
func ParseTime(s []byte) (int64, bool) {
	if len(s) < len("2006-01-02T15:04:05") {
		return 0, false
	}
	str := unsafe.String(unsafe.SliceData(s), len(s))
	// Try the layout the separator points at first: a failed time.Parse
	// allocates its error, and this runs for every event.
	layouts := timeLayouts
	if s[10] == ' ' {
		layouts = timeLayouts[2:]
	}
	for _, layout := range layouts {
		if t, err := time.Parse(layout, str); err == nil {
			return t.UnixMilli(), true
		}
	}
	return 0, false
}

// SameNumber reports whether two JSON numbers have the same decimal value,
// however they are spelled: 39.0469, 3.90469e1 and 39.04690 are the same;
// 0.1 and 0.1000000000000000055 are not. Spellings with more than 64
// significant digits are reported as different, which is the safe answer.
func SameNumber(a, b []byte) bool {
	var da, db [64]byte
	na, ea, nega, oka := decimal(a, &da)
	nb, eb, negb, okb := decimal(b, &db)
	if !oka || !okb {
		return false
	}
	if na == 0 || nb == 0 {
		return na == nb // zero is zero whatever its sign
	}
	return nega == negb && ea == eb && string(da[:na]) == string(db[:nb])
}

// decimal splits a JSON number into its significant digits (no leading or
// trailing zeros), written to digits, and the exponent of the first digit.
func decimal(s []byte, digits *[64]byte) (n, exp int, neg, ok bool) {
	i := 0
	if i < len(s) && s[i] == '-' {
		neg = true
		i++
	}
	intDigits, pos, first := 0, 0, -1
	seenPoint := false
	for ; i < len(s); i++ {
		c := s[i]
		if c == '.' && !seenPoint {
			seenPoint = true
			continue
		}
		if c < '0' || c > '9' {
			break
		}
		if !seenPoint {
			intDigits++
		}
		if first < 0 && c == '0' {
			pos++
			continue
		}
		if first < 0 {
			first = pos
		}
		pos++
		if n == len(digits) {
			return 0, 0, false, false
		}
		digits[n] = c
		n++
	}
	if pos == 0 { // no digit at all: "", "-", ".", "e5" are not numbers
		return 0, 0, false, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		e, good := exponent(s[i+1:])
		if !good {
			return 0, 0, false, false
		}
		exp = e
	} else if i != len(s) {
		return 0, 0, false, false
	}
	for n > 0 && digits[n-1] == '0' {
		n--
	}
	if n > 0 {
		exp += intDigits - 1 - first
	}
	return n, exp, neg, true
}

func exponent(s []byte) (int, bool) {
	neg := false
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if len(s) == 0 || len(s) > 6 {
		return 0, false
	}
	e := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		e = e*10 + int(c-'0')
	}
	if neg {
		e = -e
	}
	return e, true
}
