package cli

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/podling/podling/internal/client"
)

func (a *app) clusterCommand() *cobra.Command {
	return groupCommand("cluster", "Show and change the masters of the cluster",
		a.clusterStatusCommand(), a.clusterMembersCommand(), a.clusterJoinCommand(),
		a.clusterRemoveCommand(), a.clusterTransferCommand(), a.clusterFailoversCommand())
}

func (a *app) clusterStatusCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the leader, its term and indexes, and the members' health",
		Args:  exactArgs(0),
		RunE: a.calls(func(ctx context.Context, c *client.Client, _ []string) error {
			info, _, err := c.Cluster(ctx)
			if err != nil {
				return err
			}
			return a.print(a.out(), info, func(w io.Writer) error { return writeStatus(w, info) })
		}),
	}
}

func writeStatus(w io.Writer, info client.ClusterInfo) error {
	voters, healthy := 0, 0
	for _, m := range info.Members {
		if m.Voter {
			voters++
		}
		if m.Healthy {
			healthy++
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "leader:\t%s\n", orDash(info.LeaderID))
	fmt.Fprintf(tw, "term:\t%d\n", info.Term)
	fmt.Fprintf(tw, "commit index:\t%d\n", info.CommitIndex)
	fmt.Fprintf(tw, "applied index:\t%d\n", info.AppliedIndex)
	fmt.Fprintf(tw, "members:\t%d (%d voters, %d healthy)\n", len(info.Members), voters, healthy)
	return tw.Flush()
}

func (a *app) clusterMembersCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "members",
		Short: "List the masters with their addresses and health",
		Args:  exactArgs(0),
		RunE: a.calls(func(ctx context.Context, c *client.Client, _ []string) error {
			info, _, err := c.Cluster(ctx)
			if err != nil {
				return err
			}
			return printList(a, a.out(), memberTable, info.Members)
		}),
	}
}

func (a *app) clusterJoinCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "join ID RAFTADDR APIURL",
		Short: "Add a master to the cluster as a voter",
		Long: `Add a master to the cluster as a voter: ID is its server ID, RAFTADDR
the host:port of its Raft transport, APIURL the URL of its API. A master
started with -join does this by itself. Asking again is harmless.`,
		Example: "  podling cluster join m4 10.0.0.4:7000 http://10.0.0.4:8070",
		Args:    exactArgs(3),
		RunE: a.calls(func(ctx context.Context, c *client.Client, args []string) error {
			req := client.JoinRequest{ID: args[0], RaftAddress: args[1], APIAddress: args[2]}
			joined, _, err := c.JoinCluster(ctx, req)
			if err != nil {
				return err
			}
			return a.printMessage(joined, "master %s joined as a voter", joined.ID)
		}),
	}
}

func (a *app) clusterRemoveCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "remove ID",
		Short: "Remove a master from the cluster",
		Args:  exactArgs(1),
		RunE: a.calls(func(ctx context.Context, c *client.Client, args []string) error {
			result, _, err := c.RemoveMember(ctx, args[0])
			if err != nil {
				return err
			}
			return a.printMessage(result, "master %s removed", result.Removed)
		}),
	}
}

func (a *app) clusterTransferCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "transfer [ID]",
		Short: "Move leadership to the master ID, or to any caught-up follower",
		Args:  rangeArgs(0, 1),
		RunE: a.calls(func(ctx context.Context, c *client.Client, args []string) error {
			target := ""
			if len(args) == 1 {
				target = args[0]
			}
			result, _, err := c.TransferLeadership(ctx, target)
			if err != nil {
				return err
			}
			return a.printMessage(result, "leadership moved from %s to %s", result.PreviousLeader, orDash(result.LeaderID))
		}),
	}
}

func (a *app) clusterFailoversCommand() *cobra.Command {
	var watch bool
	cmd := &cobra.Command{
		Use:   "failovers",
		Short: "List the last leader takeovers, oldest first",
		Args:  exactArgs(0),
		RunE: a.calls(func(ctx context.Context, c *client.Client, _ []string) error {
			return a.list(ctx, watch, func(ctx context.Context, ro client.ReadOptions) (render, client.Meta, error) {
				changes, meta, err := c.Failovers(ctx, ro)
				return listRender(a, failoverTable, changes, nil), meta, err
			})
		}),
	}
	addWatchFlag(cmd, &watch)
	return cmd
}
