package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/hookbridge/hookbridge/broker"
)

func brokerCmd() *cobra.Command {
	cfg := broker.Default().Embedded
	var discard bool
	cmd := &cobra.Command{
		Use:   "broker [--listen ADDR] [--data-dir DIR]",
		Short: "Run the embedded single-node Kafka broker on its own, for development",
		Long: "Run the development broker that serve embeds when no brokers are configured,\n" +
			"as a process of its own: a local Kafka without Java, for trying hookbridge,\n" +
			"for tests and for benchmarks. It is not a production Kafka: one node, no\n" +
			"replication. With --data-dir its log is fsynced per write and survives restarts;\n" +
			"--no-sync leaves flushing to the OS, as Kafka does by default, for load tests.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			start, what := broker.StartEmbedded, fmt.Sprintf("data dir %q", cfg.DataDir)
			if cfg.DataDir == "" {
				what = "log in memory"
			} else if cfg.NoSync {
				what += ", no fsync per write"
			}
			if discard {
				start, what = broker.StartDiscarding, "discarding produced records"
			}
			e, err := start(cfg)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "development broker listening on %s (%s)\n", e.Addr(), what)
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
			<-sig
			e.Close()
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&cfg.Listen, "listen", cfg.Listen, "address to listen on")
	fl.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory of the broker's log; empty keeps it in memory")
	fl.BoolVar(&cfg.NoSync, "no-sync", false,
		"with --data-dir, leave flushing to the OS as Kafka does by default instead of an fsync per write "+
			"(faster; a machine crash can lose acknowledged events)")
	fl.BoolVar(&discard, "discard", false,
		"acknowledge produced records and drop them, for long load tests (nothing can be consumed)")
	return cmd
}
