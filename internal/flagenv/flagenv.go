// Package flagenv lets every command-line flag also be set from the
// environment, as PODLING_ followed by the flag name in upper snake case.
package flagenv

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// Prefix starts the name of every environment variable read.
const Prefix = "PODLING_"

// VarName returns the environment variable for a flag: "heartbeat-ttl"
// becomes PODLING_HEARTBEAT_TTL.
func VarName(flagName string) string {
	return Prefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Parse parses args into fs, then sets each flag that was not given on the
// command line from its environment variable, if that is set. A flag on the
// command line wins.
func Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var firstErr error
	fs.VisitAll(func(f *flag.Flag) {
		value, ok := os.LookupEnv(VarName(f.Name))
		if given[f.Name] || !ok || firstErr != nil {
			return
		}
		if err := fs.Set(f.Name, value); err != nil {
			firstErr = fmt.Errorf("invalid %s=%q: %w", VarName(f.Name), value, err)
		}
	})
	return firstErr
}

// Usage returns a usage function that lists each flag with its
// environment variable.
func Usage(fs *flag.FlagSet, summary string) func() {
	return func() {
		out := fs.Output()
		fmt.Fprintf(out, "%s\n\nFlags (each also read from the environment variable shown):\n", summary)
		fs.VisitAll(func(f *flag.Flag) {
			fmt.Fprintf(out, "  -%s (%s)\n    \t%s (default %q)\n", f.Name, VarName(f.Name), f.Usage, f.DefValue)
		})
	}
}
