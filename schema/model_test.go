package schema

import (
	"strings"
	"testing"
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
