package bench

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fastjson"
)

// recordingTarget is an in-process endpoint that answers 200 to everything
// and keeps a copy of every body, for tests that check what was sent rather
// than how much. bodies may be called once Run has returned.
func recordingTarget(t *testing.T) (url string, bodies func() []string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu  sync.Mutex
		got []string // guarded by mu
	)
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		// string() copies: fasthttp reuses the body after the handler.
		body := string(ctx.PostBody())
		mu.Lock()
		got = append(got, body)
		mu.Unlock()
	}}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return "http://" + ln.Addr().String() + "/hooks/okta", func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

func TestReplaySendsTheFilesInTurn(t *testing.T) {
	url, bodies := recordingTarget(t)
	replay := []Delivery{
		{Name: "one", Body: []byte(`{"data":{"events":[{"uuid":"1"}]}}`), Events: 1},
		{Name: "two", Body: []byte(`{"data":{"events":[{},{}]}}`), Events: 2},
		{Name: "four", Body: []byte(`{"data":{"events":[{},{},{},{}]}}`), Events: 4},
		{Name: "junk", Body: []byte(`not json`), Events: 0},
	}
	events := map[string]int{}
	for _, d := range replay {
		events[string(d.Body)] = d.Events
	}
	// Events is left 0: replay needs no generated deliveries.
	res, err := Run(context.Background(), LoadConfig{
		URL: url, Connections: 2, Replay: replay, Duration: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}

	got := bodies()
	if int64(len(got)) != res.Requests || res.Requests < int64(len(replay)) {
		t.Fatalf("server got %d bodies, Run measured %d requests", len(got), res.Requests)
	}
	sent := map[string]int{}
	wantEvents := int64(0)
	for _, b := range got {
		n, ok := events[b]
		if !ok {
			t.Fatalf("server got a body that is none of the replayed ones: %.100q", b)
		}
		sent[b]++
		wantEvents += int64(n)
	}
	for _, d := range replay {
		if sent[string(d.Body)] == 0 {
			t.Errorf("delivery %s was never sent in %d requests", d.Name, len(got))
		}
	}
	if res.Events != wantEvents {
		t.Errorf("Result.Events = %d, the bodies sent carry %d", res.Events, wantEvents)
	}
	// 7 events over 4 deliveries is 1.75 a delivery: rounded, not truncated.
	if res.EventsPerReq != 2 {
		t.Errorf("Result.EventsPerReq = %d, want 2", res.EventsPerReq)
	}
}

// TestGeneratedDeliveriesNeverRepeatAUUID: templates are reused from
// request to request, so a fill that left any uuid in place would look to a
// bridge like a redelivery and be dropped by its dedup.
func TestGeneratedDeliveriesNeverRepeatAUUID(t *testing.T) {
	url, bodies := recordingTarget(t)
	var (
		mu    sync.Mutex
		acked = map[string]int{} // guarded by mu
	)
	// One event a delivery makes the templates few and the fills many.
	res, err := Run(context.Background(), LoadConfig{
		URL: url, Connections: 4, Events: 1, Duration: 300 * time.Millisecond,
		OnAck: func(uuids []string, _ time.Time) {
			mu.Lock()
			defer mu.Unlock()
			for _, u := range uuids {
				acked[u]++
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}

	got := bodies()
	if len(got) < 20 || int64(len(got)) != res.Requests {
		t.Fatalf("server got %d bodies, Run measured %d requests", len(got), res.Requests)
	}
	ids := map[string]bool{}    // eventIds and event uuids
	events := map[string]bool{} // event uuids only
	for i, b := range got {
		v, err := fastjson.Parse(b)
		if err != nil {
			t.Fatalf("body %d is not JSON: %v", i, err)
		}
		uuids := []string{string(v.GetStringBytes("eventId"))}
		for _, ev := range v.GetArray("data", "events") {
			u := string(ev.GetStringBytes("uuid"))
			uuids = append(uuids, u)
			events[u] = true
		}
		for _, u := range uuids {
			if ids[u] {
				t.Fatalf("body %d repeats uuid %q of an earlier request", i, u)
			}
			ids[u] = true
		}
	}

	// Every request was answered 200 within the measured run, so OnAck must
	// have reported exactly the event uuids the server received.
	if len(acked) != len(events) {
		t.Errorf("OnAck reported %d distinct uuids, the server got %d", len(acked), len(events))
	}
	for u, n := range acked {
		if !events[u] || n != 1 {
			t.Errorf("OnAck reported uuid %q %d times; the server got it: %v", u, n, events[u])
		}
	}
}
