package broker_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookbridge/hookbridge/broker"
	"github.com/hookbridge/hookbridge/confval"
	"github.com/hookbridge/hookbridge/internal/testcert"
)

// TestTLSAndSCRAM connects through TLS with SCRAM-SHA-512, the settings of
// a managed Kafka, using only the configuration.
func TestTLSAndSCRAM(t *testing.T) {
	cert := testcert.Write(t, t.TempDir())
	serverTLS, ca := cert.Server, cert.CertFile
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.TLS(serverTLS),
		kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "bridge", "scram-pass"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Setenv("HB_TEST_KAFKA_PASSWORD", "scram-pass")

	connect := func(mutate func(*broker.Config)) error {
		cfg := broker.Default()
		cfg.Brokers = c.ListenAddrs()
		cfg.DialTimeout = 2 * time.Second
		cfg.TLS.Enabled, cfg.TLS.CAFile = true, ca
		cfg.SASL.Mechanism, cfg.SASL.Username = "SCRAM-SHA-512", "bridge"
		cfg.SASL.Password = confval.Secret{Env: "HB_TEST_KAFKA_PASSWORD"}
		mutate(&cfg)
		if err := cfg.Validate(); err != nil {
			return err
		}
		opts, err := cfg.ClientOpts()
		if err != nil {
			return err
		}
		cl, err := kgo.NewClient(append(opts, kgo.RequestRetries(0))...)
		if err != nil {
			return err
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = cfg.EnsureTopics(ctx, kadm.NewClient(cl), []broker.TopicSpec{{Name: "tls.topic"}})
		return err
	}
	if err := connect(func(*broker.Config) {}); err != nil {
		t.Fatalf("TLS + SCRAM-SHA-512: %v", err)
	}
	if err := connect(func(c *broker.Config) { c.SASL.Password = confval.Secret{Value: "wrong"} }); err == nil {
		t.Error("a wrong SCRAM password connected")
	}
	if err := connect(func(c *broker.Config) { c.TLS.CAFile = "" }); err == nil {
		t.Error("an untrusted certificate was accepted")
	}
	err = connect(func(c *broker.Config) { c.TLS.CAFile = filepath.Join(t.TempDir(), "missing.pem") })
	if err == nil || !strings.Contains(err.Error(), "kafka.tls.ca_file") {
		t.Errorf("missing CA file: %v", err)
	}
}

// TestEmbeddedBrokerPersists restarts the broker on its data dir, with an
// fsync per write and without (the benchmarks' mode): a clean stop keeps
// the log either way.
func TestEmbeddedBrokerPersists(t *testing.T) {
	for _, noSync := range []bool{false, true} {
		t.Run(fmt.Sprintf("no_sync=%v", noSync), func(t *testing.T) { testPersists(t, noSync) })
	}
}

func testPersists(t *testing.T, noSync bool) {
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := broker.EmbeddedConfig{Listen: addr, DataDir: filepath.Join(dir, "kafka"), Partitions: 1,
		NoSync: noSync}

	produce := func() {
		e, err := broker.StartEmbedded(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		cl, err := kgo.NewClient(kgo.SeedBrokers(e.Addr()))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		kc := broker.Default()
		if _, err := kc.EnsureTopics(ctx, kadm.NewClient(cl), []broker.TopicSpec{{Name: "p"}}); err != nil {
			t.Fatal(err)
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "p", Value: []byte("kept")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	produce()
	e, err := broker.StartEmbedded(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.Addr()), kgo.ConsumeTopics("p"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fs := cl.PollFetches(ctx)
	if fs.NumRecords() != 1 || string(fs.Records()[0].Value) != "kept" {
		t.Fatalf("after restart: %d records, errors %v", fs.NumRecords(), fs.Errors())
	}
}

// TestRealKafkaSASLSSL connects to the SASL_SSL listener of the Apache
// Kafka that deploy/kafka/kafka.sh runs, with settings from configuration
// only (make test-kafka sets the variables).
func TestRealKafkaSASLSSL(t *testing.T) {
	addr := os.Getenv("HOOKBRIDGE_TEST_SASL_BROKERS")
	if addr == "" {
		t.Skip("no SASL_SSL Kafka: run make test-kafka")
	}
	cfg := broker.Default()
	cfg.Brokers = strings.Split(addr, ",")
	cfg.TLS.Enabled, cfg.TLS.CAFile = true, os.Getenv("HOOKBRIDGE_TEST_TLS_CA")
	cfg.SASL.Mechanism = os.Getenv("HOOKBRIDGE_TEST_SASL_MECHANISM")
	cfg.SASL.Username = os.Getenv("HOOKBRIDGE_TEST_SASL_USER")
	cfg.SASL.Password = confval.Secret{Env: "HOOKBRIDGE_TEST_SASL_PASSWORD"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	opts, err := cfg.ClientOpts()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topic := "sasl-check-" + strings.ReplaceAll(time.Now().Format("150405.000"), ".", "")
	if _, err := cfg.EnsureTopics(ctx, kadm.NewClient(cl), []broker.TopicSpec{{Name: topic}}); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatalf("produce over SASL_SSL: %v", err)
	}
}
