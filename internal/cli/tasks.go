package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/podling/podling/internal/client"
	"github.com/podling/podling/internal/types"
)

func (a *app) runCommand() *cobra.Command {
	var image, namespace string
	var env, labels []string
	var wait bool
	cmd := &cobra.Command{
		Use:   "run NAME --image IMAGE",
		Short: "Run a task: one container, to completion, on one worker",
		Long: `Run a task: one container, run to completion on one worker.

Prints the new task's ID, or the task with -o json or -o yaml. With --wait
it follows the task until it completes or fails, showing each status on a
terminal, and exits 1 when the task fails.`,
		Example: `  podling run hello --image podling/echo:dev -e ECHO_EXIT_CODE=0 --wait`,
		Args:    exactArgs(1),
		RunE: a.calls(func(ctx context.Context, c *client.Client, args []string) error {
			req := types.CreateTaskRequest{Name: args[0], Namespace: namespace, Image: image}
			var err error
			if req.Env, err = parsePairs("env", env, false); err != nil {
				return err
			}
			if req.Labels, err = parsePairs("label", labels, true); err != nil {
				return err
			}
			return a.run(ctx, c, req, wait)
		}),
	}
	flags := cmd.Flags()
	flags.StringVar(&image, "image", "", "container image to run (required)")
	flags.StringArrayVarP(&env, "env", "e", nil, "environment variable KEY=VALUE of the container; repeat for more")
	flags.StringArrayVarP(&labels, "label", "l", nil, "label key=value of the task; repeat or separate with commas for more")
	flags.StringVarP(&namespace, "namespace", "n", "", "namespace of the task (default \"default\")")
	flags.BoolVar(&wait, "wait", false, "wait until the task completes or fails")
	_ = cmd.MarkFlagRequired("image")
	return cmd
}

func (a *app) run(ctx context.Context, c *client.Client, req types.CreateTaskRequest, wait bool) error {
	task, meta, err := c.CreateTask(ctx, req)
	if err != nil {
		return err
	}
	if wait {
		a.progressf("task %s: %s\n", task.TaskID, task.Status)
		if task, err = a.waitTask(ctx, c, task, meta.Index); err != nil {
			return err
		}
	}
	if err := a.printID(task, task.TaskID); err != nil {
		return err
	}
	if task.Status == types.TaskFailed {
		return taskFailed(task)
	}
	return nil
}

// waitTask follows a task until its status is final. Each read waits on
// a master for the next index after the last one seen, so it does not
// poll in a loop.
func (a *app) waitTask(ctx context.Context, c *client.Client, task types.Task, index uint64) (types.Task, error) {
	for !task.Status.Terminal() {
		next, meta, err := c.GetTask(ctx, task.TaskID, client.ReadOptions{MinIndex: index + 1})
		if client.IsUnavailable(err) && ctx.Err() == nil {
			continue // no new index within the master's wait
		}
		if err != nil {
			return task, err
		}
		if meta.Index <= index && sleepContext(ctx, watchFallbackWait) != nil {
			return task, ctx.Err()
		}
		index = max(index, meta.Index)
		if next.Status != task.Status {
			a.progressf("task %s: %s%s\n", next.TaskID, next.Status, statusDetail(next))
		}
		task = next
	}
	return task, nil
}

// statusDetail returns where a task runs or how it ended.
func statusDetail(t types.Task) string {
	switch {
	case t.Status == types.TaskScheduled && t.NodeID != "":
		return " on node " + t.NodeID
	case t.Status == types.TaskCompleted || t.Status == types.TaskFailed:
		if t.ExitCode != nil {
			return fmt.Sprintf(" (exit code %d)", *t.ExitCode)
		}
	}
	return ""
}

// taskFailed is the error of run --wait for a task that failed.
func taskFailed(t types.Task) error {
	msg := fmt.Sprintf("task %s failed", t.TaskID)
	if t.Message != "" {
		msg += ": " + t.Message
	}
	if t.Reason != "" {
		msg += " (" + t.Reason + ")"
	}
	return fmt.Errorf("%s", msg)
}

// listFlags are the filters of a list command.
type listFlags struct {
	namespace string
	labels    []string
	status    string
	node      string
	watch     bool
}

func (f *listFlags) add(cmd *cobra.Command, statusAndNode bool) {
	flags := cmd.Flags()
	flags.StringVarP(&f.namespace, "namespace", "n", "", "list only this namespace (default: every namespace)")
	flags.StringArrayVarP(&f.labels, "selector", "l", nil, "list only objects with the label key=value; repeat or separate with commas for more")
	if statusAndNode {
		flags.StringVar(&f.status, "status", "", "list only this status, such as running or failed")
		flags.StringVar(&f.node, "node", "", "list only what runs on this node ID")
	}
	addWatchFlag(cmd, &f.watch)
}

func (f *listFlags) options() (client.ListOptions, error) {
	selector, err := parsePairs("selector", f.labels, true)
	if err != nil {
		return client.ListOptions{}, err
	}
	return client.ListOptions{Namespace: f.namespace, LabelSelector: selector, Status: f.status, NodeID: f.node}, nil
}

func (a *app) psCommand() *cobra.Command {
	var f listFlags
	cmd := &cobra.Command{
		Use:     "ps",
		Short:   "List tasks, oldest first",
		Example: "  podling ps --status running -l app=web\n  podling ps -w",
		Args:    exactArgs(0),
		RunE: a.calls(func(ctx context.Context, c *client.Client, _ []string) error {
			opts, err := f.options()
			if err != nil {
				return err
			}
			return a.list(ctx, f.watch, func(ctx context.Context, ro client.ReadOptions) (render, client.Meta, error) {
				opts.ReadOptions = ro
				tasks, meta, err := c.ListTasks(ctx, opts)
				return listRender(a, taskTable(a.now()), tasks, nil), meta, err
			})
		}),
	}
	f.add(cmd, true)
	return cmd
}
