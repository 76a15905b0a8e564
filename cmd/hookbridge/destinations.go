package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hookbridge/hookbridge/sinks"
	"github.com/hookbridge/hookbridge/sinks/elastic"
	"github.com/hookbridge/hookbridge/sinks/splunk"
	"github.com/hookbridge/hookbridge/sinks/syslog"
)

// sinkConfig is one entry of the sinks section: the settings every sink has,
// and the section of its destination type.
type sinkConfig struct {
	sinks.Config `yaml:",inline"`
	Splunk       *splunk.Config  `yaml:"splunk"`
	Syslog       *syslog.Config  `yaml:"syslog"`
	Elastic      *elastic.Config `yaml:"elasticsearch"`
}

// destinationTypes are the sink types this build can run, with how each
// checks its section and builds its destination. stdout and file need no
// section; the sinks package builds them itself.
var destinationTypes = map[string]struct {
	validate func(*sinkConfig) error
	build    func(*sinkConfig) (sinks.Destination, error)
}{
	sinks.TypeStdout: {},
	sinks.TypeFile:   {},
	splunk.Type: {
		validate: func(c *sinkConfig) error {
			if c.Splunk == nil {
				return fmt.Errorf("sinks[%s]: a splunk_hec sink needs a splunk section", c.Name)
			}
			return c.Splunk.Validate()
		},
		build: func(c *sinkConfig) (sinks.Destination, error) { return splunk.New(c.Name, *c.Splunk) },
	},
	"elasticsearch": {
		validate: func(c *sinkConfig) error {
			if c.Elastic == nil {
				return fmt.Errorf("sinks[%s]: an elasticsearch sink needs an elasticsearch section", c.Name)
			}
			return c.Elastic.Validate()
		},
		build: func(c *sinkConfig) (sinks.Destination, error) { return elastic.New(c.Name, *c.Elastic) },
	},
	"syslog": {
		validate: func(c *sinkConfig) error {
			if c.Syslog == nil {
				return fmt.Errorf("sinks[%s]: a syslog sink needs a syslog section", c.Name)
			}
			return c.Syslog.Validate()
		},
		build: func(c *sinkConfig) (sinks.Destination, error) { return syslog.New(c.Name, *c.Syslog) },
	},
}

func (c *sinkConfig) validate() error {
	if err := c.Config.Validate(); err != nil {
		return err
	}
	t, ok := destinationTypes[c.Type]
	if !ok {
		return fmt.Errorf("sinks[%s].type %q is not one of %s", c.Name, c.Type, sinkTypeList())
	}
	if t.validate != nil {
		if err := t.validate(c); err != nil {
			return fmt.Errorf("sinks[%s]: %w", c.Name, err)
		}
	}
	return nil
}

// destination builds the sink's destination; nil lets the sinks package
// build a stdout or file one.
func (c *sinkConfig) destination() (sinks.Destination, error) {
	if b := destinationTypes[c.Type].build; b != nil {
		return b(c)
	}
	return nil, nil
}

func sinkTypeList() string {
	var out []string
	for t := range destinationTypes {
		out = append(out, t)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
