package bench

import (
	"bytes"
	"fmt"
	"math/rand/v2"
)

// Template is a generated delivery whose uuids can be replaced: filling it
// gives a fresh delivery (new eventId, new event uuids) for the cost of a
// copy, so that a load generator spends its CPU on sending, not on writing
// JSON. The events' other members repeat from fill to fill.
type Template struct {
	body []byte
	// at holds the offsets of the uuid values in body: the delivery's
	// eventId, then each event's uuid in order.
	at []int
}

// Template generates a delivery of n events and records where its uuids are.
func (g *Generator) Template(n int) *Template {
	body, uuids := g.Delivery(n)
	t := &Template{body: body, at: make([]int, 0, n+1)}
	// The eventId is the first uuid-shaped value of the envelope; the
	// generator writes it before data.events.
	const key = `"eventId":"`
	i := bytes.Index(body, []byte(key))
	if i < 0 {
		panic("bench: generated delivery has no eventId")
	}
	t.at = append(t.at, i+len(key))
	from := i + len(key) + 36
	for _, u := range uuids {
		// Each uuid is 122 random bits, so its first occurrence after the
		// previous one is the event's own uuid member.
		j := bytes.Index(body[from:], []byte(u))
		if j < 0 {
			panic(fmt.Sprintf("bench: uuid %s is not in its delivery", u))
		}
		t.at = append(t.at, from+j)
		from += j + 36
	}
	return t
}

// Events is the number of events in the template's deliveries.
func (t *Template) Events() int { return len(t.at) - 1 }

// Fill writes a copy of the template to dst[:0] with fresh version 4 uuids
// drawn from r, and returns it.
func (t *Template) Fill(dst []byte, r *rand.Rand) []byte {
	dst = append(dst[:0], t.body...)
	for _, at := range t.at {
		putUUID(dst[at:at+36], r.Uint64(), r.Uint64())
	}
	return dst
}

// UUIDs appends the uuids of the events of body, a delivery Fill returned,
// to dst.
func (t *Template) UUIDs(body []byte, dst []string) []string {
	for _, at := range t.at[1:] {
		dst = append(dst, string(body[at:at+36]))
	}
	return dst
}

// putUUID writes the version 4 uuid of the 128 bits hi, lo in its 36-byte
// text form to b.
func putUUID(b []byte, hi, lo uint64) {
	var u [16]byte
	for i := range 8 {
		u[i], u[8+i] = byte(hi>>(56-8*i)), byte(lo>>(56-8*i))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hexDigits[c>>4], hexDigits[c&0xf]
		j += 2
	}
}
