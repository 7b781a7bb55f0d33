package cli

import (
	"context"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/podling/podling/internal/client"
)

// getKinds maps each name the get command takes to the kind it means.
var getKinds = map[string]string{
	"task": "task", "tasks": "task",
	"pod": "pod", "pods": "pod",
	"service": "service", "services": "service", "svc": "service",
	"node": "node", "nodes": "node",
}

func (a *app) getCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "get KIND ID",
		Short: "Show one task, pod, service or node",
		Long: `Show one object. KIND is task, pod, service or node. A table by
default; -o json or -o yaml prints every field.`,
		Example:           "  podling get task 20250119123456-abc12345 -o yaml\n  podling get node worker-1",
		Args:              exactArgs(2),
		ValidArgsFunction: a.completeGet,
		RunE: a.calls(func(ctx context.Context, c *client.Client, args []string) error {
			kind, ok := getKinds[strings.ToLower(args[0])]
			if !ok {
				return usageErrorf("unknown kind %q: use task, pod, service or node", args[0])
			}
			return a.get(ctx, c, kind, args[1])
		}),
	}
}

func (a *app) get(ctx context.Context, c *client.Client, kind, id string) error {
	now := a.now()
	switch kind {
	case "task":
		task, _, err := c.GetTask(ctx, id, client.ReadOptions{})
		return printOne(a, taskTable(now), task, err)
	case "pod":
		pod, _, err := c.GetPod(ctx, id, client.ReadOptions{})
		return printOne(a, podTable(now), pod, err)
	case "service":
		svc, _, err := c.GetService(ctx, id, client.ReadOptions{})
		return printOne(a, serviceTable(now), svc, err)
	}
	node, _, err := c.GetNode(ctx, id, client.ReadOptions{})
	return printOne(a, nodeTable(now), node, err)
}

// printOne prints one object as a one-row table, or as JSON or YAML.
func printOne[T any](a *app, t table[T], item T, err error) error {
	if err != nil {
		return err
	}
	return a.print(a.out(), item, func(w io.Writer) error { return t.write(w, []T{item}, a.wide()) })
}

// completeGet completes the kind, then the IDs of that kind.
func (a *app) completeGet(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	switch len(args) {
	case 0:
		return []string{"task", "pod", "service", "node"}, cobra.ShellCompDirectiveNoFileComp
	case 1:
		return a.completeIDs(cmd, getKinds[strings.ToLower(args[0])])
	}
	return nil, cobra.ShellCompDirectiveNoFileComp
}

// completeIDs lists the IDs of one kind of object for shell completion,
// with the name of each object as its description.
func (a *app) completeIDs(cmd *cobra.Command, kind string) ([]string, cobra.ShellCompDirective) {
	none := cobra.ShellCompDirectiveNoFileComp
	if a.setup(cmd) != nil {
		return nil, none
	}
	c, err := a.client()
	if err != nil {
		return nil, none
	}
	ctx := cmd.Context()
	var ids []string
	switch kind {
	case "task":
		tasks, _, _ := c.ListTasks(ctx, client.ListOptions{ReadOptions: client.ReadOptions{Stale: true}})
		for _, t := range tasks {
			ids = append(ids, t.TaskID+"\t"+t.Name)
		}
	case "pod":
		pods, _, _ := c.ListPods(ctx, client.ListOptions{ReadOptions: client.ReadOptions{Stale: true}})
		for _, p := range pods {
			ids = append(ids, p.PodID+"\t"+p.Name)
		}
	case "service":
		services, _, _ := c.ListServices(ctx, client.ListOptions{ReadOptions: client.ReadOptions{Stale: true}})
		for _, s := range services {
			ids = append(ids, s.ServiceID+"\t"+s.Name)
		}
	case "node":
		nodes, _, _ := c.ListNodes(ctx, client.ReadOptions{Stale: true})
		for _, n := range nodes {
			ids = append(ids, n.NodeID+"\t"+string(n.Status))
		}
	}
	return ids, none
}

// completeKind returns a completion function for commands whose first
// argument is an ID of kind.
func (a *app) completeKind(kind string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return a.completeIDs(cmd, kind)
	}
}

// podOrTaskIDs completes the IDs of tasks and pods, as logs takes both.
func (a *app) podOrTaskIDs(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	tasks, directive := a.completeIDs(cmd, "task")
	pods, _ := a.completeIDs(cmd, "pod")
	return append(tasks, pods...), directive
}
