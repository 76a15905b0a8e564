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
	if ms, ok := parseOktaTime(s); ok {
		return ms, true
	}
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

// parseOktaTime reads the form Okta sends, 2006-01-02T15:04:05.000Z, by hand:
// it is in every event, and time.Parse takes several times longer. Anything
// else, or a field out of range, reports false and goes to time.Parse.
func parseOktaTime(s []byte) (int64, bool) {
	if len(s) != 24 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
		s[16] != ':' || s[19] != '.' || s[23] != 'Z' {
		return 0, false
	}
	var bad bool
	num := func(from, to int) int {
		n := 0
		for _, c := range s[from:to] {
			if c < '0' || c > '9' {
				bad = true
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, minute, sec, milli := num(11, 13), num(14, 16), num(17, 19), num(20, 23)
	if bad || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) ||
		hour > 23 || minute > 59 || sec > 59 {
		return 0, false
	}
	days := daysFromCivil(year, month, day)
	return ((days*24+int64(hour))*60+int64(minute))*60000 + int64(sec)*1000 + int64(milli), true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil counts the days from 1970-01-01 to a proleptic Gregorian
// date, after Howard Hinnant's public-domain algorithm.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 { // year 0 in January or February
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
