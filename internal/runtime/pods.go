package runtime

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Labels that implementations put on the containers of pods, in addition to
// LabelManaged and LabelNodeID.
const (
	// LabelPodID contains the ID of the pod the container belongs to.
	LabelPodID = "podling.pod-id"
	// LabelContainerName contains the name of the pod container, as given
	// in the pod's spec. The sandbox container does not carry it.
	LabelContainerName = "podling.container-name"
	// LabelRole is RoleSandbox on the sandbox container of a pod.
	LabelRole = "podling.role"
	// LabelRestartCount contains the restart count of a pod container: 0
	// for the first container created for its name, one more for each
	// replacement.
	LabelRestartCount = "podling.restart-count"
	// LabelPodSpec contains, on the sandbox container, the worker's opaque
	// description of the pod, so that a restarted worker can resume it.
	LabelPodSpec = "podling.pod-spec"
)

// RoleSandbox is the LabelRole value of the container that holds a pod's
// network namespace.
const RoleSandbox = "pause"

// Errors returned by the pod methods, wrapped with details.
var (
	// ErrInvalidPodID: the pod ID is not a valid container key. Nothing
	// was sent to the container engine.
	ErrInvalidPodID = errors.New("invalid pod id")
	// ErrInvalidContainerName: the pod container name is not a DNS label.
	ErrInvalidContainerName = errors.New("invalid container name")
)

// containerNamePattern accepts DNS labels (RFC 1123): 1 to 63 lowercase
// letters, digits and hyphens, starting and ending with a letter or digit.
var containerNamePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidatePodID returns an error wrapping ErrInvalidPodID unless id follows
// the same rules as a task ID.
func ValidatePodID(id string) error {
	if !taskIDPattern.MatchString(id) {
		return fmt.Errorf("%w: %q must match %s", ErrInvalidPodID, id, taskIDPattern)
	}
	return nil
}

// ValidateContainerName returns an error wrapping ErrInvalidContainerName
// unless name is a DNS label.
func ValidateContainerName(name string) error {
	if !containerNamePattern.MatchString(name) {
		return fmt.Errorf("%w: %q must be a DNS label matching %s", ErrInvalidContainerName, name, containerNamePattern)
	}
	return nil
}

// PortBinding publishes a port of a pod on the host.
type PortBinding struct {
	ContainerPort int
	HostPort      int
}

// SandboxSpec describes the sandbox container of a pod: the container that
// is attached to the pod network and whose network namespace the pod's
// containers join.
type SandboxSpec struct {
	PodID string
	// Image is the pause image, which runs a process that waits for a
	// signal.
	Image string
	// Ports are published on the host through the sandbox, because the
	// pod's containers share its network namespace.
	Ports []PortBinding
	// PodSpec is stored in the LabelPodSpec label and returned unchanged
	// in Container.PodSpec.
	PodSpec string
}

// PodContainerSpec describes one container of a pod.
type PodContainerSpec struct {
	PodID string
	// Name is the container's name in the pod, a DNS label.
	Name string
	// SandboxID is the ID of the pod's sandbox container, whose network
	// namespace this container joins.
	SandboxID string
	Image     string
	// Command replaces the image's entrypoint and Args its command, when
	// set.
	Command []string
	Args    []string
	Env     map[string]string
	// CPUMillis and MemoryBytes limit the container; zero means no limit.
	CPUMillis   int64
	MemoryBytes int64
	// RestartCount numbers the container's replacements: StartPodContainer
	// replaces a container whose count is lower.
	RestartCount int
}

// LogOptions select the output Logs returns.
type LogOptions struct {
	// Tail is the number of lines to return from the end of the output
	// written so far.
	Tail int
	// Follow keeps the stream open and sends new output until the
	// container stops or the context ends.
	Follow bool
}

// PodRuntime runs the containers of pods. Every pod has one sandbox
// container on the runtime's pod network, and its other containers share
// the sandbox's network namespace, so they reach each other on localhost
// and the pod's IP is the sandbox's IP.
type PodRuntime interface {
	// EnsureNetwork creates the runtime's pod network unless it exists.
	// It is safe to call on every start.
	EnsureNetwork(ctx context.Context) error

	// StartSandbox makes sure the pod's sandbox container exists and has
	// been started, pulling the image first if it is missing, and returns
	// it with its IP. An existing sandbox is returned as it is, unless it
	// was never started. Errors wrap ErrInvalidPodID, ErrImagePull or
	// ErrContainer.
	StartSandbox(ctx context.Context, spec SandboxSpec) (Container, error)

	// StartPodContainer makes sure a container for spec.Name in the pod
	// exists with spec.RestartCount and has been started, and returns its
	// ID. An existing container with the same count is started only if it
	// was never started; one with a lower count is removed and replaced,
	// which is how a pod container restarts, so Logs shows the output of
	// the current instance only. Errors wrap ErrInvalidPodID,
	// ErrInvalidContainerName, ErrImagePull or ErrContainer.
	StartPodContainer(ctx context.Context, spec PodContainerSpec) (string, error)

	// ListPods returns every pod container this node created, sandboxes
	// included, in any state.
	ListPods(ctx context.Context) ([]Container, error)

	// Stop sends SIGTERM to the container's main process and SIGKILL
	// after grace if it still runs. Stopping a stopped container is not
	// an error; a missing one is ErrNotFound.
	Stop(ctx context.Context, containerID string, grace time.Duration) error

	// RemovePod stops every container of the pod, the sandbox last, each
	// with grace, removes them all and returns how many it removed.
	RemovePod(ctx context.Context, podID string, grace time.Duration) (int, error)

	// Exec runs cmd in the running container and returns its exit code.
	// When ctx ends first the error wraps ctx.Err(); the command may then
	// still run in the container.
	Exec(ctx context.Context, containerID string, cmd []string) (int, error)
}
