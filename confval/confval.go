// Package confval holds the value types that configuration files share: a
// secret that may come from the file, an environment variable or a file on
// disk, and a byte size written with units.
package confval

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/dustin/go-humanize"
	"go.yaml.in/yaml/v3"
)

// Secret is a credential. In YAML it is either a plain string, or a mapping
// with exactly one of value, env (an environment variable's name) or file (a
// path whose contents, without a trailing newline, are the secret).
// It never prints its value.
type Secret struct {
	Value string `yaml:"value"`
	Env   string `yaml:"env"`
	File  string `yaml:"file"`
}

// UnmarshalYAML accepts the plain and the mapping form.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		s.Value = n.Value
		return nil
	}
	type plain Secret
	var p plain
	dec := n.Decode
	if err := dec(&p); err != nil {
		return err
	}
	*s = Secret(p)
	return nil
}

// IsZero reports whether no source is set.
func (s Secret) IsZero() bool { return s.Value == "" && s.Env == "" && s.File == "" }

// String describes where the secret comes from, never its value.
func (s Secret) String() string {
	switch {
	case s.Env != "":
		return "env:" + s.Env
	case s.File != "":
		return "file:" + s.File
	case s.Value != "":
		return "value:<redacted>"
	}
	return "<unset>"
}

// ErrEmptySecret is returned when a secret resolves to the empty string.
var ErrEmptySecret = errors.New("secret is empty")

// Resolve returns the secret's value.
func (s Secret) Resolve() (string, error) {
	set := 0
	for _, v := range []string{s.Value, s.Env, s.File} {
		if v != "" {
			set++
		}
	}
	if set != 1 {
		return "", fmt.Errorf("secret must set exactly one of value, env or file (%d set)", set)
	}
	var v string
	switch {
	case s.Env != "":
		var ok bool
		if v, ok = os.LookupEnv(s.Env); !ok {
			return "", fmt.Errorf("environment variable %s is not set", s.Env)
		}
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			return "", fmt.Errorf("read secret file: %w", err)
		}
		v = strings.TrimRight(string(b), "\r\n")
	default:
		v = s.Value
	}
	if v == "" {
		return "", fmt.Errorf("%s: %w", s, ErrEmptySecret)
	}
	return v, nil
}

// Bytes is a size in bytes. In YAML it is an integer or a string with a unit:
// 8MiB, 512KiB, 1GB.
type Bytes int64

// UnmarshalYAML parses the integer or the string with units.
func (b *Bytes) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a byte size such as 8MiB", n.Line)
	}
	v, err := humanize.ParseBytes(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: invalid byte size %q: %w", n.Line, n.Value, err)
	}
	if v > 1<<62 {
		return fmt.Errorf("line %d: byte size %q is too large", n.Line, n.Value)
	}
	*b = Bytes(v)
	return nil
}

// String prints the size with binary units.
func (b Bytes) String() string { return humanize.IBytes(uint64(b)) }
