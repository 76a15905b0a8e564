// Command wait blocks until the Kafka started by deploy/kafka/kafka.sh
// serves metadata, then, with -sasl-brokers, checks its SASL_SSL listener
// the way hookbridge reaches a managed Kafka: TLS against a private CA and
// SCRAM-SHA-512. It exits 0 when every check passes and 1 otherwise.
//
// It is a development tool; the credentials it takes are test-only.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// checkTopic is created, written once and deleted through the SASL_SSL
// listener; a leftover from an interrupted run is reused.
const checkTopic = "_hookbridge.kafka-check"

// attemptTimeout bounds one metadata request while the broker starts.
const attemptTimeout = 3 * time.Second

// saslDialTimeout is long because a TLS handshake and a SCRAM exchange
// (4096 iterations each side) take seconds on a loaded two-core machine.
const saslDialTimeout = 10 * time.Second

// saslCheck holds what the SASL_SSL check needs.
type saslCheck struct {
	brokers  []string
	caFile   string
	user     string
	password string
	timeout  time.Duration
}

func main() {
	var (
		brokers = flag.String("brokers", "127.0.0.1:19092",
			"PLAINTEXT brokers, comma-separated host:port")
		timeout = flag.Duration("timeout", 180*time.Second,
			"longest wait for the broker to serve metadata")
		pid = flag.Int("pid", 0,
			"fail at once when this process (the broker) exits; 0 watches none")
		sc       saslCheck
		saslAddr = flag.String("sasl-brokers", "",
			"SASL_SSL brokers to check with SCRAM-SHA-512; empty skips the check")
	)
	flag.DurationVar(&sc.timeout, "sasl-timeout", 60*time.Second,
		"time for the SASL_SSL checks, counted after metadata")
	flag.StringVar(&sc.caFile, "ca", "",
		"PEM file of the CA that signed the SASL_SSL listener's certificate")
	flag.StringVar(&sc.user, "user", "hookbridge", "SCRAM-SHA-512 user")
	flag.StringVar(&sc.password, "password", "hookbridge-secret",
		"SCRAM-SHA-512 password (test-only)")
	flag.Parse()
	sc.brokers = split(*saslAddr)

	if err := run(split(*brokers), *timeout, *pid, sc); err != nil {
		fmt.Fprintf(os.Stderr, "kafka wait: %v\n", err)
		os.Exit(1)
	}
}

// run waits for metadata, then runs the SASL_SSL check when it has brokers.
// The check has its own budget, so that a slow start cannot eat it.
func run(seeds []string, timeout time.Duration, pid int, sc saslCheck) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	n, err := waitBrokers(ctx, seeds, pid)
	if err != nil {
		return err
	}
	fmt.Printf("kafka: %d broker(s) serve metadata on %s after %s\n",
		n, strings.Join(seeds, ","), time.Since(start).Round(100*time.Millisecond))

	if len(sc.brokers) == 0 {
		return nil
	}
	sctx, scancel := context.WithTimeout(context.Background(), sc.timeout)
	defer scancel()
	if err := sc.run(sctx); err != nil {
		return err
	}
	fmt.Printf("kafka: SASL_SSL on %s: as %s (SCRAM-SHA-512) created, wrote and deleted %s; "+
		"a wrong password and an untrusted CA were rejected\n",
		strings.Join(sc.brokers, ","), sc.user, checkTopic)
	return nil
}

