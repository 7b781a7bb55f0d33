package cli

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/podling/podling/internal/client"
	"github.com/podling/podling/internal/types"
)

func (a *app) nodeCommand() *cobra.Command {
	return groupCommand("node", "List, drain and uncordon worker nodes",
		a.nodeListCommand("ls"), a.nodeDrainCommand(), a.nodeUncordonCommand())
}

// nodesCommand is the short form of node ls.
func (a *app) nodesCommand() *cobra.Command { return a.nodeListCommand("nodes") }

func (a *app) nodeListCommand(use string) *cobra.Command {
	var watch bool
	cmd := &cobra.Command{
		Use:   use,
		Short: "List worker nodes, by ID",
		Args:  exactArgs(0),
		RunE: a.calls(func(ctx context.Context, c *client.Client, _ []string) error {
			return a.list(ctx, watch, func(ctx context.Context, ro client.ReadOptions) (render, client.Meta, error) {
				nodes, meta, err := c.ListNodes(ctx, ro)
				return listRender(a, nodeTable(a.now()), nodes, withoutHeartbeats), meta, err
			})
		}),
	}
	addWatchFlag(cmd, &watch)
	return cmd
}

// withoutHeartbeats leaves out the heartbeat times, which move every
// second, so a watch prints nodes again only when something else changed.
func withoutHeartbeats(nodes []types.Node) any {
	out := make([]types.Node, len(nodes))
	for i, n := range nodes {
		n.LastHeartbeat = time.Time{}
		out[i] = n
	}
	return out
}

func (a *app) nodeDrainCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "drain ID",
		Short: "Cordon a node and move its pods elsewhere",
		Long: `Cordon a node, so nothing new is placed there, and move its pods to
other nodes. Pods with restartPolicy Never stay, since moving them would
run them twice; tasks finish where they run. Draining again resumes a
drain that stopped halfway.`,
		Args:              exactArgs(1),
		ValidArgsFunction: a.completeKind("node"),
		RunE: a.calls(func(ctx context.Context, c *client.Client, args []string) error {
			result, _, err := c.DrainNode(ctx, args[0])
			if err != nil {
				return err
			}
			return a.printMessage(result, "node %s drained; moved pods: %s; kept pods: %s",
				result.Node.NodeID, listOrNone(result.MovedPods), listOrNone(result.KeptPods))
		}),
	}
}

func (a *app) nodeUncordonCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "uncordon ID",
		Short:             "Let new work onto a node again",
		Args:              exactArgs(1),
		ValidArgsFunction: a.completeKind("node"),
		RunE: a.calls(func(ctx context.Context, c *client.Client, args []string) error {
			node, _, err := c.UncordonNode(ctx, args[0])
			if err != nil {
				return err
			}
			return a.printMessage(node, "node %s uncordoned", node.NodeID)
		}),
	}
}

func listOrNone(items []string) string {
	if len(items) == 0 {
		return "none"
	}
	return strings.Join(items, ", ")
}
