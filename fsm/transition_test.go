package fsm

import (
	"errors"
	"reflect"
	"testing"

	"github.com/podling/podling/internal/types"
)

type transitionOutcome int

const (
	legal transitionOutcome = iota
	stale
	illegal
)

func (o transitionOutcome) String() string {
	return [...]string{"legal", "stale", "illegal"}[o]
}

func TestApply_TaskTransitions(t *testing.T) {
	const (
		pending   = types.TaskPending
		scheduled = types.TaskScheduled
		running   = types.TaskRunning
		completed = types.TaskCompleted
		failed    = types.TaskFailed
		invalid   = types.TaskStatus("paused")
	)
	tests := []struct {
		from types.TaskStatus
		to   types.TaskStatus
		want transitionOutcome
	}{
		{pending, pending, stale},
		{pending, scheduled, legal},
		{pending, running, illegal},
		{pending, completed, illegal},
		{pending, failed, legal},
		{pending, invalid, illegal},

		{scheduled, pending, stale},
		{scheduled, scheduled, stale},
		{scheduled, running, legal},
		{scheduled, completed, illegal},
		{scheduled, failed, legal},
		{scheduled, invalid, illegal},

		{running, pending, stale},
		{running, scheduled, stale},
		{running, running, stale},
		{running, completed, legal},
		{running, failed, legal},
		{running, invalid, illegal},

		{completed, pending, stale},
		{completed, scheduled, stale},
		{completed, running, stale},
		{completed, completed, stale},
		{completed, failed, illegal},
		{completed, invalid, illegal},

		{failed, pending, stale},
		{failed, scheduled, stale},
		{failed, running, stale},
		{failed, completed, illegal},
		{failed, failed, stale},
		{failed, invalid, illegal},
	}
	for _, tt := range tests {
		name := string(tt.from) + " to " + string(tt.to)
		t.Run(name, func(t *testing.T) {
			f := New(nil)
			registerNode(t, f, "n1")
			node := "n1"
			if tt.from == pending {
				node = ""
			}
			before := addTask(t, f, "t1", at(10), tt.from, node)
			stateBefore := captureState(f)
			when := at(1000)

			res := apply(t, f, UpdateTaskStatus{
				TaskID: "t1",
				Update: types.TaskStatusUpdate{Status: tt.to, NodeID: "n1"},
				Time:   when,
			})

			got, _ := f.Task("t1")
			switch tt.want {
			case legal:
				task, ok := res.(types.Task)
				if !ok {
					t.Fatalf("expected a types.Task result, got %T: %v", res, res)
				}
				if task.Status != tt.to || got.Status != tt.to {
					t.Errorf("status: expected %s, got result %s and stored %s", tt.to, task.Status, got.Status)
				}
				if !got.UpdatedAt.Equal(when) {
					t.Errorf("updated at: expected %v, got %v", when, got.UpdatedAt)
				}
				if !reflect.DeepEqual(task, got) {
					t.Errorf("result and stored task differ:\n  result %s\n  stored %s", show(task), show(got))
				}
			case stale:
				task, ok := res.(types.Task)
				if !ok {
					t.Fatalf("expected the unchanged task and no error, got %T: %v", res, res)
				}
				if !reflect.DeepEqual(task, before) {
					t.Errorf("result: expected the unchanged task %s, got %s", show(before), show(task))
				}
				checkUnchangedExceptIndex(t, stateBefore, captureState(f))
			case illegal:
				err := resultError(res)
				if !errors.Is(err, ErrIllegalTransition) {
					t.Fatalf("expected an error matching %v, got result %s", ErrIllegalTransition, show(res))
				}
				var te *TransitionError
				if !errors.As(err, &te) {
					t.Fatalf("expected a *TransitionError, got %T: %v", err, err)
				}
				if te.ID != "t1" || te.From != tt.from || te.To != tt.to {
					t.Errorf("transition error: expected {t1 %s %s}, got {%s %s %s}", tt.from, tt.to, te.ID, te.From, te.To)
				}
				if !reflect.DeepEqual(got, before) {
					t.Errorf("task: expected unchanged %s, got %s", show(before), show(got))
				}
				checkUnchangedExceptIndex(t, stateBefore, captureState(f))
			}
		})
	}
}

