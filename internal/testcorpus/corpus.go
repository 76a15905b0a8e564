// Package testcorpus gives tests the shared corpus of real-shaped Okta events
// and the project's own fixtures, and compares JSON values the way the
// lossless guarantee is stated: same value, key order aside, null distinct
// from absent, numbers by decimal value.
package testcorpus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
)

// Event is one Okta event from a corpus file, as JSON text.
type Event struct {
	File  string
	Index int
	JSON  []byte
}

// Name identifies the event in test output.
func (e Event) Name() string { return fmt.Sprintf("%s#%d", e.File, e.Index) }

// Root returns the module root, found from this source file's location.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Dir returns the shared corpus folder: $HOOKBRIDGE_CORPUS, or
// ../shared/corpus/public beside the checkout. When it is missing the test
// fails under CI=true and is skipped, with a message, elsewhere.
func Dir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("HOOKBRIDGE_CORPUS")
	if dir == "" {
		dir = filepath.Join(Root(), "..", "shared", "corpus", "public")
	}
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("corpus not found at %s (set HOOKBRIDGE_CORPUS): %v", dir, err)
		}
		t.Skipf("corpus not found at %s; set HOOKBRIDGE_CORPUS to run this test", dir)
	}
	return dir
}

// Files returns the corpus files: each a JSON array of events or of event
// hook envelopes.
func Files(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(Dir(t), "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files in %s: %v", Dir(t), err)
	}
	sort.Strings(files)
	return files
}

// Events returns every event of the shared corpus, envelopes unwrapped.
func Events(t testing.TB) []Event {
	t.Helper()
	var out []Event
	for _, f := range Files(t) {
		out = append(out, FileEvents(t, f)...)
	}
	return out
}

// Fixtures returns the events of the project's own testdata/events.json.
func Fixtures(t testing.TB) []Event {
	t.Helper()
	return FileEvents(t, filepath.Join(Root(), "testdata", "events.json"))
}

// FileEvents returns the events of one file holding a JSON array of events
// or of envelopes.
func FileEvents(t testing.TB, path string) []Event {
	t.Helper()
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil {
		t.Fatalf("%s is not a JSON array: %v", path, err)
	}
	var out []Event
	add := func(ev []byte) {
		out = append(out, Event{File: filepath.Base(path), Index: len(out), JSON: ev})
	}
	for _, it := range items {
		var env struct {
			Data *struct {
				Events []json.RawMessage `json:"events"`
			} `json:"data"`
		}
		if json.Unmarshal(it, &env) == nil && env.Data != nil && env.Data.Events != nil {
			for _, ev := range env.Data.Events {
				add(ev)
			}
			continue
		}
		add(it)
	}
	return out
}

// Envelope wraps events into an event hook delivery body.
func Envelope(eventID string, events ...[]byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"eventType":"com.okta.event_hook","eventTypeVersion":"1.0",`+
		`"cloudEventsVersion":"0.1","source":"https://example.okta.com/api/v1/eventHooks/whoTEST",`+
		`"eventId":%q,"eventTime":"2026-05-04T10:15:02.311Z","contentType":"application/json",`+
		`"data":{"events":[`, eventID)
	for i, ev := range events {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(ev)
	}
	b.WriteString("]}}")
	return b.Bytes()
}

// Equal reports whether two JSON texts hold the same value, with a short
// description of the first difference when they do not.
func Equal(a, b []byte) (bool, string) {
	va, err := decode(a)
	if err != nil {
		return false, fmt.Sprintf("first text: %v", err)
	}
	vb, err := decode(b)
	if err != nil {
		return false, fmt.Sprintf("second text: %v", err)
	}
	return equal("$", va, vb)
}

func decode(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func equal(path string, a, b any) (bool, string) {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return false, fmt.Sprintf("%s: object vs %T", path, b)
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok {
				return false, fmt.Sprintf("%s.%s: missing from second", path, k)
			}
			if ok, why := equal(path+"."+k, xv, yv); !ok {
				return false, why
			}
		}
		for k := range y {
			if _, ok := x[k]; !ok {
				return false, fmt.Sprintf("%s.%s: missing from first", path, k)
			}
		}
		return true, ""
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false, fmt.Sprintf("%s: array vs %v", path, b)
		}
		for i := range x {
			if ok, why := equal(fmt.Sprintf("%s[%d]", path, i), x[i], y[i]); !ok {
				return false, why
			}
		}
		return true, ""
	case json.Number:
		y, ok := b.(json.Number)
		if !ok || !sameNumber(string(x), string(y)) {
			return false, fmt.Sprintf("%s: %v vs %v", path, a, b)
		}
		return true, ""
	default:
		if a != b {
			return false, fmt.Sprintf("%s: %#v vs %#v", path, a, b)
		}
		return true, ""
	}
}
