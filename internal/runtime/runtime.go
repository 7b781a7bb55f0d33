// Package runtime defines the container runtime the worker agent runs tasks
// and pods on. Implementations key every container by the ID of the task or
// pod it belongs to, so asking twice for a container yields one container,
// and a restarted worker can find the containers it started before.
package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"
)

// Labels that implementations put on every container they create.
const (
	// LabelTaskID contains the ID of the task the container runs.
	LabelTaskID = "podling.task-id"
	// LabelManaged is "true" on every container Podling created.
	LabelManaged = "podling.managed"
	// LabelNodeID contains the ID of the worker node that created the container.
	LabelNodeID = "podling.node-id"
	// LabelTaskName contains the task's human-readable name.
	LabelTaskName = "podling.task-name"
)

// Errors returned by runtimes, wrapped with details; test them with errors.Is.
var (
	// ErrInvalidTaskID: the task ID is not a valid container key. Nothing
	// was sent to the container engine.
	ErrInvalidTaskID = errors.New("invalid task id")
	// ErrImagePull: the image is missing locally and could not be pulled.
	// The message names the image and the pull error.
	ErrImagePull = errors.New("image pull failed")
	// ErrContainer: the engine failed to create, start or wait on a
	// container. The message names the image where one is involved.
	ErrContainer = errors.New("container error")
	// ErrNotFound: no container exists for the task or container ID.
	ErrNotFound = errors.New("container not found")
)

// taskIDPattern accepts IDs such as 20250119123456-abc12345. It also keeps
// container names derived from task IDs within Docker's name rules.
var taskIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ValidateTaskID returns an error wrapping ErrInvalidTaskID unless id is 1 to
// 63 characters of lowercase letters, digits and hyphens, starting with a
// letter or digit.
func ValidateTaskID(id string) error {
	if !taskIDPattern.MatchString(id) {
		return fmt.Errorf("%w: %q must match %s", ErrInvalidTaskID, id, taskIDPattern)
	}
	return nil
}

// Spec describes the container to run for one task.
type Spec struct {
	TaskID string
	// Name is the task's human-readable name. It is stored in the
	// LabelTaskName label; the container's name is derived from TaskID.
	Name  string
	Image string
	Env   map[string]string
}

// State is a container's lifecycle state as the engine reports it.
type State string

// Container states. Engines may report others, such as paused or dead.
const (
	StateCreated    State = "created"
	StateRunning    State = "running"
	StateRestarting State = "restarting"
	StatePaused     State = "paused"
	StateExited     State = "exited"
	StateDead       State = "dead"
)

// Container is a snapshot of one task or pod container.
type Container struct {
	ID string
	// TaskID is set on task containers, PodID on pod containers.
	TaskID string
	PodID  string
	NodeID string
	Image  string
	State  State
	// ExitCode is meaningful only when State is StateExited.
	ExitCode   int
	StartedAt  time.Time
	FinishedAt time.Time
	// IP is the container's address on the runtime's pod network, empty
	// when it has none, as for a stopped container or one that shares
	// another's network namespace.
	IP string

	// Sandbox is true on the sandbox container of a pod, which carries
	// PodSpec. The other pod containers carry Name and RestartCount.
	Sandbox      bool
	PodSpec      string
	Name         string
	RestartCount int
}

// Resources are the total resources of the host the runtime runs on.
type Resources struct {
	CPUMillis   int64
	MemoryBytes int64
}

// Runtime runs task and pod containers. Implementations are safe for
// concurrent use.
type Runtime interface {
	PodRuntime

	// Start makes sure a container for spec.TaskID exists and has been
	// started, pulling the image first if it is missing, and returns the
	// container ID. If a container for the task already exists it is
	// started only if it was never started, and its ID is returned, so
	// calling Start twice yields one container. Errors wrap
	// ErrInvalidTaskID, ErrImagePull or ErrContainer.
	Start(ctx context.Context, spec Spec) (string, error)

	// Find returns the container of a task, or an error wrapping
	// ErrNotFound. It finds containers created by any node.
	Find(ctx context.Context, taskID string) (Container, error)

	// List returns every task container this node created, in any state.
	List(ctx context.Context) ([]Container, error)

	// Wait blocks until the container is not running and returns its exit
	// code. It returns at once for a container that has already exited.
	Wait(ctx context.Context, containerID string) (int, error)

	// Inspect returns the current state of a container, or an error
	// wrapping ErrNotFound.
	Inspect(ctx context.Context, containerID string) (Container, error)

	// Logs returns the last opts.Tail lines of the container's standard
	// output and standard error, interleaved, as plain text, followed by
	// new output when opts.Follow is set. The caller closes it.
	Logs(ctx context.Context, containerID string, opts LogOptions) (io.ReadCloser, error)

	// Remove deletes the container, stopping it first if it runs. Removing
	// a container that does not exist is not an error.
	Remove(ctx context.Context, containerID string) error

	// Resources returns the host's total CPU and memory.
	Resources(ctx context.Context) (Resources, error)
}
