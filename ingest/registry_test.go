package ingest_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hamba/avro/v2"

	"github.com/hookbridge/hookbridge/broker"
	"github.com/hookbridge/hookbridge/ingest"
	"github.com/hookbridge/hookbridge/internal/testcorpus"
	"github.com/hookbridge/hookbridge/schema"
)

// fakeRegistry speaks the two calls of the Confluent schema registry API that
// hookbridge uses: register a schema under a subject (the same text gets the
// same id, as the registry does) and fetch a schema by id.
type fakeRegistry struct {
	mu       sync.Mutex
	ids      map[string]int
	texts    []string
	subjects map[string]int
}

func (f *fakeRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	switch {
	case r.Method == "POST" && strings.HasPrefix(r.URL.Path, "/subjects/") &&
		strings.HasSuffix(r.URL.Path, "/versions"):
		var body struct {
			Schema     string `json:"schema"`
			SchemaType string `json:"schemaType"`
		}
		// A missing schemaType means AVRO, as in the registry API.
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || (body.SchemaType != "" && body.SchemaType != "AVRO") {
			w.WriteHeader(http.StatusUnprocessableEntity)
			fmt.Fprintf(w, `{"error_code":42201,"message":"invalid schema"}`)
			return
		}
		if _, err := avro.Parse(body.Schema); err != nil {
			w.WriteHeader(http.StatusUnprocessableEntity)
			fmt.Fprintf(w, `{"error_code":42201,"message":"Invalid schema"}`)
			return
		}
		id, ok := f.ids[body.Schema]
		if !ok {
			f.texts = append(f.texts, body.Schema)
			id = len(f.texts)
			f.ids[body.Schema] = id
		}
		f.subjects[strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/subjects/"), "/versions")] = id
		fmt.Fprintf(w, `{"id":%d}`, id)
	case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/schemas/ids/"):
		id, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/schemas/ids/"))
		if id < 1 || id > len(f.texts) {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"error_code":40403,"message":"Schema not found"}`)
			return
		}
		b, _ := json.Marshal(map[string]string{"schema": f.texts[id-1], "schemaType": "AVRO"})
		w.Write(b)
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"error_code":404,"message":"HTTP 404 Not Found"}`)
	}
}

func TestRegistryWireFormat(t *testing.T) {
	reg := &fakeRegistry{ids: map[string]int{}, subjects: map[string]int{}}
	srv := httptest.NewServer(reg)
	defer srv.Close()
	h := newHarness(t, func(_ *ingest.Config, kc *broker.Config) { kc.Registry.URL = srv.URL })

	fixture := testcorpus.Fixtures(t)[0].JSON
	body := testcorpus.Envelope("reg-1", fixture, []byte(`{"uuid":"no-published"}`))
	if resp := h.post(body); resp.status != 200 {
		t.Fatalf("status %d: %s", resp.status, resp.body)
	}
	for _, subject := range []string{h.events + "-value", h.sessions + "-value", h.dlq + "-value"} {
		if reg.subjects[subject] == 0 {
			t.Errorf("subject %s not registered: %v", subject, reg.subjects)
		}
	}
	if reg.subjects[h.events+"-value"] == reg.subjects[h.dlq+"-value"] {
		t.Error("dead-letter topic registered the event schema")
	}

	schemas, err := schema.Parse()
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(id uint32) (string, error) {
		reg.mu.Lock()
		defer reg.mu.Unlock()
		return reg.texts[id-1], nil
	}
	reader := schema.NewReader(schemas, lookup)
	check := func(topic string, want []byte) {
		r := h.records(topic, 1)[0]
		if r.Value[0] != 0 {
			t.Fatalf("%s: value does not start with the magic byte 0", topic)
		}
		id := binary.BigEndian.Uint32(r.Value[1:5])
		if int(id) != reg.subjects[topic+"-value"] {
			t.Errorf("%s: schema id %d, registered %d", topic, id, reg.subjects[topic+"-value"])
		}
		got, err := reader.AppendJSON(nil, r.Value)
		if err != nil {
			t.Fatal(err)
		}
		if want != nil {
			if ok, why := testcorpus.Equal(want, got); !ok {
				t.Errorf("%s: %s", topic, why)
			}
		} else if !bytes.Contains(got, []byte(`"reason":"missing_published"`)) {
			t.Errorf("%s: %s", topic, got)
		}
	}
	check(h.sessions, fixture)
	check(h.dlq, nil)

	// Without a registry the reader refuses registry-framed values clearly.
	r := h.records(h.sessions, 1)[0]
	if _, err := schema.NewReader(schemas, nil).AppendJSON(nil, r.Value); err == nil ||
		!strings.Contains(err.Error(), "registry") {
		t.Errorf("decoding without a registry: %v", err)
	}
}
