package jsontape

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// rebuild writes v back as JSON, from the tape alone.
func rebuild(dst []byte, v Value) []byte {
	switch v.Kind() {
	case Object:
		dst = append(dst, '{')
		first := true
		for k, m := range v.Members() {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			b, _ := json.Marshal(string(k))
			dst = append(append(dst, b...), ':')
			dst = rebuild(dst, m)
		}
		return append(dst, '}')
	case Array:
		dst = append(dst, '[')
		first := true
		for m := range v.Items() {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = rebuild(dst, m)
		}
		return append(dst, ']')
	case String:
		b, _ := json.Marshal(string(v.Bytes()))
		return append(dst, b...)
	}
	return append(dst, v.Bytes()...)
}

func decode(t testing.TB, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return v
}

// check parses in against encoding/json: the same verdict, and for valid
// input a tape that rebuilds to the same value, numbers' text included.
func check(t testing.TB, in []byte) {
	var d Doc
	err := d.Parse(bytes.Clone(in))
	valid := json.Valid(in)
	if err != nil {
		var se *SyntaxError
		if !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(in) {
			t.Fatalf("Parse(%q): error %v is not a SyntaxError with an offset in the input", in, err)
		}
		if valid && !strings.Contains(se.Msg, "nesting deeper") {
			t.Fatalf("Parse(%q) = %v; encoding/json finds it valid", in, err)
		}
		return
	}
	if !valid {
		t.Fatalf("Parse(%q) accepted input that encoding/json rejects", in)
	}
	got := rebuild(nil, d.Root())
	if want := decode(t, in); !reflect.DeepEqual(decode(t, got), want) {
		t.Fatalf("Parse(%q) rebuilt as %q, want the value %#v", in, got, want)
	}
	checkCounts(t, d.Root())
	checkPlain(t, d.Root())
}

// compact writes v as compact JSON from the tape, strings as their bytes;
// ok is false when a string in it had escapes, which compact cannot write.
func compact(dst []byte, v Value) (out []byte, ok bool) {
	ok = true
	sep := func(first bool) {
		if !first {
			dst = append(dst, ',')
		}
	}
	switch v.Kind() {
	case Object:
		dst = append(dst, '{')
		first := true
		for k, m := range v.Members() {
			sep(first)
			first = false
			dst = append(append(append(dst, '"'), k...), '"', ':')
			var good bool
			if dst, good = compact(dst, m); !good {
				ok = false
			}
		}
		return append(dst, '}'), ok
	case Array:
		dst = append(dst, '[')
		first := true
		for m := range v.Items() {
			sep(first)
			first = false
			var good bool
			if dst, good = compact(dst, m); !good {
				ok = false
			}
		}
		return append(dst, ']'), ok
	case String:
		return append(append(append(dst, '"'), v.Bytes()...), '"'), v.Plain()
	}
	return append(dst, v.Bytes()...), true
}

// checkPlain holds Plain to its promise on every container: plain exactly
// when its text is already the compact JSON of its value.
func checkPlain(t testing.TB, v Value) {
	switch v.Kind() {
	case Object:
		for _, m := range v.Members() {
			checkPlain(t, m)
		}
	case Array:
		for m := range v.Items() {
			checkPlain(t, m)
		}
	default:
		return
	}
	out, ok := compact(nil, v)
	if v.Plain() && (!ok || !bytes.Equal(out, v.Raw())) {
		t.Fatalf("plain %s %q is not its compact JSON %q", v.Kind(), v.Raw(), out)
	}
	if !v.Plain() && ok && bytes.Equal(out, v.Raw()) {
		t.Fatalf("%s %q is compact JSON but not plain", v.Kind(), v.Raw())
	}
}

// checkCounts compares every container's Len with what its walk yields.
func checkCounts(t testing.TB, v Value) {
	n := 0
	switch v.Kind() {
	case Object:
		for _, m := range v.Members() {
			checkCounts(t, m)
			n++
		}
	case Array:
		for m := range v.Items() {
			checkCounts(t, m)
			n++
		}
	default:
		return
	}
	if n != v.Len() {
		t.Fatalf("%s with %d children has Len %d", v.Kind(), n, v.Len())
	}
}

