package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// kafkaCtl starts, kills, pauses and resumes the Kafka the fault tests run
// against: Apache Kafka through deploy/kafka/kafka.sh when
// HOOKBRIDGE_TEST_KAFKA_CTL names that script (with HOOKBRIDGE_TEST_BROKERS),
// otherwise the development broker in a process of its own.
type kafkaCtl interface {
	addr() string
	kill()
	start()
	pause()
	resume()
}

func newKafkaCtl(t *testing.T) kafkaCtl {
	if script := os.Getenv("HOOKBRIDGE_TEST_KAFKA_CTL"); script != "" {
		return &apacheKafka{t: t, script: script, brokers: os.Getenv("HOOKBRIDGE_TEST_BROKERS")}
	}
	k := &brokerProc{t: t, listen: fmt.Sprintf("127.0.0.1:%d", freePort(t)), dir: t.TempDir()}
	k.start()
	t.Cleanup(k.stop)
	return k
}

// brokerProc is "hookbridge broker" in a child process.
type brokerProc struct {
	t           *testing.T
	listen, dir string
	cmd         *exec.Cmd
	done        chan struct{}
}

func (k *brokerProc) addr() string { return k.listen }

func (k *brokerProc) start() {
	k.t.Helper()
	k.cmd = command(k.t, "broker", "--listen", k.listen, "--data-dir", k.dir)
	if err := k.cmd.Start(); err != nil {
		k.t.Fatal(err)
	}
	cmd, done := k.cmd, make(chan struct{})
	k.done = done
	go func() { _ = cmd.Wait(); close(done) }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", k.listen, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	k.t.Fatalf("broker not listening on %s", k.listen)
}

func (k *brokerProc) kill() {
	_ = k.cmd.Process.Signal(syscall.SIGKILL)
	<-k.done
}

func (k *brokerProc) pause()  { _ = k.cmd.Process.Signal(syscall.SIGSTOP) }
func (k *brokerProc) resume() { _ = k.cmd.Process.Signal(syscall.SIGCONT) }

func (k *brokerProc) stop() {
	_ = k.cmd.Process.Signal(syscall.SIGCONT)
	_ = k.cmd.Process.Signal(syscall.SIGKILL)
	<-k.done
}

// apacheKafka drives the broker of deploy/kafka/kafka.sh.
type apacheKafka struct {
	t       *testing.T
	script  string
	brokers string
}

func (k *apacheKafka) addr() string { return strings.Split(k.brokers, ",")[0] }
func (k *apacheKafka) kill()        { k.run("kill") }
func (k *apacheKafka) start()       { k.run("start") }
func (k *apacheKafka) pause()       { k.run("pause") }
func (k *apacheKafka) resume()      { k.run("resume") }

func (k *apacheKafka) run(verb string) {
	k.t.Helper()
	out, err := exec.Command("bash", k.script, verb).CombinedOutput()
	if err != nil {
		k.t.Fatalf("kafka.sh %s: %v\n%s", verb, err, out)
	}
}

// load posts deliveries of two events with unique uuids from two workers
// until stopped, and remembers every uuid of every delivery answered 200.
type load struct {
	in      *instance
	prefix  string
	mu      sync.Mutex
	acked   []string
	status  map[int]int
	stop    chan struct{}
	stopped sync.WaitGroup
	pad     string
}

func startLoad(in *instance, prefix string, padBytes int) *load {
	l := &load{in: in, prefix: prefix, status: map[int]int{}, stop: make(chan struct{}),
		pad: strings.Repeat("x", padBytes)}
	for w := range 2 {
		l.stopped.Add(1)
		go l.worker(w)
	}
	return l
}

func (l *load) worker(w int) {
	defer l.stopped.Done()
	for i := 0; i < 100000; i++ {
		select {
		case <-l.stop:
			return
		default:
		}
		uuids := []string{fmt.Sprintf("%s-%d-%d-a", l.prefix, w, i), fmt.Sprintf("%s-%d-%d-b", l.prefix, w, i)}
		var evs []string
		for _, u := range uuids {
			evs = append(evs, fmt.Sprintf(`{"uuid":%q,"published":"2026-01-02T03:04:05.678Z",`+
				`"eventType":"user.session.start","displayMessage":%q}`, u, l.pad))
		}
		body := fmt.Sprintf(`{"eventId":"%s-%d-%d","data":{"events":[%s]}}`, l.prefix, w, i, strings.Join(evs, ","))
		status, err := l.in.post([]byte(body))
		if err != nil {
			time.Sleep(50 * time.Millisecond) // hookbridge is down; keep trying
			continue
		}
		l.mu.Lock()
		l.status[status]++
		if status == 200 {
			l.acked = append(l.acked, uuids...)
		}
		l.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
}

func (l *load) end() ([]string, map[int]int) {
	close(l.stop)
	l.stopped.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.acked...), l.status
}

// metric reads one unlabelled metric from the instance's /metrics.
func (in *instance) metric(t *testing.T, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + in.ops + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		var v float64
		if strings.HasPrefix(line, name+" ") {
			fmt.Sscanf(line[len(name)+1:], "%g", &v)
			return v
		}
	}
	return 0
}

