// Package fake provides an in-memory runtime.Runtime for tests. Containers
// never run anything: a started container stays running until the test calls
// ExitTask or ExitPodContainer, or the container is stopped or removed.
package fake

import (
	"context"
	"fmt"
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
	byName     map[podKey]string // pod container or sandbox to container ID
	pullErrors map[string]error  // image to the error its pull fails with
	created    int
	networks   int
	podIP      string
	exec       ExecFunc
}

// podKey names a pod container; the sandbox has an empty name.
type podKey struct{ podID, name string }

type entry struct {
	c      runtime.Container
	exited chan struct{} // closed when the container leaves the running state
	logs   []string
	// logged is closed and replaced whenever lines are appended to logs.
	logged chan struct{}
}

func newEntry(c runtime.Container) *entry {
	return &entry{c: c, exited: make(chan struct{}), logged: make(chan struct{})}
}

// exitLocked moves a created or running container to exited with code.
func (e *entry) exitLocked(code int) {
	if e.c.State != runtime.StateRunning && e.c.State != runtime.StateCreated {
		return
	}
	e.c.State = runtime.StateExited
	e.c.ExitCode = code
	e.c.FinishedAt = time.Now()
	e.c.IP = ""
	close(e.exited)
}

func (e *entry) appendLogsLocked(lines []string) {
	e.logs = append(e.logs, lines...)
	close(e.logged)
	e.logged = make(chan struct{})
}

var _ runtime.Runtime = (*Runtime)(nil)

// New returns an empty runtime whose containers carry nodeID and whose host
// reports 4 CPUs and 8 GiB of memory. Pod sandboxes get the IP 127.0.0.1,
// so probes of a pod reach servers the test runs on loopback.
func New(nodeID string) *Runtime {
	return &Runtime{
		nodeID:     nodeID,
		resources:  runtime.Resources{CPUMillis: 4000, MemoryBytes: 8 << 30},
		containers: make(map[string]*entry),
		byTask:     make(map[string]string),
		byName:     make(map[podKey]string),
		pullErrors: make(map[string]error),
		podIP:      "127.0.0.1",
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
// An exited container keeps c.ExitCode. A container with a PodID is a pod
// container, or the pod's sandbox when c.Sandbox is set.
func (f *Runtime) Add(c runtime.Container) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := newEntry(c)
	if c.State != runtime.StateRunning && c.State != runtime.StateCreated {
		close(e.exited)
	}
	f.containers[c.ID] = e
	if c.PodID != "" {
		f.byName[keyOf(c)] = c.ID
		return
	}
	f.byTask[c.TaskID] = c.ID
}

func keyOf(c runtime.Container) podKey {
	if c.Sandbox {
		return podKey{podID: c.PodID}
	}
	return podKey{podID: c.PodID, name: c.Name}
}

// Created returns how many containers Start, StartSandbox and
// StartPodContainer have created.
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
	e.appendLogsLocked(lines)
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
	e.exitLocked(code)
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
	e := newEntry(c)
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
		if e.c.NodeID == f.nodeID && e.c.TaskID != "" {
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

// Remove implements runtime.Runtime.
func (f *Runtime) Remove(ctx context.Context, containerID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.containers[containerID]
	if !ok {
		return nil
	}
	f.removeLocked(e)
	return nil
}

// removeLocked deletes a container, killing it first if it runs.
func (f *Runtime) removeLocked(e *entry) {
	// Wait returns the code of a container killed by SIGKILL.
	e.exitLocked(killedExitCode)
	delete(f.containers, e.c.ID)
	if e.c.PodID != "" {
		delete(f.byName, keyOf(e.c))
		return
	}
	delete(f.byTask, e.c.TaskID)
}

// Resources implements runtime.Runtime.
func (f *Runtime) Resources(ctx context.Context) (runtime.Resources, error) {
	return f.resources, nil
}
