package fsm

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/podling/podling/internal/types"
)

// statusRank orders task states along the lifecycle. Both terminal states
// share the last rank.
var statusRank = map[types.TaskStatus]int{
	types.TaskPending:   0,
	types.TaskScheduled: 1,
	types.TaskRunning:   2,
	types.TaskCompleted: 3,
	types.TaskFailed:    3,
}

func (f *FSM) createTaskLocked(c CreateTask) (any, error) {
	t := c.Task
	if t.TaskID == "" || t.Image == "" {
		return types.Task{}, fmt.Errorf("%w: task needs an ID and an image", ErrInvalidCommand)
	}
	replay, err := f.replayLocked("task", c.Idempotency, func(id string) (any, bool) {
		task, ok := f.tasks[id]
		if !ok {
			return nil, false
		}
		return *task, true
	})
	if replay != nil || err != nil {
		return replay, err
	}
	if _, ok := f.tasks[t.TaskID]; ok {
		return types.Task{}, fmt.Errorf("task %s: %w", t.TaskID, ErrIDTaken)
	}
	// Only the identity, the request and the creation time come from the
	// command; everything else starts empty.
	t = types.Task{
		TaskID: t.TaskID, Name: t.Name, Namespace: t.Namespace, Labels: t.Labels,
		Image: t.Image, Env: t.Env, CreatedAt: t.CreatedAt,
	}
	t.Status = types.TaskPending
	t.UpdatedAt = t.CreatedAt
	f.addTaskLocked(&t)
	f.rememberLocked("task", c.Idempotency, t.TaskID)
	return t, nil
}

// updateTaskStatusLocked applies a status report or a placement. A report
// that repeats the current status or lags behind it returns the task
// unchanged, so a worker may resend reports safely.
func (f *FSM) updateTaskStatusLocked(c UpdateTaskStatus) (types.Task, error) {
	old, ok := f.tasks[c.TaskID]
	if !ok {
		return types.Task{}, fmt.Errorf("task %s: %w", c.TaskID, ErrNotFound)
	}
	u := c.Update
	if err := checkReporter(old, u); err != nil {
		return *old, err
	}
	stale, err := checkTransition(old, u.Status)
	if err != nil || stale {
		return *old, err
	}
	if err := f.checkPlacementLocked(old, u); err != nil {
		return *old, err
	}
	t := withStatus(*old, u, c.Time)
	f.unindexTaskLocked(old)
	f.tasks[t.TaskID] = &t
	f.indexTaskLocked(&t)
	return t, nil
}

// checkTransition reports whether moving t to next is stale (a no-op) and
// returns a *TransitionError when it is illegal.
func checkTransition(t *types.Task, next types.TaskStatus) (stale bool, err error) {
	cur := t.Status
	illegal := &TransitionError{ID: t.TaskID, From: cur, To: next}
	switch {
	case !next.Valid():
		return false, illegal
	case next == cur:
		return true, nil
	case cur.Terminal() && next.Terminal():
		// completed and failed contradict each other, so the first one is kept.
		return false, illegal
	case statusRank[next] < statusRank[cur]:
		return true, nil
	case next == types.TaskFailed:
		return false, nil
	case statusRank[next] == statusRank[cur]+1:
		return false, nil
	}
	return false, illegal
}

// checkReporter rejects a report, or a repeated placement, that names a
// node other than the one the task is placed on, even when the report
// would otherwise be a no-op.
func checkReporter(t *types.Task, u types.TaskStatusUpdate) error {
	if u.NodeID != "" && t.NodeID != "" && u.NodeID != t.NodeID {
		return fmt.Errorf("task %s is placed on node %s, not %s: %w", t.TaskID, t.NodeID, u.NodeID, ErrConflict)
	}
	return nil
}

// checkPlacementLocked rejects a placement on an unknown, offline,
// cordoned or full node.
func (f *FSM) checkPlacementLocked(t *types.Task, u types.TaskStatusUpdate) error {
	if u.Status != types.TaskScheduled {
		return nil
	}
	n, ok := f.nodes[u.NodeID]
	if !ok {
		return fmt.Errorf("place task %s on node %q: %w", t.TaskID, u.NodeID, ErrNotFound)
	}
	if n.Status != types.NodeOnline || n.Unschedulable {
		return fmt.Errorf("place task %s on %s node %s (unschedulable %v): %w", t.TaskID, n.Status, n.NodeID, n.Unschedulable, ErrConflict)
	}
	if view := f.nodeViewLocked(n); view.RunningTasks+view.RunningPods >= view.Capacity {
		return fmt.Errorf("place task %s: node %s runs %d of %d workloads: %w", t.TaskID, n.NodeID, view.RunningTasks+view.RunningPods, view.Capacity, ErrInsufficientResources)
	}
	return nil
}

