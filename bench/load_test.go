package bench

import (
	"context"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fastjson"
)

// target is an in-process endpoint that counts deliveries and answers 503
// to every fifth request.
func target(t *testing.T) (string, *atomic.Int64, *sync.Map) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	var seen sync.Map
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Request.Header.Peek("Authorization")) != "s" {
			ctx.SetStatusCode(401)
			return
		}
		i := n.Add(1)
		v, err := fastjson.ParseBytes(ctx.PostBody())
		if err != nil {
			ctx.SetStatusCode(400)
			return
		}
		for _, ev := range v.GetArray("data", "events") {
			seen.Store(string(ev.GetStringBytes("uuid")), true)
		}
		if i%5 == 0 {
			ctx.SetStatusCode(503)
		}
	}}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return "http://" + ln.Addr().String() + "/hooks/okta", &n, &seen
}

func TestClosedLoopCountsWhatTheServerSaw(t *testing.T) {
	url, served, seen := target(t)
	var acked atomic.Int64
	var progress strings.Builder
	res, err := Run(context.Background(), LoadConfig{
		URL: url, AuthHeader: "Authorization", Secret: "s", Connections: 4, Events: 3,
		Duration: 1500 * time.Millisecond, Progress: &progress,
		OnAck: func(uuids []string, _ time.Time) {
			for _, u := range uuids {
				if _, ok := seen.Load(u); !ok {
					t.Errorf("acked uuid %s never reached the server", u)
				}
			}
			acked.Add(int64(len(uuids)))
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Requests != served.Load() {
		t.Fatalf("measured %d requests, the server answered %d", res.Requests, served.Load())
	}
	if res.Status[200]+res.Status[503] != res.Requests || res.Status[503] == 0 {
		t.Errorf("status counts %v for %d requests", res.Status, res.Requests)
	}
	if acked.Load() != 3*res.Status[200] {
		t.Errorf("OnAck saw %d uuids, want 3 per 200 (%d)", acked.Load(), res.Status[200])
	}
	// Events counts what the target took: those of the 200s, not the 503s.
	if res.Events != 3*res.Status[200] || res.Latency.P50 <= 0 || res.Latency.Max < res.Latency.P99 {
		t.Errorf("result %+v", res)
	}
	if !strings.Contains(progress.String(), "req/s") {
		t.Errorf("no progress line: %q", progress.String())
	}
}

func TestOpenLoopKeepsItsRate(t *testing.T) {
	url, served, _ := target(t)
	res, err := Run(context.Background(), LoadConfig{
		URL: url, AuthHeader: "Authorization", Secret: "s", Connections: 8, Events: 1,
		Rate: 200, Warmup: 200 * time.Millisecond, Duration: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	// 200/s for 1.2 s schedules about 240 requests in all; the bound is loose,
	// it checks the scheduler neither stalls nor floods.
	if total := served.Load(); total < 100 || total > 300 {
		t.Errorf("served %d requests at 200/s over 1.2 s", total)
	}
	if res.Mode != "open" || res.TargetRate != 200 {
		t.Errorf("result %+v", res)
	}
}

func TestDuplicatesResendEarlierDeliveries(t *testing.T) {
	url, served, seen := target(t)
	res, err := Run(context.Background(), LoadConfig{
		URL: url, AuthHeader: "Authorization", Secret: "s", Connections: 2, Events: 2,
		DuplicateRatio: 0.5, Duration: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	unique := 0
	seen.Range(func(any, any) bool { unique++; return true })
	if int64(unique) >= 2*served.Load() || res.Requests == 0 {
		t.Errorf("%d unique uuids in %d requests of 2 events: no duplicates were sent", unique, served.Load())
	}
}

func TestReadProcOfItself(t *testing.T) {
	before, err := ReadProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	end := time.Now().Add(200 * time.Millisecond)
	for time.Now().Before(end) {
	}
	after, err := ReadProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	d := after.Since(before, 200*time.Millisecond)
	if d.CPUSeconds <= 0 || after.PeakRSSMiB <= 1 {
		t.Fatalf("stats %+v after %+v", d, after)
	}
	if _, err := ReadProc(-1); err == nil {
		t.Fatal("a missing process gave no error")
	}
}

func TestSweepStopsAtSaturationAndCharts(t *testing.T) {
	url, _, _ := target(t) // answers 503 to every fifth request: saturated at once
	results, err := Sweep(context.Background(), LoadConfig{
		URL: url, AuthHeader: "Authorization", Secret: "s", Connections: 4, Events: 1,
		Duration: 300 * time.Millisecond,
	}, SweepConfig{Start: 50, Steps: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || !Saturated(results[0]) {
		t.Fatalf("%d runs; a target refusing 20%% must count as saturated at once", len(results))
	}
	ok := &Result{Requests: 10, RequestsPerSec: 100, TargetRate: 100, Status: map[int]int64{200: 10},
		EventsPerSec: 100, EventsPerReq: 1, Latency: Latency{P50: 1, P99: 2}}
	more := *ok
	more.EventsPerSec, more.Latency = 150, Latency{P50: 2, P99: 9}
	if Saturated(ok) {
		t.Error("a run that kept its rate counted as saturated")
	}
	var svg strings.Builder
	if err := Chart(&svg, []*Result{ok, &more}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(svg.String(), "<svg") || !strings.Contains(svg.String(), "p99") {
		t.Errorf("chart: %.200s", svg.String())
	}
	// An axis without a series once put its labels at a coordinate of
	// minus 2^63.
	if strings.Contains(svg.String(), "-92233720368547") {
		t.Error("chart draws labels far off the page")
	}
}

// TestTable prints every percentile, in order, under its heading.
func TestTable(t *testing.T) {
	r := &Result{Mode: "open", Connections: 8, EventsPerReq: 10, RequestsPerSec: 100,
		EventsPerSec: 1000, MBPerSec: 2.5, Status: map[int]int64{200: 5},
		Latency: Latency{P50: 1.25, P90: 2.5, P99: 3.75, P999: 5, Max: 6.25}}
	lines := strings.Split(strings.TrimSpace(Table(r)), "\n")
	if len(lines) != 2 {
		t.Fatalf("table %q: want a heading and one row", lines)
	}
	if !strings.Contains(lines[0], "p50 ms   p90 ms   p99 ms    p99.9   max ms errors") ||
		!strings.Contains(strings.Join(strings.Fields(lines[1]), " "), "1.25 2.50 3.75 5.00 6.25 0") {
		t.Errorf("table:\n%s\nwant p50, p90, p99, p99.9 and max in order", strings.Join(lines, "\n"))
	}
}

// TestRunCountsErrors runs against a port nothing listens on: every request
// is an error, the last reason is kept, and the loop does not spin.
func TestRunCountsErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	res, err := Run(context.Background(), LoadConfig{URL: "http://" + addr + "/hooks/okta",
		Connections: 2, Events: 1, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors == 0 || res.Errors != res.Requests || res.LastError == "" || res.Events != 0 {
		t.Fatalf("errors %d of %d requests, last %q, events %d", res.Errors, res.Requests,
			res.LastError, res.Events)
	}
	// Each sender pauses 10 ms after an error: two senders in 300 ms make
	// at most about 60 attempts, where a spinning loop makes thousands.
	if res.Requests > 200 {
		t.Errorf("%d attempts in 300 ms: the loop spins on errors", res.Requests)
	}
}

// TestRoundTicks: the chart's throughput axis runs from 0 in round steps
// just past the largest value, at most ten of them.
func TestRoundTicks(t *testing.T) {
	f := func(top float64, want string) {
		t.Helper()
		var labels []string
		for _, tk := range roundTicks(top) {
			labels = append(labels, tk.Label)
		}
		if got := strings.Join(labels, " "); got != want {
			t.Errorf("roundTicks(%v) = %s, want %s", top, got, want)
		}
	}
	f(7, "0 1 2 3 4 5 6 7")
	f(95, "0 10 20 30 40 50 60 70 80 90 100")
	f(154408, "0 20k 40k 60k 80k 100k 120k 140k 160k")
	f(2500, "0 500 1k 1.5k 2k 2.5k")
}
