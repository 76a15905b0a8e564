// Package jsontape parses JSON in one pass into a flat tape of values, for
// the ingest hot path: it validates strictly (RFC 8259, except that it does
// not check UTF-8, which ingest repairs beforehand), keeps every number's
// text as sent, and unescapes strings in place, so that parsing a delivery
// allocates nothing once its buffers have grown.
//
// A tape is a slice of nodes in document order. A container's node is
// followed by its children (for an object, each key's node then its value's
// subtree) and records the index just past its subtree, so that a walk can
// skip any value in one step.
package jsontape

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"iter"
	"math"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// MaxDepth bounds the nesting of arrays and objects.
const MaxDepth = 300

// Kind is the JSON type of a value.
type Kind uint8

// The kinds of JSON values. Invalid is the kind of a Value that does not
// exist, such as a missing member.
const (
	Invalid Kind = iota
	Null
	False
	True
	Number
	String
	Array
	Object
)

var kindNames = [...]string{"invalid", "null", "false", "true", "number", "string", "array", "object"}

func (k Kind) String() string { return kindNames[k] }

// node is one value, or one object key, on the tape: 16 bytes, since
// writing nodes is a good part of parsing.
type node struct {
	// start and end bound the text: a string's content without the quotes
	// (unescaped in place), a number's or a literal's text, a container's
	// whole text.
	start, end uint32
	// next is the index of the node after this value's subtree.
	next uint32
	kind Kind
	// plain marks text that is already compact JSON: a string that had no
	// escapes, so needs none; a container without whitespace or escapes
	// inside, so that copying its text writes it.
	plain bool
}

// Doc is a parsed document. Its zero value is ready to use; it keeps its
// buffers between calls to Parse, so reuse one per goroutine.
type Doc struct {
	src   []byte
	nodes []node
	stack []open
	// dirt counts the whitespace runs and escaped strings met so far: a
	// container is plain when it did not change between its brackets.
	dirt uint32
}

// open is a container being parsed.
type open struct{ node, dirt uint32 }

// SyntaxError says where and why input is not valid JSON.
type SyntaxError struct {
	Offset int // of the byte at fault
	Msg    string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("%s at byte %d", e.Msg, e.Offset) }

func errAt(off int, msg string) error { return &SyntaxError{Offset: off, Msg: msg} }

func errChar(src []byte, off int, where string) error {
	if off >= len(src) {
		return errAt(off, "unexpected end of input "+where)
	}
	c := src[off]
	if c >= 0x20 && c < 0x7f {
		return errAt(off, fmt.Sprintf("unexpected character %q %s", c, where))
	}
	return errAt(off, fmt.Sprintf("unexpected byte 0x%02x %s", c, where))
}

