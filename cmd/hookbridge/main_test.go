package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMain lets tests run this test binary as the hookbridge command: with
// HOOKBRIDGE_TEST_MAIN=1 it runs main instead of the tests.
func TestMain(m *testing.M) {
	if os.Getenv("HOOKBRIDGE_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const testSecret = "cmd-test-secret-value"

// command returns the hookbridge command with args.
func command(t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "HOOKBRIDGE_TEST_MAIN=1", "HOOKBRIDGE_CMD_TEST_SECRET="+testSecret)
	return cmd
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// instance is a hookbridge serve process with its own ports and data.
type instance struct {
	t                testing.TB
	config           string
	http, ops, kafka string
	cmd              *exec.Cmd
	stderr           *syncBuffer
	exited           chan struct{} // closed when the process has exited
	exitErr          error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// instanceOpts change the test config; the zero value is an instance with
// its own embedded broker.
type instanceOpts struct {
	brokers  []string // external Kafka; none starts the embedded broker
	topic    string   // default okta.events
	budget   string   // server.response_budget, default 2.5s
	spoolMax string   // spool.max_bytes, default 1GiB
	sinkFile string   // a file sink writing here, when set
}

func newInstance(t testing.TB) *instance { return newInstanceWith(t, instanceOpts{}) }

func newInstanceWith(t testing.TB, o instanceOpts) *instance {
	t.Helper()
	dir := t.TempDir()
	in := &instance{
		t:      t,
		config: filepath.Join(dir, "hookbridge.yaml"),
		http:   fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		ops:    fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		kafka:  fmt.Sprintf("127.0.0.1:%d", freePort(t)),
	}
	if o.topic == "" {
		o.topic = "okta.events"
	}
	if o.budget == "" {
		o.budget = "2.5s"
	}
	if o.spoolMax == "" {
		o.spoolMax = "1GiB"
	}
	kafka := fmt.Sprintf("kafka:\n  embedded:\n    listen: %s\n    data_dir: %s\n    partitions: 1\n",
		in.kafka, filepath.Join(dir, "kafka"))
	if len(o.brokers) > 0 {
		in.kafka = o.brokers[0]
		kafka = fmt.Sprintf("kafka:\n  brokers: [%s]\n  topics:\n    partitions: 1\n",
			strings.Join(o.brokers, ", "))
	}
	if o.sinkFile != "" {
		kafka += fmt.Sprintf("sinks:\n  - name: file\n    type: file\n    path: %s\n    topics: [%s]\n",
			o.sinkFile, o.topic)
	}
	cfg := fmt.Sprintf(`server:
  listen: %s
  response_budget: %s
sources:
  - name: okta
    path: /hooks/okta
    secrets:
      - env: HOOKBRIDGE_CMD_TEST_SECRET
routing:
  default_topic: %s
  dead_letter_topic: %s.deadletter
%sspool:
  dir: %s
  max_bytes: %s
ops:
  listen: %s
log:
  level: debug
  format: json
`, in.http, o.budget, o.topic, o.topic, kafka, filepath.Join(dir, "spool"), o.spoolMax, in.ops)
	if err := os.WriteFile(in.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return in
}

// start runs serve and waits until /readyz answers 200.
func (in *instance) start() {
	in.t.Helper()
	in.cmd = command(in.t, "serve", "--config", in.config)
	in.stderr = &syncBuffer{}
	in.cmd.Stderr = in.stderr
	if err := in.cmd.Start(); err != nil {
		in.t.Fatal(err)
	}
	cmd, exited := in.cmd, make(chan struct{})
	in.exited = exited
	go func() {
		in.exitErr = cmd.Wait()
		close(exited)
	}()
	in.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + in.ops + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case <-in.exited:
			in.t.Fatalf("hookbridge exited: %v\n%s", in.exitErr, in.stderr)
		case <-time.After(100 * time.Millisecond):
		}
	}
	in.t.Fatalf("hookbridge not ready after 60s:\n%s", in.stderr)
}

func (in *instance) post(body []byte) (int, error) {
	req, err := http.NewRequest("POST", "http://"+in.http+"/hooks/okta", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", testSecret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// consume runs the consume command and returns its output lines.
func consumeLines(t testing.TB, args ...string) []string {
	t.Helper()
	cmd := command(t, append([]string{"consume"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("consume %v: %v\n%s", args, err, stderr.String())
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

func delivery(id string, uuids ...string) []byte {
	var evs []string
	for _, u := range uuids {
		evs = append(evs, fmt.Sprintf(`{"uuid":%q,"published":"2026-01-02T03:04:05.678Z",`+
			`"eventType":"user.lifecycle.create","actor":{"id":"00u1","type":"User","displayName":"Zoë"}}`, u))
	}
	return []byte(fmt.Sprintf(`{"eventType":"com.okta.event_hook","eventId":%q,"data":{"events":[%s]}}`,
		id, strings.Join(evs, ",")))
}

// TestKilledProcessLosesNothingAcknowledged posts deliveries in a steady
// stream, kills hookbridge with SIGKILL in the middle, restarts it on the
// same data directory, and checks that every event of every delivery that
// was answered 200 is in Kafka: a 200 means the data was on disk.
func TestKilledProcessLosesNothingAcknowledged(t *testing.T) {
	in := newInstance(t)
	in.start()

	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				uuids := []string{fmt.Sprintf("w%d-%d-a", w, i), fmt.Sprintf("w%d-%d-b", w, i)}
				status, err := in.post(delivery(fmt.Sprintf("w%d-%d", w, i), uuids...))
				if err != nil {
					return // the process is gone
				}
				if status == 200 {
					mu.Lock()
					acked = append(acked, uuids...)
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	if err := in.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-in.exited
	close(stop)
	wg.Wait()
	mu.Lock()
	want := append([]string(nil), acked...)
	mu.Unlock()
	if len(want) < 10 {
		t.Fatalf("only %d events acknowledged before the kill; the test needs load", len(want))
	}

	in.start() // same config, same data directory
	lines := consumeLines(t, "--brokers", in.kafka, "--topic", "okta.events", "--from-beginning",
		"--timeout", "3s")
	found := map[string]int{}
	for _, l := range lines {
		if i := strings.Index(l, `"uuid":"`); i >= 0 {
			u := l[i+8:]
			found[u[:strings.IndexByte(u, '"')]]++
		}
	}
	lost, dupes := 0, 0
	for _, u := range want {
		if found[u] == 0 {
			lost++
		}
	}
	for _, n := range found {
		dupes += max(0, n-1)
	}
	t.Logf("acknowledged=%d found=%d lost=%d duplicates=%d", len(want), len(lines), lost, dupes)
	if lost > 0 {
		t.Fatalf("%d acknowledged events lost after SIGKILL", lost)
	}
	if strings.Contains(in.stderr.String(), testSecret) {
		t.Fatal("the secret appears in the logs")
	}
}

// TestServeConsumeAndShutdown covers the command line end to end: serve,
// ops endpoints, consume with --max and --timeout, and a graceful SIGTERM.
func TestServeConsumeAndShutdown(t *testing.T) {
	sinkFile := filepath.Join(t.TempDir(), "events.ndjson")
	in := newInstanceWith(t, instanceOpts{sinkFile: sinkFile})
	in.start()
	status, err := in.post(delivery("cli-1", "c1", "c2", "c3"))
	if err != nil || status != 200 {
		t.Fatalf("post: %d %v", status, err)
	}
	for path, want := range map[string]string{
		"/healthz": "ok", "/readyz": "ready", "/metrics": `hookbridge_requests_total{source="okta",status="200"} 1`,
	} {
		resp, err := http.Get("http://" + in.ops + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("%s: %d, body lacks %q", path, resp.StatusCode, want)
		}
	}

	lines := consumeLines(t, "--brokers", in.kafka, "--topic", "okta.events", "--from-beginning", "--max", "2")
	if len(lines) != 2 {
		t.Fatalf("--max 2 printed %d lines", len(lines))
	}
	want := `{"uuid":"c1","published":"2026-01-02T03:04:05.678Z","eventType":"user.lifecycle.create",` +
		`"actor":{"id":"00u1","type":"User","displayName":"Zoë"},"_kafka":{"topic":"okta.events",` +
		`"partition":0,"offset":0,`
	if !strings.HasPrefix(lines[0], want) || !strings.Contains(lines[0], `"okta-delivery-id":"cli-1"`) {
		t.Errorf("first line %s", lines[0])
	}
	start := time.Now()
	lines = consumeLines(t, "--brokers", in.kafka, "--topic", "okta.events", "--from-beginning",
		"--timeout", "2s")
	if len(lines) != 3 {
		t.Errorf("--timeout printed %d lines, want 3", len(lines))
	}
	if time.Since(start) > 30*time.Second {
		t.Errorf("--timeout 2s did not end consume")
	}

	// The file sink running inside serve writes the three events.
	deadline := time.Now().Add(20 * time.Second)
	var sunk []byte
	for time.Now().Before(deadline) {
		if sunk, _ = os.ReadFile(sinkFile); bytes.Count(sunk, []byte("\n")) >= 3 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if bytes.Count(sunk, []byte("\n")) != 3 || !bytes.Contains(sunk, []byte(`"uuid":"c2"`)) {
		t.Errorf("file sink wrote %q", sunk)
	}

	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-in.exited:
		if in.exitErr != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", in.exitErr, in.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit 30s after SIGTERM")
	}
	if !strings.Contains(in.stderr.String(), `"message":"stopped"`) {
		t.Errorf("no stop line in the log:\n%s", in.stderr)
	}
}

func TestSchemaAndVersionCommands(t *testing.T) {
	out, err := command(t, "schema").Output()
	if err != nil || !bytes.Contains(out, []byte(`"name": "LogEvent"`)) {
		t.Fatalf("schema: %v %.200s", err, out)
	}
	out, err = command(t, "schema", "--dead-letter").Output()
	if err != nil || !bytes.Contains(out, []byte(`"name": "DeadLetter"`)) {
		t.Fatalf("schema --dead-letter: %v %.200s", err, out)
	}
	out, err = command(t, "version").Output()
	if err != nil || !bytes.HasPrefix(out, []byte("hookbridge ")) {
		t.Fatalf("version: %v %s", err, out)
	}
	out, _ = command(t, "consume").CombinedOutput()
	if !bytes.Contains(out, []byte(`required flag(s) "topic" not set`)) {
		t.Errorf("consume without --topic: %s", out)
	}
	out, err = command(t, "serve", "--help").Output()
	if err != nil || !bytes.Contains(out, []byte("--config")) {
		t.Errorf("serve --help: %v %s", err, out)
	}
}
