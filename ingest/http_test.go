package ingest_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookbridge/hookbridge/internal/testcorpus"
)

const oneEvent = `{"uuid":"11111111-2222-4333-8444-555555555555","published":"2026-01-02T03:04:05.678Z",` +
	`"eventType":"user.lifecycle.create","version":"0","severity":"INFO"}`

func gz(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestStatusCodes(t *testing.T) {
	h := newHarness(t, nil)
	valid := testcorpus.Envelope("status-1", []byte(oneEvent))
	json := "application/json"
	cases := []struct {
		name     string
		method   string
		path     string
		body     []byte
		headers  []string
		status   int
		contains string
	}{
		{"delivered", "POST", "/hooks/okta", valid, []string{"Authorization", secret, "Content-Type", json}, 200, ""},
		{"json with charset", "POST", "/hooks/okta", valid,
			[]string{"Authorization", secret, "Content-Type", "application/json; charset=utf-8"}, 200, ""},
		{"gzip body", "POST", "/hooks/okta", gz(t, valid),
			[]string{"Authorization", secret, "Content-Type", json, "Content-Encoding", "gzip"}, 200, ""},
		{"no events", "POST", "/hooks/okta", testcorpus.Envelope("status-2"),
			[]string{"Authorization", secret, "Content-Type", json}, 200, ""},
		{"no auth", "POST", "/hooks/okta", valid, []string{"Content-Type", json}, 401, "unauthorized"},
		{"wrong secret", "POST", "/hooks/okta", valid, []string{"Authorization", "nope", "Content-Type", json},
			401, "unauthorized"},
		{"secret of another source", "POST", "/hooks/okta", valid,
			[]string{"Authorization", newSecret, "Content-Type", json}, 401, "unauthorized"},
		{"prefix of the secret", "POST", "/hooks/okta", valid,
			[]string{"Authorization", secret[:4], "Content-Type", json}, 401, "unauthorized"},
		{"unknown path", "POST", "/hooks/nope", valid, []string{"Authorization", secret, "Content-Type", json},
			404, "no event hook source"},
		{"put", "PUT", "/hooks/okta", valid, []string{"Authorization", secret, "Content-Type", json},
			405, "method not allowed"},
		{"delete", "DELETE", "/hooks/okta", nil, []string{"Authorization", secret}, 405, "method not allowed"},
		{"form body", "POST", "/hooks/okta", valid,
			[]string{"Authorization", secret, "Content-Type", "application/x-www-form-urlencoded"}, 415, "not JSON"},
		{"text", "POST", "/hooks/okta", valid, []string{"Authorization", secret, "Content-Type", "text/plain"},
			415, "not JSON"},
		{"no content type", "POST", "/hooks/okta", valid, []string{"Authorization", secret}, 415,
			"missing Content-Type"},
		{"brotli", "POST", "/hooks/okta", valid,
			[]string{"Authorization", secret, "Content-Type", json, "Content-Encoding", "br"}, 415,
			"Content-Encoding"},
		{"over the source limit", "POST", "/hooks/org2", testcorpus.Envelope(strings.Repeat("x", 5000)),
			[]string{"X-Hook-Secret", oldSecret, "Content-Type", json}, 413, "4096-byte limit"},
		{"gzip expanding over the limit", "POST", "/hooks/org2",
			gz(t, testcorpus.Envelope(strings.Repeat("x", 50000))),
			[]string{"X-Hook-Secret", oldSecret, "Content-Type", json, "Content-Encoding", "gzip"}, 413, "limit"},
		{"corrupt gzip", "POST", "/hooks/okta", []byte("\x1f\x8b\x08\x00garbage"),
			[]string{"Authorization", secret, "Content-Type", json, "Content-Encoding", "gzip"}, 400, "gzip"},
		{"empty body", "POST", "/hooks/okta", nil, []string{"Authorization", secret, "Content-Type", json},
			400, "body is empty"},
		{"not json", "POST", "/hooks/okta", []byte("hello"), []string{"Authorization", secret, "Content-Type", json},
			400, "not valid JSON"},
		{"truncated", "POST", "/hooks/okta", valid[:len(valid)/2],
			[]string{"Authorization", secret, "Content-Type", json}, 400, "not valid JSON"},
		{"top-level array", "POST", "/hooks/okta", []byte("[" + oneEvent + "]"),
			[]string{"Authorization", secret, "Content-Type", json}, 400, "JSON array"},
		{"a string", "POST", "/hooks/okta", []byte(`"x"`), []string{"Authorization", secret, "Content-Type", json},
			400, "JSON string"},
		{"no data", "POST", "/hooks/okta", []byte(`{"eventType":"com.okta.event_hook"}`),
			[]string{"Authorization", secret, "Content-Type", json}, 400, "no data member"},
		{"data not an object", "POST", "/hooks/okta", []byte(`{"data":[]}`),
			[]string{"Authorization", secret, "Content-Type", json}, 400, "data is a JSON array"},
		{"no events", "POST", "/hooks/okta", []byte(`{"data":{}}`),
			[]string{"Authorization", secret, "Content-Type", json}, 400, "no data.events"},
		{"events not an array", "POST", "/hooks/okta", []byte(`{"data":{"events":{}}}`),
			[]string{"Authorization", secret, "Content-Type", json}, 400, "data.events is a JSON object"},
		{"bad escape", "POST", "/hooks/okta", []byte(`{"data":{"events":[]},"x":"\q"}`),
			[]string{"Authorization", secret, "Content-Type", json}, 400, "not valid JSON"},
		{"NaN", "POST", "/hooks/okta", []byte(`{"data":{"events":[]},"x":NaN}`),
			[]string{"Authorization", secret, "Content-Type", json}, 400, "not valid JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := h.do(c.method, c.path, c.body, c.headers...)
			if resp.status != c.status {
				t.Fatalf("status %d, want %d; body %q", resp.status, c.status, resp.body)
			}
			if !strings.Contains(resp.body, c.contains) {
				t.Errorf("body %q does not say %q", resp.body, c.contains)
			}
			if c.status != 200 && strings.Count(strings.TrimSpace(resp.body), "\n") != 0 {
				t.Errorf("error body is not one line: %q", resp.body)
			}
			if c.status == 200 && resp.body != "" {
				t.Errorf("200 with a body: %q", resp.body)
			}
			if c.status == 405 && resp.header.Get("Allow") != "GET, POST" {
				t.Errorf("Allow = %q", resp.header.Get("Allow"))
			}
			if strings.Contains(resp.body, secret) || strings.Contains(resp.body, oldSecret) {
				t.Errorf("a response body reveals a secret: %q", resp.body)
			}
		})
	}
	// Three deliveries held the same event: plain, charset, gzip. Kafka has
	// it once; the two repeats were dropped as duplicates.
	h.noMoreRecords(h.events, 1)
	if got := h.metric("hookbridge_duplicates_total", "source", "okta"); got != 2 {
		t.Errorf("duplicates = %v, want 2", got)
	}
	if got := h.metric("hookbridge_requests_total", "source", "okta", "status", "401"); got != 4 {
		t.Errorf("401 count = %v, want 4", got)
	}
}