func TestApply_TaskPlacement(t *testing.T) {
	tests := []struct {
		name    string
		node    string
		wantErr error
	}{
		{"online node", "n1", nil},
		{"unknown node", "n9", ErrNotFound},
		{"no node named", "", ErrNotFound},
		{"offline node", "n2", ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(nil)
			registerNode(t, f, "n1")
			registerNode(t, f, "n2")
			setNodeStatus(t, f, "n2", types.NodeOffline, at(1))
			addTask(t, f, "t1", at(10), types.TaskPending, "")
			before := captureState(f)

			res := apply(t, f, UpdateTaskStatus{
				TaskID: "t1",
				Update: types.TaskStatusUpdate{Status: types.TaskScheduled, NodeID: tt.node},
				Time:   at(20),
			})

			if tt.wantErr != nil {
				if err := resultError(res); !errors.Is(err, tt.wantErr) {
					t.Fatalf("expected error %v, got result %s", tt.wantErr, show(res))
				}
				checkUnchangedExceptIndex(t, before, captureState(f))
				return
			}
			task, ok := res.(types.Task)
			if !ok {
				t.Fatalf("expected a types.Task result, got %T: %v", res, res)
			}
			if task.Status != types.TaskScheduled || task.NodeID != tt.node {
				t.Errorf("task: expected scheduled on %s, got %s on %q", tt.node, task.Status, task.NodeID)
			}
			if n, _ := f.Node(tt.node); n.RunningTasks != 1 {
				t.Errorf("node %s running tasks: expected 1, got %d", tt.node, n.RunningTasks)
			}
		})
	}
}

func TestApply_TaskReportFromOtherNode(t *testing.T) {
	tests := []struct {
		name     string
		from     types.TaskStatus
		to       types.TaskStatus
		reporter string
		wantErr  error
	}{
		{"running from another node", types.TaskScheduled, types.TaskRunning, "n2", ErrConflict},
		{"completed from another node", types.TaskRunning, types.TaskCompleted, "n2", ErrConflict},
		{"failed from another node", types.TaskRunning, types.TaskFailed, "n2", ErrConflict},
		{"failed from an unknown node", types.TaskScheduled, types.TaskFailed, "n9", ErrConflict},
		{"repeated running from another node", types.TaskRunning, types.TaskRunning, "n2", ErrConflict},
		{"stale running from another node", types.TaskCompleted, types.TaskRunning, "n2", ErrConflict},
		{"repeated placement on another node", types.TaskScheduled, types.TaskScheduled, "n2", ErrConflict},
		{"running from the task's node", types.TaskScheduled, types.TaskRunning, "n1", nil},
		{"running without a node", types.TaskScheduled, types.TaskRunning, "", nil},
		{"completed without a node", types.TaskRunning, types.TaskCompleted, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(nil)
			registerNode(t, f, "n1")
			registerNode(t, f, "n2")
			before := addTask(t, f, "t1", at(10), tt.from, "n1")
			stateBefore := captureState(f)

			res := apply(t, f, UpdateTaskStatus{
				TaskID: "t1",
				Update: types.TaskStatusUpdate{Status: tt.to, NodeID: tt.reporter},
				Time:   at(100),
			})

			got, _ := f.Task("t1")
			if tt.wantErr != nil {
				if err := resultError(res); !errors.Is(err, tt.wantErr) {
					t.Fatalf("expected error %v, got result %s", tt.wantErr, show(res))
				}
				if !reflect.DeepEqual(got, before) {
					t.Errorf("task: expected unchanged %s, got %s", show(before), show(got))
				}
				checkUnchangedExceptIndex(t, stateBefore, captureState(f))
				return
			}
			if err := resultError(res); err != nil {
				t.Fatalf("expected success, got error %v", err)
			}
			if got.Status != tt.to || got.NodeID != "n1" {
				t.Errorf("task: expected %s on n1, got %s on %q", tt.to, got.Status, got.NodeID)
			}
		})
	}
}

