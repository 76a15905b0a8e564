// Package rsyslogtest runs a real rsyslogd as a syslog receiver for tests:
// plain TCP and TLS listeners on 127.0.0.1 that write what they receive to
// files. It is for tests only.
package rsyslogtest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hookbridge/hookbridge/internal/testcert"
)

const (
	rsyslogd = "/usr/sbin/rsyslogd"
	// InstallHint is the command that installs what Start needs.
	InstallHint = "apt-get install -y rsyslog rsyslog-gnutls"
	// Wait bounds how long Start and WaitLines wait: generous, a bound
	// and not a speed check.
	Wait = 60 * time.Second
)

// Files the receiver writes, one line per message: the raw message, and
// rsyslog's own parse of the header as
// pri|hostname|app-name|procid|msgid|structured-data.
const (
	TCPRaw    = "tcp.raw"
	TCPFields = "tcp.fields"
	TLSRaw    = "tls.raw"
	TLSFields = "tls.fields"
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

// Receiver is a running rsyslogd, stopped when the test ends.
type Receiver struct {
	// Dir holds the configuration, the certificate and the files written.
	Dir string
	// TCPAddr and TLSAddr are the host:port of the plain and TLS
	// listeners.
	TCPAddr, TLSAddr string
	// CAFile is the PEM certificate of the TLS listener, to trust it.
	CAFile string
}

// Available returns why Start cannot run here, or nil.
func Available() error {
	if _, err := os.Stat(rsyslogd); err != nil {
		return fmt.Errorf("%s missing; to run this test: %s", rsyslogd, InstallHint)
	}
	if m, _ := filepath.Glob("/usr/lib/*/rsyslog/lmnsd_gtls.so"); len(m) == 0 {
		return fmt.Errorf("rsyslog gnutls driver missing; to run this test: %s", InstallHint)
	}
	return nil
}

// Start runs rsyslogd with the receiver configuration. When rsyslog is not
// installed it skips the test, or fails it when the environment variable
// CI is "true".
func Start(t testing.TB) *Receiver {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI must install rsyslog: %v", err)
		}
		t.Skip(err)
	}
	// Not t.TempDir: its parent is private to us, and when the test runs
	// as root rsyslogd runs as nobody, which must reach the directory.
	dir, err := os.MkdirTemp("", "hookbridge-rsyslog-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	r := &Receiver{Dir: dir, CAFile: filepath.Join(dir, "cert.pem")}
	testcert.Write(t, dir)
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
	r.TCPAddr = r.waitPort(t, "tcp.port", exited)
	r.TLSAddr = r.waitPort(t, "tls.port", exited)
	return r
}

// dropPrivileges runs cmd as nobody when the test runs as root, and hands
// dir over to it.
func dropPrivileges(t testing.TB, cmd *exec.Cmd, dir string) {
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
func (r *Receiver) waitPort(t testing.TB, name string, exited <-chan struct{}) string {
	t.Helper()
	deadline := time.Now().Add(Wait)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(filepath.Join(r.Dir, name))
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
	t.Fatalf("rsyslogd wrote no %s within %s", name, Wait)
	return ""
}

// WaitLines waits until file (TCPRaw, ...) holds at least n lines and
// returns them; it fails the test after Wait.
func (r *Receiver) WaitLines(t testing.TB, file string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(Wait)
	for {
		lines := r.ReadLines(t, file)
		if len(lines) >= n {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d of %d messages after %s", file, len(lines), n, Wait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ReadLines returns the lines of file (TCPRaw, ...), none before it exists.
func (r *Receiver) ReadLines(t testing.TB, file string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(r.Dir, file))
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

func writeFile(t testing.TB, path, text string) {
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