var seeds = []string{
	``, ` `, `0`, `-0`, `-`, `01`, `1.`, `.5`, `1.5e`, `1e+`, `1E-7`, `-12.5e+300`, `+1`, `1e400`,
	`123456789012345678901234567890`, `0.1e1`, `2.`, `-a`,
	`true`, `false`, `null`, `tru`, `nul`, `truex`, `NaN`, `Infinity`,
	`""`, `"a"`, `"\""`, `"\\"`, `"\/"`, `"\b\f\n\r\t"`, `"\u0041\u00e9\u20ac"`, `"\ud83d\ude00"`,
	`"\ud83d"`, `"\ude00"`, `"\ud83dx"`, `"\ud83d\u0041"`, `"\ud83d\ud83d\ude00"`, `"\u0000"`,
	`"\q"`, `"\u12"`, `"\u12g4"`, `"a`, `"\`, "\"\x01\"", "\"\x7f\"", "\"\xff\xfe\"", `"é€😀"`,
	`"0123456789abcdef0123456789"`, `"0123456\"89abcdef"`, `"01234567\\9abcdef"`,
	`[]`, `[ ]`, `[1,2]`, `[1,]`, `[,1]`, `[1 2]`, `[`, `]`, `[[[]]]`, `[[]`, `[{}]`,
	`{}`, `{ }`, `{"a":1}`, `{"a":1,}`, `{"a"}`, `{"a":}`, `{a:1}`, `{"a":1 "b":2}`, `{"a":1,"a":2}`,
	`{"a":{"b":[1,{"c":null}]},"d":"e"}`, ` {"a" : [ 1 , 2 ] } `, "\t\n\r[1]\r\n", `{} {}`, `1 2`,
	`{"\u0061":1}`, `{"a\"b":"c\\d"}`, `{"k":"v"`, `{"k"`, `{"k":`, `{1:2}`, "\xef\xbb\xbf{}",
	`["a","b",{"c":[true,false,null]}]`,
}

func TestParse(t *testing.T) {
	for _, s := range seeds {
		check(t, []byte(s))
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		in     string
		offset int
		msg    string
	}{
		{``, 0, "unexpected end of input looking for a value"},
		{`hello`, 0, `unexpected character 'h' looking for a value`},
		{`{"a":1,}`, 7, "looking for an object key"},
		{`[1 2]`, 3, "after an array item"},
		{`{"a":1 "b"}`, 7, "after an object member"},
		{`"ab` + "\x01" + `"`, 3, "control character 0x01 in a string"},
		{`"a\qb"`, 2, "invalid escape in a string"},
		{`"\u12"`, 1, `invalid \u escape`},
		{`{"a":[1,2}`, 9, "after an array item"},
		{`[1,2`, 4, "unexpected end of input in an unclosed array"},
		{`1.`, 2, "after a decimal point"},
		{`1e`, 2, "in an exponent"},
		{`-x`, 1, "in a number"},
		{`{} x`, 3, "after the top-level value"},
		{"\xff", 0, "unexpected byte 0xff looking for a value"},
		{strings.Repeat("[", MaxDepth+1), MaxDepth, "nesting deeper than 300 levels"},
	}
	for _, c := range cases {
		var d Doc
		err := d.Parse([]byte(c.in))
		var se *SyntaxError
		if !errors.As(err, &se) || se.Offset != c.offset || !strings.Contains(se.Msg, c.msg) {
			t.Errorf("Parse(%q) = %v, want %q at byte %d", c.in, err, c.msg, c.offset)
		}
	}
	var d Doc
	if err := d.Parse([]byte(strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth))); err != nil {
		t.Errorf("Parse of %d nested arrays: %v", MaxDepth, err)
	}
	if err := d.Parse([]byte(strings.Repeat("[", 2_000_000))); err == nil {
		t.Error("Parse of two million '[' succeeded")
	}
}

func TestValues(t *testing.T) {
	var d Doc
	src := []byte(`{"s":"a\nb","p":"plain","n":-1.50e3,"t":true,"z":null,"a":[1,"x",[]],"s":"again"}`)
	if err := d.Parse(src); err != nil {
		t.Fatal(err)
	}
	root := d.Root()
	if root.Kind() != Object || root.Len() != 7 {
		t.Fatalf("root: %s with %d members", root.Kind(), root.Len())
	}
	if s := root.Get("s"); string(s.Bytes()) != "a\nb" || s.Plain() {
		t.Errorf(`s = %q (plain %v), want "a\nb", not plain`, s.Bytes(), s.Plain())
	}
	if p := root.Get("p"); string(p.Bytes()) != "plain" || !p.Plain() {
		t.Errorf("p = %q (plain %v)", p.Bytes(), p.Plain())
	}
	if n := root.Get("n"); n.Kind() != Number || string(n.Bytes()) != "-1.50e3" {
		t.Errorf("n = %s %q, want the number text as sent", n.Kind(), n.Bytes())
	}
	if root.Get("t").Kind() != True || root.Get("z").Kind() != Null {
		t.Errorf("t, z = %s, %s", root.Get("t").Kind(), root.Get("z").Kind())
	}
	if m := root.Get("missing"); m.Kind() != Invalid || m.Bytes() != nil || m.Len() != 0 {
		t.Errorf("missing member: %s", m.Kind())
	}
	a := root.Get("a")
	var kinds []Kind
	for it := range a.Items() {
		kinds = append(kinds, it.Kind())
	}
	if !reflect.DeepEqual(kinds, []Kind{Number, String, Array}) || a.Len() != 3 {
		t.Errorf("a items %v, Len %d", kinds, a.Len())
	}
	if root.Get("a").Get("x").Kind() != Invalid {
		t.Error("Get on an array found a member")
	}
	var keys []string
	for k := range root.Members() {
		keys = append(keys, string(k))
	}
	if strings.Join(keys, ",") != "s,p,n,t,z,a,s" {
		t.Errorf("members %v, want document order with the duplicate", keys)
	}
}

// TestReuse parses a long document, then a short one, with the same Doc.
func TestReuse(t *testing.T) {
	var d Doc
	if err := d.Parse([]byte(`{"a":[1,2,3,{"b":"c"}],"d":{"e":"f"}}`)); err != nil {
		t.Fatal(err)
	}
	if err := d.Parse([]byte(`["x"]`)); err != nil {
		t.Fatal(err)
	}
	if got := rebuild(nil, d.Root()); string(got) != `["x"]` {
		t.Fatalf("second parse rebuilt as %s", got)
	}
}

// FuzzParse compares the parser with encoding/json on arbitrary input.
func FuzzParse(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) { check(t, in) })
}
