package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/podling/podling/internal/client"
)

// Exit codes of the podling command.
const (
	ExitOK          = 0
	ExitFailed      = 1 // the cluster rejected the request, or the command failed
	ExitUsage       = 2
	ExitUnreachable = 3
	ExitInterrupted = 130
)

// usageError is a command line that cannot be run as given.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return usageError{msg: fmt.Sprintf(format, args...)}
}

// commandError marks an error returned while a command ran, as opposed
// to one that cobra raised while parsing the command line.
type commandError struct{ err error }

func (e commandError) Error() string { return e.err.Error() }
func (e commandError) Unwrap() error { return e.err }

// exitCode maps the error of a run to the process exit code.
func exitCode(err error) int {
	var usage usageError
	var ran commandError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &usage):
		return ExitUsage
	case !errors.As(err, &ran):
		return ExitUsage // raised by cobra: unknown command or flag, missing flag
	case client.IsUnreachable(err):
		return ExitUnreachable
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	}
	return ExitFailed
}

// report prints err, if any, and returns the exit code for it. A
// master's error is printed as its message and code.
func (a *app) report(cmd *cobra.Command, err error) int {
	code := exitCode(err)
	switch code {
	case ExitOK:
	case ExitUsage:
		fmt.Fprintf(a.streams.Err, "podling: %v\n", err)
		if cmd != nil {
			fmt.Fprintf(a.streams.Err, "Run '%s --help' for usage.\n", cmd.CommandPath())
		}
	case ExitInterrupted:
		fmt.Fprintln(a.streams.Err, "podling: interrupted")
	default:
		if apiErr, ok := client.AsAPIError(err); ok {
			err = apiErr
		}
		fmt.Fprintf(a.streams.Err, "podling: %v\n", err)
	}
	return code
}
