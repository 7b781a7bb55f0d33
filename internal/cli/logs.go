package cli

import (
	"context"
	"io"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/podling/podling/internal/client"
)

func (a *app) logsCommand() *cobra.Command {
	var opts client.LogOptions
	cmd := &cobra.Command{
		Use:   "logs ID",
		Short: "Print the output of a task's or a pod's container",
		Long: `Print the output of a container. ID is a task ID or a pod ID; a pod
with several containers needs --container. Any master relays the logs
from the worker that runs the container.`,
		Example:           "  podling logs 20250119123456-abc12345 --tail 20 -f",
		Args:              exactArgs(1),
		ValidArgsFunction: a.podOrTaskIDs,
		RunE: a.calls(func(ctx context.Context, c *client.Client, args []string) error {
			stream, err := openLogs(ctx, c, args[0], opts)
			if err != nil {
				return err
			}
			defer stream.Close()
			if _, err := io.Copy(a.out(), stream); err != nil && ctx.Err() == nil {
				return err
			}
			return nil
		}),
	}
	flags := cmd.Flags()
	flags.StringVarP(&opts.Container, "container", "c", "", "container of a pod to read; the only one when left out")
	flags.IntVar(&opts.Tail, "tail", 0, "number of last lines to print, 1 to 10000 (default 100)")
	flags.BoolVarP(&opts.Follow, "follow", "f", false, "keep printing new output until the container exits or you interrupt")
	return cmd
}

// openLogs opens the logs of the task id, or of the pod id when no task
// has that ID. A --container means a pod.
func openLogs(ctx context.Context, c *client.Client, id string, opts client.LogOptions) (io.ReadCloser, error) {
	if opts.Container != "" {
		return c.PodLogs(ctx, id, opts)
	}
	stream, taskErr := c.TaskLogs(ctx, id, opts)
	if !client.IsNotFound(taskErr) {
		return stream, taskErr
	}
	stream, podErr := c.PodLogs(ctx, id, opts)
	if !client.IsNotFound(podErr) {
		return stream, podErr
	}
	taskAPI, _ := client.AsAPIError(taskErr)
	podAPI, _ := client.AsAPIError(podErr)
	return nil, &client.APIError{
		Status: http.StatusNotFound, Code: podAPI.Code, Master: podAPI.Master,
		Message: taskAPI.Message + "; " + podAPI.Message,
	}
}
