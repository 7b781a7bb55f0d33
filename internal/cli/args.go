package cli

import (
	"strings"

	"github.com/spf13/cobra"
)

// exactArgs accepts exactly n arguments and raises a usage error that
// shows the expected ones otherwise.
func exactArgs(n int) cobra.PositionalArgs {
	return rangeArgs(n, n)
}

// rangeArgs accepts min to max arguments.
func rangeArgs(min, max int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= min && len(args) <= max {
			return nil
		}
		expected := strings.TrimSpace(strings.TrimPrefix(cmd.Use, cmd.Name()))
		if expected == "" {
			return usageErrorf("%s takes no arguments, got %q", cmd.CommandPath(), strings.Join(args, " "))
		}
		return usageErrorf("%s expects %s, got %d argument(s)", cmd.CommandPath(), expected, len(args))
	}
}

// groupCommand returns a command that only holds subcommands. Run alone,
// or with an unknown subcommand, it raises a usage error.
func groupCommand(use, short string, subcommands ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageErrorf("%s needs a subcommand: %s", cmd.CommandPath(), strings.Join(subcommandNames(cmd), ", "))
		},
	}
	cmd.AddCommand(subcommands...)
	return cmd
}

func subcommandNames(cmd *cobra.Command) []string {
	var names []string
	for _, sub := range cmd.Commands() {
		if sub.IsAvailableCommand() {
			names = append(names, sub.Name())
		}
	}
	return names
}
