package syslog

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookbridge/hookbridge/sinks"
)

// receiver is a Go syslog listener on loopback that reads octet-counted
// frames and drops a connection after dropAfter of them (0: never), or,
// with read false, accepts connections and never reads.
type receiver struct {
	ln net.Listener

	mu     sync.Mutex
	frames []string      // every frame received, guarded by mu
	conns  int           // connections accepted, guarded by mu
	closed chan struct{} // closed when a connection was dropped on purpose
}

func newReceiver(t *testing.T, dropAfter int, read bool) *receiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{ln: ln, closed: make(chan struct{})}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		var once sync.Once
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			r.mu.Lock()
			r.conns++
			r.mu.Unlock()
			wg.Go(func() {
				defer conn.Close()
				if !read {
					// A receiver that stopped reading: hold the
					// connection open until the test ends.
					<-t.Context().Done()
					return
				}
				if r.serve(conn, dropAfter) {
					once.Do(func() { close(r.closed) })
				}
			})
		}
	})
	return r
}

// serve reads frames until EOF, or returns true after dropAfter frames.
func (r *receiver) serve(conn net.Conn, dropAfter int) bool {
	br := bufio.NewReader(conn)
	for n := 1; ; n++ {
		frame, err := readFrame(br)
		if err != nil {
			return false
		}
		r.mu.Lock()
		r.frames = append(r.frames, frame)
		r.mu.Unlock()
		if n == dropAfter {
			return true
		}
	}
}

func (r *receiver) received() (frames []string, conns int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.frames...), r.conns
}

// readFrame reads one RFC 6587 octet-counted frame.
func readFrame(br *bufio.Reader) (string, error) {
	lenText, err := br.ReadString(' ')
	if err != nil {
		return "", err
	}
	n, err := strconv.Atoi(strings.TrimSuffix(lenText, " "))
	if err != nil || n < 1 {
		return "", fmt.Errorf("bad frame length %q", lenText)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(br, buf); err != nil {
		return "", err
	}
	return string(buf), nil
}

func testEvents(n, padBytes int) []sinks.Event {
	events := make([]sinks.Event, n)
	pad := strings.Repeat("p", padBytes)
	for i := range events {
		uuid := fmt.Sprintf("uuid-%04d", i)
		events[i] = sinks.Event{UUID: uuid, Published: time.Unix(1714566896, 0),
			JSON: []byte(`{"uuid":"` + uuid + `","eventType":"user.session.start","pad":"` + pad + `"}`)}
	}
	return events
}

// TestReconnectAfterReceiverCloses checks that a batch sent after the
// receiver closed the connection (a restart, an idle timeout) goes out on a
// new connection instead of into the dead one.
func TestReconnectAfterReceiverCloses(t *testing.T) {
	r := newReceiver(t, 5, true)
	d, err := New("test", Config{Address: r.ln.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	events := testEvents(10, 10)
	for _, err := range d.Deliver(context.Background(), events[:5]) {
		if err != nil {
			t.Fatal(err)
		}
	}
	<-r.closed
	// The receiver's FIN is in our socket now; the probe before the next
	// batch must see it.
	for _, err := range d.Deliver(context.Background(), events[5:]) {
		if err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		frames, conns := r.received()
		if len(frames) == len(events) {
			if conns != 2 {
				t.Errorf("%d connections, want 2", conns)
			}
			for i, f := range frames {
				if p, err := parseMessage(f); err != nil || p.params["uuid"] != events[i].UUID {
					t.Errorf("frame %d: uuid %q, want %s (%v)", i, p.params["uuid"], events[i].UUID, err)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("received %d of %d events", len(frames), len(events))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWriteTimeoutIsBackpressure sends more than the socket buffers hold
// to a receiver that does not read: the write deadline must fire, the
// events not written must come back retryable with Backpressure, and the
// written ones as delivered.
func TestWriteTimeoutIsBackpressure(t *testing.T) {
	r := newReceiver(t, 0, false)
	d, err := New("test", Config{Address: r.ln.Addr().String(), WriteTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// 28 MB: far beyond loopback socket buffers.
	events := testEvents(4096, 7000)
	errs := d.Deliver(context.Background(), events)
	failed := 0
	for i, err := range errs {
		if err == nil {
			if failed > 0 {
				t.Fatalf("event %d delivered after a failed one", i)
			}
			continue
		}
		failed++
		var se *sinks.Error
		if !errors.As(err, &se) || se.Permanent || !se.Backpressure {
			t.Fatalf("event %d: %v, want retryable backpressure", i, err)
		}
	}
	if failed == 0 {
		t.Fatal("every event was written to a receiver that reads nothing")
	}
}

// TestCancelEndsBlockedWrite checks that a write blocked on a receiver
// that does not read ends with ctx, not only with write_timeout.
func TestCancelEndsBlockedWrite(t *testing.T) {
	r := newReceiver(t, 0, false)
	d, err := New("test", Config{Address: r.ln.Addr().String(), WriteTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	// Formatting 28 MB takes a while under -race; either way the errors
	// must be retryable without backpressure.
	time.AfterFunc(time.Second, cancel)
	failed := 0
	for i, err := range d.Deliver(ctx, testEvents(4096, 7000)) {
		var se *sinks.Error
		if err != nil && (!errors.As(err, &se) || se.Permanent || se.Backpressure) {
			t.Fatalf("event %d: %v, want retryable without backpressure", i, err)
		}
		if err != nil {
			failed++
		}
	}
	if failed == 0 {
		t.Fatal("every event was written to a receiver that reads nothing")
	}
}
