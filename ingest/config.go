// Package ingest is hookbridge's front end: a fasthttp server that answers
// Okta's verification challenge, authenticates each event hook delivery,
// converts its events to Avro, routes them to Kafka topics and answers 200
// only once Kafka has acknowledged every one of them.
package ingest

import (
	"errors"
	"fmt"
	"net"
	"path"
	"strings"
	"time"

	"github.com/hookbridge/hookbridge/confval"
	"github.com/hookbridge/hookbridge/spool"
)

// Config is the ingest part of the configuration file.
type Config struct {
	Server  ServerConfig   `yaml:"server"`
	Sources []SourceConfig `yaml:"sources"`
	Routing RoutingConfig  `yaml:"routing"`
	Dedup   DedupConfig    `yaml:"dedup"`
	// Spool keeps deliveries on disk while Kafka cannot take them.
	Spool spool.Config `yaml:"spool"`
}

// ServerConfig configures the HTTP listener.
type ServerConfig struct {
	// Listen is the address to serve on; default 127.0.0.1:8080, so nothing
	// is exposed beyond the host unless asked for.
	Listen string `yaml:"listen"`
	// ResponseBudget is how long a delivery may wait for Kafka before it is
	// answered 503; default 2.5s, below Okta's 3 s timeout.
	ResponseBudget time.Duration `yaml:"response_budget"`
	// ReadTimeout bounds reading a request, headers and body; default 10s.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// WriteTimeout bounds writing a response; default 10s.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// IdleTimeout closes keep-alive connections idle this long; default 60s.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// MaxHeaderBytes bounds the request line and headers; default 16KiB.
	MaxHeaderBytes confval.Bytes `yaml:"max_header_bytes"`
	// MaxConnections bounds concurrent connections; default 1024.
	MaxConnections int `yaml:"max_connections"`
	// MaxInFlight bounds deliveries being processed at once. Default 256.
	MaxInFlight int `yaml:"max_in_flight"`
	// AdmissionWait is how long a delivery may wait for one of those
	// slots before it is answered 503, which absorbs bursts. When no
	// delivery got a slot within 5 ms during the last admission wait, the
	// queue is standing (sustained overload) and the wait is cut to those
	// 5 ms: overload is shed without holding memory or Okta's connections,
	// and Okta's one retry comes sooner. Default 100ms; below the response
	// budget.
	AdmissionWait time.Duration `yaml:"admission_wait"`
	// TLS serves HTTPS when both files are set.
	TLS struct {
		CertFile string `yaml:"cert_file"`
		KeyFile  string `yaml:"key_file"`
	} `yaml:"tls"`
}

// SourceConfig is one Okta event hook (usually one Okta org).
type SourceConfig struct {
	// Name identifies the source in records, headers, metrics and logs.
	Name string `yaml:"name"`
	// Path is the URL path the hook posts to, e.g. /hooks/okta.
	Path string `yaml:"path"`
	// AuthHeader is the header Okta sends the secret in; default
	// Authorization. Matched case-insensitively.
	AuthHeader string `yaml:"auth_header"`
	// Secrets are the accepted header values: one, or two while rotating.
	Secrets []confval.Secret `yaml:"secrets"`
	// MaxBodyBytes bounds a delivery, after gzip decompression; default 8MiB.
	MaxBodyBytes confval.Bytes `yaml:"max_body_bytes"`
}

// RoutingConfig maps event types to topics.
type RoutingConfig struct {
	// Rules are tried in order; the first whose pattern matches the event
	// type names the topic.
	Rules []RouteRule `yaml:"rules"`
	// DefaultTopic takes events no rule matches; default okta.events.
	DefaultTopic string `yaml:"default_topic"`
	// DeadLetterTopic takes events that cannot be converted or stored;
	// default okta.deadletter.
	DeadLetterTopic string `yaml:"dead_letter_topic"`
	// Key is the record key: uuid (default), actor_id or source.
	Key string `yaml:"key"`
	// KeepRaw stores each event's JSON text in the record too; default off.
	KeepRaw bool `yaml:"keep_raw"`
}

// RouteRule sends event types matching Match (a glob: user.session.*,
// group.*) to Topic.
type RouteRule struct {
	Match string `yaml:"match"`
	Topic string `yaml:"topic"`
}

// DedupConfig configures dropping events Okta delivers again.
type DedupConfig struct {
	// Window is how long an acknowledged event is remembered; 0 turns
	// deduplication off. Default 15m.
	Window time.Duration `yaml:"window"`
	// MaxEntries bounds the memory used; when reached, the oldest half of
	// the window is forgotten early. Default 1,000,000 (about 40 MB).
	MaxEntries int `yaml:"max_entries"`
}

// Record keys.
const (
	KeyUUID    = "uuid"
	KeyActorID = "actor_id"
	KeySource  = "source"
)

// DefaultConfig returns the configuration used for unset keys.
func DefaultConfig() Config {
	return Config{
		Server: ServerConfig{
			Listen:         "127.0.0.1:8080",
			ResponseBudget: 2500 * time.Millisecond,
			ReadTimeout:    10 * time.Second,
			WriteTimeout:   10 * time.Second,
			IdleTimeout:    60 * time.Second,
			MaxHeaderBytes: 16 << 10,
			MaxConnections: 1024,
			MaxInFlight:    256,
			AdmissionWait:  100 * time.Millisecond,
		},
		Routing: RoutingConfig{
			DefaultTopic:    "okta.events",
			DeadLetterTopic: "okta.deadletter",
			Key:             KeyUUID,
		},
		Dedup: DedupConfig{Window: 15 * time.Minute, MaxEntries: 1_000_000},
		Spool: spool.DefaultConfig(),
	}
}

