package worker

import (
	"fmt"
	"sync"

	"github.com/podling/podling/internal/runtime"
	"github.com/podling/podling/internal/types"
)

// task is the worker's record of one task it runs or has run.
type task struct {
	id    string
	image string
	// started is closed once the first attempt to start the container has
	// finished, whether it succeeded or not.
	started chan struct{}

	mu          sync.Mutex
	status      types.TaskStatus
	containerID string
	exitCode    *int
	message     string
}

func newTask(id, image string) *task {
	return &task{id: id, image: image, started: make(chan struct{}), status: types.TaskScheduled}
}

// taskFromContainer returns the record of a container found in the runtime.
// Its start attempt counts as finished unless the container was never started.
func taskFromContainer(c runtime.Container) *task {
	t := newTask(c.TaskID, c.Image)
	t.status, t.exitCode, t.message = statusOf(c)
	t.containerID = c.ID
	if c.State != runtime.StateCreated {
		close(t.started)
	}
	return t
}

// statusOf maps a container's state to the task status the worker reports.
func statusOf(c runtime.Container) (types.TaskStatus, *int, string) {
	switch c.State {
	case runtime.StateCreated:
		return types.TaskScheduled, nil, ""
	case runtime.StateExited:
		code := c.ExitCode
		if code == 0 {
			return types.TaskCompleted, &code, ""
		}
		return types.TaskFailed, &code, exitMessage(code)
	case runtime.StateDead:
		return types.TaskFailed, nil, "container is dead"
	default:
		return types.TaskRunning, nil, ""
	}
}

func exitMessage(code int) string {
	return fmt.Sprintf("container exited with code %d", code)
}

// update records a status change.
func (t *task) update(u types.TaskStatusUpdate) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.status = u.Status
	t.exitCode = u.ExitCode
	t.message = u.Message
	if u.ContainerID != "" {
		t.containerID = u.ContainerID
	}
}

// snapshot returns the task's current status.
func (t *task) snapshot() types.WorkerTaskStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	return types.WorkerTaskStatus{
		TaskID:      t.id,
		Status:      t.status,
		ContainerID: t.containerID,
		ExitCode:    t.exitCode,
		Message:     t.message,
	}
}

// taskTable is the set of tasks this worker tracks, by task ID. It is safe
// for concurrent use.
type taskTable struct {
	mu    sync.Mutex
	tasks map[string]*task
}

func newTaskTable() *taskTable {
	return &taskTable{tasks: make(map[string]*task)}
}

func (tt *taskTable) get(id string) (*task, bool) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	t, ok := tt.tasks[id]
	return t, ok
}

// add stores t unless a task with its ID is already known. It returns the
// stored task and whether it is t.
func (tt *taskTable) add(t *task) (*task, bool) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	if known, ok := tt.tasks[t.id]; ok {
		return known, false
	}
	tt.tasks[t.id] = t
	return t, true
}
