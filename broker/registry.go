package broker

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/sr"
)

// Registry registers hookbridge's schemas with a Confluent-compatible schema
// registry.
type Registry struct {
	cl *sr.Client
}

// NewRegistry returns a registry client, or nil when no URL is configured.
func (c *Config) NewRegistry() (*Registry, error) {
	if c.Registry.URL == "" {
		return nil, nil
	}
	opts := []sr.ClientOpt{sr.URLs(c.Registry.URL)}
	if c.Registry.Username != "" {
		pass, err := c.Registry.Password.Resolve()
		if err != nil {
			return nil, fmt.Errorf("kafka.registry.password: %w", err)
		}
		opts = append(opts, sr.BasicAuth(c.Registry.Username, pass))
	}
	cl, err := sr.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("schema registry client: %w", err)
	}
	return &Registry{cl: cl}, nil
}

// Register registers an Avro schema under the subject <topic>-value (the
// registry's TopicNameStrategy) and returns its id. Registering a schema the
// subject already has returns the existing id.
func (r *Registry) Register(ctx context.Context, topic, avsc string) (uint32, error) {
	subject := topic + "-value"
	id, err := r.cl.RegisterSchema(ctx, subject, sr.Schema{Schema: avsc, Type: sr.TypeAvro}, -1, -1)
	if err != nil {
		return 0, fmt.Errorf("register schema for subject %s: %w", subject, err)
	}
	return uint32(id), nil
}

// Schema returns the schema text of an id, for decoding.
func (r *Registry) Schema(ctx context.Context, id uint32) (string, error) {
	s, err := r.cl.SchemaByID(ctx, int(id))
	if err != nil {
		return "", fmt.Errorf("fetch schema %d: %w", id, err)
	}
	return s.Schema, nil
}
