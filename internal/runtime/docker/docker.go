// Package docker implements runtime.Runtime with the Docker Engine API.
//
// Each task's container is named "podling-<task id>" and carries the labels
// runtime.LabelTaskID, runtime.LabelManaged and runtime.LabelNodeID. The name
// makes the engine itself reject a second container for a task, and the labels
// let a restarted worker find its containers again.
package docker

import (
	"context"
	"errors"
	"fmt"
	"sort"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/hashicorp/go-hclog"

	"github.com/podling/podling/internal/runtime"
)

// containerNamePrefix is prepended to the task ID to name its container.
const containerNamePrefix = "podling-"

// Options configure a Runtime.
type Options struct {
	// NodeID is stored in each container's LabelNodeID label, and List
	// returns only containers carrying it. Several workers may therefore
	// share one Docker engine as long as their node IDs differ.
	NodeID string
	// Logger receives image pull progress; nil discards it.
	Logger hclog.Logger
}

// Runtime runs task containers on one Docker engine. It is safe for
// concurrent use.
type Runtime struct {
	api    client.APIClient
	nodeID string
	log    hclog.Logger
}

var _ runtime.Runtime = (*Runtime)(nil)

// New returns a Runtime that uses api. Closing api is up to the caller.
func New(api client.APIClient, opts Options) *Runtime {
	log := opts.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Runtime{api: api, nodeID: opts.NodeID, log: log}
}

// NewFromEnv connects to the engine named by the DOCKER_HOST family of
// environment variables (the local socket by default), negotiating the API
// version so that older engines work. Close releases the connection.
func NewFromEnv(opts Options) (*Runtime, error) {
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("create docker client: %w", err)
	}
	return New(api, opts), nil
}

// Close releases the engine connection.
func (r *Runtime) Close() error {
	return r.api.Close()
}

// ContainerName returns the name of the container that runs taskID.
func ContainerName(taskID string) string {
	return containerNamePrefix + taskID
}

// Start implements runtime.Runtime. An existing container for the task is
// returned as it is, unless it is still in the created state. Such a
// container is started first. An exited container is never run again.
func (r *Runtime) Start(ctx context.Context, spec runtime.Spec) (string, error) {
	if err := runtime.ValidateTaskID(spec.TaskID); err != nil {
		return "", err
	}
	id, err := r.startExisting(ctx, spec.TaskID)
	if !errors.Is(err, runtime.ErrNotFound) {
		return id, err
	}

	if err := r.ensureImage(ctx, spec.Image); err != nil {
		return "", err
	}
	id, err = r.create(ctx, spec)
	if errors.Is(err, errNameInUse) {
		// Another caller created the container since the lookup above.
		return r.startExisting(ctx, spec.TaskID)
	}
	if err != nil {
		return "", err
	}
	return id, r.start(ctx, id, spec.Image)
}

// startExisting starts the task's container if it was created but never
// started, and returns its ID or an error wrapping runtime.ErrNotFound.
func (r *Runtime) startExisting(ctx context.Context, taskID string) (string, error) {
	c, err := r.Find(ctx, taskID)
	if err != nil {
		return "", err
	}
	if c.State != runtime.StateCreated {
		return c.ID, nil
	}
	return c.ID, r.start(ctx, c.ID, c.Image)
}

// errNameInUse means a container with the task's name already exists.
var errNameInUse = errors.New("container name in use")

func (r *Runtime) create(ctx context.Context, spec runtime.Spec) (string, error) {
	config := &container.Config{
		Image:  spec.Image,
		Env:    envList(spec.Env),
		Labels: r.labels(spec),
	}
	resp, err := r.api.ContainerCreate(ctx, config, &container.HostConfig{}, nil, nil, ContainerName(spec.TaskID))
	if cerrdefs.IsConflict(err) {
		return "", fmt.Errorf("%w: %s: %w", errNameInUse, ContainerName(spec.TaskID), err)
	}
	if err != nil {
		return "", fmt.Errorf("%w: create container for task %s from image %s: %w",
			runtime.ErrContainer, spec.TaskID, spec.Image, err)
	}
	return resp.ID, nil
}

func (r *Runtime) start(ctx context.Context, id, image string) error {
	if err := r.api.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return fmt.Errorf("%w: start container %s from image %s: %w", runtime.ErrContainer, id, image, err)
	}
	return nil
}

func (r *Runtime) labels(spec runtime.Spec) map[string]string {
	return map[string]string{
		runtime.LabelTaskID:   spec.TaskID,
		runtime.LabelManaged:  "true",
		runtime.LabelNodeID:   r.nodeID,
		runtime.LabelTaskName: spec.Name,
	}
}

// envList turns env into sorted KEY=value pairs, so that the same spec
// always produces the same container configuration.
func envList(env map[string]string) []string {
	list := make([]string, 0, len(env))
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)
	return list
}

// Resources implements runtime.Runtime from the engine's host information.
func (r *Runtime) Resources(ctx context.Context) (runtime.Resources, error) {
	info, err := r.api.Info(ctx)
	if err != nil {
		return runtime.Resources{}, fmt.Errorf("read docker host info: %w", err)
	}
	return runtime.Resources{CPUMillis: int64(info.NCPU) * 1000, MemoryBytes: info.MemTotal}, nil
}
