package schema_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hookbridge/hookbridge/schema"
)

func TestSameNumber(t *testing.T) {
	f := func(a, b string, want bool) {
		t.Helper()
		if got := schema.SameNumber([]byte(a), []byte(b)); got != want {
			t.Errorf("SameNumber(%q, %q) = %v, want %v", a, b, got, want)
		}
		if got := schema.SameNumber([]byte(b), []byte(a)); got != want {
			t.Errorf("SameNumber(%q, %q) = %v, want %v", b, a, got, want)
		}
	}

	// One decimal value, several spellings.
	f("39.0469", "39.0469", true)
	f("39.0469", "39.04690", true)
	f("39.0469", "3.90469e1", true)
	f("39.04690", "3.90469E+1", true)
	f("39.0469", "390469e-4", true)
	f("1e2", "100", true)
	f("1E2", "100.000", true)
	f("0.001", "1e-3", true)
	f("0.001", "0.1e-2", true)
	f("-12.5", "-1.25e1", true)
	f("10e999998", "1e999999", true)

	// Zero is zero whatever its sign or spelling.
	f("-0", "0", true)
	f("-0.0", "0e5", true)
	f("0", "0.000", true)
	f("0", "0E-7", true)

	// Different values.
	f("0.1", "0.1000000000000000055", false)
	f("100", "10", false)
	f("1e2", "1e3", false)
	f("1", "-1", false)
	f("39.0469", "39.0468", false)
	f("0", "1e-400", false)
	f("5e-324", "4.9406564584124654e-324", false)
	f("123", "1230", false)
	f("0.5", "5", false)

	// Up to 64 significant digits are compared; more is reported as
	// different, even against the same text, because it is the safe answer.
	digits64 := "1." + strings.Repeat("7", 63)
	f(digits64, digits64, true)
	f(digits64, "1."+strings.Repeat("7", 62)+"8", false)
	digits65 := "1." + strings.Repeat("7", 64)
	f(digits65, digits65, false)
	f(strings.Repeat("9", 200), strings.Repeat("9", 200), false)

	// Anything that is not a number is never the same as anything.
	for _, garbage := range []string{
		"", "-", ".", "-.", "e5", ".e1", "abc", "1x", "x1", "--1", "+1", "1e", "1e+", "1e-",
		"1e1.5", "1.2.3", "0x10", "NaN", "Infinity", "-Inf", "1 ", " 1", "1e1234567", "\"1\"",
	} {
		f(garbage, garbage, false)
		f(garbage, "0", false)
		f(garbage, "1", false)
	}
}

func TestParseTime(t *testing.T) {
	f := func(s string, want time.Time) {
		t.Helper()
		got, ok := schema.ParseTime([]byte(s))
		if !ok {
			t.Errorf("ParseTime(%q) failed, want %d", s, want.UnixMilli())
			return
		}
		if got != want.UnixMilli() {
			t.Errorf("ParseTime(%q) = %d (%s), want %d (%s)", s, got,
				time.UnixMilli(got).UTC().Format(time.RFC3339Nano),
				want.UnixMilli(), want.UTC().Format(time.RFC3339Nano))
		}
	}
	at := func(ms int) time.Time { return time.Date(2022, 3, 22, 14, 21, 53, ms*1e6, time.UTC) }

	f("2022-03-22T14:21:53.225Z", at(225))
	f("2022-03-22T14:21:53Z", at(0))
	f("2022-03-22T14:21:53.2Z", at(200))
	f("2022-03-22T16:21:53.225+02:00", at(225))
	f("2022-03-22T09:51:53.225-04:30", at(225))
	f("2022-03-22T14:21:53.225+00:00", at(225))

	// Nanoseconds are cut to the millisecond, not rounded.
	f("2022-03-22T14:21:53.225999999Z", at(225))
	f("2022-03-22T14:21:53.123456789Z", at(123))

	// Zone-less forms, with T or a space, are UTC.
	f("2022-03-22 14:21:53.225", at(225))
	f("2022-03-22 14:21:53", at(0))
	f("2022-03-22T14:21:53.225", at(225))
	f("2022-03-22 14:21:53.225Z", at(225))
	f("2022-03-22 16:21:53.225+02:00", at(225))

	// Instants before the epoch are negative; -1 is the last millisecond of 1969.
	f("1969-12-31T23:59:59.999Z", time.UnixMilli(-1))
	f("1970-01-01T00:00:00Z", time.UnixMilli(0))
	f("2026-05-04T10:14:58.907Z", time.UnixMilli(1777889698907))

	for _, bad := range []string{
		"", "redacted", "2022-03-22", "2022-03-22T14:21", "null", "1647958913225",
		"2022-03-22T14:21:53.225Q", "2022-13-22T14:21:53Z", "2022-03-22T25:21:53Z",
		"2022-02-30T14:21:53Z", "22-03-22T14:21:53.225Z", "2022/03/22 14:21:53.225",
		"2022-03-22T14:21:53.225Z trailing", "not a timestamp at all, really",
	} {
		if got, ok := schema.ParseTime([]byte(bad)); ok {
			t.Errorf("ParseTime(%q) = %d, want failure", bad, got)
		}
	}
}
