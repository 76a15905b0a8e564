package syslog

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// Defaults of Config.
const (
	DefaultFacility        = "local6"
	DefaultSeverity        = "info"
	DefaultAppName         = "hookbridge"
	DefaultMaxMessageBytes = 8192
	DefaultWriteTimeout    = 10 * time.Second
	// DefaultEnterpriseID is the private enterprise number RFC 5424 uses in
	// its examples; it makes the SD-ID okta@32473.
	DefaultEnterpriseID = 32473
)

// minMessageBytes is the smallest max_message_bytes accepted: below it not
// even the header and structured data of a typical event fit.
const minMessageBytes = 480

// RFC 5424 §6 field limits.
const (
	maxHostname = 255
	maxAppName  = 48
	maxMsgID    = 32
)

// facilities are the RFC 5424 facility codes by their usual names.
var facilities = map[string]int{
	"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5,
	"lpr": 6, "news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11,
	"ntp": 12, "security": 13, "console": 14, "solaris-cron": 15,
	"local0": 16, "local1": 17, "local2": 18, "local3": 19,
	"local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

// severities are the RFC 5424 severity codes by their usual names.
var severities = map[string]int{
	"emerg": 0, "alert": 1, "crit": 2, "err": 3, "error": 3,
	"warning": 4, "warn": 4, "notice": 5, "info": 6, "debug": 7,
}

// Config is a syslog destination: RFC 5424 messages over TCP or TLS
// (RFC 5425), octet-counted (RFC 6587).
type Config struct {
	// Address is the receiver's host:port.
	Address string `yaml:"address"`
	// TLS turns on RFC 5425 transport security.
	TLS bool `yaml:"tls"`
	// CAFile is a PEM bundle that verifies the receiver; the system roots
	// when empty. TLS only.
	CAFile string `yaml:"ca_file"`
	// InsecureSkipVerify accepts any certificate. For tests only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// ServerName is the name the certificate must carry; default the host
	// of Address.
	ServerName string `yaml:"server_name"`
	// Facility and Severity make the PRI; default local6 and info (<182>).
	Facility string `yaml:"facility"`
	Severity string `yaml:"severity"`
	// Hostname is the HOSTNAME header field; default os.Hostname.
	Hostname string `yaml:"hostname"`
	// AppName is the APP-NAME header field; default hookbridge.
	AppName string `yaml:"app_name"`
	// MaxMessageBytes caps a frame, length prefix included; an event whose
	// frame would be larger is dead-lettered, never truncated. Default 8192,
	// rsyslog's default limit.
	MaxMessageBytes int `yaml:"max_message_bytes"`
	// WriteTimeout bounds a blocked write (and the connect); when it fires
	// the connection is dropped and the unconfirmed events retried.
	// Default 10s.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// EnterpriseID is the private enterprise number of the structured data
	// element okta@<EnterpriseID>; default 32473.
	EnterpriseID int `yaml:"enterprise_id"`
}

// Validate fills defaults and checks the configuration; errors name the
// offending key as syslog.<key>.
func (c *Config) Validate() error {
	if err := c.validateAddress(); err != nil {
		return err
	}
	if err := c.fillHeader(); err != nil {
		return err
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.MaxMessageBytes < minMessageBytes {
		return fmt.Errorf("syslog.max_message_bytes %d: must be at least %d",
			c.MaxMessageBytes, minMessageBytes)
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.WriteTimeout < 0 {
		return fmt.Errorf("syslog.write_timeout %s: must be positive", c.WriteTimeout)
	}
	if c.EnterpriseID == 0 {
		c.EnterpriseID = DefaultEnterpriseID
	}
	if c.EnterpriseID < 0 {
		return fmt.Errorf("syslog.enterprise_id %d: must be positive", c.EnterpriseID)
	}
	return nil
}

func (c *Config) validateAddress() error {
	if c.Address == "" {
		return errors.New("syslog.address is required")
	}
	host, port, err := net.SplitHostPort(c.Address)
	if err != nil {
		return fmt.Errorf("syslog.address %q: %w", c.Address, err)
	}
	if host == "" || port == "" {
		return fmt.Errorf("syslog.address %q: want host:port", c.Address)
	}
	if !c.TLS && (c.CAFile != "" || c.InsecureSkipVerify || c.ServerName != "") {
		return errors.New("syslog.ca_file, syslog.insecure_skip_verify and syslog.server_name " +
			"need syslog.tls: true")
	}
	if c.TLS && c.ServerName == "" {
		c.ServerName = host
	}
	return nil
}

// fillHeader checks and defaults what goes into every message header.
func (c *Config) fillHeader() error {
	if c.Facility == "" {
		c.Facility = DefaultFacility
	}
	if _, ok := facilities[strings.ToLower(c.Facility)]; !ok {
		return fmt.Errorf("syslog.facility %q: unknown facility (kern ... local7)", c.Facility)
	}
	if c.Severity == "" {
		c.Severity = DefaultSeverity
	}
	if _, ok := severities[strings.ToLower(c.Severity)]; !ok {
		return fmt.Errorf("syslog.severity %q: unknown severity (emerg ... debug)", c.Severity)
	}
	if c.Hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("syslog.hostname: read the host name: %w", err)
		}
		c.Hostname = string(appendHeaderField(nil, h, maxHostname))
	}
	if !validHeaderField(c.Hostname, maxHostname) {
		return fmt.Errorf("syslog.hostname %q: want 1-%d printable ASCII characters, no spaces",
			c.Hostname, maxHostname)
	}
	if c.AppName == "" {
		c.AppName = DefaultAppName
	}
	if !validHeaderField(c.AppName, maxAppName) {
		return fmt.Errorf("syslog.app_name %q: want 1-%d printable ASCII characters, no spaces",
			c.AppName, maxAppName)
	}
	return nil
}

// pri is the message's PRI value, facility×8+severity. Validate must have
// run.
func (c *Config) pri() int {
	return facilities[strings.ToLower(c.Facility)]*8 + severities[strings.ToLower(c.Severity)]
}

// validHeaderField reports whether s is a legal RFC 5424 header field.
func validHeaderField(s string, maxLen int) bool {
	if s == "" || len(s) > maxLen {
		return false
	}
	for i := range len(s) {
		if s[i] < '!' || s[i] > '~' {
			return false
		}
	}
	return true
}
