// Command hookbridge receives Okta event hooks and writes their events to
// Kafka as Avro. Run "hookbridge --help" for the commands.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	root := &cobra.Command{
		Use:   "hookbridge",
		Short: "Bridge Okta event hooks into Kafka as Avro",
		Long: "hookbridge receives Okta event hook deliveries over HTTP, converts every event\n" +
			"to Avro without losing anything, and writes it to Kafka, answering Okta only\n" +
			"once the events are durable: acknowledged by Kafka, or fsynced to the local\n" +
			"spool while Kafka is away. Sinks forward the topics to other systems.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serveCmd(), sinkCmd(), replayCmd(), consumeCmd(), benchCmd(), brokerCmd(), schemaCmd(), versionCmd())
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "hookbridge:", err)
		os.Exit(1)
	}
}