// DefaultMaxBodyBytes is a source's body limit when none is set.
const DefaultMaxBodyBytes = 8 << 20

// Validate checks the configuration and fills per-source defaults. Errors
// name the offending key.
func (c *Config) Validate() error {
	s := &c.Server
	if _, _, err := net.SplitHostPort(s.Listen); err != nil {
		return fmt.Errorf("server.listen: %q is not host:port", s.Listen)
	}
	for name, d := range map[string]time.Duration{
		"server.response_budget": s.ResponseBudget, "server.read_timeout": s.ReadTimeout,
		"server.write_timeout": s.WriteTimeout, "server.idle_timeout": s.IdleTimeout,
		"server.admission_wait": s.AdmissionWait,
	} {
		if d <= 0 {
			return fmt.Errorf("%s must be positive, got %s", name, d)
		}
	}
	if s.ResponseBudget >= 3*time.Second {
		return fmt.Errorf("server.response_budget %s must stay below Okta's 3s timeout", s.ResponseBudget)
	}
	if s.AdmissionWait >= s.ResponseBudget {
		return fmt.Errorf("server.admission_wait %s must be below server.response_budget %s",
			s.AdmissionWait, s.ResponseBudget)
	}
	if s.MaxHeaderBytes < 1024 || s.MaxConnections < 1 || s.MaxInFlight < 1 {
		return errors.New("server.max_header_bytes (>= 1KiB), max_connections and max_in_flight (>= 1) are required")
	}
	if (s.TLS.CertFile == "") != (s.TLS.KeyFile == "") {
		return errors.New("server.tls: cert_file and key_file go together")
	}
	if err := c.validateSources(); err != nil {
		return err
	}
	if err := c.Routing.validate(); err != nil {
		return err
	}
	if err := c.Spool.Validate(); err != nil {
		return err
	}
	if c.Dedup.Window < 0 {
		return errors.New("dedup.window must not be negative")
	}
	if c.Dedup.Window > 0 && c.Dedup.MaxEntries < 2 {
		return errors.New("dedup.max_entries must be at least 2")
	}
	return nil
}

func (c *Config) validateSources() error {
	if len(c.Sources) == 0 {
		return errors.New("sources: at least one source is required")
	}
	names, paths := map[string]bool{}, map[string]bool{}
	for i := range c.Sources {
		src := &c.Sources[i]
		key := fmt.Sprintf("sources[%d]", i)
		if src.Name == "" {
			return fmt.Errorf("%s.name is required", key)
		}
		if names[src.Name] {
			return fmt.Errorf("%s.name: %q is used twice", key, src.Name)
		}
		names[src.Name] = true
		if !strings.HasPrefix(src.Path, "/") || path.Clean(src.Path) != src.Path {
			return fmt.Errorf("%s.path: %q must be a clean absolute path such as /hooks/okta", key, src.Path)
		}
		if paths[src.Path] {
			return fmt.Errorf("%s.path: %q is used twice", key, src.Path)
		}
		paths[src.Path] = true
		if src.AuthHeader == "" {
			src.AuthHeader = "Authorization"
		}
		if n := len(src.Secrets); n < 1 || n > 2 {
			return fmt.Errorf("%s.secrets: give one secret, or two while rotating (got %d)", key, n)
		}
		for j, sec := range src.Secrets {
			if _, err := sec.Resolve(); err != nil {
				return fmt.Errorf("%s.secrets[%d]: %w", key, j, err)
			}
		}
		if src.MaxBodyBytes == 0 {
			src.MaxBodyBytes = DefaultMaxBodyBytes
		}
		if src.MaxBodyBytes < 1024 {
			return fmt.Errorf("%s.max_body_bytes: %s is below 1KiB", key, src.MaxBodyBytes)
		}
	}
	return nil
}

func (r *RoutingConfig) validate() error {
	if r.DefaultTopic == "" || r.DeadLetterTopic == "" {
		return errors.New("routing.default_topic and routing.dead_letter_topic are required")
	}
	for i, rule := range r.Rules {
		if rule.Match == "" || rule.Topic == "" {
			return fmt.Errorf("routing.rules[%d]: match and topic are required", i)
		}
		if _, err := path.Match(rule.Match, ""); err != nil {
			return fmt.Errorf("routing.rules[%d].match: bad pattern %q: %w", i, rule.Match, err)
		}
	}
	switch r.Key {
	case KeyUUID, KeyActorID, KeySource:
	default:
		return fmt.Errorf("routing.key: %q is not uuid, actor_id or source", r.Key)
	}
	return nil
}

// Topics returns every topic ingest writes to, dead-letter topic last.
func (r *RoutingConfig) Topics() []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range append([]string{r.DefaultTopic}, ruleTopics(r.Rules)...) {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	if !seen[r.DeadLetterTopic] {
		out = append(out, r.DeadLetterTopic)
	}
	return out
}

func ruleTopics(rules []RouteRule) []string {
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = r.Topic
	}
	return out
}