// waitBrokers polls the brokers until metadata lists at least one broker,
// ctx ends, or the process pid exits.
func waitBrokers(ctx context.Context, seeds []string, pid int) (int, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DialTimeout(time.Second))
	if err != nil {
		return 0, fmt.Errorf("create client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	var last error
	for {
		if pid > 0 && !alive(pid) {
			return 0, fmt.Errorf("kafka process %d exited before serving metadata", pid)
		}
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		bs, err := adm.ListBrokers(actx)
		cancel()
		if err == nil && len(bs) > 0 {
			return len(bs), nil
		}
		if err == nil {
			err = errors.New("metadata lists no broker yet")
		}
		last = err

		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("no metadata from %s: %w", strings.Join(seeds, ","), last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// run connects with the right credentials and uses the connection, then
// checks that a wrong password and an untrusted certificate fail, so a pass
// cannot come from a listener that checks nothing.
func (s saslCheck) run(ctx context.Context) error {
	pem, err := os.ReadFile(s.caFile)
	if err != nil {
		return fmt.Errorf("read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("no PEM certificate in %s", s.caFile)
	}
	if err := s.use(ctx, s.client(pool, s.password)); err != nil {
		return fmt.Errorf("sasl_ssl as %s: %w", s.user, err)
	}

	// The failures must show without retries, as errors of their own kind.
	err = s.ping(ctx, s.client(pool, s.password+"-wrong", kgo.RequestRetries(0)))
	if !errors.Is(err, kerr.SaslAuthenticationFailed) {
		return fmt.Errorf("sasl_ssl with a wrong password: "+
			"want SASL_AUTHENTICATION_FAILED, got %w", err)
	}
	var unknownCA x509.UnknownAuthorityError
	err = s.ping(ctx, s.client(nil, s.password, kgo.RequestRetries(0)))
	if !errors.As(err, &unknownCA) {
		return fmt.Errorf("sasl_ssl without the CA: want an unknown-authority error, got %w", err)
	}
	return nil
}

// client builds the options of one SASL_SSL client, then extra; a nil pool
// trusts the system's CAs only.
func (s saslCheck) client(pool *x509.CertPool, password string, extra ...kgo.Opt) []kgo.Opt {
	auth := scram.Auth{User: s.user, Pass: password}
	return append([]kgo.Opt{
		kgo.SeedBrokers(s.brokers...),
		kgo.DialTimeout(saslDialTimeout),
		kgo.DialTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}),
		kgo.SASL(auth.AsSha512Mechanism()),
	}, extra...)
}

// ping lists the brokers once.
func (s saslCheck) ping(ctx context.Context, opts []kgo.Opt) error {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("create client: %w", err)
	}
	defer cl.Close()
	_, err = kadm.NewClient(cl).ListBrokers(ctx)
	return err
}

// use creates checkTopic, writes one record to it with acks=all, and
// deletes it.
func (s saslCheck) use(ctx context.Context, opts []kgo.Opt) error {
	cl, err := kgo.NewClient(append(opts, kgo.DefaultProduceTopic(checkTopic))...)
	if err != nil {
		return fmt.Errorf("create client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	res, err := adm.CreateTopic(ctx, 1, 1, nil, checkTopic)
	if err == nil {
		err = res.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("create topic %s: %w", checkTopic, err)
	}

	rec := &kgo.Record{Value: []byte("hookbridge kafka.sh check")}
	if err := produce(ctx, cl, rec); err != nil {
		return fmt.Errorf("produce to %s: %w", checkTopic, err)
	}

	dres, err := adm.DeleteTopics(ctx, checkTopic)
	if err == nil {
		err = dres.Error()
	}
	if err != nil {
		return fmt.Errorf("delete topic %s: %w", checkTopic, err)
	}
	return nil
}

// produce retries while the new topic's leader is not known yet.
func produce(ctx context.Context, cl *kgo.Client, rec *kgo.Record) error {
	for {
		err := cl.ProduceSync(ctx, rec).FirstErr()
		if err == nil || !kerr.IsRetriable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// alive reports whether process pid exists and has not exited. A broker
// that died stays a zombie until kafka.sh reaps it, so /proc is read for
// its state where there is one.
func alive(pid int) bool {
	if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// The state follows the command name, which is in parentheses.
		if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) {
			return stat[i+2] != 'Z'
		}
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func split(s string) []string {
	var out []string
	for _, b := range strings.Split(s, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}
