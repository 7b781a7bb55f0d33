package docker

import (
	"context"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"

	"github.com/podling/podling/internal/runtime"
)

// defaultNetwork is the engine's own bridge network, used when Options
// names none.
const defaultNetwork = "bridge"

// networkName returns the name of the network containers are attached to.
func (r *Runtime) networkName() string {
	if r.network == "" {
		return defaultNetwork
	}
	return r.network
}

// EnsureNetwork implements runtime.Runtime. It creates the configured
// network as a bridge labelled runtime.LabelManaged, unless a network with
// that name exists. An existing network must use the bridge driver. With no
// network configured it does nothing.
func (r *Runtime) EnsureNetwork(ctx context.Context) error {
	if r.network == "" {
		return nil
	}
	err := r.checkNetwork(ctx)
	if !cerrdefs.IsNotFound(err) {
		return err
	}

	opts := network.CreateOptions{Driver: "bridge", Labels: map[string]string{runtime.LabelManaged: "true"}}
	_, err = r.api.NetworkCreate(ctx, r.network, opts)
	if cerrdefs.IsConflict(err) {
		// Another worker on this engine created it since the lookup.
		return r.checkNetwork(ctx)
	}
	if err != nil {
		return fmt.Errorf("create network %s: %w", r.network, err)
	}
	r.log.Info("created pod network", "network", r.network)
	return nil
}

// checkNetwork returns nil if the configured network exists and is a
// bridge. Its errors wrap the engine's, so cerrdefs.IsNotFound detects a
// missing network.
func (r *Runtime) checkNetwork(ctx context.Context) error {
	info, err := r.api.NetworkInspect(ctx, r.network, network.InspectOptions{})
	if err != nil {
		return fmt.Errorf("inspect network %s: %w", r.network, err)
	}
	if info.Driver != "bridge" {
		return fmt.Errorf("network %s uses driver %q, want bridge: remove it or choose another network name", r.network, info.Driver)
	}
	return nil
}
