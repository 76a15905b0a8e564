package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/hookbridge/hookbridge/schema"
)

func schemaCmd() *cobra.Command {
	var dead bool
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Print the Avro schema of the records hookbridge writes",
		Long: "Print the Avro schema (.avsc JSON) of event records, or with --dead-letter\n" +
			"of dead-letter records.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			text := schema.LogEventJSON()
			if dead {
				text = schema.DeadLetterJSON()
			}
			_, err := fmt.Fprintln(cmd.OutOrStdout(), text)
			return err
		},
	}
	cmd.Flags().BoolVar(&dead, "dead-letter", false, "print the dead-letter record schema instead")
	return cmd
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "hookbridge %s (%s)\n", version, runtime.Version())
		},
	}
}
