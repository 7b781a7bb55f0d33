package worker

import (
	"context"
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
	// cancel ends the goroutine that starts and follows the container.
	cancel context.CancelFunc
	// removed is set once stopFollowing was called, so a goroutine started
	// after that is cancelled at once.
	removed bool
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

// setCancel records the function that ends the task's goroutine.
func (t *task) setCancel(cancel context.CancelFunc) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cancel = cancel
	if t.removed {
		cancel()
	}
}

// stopFollowing ends the task's goroutine, now or as soon as it starts,
// and waits until its start attempt has finished. The container is left
// as it is.
func (t *task) stopFollowing() {
	t.mu.Lock()
	t.removed = true
	cancel := t.cancel
	t.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	<-t.started
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

// taskTable is the set of tasks this worker tracks, by task ID, and the
// fence against stale dispatches. It is safe for concurrent use.
type taskTable struct {
	mu    sync.Mutex
	tasks map[string]*task
	// dispatches holds the latest dispatch accepted for each task ID.
	dispatches fence
}

func newTaskTable() *taskTable {
	return &taskTable{tasks: make(map[string]*task), dispatches: newFence("task")}
}

// accept records dispatch d of the task id, or returns a 409 error when a
// dispatch with a higher term was accepted for it before.
func (tt *taskTable) accept(id string, d dispatch) error {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	if err := tt.dispatches.check(id, d); err != nil {
		return err
	}
	tt.dispatches.record(id, d)
	return nil
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

// remove deletes t from the table, unless the table has another record
// for its ID. The task's latest dispatch is kept.
func (tt *taskTable) remove(t *task) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	if tt.tasks[t.id] == t {
		delete(tt.tasks, t.id)
	}
}
