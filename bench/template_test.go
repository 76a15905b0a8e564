package bench_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/hookbridge/hookbridge/bench"
)

// envelope is the part of a delivery the template tests look at.
type envelope struct {
	EventID string `json:"eventId"`
	Data    struct {
		Events []struct {
			UUID string `json:"uuid"`
		} `json:"events"`
	} `json:"data"`
}

// parseDelivery requires body to be a JSON delivery and returns its eventId
// followed by its events' uuids, in order.
func parseDelivery(t testing.TB, body []byte) []string {
	t.Helper()
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("filled body is not JSON: %v\n%s", err, body)
	}
	ids := []string{env.EventID}
	for _, ev := range env.Data.Events {
		ids = append(ids, ev.UUID)
	}
	return ids
}

// TestTemplateFillChangesOnlyUUIDs compares each fill with the delivery the
// template was made from (a generator with the same seed writes the same
// bytes): the eventId and every event uuid must be new, and nothing else may
// move, since Fill is a copy and a patch, not a rewrite.
func TestTemplateFillChangesOnlyUUIDs(t *testing.T) {
	for _, n := range []int{1, 10, 50} {
		tmpl := bench.NewGenerator(11).Template(n)
		orig, _ := bench.NewGenerator(11).Delivery(n)
		origIDs := parseDelivery(t, orig)
		if got := tmpl.Events(); got != n {
			t.Fatalf("Template(%d).Events() = %d", n, got)
		}

		seen := map[string]bool{}
		for _, id := range origIDs {
			seen[id] = true
		}
		r := rand.New(rand.NewPCG(1, 2))
		var buf []byte
		for fill := range 20 {
			// Reusing the last fill's buffer is how senders call it.
			buf = tmpl.Fill(buf, r)
			ids := parseDelivery(t, buf)
			if len(ids) != n+1 || len(buf) != len(orig) {
				t.Fatalf("n=%d fill %d: %d uuids in %d bytes, want %d in %d",
					n, fill, len(ids), len(buf), n+1, len(orig))
			}
			for _, id := range ids {
				if !uuidV4.MatchString(id) || seen[id] {
					t.Fatalf("n=%d fill %d: uuid %q is not a fresh v4 uuid", n, fill, id)
				}
				seen[id] = true
			}
			if got := tmpl.UUIDs(buf, nil); !slices.Equal(got, ids[1:]) {
				t.Fatalf("n=%d fill %d: UUIDs() = %v, the events hold %v", n, fill, got, ids[1:])
			}
			requireOnlyUUIDsDiffer(t, orig, buf, ids)
		}
	}
}

// TestTemplateUUIDsAppends: UUIDs adds to dst rather than replacing it, so
// a caller can collect several deliveries' uuids in one slice.
func TestTemplateUUIDsAppends(t *testing.T) {
	tmpl := bench.NewGenerator(12).Template(3)
	body := tmpl.Fill(nil, rand.New(rand.NewPCG(3, 4)))
	got := tmpl.UUIDs(body, []string{"kept"})
	if len(got) != 4 || got[0] != "kept" || !slices.Equal(got[1:], parseDelivery(t, body)[1:]) {
		t.Fatalf("UUIDs appended %v", got)
	}
}

// TestTemplateFillDeterministic: a load run with --seed must send the same
// bytes again, which is how a redelivery is reproduced.
func TestTemplateFillDeterministic(t *testing.T) {
	a := bench.NewGenerator(5).Template(10)
	b := bench.NewGenerator(5).Template(10)
	ra, rb := rand.New(rand.NewPCG(9, 1)), rand.New(rand.NewPCG(9, 1))
	rc := rand.New(rand.NewPCG(9, 2))
	for i := range 5 {
		fa, fb := a.Fill(nil, ra), b.Fill(nil, rb)
		if !bytes.Equal(fa, fb) {
			t.Fatalf("fill %d: the same seeds gave different bodies", i)
		}
		if fc := a.Fill(nil, rc); bytes.Equal(fa, fc) {
			t.Fatalf("fill %d: different rand streams gave the same body", i)
		}
	}
}

// requireOnlyUUIDsDiffer fails unless got differs from orig only inside the
// 36-byte values of the members eventId and uuid that hold ids.
func requireOnlyUUIDsDiffer(t testing.TB, orig, got []byte, ids []string) {
	t.Helper()
	inUUID := make([]bool, len(got))
	from := 0
	for i, id := range ids {
		at := bytes.Index(got[from:], []byte(id))
		if at < 0 {
			t.Fatalf("uuid %s is not in the body after offset %d", id, from)
		}
		at += from
		key := `"uuid":"`
		if i == 0 {
			key = `"eventId":"`
		}
		if !bytes.HasSuffix(got[:at], []byte(key)) {
			t.Fatalf("uuid %s at offset %d is not the value of %s", id, at, key)
		}
		for j := at; j < at+36; j++ {
			inUUID[j] = true
		}
		from = at + 36
	}
	for i := range got {
		if got[i] != orig[i] && !inUUID[i] {
			t.Fatalf("byte %d changed outside any uuid: %q became %q",
				i, orig[max(0, i-20):min(len(orig), i+20)], got[max(0, i-20):min(len(got), i+20)])
		}
	}
}
