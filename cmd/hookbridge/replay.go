package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/hookbridge/hookbridge/sinks"
)

func replayCmd() *cobra.Command {
	var path, name string
	var idle time.Duration
	cmd := &cobra.Command{
		Use:   "replay --config FILE --sink NAME",
		Short: "Deliver a sink's dead letters to its destination again",
		Long: "Read the dead-letter topic of a sink from where the last replay stopped and\n" +
			"deliver its events to the sink's destination, with the sink's batching and\n" +
			"retries. Events rejected again go to <dead-letter topic>.replay. It exits once\n" +
			"nothing new arrived for --idle and everything read was delivered.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadSinkConfig(path)
			if err != nil {
				return err
			}
			if cfg.Kafka.IsEmbedded() {
				return errors.New("kafka.brokers is empty: replay needs the Kafka the sink uses")
			}
			var sc *sinkConfig
			for i := range cfg.Sinks {
				if cfg.Sinks[i].Name == name {
					sc = &cfg.Sinks[i]
				}
			}
			if sc == nil {
				return fmt.Errorf("no sink named %q in %s", name, path)
			}
			dest, err := sc.destination()
			if err != nil {
				return err
			}
			rc := sc.Config
			rc.Topics = []string{sc.DeadLetterTopic}
			rc.DeadLetterTopic = sc.DeadLetterTopic + ".replay"
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			log, _ := cfg.Log.logger()
			s, err := sinks.New(ctx, rc, sinks.Options{
				Kafka: cfg.Kafka, Registerer: prometheus.NewRegistry(), Log: log, Destination: dest,
				Group: "hookbridge-replay-" + name, UntilIdle: idle,
			})
			if err != nil {
				return err
			}
			return s.Run(ctx)
		},
	}
	cmd.Flags().StringVar(&path, "config", "", "path of the YAML config file (required)")
	cmd.Flags().StringVar(&name, "sink", "", "name of the sink whose dead letters to replay (required)")
	cmd.Flags().DurationVar(&idle, "idle", 5*time.Second, "exit after this long without a new dead letter")
	_ = cmd.MarkFlagRequired("config")
	_ = cmd.MarkFlagRequired("sink")
	return cmd
}
