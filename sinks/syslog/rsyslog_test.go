package syslog

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fastjson"

	"github.com/hookbridge/hookbridge/bench"
	"github.com/hookbridge/hookbridge/sinks"
	"github.com/hookbridge/hookbridge/sinks/syslog/rsyslogtest"
)

const (
	evilActor    = `Eve "the \quoter\" [admin] ]]`
	eventsPerRun = 50
)

func TestRsyslog(t *testing.T) {
	r := rsyslogtest.Start(t)
	for _, tc := range []struct {
		name string
		seed uint64
		c    Config
	}{
		{"tcp", 1, Config{Address: r.TCPAddr}},
		{"tls", 2, Config{Address: r.TLSAddr, TLS: true, CAFile: r.CAFile}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.Hostname, tc.c.AppName = "bridge.example.test", "hookbridge-test"
			events, oversize := rsyslogEvents(t, tc.seed)
			d, err := New("rsyslog-"+tc.name, tc.c)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			deliverConcurrently(t, d, events, oversize)

			raw := r.WaitLines(t, tc.name+".raw", len(events))
			checkReceived(t, raw, events)
			checkRsyslogFields(t, r.ReadLines(t, tc.name+".fields"), tc.c.Hostname, tc.c.AppName, events)
		})
	}

	// The receiver's certificate is not in the system roots: the handshake
	// fails, and the failure is retryable, never a delivered event.
	t.Run("tls-untrusted", func(t *testing.T) {
		d, err := New("rsyslog-untrusted", Config{Address: r.TLSAddr, TLS: true})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		events, _ := rsyslogEvents(t, 3)
		errs := d.Deliver(context.Background(), events[:1])
		var se *sinks.Error
		if errs[0] == nil || errors.As(errs[0], &se) && se.Permanent {
			t.Fatalf("error %v, want a retryable handshake failure", errs[0])
		}
		t.Logf("handshake error, as expected: %v", errs[0])
	})
}

// rsyslogEvents returns generated events, three with an actor name that
// needs every SD escape, and one event too large for the default cap.
func rsyslogEvents(t *testing.T, seed uint64) (events []sinks.Event, oversize sinks.Event) {
	t.Helper()
	g := bench.NewGenerator(seed)
	for i := range eventsPerRun {
		js := g.Event()
		if i%17 == 3 {
			js = setField(t, js, evilActor, "actor", "displayName")
		}
		events = append(events, toEvent(t, js))
	}
	pad := strings.Repeat("0123456789abcdef", DefaultMaxMessageBytes/16)
	oversize = toEvent(t, setField(t, g.Event(), pad, "debugContext", "padding"))
	return events, oversize
}

// deliverConcurrently delivers events in three batches at once, the
// oversize event in the middle one, and checks that only it failed, and
// permanently.
func deliverConcurrently(t *testing.T, d sinks.Destination, events []sinks.Event, oversize sinks.Event) {
	t.Helper()
	batches := [][]sinks.Event{events[:20], append(append([]sinks.Event{}, events[20:35]...), oversize), events[35:]}
	var wg sync.WaitGroup
	results := make([][]error, len(batches))
	for i, b := range batches {
		wg.Go(func() { results[i] = d.Deliver(context.Background(), b) })
	}
	wg.Wait()
	for i, errs := range results {
		for j, err := range errs {
			ev := batches[i][j]
			var se *sinks.Error
			switch {
			case ev.UUID == oversize.UUID:
				if !errors.As(err, &se) || !se.Permanent || !errors.Is(err, ErrTooLarge) {
					t.Errorf("oversize event: error %v, want permanent ErrTooLarge", err)
				}
			case err != nil:
				t.Errorf("event %s: %v", ev.UUID, err)
			}
		}
	}
}

