// Package sinktest provides Kafka fixtures for sink tests: a kfake cluster
// holding generated Okta events written as ingest writes them, and the
// committed offsets of a sink's consumer group. It is for tests only.
package sinktest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/valyala/fastjson"

	"github.com/hookbridge/hookbridge/bench"
	"github.com/hookbridge/hookbridge/broker"
	"github.com/hookbridge/hookbridge/internal/jsontape"
	"github.com/hookbridge/hookbridge/schema"
)

const (
	// Topic is the topic Cluster writes its events to.
	Topic = "events"
	// Seed seeds the generator of the events, so that runs repeat.
	Seed = 7

	partitions = 2
	timeout    = 60 * time.Second // a bound, not a speed check
)

// Cluster starts an in-process kfake broker, closed when the test ends,
// with topic "events" of two partitions holding n generated events, and
// returns its config and the events' JSON in the order written.
func Cluster(t testing.TB, n int) (broker.Config, [][]byte) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	kc := broker.Default()
	kc.Brokers = c.ListenAddrs()
	kc.Topics.Partitions = 1
	return kc, produce(t, kc.Brokers, Topic, n)
}

// Produce creates topic with two partitions on the brokers at addr and
// writes n generated events to it, as ingest writes them. It returns the
// events' uuids in the order written.
func Produce(t testing.TB, addr, topic string, n int) []string {
	t.Helper()
	events := produce(t, []string{addr}, topic, n)
	uuids := make([]string, len(events))
	for i, ev := range events {
		uuids[i] = UUID(ev)
	}
	return uuids
}

// UUID returns the uuid of an event's JSON.
func UUID(event []byte) string {
	return string(fastjson.MustParseBytes(event).GetStringBytes("uuid"))
}

// Committed returns the group's committed offsets summed over partitions;
// 0 before the group exists.
func Committed(t testing.TB, kc broker.Config, group string) int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(kc.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	offs, err := kadm.NewClient(cl).FetchOffsets(context.Background(), group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	offs.Each(func(o kadm.OffsetResponse) { n += o.At })
	return n
}

// produce creates topic and writes n generated events to it as
// single-object Avro records keyed by uuid, event i to partition i%2.
func produce(t testing.TB, brokers []string, topic string, n int) [][]byte {
	t.Helper()
	s, err := schema.Parse()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, 1, nil, topic); err != nil {
		t.Fatal(err)
	}

	g := bench.NewGenerator(Seed)
	var enc schema.Encoder
	events := make([][]byte, 0, n)
	for i := range n {
		ev := g.Event()
		value := schema.AppendSingleObjectHeader(nil, s.LogEventFP)
		value, info, err := enc.AppendEvent(value, mustParse(t, ev),
			&schema.Meta{Source: "okta", ReceivedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		r := &kgo.Record{Topic: topic, Key: info.UUID, Value: value, Partition: int32(i % partitions)}
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Errorf("produce event %d: %v", i, err)
			}
		})
		events = append(events, ev)
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return events
}

// mustParse parses a copy of text, which the parser would rewrite.
func mustParse(t testing.TB, text []byte) jsontape.Value {
	t.Helper()
	v, err := jsontape.Parse(bytes.Clone(text))
	if err != nil {
		t.Fatalf("parse %s: %v", text, err)
	}
	return v
}
