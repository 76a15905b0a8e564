// Package broker holds how hookbridge reaches Kafka: connection settings
// (brokers, TLS, SASL), topic creation, the schema registry, and the embedded
// development broker used when no brokers are configured.
package broker

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/hookbridge/hookbridge/confval"
)

// Config says how to reach Kafka.
type Config struct {
	// Brokers are the seed brokers, host:port. Empty starts the embedded
	// development broker (see Embedded).
	Brokers []string `yaml:"brokers"`
	// ClientID is sent to the brokers; default hookbridge.
	ClientID string `yaml:"client_id"`
	// Compression of produced batches: snappy (default), lz4, zstd, gzip or
	// none. On hookbridge's Avro records snappy and lz4 shrink batches about
	// as much and snappy is the quicker; zstd makes them about a fifth
	// smaller for twice the CPU of the whole produce path (see
	// BenchmarkProduce), which on the ingest path is what matters.
	Compression string `yaml:"compression"`
	// DialTimeout bounds a connection attempt; default 5s.
	DialTimeout time.Duration  `yaml:"dial_timeout"`
	TLS         TLSConfig      `yaml:"tls"`
	SASL        SASLConfig     `yaml:"sasl"`
	Topics      TopicsConfig   `yaml:"topics"`
	Registry    RegistryConfig `yaml:"registry"`
	Embedded    EmbeddedConfig `yaml:"embedded"`
}

// TLSConfig turns on TLS to the brokers.
type TLSConfig struct {
	Enabled bool `yaml:"enabled"`
	// CAFile is a PEM bundle of the CAs to trust; empty uses the system's.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile give a client certificate, for mutual TLS.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the brokers' certificates.
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// SASLConfig turns on SASL authentication.
type SASLConfig struct {
	// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; empty is no SASL.
	Mechanism string         `yaml:"mechanism"`
	Username  string         `yaml:"username"`
	Password  confval.Secret `yaml:"password"`
}

// TopicsConfig says how missing topics are created at start-up.
type TopicsConfig struct {
	// Create creates missing topics; default true.
	Create bool `yaml:"create"`
	// Partitions of a created topic; default 3.
	Partitions int32 `yaml:"partitions"`
	// ReplicationFactor of a created topic; -1 (the default) uses the
	// broker's default.
	ReplicationFactor int16 `yaml:"replication_factor"`
}

// RegistryConfig names a Confluent-compatible schema registry. With a URL,
// records use the registry wire format; without, Avro single-object encoding.
type RegistryConfig struct {
	URL      string         `yaml:"url"`
	Username string         `yaml:"username"`
	Password confval.Secret `yaml:"password"`
}

// EmbeddedConfig configures the development broker.
type EmbeddedConfig struct {
	// Listen is the broker's address; default 127.0.0.1:9092.
	Listen string `yaml:"listen"`
	// DataDir keeps the broker's log on disk, fsynced per write, so events
	// survive a restart; default data/kafka.
	DataDir string `yaml:"data_dir"`
	// NoSync leaves flushing the log to the operating system, as Kafka does
	// by default, instead of an fsync per write: much faster, and a crash of
	// the process loses nothing, but a crash of the machine can lose
	// acknowledged events. For load tests; default false.
	NoSync bool `yaml:"no_sync"`
	// Partitions of topics the embedded broker creates; default 1.
	Partitions int32 `yaml:"partitions"`
}

// Default returns the configuration used for unset keys.
func Default() Config {
	return Config{
		ClientID:    "hookbridge",
		Compression: "snappy",
		DialTimeout: 5 * time.Second,
		Topics:      TopicsConfig{Create: true, Partitions: 3, ReplicationFactor: -1},
		Embedded:    EmbeddedConfig{Listen: "127.0.0.1:9092", DataDir: "data/kafka", Partitions: 1},
	}
}

// IsEmbedded reports whether the embedded broker is to be used.
func (c *Config) IsEmbedded() bool { return len(c.Brokers) == 0 }

// Validate checks the configuration without touching the network.
func (c *Config) Validate() error {
	for _, b := range c.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			return fmt.Errorf("kafka.brokers: %q is not host:port", b)
		}
	}
	if c.DialTimeout <= 0 {
		return errors.New("kafka.dial_timeout must be positive")
	}
	if _, err := c.Codec(); err != nil {
		return err
	}
	switch strings.ToUpper(c.SASL.Mechanism) {
	case "", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
	default:
		return fmt.Errorf("kafka.sasl.mechanism: %q is not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512",
			c.SASL.Mechanism)
	}
	if c.SASL.Mechanism != "" {
		if c.SASL.Username == "" {
			return errors.New("kafka.sasl.username is required with a mechanism")
		}
		if _, err := c.SASL.Password.Resolve(); err != nil {
			return fmt.Errorf("kafka.sasl.password: %w", err)
		}
	}
	if c.Registry.Username != "" {
		if _, err := c.Registry.Password.Resolve(); err != nil {
			return fmt.Errorf("kafka.registry.password: %w", err)
		}
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return errors.New("kafka.tls: cert_file and key_file go together")
	}
	if c.Topics.Partitions < 1 {
		return errors.New("kafka.topics.partitions must be at least 1")
	}
	if c.Topics.ReplicationFactor == 0 || c.Topics.ReplicationFactor < -1 {
		return errors.New("kafka.topics.replication_factor must be -1 or at least 1")
	}
	if c.IsEmbedded() {
		if _, _, err := net.SplitHostPort(c.Embedded.Listen); err != nil {
			return fmt.Errorf("kafka.embedded.listen: %q is not host:port", c.Embedded.Listen)
		}
	}
	return nil
}

// ClientOpts returns the franz-go options that connect to the brokers:
// seeds, client id, TLS and SASL. seeds overrides c.Brokers when not empty
// (the embedded broker's address).
func (c *Config) ClientOpts(seeds ...string) ([]kgo.Opt, error) {
	if len(seeds) == 0 {
		seeds = c.Brokers
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(seeds...),
		kgo.ClientID(c.ClientID),
		kgo.DialTimeout(c.DialTimeout),
	}
	if c.TLS.Enabled {
		tc, err := c.TLS.config()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if c.SASL.Mechanism != "" {
		pass, err := c.SASL.Password.Resolve()
		if err != nil {
			return nil, fmt.Errorf("kafka.sasl.password: %w", err)
		}
		user := c.SASL.Username
		switch strings.ToUpper(c.SASL.Mechanism) {
		case "PLAIN":
			opts = append(opts, kgo.SASL(plain.Auth{User: user, Pass: pass}.AsMechanism()))
		case "SCRAM-SHA-256":
			opts = append(opts, kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha256Mechanism()))
		case "SCRAM-SHA-512":
			opts = append(opts, kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()))
		}
	}
	return opts, nil
}

func (t *TLSConfig) config() (*tls.Config, error) {
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // opt-in, documented as unsafe
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kafka.tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka.tls.ca_file: no PEM certificates in %s", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("kafka.tls: load client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Codec returns the configured batch compression.
func (c *Config) Codec() (kgo.CompressionCodec, error) {
	switch strings.ToLower(c.Compression) {
	case "zstd":
		return kgo.ZstdCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "none":
		return kgo.NoCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("kafka.compression: %q is not zstd, lz4, snappy, gzip or none",
		c.Compression)
}