// checkReceived parses every message rsyslog wrote and compares it with the
// event sent: header, structured data, and the JSON, member by member.
func checkReceived(t *testing.T, lines []string, events []sinks.Event) {
	t.Helper()
	byUUID := map[string]sinks.Event{}
	for _, ev := range events {
		byUUID[ev.UUID] = ev
	}
	seen := map[string]bool{}
	evil := 0
	for _, line := range lines {
		p, err := parseMessage(line)
		if err != nil {
			t.Errorf("rsyslog received an unparsable message: %.300v", err)
			continue
		}
		uuid := p.params["uuid"]
		ev, ok := byUUID[uuid]
		if !ok || seen[uuid] {
			t.Errorf("unexpected or duplicate message for uuid %q", uuid)
			continue
		}
		seen[uuid] = true
		fields := eventFields(t, ev.JSON)
		want := map[string]string{"uuid": ev.UUID, "eventType": fields["eventType"],
			"actor": fields["actor"], "outcome": fields["outcome"]}
		if p.pri != 182 || p.version != 1 || p.sdID != "okta@32473" || p.proc != "-" ||
			p.timestamp != ev.Published.Format(timestampLayout) ||
			p.msgID != string(appendHeaderField(nil, fields["eventType"], maxMsgID)) ||
			!reflect.DeepEqual(p.params, dropEmpty(want)) {
			t.Errorf("event %s: header or SD differ: %+v, want params %v", uuid, p, want)
		}
		if fields["actor"] == evilActor {
			evil++
		}
		if !sameJSON(t, []byte(p.msg), ev.JSON) {
			t.Errorf("event %s: MSG is not the event JSON:\n got %.300s\nwant %.300s", uuid, p.msg, ev.JSON)
		}
	}
	if len(seen) != len(events) || evil != 3 {
		t.Errorf("received %d of %d events, %d of 3 with the escaped actor", len(seen), len(events), evil)
	}
}

// checkRsyslogFields checks rsyslog's own parse of the messages: the
// header read as RFC 5424 (not BSD syslog), and the structured data element
// ending where it should, with every escaped value intact.
func checkRsyslogFields(t *testing.T, lines []string, host, app string, events []sinks.Event) {
	t.Helper()
	want := map[string]map[string]string{}
	for _, ev := range events {
		f := eventFields(t, ev.JSON)
		want[ev.UUID] = dropEmpty(map[string]string{"uuid": ev.UUID, "eventType": f["eventType"],
			"actor": f["actor"], "outcome": f["outcome"]})
	}
	for _, line := range lines {
		f := strings.SplitN(line, "|", 6)
		if len(f) != 6 || f[0] != "182" || f[1] != host || f[2] != app || f[3] != "-" || f[4] == "-" {
			t.Errorf("rsyslog parsed the header as %.300q", line)
			continue
		}
		var p parsed
		rest, err := p.parseSD(f[5])
		if err != nil || rest != "" || !reflect.DeepEqual(p.params, want[p.params["uuid"]]) {
			t.Errorf("rsyslog parsed the structured data as %q (%v)", f[5], err)
		}
	}
	if len(lines) != len(events) {
		t.Errorf("rsyslog parsed %d messages, want %d", len(lines), len(events))
	}
}

// toEvent builds the sinks.Event of a JSON event as the sink runtime does.
func toEvent(t *testing.T, js []byte) sinks.Event {
	t.Helper()
	v := fastjson.MustParseBytes(js)
	published, err := time.Parse(time.RFC3339Nano, string(v.GetStringBytes("published")))
	if err != nil {
		t.Fatalf("published: %v", err)
	}
	return sinks.Event{JSON: js, UUID: string(v.GetStringBytes("uuid")), Published: published.UTC()}
}

// setField sets the string at path in the JSON object js.
func setField(t *testing.T, js []byte, value string, path ...string) []byte {
	t.Helper()
	v := fastjson.MustParseBytes(js)
	var a fastjson.Arena
	parent := v.Get(path[:len(path)-1]...)
	if parent == nil {
		parent = a.NewObject()
		v.Set(path[0], parent)
	}
	parent.Set(path[len(path)-1], a.NewString(value))
	return v.MarshalTo(nil)
}

// eventFields reads what the structured data should carry.
func eventFields(t *testing.T, js []byte) map[string]string {
	t.Helper()
	v := fastjson.MustParseBytes(js)
	actor := string(v.GetStringBytes("actor", "displayName"))
	if actor == "" {
		actor = string(v.GetStringBytes("actor", "alternateId"))
	}
	return map[string]string{"eventType": string(v.GetStringBytes("eventType")), "actor": actor,
		"outcome": string(v.GetStringBytes("outcome", "result"))}
}

func dropEmpty(m map[string]string) map[string]string {
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
	return m
}

// sameJSON compares two JSON texts as values.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Errorf("decode received JSON: %v", err)
		return false
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("decode sent JSON: %v", err)
	}
	return reflect.DeepEqual(va, vb)
}