// waitDrained waits until the instance's spool is empty.
func (in *instance) waitDrained(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + in.ops + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), "\nhookbridge_spool_records 0\n") {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("spool not drained within 90s")
}

// verify reads topic and checks every acknowledged uuid is there.
func verify(t *testing.T, brokers, topic string, acked []string, statuses map[int]int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(brokers, ",")...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	found := map[string]int{}
	total := 0
	quiet := 0
	deadline := time.Now().Add(60 * time.Second)
	for quiet < 3 && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		if fs.NumRecords() == 0 {
			quiet++
		}
		fs.EachRecord(func(r *kgo.Record) {
			found[string(r.Key)]++
			total++
		})
	}
	lost := 0
	for _, u := range acked {
		if found[u] == 0 {
			lost++
		}
	}
	fmt.Printf("acknowledged=%d found=%d lost=%d duplicates=%d\n", len(acked), len(found), lost, total-len(found))
	t.Logf("statuses %v", statuses)
	for s := range statuses {
		if s != 200 && s != 503 {
			t.Errorf("status %d answered during the fault", s)
		}
	}
	if lost > 0 {
		t.Fatalf("%d acknowledged events lost", lost)
	}
	if len(acked) == 0 {
		t.Fatal("nothing was acknowledged; the test needs load")
	}
}

func faultTopic(t *testing.T) string {
	return fmt.Sprintf("faults-%s-%d", strings.ToLower(t.Name()[len("TestFault"):]), time.Now().UnixNano()%1e9)
}

// TestFaultBrokerKilled kills the broker with SIGKILL under load and starts
// it again: deliveries in between are spooled, nothing acknowledged is lost.
func TestFaultBrokerKilled(t *testing.T) {
	k := newKafkaCtl(t)
	topic := faultTopic(t)
	in := newInstanceWith(t, instanceOpts{brokers: []string{k.addr()}, topic: topic, budget: "1s"})
	in.start()
	l := startLoad(in, "bk", 100)
	time.Sleep(time.Second)
	k.kill()
	time.Sleep(2 * time.Second)
	if in.metric(t, "hookbridge_spooled_total") == 0 {
		t.Error("nothing was spooled while the broker was down")
	}
	k.start()
	time.Sleep(2 * time.Second)
	acked, statuses := l.end()
	in.waitDrained(t)
	verify(t, k.addr(), topic, acked, statuses)
}

// TestFaultBrokerPaused stops the broker (SIGSTOP) for longer than the
// response budget, then resumes it.
func TestFaultBrokerPaused(t *testing.T) {
	k := newKafkaCtl(t)
	topic := faultTopic(t)
	in := newInstanceWith(t, instanceOpts{brokers: []string{k.addr()}, topic: topic, budget: "1s"})
	in.start()
	l := startLoad(in, "bp", 100)
	time.Sleep(time.Second)
	k.pause()
	time.Sleep(3 * time.Second)
	if in.metric(t, "hookbridge_spooled_total") == 0 {
		t.Error("nothing was spooled while the broker was paused")
	}
	k.resume()
	time.Sleep(2 * time.Second)
	acked, statuses := l.end()
	in.waitDrained(t)
	verify(t, k.addr(), topic, acked, statuses)
}

// TestFaultBridgeKilledWithSpool fills the spool while the broker is paused,
// kills hookbridge with SIGKILL, resumes the broker and restarts hookbridge:
// the spool is replayed and nothing acknowledged is lost.
func TestFaultBridgeKilledWithSpool(t *testing.T) {
	k := newKafkaCtl(t)
	topic := faultTopic(t)
	in := newInstanceWith(t, instanceOpts{brokers: []string{k.addr()}, topic: topic, budget: "1s"})
	in.start()
	l := startLoad(in, "hk", 100)
	time.Sleep(time.Second)
	k.pause()
	time.Sleep(3 * time.Second)
	if n := in.metric(t, "hookbridge_spool_records"); n == 0 {
		t.Fatal("the spool is empty before the kill; the test needs it full")
	}
	if err := in.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-in.exited
	k.resume()
	in.start()
	time.Sleep(2 * time.Second)
	acked, statuses := l.end()
	in.waitDrained(t)
	verify(t, k.addr(), topic, acked, statuses)
}

// TestFaultSpoolFull pauses the broker with a small spool: once it is full,
// deliveries get 503 (never a 4xx); everything answered 200 arrives.
func TestFaultSpoolFull(t *testing.T) {
	k := newKafkaCtl(t)
	topic := faultTopic(t)
	in := newInstanceWith(t, instanceOpts{brokers: []string{k.addr()}, topic: topic, budget: "1s",
		spoolMax: "1MiB"})
	in.start()
	l := startLoad(in, "sf", 20<<10)
	time.Sleep(time.Second)
	k.pause()
	time.Sleep(4 * time.Second)
	k.resume()
	time.Sleep(2 * time.Second)
	acked, statuses := l.end()
	in.waitDrained(t)
	if statuses[503] == 0 {
		t.Errorf("the spool never filled up: statuses %v", statuses)
	}
	verify(t, k.addr(), topic, acked, statuses)
}
