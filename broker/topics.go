package broker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// DefaultMaxMessageBytes is Kafka's default message.max.bytes, used when a
// topic's limit cannot be read.
const DefaultMaxMessageBytes = 1048588

// TopicSpec is a topic hookbridge writes to.
type TopicSpec struct {
	Name string
	// Configs are topic configs set when the topic is created, e.g.
	// max.message.bytes for the dead-letter topic.
	Configs map[string]string
}

// EnsureTopics creates the topics that do not exist yet, when c.Topics.Create
// is set, and otherwise fails naming the missing ones. It returns each topic's
// max.message.bytes.
func (c *Config) EnsureTopics(ctx context.Context, adm *kadm.Client, topics []TopicSpec) (map[string]int, error) {
	names := make([]string, 0, len(topics))
	for _, t := range topics {
		names = append(names, t.Name)
	}
	details, err := adm.ListTopics(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	for _, t := range topics {
		if d, ok := details[t.Name]; ok && d.Err == nil {
			continue
		}
		if !c.Topics.Create {
			return nil, fmt.Errorf("topic %s does not exist and kafka.topics.create is off", t.Name)
		}
		configs := make(map[string]*string, len(t.Configs))
		for k, v := range t.Configs {
			configs[k] = &v
		}
		resp, err := adm.CreateTopic(ctx, c.partitions(), c.Topics.ReplicationFactor, configs, t.Name)
		if err != nil {
			return nil, fmt.Errorf("create topic %s: %w", t.Name, err)
		}
		if resp.Err != nil && !errors.Is(resp.Err, kerr.TopicAlreadyExists) {
			return nil, fmt.Errorf("create topic %s: %w", t.Name, resp.Err)
		}
	}
	// A topic just created reaches a KRaft broker's metadata a moment after
	// CreateTopics returns; until then describing it fails with
	// UNKNOWN_TOPIC_OR_PARTITION, so that error is retried.
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		limits, err := maxMessageBytes(ctx, adm, names)
		if err == nil || !errors.Is(err, kerr.UnknownTopicOrPartition) {
			return limits, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(wait):
		}
	}
}

func (c *Config) partitions() int32 {
	if c.IsEmbedded() && c.Embedded.Partitions > 0 {
		return c.Embedded.Partitions
	}
	return c.Topics.Partitions
}

func maxMessageBytes(ctx context.Context, adm *kadm.Client, names []string) (map[string]int, error) {
	out := make(map[string]int, len(names))
	for _, n := range names {
		out[n] = DefaultMaxMessageBytes
	}
	configs, err := adm.DescribeTopicConfigs(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("describe topic configs: %w", err)
	}
	for _, rc := range configs {
		if rc.Err != nil {
			return nil, fmt.Errorf("describe topic %s: %w", rc.Name, rc.Err)
		}
		for _, cfg := range rc.Configs {
			if cfg.Key != "max.message.bytes" || cfg.Value == nil {
				continue
			}
			if v, err := strconv.Atoi(*cfg.Value); err == nil && v > 0 {
				out[rc.Name] = v
			}
		}
	}
	return out, nil
}
