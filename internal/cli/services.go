package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/podling/podling/internal/client"
	"github.com/podling/podling/internal/types"
)

func (a *app) serviceCommand() *cobra.Command {
	return groupCommand("service", "Create, list, show and remove services",
		a.serviceCreateCommand(), a.serviceListCommand("ls"), a.serviceGetCommand(),
		a.serviceRemoveCommand(), a.serviceEndpointsCommand())
}

// servicesCommand is the short form of service ls.
func (a *app) servicesCommand() *cobra.Command { return a.serviceListCommand("services") }

func (a *app) serviceCreateCommand() *cobra.Command {
	var file, namespace string
	var selector, labels, ports []string
	cmd := &cobra.Command{
		Use:   "create (-f FILE | NAME --selector KEY=VALUE --port [NAME=]PORT[:TARGETPORT])",
		Short: "Create a service from a file or from flags",
		Long: `Create a service, from a JSON or YAML file with the fields of the API's
service request, or from a name and flags. The service selects the
running pods of its namespace whose labels hold every pair of its
selector. Prints the new service's ID, or the service with -o json or -o yaml.`,
		Example: "  podling service create web --selector app=web --port http=80:8080\n  podling service create -f web-service.yaml",
		Args:    rangeArgs(0, 1),
		RunE: a.calls(func(ctx context.Context, c *client.Client, args []string) error {
			var req types.CreateServiceRequest
			var err error
			if file != "" {
				if len(args) > 0 || len(selector)+len(labels)+len(ports) > 0 || namespace != "" {
					return usageErrorf("give either -f FILE or NAME with flags, not both")
				}
				err = readManifest(file, a.streams.In, &req)
			} else {
				req, err = serviceFromFlags(args, namespace, selector, labels, ports)
			}
			if err != nil {
				return err
			}
			svc, _, err := c.CreateService(ctx, req)
			if err != nil {
				return err
			}
			return a.printID(svc, svc.ServiceID)
		}),
	}
	flags := cmd.Flags()
	flags.StringVarP(&file, "filename", "f", "", "JSON or YAML file of the service; - reads standard input")
	flags.StringArrayVar(&selector, "selector", nil, "label key=value the selected pods carry; repeat or separate with commas for more")
	flags.StringArrayVar(&ports, "port", nil, "service port and the pods' target port, as [NAME=]PORT[:TARGETPORT]; repeat for more")
	flags.StringArrayVarP(&labels, "label", "l", nil, "label key=value of the service itself; repeat or separate with commas for more")
	flags.StringVarP(&namespace, "namespace", "n", "", "namespace of the service and of the pods it selects (default \"default\")")
	return cmd
}

func serviceFromFlags(args []string, namespace string, selector, labels, ports []string) (types.CreateServiceRequest, error) {
	req := types.CreateServiceRequest{Namespace: namespace}
	if len(args) != 1 || len(ports) == 0 {
		return req, usageErrorf("service create needs -f FILE, or NAME with at least one --port")
	}
	req.Name = args[0]
	var err error
	if req.Selector, err = parsePairs("selector", selector, true); err != nil {
		return req, err
	}
	if req.Labels, err = parsePairs("label", labels, true); err != nil {
		return req, err
	}
	for _, spec := range ports {
		port, err := parsePort(spec)
		if err != nil {
			return req, err
		}
		req.Ports = append(req.Ports, port)
	}
	return req, nil
}

func (a *app) serviceListCommand(use string) *cobra.Command {
	var f listFlags
	cmd := &cobra.Command{
		Use:   use,
		Short: "List services, oldest first",
		Args:  exactArgs(0),
		RunE: a.calls(func(ctx context.Context, c *client.Client, _ []string) error {
			opts, err := f.options()
			if err != nil {
				return err
			}
			return a.list(ctx, f.watch, func(ctx context.Context, ro client.ReadOptions) (render, client.Meta, error) {
				opts.ReadOptions = ro
				services, meta, err := c.ListServices(ctx, opts)
				return listRender(a, serviceTable(a.now()), services, nil), meta, err
			})
		}),
	}
	f.add(cmd, false)
	return cmd
}

func (a *app) serviceGetCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "get ID",
		Short:             "Show one service",
		Args:              exactArgs(1),
		ValidArgsFunction: a.completeKind("service"),
		RunE: a.calls(func(ctx context.Context, c *client.Client, args []string) error {
			return a.get(ctx, c, "service", args[0])
		}),
	}
}

func (a *app) serviceRemoveCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "rm ID",
		Short:             "Delete a service",
		Args:              exactArgs(1),
		ValidArgsFunction: a.completeKind("service"),
		RunE: a.calls(func(ctx context.Context, c *client.Client, args []string) error {
			svc, _, err := c.DeleteService(ctx, args[0])
			if err != nil {
				return err
			}
			return a.printID(svc, svc.ServiceID)
		}),
	}
}

func (a *app) serviceEndpointsCommand() *cobra.Command {
	var watch bool
	cmd := &cobra.Command{
		Use:               "endpoints ID",
		Short:             "List the pod addresses behind a service, ready ones first",
		Args:              exactArgs(1),
		ValidArgsFunction: a.completeKind("service"),
		RunE: a.calls(func(ctx context.Context, c *client.Client, args []string) error {
			return a.list(ctx, watch, func(ctx context.Context, ro client.ReadOptions) (render, client.Meta, error) {
				ep, meta, err := c.ServiceEndpoints(ctx, args[0], ro)
				r := listRender(a, endpointTable, endpointRows(ep), func([]endpointRow) any { return ep })
				if a.structured() {
					r.print = func(w io.Writer) error { return a.print(w, ep, nil) }
				}
				return r, meta, err
			})
		}),
	}
	addWatchFlag(cmd, &watch)
	return cmd
}
