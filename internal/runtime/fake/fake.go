// Package fake provides an in-memory runtime.Runtime for tests. Containers
// never run anything: a started container stays running until the test calls
// Exit or ExitTask.
package fake

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/podling/podling/internal/runtime"
)

// Runtime is an in-memory runtime.Runtime. It is safe for concurrent use.
type Runtime struct {
	nodeID    string
	resources runtime.Resources

	mu         sync.Mutex
	containers map[string]*entry // by container ID
	byTask     map[string]string // task ID to container ID
	pullErrors map[string]error  // image to the error its pull fails with
	created    int
}

type entry struct {
	c      runtime.Container
	exited chan struct{} // closed when the container leaves the running state
	logs   []string
}

var _ runtime.Runtime = (*Runtime)(nil)

// New returns an empty runtime whose containers carry nodeID and whose host
// reports 4 CPUs and 8 GiB of memory.
func New(nodeID string) *Runtime {
	return &Runtime{
		nodeID:     nodeID,
		resources:  runtime.Resources{CPUMillis: 4000, MemoryBytes: 8 << 30},
		containers: make(map[string]*entry),
		byTask:     make(map[string]string),
		pullErrors: make(map[string]error),
	}
}

// FailPull makes every later Start with image fail as if its pull had
// failed with err.
func (f *Runtime) FailPull(image string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pullErrors[image] = err
}

// Add stores c as if a worker had created it earlier, for adoption tests.
// An exited container keeps c.ExitCode.
func (f *Runtime) Add(c runtime.Container) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := &entry{c: c, exited: make(chan struct{})}
	if c.State != runtime.StateRunning && c.State != runtime.StateCreated {
		close(e.exited)
	}
	f.containers[c.ID] = e
	f.byTask[c.TaskID] = c.ID
}

// Created returns how many containers Start has created.
func (f *Runtime) Created() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.created
}

// AppendLogs adds lines to the output of the task's container.
func (f *Runtime) AppendLogs(taskID string, lines ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, err := f.entryForTaskLocked(taskID)
	if err != nil {
		return err
	}
	e.logs = append(e.logs, lines...)
	return nil
}

// ExitTask makes the running container of taskID exit with code.
func (f *Runtime) ExitTask(taskID string, code int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, err := f.entryForTaskLocked(taskID)
	if err != nil {
		return err
	}
	if e.c.State != runtime.StateRunning {
		return fmt.Errorf("fake: container of task %s is %s, not running", taskID, e.c.State)
	}
	e.c.State = runtime.StateExited
	e.c.ExitCode = code
	e.c.FinishedAt = time.Now()
	close(e.exited)
	return nil
}

func (f *Runtime) entryForTaskLocked(taskID string) (*entry, error) {
	id, ok := f.byTask[taskID]
	if !ok {
		return nil, fmt.Errorf("%w: task %s", runtime.ErrNotFound, taskID)
	}
	return f.containers[id], nil
}

// Start implements runtime.Runtime.
func (f *Runtime) Start(ctx context.Context, spec runtime.Spec) (string, error) {
	if err := runtime.ValidateTaskID(spec.TaskID); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()

	if e, err := f.entryForTaskLocked(spec.TaskID); err == nil {
		f.runLocked(e)
		return e.c.ID, nil
	}
	if err := f.pullErrors[spec.Image]; err != nil {
		return "", fmt.Errorf("%w: %s: %w", runtime.ErrImagePull, spec.Image, err)
	}

	f.created++
	c := runtime.Container{
		ID:     fmt.Sprintf("fake-%d-%s", f.created, spec.TaskID),
		TaskID: spec.TaskID,
		NodeID: f.nodeID,
		Image:  spec.Image,
		State:  runtime.StateCreated,
	}
	e := &entry{c: c, exited: make(chan struct{})}
	f.containers[c.ID] = e
	f.byTask[c.TaskID] = c.ID
	f.runLocked(e)
	return c.ID, nil
}

// runLocked moves a created container to running.
func (f *Runtime) runLocked(e *entry) {
	if e.c.State == runtime.StateCreated {
		e.c.State = runtime.StateRunning
		e.c.StartedAt = time.Now()
	}
}

// Find implements runtime.Runtime.
func (f *Runtime) Find(ctx context.Context, taskID string) (runtime.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, err := f.entryForTaskLocked(taskID)
	if err != nil {
		return runtime.Container{}, err
	}
	return e.c, nil
}

// List implements runtime.Runtime.
func (f *Runtime) List(ctx context.Context) ([]runtime.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var list []runtime.Container
	for _, e := range f.containers {
		if e.c.NodeID == f.nodeID {
			list = append(list, e.c)
		}
	}
	return list, nil
}

// Inspect implements runtime.Runtime.
func (f *Runtime) Inspect(ctx context.Context, containerID string) (runtime.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.containers[containerID]
	if !ok {
		return runtime.Container{}, fmt.Errorf("%w: container %s", runtime.ErrNotFound, containerID)
	}
	return e.c, nil
}

// Wait implements runtime.Runtime.
func (f *Runtime) Wait(ctx context.Context, containerID string) (int, error) {
	f.mu.Lock()
	e, ok := f.containers[containerID]
	f.mu.Unlock()
	if !ok {
		return 0, fmt.Errorf("%w: container %s", runtime.ErrNotFound, containerID)
	}

	select {
	case <-e.exited:
	case <-ctx.Done():
		return 0, fmt.Errorf("wait for container %s: %w", containerID, ctx.Err())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return e.c.ExitCode, nil
}

// Logs implements runtime.Runtime.
func (f *Runtime) Logs(ctx context.Context, containerID string, tail int) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.containers[containerID]
	if !ok {
		return nil, fmt.Errorf("%w: container %s", runtime.ErrNotFound, containerID)
	}
	lines := e.logs[max(0, len(e.logs)-tail):]
	var text strings.Builder
	for _, line := range lines {
		text.WriteString(line + "\n")
	}
	return io.NopCloser(strings.NewReader(text.String())), nil
}

// Remove implements runtime.Runtime.
func (f *Runtime) Remove(ctx context.Context, containerID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.containers[containerID]
	if !ok {
		return nil
	}
	if e.c.State == runtime.StateRunning || e.c.State == runtime.StateCreated {
		// Wait returns the code of a container killed by SIGKILL.
		e.c.ExitCode = 137
		close(e.exited)
	}
	delete(f.containers, containerID)
	delete(f.byTask, e.c.TaskID)
	return nil
}

// Resources implements runtime.Runtime.
func (f *Runtime) Resources(ctx context.Context) (runtime.Resources, error) {
	return f.resources, nil
}
