package syslog

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fastjson"

	"github.com/hookbridge/hookbridge/sinks"
)

// sampleJSON is the sample event of the sink spec, §0.
const sampleJSON = `{"uuid":"6f1e2c3a-0b7d-4c55-9e1a-2d3f4a5b6c7d","published":"2024-05-01T12:34:56.789Z",` +
	`"eventType":"user.authentication.sso","severity":"INFO","displayMessage":"User single sign on to app",` +
	`"actor":{"id":"00ufake000001","type":"User","alternateId":"jane.doe@example.test",` +
	`"displayName":"Jane \"JD\" Doe"},"client":{"ipAddress":"198.51.100.23"},"outcome":{"result":"SUCCESS"},` +
	`"transaction":{"id":"Wfake0001","type":"WEB"}}`

func testConfig(t testing.TB) Config {
	t.Helper()
	c := Config{Address: "127.0.0.1:1", Hostname: "bridge.example.test", AppName: "okta-bridge"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

func format(t testing.TB, c *Config, ev sinks.Event) string {
	t.Helper()
	h := newHeader(c)
	var p fastjson.Parser
	return string(h.appendMessage(nil, &p, &ev))
}

func TestMessageGolden(t *testing.T) {
	c := testConfig(t)
	ev := sinks.Event{JSON: []byte(sampleJSON), UUID: "6f1e2c3a-0b7d-4c55-9e1a-2d3f4a5b6c7d",
		Published: time.Date(2024, 5, 1, 12, 34, 56, 789e6, time.UTC)}
	want := `<182>1 2024-05-01T12:34:56.789Z bridge.example.test okta-bridge - user.authentication.sso ` +
		`[okta@32473 uuid="6f1e2c3a-0b7d-4c55-9e1a-2d3f4a5b6c7d" eventType="user.authentication.sso" ` +
		`actor="Jane \"JD\" Doe" outcome="SUCCESS"] ` + sampleJSON
	if got := format(t, &c, ev); got != want {
		t.Errorf("message\n got %s\nwant %s", got, want)
	}
}

func TestMessageSparseEvent(t *testing.T) {
	c := testConfig(t)
	got := format(t, &c, sinks.Event{JSON: []byte(`{"actor":{"alternateId":"svc@example.test"}}`)})
	want := `<182>1 - bridge.example.test okta-bridge - - [okta@32473 actor="svc@example.test"] ` +
		`{"actor":{"alternateId":"svc@example.test"}}`
	if got != want {
		t.Errorf("message\n got %s\nwant %s", got, want)
	}
	got = format(t, &c, sinks.Event{JSON: []byte(`not json`)})
	if want := `<182>1 - bridge.example.test okta-bridge - - [okta@32473] not json`; got != want {
		t.Errorf("message\n got %s\nwant %s", got, want)
	}
}

func TestPRI(t *testing.T) {
	for _, tc := range []struct {
		facility, severity string
		want               int
	}{
		{"", "", 182}, // local6.info
		{"security", "info", 110},
		{"kern", "emerg", 0},
		{"local7", "debug", 191},
		{"AUTH", "Warning", 36},
	} {
		c := Config{Address: "127.0.0.1:1", Facility: tc.facility, Severity: tc.severity}
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		if got := c.pri(); got != tc.want {
			t.Errorf("%s.%s: PRI %d, want %d", tc.facility, tc.severity, got, tc.want)
		}
	}
}

func TestHeaderField(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"user.session.start", 32, "user.session.start"},
		{"", 32, "-"},
		{"has space\tand tab", 32, "has_space_and_tab"},
		{"héllo", 32, "h__llo"},
		{"del\x7fnul\x00", 32, "del_nul_"},
		{strings.Repeat("a", 40), 32, strings.Repeat("a", 32)},
		{"policy.evaluate_sign_on.very.long.event.type", maxMsgID, "policy.evaluate_sign_on.very.lon"},
	} {
		if got := string(appendHeaderField(nil, tc.in, tc.max)); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParamEscaping(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`plain`, `a="plain" `},
		{`Jane "JD" Doe`, `a="Jane \"JD\" Doe" `},
		{`back\slash`, `a="back\\slash" `},
		{`[bracket]`, `a="[bracket\]" `},
		{`=' '`, `a="=' '" `}, // nothing else is escaped
		{"new\nline\ttab", `a="new line tab" `},
		{"bad\xffutf8", "a=\"bad\uFFFDutf8\" "},
		{"名前", `a="名前" `},
		{"", ``},
	} {
		if got := string(appendParam(nil, "a", tc.in)); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParamRoundTrip(t *testing.T) {
	c := testConfig(t)
	name := `Mallory "]\[" O\'Brien]`
	js := `{"eventType":"user.session.start","actor":{"displayName":` + quote(name) + `}}`
	msg := format(t, &c, sinks.Event{JSON: []byte(js), UUID: "u-1"})
	p, err := parseMessage(msg)
	if err != nil {
		t.Fatal(err)
	}
	if p.params["actor"] != name || p.params["uuid"] != "u-1" || p.msg != js {
		t.Errorf("round trip: %+v", p)
	}
}

func TestTimestamp(t *testing.T) {
	for _, tc := range []struct {
		in   time.Time
		want string
	}{
		{time.Date(2024, 5, 1, 12, 34, 56, 789e6, time.UTC), "2024-05-01T12:34:56.789Z"},
		{time.Date(2024, 5, 1, 12, 34, 56, 0, time.UTC), "2024-05-01T12:34:56Z"},
		{time.Date(2024, 5, 1, 12, 34, 56, 123456789, time.UTC), "2024-05-01T12:34:56.123456Z"},
		{time.Date(2024, 5, 1, 14, 34, 56, 5e8, time.FixedZone("CEST", 2*3600)), "2024-05-01T12:34:56.5Z"},
	} {
		c := testConfig(t)
		p, err := parseMessage(format(t, &c, sinks.Event{JSON: []byte(`{}`), Published: tc.in}))
		if err != nil {
			t.Fatal(err)
		}
		if p.timestamp != tc.want {
			t.Errorf("%v: got %s, want %s", tc.in, p.timestamp, tc.want)
		}
	}
}

func TestJSONLine(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"a":1}`, `{"a":1}`},
		{"{\n  \"a\": 1\r\n}", `{   "a": 1  }`},
		{`{"a":"x\"\n"}`, `{"a":"x\"\n"}`}, // escapes inside strings stay
		{"{\"a\":\"raw\nline\x01\"}", `{"a":"raw\nline\u0001"}`},
		{`{"a":"\\"}` + "\n", `{"a":"\\"} `},
	} {
		if got := string(appendJSONLine(nil, []byte(tc.in))); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFrame(t *testing.T) {
	msg := []byte("<182>1 - h a - - [okta@32473] {\"n\":\"é\"}")
	got := string(appendFrame([]byte("x"), msg))
	if want := "x40 " + string(msg); got != want || len(msg) != 40 {
		t.Errorf("frame %q, want %q", got, want)
	}
}

func TestOversizeIsPermanent(t *testing.T) {
	c := Config{Address: "127.0.0.1:1", MaxMessageBytes: 1024}
	d, err := New("test", c)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	big := sinks.Event{UUID: "big", JSON: []byte(`{"pad":"` + strings.Repeat("x", 1024) + `"}`)}
	// Nothing listens at port 1: had it tried to send, the error would be
	// retryable, so a permanent error shows the event was refused up front.
	errs := d.Deliver(context.Background(), []sinks.Event{big})
	var se *sinks.Error
	if len(errs) != 1 || !errors.As(errs[0], &se) || !se.Permanent || !errors.Is(errs[0], ErrTooLarge) {
		t.Fatalf("errs %v, want one permanent ErrTooLarge", errs)
	}
}

func TestValidate(t *testing.T) {
	c := Config{Address: "127.0.0.1:514"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Facility != "local6" || c.Severity != "info" || c.AppName != "hookbridge" || c.Hostname == "" ||
		c.MaxMessageBytes != 8192 || c.WriteTimeout != 10*time.Second || c.EnterpriseID != 32473 {
		t.Errorf("defaults: %+v", c)
	}
	tlsConfig := Config{Address: "logs.example.test:6514", TLS: true}
	if err := tlsConfig.Validate(); err != nil || tlsConfig.ServerName != "logs.example.test" {
		t.Errorf("tls server name %q, err %v", tlsConfig.ServerName, err)
	}

	for _, tc := range []struct {
		key string
		c   Config
	}{
		{"syslog.address", Config{}},
		{"syslog.address", Config{Address: "no-port"}},
		{"syslog.ca_file", Config{Address: "h:1", CAFile: "/ca.pem"}},
		{"syslog.facility", Config{Address: "h:1", Facility: "local9"}},
		{"syslog.severity", Config{Address: "h:1", Severity: "loud"}},
		{"syslog.hostname", Config{Address: "h:1", Hostname: "two words"}},
		{"syslog.app_name", Config{Address: "h:1", AppName: strings.Repeat("a", 49)}},
		{"syslog.max_message_bytes", Config{Address: "h:1", MaxMessageBytes: 100}},
		{"syslog.write_timeout", Config{Address: "h:1", WriteTimeout: -time.Second}},
		{"syslog.enterprise_id", Config{Address: "h:1", EnterpriseID: -1}},
	} {
		err := tc.c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%+v: error %v, want one naming %s", tc.c, err, tc.key)
		}
	}
}

// quote returns s as a JSON string.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
