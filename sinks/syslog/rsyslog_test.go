package syslog

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fastjson"

	"github.com/hookbridge/hookbridge/bench"
	"github.com/hookbridge/hookbridge/sinks"
)

const (
	rsyslogd     = "/usr/sbin/rsyslogd"
	installHint  = "apt-get install -y rsyslog rsyslog-gnutls"
	evilActor    = `Eve "the \quoter\" [admin] ]]`
	rsyslogWait  = 60 * time.Second // generous: a bound, not a speed check
	eventsPerRun = 50
)

// rsyslogConf is the receiver: two imtcp listeners on loopback with
// kernel-chosen ports (written to files), plain and TLS (gnutls, anonymous
// clients), each writing the raw message and rsyslog's own parse of the
// header to files of its own. $MaxMessageSize is above the sink's 8 KB cap
// so that a frame the sink should have refused would show up here.
const rsyslogConf = `$MaxMessageSize 64k
global(
  workDirectory="{{dir}}"
  defaultNetstreamDriverCAFile="{{dir}}/cert.pem"
  defaultNetstreamDriverCertFile="{{dir}}/cert.pem"
  defaultNetstreamDriverKeyFile="{{dir}}/key.pem"
)
module(load="imtcp" maxSessions="64")
template(name="raw" type="string" string="%rawmsg%\n")
template(name="fields" type="string" string="%pri%|%hostname%|%app-name%|%procid%|%msgid%|%structured-data%\n")
ruleset(name="tcp") {
  action(type="omfile" file="{{dir}}/tcp.raw" template="raw")
  action(type="omfile" file="{{dir}}/tcp.fields" template="fields")
}
ruleset(name="tls") {
  action(type="omfile" file="{{dir}}/tls.raw" template="raw")
  action(type="omfile" file="{{dir}}/tls.fields" template="fields")
}
input(type="imtcp" address="127.0.0.1" port="0" listenPortFileName="{{dir}}/tcp.port" ruleset="tcp")
input(type="imtcp" address="127.0.0.1" port="0" listenPortFileName="{{dir}}/tls.port" ruleset="tls"
      streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
`

// rsyslog is a running rsyslogd.
type rsyslog struct {
	dir              string
	tcpAddr, tlsAddr string
	caFile           string
}

func TestRsyslog(t *testing.T) {
	r := startRsyslog(t)
	for _, tc := range []struct {
		name string
		seed uint64
		c    Config
	}{
		{"tcp", 1, Config{Address: r.tcpAddr}},
		{"tls", 2, Config{Address: r.tlsAddr, TLS: true, CAFile: r.caFile}},
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

			raw := r.waitLines(t, tc.name+".raw", len(events))
			checkReceived(t, raw, events)
			checkRsyslogFields(t, r.readLines(t, tc.name+".fields"), tc.c.Hostname, tc.c.AppName, events)
		})
	}

	// The receiver's certificate is not in the system roots: the handshake
	// fails, and the failure is retryable, never a delivered event.
	t.Run("tls-untrusted", func(t *testing.T) {
		d, err := New("rsyslog-untrusted", Config{Address: r.tlsAddr, TLS: true})
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

func startRsyslog(t *testing.T) *rsyslog {
	t.Helper()
	if _, err := os.Stat(rsyslogd); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s missing; CI must install it: %s", rsyslogd, installHint)
		}
		t.Skipf("%s missing; to run this test: %s", rsyslogd, installHint)
	}
	if m, _ := filepath.Glob("/usr/lib/*/rsyslog/lmnsd_gtls.so"); len(m) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("rsyslog gnutls driver missing; CI must install it: %s", installHint)
		}
		t.Skipf("rsyslog gnutls driver missing; to run this test: %s", installHint)
	}
	// Not t.TempDir: its parent is private to us, and when the test runs
	// as root rsyslogd runs as nobody, which must reach the directory.
	dir, err := os.MkdirTemp("", "hookbridge-rsyslog-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	r := &rsyslog{dir: dir, caFile: filepath.Join(dir, "cert.pem")}
	writeSelfSigned(t, dir)
	conf := filepath.Join(dir, "rsyslog.conf")
	writeFile(t, conf, strings.ReplaceAll(rsyslogConf, "{{dir}}", dir))

	cmd := exec.Command(rsyslogd, "-n", "-f", conf, "-i", filepath.Join(dir, "rsyslogd.pid"))
	stderr, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	cmd.Stdout, cmd.Stderr = stderr, stderr
	dropPrivileges(t, cmd, dir)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start rsyslogd: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("rsyslogd output:\n%s", readOrEmpty(filepath.Join(dir, "stderr")))
		}
	})
	r.tcpAddr = r.waitPort(t, "tcp.port", exited)
	r.tlsAddr = r.waitPort(t, "tls.port", exited)
	return r
}

// dropPrivileges runs cmd as nobody when the test runs as root, and hands
// dir over to it.
func dropPrivileges(t *testing.T, cmd *exec.Cmd, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Fatalf("look up user nobody: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	err = filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(path, uid, gid)
	})
	if err != nil {
		t.Fatalf("hand %s to nobody: %v", dir, err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
}

// waitPort waits for rsyslogd to write the port of a listener and returns
// its address.
func (r *rsyslog) waitPort(t *testing.T, name string, exited <-chan struct{}) string {
	t.Helper()
	deadline := time.Now().Add(rsyslogWait)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(filepath.Join(r.dir, name))
		// rsyslogd writes the file once the socket listens.
		if port := strings.TrimSpace(string(b)); err == nil && port != "" {
			return net.JoinHostPort("127.0.0.1", port)
		}
		select {
		case <-exited:
			t.Fatal("rsyslogd exited during start-up")
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("rsyslogd wrote no %s within %s", name, rsyslogWait)
	return ""
}

// waitLines waits until file holds at least n lines and returns them.
func (r *rsyslog) waitLines(t *testing.T, file string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(rsyslogWait)
	for {
		lines := r.readLines(t, file)
		if len(lines) >= n {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d of %d messages after %s", file, len(lines), n, rsyslogWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *rsyslog) readLines(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(r.dir, file))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// writeSelfSigned writes cert.pem and key.pem: a self-signed certificate
// for 127.0.0.1, which also serves as the client's CA file.
func writeSelfSigned(t *testing.T, dir string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "hookbridge rsyslog test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "cert.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, filepath.Join(dir, "key.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})))
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

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readOrEmpty(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%s: %v)\n", filepath.Base(path), err)
	}
	return string(b)
}
