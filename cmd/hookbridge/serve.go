package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/hookbridge/hookbridge/broker"
	"github.com/hookbridge/hookbridge/ingest"
	"github.com/hookbridge/hookbridge/ops"
)

// shutdownTimeout bounds answering in-flight deliveries and flushing Kafka
// after SIGINT or SIGTERM.
const shutdownTimeout = 15 * time.Second

func serveCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "serve --config FILE",
		Short: "Run the ingest server",
		Long: "Run the ingest server described by the YAML config file. Without Kafka brokers\n" +
			"in the config, an embedded single-node development broker is started.\n" +
			"SIGINT or SIGTERM stop it gracefully: in-flight deliveries are answered first.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(path)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return serve(ctx, cfg)
		},
	}
	cmd.Flags().StringVar(&path, "config", "", "path of the YAML config file (required)")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

func serve(ctx context.Context, cfg config) error {
	log, _ := cfg.Log.logger()
	log.Info().Str("version", version).Str("listen", cfg.Server.Listen).
		Int("sources", len(cfg.Sources)).Strs("brokers", cfg.Kafka.Brokers).
		Stringer("response_budget", cfg.Server.ResponseBudget).Stringer("dedup_window", cfg.Dedup.Window).
		Msg("starting hookbridge")

	var seeds []string
	if cfg.Kafka.IsEmbedded() {
		emb, err := broker.StartEmbedded(cfg.Kafka.Embedded)
		if err != nil {
			return err
		}
		defer emb.Close()
		seeds = []string{emb.Addr()}
		log.Warn().Str("addr", emb.Addr()).Str("data_dir", cfg.Kafka.Embedded.DataDir).
			Msg("no kafka.brokers configured: using the embedded development broker, not for production")
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	svc, err := ingest.New(ctx, cfg.Config, ingest.Options{
		Kafka: cfg.Kafka, Seeds: seeds, Registerer: reg, Log: log,
	})
	if err != nil {
		return err
	}
	errs := make(chan error, 2)
	go func() { errs <- svc.Serve() }()
	running, err := startSinks(ctx, cfg, seeds, reg, log)
	if err != nil {
		_ = svc.Shutdown(context.Background())
		return err
	}
	defer running.stop()

	var opsSrv *ops.Server
	if cfg.Ops.Listen != "" {
		ready := func() (string, error) {
			detail, err := svc.Ready()
			if err != nil {
				return detail, err
			}
			return detail, running.healthy()
		}
		if opsSrv, err = ops.New(cfg.Ops.Listen, reg, ready, cfg.Ops.Pprof); err != nil {
			_ = svc.Shutdown(context.Background())
			return err
		}
		go func() { errs <- opsSrv.Serve() }()
		paths := "/healthz /readyz /metrics"
		if cfg.Ops.Pprof {
			paths += " /debug/pprof/"
		}
		log.Info().Str("listen", opsSrv.Addr()).Msg("ops endpoints serving " + paths)
	}

	var runErr error
	select {
	case <-ctx.Done():
		log.Info().Msg("stopping: answering in-flight deliveries")
	case runErr = <-errs:
		log.Error().Err(runErr).Msg("server stopped unexpectedly")
	}
	return errors.Join(runErr, shutdown(log, svc, opsSrv))
}

func shutdown(log zerolog.Logger, svc *ingest.Service, opsSrv *ops.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := svc.Shutdown(ctx)
	if opsSrv != nil {
		err = errors.Join(err, opsSrv.Shutdown(ctx))
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info().Msg("stopped")
	return nil
}