func TestApply_TaskStatusFields(t *testing.T) {
	type step struct {
		update types.TaskStatusUpdate
		time   int
	}
	created := at(10)
	tests := []struct {
		name  string
		steps []step
		want  types.Task
	}{
		{
			name: "placement",
			steps: []step{
				{types.TaskStatusUpdate{Status: types.TaskScheduled, NodeID: "n1"}, 20},
			},
			want: types.Task{Status: types.TaskScheduled, NodeID: "n1", UpdatedAt: at(20)},
		},
		{
			name: "run to completion",
			steps: []step{
				{types.TaskStatusUpdate{Status: types.TaskScheduled, NodeID: "n1"}, 20},
				{types.TaskStatusUpdate{Status: types.TaskRunning, NodeID: "n1", ContainerID: "ctr-1"}, 30},
				{types.TaskStatusUpdate{Status: types.TaskCompleted, NodeID: "n1", ExitCode: intPtr(0)}, 40},
			},
			want: types.Task{
				Status: types.TaskCompleted, NodeID: "n1", ContainerID: "ctr-1", ExitCode: intPtr(0),
				UpdatedAt: at(40), StartedAt: timePtr(at(30)), FinishedAt: timePtr(at(40)),
			},
		},
		{
			name: "non-zero exit",
			steps: []step{
				{types.TaskStatusUpdate{Status: types.TaskScheduled, NodeID: "n1"}, 20},
				{types.TaskStatusUpdate{Status: types.TaskRunning, ContainerID: "ctr-1"}, 30},
				{types.TaskStatusUpdate{
					Status: types.TaskFailed, ExitCode: intPtr(137),
					Reason: types.ReasonNonZeroExit, Message: "exit status 137",
				}, 40},
			},
			want: types.Task{
				Status: types.TaskFailed, NodeID: "n1", ContainerID: "ctr-1", ExitCode: intPtr(137),
				Reason: types.ReasonNonZeroExit, Message: "exit status 137",
				UpdatedAt: at(40), StartedAt: timePtr(at(30)), FinishedAt: timePtr(at(40)),
			},
		},
		{
			name: "failure before start",
			steps: []step{
				{types.TaskStatusUpdate{Status: types.TaskScheduled, NodeID: "n1"}, 20},
				{types.TaskStatusUpdate{
					Status: types.TaskFailed, NodeID: "n1",
					Reason: types.ReasonImagePullFailed, Message: "pull registry.local/echo:1.0: no route",
				}, 25},
			},
			want: types.Task{
				Status: types.TaskFailed, NodeID: "n1",
				Reason: types.ReasonImagePullFailed, Message: "pull registry.local/echo:1.0: no route",
				UpdatedAt: at(25), FinishedAt: timePtr(at(25)),
			},
		},
		{
			name: "stale report keeps later fields",
			steps: []step{
				{types.TaskStatusUpdate{Status: types.TaskScheduled, NodeID: "n1"}, 20},
				{types.TaskStatusUpdate{Status: types.TaskRunning, ContainerID: "ctr-1"}, 30},
				{types.TaskStatusUpdate{Status: types.TaskRunning, ContainerID: "ctr-2"}, 35},
				{types.TaskStatusUpdate{Status: types.TaskScheduled, NodeID: "n1"}, 36},
			},
			want: types.Task{
				Status: types.TaskRunning, NodeID: "n1", ContainerID: "ctr-1",
				UpdatedAt: at(30), StartedAt: timePtr(at(30)),
			},
		},
		{
			name: "pending task fails",
			steps: []step{
				{types.TaskStatusUpdate{Status: types.TaskFailed, Reason: types.ReasonDispatchFailed, Message: "no node fits"}, 20},
			},
			want: types.Task{
				Status: types.TaskFailed, Reason: types.ReasonDispatchFailed, Message: "no node fits",
				UpdatedAt: at(20), FinishedAt: timePtr(at(20)),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(nil)
			registerNode(t, f, "n1")
			mustApply(t, f, CreateTask{Task: newTestTask("t1", created)})

			for _, s := range tt.steps {
				updateTask(t, f, "t1", s.update, at(s.time))
			}

			want := tt.want
			base := newTestTask("t1", created)
			want.TaskID, want.Name, want.Image, want.CreatedAt = base.TaskID, base.Name, base.Image, base.CreatedAt
			got, _ := f.Task("t1")
			if !reflect.DeepEqual(got, want) {
				t.Errorf("task:\n  expected %s\n  got      %s", show(want), show(got))
			}
		})
	}
}

func TestApply_UpdateUnknownTask(t *testing.T) {
	f := New(nil)
	registerNode(t, f, "n1")

	res := apply(t, f, UpdateTaskStatus{
		TaskID: "t9",
		Update: types.TaskStatusUpdate{Status: types.TaskScheduled, NodeID: "n1"},
		Time:   at(1),
	})

	if err := resultError(res); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expected error %v, got result %s", ErrNotFound, show(res))
	}
	if got := f.Tasks(TaskFilter{}); len(got) != 0 {
		t.Errorf("expected no tasks, got %s", show(got))
	}
}