func TestVerification(t *testing.T) {
	h := newHarness(t, nil)
	challenge := `k3Fake"Challenge\Value_9xQ é`
	resp := h.do("GET", "/hooks/okta", nil, "Authorization", secret, "x-okta-verification-challenge", challenge)
	if resp.status != 200 {
		t.Fatalf("status %d: %s", resp.status, resp.body)
	}
	if ct := resp.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if want := `{"verification":"k3Fake\"Challenge\\Value_9xQ é"}`; resp.body != want {
		t.Errorf("body %s, want %s", resp.body, want)
	}

	resp = h.do("GET", "/hooks/okta", nil, "Authorization", secret)
	if resp.status != 400 || !strings.Contains(resp.body, "X-Okta-Verification-Challenge") {
		t.Errorf("no challenge: %d %q", resp.status, resp.body)
	}
	resp = h.do("GET", "/hooks/okta", nil, "Authorization", "wrong", "X-Okta-Verification-Challenge", "abc")
	if resp.status != 401 || resp.body != "unauthorized\n" || strings.Contains(resp.body, "abc") {
		t.Errorf("bad auth: %d %q", resp.status, resp.body)
	}
	resp = h.do("GET", "/hooks/okta", nil, "X-Okta-Verification-Challenge", "abc")
	if resp.status != 401 {
		t.Errorf("no auth: %d %q", resp.status, resp.body)
	}
}

func TestSecretRotation(t *testing.T) {
	h := newHarness(t, nil)
	post := func(name, value string) int {
		body := testcorpus.Envelope("rot", []byte(strings.Replace(oneEvent, "5555\"", value[len(value)-3:]+"\"", 1)))
		return h.do("POST", "/hooks/org2", body, name, value, "Content-Type", "application/json").status
	}
	if s := post("X-Hook-Secret", oldSecret); s != 200 {
		t.Errorf("old secret: %d", s)
	}
	if s := post("x-hook-secret", newSecret); s != 200 {
		t.Errorf("new secret, lower-case header name: %d", s)
	}
	if s := post("X-Hook-Secret", secret); s != 401 {
		t.Errorf("another source's secret: %d", s)
	}
	if s := post("Authorization", oldSecret); s != 401 {
		t.Errorf("right secret in the wrong header: %d", s)
	}
	for _, r := range h.records(h.events, 2) {
		if header(r, "hookbridge-source") != "org2" {
			t.Errorf("source header %q", header(r, "hookbridge-source"))
		}
	}
}

// TestBodyOverServerLimit announces a body larger than any source takes: the
// server answers 413 from the headers alone, without reading the body.
func TestBodyOverServerLimit(t *testing.T) {
	h := newHarness(t, nil)
	conn, err := net.Dial("tcp", h.svc.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "POST /hooks/okta HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n", secret, 9<<20)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 413 || !strings.Contains(string(body), "size limit") {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
}

// TestSanitizedBodies sends invalid UTF-8 and a lone surrogate: the events
// are stored with U+FFFD, and a clean delivery after them is unaffected.
func TestSanitizedBodies(t *testing.T) {
	h := newHarness(t, nil)
	dirty := []byte(`{"uuid":"s1","published":"2026-01-02T03:04:05.678Z","displayMessage":"a` +
		"\xff" + `b \ud800 c"}`)
	if resp := h.post(testcorpus.Envelope("dirty", dirty)); resp.status != 200 {
		t.Fatalf("status %d: %s", resp.status, resp.body)
	}
	if resp := h.post(testcorpus.Envelope("clean", []byte(oneEvent))); resp.status != 200 {
		t.Fatalf("status %d: %s", resp.status, resp.body)
	}
	rs := h.records(h.events, 2)
	if got := string(decode(t, rs[0])); !strings.Contains(got, `"displayMessage":"a\uFFFDb \uFFFD c"`) &&
		!strings.Contains(got, "\"displayMessage\":\"a\uFFFDb \uFFFD c\"") {
		t.Errorf("dirty event stored as %s", got)
	}
	if ok, why := testcorpus.Equal(decode(t, rs[1]), []byte(oneEvent)); !ok {
		t.Errorf("clean event after a dirty one: %s", why)
	}
}
