package schema

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLookup checks the field table of every record: each name finds its
// field, and near misses (another case, a prefix, an extension) find none.
func TestLookup(t *testing.T) {
	seen := map[*Record]bool{}
	var visit func(r *Record)
	visit = func(r *Record) {
		if seen[r] {
			return
		}
		seen[r] = true
		for i, f := range r.Fields {
			if got := r.lookup([]byte(f.Name)); got != i {
				t.Errorf("%s.lookup(%q) = %d, want %d", r.Name, f.Name, got, i)
			}
			for _, miss := range []string{strings.ToUpper(f.Name), f.Name[:len(f.Name)-1], f.Name + "x",
				"x" + f.Name} {
				if got, want := r.lookup([]byte(miss)), r.index(miss); got != want {
					t.Errorf("%s.lookup(%q) = %d, want %d", r.Name, miss, got, want)
				}
			}
			if f.Rec != nil {
				visit(f.Rec)
			}
		}
		if r.lookup(nil) >= 0 || r.lookup([]byte("_absent")) >= 0 {
			t.Errorf("%s: the empty key or _absent found a field", r.Name)
		}
	}
	visit(LogEvent)
	if len(seen) < 10 {
		t.Fatalf("visited %d records; the walk is broken", len(seen))
	}
}

// index is the plain search the table must agree with.
func (r *Record) index(name string) int {
	for i, f := range r.Fields {
		if f.Name == name {
			return i
		}
	}
	return -1
}

// TestExactDouble compares the fast path with strconv on numbers it takes
// and checks that it declines the ones it must leave to the general path.
func TestExactDouble(t *testing.T) {
	take := []string{"0", "-0", "0.0", "1", "-1", "37.7749", "-122.4194", "1.5e3", "1.50",
		"0.000123", "123456789012345", "1234567.89012345", "9.99e22", "1e-22", "4.2E+2",
		"0.1", "0.3", "100e-2", "-0.0e5"}
	for _, s := range take {
		got, ok := exactDouble([]byte(s))
		want, _ := strconv.ParseFloat(s, 64)
		if !ok || math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("exactDouble(%s) = %v, %v; want %v", s, got, ok, want)
		}
	}
	for _, s := range []string{"1234567890123456", "0.1000000000000000055", "1e23", "1e-23",
		"5e-324", "1.7976931348623157e308", "1e1000"} {
		if _, ok := exactDouble([]byte(s)); ok {
			t.Errorf("exactDouble(%s) took a number it cannot convert exactly", s)
		}
	}
}

var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// FuzzExactDouble holds the fast path to strconv on every JSON number.
func FuzzExactDouble(f *testing.F) {
	for _, s := range []string{"0", "-1.5", "37.7749", "1e22", "123456789012345", "0.000001e-16"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !jsonNumber.MatchString(s) {
			return
		}
		got, ok := exactDouble([]byte(s))
		if !ok {
			return
		}
		want, err := strconv.ParseFloat(s, 64)
		if err != nil || math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("exactDouble(%s) = %v, strconv says %v (%v)", s, got, want, err)
		}
		if !SameNumber([]byte(s), strconv.AppendFloat(nil, got, 'g', -1, 64)) {
			t.Fatalf("exactDouble(%s) = %v, which prints as another number", s, got)
		}
	})
}

// FuzzParseLong holds the hand-written integer path to strconv on every
// JSON number.
func FuzzParseLong(f *testing.F) {
	for _, s := range []string{"0", "-0", "7", "-12", "123456789012345678", "-999999999999999999",
		"9223372036854775807", "-9223372036854775808", "9223372036854775808", "1.0", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !jsonNumber.MatchString(s) {
			return
		}
		got, ok := parseLong([]byte(s))
		want, err := strconv.ParseInt(s, 10, 64)
		if ok != (err == nil) || ok && got != want {
			t.Fatalf("parseLong(%s) = %d, %v; strconv says %d, %v", s, got, ok, want, err)
		}
	})
}

// FuzzOktaTime holds the hand-written parser of Okta's timestamp form to
// time.Parse: the same instant when it takes a string, and it takes every
// valid one of that form.
func FuzzOktaTime(f *testing.F) {
	for _, s := range []string{"2026-05-04T10:14:58.907Z", "2024-02-29T23:59:59.999Z",
		"2023-02-29T00:00:00.000Z", "0000-01-01T00:00:00.000Z", "1969-12-31T23:59:59.999Z",
		"2026-13-01T00:00:00.000Z", "2026-05-04T24:00:00.000Z", "2026-05-04T10:14:60.000Z",
		"2026-05-04T10:14:58.9O7Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseOktaTime([]byte(s))
		want, err := time.Parse("2006-01-02T15:04:05.000Z", s)
		switch {
		case ok && err != nil:
			t.Fatalf("parseOktaTime(%q) = %d; time.Parse refuses it: %v", s, got, err)
		case ok && got != want.UnixMilli():
			t.Fatalf("parseOktaTime(%q) = %d, time.Parse gives %d", s, got, want.UnixMilli())
		case !ok && err == nil && len(s) == 24 && s[19] == '.' && s[23] == 'Z' && digits(s[20:23]):
			t.Fatalf("parseOktaTime(%q) refused what time.Parse reads as %v", s, want)
		}
	})
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
