package fsm

import (
	"reflect"
	"slices"
	"testing"

	"github.com/podling/podling/internal/types"
)

// viewFixture returns an FSM with three nodes and six tasks created in the
// order t1..t6:
//
//	t1 pending, t2 scheduled on n1, t3 running on n1,
//	t4 running on n2, t5 completed on n2, t6 pending.
func viewFixture(t *testing.T) *FSM {
	t.Helper()
	f := New(nil)
	registerNode(t, f, "n1")
	registerNode(t, f, "n2")
	registerNode(t, f, "n3")
	addTask(t, f, "t1", at(10), types.TaskPending, "")
	addTask(t, f, "t2", at(20), types.TaskScheduled, "n1")
	addTask(t, f, "t3", at(30), types.TaskRunning, "n1")
	addTask(t, f, "t4", at(40), types.TaskRunning, "n2")
	addTask(t, f, "t5", at(50), types.TaskCompleted, "n2")
	addTask(t, f, "t6", at(60), types.TaskPending, "")
	return f
}

func taskIDs(tasks []types.Task) []string {
	ids := make([]string, 0, len(tasks))
	for _, task := range tasks {
		ids = append(ids, task.TaskID)
	}
	return ids
}

func TestTask_Get(t *testing.T) {
	f := viewFixture(t)

	t.Run("known task", func(t *testing.T) {
		got, ok := f.Task("t3")
		if !ok {
			t.Fatal("expected t3 found, got not found")
		}
		if got.TaskID != "t3" || got.Status != types.TaskRunning || got.NodeID != "n1" {
			t.Errorf("expected t3 running on n1, got %s %s on %q", got.TaskID, got.Status, got.NodeID)
		}
	})

	t.Run("unknown task", func(t *testing.T) {
		got, ok := f.Task("t9")
		if ok {
			t.Errorf("expected not found, got %s", show(got))
		}
		if !reflect.DeepEqual(got, types.Task{}) {
			t.Errorf("expected the zero task, got %s", show(got))
		}
	})
}

func TestTasks_Filters(t *testing.T) {
	f := viewFixture(t)

	tests := []struct {
		name   string
		filter TaskFilter
		want   []string
	}{
		{"no filter in creation order", TaskFilter{}, []string{"t1", "t2", "t3", "t4", "t5", "t6"}},
		{"pending", TaskFilter{Status: types.TaskPending}, []string{"t1", "t6"}},
		{"scheduled", TaskFilter{Status: types.TaskScheduled}, []string{"t2"}},
		{"running", TaskFilter{Status: types.TaskRunning}, []string{"t3", "t4"}},
		{"completed", TaskFilter{Status: types.TaskCompleted}, []string{"t5"}},
		{"failed", TaskFilter{Status: types.TaskFailed}, []string{}},
		{"unknown status", TaskFilter{Status: "paused"}, []string{}},
		{"node n1", TaskFilter{NodeID: "n1"}, []string{"t2", "t3"}},
		{"node n2", TaskFilter{NodeID: "n2"}, []string{"t4", "t5"}},
		{"node without tasks", TaskFilter{NodeID: "n3"}, []string{}},
		{"unknown node", TaskFilter{NodeID: "n9"}, []string{}},
		{"status and node", TaskFilter{Status: types.TaskRunning, NodeID: "n2"}, []string{"t4"}},
		{"status and other node", TaskFilter{Status: types.TaskCompleted, NodeID: "n1"}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := f.Tasks(tt.filter)

			if ids := taskIDs(got); !slices.Equal(ids, tt.want) {
				t.Fatalf("expected %v, got %v", tt.want, ids)
			}
			for _, task := range got {
				stored, _ := f.Task(task.TaskID)
				if !reflect.DeepEqual(task, stored) {
					t.Errorf("task %s: listing has %s, Task returns %s", task.TaskID, show(task), show(stored))
				}
			}
		})
	}
}

func TestTasks_StatusFilterOrder(t *testing.T) {
	// IDs sort in the opposite order to creation, so a listing ordered by
	// ID alone would come out reversed.
	f := New(nil)
	for i, id := range []string{"t-c", "t-b", "t-a"} {
		mustApply(t, f, CreateTask{Task: newTestTask(id, at(10*(i+1)))})
	}
	want := []string{"t-c", "t-b", "t-a"}

	if got := taskIDs(f.Tasks(TaskFilter{})); !slices.Equal(got, want) {
		t.Errorf("no filter: expected %v, got %v", want, got)
	}
	if got := taskIDs(f.Tasks(TaskFilter{Status: types.TaskPending})); !slices.Equal(got, want) {
		t.Errorf("pending: expected %v, got %v", want, got)
	}
}