// Parse reads src, which must hold exactly one JSON value with optional
// whitespace around it. The document keeps src and rewrites the escaped
// strings in it: the caller must not use src for anything else afterwards.
func (d *Doc) Parse(src []byte) error {
	d.src, d.nodes, d.stack, d.dirt = src, d.nodes[:0], d.stack[:0], 0
	if uint64(len(src)) >= math.MaxUint32 {
		return errAt(0, "input of 4 GiB or more")
	}
	i := d.space(0)
	for {
		// A value starts at i.
		if i >= len(src) {
			return errChar(src, i, "looking for a value")
		}
		var err error
		switch c := src[i]; c {
		case '{', '[':
			if len(d.stack) == MaxDepth {
				return errAt(i, fmt.Sprintf("nesting deeper than %d levels", MaxDepth))
			}
			k := Object
			if c == '[' {
				k = Array
			}
			d.stack = append(d.stack, open{uint32(len(d.nodes)), d.dirt})
			d.push(k, false, i, i) // end and next are set at the closing bracket
			i = d.space(i + 1)
			if i < len(src) && (src[i] == '}' && k == Object || src[i] == ']' && k == Array) {
				break // an empty container: closed below
			}
			if k == Array {
				continue
			}
			// The object's first key.
			if i, err = d.key(i); err != nil {
				return err
			}
			continue
		case '"':
			// As in key: a string without escapes is read here.
			if j := words(src, i+1); j < len(src) && src[j] == '"' {
				d.push(String, true, i+1, j)
				i = j + 1
			} else {
				i, err = d.str(i, j)
			}
		case 't':
			i, err = d.literal(i, "true", True)
		case 'f':
			i, err = d.literal(i, "false", False)
		case 'n':
			// The commonest literal, read here: against a constant the
			// comparison is one load, where literal calls the runtime's.
			if len(src)-i >= 4 && string(src[i:i+4]) == "null" {
				d.push(Null, false, i, i+4)
				i += 4
			} else {
				i, err = d.literal(i, "null", Null)
			}
		default:
			i, err = d.number(i)
		}
		if err != nil {
			return err
		}
		// A value ended: close containers and find where the next one starts.
		for {
			i = d.space(i)
			if len(d.stack) == 0 {
				if i != len(src) {
					return errChar(src, i, "after the top-level value")
				}
				return nil
			}
			top := d.stack[len(d.stack)-1].node
			obj := d.nodes[top].kind == Object
			if i >= len(src) {
				return errChar(src, i, "in an unclosed "+d.nodes[top].kind.String())
			}
			c := src[i]
			if c == ',' {
				i = d.space(i + 1)
				if !obj {
					break
				}
				// The next key; what key does for the common one, done here
				// without the call, since keys are half of all strings.
				if i < len(src) && src[i] == '"' {
					if j := words(src, i+1); j+1 < len(src) && src[j] == '"' && src[j+1] == ':' {
						d.push(String, true, i+1, j)
						i = d.space(j + 2)
						break
					}
				}
				if i, err = d.key(i); err != nil {
					return err
				}
				break
			}
			if obj && c != '}' || !obj && c != ']' {
				want := "after an array item"
				if obj {
					want = "after an object member"
				}
				return errChar(src, i, want)
			}
			i++
			n := &d.nodes[top]
			n.end, n.next = uint32(i), uint32(len(d.nodes))
			n.plain = d.stack[len(d.stack)-1].dirt == d.dirt
			d.stack = d.stack[:len(d.stack)-1]
		}
	}
}

// push adds a node; a container's end and next are set again when it
// closes. The fields are stored one by one: building a node value and
// copying it makes the compiler write it to the stack in parts and read it
// back whole, which stalls the CPU on every node.
func (d *Doc) push(k Kind, plain bool, start, end int) {
	n := len(d.nodes)
	if n < cap(d.nodes) {
		d.nodes = d.nodes[:n+1]
	} else {
		d.nodes = append(d.nodes, node{})
	}
	p := &d.nodes[n]
	p.start, p.end, p.next, p.kind, p.plain = uint32(start), uint32(end), uint32(n+1), k, plain
}

// key reads an object key, the colon after it, and the space before its
// value. An object's keys are half the strings of an event, so the key
// without escapes and the colon right after it are read here without a
// call; anything else goes the long way, through str and space.
func (d *Doc) key(i int) (int, error) {
	src := d.src
	if i >= len(src) || src[i] != '"' {
		return i, errChar(src, i, "looking for an object key")
	}
	j := words(src, i+1)
	if j < len(src) && src[j] == '"' {
		d.push(String, true, i+1, j)
		j++
	} else {
		var err error
		if j, err = d.str(i, j); err != nil {
			return j, err
		}
	}
	if j < len(src) && src[j] == ':' {
		return d.space(j + 1), nil
	}
	j = d.space(j)
	if j >= len(src) || src[j] != ':' {
		return j, errChar(src, j, "after an object key")
	}
	return d.space(j + 1), nil
}

func (d *Doc) literal(i int, text string, k Kind) (int, error) {
	if len(d.src)-i < len(text) || string(d.src[i:i+len(text)]) != text {
		j := 1
		for i+j < len(d.src) && d.src[i+j] == text[j] {
			j++
		}
		return i + j, errChar(d.src, i+j, "in the literal "+text)
	}
	d.push(k, false, i, i+len(text))
	return i + len(text), nil
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *Doc) number(start int) (int, error) {
	src, i := d.src, start
	if i < len(src) && src[i] == '-' {
		i++
	}
	switch {
	case i < len(src) && src[i] == '0':
		i++
	case i < len(src) && src[i] >= '1' && src[i] <= '9':
		i = digits(src, i+1)
	default:
		if i == start {
			return i, errChar(src, i, "looking for a value")
		}
		return i, errChar(src, i, "in a number")
	}
	if i < len(src) && src[i] == '.' {
		j := digits(src, i+1)
		if j == i+1 {
			return j, errChar(src, j, "after a decimal point")
		}
		i = j
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		i++
		if i < len(src) && (src[i] == '+' || src[i] == '-') {
			i++
		}
		j := digits(src, i)
		if j == i {
			return j, errChar(src, j, "in an exponent")
		}
		i = j
	}
	d.push(Number, false, start, i)
	return i, nil
}

