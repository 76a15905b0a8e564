package bench_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hookbridge/hookbridge/bench"
)

// writeFiles writes name → content into dir.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoadDeliveries(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		// Written out of name order: loading must sort them.
		"c-not-json.txt": "not a delivery",
		"a-two.json": `{"eventType":"com.okta.event_hook","data":{"events":[` +
			`{"uuid":"aaaaaaaa-0000-4000-8000-000000000001"},` +
			`{"uuid":"aaaaaaaa-0000-4000-8000-000000000002"}]}}`,
		// Events without a usable uuid still count as events, but there is
		// nothing to look for in Kafka.
		"b-no-uuids.json": `{"data":{"events":[{"uuid":""},{"uuid":7},{"eventType":"x"}]}}`,
		"d-other.json":    `{"data":{"other":[1,2]}}`,
	})
	// A directory inside is not a body.
	if err := os.Mkdir(filepath.Join(dir, "b-sub"), 0o755); err != nil {
		t.Fatal(err)
	}

	got, err := bench.LoadDeliveries(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name   string
		events int
		uuids  []string
	}{
		{"a-two.json", 2, []string{
			"aaaaaaaa-0000-4000-8000-000000000001", "aaaaaaaa-0000-4000-8000-000000000002"}},
		{"b-no-uuids.json", 3, nil},
		{"c-not-json.txt", 0, nil},
		{"d-other.json", 0, nil},
	}
	if len(got) != len(want) {
		t.Fatalf("loaded %d deliveries, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		d := got[i]
		if d.Name != w.name || d.Events != w.events || !slices.Equal(d.UUIDs, w.uuids) {
			t.Errorf("delivery %d: %s with %d events, uuids %v; want %s, %d, %v",
				i, d.Name, d.Events, d.UUIDs, w.name, w.events, w.uuids)
		}
		// Bodies are replayed as they are, byte for byte.
		raw, err := os.ReadFile(filepath.Join(dir, w.name))
		if err != nil {
			t.Fatal(err)
		}
		if string(d.Body) != string(raw) {
			t.Errorf("delivery %s: body %q, file holds %q", d.Name, d.Body, raw)
		}
	}
}

func TestLoadDeliveriesErrors(t *testing.T) {
	onlySub := t.TempDir()
	if err := os.Mkdir(filepath.Join(onlySub, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, dir := range map[string]string{
		"missing":          filepath.Join(t.TempDir(), "nope"),
		"empty":            t.TempDir(),
		"only a directory": onlySub,
	} {
		if d, err := bench.LoadDeliveries(dir); err == nil {
			t.Errorf("%s dir: no error, loaded %d deliveries", name, len(d))
		}
	}
}
