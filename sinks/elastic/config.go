// Package elastic delivers events to Elasticsearch or OpenSearch with the
// _bulk API. Every event is a `create` with the Okta uuid as its _id, so a
// replay is answered with a 409 conflict that counts as delivered.
package elastic

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hookbridge/hookbridge/confval"
)

// defaultTimeout bounds one _bulk request when Config.Timeout is unset.
const defaultTimeout = 30 * time.Second

// Config is an Elasticsearch or OpenSearch destination.
type Config struct {
	// URL is the cluster's base URL, e.g. https://es.example.test:9200; a
	// path prefix (a proxy's) is kept. It must not hold credentials.
	URL string `yaml:"url"`
	// Index is the target: an index name, a pattern with a Go time layout
	// in braces formatted from the event's published time in UTC
	// ("okta-{2006.01.02}"), or a data stream name.
	Index string `yaml:"index"`
	// DataStream says Index is a data stream: each document then gets an
	// @timestamp field (the published time).
	DataStream bool `yaml:"data_stream"`
	// Username and Password turn on Basic auth.
	Username string         `yaml:"username"`
	Password confval.Secret `yaml:"password"`
	// APIKey is the base64 "id:key" sent as "Authorization: ApiKey <value>".
	APIKey confval.Secret `yaml:"api_key"`
	// Gzip compresses request bodies.
	Gzip bool `yaml:"gzip"`
	// Timeout bounds one _bulk request, response included; default 30s.
	Timeout time.Duration `yaml:"timeout"`
	TLS     TLSConfig     `yaml:"tls"`
}

// TLSConfig adjusts how an https URL's certificate is checked.
type TLSConfig struct {
	// CAFile is a PEM bundle of the CAs to trust; empty uses the system's.
	CAFile string `yaml:"ca_file"`
	// InsecureSkipVerify turns certificate checks off; for tests only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// Validate fills defaults and checks the configuration without touching the
// network or resolving secrets. Errors name the key, e.g.
// "elasticsearch.url".
func (c *Config) Validate() error {
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		return errors.New("elasticsearch.url is required")
	case err != nil:
		return fmt.Errorf("elasticsearch.url: %w", err)
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return fmt.Errorf("elasticsearch.url %q: want http(s)://host[:port]", c.URL)
	case u.User != nil:
		return errors.New("elasticsearch.url must not hold credentials; " +
			"use elasticsearch.username and elasticsearch.password")
	case u.RawQuery != "" || u.Fragment != "":
		return errors.New("elasticsearch.url must not have a query or a fragment")
	}
	if (c.TLS.CAFile != "" || c.TLS.InsecureSkipVerify) && u.Scheme != "https" {
		return errors.New("elasticsearch.tls is set but elasticsearch.url is not https")
	}
	if c.Index == "" {
		return errors.New("elasticsearch.index is required")
	}
	if _, err := parseIndex(c.Index); err != nil {
		return fmt.Errorf("elasticsearch.index: %w", err)
	}
	switch {
	case c.Username != "" && c.Password.IsZero():
		return errors.New("elasticsearch.password is required with elasticsearch.username")
	case c.Username == "" && !c.Password.IsZero():
		return errors.New("elasticsearch.username is required with elasticsearch.password")
	case c.Username != "" && !c.APIKey.IsZero():
		return errors.New("elasticsearch.api_key and elasticsearch.username are exclusive")
	}
	if c.Timeout == 0 {
		c.Timeout = defaultTimeout
	}
	if c.Timeout < 0 {
		return fmt.Errorf("elasticsearch.timeout %s must be positive", c.Timeout)
	}
	return nil
}

// indexName is a parsed Config.Index: literal text with Go time layouts.
type indexName struct {
	parts []indexPart
	fixed string // the whole name when it has no layout
}

type indexPart struct {
	text   string
	layout bool // text is a time layout
}

// parseIndex splits a pattern such as "okta-{2006.01.02}" and checks that
// the names it yields are valid index names.
func parseIndex(pattern string) (*indexName, error) {
	var n indexName
	rest := pattern
	for rest != "" {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			if strings.IndexByte(rest, '}') >= 0 {
				return nil, fmt.Errorf("%q: unbalanced }", pattern)
			}
			n.parts = append(n.parts, indexPart{text: rest})
			break
		}
		if strings.IndexByte(rest[:open], '}') >= 0 {
			return nil, fmt.Errorf("%q: unbalanced }", pattern)
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return nil, fmt.Errorf("%q: unbalanced {", pattern)
		}
		layout := rest[open+1 : open+end]
		if layout == "" || strings.IndexByte(layout, '{') >= 0 {
			return nil, fmt.Errorf("%q: want a Go time layout inside {}, e.g. {2006.01.02}", pattern)
		}
		if open > 0 {
			n.parts = append(n.parts, indexPart{text: rest[:open]})
		}
		n.parts = append(n.parts, indexPart{text: layout, layout: true})
		rest = rest[open+end+1:]
	}
	if len(n.parts) == 1 && !n.parts[0].layout {
		n.fixed = n.parts[0].text
	}
	// Dates with two-digit fields both below and above 9 catch layouts
	// that yield an invalid name on some days only (e.g. "Jan").
	for _, t := range []time.Time{
		time.Date(2024, 5, 1, 2, 3, 4, 0, time.UTC),
		time.Date(2024, 12, 31, 23, 59, 59, 0, time.UTC),
	} {
		if err := checkIndexName(n.format(t)); err != nil {
			return nil, fmt.Errorf("%q: %w", pattern, err)
		}
	}
	return &n, nil
}

// format returns the index name for an event published at t.
func (n *indexName) format(t time.Time) string {
	if n.fixed != "" {
		return n.fixed
	}
	var b strings.Builder
	t = t.UTC()
	for _, p := range n.parts {
		if p.layout {
			b.WriteString(t.Format(p.text))
		} else {
			b.WriteString(p.text)
		}
	}
	return b.String()
}

// checkIndexName applies Elasticsearch's rules for index and data stream
// names: lowercase, at most 255 bytes, none of \/*?"<>|,# or space, not
// starting with -, _ or +, and not "." or "..".
func checkIndexName(name string) error {
	switch {
	case name == "", name == ".", name == "..":
		return fmt.Errorf("%q is not a valid index name", name)
	case len(name) > 255:
		return fmt.Errorf("index name %q is longer than 255 bytes", name)
	case strings.ContainsAny(name[:1], "-_+"):
		return fmt.Errorf("index name %q must not start with -, _ or +", name)
	case strings.ContainsAny(name, `\/*?"<>|,# :`):
		return fmt.Errorf(`index name %q must not contain any of \/*?"<>|,#: or space`, name)
	case strings.ToLower(name) != name:
		return fmt.Errorf("index name %q must be lowercase", name)
	}
	return nil
}
