package docker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/go-connections/nat"

	"github.com/podling/podling/internal/runtime"
)

// SandboxName returns the name of the sandbox container of podID.
func SandboxName(podID string) string {
	return containerNamePrefix + "pod." + podID
}

// PodContainerName returns the name of the container called name in podID.
func PodContainerName(podID, name string) string {
	return SandboxName(podID) + "." + name
}

// StartSandbox implements runtime.Runtime.
func (r *Runtime) StartSandbox(ctx context.Context, spec runtime.SandboxSpec) (runtime.Container, error) {
	if err := runtime.ValidatePodID(spec.PodID); err != nil {
		return runtime.Container{}, err
	}
	name := SandboxName(spec.PodID)
	find := func() (runtime.Container, error) { return r.findNamed(ctx, name) }
	create := func() (string, error) { return r.createSandbox(ctx, name, spec) }
	id, err := r.startOrCreate(ctx, spec.Image, find, create)
	if err != nil {
		return runtime.Container{}, err
	}
	return r.Inspect(ctx, id)
}

func (r *Runtime) createSandbox(ctx context.Context, name string, spec runtime.SandboxSpec) (string, error) {
	labels := r.podLabels(spec.PodID)
	labels[runtime.LabelRole] = runtime.RoleSandbox
	labels[runtime.LabelPodSpec] = spec.PodSpec
	exposed, bindings := r.portBindings(spec.Ports)
	config := &container.Config{Image: spec.Image, Labels: labels, ExposedPorts: exposed}
	host := &container.HostConfig{NetworkMode: container.NetworkMode(r.network), PortBindings: bindings}
	return r.createNamed(ctx, name, "sandbox of pod "+spec.PodID, config, host)
}

// portBindings publishes each port on the host, over TCP.
func (r *Runtime) portBindings(ports []runtime.PortBinding) (nat.PortSet, nat.PortMap) {
	exposed := nat.PortSet{}
	bindings := nat.PortMap{}
	for _, p := range ports {
		port := nat.Port(strconv.Itoa(p.ContainerPort) + "/tcp")
		exposed[port] = struct{}{}
		bindings[port] = append(bindings[port], nat.PortBinding{HostIP: r.hostPortIP, HostPort: strconv.Itoa(p.HostPort)})
	}
	return exposed, bindings
}

// StartPodContainer implements runtime.Runtime.
func (r *Runtime) StartPodContainer(ctx context.Context, spec runtime.PodContainerSpec) (string, error) {
	if err := runtime.ValidatePodID(spec.PodID); err != nil {
		return "", err
	}
	if err := runtime.ValidateContainerName(spec.Name); err != nil {
		return "", err
	}
	name := PodContainerName(spec.PodID, spec.Name)
	find := func() (runtime.Container, error) { return r.findReplacing(ctx, name, spec.RestartCount) }
	create := func() (string, error) { return r.createPodContainer(ctx, name, spec) }
	return r.startOrCreate(ctx, spec.Image, find, create)
}

// findReplacing returns the container called name unless its restart count
// is lower than restartCount. Such a container is removed, and the error
// wraps runtime.ErrNotFound so that a new one is created.
func (r *Runtime) findReplacing(ctx context.Context, name string, restartCount int) (runtime.Container, error) {
	c, err := r.findNamed(ctx, name)
	if err != nil || c.RestartCount >= restartCount {
		return c, err
	}
	r.log.Debug("replacing container", "container_id", c.ID, "name", name, "restart_count", restartCount)
	if err := r.Remove(ctx, c.ID); err != nil {
		return runtime.Container{}, err
	}
	return runtime.Container{}, fmt.Errorf("%w: %s was replaced", runtime.ErrNotFound, name)
}

