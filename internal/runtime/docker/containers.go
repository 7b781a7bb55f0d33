package docker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/podling/podling/internal/runtime"
)

// Find implements runtime.Runtime by looking the task up by label.
func (r *Runtime) Find(ctx context.Context, taskID string) (runtime.Container, error) {
	if err := runtime.ValidateTaskID(taskID); err != nil {
		return runtime.Container{}, err
	}
	found, err := r.list(ctx, filters.Arg("label", runtime.LabelTaskID+"="+taskID))
	if err != nil {
		return runtime.Container{}, err
	}
	if len(found) == 0 {
		return runtime.Container{}, fmt.Errorf("%w: task %s", runtime.ErrNotFound, taskID)
	}
	return found[0], nil
}

// List implements runtime.Runtime: it returns the managed task containers
// whose LabelNodeID is this runtime's node ID.
func (r *Runtime) List(ctx context.Context) ([]runtime.Container, error) {
	return r.list(ctx, filters.Arg("label", runtime.LabelNodeID+"="+r.nodeID), filters.Arg("label", runtime.LabelTaskID))
}

// list returns the managed containers matching every filter in extra,
// inspected one by one because the engine's list omits exit codes. A
// container removed between the two calls is left out.
func (r *Runtime) list(ctx context.Context, extra ...filters.KeyValuePair) ([]runtime.Container, error) {
	args := filters.NewArgs(append(extra, filters.Arg("label", runtime.LabelManaged+"=true"))...)
	summaries, err := r.api.ContainerList(ctx, container.ListOptions{All: true, Filters: args})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	found := make([]runtime.Container, 0, len(summaries))
	for _, s := range summaries {
		c, err := r.Inspect(ctx, s.ID)
		if errors.Is(err, runtime.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		found = append(found, c)
	}
	return found, nil
}

// Inspect implements runtime.Runtime.
func (r *Runtime) Inspect(ctx context.Context, containerID string) (runtime.Container, error) {
	resp, err := r.api.ContainerInspect(ctx, containerID)
	if err != nil {
		return runtime.Container{}, wrapContainerErr("inspect", containerID, err)
	}
	return r.toContainer(resp), nil
}

// Wait implements runtime.Runtime.
func (r *Runtime) Wait(ctx context.Context, containerID string) (int, error) {
	results, errs := r.api.ContainerWait(ctx, containerID, container.WaitConditionNotRunning)
	select {
	case res := <-results:
		if res.Error != nil && res.Error.Message != "" {
			return 0, fmt.Errorf("%w: wait for container %s: %s", runtime.ErrContainer, containerID, res.Error.Message)
		}
		return int(res.StatusCode), nil
	case err := <-errs:
		return 0, wrapContainerErr("wait for", containerID, err)
	}
}

// Remove implements runtime.Runtime.
func (r *Runtime) Remove(ctx context.Context, containerID string) error {
	err := r.api.ContainerRemove(ctx, containerID, container.RemoveOptions{Force: true})
	if err == nil || cerrdefs.IsNotFound(err) {
		return nil
	}
	return wrapContainerErr("remove", containerID, err)
}

// wrapContainerErr wraps err with runtime.ErrNotFound when the engine does
// not know the container, and with runtime.ErrContainer otherwise.
func wrapContainerErr(action, containerID string, err error) error {
	kind := runtime.ErrContainer
	if cerrdefs.IsNotFound(err) {
		kind = runtime.ErrNotFound
	}
	return fmt.Errorf("%w: %s container %s: %w", kind, action, containerID, err)
}

// toContainer converts the engine's description of a container.
func (r *Runtime) toContainer(resp container.InspectResponse) runtime.Container {
	c := runtime.Container{ID: resp.ID}
	if resp.Config != nil {
		labels := resp.Config.Labels
		c.TaskID = labels[runtime.LabelTaskID]
		c.PodID = labels[runtime.LabelPodID]
		c.NodeID = labels[runtime.LabelNodeID]
		c.Image = resp.Config.Image
		c.Sandbox = labels[runtime.LabelRole] == runtime.RoleSandbox
		c.PodSpec = labels[runtime.LabelPodSpec]
		c.Name = labels[runtime.LabelContainerName]
		c.RestartCount, _ = strconv.Atoi(labels[runtime.LabelRestartCount])
	}
	if resp.State != nil {
		c.State = runtime.State(resp.State.Status)
		c.ExitCode = resp.State.ExitCode
		c.StartedAt = parseEngineTime(resp.State.StartedAt)
		c.FinishedAt = parseEngineTime(resp.State.FinishedAt)
	}
	if resp.NetworkSettings != nil {
		if endpoint := resp.NetworkSettings.Networks[r.networkName()]; endpoint != nil {
			c.IP = endpoint.IPAddress
		}
	}
	return c
}

// parseEngineTime parses the engine's RFC 3339 timestamps. The engine sends
// the zero time, or nothing, for events that have not happened.
func parseEngineTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t
}
