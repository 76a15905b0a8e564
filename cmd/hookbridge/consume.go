package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookbridge/hookbridge/broker"
	"github.com/hookbridge/hookbridge/schema"
)

type consumeFlags struct {
	config        string
	brokers       string
	topic         string
	registry      string
	fromBeginning bool
	max           int
	timeout       time.Duration
	raw           bool
	// brokersSet says --brokers was given, so it wins over the config file.
	brokersSet bool
}

func consumeCmd() *cobra.Command {
	var f consumeFlags
	cmd := &cobra.Command{
		Use:   "consume --topic T [--brokers LIST] [--from-beginning] [--max N] [--timeout D]",
		Short: "Print the events of a topic as JSON, one object per line",
		Long: "Read a topic hookbridge writes, decode each Avro record and print one JSON object\n" +
			"per line: the event as Okta sent it, plus a _kafka member with the topic,\n" +
			"partition, offset, key, timestamp and headers. Dead-letter records print the\n" +
			"event as received plus a _deadletter member.\n\n" +
			"It exits 0 after --max records, or once --timeout passes without a new record.",
		Example: "  hookbridge consume --brokers 127.0.0.1:9092 --topic okta.events --from-beginning --timeout 5s",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.brokersSet = cmd.Flags().Changed("brokers")
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return consume(ctx, f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.brokers, "brokers", "127.0.0.1:9092", "comma-separated Kafka brokers, host:port")
	fl.StringVar(&f.topic, "topic", "", "topic to read (required)")
	fl.StringVar(&f.config, "config", "",
		"take Kafka TLS, SASL and registry settings (and brokers, unless --brokers is given) from this config file")
	fl.StringVar(&f.registry, "registry", "", "schema registry URL, for registry-framed records")
	fl.BoolVar(&f.fromBeginning, "from-beginning", false, "start at the oldest record instead of the newest")
	fl.IntVar(&f.max, "max", 0, "exit after this many records (0: no limit)")
	fl.BoolVar(&f.raw, "raw", false,
		"print each record's value undecoded, base64 in a value_base64 member, for other Avro tools")
	fl.DurationVar(&f.timeout, "timeout", 0, "exit after this long without a new record (0: wait forever)")
	_ = cmd.MarkFlagRequired("topic")
	return cmd
}

func consume(ctx context.Context, f consumeFlags, stdout, stderr io.Writer) error {
	kc := broker.Default()
	if f.config != "" {
		c, err := loadConfig(f.config)
		if err != nil {
			return err
		}
		kc = c.Kafka
	}
	switch {
	case f.brokersSet || f.config == "":
		kc.Brokers = strings.Split(f.brokers, ",")
	case len(kc.Brokers) == 0:
		kc.Brokers = []string{kc.Embedded.Listen} // the config's embedded broker
	}
	if f.registry != "" {
		kc.Registry.URL = f.registry
	}
	opts, err := kc.ClientOpts()
	if err != nil {
		return err
	}
	start := kgo.NewOffset().AtEnd()
	if f.fromBeginning {
		start = kgo.NewOffset().AtStart()
	}
	cl, err := kgo.NewClient(append(opts, kgo.ConsumeTopics(f.topic), kgo.ConsumeResetOffset(start))...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()

	reader, err := newReader(ctx, &kc)
	if err != nil {
		return err
	}
	return consumeLoop(ctx, cl, reader, f, stdout, stderr)
}

func newReader(ctx context.Context, kc *broker.Config) (*schema.Reader, error) {
	schemas, err := schema.Parse()
	if err != nil {
		return nil, err
	}
	reg, err := kc.NewRegistry()
	if err != nil {
		return nil, err
	}
	var lookup func(uint32) (string, error)
	if reg != nil {
		lookup = func(id uint32) (string, error) { return reg.Schema(ctx, id) }
	}
	return schema.NewReader(schemas, lookup), nil
}

func consumeLoop(ctx context.Context, cl *kgo.Client, reader *schema.Reader, f consumeFlags,
	stdout, stderr io.Writer,
) error {
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	var line []byte
	n, bad := 0, 0
	for f.max == 0 || n < f.max {
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if f.timeout > 0 {
			pctx, cancel = context.WithTimeout(ctx, f.timeout)
		}
		fetches := cl.PollRecords(pctx, f.max-n)
		cancel()
		if ctx.Err() != nil {
			break
		}
		if pctx.Err() != nil && fetches.NumRecords() == 0 {
			break // --timeout passed with nothing new
		}
		for _, fe := range fetches.Errors() {
			if !errors.Is(fe.Err, context.DeadlineExceeded) && !errors.Is(fe.Err, context.Canceled) {
				return fmt.Errorf("fetch %s/%d: %w", fe.Topic, fe.Partition, fe.Err)
			}
		}
		for _, r := range fetches.Records() {
			var err error
			if f.raw {
				line, err = appendRawRecordJSON(line[:0], r), nil
			} else {
				line, err = appendRecordJSON(line[:0], reader, r)
			}
			if err != nil {
				bad++
				fmt.Fprintf(stderr, "hookbridge: %s/%d@%d: %v\n", r.Topic, r.Partition, r.Offset, err)
				continue
			}
			line = append(line, '\n')
			if _, err := out.Write(line); err != nil {
				return err
			}
			n++
		}
		if err := out.Flush(); err != nil {
			return err
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d records could not be decoded", bad)
	}
	return nil
}

// appendRecordJSON appends the decoded event with a _kafka member.
func appendRecordJSON(dst []byte, reader *schema.Reader, r *kgo.Record) ([]byte, error) {
	start := len(dst)
	dst, err := reader.AppendJSON(dst, r.Value)
	if err != nil {
		return dst[:start], err
	}
	dst = dst[:len(dst)-1] // reopen the object
	if len(dst)-start > 1 {
		dst = append(dst, ',')
	}
	dst = appendKafkaMeta(dst, r)
	return append(dst, '}'), nil
}

// appendRawRecordJSON writes the record's value as base64, with the
// _kafka member.
func appendRawRecordJSON(dst []byte, r *kgo.Record) []byte {
	dst = append(dst, `{"value_base64":"`...)
	dst = base64.StdEncoding.AppendEncode(dst, r.Value)
	dst = append(dst, `",`...)
	dst = appendKafkaMeta(dst, r)
	return append(dst, '}')
}

func appendKafkaMeta(dst []byte, r *kgo.Record) []byte {
	dst = append(dst, `"_kafka":{"topic":`...)
	dst = schema.AppendJSONString(dst, []byte(r.Topic))
	dst = append(dst, `,"partition":`...)
	dst = strconv.AppendInt(dst, int64(r.Partition), 10)
	dst = append(dst, `,"offset":`...)
	dst = strconv.AppendInt(dst, r.Offset, 10)
	dst = append(dst, `,"timestamp":`...)
	dst = strconv.AppendQuote(dst, r.Timestamp.UTC().Format(time.RFC3339Nano))
	dst = append(dst, `,"key":`...)
	dst = appendMaybeString(dst, r.Key)
	dst = append(dst, `,"headers":{`...)
	for i, h := range r.Headers {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = schema.AppendJSONString(dst, []byte(h.Key))
		dst = append(dst, ':')
		dst = appendMaybeString(dst, h.Value)
	}
	return append(dst, "}}"...)
}

// appendMaybeString writes nil as null and bytes as a JSON string, with
// invalid UTF-8 replaced.
func appendMaybeString(dst, b []byte) []byte {
	if b == nil {
		return append(dst, "null"...)
	}
	return schema.AppendJSONString(dst, []byte(strings.ToValidUTF8(string(b), "\uFFFD")))
}
