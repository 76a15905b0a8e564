package splunk

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/hookbridge/hookbridge/confval"
)

// DefaultSourcetype is the sourcetype of the Splunk Add-on for Okta Identity
// Cloud, so that its CIM mappings apply to the events.
const DefaultSourcetype = "OktaIM2:log"

// Config is a Splunk HTTP Event Collector destination, the splunk section of
// a sink of type splunk_hec.
type Config struct {
	// URL is the collector's base URL, e.g. https://splunk:8088; the sink
	// appends /services/collector/event and /services/collector/ack.
	URL string `yaml:"url"`
	// Token is the HEC token, sent as "Authorization: Splunk <token>".
	Token confval.Secret `yaml:"token"`
	// Index, Source and Host go into every envelope when set; empty leaves
	// the token's defaults to Splunk.
	Index  string `yaml:"index"`
	Source string `yaml:"source"`
	Host   string `yaml:"host"`
	// Sourcetype of the events; default OktaIM2:log.
	Sourcetype string `yaml:"sourcetype"`
	// Gzip compresses request bodies (Content-Encoding: gzip); default true.
	Gzip *bool `yaml:"gzip"`
	// Ack turns on indexer acknowledgement: a batch counts as delivered only
	// once /services/collector/ack reports its ackId true. The token must
	// have useACK enabled.
	Ack bool `yaml:"ack"`
	// AckPoll is the longest wait between two ack polls; default 10s.
	AckPoll time.Duration `yaml:"ack_poll"`
	// AckTimeout is how long a batch waits for its ack before it is sent
	// again (duplicates are possible); default 5m.
	AckTimeout time.Duration `yaml:"ack_timeout"`
	// Channel is the request channel GUID; default a random one per sink
	// instance.
	Channel string `yaml:"channel"`
	// Timeout bounds one HTTP request; default 30s.
	Timeout time.Duration `yaml:"timeout"`
	TLS     TLSConfig     `yaml:"tls"`
}

// TLSConfig configures the HTTPS connection to the collector.
type TLSConfig struct {
	// InsecureSkipVerify accepts any server certificate; for tests only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// CAFile is a PEM bundle of the CAs that may sign the server
	// certificate, in place of the system roots.
	CAFile string `yaml:"ca_file"`
}

// guidRE matches the GUID shape Splunk requires of a channel.
var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// Validate fills defaults and checks the configuration; errors name the bad
// key as splunk.<key>.
func (c *Config) Validate() error {
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		return errors.New("splunk.url is required")
	case err != nil:
		return fmt.Errorf("splunk.url: %w", err)
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return fmt.Errorf("splunk.url %q: want http(s)://host:port", c.URL)
	case u.RawQuery != "" || u.User != nil:
		return fmt.Errorf("splunk.url %q: must not carry a query or credentials", c.URL)
	}
	c.URL = strings.TrimRight(c.URL, "/")
	if c.Token.IsZero() {
		return errors.New("splunk.token is required")
	}
	if c.Sourcetype == "" {
		c.Sourcetype = DefaultSourcetype
	}
	if c.Gzip == nil {
		on := true
		c.Gzip = &on
	}
	setDefault(&c.AckPoll, 10*time.Second)
	setDefault(&c.AckTimeout, 5*time.Minute)
	setDefault(&c.Timeout, 30*time.Second)
	for key, d := range map[string]time.Duration{
		"ack_poll": c.AckPoll, "ack_timeout": c.AckTimeout, "timeout": c.Timeout,
	} {
		if d < 0 {
			return fmt.Errorf("splunk.%s %s: must be positive", key, d)
		}
	}
	if c.Channel == "" {
		c.Channel = newGUID()
	} else if !guidRE.MatchString(c.Channel) {
		return fmt.Errorf("splunk.channel %q: must be a GUID", c.Channel)
	}
	if c.TLS.CAFile != "" {
		if _, err := os.Stat(c.TLS.CAFile); err != nil {
			return fmt.Errorf("splunk.tls.ca_file: %w", err)
		}
	}
	return nil
}

// newGUID returns a random (version 4) GUID.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}
