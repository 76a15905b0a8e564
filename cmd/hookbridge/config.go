package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/term"

	"github.com/hookbridge/hookbridge/broker"
	"github.com/hookbridge/hookbridge/confval"
	"github.com/hookbridge/hookbridge/ingest"
)

// config is the whole configuration file.
type config struct {
	ingest.Config `yaml:",inline"`
	Kafka         broker.Config `yaml:"kafka"`
	// Sinks forward topics to destinations; serve runs them beside ingest,
	// "hookbridge sink" runs them alone.
	Sinks []sinkConfig `yaml:"sinks"`
	Ops   struct {
		// Listen is the address of /healthz, /readyz and /metrics; default
		// 127.0.0.1:9090. Empty turns the listener off.
		Listen string `yaml:"listen"`
		// Pprof serves Go's profiler under /debug/pprof/ on that listener;
		// default off.
		Pprof bool `yaml:"pprof"`
	} `yaml:"ops"`
	Log logConfig `yaml:"log"`
}

type logConfig struct {
	// Level is debug, info, warn or error; default info.
	Level string `yaml:"level"`
	// Format is json, console, or auto (console on a terminal); default auto.
	Format string `yaml:"format"`
}

func defaultConfig() config {
	c := config{Config: ingest.DefaultConfig(), Kafka: broker.Default()}
	c.Ops.Listen = "127.0.0.1:9090"
	c.Log = logConfig{Level: "info", Format: "auto"}
	return c
}

// loadConfig reads the file over the defaults and validates everything.
func loadConfig(path string) (config, error) { return loadFile(path, true) }

// loadSinkConfig reads a config for running sinks alone: its ingest part
// (sources, server) may be absent.
func loadSinkConfig(path string) (config, error) { return loadFile(path, false) }

func loadFile(path string, ingest bool) (config, error) {
	c := defaultConfig()
	if path == "" {
		return c, errors.New("--config is required")
	}
	if err := confval.LoadYAML(path, &c); err != nil {
		return c, err
	}
	if ingest {
		if err := c.Config.Validate(); err != nil {
			return c, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := c.Kafka.Validate(); err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	names := map[string]bool{}
	for i := range c.Sinks {
		if err := c.Sinks[i].validate(); err != nil {
			return c, fmt.Errorf("config %s: %w", path, err)
		}
		if names[c.Sinks[i].Name] {
			return c, fmt.Errorf("config %s: sinks: name %q is used twice", path, c.Sinks[i].Name)
		}
		names[c.Sinks[i].Name] = true
	}
	if c.Ops.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Ops.Listen); err != nil {
			return c, fmt.Errorf("config %s: ops.listen: %q is not host:port", path, c.Ops.Listen)
		}
	}
	if _, err := c.Log.logger(); err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// logger builds the zerolog logger: JSON for machines, console for people.
func (l logConfig) logger() (zerolog.Logger, error) {
	level, err := zerolog.ParseLevel(l.Level)
	if err != nil || l.Level == "" {
		return zerolog.Nop(), fmt.Errorf("log.level: %q is not debug, info, warn or error", l.Level)
	}
	var log zerolog.Logger
	switch l.Format {
	case "json":
		log = zerolog.New(os.Stderr)
	case "console":
		log = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: time.TimeOnly})
	case "auto", "":
		if term.IsTerminal(int(os.Stderr.Fd())) {
			log = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: time.TimeOnly})
		} else {
			log = zerolog.New(os.Stderr)
		}
	default:
		return zerolog.Nop(), fmt.Errorf("log.format: %q is not json, console or auto", l.Format)
	}
	return log.Level(level).With().Timestamp().Logger(), nil
}