func (r *Runtime) createPodContainer(ctx context.Context, name string, spec runtime.PodContainerSpec) (string, error) {
	labels := r.podLabels(spec.PodID)
	labels[runtime.LabelContainerName] = spec.Name
	labels[runtime.LabelRestartCount] = strconv.Itoa(spec.RestartCount)
	config := &container.Config{
		Image:      spec.Image,
		Entrypoint: spec.Command,
		Cmd:        spec.Args,
		Env:        envList(spec.Env),
		Labels:     labels,
	}
	host := &container.HostConfig{
		NetworkMode: container.NetworkMode("container:" + spec.SandboxID),
		Resources:   container.Resources{NanoCPUs: spec.CPUMillis * 1e6, Memory: spec.MemoryBytes},
	}
	what := fmt.Sprintf("container %s of pod %s", spec.Name, spec.PodID)
	return r.createNamed(ctx, name, what, config, host)
}

func (r *Runtime) podLabels(podID string) map[string]string {
	return map[string]string{
		runtime.LabelManaged: "true",
		runtime.LabelNodeID:  r.nodeID,
		runtime.LabelPodID:   podID,
	}
}

// findNamed returns the managed container called name, or an error
// wrapping runtime.ErrNotFound.
func (r *Runtime) findNamed(ctx context.Context, name string) (runtime.Container, error) {
	resp, err := r.api.ContainerInspect(ctx, name)
	if err != nil {
		return runtime.Container{}, wrapContainerErr("inspect", name, err)
	}
	if resp.Config == nil || resp.Config.Labels[runtime.LabelManaged] != "true" {
		return runtime.Container{}, fmt.Errorf("%w: container %s exists but was not created by podling: remove it", runtime.ErrContainer, name)
	}
	return r.toContainer(resp), nil
}

// ListPods implements runtime.Runtime.
func (r *Runtime) ListPods(ctx context.Context) ([]runtime.Container, error) {
	return r.list(ctx, filters.Arg("label", runtime.LabelNodeID+"="+r.nodeID), filters.Arg("label", runtime.LabelPodID))
}

// Stop implements runtime.Runtime. The engine counts grace in whole
// seconds, so it is rounded up.
func (r *Runtime) Stop(ctx context.Context, containerID string, grace time.Duration) error {
	seconds := int(math.Ceil(grace.Seconds()))
	if err := r.api.ContainerStop(ctx, containerID, container.StopOptions{Timeout: &seconds}); err != nil {
		return wrapContainerErr("stop", containerID, err)
	}
	return nil
}

// RemovePod implements runtime.Runtime. The pod's containers are stopped
// at the same time, so removing a pod takes about one grace period.
func (r *Runtime) RemovePod(ctx context.Context, podID string, grace time.Duration) (int, error) {
	if err := runtime.ValidatePodID(podID); err != nil {
		return 0, err
	}
	found, err := r.list(ctx, filters.Arg("label", runtime.LabelNodeID+"="+r.nodeID), filters.Arg("label", runtime.LabelPodID+"="+podID))
	if err != nil {
		return 0, err
	}

	// Stop the containers before their sandbox, whose network they use.
	var members, sandboxes []runtime.Container
	for _, c := range found {
		if c.Sandbox {
			sandboxes = append(sandboxes, c)
		} else {
			members = append(members, c)
		}
	}
	r.stopAll(ctx, members, grace)
	r.stopAll(ctx, sandboxes, grace)

	var errs []error
	for _, c := range found {
		errs = append(errs, r.Remove(ctx, c.ID))
	}
	return len(found), errors.Join(errs...)
}

// stopAll stops the running containers concurrently. A container that
// fails to stop is logged, because Remove kills it anyway.
func (r *Runtime) stopAll(ctx context.Context, containers []runtime.Container, grace time.Duration) {
	var wg sync.WaitGroup
	for _, c := range containers {
		if c.State != runtime.StateRunning {
			continue
		}
		wg.Go(func() {
			if err := r.Stop(ctx, c.ID, grace); err != nil && !errors.Is(err, runtime.ErrNotFound) {
				r.log.Warn("failed to stop container, removing it anyway", "pod_id", c.PodID, "container_id", c.ID, "error", err)
			}
		})
	}
	wg.Wait()
}