func TestTasks_StatusFilterFollowsLogOrder(t *testing.T) {
	f := New(nil)
	// Creation times run backwards, as after a leader change with clock skew.
	for i, id := range []string{"t-b", "t-c", "t-a"} {
		mustApply(t, f, CreateTask{Task: newTestTask(id, at(10-i))})
	}
	want := []string{"t-b", "t-c", "t-a"}
	if got := taskIDs(f.Tasks(TaskFilter{})); !slices.Equal(got, want) {
		t.Fatalf("unfiltered: expected %v, got %v", want, got)
	}

	// Repeated calls catch an order that follows map iteration.
	for range 20 {
		if got := taskIDs(f.Tasks(TaskFilter{Status: types.TaskPending})); !slices.Equal(got, want) {
			t.Fatalf("expected %v, got %v", want, got)
		}
	}
}

func TestTaskCount(t *testing.T) {
	f := viewFixture(t)
	want := map[types.TaskStatus]int{
		types.TaskPending:   2,
		types.TaskScheduled: 1,
		types.TaskRunning:   2,
		types.TaskCompleted: 1,
		types.TaskFailed:    0,
	}

	got := f.TaskCount()

	for _, status := range allTaskStatuses {
		if got[status] != want[status] {
			t.Errorf("%s: expected %d, got %d", status, want[status], got[status])
		}
	}

	updateTask(t, f, "t3", types.TaskStatusUpdate{Status: types.TaskFailed}, at(100))
	got = f.TaskCount()
	if got[types.TaskRunning] != 1 || got[types.TaskFailed] != 1 {
		t.Errorf("after t3 fails: expected 1 running and 1 failed, got %d running and %d failed",
			got[types.TaskRunning], got[types.TaskFailed])
	}
}

func TestNode_RunningTasks(t *testing.T) {
	f := viewFixture(t)

	tests := []struct {
		name string
		node string
		want int
	}{
		{"scheduled and running", "n1", 2},
		{"completed not counted", "n2", 1},
		{"no tasks", "n3", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, ok := f.Node(tt.node)
			if !ok {
				t.Fatalf("Node(%q): expected found, got not found", tt.node)
			}
			if n.RunningTasks != tt.want {
				t.Errorf("expected %d, got %d", tt.want, n.RunningTasks)
			}
		})
	}

	t.Run("finished task no longer counted", func(t *testing.T) {
		updateTask(t, f, "t3", types.TaskStatusUpdate{Status: types.TaskCompleted, ExitCode: intPtr(0)}, at(100))
		if n, _ := f.Node("n1"); n.RunningTasks != 1 {
			t.Errorf("expected 1, got %d", n.RunningTasks)
		}
	})

	t.Run("unknown node", func(t *testing.T) {
		if n, ok := f.Node("n9"); ok {
			t.Errorf("expected not found, got %s", show(n))
		}
	})
}

func TestNodes_SortedByID(t *testing.T) {
	f := New(nil)
	for _, id := range []string{"node-c", "node-a", "node-b"} {
		registerNode(t, f, id)
	}
	addTask(t, f, "t1", at(10), types.TaskRunning, "node-b")

	nodes := f.Nodes()

	var ids []string
	for _, n := range nodes {
		ids = append(ids, n.NodeID)
	}
	if want := []string{"node-a", "node-b", "node-c"}; !slices.Equal(ids, want) {
		t.Fatalf("expected %v, got %v", want, ids)
	}
	if nodes[1].RunningTasks != 1 {
		t.Errorf("node-b running tasks: expected 1, got %d", nodes[1].RunningTasks)
	}
}

func TestNodes_Empty(t *testing.T) {
	f := New(nil)

	if got := f.Nodes(); len(got) != 0 {
		t.Errorf("expected no nodes, got %s", show(got))
	}
	if got := f.Tasks(TaskFilter{}); len(got) != 0 {
		t.Errorf("expected no tasks, got %s", show(got))
	}
}
