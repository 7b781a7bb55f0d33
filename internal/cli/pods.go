package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/podling/podling/internal/client"
	"github.com/podling/podling/internal/types"
)

func (a *app) podCommand() *cobra.Command {
	return groupCommand("pod", "Create, list and remove pods", a.podCreateCommand(), a.podListCommand("ls"), a.podRemoveCommand())
}

// podsCommand is the short form of pod ls.
func (a *app) podsCommand() *cobra.Command { return a.podListCommand("pods") }

func (a *app) podCreateCommand() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "create -f FILE",
		Short: "Create a pod from a JSON or YAML file",
		Long: `Create a pod from a JSON or YAML file with the fields of the API's pod
request: name, namespace, labels, annotations, restartPolicy and
containers. Prints the new pod's ID, or the pod with -o json or -o yaml.`,
		Example: `  podling pod create -f web-pod.yaml

  # web-pod.yaml
  name: web-pod
  labels: {app: web}
  containers:
    - name: echo
      image: podling/echo:dev
      ports: [{containerPort: 8080}]`,
		Args: exactArgs(0),
		RunE: a.calls(func(ctx context.Context, c *client.Client, _ []string) error {
			var req types.CreatePodRequest
			if err := readManifest(file, a.streams.In, &req); err != nil {
				return err
			}
			pod, _, err := c.CreatePod(ctx, req)
			if err != nil {
				return err
			}
			return a.printID(pod, pod.PodID)
		}),
	}
	cmd.Flags().StringVarP(&file, "filename", "f", "", "JSON or YAML file of the pod; - reads standard input (required)")
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

func (a *app) podListCommand(use string) *cobra.Command {
	var f listFlags
	cmd := &cobra.Command{
		Use:     use,
		Short:   "List pods, oldest first",
		Example: "  podling pods -l app=web -w",
		Args:    exactArgs(0),
		RunE: a.calls(func(ctx context.Context, c *client.Client, _ []string) error {
			opts, err := f.options()
			if err != nil {
				return err
			}
			return a.list(ctx, f.watch, func(ctx context.Context, ro client.ReadOptions) (render, client.Meta, error) {
				opts.ReadOptions = ro
				pods, meta, err := c.ListPods(ctx, opts)
				return listRender(a, podTable(a.now()), pods, nil), meta, err
			})
		}),
	}
	f.add(cmd, true)
	return cmd
}

func (a *app) podRemoveCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "rm ID",
		Short:             "Delete a pod once its worker has stopped its containers",
		Args:              exactArgs(1),
		ValidArgsFunction: a.completeKind("pod"),
		RunE: a.calls(func(ctx context.Context, c *client.Client, args []string) error {
			pod, _, err := c.DeletePod(ctx, args[0])
			if err != nil {
				return err
			}
			return a.printID(pod, pod.PodID)
		}),
	}
}
