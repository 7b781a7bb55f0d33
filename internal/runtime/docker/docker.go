// Package docker implements runtime.Runtime with the Docker Engine API.
//
// Each task's container is named "podling-<task id>" and carries the labels
// runtime.LabelTaskID, runtime.LabelManaged and runtime.LabelNodeID. A pod's
// sandbox is named "podling-pod.<pod id>" and its containers
// "podling-pod.<pod id>.<container name>"; they carry runtime.LabelPodID and
// the pod labels instead of LabelTaskID. IDs and container names contain no
// dots, so no two of these names can be equal. The names make the engine
// itself reject a second container for a task or pod container, and the
// labels let a restarted worker find its containers again.
//
// Task containers and pod sandboxes are attached to the runtime's pod
// network; pod containers share their sandbox's network namespace.
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
	// Network is the user-defined bridge network that task containers and
	// pod sandboxes are attached to, created by EnsureNetwork. Empty means
	// the engine's default bridge network.
	Network string
	// HostPortIP is the host address that pod host ports are published
	// on. Empty means every address of the host.
	HostPortIP string
	// Logger receives image pull progress; nil discards it.
	Logger hclog.Logger
}

// Runtime runs task containers on one Docker engine. It is safe for
// concurrent use.
type Runtime struct {
	api        client.APIClient
	nodeID     string
	network    string
	hostPortIP string
	log        hclog.Logger
}

var _ runtime.Runtime = (*Runtime)(nil)

// New returns a Runtime that uses api. Closing api is up to the caller.
func New(api client.APIClient, opts Options) *Runtime {
	log := opts.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Runtime{api: api, nodeID: opts.NodeID, network: opts.Network, hostPortIP: opts.HostPortIP, log: log}
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
	find := func() (runtime.Container, error) { return r.Find(ctx, spec.TaskID) }
	create := func() (string, error) { return r.create(ctx, spec) }
	return r.startOrCreate(ctx, spec.Image, find, create)
}

// startOrCreate starts the container that find returns if it was created
// but never started, and returns its ID. When find returns an error
// wrapping runtime.ErrNotFound, it pulls image if needed, calls create and
// starts the new container.
func (r *Runtime) startOrCreate(ctx context.Context, image string,
	find func() (runtime.Container, error), create func() (string, error)) (string, error) {
	id, err := r.startExisting(ctx, find)
	if !errors.Is(err, runtime.ErrNotFound) {
		return id, err
	}

	if err := r.ensureImage(ctx, image); err != nil {
		return "", err
	}
	id, err = create()
	if errors.Is(err, errNameInUse) {
		// Another caller created the container since the lookup above.
		return r.startExisting(ctx, find)
	}
	if err != nil {
		return "", err
	}
	return id, r.start(ctx, id, image)
}

// startExisting starts the container that find returns if it was created
// but never started, and returns its ID or an error wrapping
// runtime.ErrNotFound.
func (r *Runtime) startExisting(ctx context.Context, find func() (runtime.Container, error)) (string, error) {
	c, err := find()
	if err != nil {
		return "", err
	}
	if c.State != runtime.StateCreated {
		return c.ID, nil
	}
	return c.ID, r.start(ctx, c.ID, c.Image)
}

// errNameInUse means a container with the requested name already exists.
var errNameInUse = errors.New("container name in use")

func (r *Runtime) create(ctx context.Context, spec runtime.Spec) (string, error) {
	config := &container.Config{
		Image:  spec.Image,
		Env:    envList(spec.Env),
		Labels: r.labels(spec),
	}
	host := &container.HostConfig{NetworkMode: container.NetworkMode(r.network)}
	what := fmt.Sprintf("task %s", spec.TaskID)
	return r.createNamed(ctx, ContainerName(spec.TaskID), what, config, host)
}

// createNamed creates a container called name and returns its ID. A name
// that is taken returns an error wrapping errNameInUse; what describes the
// container in other errors.
func (r *Runtime) createNamed(ctx context.Context, name, what string, config *container.Config, host *container.HostConfig) (string, error) {
	resp, err := r.api.ContainerCreate(ctx, config, host, nil, nil, name)
	if cerrdefs.IsConflict(err) {
		return "", fmt.Errorf("%w: %s: %w", errNameInUse, name, err)
	}
	if err != nil {
		return "", fmt.Errorf("%w: create container for %s from image %s: %w",
			runtime.ErrContainer, what, config.Image, err)
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
