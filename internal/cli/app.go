// Package cli implements the podling command line on top of
// internal/client: it parses commands and flags, calls the masters and
// prints what they return as tables, JSON or YAML.
package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/podling/podling/internal/client"
)

// Streams are the standard streams of one run of the command line.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
	// Terminal reports whether Out is a terminal. Progress of long
	// commands is shown only then, on Err.
	Terminal bool
}

// LookupEnv returns the value of an environment variable and whether it
// is set, like os.LookupEnv.
type LookupEnv func(name string) (string, bool)

// app is the state of one run: the global flags, the streams and the
// client built from them.
type app struct {
	streams Streams
	env     LookupEnv
	now     func() time.Time

	masters string
	token   string
	caFile  string
	timeout time.Duration
	output  string

	api *client.Client
}

// Run runs the podling command line with args, not counting the program
// name, and returns the process exit code. Cancelling ctx, as Ctrl-C
// does, stops a command.
func Run(ctx context.Context, args []string, streams Streams, env LookupEnv) int {
	if env == nil {
		env = os.LookupEnv
	}
	a := &app{streams: streams, env: env, now: time.Now}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.Err)
	cmd, err := root.ExecuteContextC(ctx)
	return a.report(cmd, err)
}

// globalFlags lists the flags every command takes. Each also reads the
// environment variable PODLING_ followed by its name in upper snake case.
var globalFlags = []string{"masters", "token", "ca-file", "timeout", "output"}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "podling",
		Short: "Run and inspect work on a Podling cluster",
		Long: `podling runs tasks, pods and services on a Podling cluster and shows
its nodes and masters. It tries each master of --masters in turn, so it
keeps working while any master that can serve a call is up.

Exit codes: 0 success, 1 the cluster rejected the request or the command
failed, 2 usage error, 3 no master reachable, 130 interrupted.`,
		SilenceErrors:     true,
		SilenceUsage:      true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return a.setup(cmd) },
	}
	flags := root.PersistentFlags()
	flags.StringVar(&a.masters, "masters", client.DefaultMaster, "comma-separated master URLs, tried in turn (env PODLING_MASTERS)")
	flags.StringVar(&a.token, "token", "", "JWT sent to the masters as Authorization: Bearer (env PODLING_TOKEN)")
	flags.StringVar(&a.caFile, "ca-file", "", "PEM file of the certificates that https masters are checked against (env PODLING_CA_FILE)")
	flags.DurationVar(&a.timeout, "timeout", client.DefaultTimeout,
		"longest time one call to the cluster may take, retries across masters included, as a duration such as 30s or 2m; 0 means no limit (env PODLING_TIMEOUT)")
	flags.StringVarP(&a.output, "output", "o", "", "output format: table (the default), wide, json or yaml (env PODLING_OUTPUT)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErrorf("%v", err) })
	root.AddCommand(
		a.runCommand(), a.psCommand(), a.getCommand(), a.logsCommand(),
		a.podCommand(), a.podsCommand(), a.serviceCommand(), a.servicesCommand(),
		a.nodesCommand(), a.nodeCommand(), a.clusterCommand(), a.snapshotCommand(), a.tokenCommand(),
	)
	return root
}

// setup applies environment variables to the global flags not given on
// the command line and checks the output format.
func (a *app) setup(cmd *cobra.Command) error {
	for _, name := range globalFlags {
		f := cmd.Flags().Lookup(name)
		if f == nil || f.Changed {
			continue
		}
		if err := a.setFromEnv(f); err != nil {
			return err
		}
	}
	switch a.output {
	case "", "table", "wide", "json", "yaml":
		return nil
	}
	return usageErrorf("invalid output format %q: use table, wide, json or yaml", a.output)
}

func (a *app) setFromEnv(f *pflag.Flag) error {
	name := "PODLING_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
	value, ok := a.env(name)
	if !ok {
		return nil
	}
	if err := f.Value.Set(value); err != nil {
		return usageErrorf("invalid %s=%q: %v", name, value, err)
	}
	return nil
}

// client returns the client for the global flags, built on first use.
func (a *app) client() (*client.Client, error) {
	if a.api != nil {
		return a.api, nil
	}
	timeout := a.timeout
	if timeout == 0 {
		timeout = -1 // the client's word for no limit
	}
	c, err := client.New(client.Options{
		Masters: strings.Split(a.masters, ","), Token: a.token, CAFile: a.caFile, Timeout: timeout,
	})
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	a.api = c
	return c, nil
}

// runFunc is the body of a command that calls the cluster.
type runFunc func(ctx context.Context, c *client.Client, args []string) error

// calls returns a RunE that builds the client and runs fn. Errors it
// returns are marked as the command's own, so that report can tell them
// from the usage errors cobra raises before a command runs.
func (a *app) calls(fn runFunc) func(*cobra.Command, []string) error {
	return a.local(func(ctx context.Context, args []string) error {
		c, err := a.client()
		if err != nil {
			return err
		}
		return fn(ctx, c, args)
	})
}

// local returns a RunE for a command that needs no client.
func (a *app) local(fn func(ctx context.Context, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := fn(cmd.Context(), args); err != nil {
			return commandError{err}
		}
		return nil
	}
}

func (a *app) out() io.Writer { return a.streams.Out }

// progressf writes a progress line to Err, only when Out is a terminal.
func (a *app) progressf(format string, args ...any) {
	if a.streams.Terminal {
		fmt.Fprintf(a.streams.Err, format, args...)
	}
}