// withStatus returns a copy of t moved to the reported status.
func withStatus(t types.Task, u types.TaskStatusUpdate, now time.Time) types.Task {
	t.Status = u.Status
	t.UpdatedAt = now
	if u.Status == types.TaskScheduled {
		t.NodeID = u.NodeID
	}
	if u.ContainerID != "" {
		t.ContainerID = u.ContainerID
	}
	if u.ExitCode != nil {
		code := *u.ExitCode
		t.ExitCode = &code
	}
	if u.Reason != "" || u.Message != "" {
		t.Reason, t.Message = u.Reason, u.Message
	}
	if u.Status == types.TaskRunning {
		t.StartedAt = &now
	}
	if u.Status.Terminal() {
		t.FinishedAt = &now
	}
	return t
}

// addTaskLocked stores a new task at the end of the creation order.
func (f *FSM) addTaskLocked(t *types.Task) {
	f.tasks[t.TaskID] = t
	f.taskPosition[t.TaskID] = len(f.taskOrder)
	f.taskOrder = append(f.taskOrder, t.TaskID)
	f.indexTaskLocked(t)
}

func (f *FSM) indexTaskLocked(t *types.Task) {
	addToSet(f.tasksByStatus, string(t.Status), t.TaskID)
	if t.Status == types.TaskPending {
		f.pendingTasks.add(t.TaskID)
	}
	if t.NodeID != "" && (t.Status == types.TaskScheduled || t.Status == types.TaskRunning) {
		addToSet(f.activeByNode, t.NodeID, t.TaskID)
	}
}

func (f *FSM) unindexTaskLocked(t *types.Task) {
	removeFromSet(f.tasksByStatus, string(t.Status), t.TaskID)
	f.pendingTasks.remove(t.TaskID)
	if t.NodeID != "" {
		removeFromSet(f.activeByNode, t.NodeID, t.TaskID)
	}
}

func addToSet[K ~string](sets map[K]map[string]struct{}, key string, id string) {
	set, ok := sets[K(key)]
	if !ok {
		set = make(map[string]struct{})
		sets[K(key)] = set
	}
	set[id] = struct{}{}
}

func removeFromSet[K ~string](sets map[K]map[string]struct{}, key string, id string) {
	set := sets[K(key)]
	delete(set, id)
	if len(set) == 0 {
		delete(sets, K(key))
	}
}

// Task returns the task with the given ID.
func (f *FSM) Task(id string) (types.Task, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	t, ok := f.tasks[id]
	if !ok {
		return types.Task{}, false
	}
	return *t, true
}

// TaskFilter narrows a task listing. Zero fields match everything.
type TaskFilter struct {
	Status    types.TaskStatus
	NodeID    string
	Namespace string
	Labels    map[string]string // every pair must match
}

func (tf TaskFilter) matches(t *types.Task) bool {
	return (tf.NodeID == "" || t.NodeID == tf.NodeID) &&
		(tf.Namespace == "" || t.Namespace == tf.Namespace) &&
		(len(tf.Labels) == 0 || types.SelectorMatches(tf.Labels, t.Labels))
}

// Tasks returns the tasks matching filter in creation order.
func (f *FSM) Tasks(filter TaskFilter) []types.Task {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if filter.Status == "" {
		out := make([]types.Task, 0, len(f.taskOrder))
		for _, id := range f.taskOrder {
			if t := f.tasks[id]; filter.matches(t) {
				out = append(out, *t)
			}
		}
		return out
	}
	return f.tasksWithStatusLocked(filter)
}

func (f *FSM) tasksWithStatusLocked(filter TaskFilter) []types.Task {
	set := f.tasksByStatus[filter.Status]
	out := make([]types.Task, 0, len(set))
	for id := range set {
		if t := f.tasks[id]; filter.matches(t) {
			out = append(out, *t)
		}
	}
	// Log order, the same order as an unfiltered listing.
	slices.SortFunc(out, func(a, b types.Task) int {
		return cmp.Compare(f.taskPosition[a.TaskID], f.taskPosition[b.TaskID])
	})
	return out
}

// PendingTasks returns at most limit pending tasks, oldest first. It costs
// time in proportion to limit, not to the number of tasks.
func (f *FSM) PendingTasks(limit int) []types.Task {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]types.Task, 0, min(limit, f.pendingTasks.len()))
	f.pendingTasks.eachUntil(func(id string) bool {
		out = append(out, *f.tasks[id])
		return len(out) < limit
	})
	return out
}

// TaskCount returns the number of tasks in each status.
func (f *FSM) TaskCount() map[types.TaskStatus]int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make(map[types.TaskStatus]int, len(f.tasksByStatus))
	for status, set := range f.tasksByStatus {
		out[status] = len(set)
	}
	return out
}
