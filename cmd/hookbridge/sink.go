package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/hookbridge/hookbridge/ops"
	"github.com/hookbridge/hookbridge/sinks"
)

func sinkCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "sink --config FILE",
		Short: "Run only the sinks of a config, without the ingest server",
		Long: "Run the sinks listed in the config's sinks section, so that they scale apart\n" +
			"from ingest. Each sink is its own Kafka consumer group. It needs kafka.brokers:\n" +
			"the embedded broker lives in the serve process.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(path)
			if err != nil {
				return err
			}
			if len(cfg.Sinks) == 0 {
				return errors.New("the config has no sinks")
			}
			if cfg.Kafka.IsEmbedded() {
				return errors.New("kafka.brokers is empty: run the sinks inside serve, or name the brokers")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			log, _ := cfg.Log.logger()
			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			if cfg.Ops.Listen != "" {
				opsSrv, err := ops.New(cfg.Ops.Listen, reg, func() (string, error) { return "sinks running", nil })
				if err != nil {
					return err
				}
				go func() { _ = opsSrv.Serve() }()
				defer opsSrv.Shutdown(context.Background())
			}
			stopSinks, err := startSinks(ctx, cfg, nil, reg, log)
			if err != nil {
				return err
			}
			<-ctx.Done()
			stopSinks()
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "config", "", "path of the YAML config file (required)")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

// startSinks starts every configured sink and returns a function that stops
// them, waiting until each committed what it delivered.
func startSinks(ctx context.Context, cfg config, seeds []string, reg prometheus.Registerer,
	log zerolog.Logger,
) (func(), error) {
	sctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, sc := range cfg.Sinks {
		s, err := sinks.New(ctx, sc, sinks.Options{Kafka: cfg.Kafka, Seeds: seeds, Registerer: reg, Log: log})
		if err != nil {
			cancel()
			wg.Wait()
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Run(sctx); err != nil {
				log.Error().Err(err).Str("sink", sc.Name).Msg("sink stopped with an error")
			}
		}()
	}
	return func() { cancel(); wg.Wait() }, nil
}
