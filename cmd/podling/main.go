// Command podling is the command line of a Podling cluster: it runs
// tasks, pods and services and shows nodes and masters. See podling
// --help.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/podling/podling/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	streams := cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Terminal: cli.IsTerminal(os.Stdout)}
	code := cli.Run(ctx, os.Args[1:], streams, os.LookupEnv)
	stop()
	os.Exit(code)
}
