package schema_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"unicode/utf8"

	"github.com/hamba/avro/v2"

	"github.com/hookbridge/hookbridge/internal/jsontape"
	"github.com/hookbridge/hookbridge/internal/testcorpus"
	"github.com/hookbridge/hookbridge/schema"
)

func TestAppendJSONString(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		got := schema.AppendJSONString(nil, []byte(in))
		if string(got) != want {
			t.Errorf("AppendJSONString(%q) = %s, want %s", in, got, want)
		}
		checkJSONString(t, got, in)
	}
	f("", `""`)
	f("plain", `"plain"`)
	f(`say "hi"`, `"say \"hi\""`)
	f(`C:\temp\`, `"C:\\temp\\"`)
	f(`\"`, `"\\\""`)
	f("a\nb\rc\td", `"a\nb\rc\td"`)
	f("\x00", `"\u0000"`)
	f("\b\f", `"\u0008\u000c"`)
	f("\x1f\x7f", `"\u001f`+"\x7f"+`"`)

	// No HTML escaping and no escaping of non-ASCII: names stay searchable.
	f("</script>&'", `"</script>&'"`)
	f("Zoë Müller 山田 😀", `"Zoë Müller 山田 😀"`)
	f("line\u2028para\u2029", "\"line\u2028para\u2029\"")
	f("\ufffd\ufeff", "\"\ufffd\ufeff\"")
}

func TestAppendJSONStringControlChars(t *testing.T) {
	short := map[byte]string{'\n': `\n`, '\r': `\r`, '\t': `\t`}
	for c := byte(0); c < 0x20; c++ {
		in := []byte{'a', c, 'b'}
		got := schema.AppendJSONString(nil, in)
		want := short[c]
		if want == "" {
			want = `\u00` + string("0123456789abcdef"[c>>4]) + string("0123456789abcdef"[c&0xf])
		}
		if string(got) != `"a`+want+`b"` {
			t.Errorf("control char %#x: got %s, want %s", c, got, `"a`+want+`b"`)
		}
		checkJSONString(t, got, string(in))
	}
}

func TestAppendJSONStringKeepsDst(t *testing.T) {
	dst := []byte(`{"k":`)
	got := schema.AppendJSONString(dst, []byte("v\""))
	if string(got) != `{"k":"v\""` {
		t.Fatalf("got %s", got)
	}
}

// TestAppendJSONStringRoundTrip checks many generated strings, weighted
// towards the characters that need care, against encoding/json.
func TestAppendJSONStringRoundTrip(t *testing.T) {
	pieces := []string{
		`"`, `\`, `/`, "\x00", "\x01", "\x1f", "\x7f", "\n", "\r", "\t", "\b", "\f",
		"a", "Z", " ", "é", "ß", "山", "😀", "\u2028", "\u2029", "\ufffd", "\ufeff",
		`\u0041`, `\"`, `\\`, "<", ">", "&", "\U0010ffff", "\u0800", "\u07ff",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var in, buf []byte
	for range 5000 {
		in = in[:0]
		for n := rng.IntN(12); n > 0; n-- {
			if rng.IntN(4) == 0 {
				in = utf8.AppendRune(in, rune(rng.IntN(0x10ffff+1)))
				continue
			}
			in = append(in, pieces[rng.IntN(len(pieces))]...)
		}
		in = bytes.ToValidUTF8(in, []byte("\ufffd")) // a random rune may be a surrogate
		buf = schema.AppendJSONString(buf[:0], in)
		checkJSONString(t, buf, string(in))
	}
	// Every rune of the Basic Multilingual Plane and a stride of the others.
	var all []byte
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if r >= 0x10000 {
			r += 97
		}
		if utf8.ValidRune(r) {
			all = utf8.AppendRune(all, r)
		}
	}
	checkJSONString(t, schema.AppendJSONString(nil, all), string(all))
}

// checkJSONString fails unless text is one valid JSON string that decodes to
// want and holds no raw control character.
func checkJSONString(t testing.TB, text []byte, want string) {
	t.Helper()
	if !json.Valid(text) {
		t.Fatalf("invalid JSON %q for input %q", text, want)
	}
	if i := bytes.IndexFunc(text, func(r rune) bool { return r < 0x20 }); i >= 0 {
		t.Fatalf("raw control character %#x at %d in %q", text[i], i, text)
	}
	var got string
	if err := json.Unmarshal(text, &got); err != nil {
		t.Fatalf("unmarshal %q: %v", text, err)
	}
	if got != want {
		t.Fatalf("%q decodes to %q, want %q", text, got, want)
	}
}

func TestSanitize(t *testing.T) {
	const r = "\ufffd" // U+FFFD as UTF-8 bytes
	f := func(in, want string) {
		t.Helper()
		got := schema.Sanitize(nil, []byte(in))
		if string(got) != want {
			t.Errorf("Sanitize(%q) = %q, want %q", in, got, want)
		}
		if !utf8.Valid(got) {
			t.Errorf("Sanitize(%q) = %q, invalid UTF-8", in, got)
		}
	}

	// Invalid UTF-8: each byte that starts no valid sequence becomes U+FFFD,
	// as utf8.DecodeRune and encoding/json count them.
	f("a\xffb", "a"+r+"b")
	f("{\"k\xfe\":\"v\"}", `{"k`+r+`":"v"}`)
	f("\xc0\xaf", r+r)                 // overlong '/'
	f("\xed\xa0\x80", r+r+r)           // a surrogate written as UTF-8
	f("\xf4\x90\x80\x80", r+r+r+r)     // beyond U+10FFFF
	f(`"ab`+"\xe2\x82", `"ab`+r+r)     // cut inside a rune
	f("\xe2\x82\xac\xe2\x82", "€"+r+r) // a good rune, then a cut one
	f("é山😀"+"\x80", "é山😀"+r)           // valid multi-byte runes stay
	f("\x00\x7f"+r, "\x00\x7f"+r)      // U+FFFD itself is valid
	f("\u2028\U0010ffff", "\u2028\U0010ffff")

	// Lone surrogate escapes become \ufffd; pairs and non-surrogates stay.
	f(`"\ud800"`, `"\ufffd"`)
	f(`"\udc00"`, `"\ufffd"`)
	f(`"\uD800x"`, `"\ufffdx"`)
	f(`"\uDBFF\uDFFF"`, `"\uDBFF\uDFFF"`)
	f(`"\ud83d\ude00"`, `"\ud83d\ude00"`)
	f(`"\ud800\u0041"`, `"\ufffd\u0041"`)
	f(`"\ud800\ud83d\ude00"`, `"\ufffd\ud83d\ude00"`)
	f(`"\ude00\ud83d"`, `"\ufffd\ufffd"`)
	f(`"\ud83d\ude00\ude00"`, `"\ud83d\ude00\ufffd"`)
	f(`"\ud800\\ude00"`, `"\ufffd\\ude00"`)
	f(`"\u00e9\u0000\ufffd"`, `"\u00e9\u0000\ufffd"`)
	f(`{"\udfff":"\ud800"}`, `{"\ufffd":"\ufffd"}`)

	// An escaped backslash followed by text is not an escape.
	f(`"\\ud800"`, `"\\ud800"`)
	f(`"\\\ud800"`, `"\\\ufffd"`)
	f(`"\\\\ud800"`, `"\\\\ud800"`)
	f(`"\"\ud800"`, `"\"\ufffd"`)

	// Escapes cut short or not hex are left for the JSON parser to reject.
	f(`"\ud80"`, `"\ud80"`)
	f(`"\ud8`, `"\ud8`)
	f(`"\ud8zz"`, `"\ud8zz"`)
	f(`\`, `\`)

	// A backslash followed by a non-ASCII byte is no escape: the byte gets the
	// UTF-8 check like any other (found by FuzzConvert).
	f("0\\\x80", "0\\"+r)
	f(`"\\`+"\xff\xfe", `"\\`+r+r)
	f(`"\é\ud800"`, `"\é\ufffd"`)
	f(`"\山\udc00"`, `"\山\ufffd"`)

	// Both problems in one body.
	f("{\"a\xff\":\"\\ud800\",\"b\":\"\\ud83d\\ude00\"}",
		`{"a`+r+`":"\ufffd","b":"\ud83d\ude00"}`)
}

func TestSanitizeReturnsBodyWhenClean(t *testing.T) {
	buf := make([]byte, 0, 1024)
	for _, in := range []string{
		`{}`, `{"a":"b"}`, `"\ud83d\ude00"`, `"\\ud800"`, "\"Zoë 山田 \u2028\"", `"\u0041"`,
	} {
		body := []byte(in)
		got := schema.Sanitize(buf, body)
		if len(got) != len(body) || &got[0] != &body[0] {
			t.Errorf("Sanitize(%q) returned a copy, want body itself", in)
		}
	}
	for _, ev := range testcorpus.Fixtures(t) {
		if got := schema.Sanitize(buf, ev.JSON); &got[0] != &ev.JSON[0] {
			t.Errorf("Sanitize copied clean fixture %s", ev.Name())
		}
	}

	// When something changes, the result goes into buf's storage.
	body := []byte("\"\\ud800\xff\"")
	got := schema.Sanitize(buf, body)
	if string(got) != `"\ufffd`+"\ufffd"+`"` {
		t.Fatalf("got %q", got)
	}
	if &got[0] != &buf[:1][0] {
		t.Error("Sanitize did not reuse buf")
	}
	if string(body) != "\"\\ud800\xff\"" {
		t.Errorf("Sanitize changed body to %q", body)
	}
}

// TestSanitizeEndToEnd checks that after Sanitize every string that reaches
// Avro, and every string of the rebuilt JSON, is valid UTF-8, with U+FFFD
// exactly where the input was broken.
func TestSanitizeEndToEnd(t *testing.T) {
	in := []byte("{\"uuid\":\"a\xffb\",\"displayMessage\":\"x\\ud800y\"," +
		"\"actor\":{\"id\":\"\\udc00\\u0041\",\"displayName\":\"\\ud83d\\ude00\"}," +
		"\"k\xfe\\ud800\":\"\\\\ud800\"," +
		"\"target\":[{\"detailEntry\":{\"s\":\"\\ud800\",\"\\udfff\":[\"\xc0\"]}}]," +
		"\"securityContext\":{\"risk\":{\"reasons\":[\"\\ud800\\ud800\"]}}}")
	body := schema.Sanitize(nil, in)
	v, err := jsontape.Parse(body)
	if err != nil {
		t.Fatalf("parse %s: %v", body, err)
	}
	var enc schema.Encoder
	rec, info, err := enc.AppendEvent(nil, v, meta)
	if err != nil {
		t.Fatal(err)
	}
	if string(info.UUID) != "a\ufffdb" {
		t.Errorf("info.UUID = %q", info.UUID)
	}
	if string(info.ActorID) != "\ufffdA" {
		t.Errorf("info.ActorID = %q", info.ActorID)
	}

	var generic map[string]any
	if err := avro.Unmarshal(mustSchemas(t).LogEvent, rec, &generic); err != nil {
		t.Fatalf("hamba/avro cannot read the record: %v", err)
	}
	walkStrings(t, "avro", generic)

	out, _, err := schema.DecodeEvent(nil, rec)
	if err != nil {
		t.Fatal(err)
	}
	if !utf8.Valid(out) || !json.Valid(out) {
		t.Fatalf("rebuilt JSON is not valid UTF-8 JSON: %q", out)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	walkStrings(t, "json", got)
	want := map[string]any{
		"uuid":           "a\ufffdb",
		"displayMessage": "x\ufffdy",
		"actor":          map[string]any{"id": "\ufffdA", "displayName": "😀"},
		"k\ufffd\ufffd":  `\ud800`,
		"target": []any{map[string]any{
			"detailEntry": map[string]any{"s": "\ufffd", "\ufffd": []any{"\ufffd"}},
		}},
		"securityContext": map[string]any{"risk": map[string]any{
			"reasons": []any{"\ufffd\ufffd"},
		}},
	}
	wantText, _ := json.Marshal(want)
	gotText, _ := json.Marshal(got)
	if !bytes.Equal(gotText, wantText) {
		t.Fatalf("rebuilt event\n got: %s\nwant: %s", gotText, wantText)
	}
}

// walkStrings fails on any string, map key included, that is not valid UTF-8.
func walkStrings(t testing.TB, path string, v any) {
	t.Helper()
	switch x := v.(type) {
	case string:
		if !utf8.ValidString(x) {
			t.Errorf("%s = %q is not valid UTF-8", path, x)
		}
	case map[string]any:
		for k, m := range x {
			if !utf8.ValidString(k) {
				t.Errorf("%s has key %q, not valid UTF-8", path, k)
			}
			walkStrings(t, path+"."+k, m)
		}
	case []any:
		for _, m := range x {
			walkStrings(t, path+"[]", m)
		}
	}
}