func digits(src []byte, i int) int {
	for i < len(src) && src[i] >= '0' && src[i] <= '9' {
		i++
	}
	return i
}

// str reads the rest of the string whose opening quote is at q from i, up to
// which words found nothing special, and returns the offset after its
// closing quote.
func (d *Doc) str(q, i int) (int, error) {
	src := d.src
	for i < len(src) {
		c := src[i]
		if c == '"' {
			d.push(String, true, q+1, i)
			return i + 1, nil
		}
		if c == '\\' {
			return d.escaped(q, i)
		}
		if c < 0x20 {
			return i, errAt(i, fmt.Sprintf("control character 0x%02x in a string", c))
		}
		i++
	}
	return i, errAt(i, "unexpected end of input in a string")
}

// words finds the end of a string without escapes, the common case, eight
// bytes at a time: it returns the index of the first quote, backslash or
// control character from j, or where fewer than eight bytes are left.
func words(src []byte, j int) int {
	for ; j+8 <= len(src); j += 8 {
		if m := special(binary.LittleEndian.Uint64(src[j : j+8])); m != 0 {
			return j + firstByte(m)
		}
	}
	return j
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// special returns a word with the high bit set in each byte of w that is a
// quote, a backslash or below 0x20 (and perhaps in bytes after the first
// such byte, which firstByte ignores).
func special(w uint64) uint64 {
	quote := w ^ (ones * '"')
	slash := w ^ (ones * '\\')
	return ((quote-ones)&^quote | (slash-ones)&^slash | (w-ones*0x20)&^w) & highs
}

// firstByte is the index of the first byte whose high bit is set in m.
func firstByte(m uint64) int { return bits.TrailingZeros64(m) / 8 }

// escaped finishes a string with escapes from its first backslash at i,
// writing the unescaped text in place: no escape is shorter than what it
// stands for, so the write position never passes the read position.
func (d *Doc) escaped(q, i int) (int, error) {
	src := d.src
	w := i
	for i < len(src) {
		c := src[i]
		switch {
		case c == '"':
			d.push(String, false, q+1, w)
			d.dirt++
			return i + 1, nil
		case c < 0x20:
			return i, errAt(i, fmt.Sprintf("control character 0x%02x in a string", c))
		case c != '\\':
			src[w] = c
			w++
			i++
			continue
		}
		if i+1 >= len(src) {
			return i + 1, errAt(i+1, "unexpected end of input in a string escape")
		}
		var r rune
		switch e := src[i+1]; e {
		case '"', '\\', '/':
			r = rune(e)
		case 'b':
			r = '\b'
		case 'f':
			r = '\f'
		case 'n':
			r = '\n'
		case 'r':
			r = '\r'
		case 't':
			r = '\t'
		case 'u':
			var ok bool
			if r, ok = hex4(src, i+2); !ok {
				return i, errAt(i, "invalid \\u escape in a string")
			}
			i += 6
			if utf16.IsSurrogate(r) {
				// A high surrogate takes the low one escaped right after it;
				// any other surrogate stands alone and becomes U+FFFD.
				lo, ok := rune(0), false
				if r < 0xdc00 && i+6 <= len(src) && src[i] == '\\' && src[i+1] == 'u' {
					lo, ok = hex4(src, i+2)
				}
				if ok && lo >= 0xdc00 && lo <= 0xdfff {
					r = utf16.DecodeRune(r, lo)
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			w += utf8.EncodeRune(src[w:], r)
			continue
		default:
			return i, errAt(i, "invalid escape in a string")
		}
		src[w] = byte(r)
		w++
		i += 2
	}
	return i, errAt(i, "unexpected end of input in a string")
}

func hex4(src []byte, i int) (rune, bool) {
	var b [2]byte
	if i+4 > len(src) {
		return 0, false
	}
	if _, err := hex.Decode(b[:], src[i:i+4]); err != nil {
		return 0, false
	}
	return rune(b[0])<<8 | rune(b[1]), true
}

// space skips whitespace from i.
func (d *Doc) space(i int) int {
	if i < len(d.src) && d.src[i] > ' ' {
		return i // compact JSON: the common case
	}
	j := i
	for j < len(d.src) {
		switch d.src[j] {
		case ' ', '\t', '\n', '\r':
			j++
			continue
		}
		break
	}
	if j > i {
		d.dirt++
	}
	return j
}

// Parse parses src with a new Doc and returns its root; src is rewritten as
// Doc.Parse says.
func Parse(src []byte) (Value, error) {
	d := new(Doc)
	if err := d.Parse(src); err != nil {
		return Value{}, err
	}
	return d.Root(), nil
}

// Size is the memory the document's buffers hold, in bytes, not counting
// the text it parsed.
func (d *Doc) Size() int {
	return cap(d.nodes)*int(unsafe.Sizeof(node{})) + cap(d.stack)*int(unsafe.Sizeof(open{}))
}

// Root is the document's value.
func (d *Doc) Root() Value {
	if len(d.nodes) == 0 {
		return Value{}
	}
	return Value{d: d}
}

// Value is one value of a parsed document, valid until the document's next
// Parse. The zero Value does not exist: its kind is Invalid.
type Value struct {
	d *Doc
	i uint32
}

func (v Value) node() *node { return &v.d.nodes[v.i] }

// Ref is a value's place in its document: a quarter of a Value's size, for
// callers that hold many values of one document. The zero Ref is the root,
// which is nobody's member or item, so callers may use it for none.
type Ref uint32

// Ref is v's place in its document.
func (v Value) Ref() Ref { return Ref(v.i) }

// At is the value at r in v's document; r must come from a Value of the
// same parse.
func (v Value) At(r Ref) Value { return Value{v.d, uint32(r)} }

// Kind is the value's JSON type.
func (v Value) Kind() Kind {
	if v.d == nil {
		return Invalid
	}
	return v.node().kind
}

// Bytes is a string's unescaped content, or the text of a number or a
// literal as it was sent; nil for other kinds (see Raw).
func (v Value) Bytes() []byte {
	if v.d == nil {
		return nil
	}
	n := v.node()
	if n.kind >= Array {
		return nil
	}
	return v.d.src[n.start:n.end:n.end]
}

// Plain reports whether a string had no escapes, so that its content needs
// none in JSON either; or whether an array or object holds neither
// whitespace nor escapes, so that Raw is its compact JSON.
func (v Value) Plain() bool { return v.d != nil && v.node().plain }

// Raw is an array's or object's text as sent, while no escaped string in it
// has been rewritten: use it only when Plain; nil for other kinds.
func (v Value) Raw() []byte {
	if v.d == nil || v.node().kind < Array {
		return nil
	}
	n := v.node()
	return v.d.src[n.start:n.end:n.end]
}

// Len is the number of members of an object or items of an array.
func (v Value) Len() int {
	if v.d == nil || v.node().kind < Array {
		return 0
	}
	// Counting the children is a walk over one node each; the tape keeps
	// no count so that parsing writes less.
	nodes := v.d.nodes
	step := uint32(1)
	if nodes[v.i].kind == Object {
		step = 2
	}
	n := 0
	for j, end := v.i+1, nodes[v.i].next; j < end; j = nodes[j+step-1].next {
		n++
	}
	return n
}

// Members yields the keys and values of an object in document order,
// duplicates included.
func (v Value) Members() iter.Seq2[[]byte, Value] {
	return func(yield func([]byte, Value) bool) {
		if v.Kind() != Object {
			return
		}
		nodes, src := v.d.nodes, v.d.src
		for j, end := v.i+1, nodes[v.i].next; j < end; {
			k := &nodes[j]
			if !yield(src[k.start:k.end:k.end], Value{v.d, j + 1}) {
				return
			}
			j = nodes[j+1].next
		}
	}
}

// Items yields the items of an array in order.
func (v Value) Items() iter.Seq[Value] {
	return func(yield func(Value) bool) {
		if v.Kind() != Array {
			return
		}
		nodes := v.d.nodes
		for j, end := v.i+1, nodes[v.i].next; j < end; j = nodes[j].next {
			if !yield(Value{v.d, j}) {
				return
			}
		}
	}
}

// Get returns the value of the first member named key of an object; the
// zero Value when there is none or v is not an object.
func (v Value) Get(key string) Value {
	for k, m := range v.Members() {
		if string(k) == key {
			return m
		}
	}
	return Value{}
}
