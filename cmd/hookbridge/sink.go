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
			cfg, err := loadSinkConfig(path)
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
			running, err := startSinks(ctx, cfg, nil, reg, log)
			if err != nil {
				return err
			}
			if cfg.Ops.Listen != "" {
				opsSrv, err := ops.New(cfg.Ops.Listen, reg, func() (string, error) {
					return "sinks delivering", running.healthy()
				}, cfg.Ops.Pprof)
				if err != nil {
					running.stop()
					return err
				}
				go func() { _ = opsSrv.Serve() }()
				defer opsSrv.Shutdown(context.Background())
			}
			<-ctx.Done()
			running.stop()
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "config", "", "path of the YAML config file (required)")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

// runningSinks are the sinks a process runs.
type runningSinks struct {
	sinks  []*sinks.Sink
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// stop stops the sinks, waiting until each committed what it delivered.
func (r *runningSinks) stop() {
	r.cancel()
	r.wg.Wait()
}

// healthy returns the first sink that cannot deliver, if any.
func (r *runningSinks) healthy() error {
	var errs []error
	for _, s := range r.sinks {
		errs = append(errs, s.Healthy())
	}
	return errors.Join(errs...)
}

// startSinks starts every configured sink.
func startSinks(ctx context.Context, cfg config, seeds []string, reg prometheus.Registerer,
	log zerolog.Logger,
) (*runningSinks, error) {
	sctx, cancel := context.WithCancel(context.Background())
	r := &runningSinks{cancel: cancel}
	for _, sc := range cfg.Sinks {
		dest, err := sc.destination()
		if err != nil {
			r.stop()
			return nil, err
		}
		s, err := sinks.New(ctx, sc.Config, sinks.Options{
			Kafka: cfg.Kafka, Seeds: seeds, Registerer: reg, Log: log, Destination: dest,
		})
		if err != nil {
			r.stop()
			return nil, err
		}
		r.sinks = append(r.sinks, s)
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			if err := s.Run(sctx); err != nil {
				log.Error().Err(err).Str("sink", sc.Name).Msg("sink stopped with an error")
			}
		}()
	}
	return r, nil
}
