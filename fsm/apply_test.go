package fsm

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/podling/podling/internal/types"
)

func TestApply_CreateTask(t *testing.T) {
	existing := newTestTask("t-existing", at(1))

	tests := []struct {
		name    string
		task    types.Task
		wantErr error
		want    types.Task
	}{
		{
			name: "new task is pending",
			task: newTestTask("t-new", at(10)),
			want: func() types.Task {
				w := newTestTask("t-new", at(10))
				w.Status = types.TaskPending
				w.UpdatedAt = at(10)
				return w
			}(),
		},
		{
			name: "status and update time in the command are ignored",
			task: func() types.Task {
				c := newTestTask("t-new", at(10))
				c.Env = map[string]string{"A": "1"}
				c.Status = types.TaskRunning
				c.UpdatedAt = at(99)
				return c
			}(),
			want: func() types.Task {
				w := newTestTask("t-new", at(10))
				w.Env = map[string]string{"A": "1"}
				w.Status = types.TaskPending
				w.UpdatedAt = at(10)
				return w
			}(),
		},
		{
			name: "placement and outcome fields in the command are cleared",
			task: func() types.Task {
				c := newTestTask("t-new", at(10))
				c.NodeID, c.ContainerID, c.Reason, c.Message = "n1", "c1", "NodeLost", "stale"
				c.ExitCode, c.StartedAt, c.FinishedAt = intPtr(3), timePtr(at(11)), timePtr(at(12))
				return c
			}(),
			want: func() types.Task {
				w := newTestTask("t-new", at(10))
				w.Status = types.TaskPending
				w.UpdatedAt = at(10)
				return w
			}(),
		},
		{
			name: "duplicate ID",
			task: func() types.Task {
				c := newTestTask("t-existing", at(20))
				c.Image = "other:2.0"
				return c
			}(),
			wantErr: ErrAlreadyExists,
		},
		{
			name:    "missing ID",
			task:    newTestTask("", at(10)),
			wantErr: ErrInvalidCommand,
		},
		{
			name: "missing image",
			task: func() types.Task {
				c := newTestTask("t-new", at(10))
				c.Image = ""
				return c
			}(),
			wantErr: ErrInvalidCommand,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(nil)
			mustApply(t, f, CreateTask{Task: existing})
			before := captureState(f)

			res := apply(t, f, CreateTask{Task: tt.task})

			if tt.wantErr != nil {
				if err := resultError(res); !errors.Is(err, tt.wantErr) {
					t.Fatalf("expected error %v, got result %s", tt.wantErr, show(res))
				}
				checkUnchangedExceptIndex(t, before, captureState(f))
				return
			}
			got, ok := res.(types.Task)
			if !ok {
				t.Fatalf("expected a types.Task result, got %T: %v", res, res)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("result: expected %s, got %s", show(tt.want), show(got))
			}
			stored, ok := f.Task(tt.want.TaskID)
			if !ok {
				t.Fatalf("Task(%q): expected the task stored, got not found", tt.want.TaskID)
			}
			if !reflect.DeepEqual(stored, tt.want) {
				t.Errorf("stored task: expected %s, got %s", show(tt.want), show(stored))
			}
			if got := f.TaskCount()[types.TaskPending]; got != 2 {
				t.Errorf("pending count: expected 2, got %d", got)
			}
		})
	}
}

func TestApply_RegisterNode(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, f *FSM)
		node    types.Node
		wantErr error
		want    types.Node
	}{
		{
			name: "new node is online",
			node: func() types.Node {
				n := newTestNode("n1")
				n.Status = types.NodeOffline
				n.RunningTasks = 7
				return n
			}(),
			want: func() types.Node {
				n := newTestNode("n1")
				n.Status = types.NodeOnline
				return n
			}(),
		},
		{
			name:  "re-register keeps registration time and updates address",
			setup: func(t *testing.T, f *FSM) { registerNode(t, f, "n1") },
			node: types.Node{
				NodeID: "n1", Hostname: "moved.example.internal", Port: 9090, Capacity: 2,
				LastHeartbeat: at(50), RegisteredAt: at(50),
			},
			want: types.Node{
				NodeID: "n1", Hostname: "moved.example.internal", Port: 9090, Capacity: 2,
				Status: types.NodeOnline, LastHeartbeat: at(50), RegisteredAt: at(0),
			},
		},
		{
			name: "re-register keeps a later stored heartbeat",
			setup: func(t *testing.T, f *FSM) {
				registerNode(t, f, "n1")
				mustApply(t, f, NodeHeartbeats{LastSeen: map[string]time.Time{"n1": at(100)}})
			},
			node: func() types.Node {
				n := newTestNode("n1")
				n.LastHeartbeat = at(40)
				n.RegisteredAt = at(40)
				return n
			}(),
			want: func() types.Node {
				n := newTestNode("n1")
				n.Status = types.NodeOnline
				n.LastHeartbeat = at(100)
				return n
			}(),
		},
		{
			name: "re-register brings an offline node online",
			setup: func(t *testing.T, f *FSM) {
				registerNode(t, f, "n1")
				setNodeStatus(t, f, "n1", types.NodeOffline, at(30))
			},
			node: newTestNode("n1"),
			want: func() types.Node {
				n := newTestNode("n1")
				n.Status = types.NodeOnline
				return n
			}(),
		},
		{
			name: "missing ID",
			node: func() types.Node {
				n := newTestNode("n1")
				n.NodeID = ""
				return n
			}(),
			wantErr: ErrInvalidCommand,
		},
		{
			name: "missing host name",
			node: func() types.Node {
				n := newTestNode("n1")
				n.Hostname = ""
				return n
			}(),
			wantErr: ErrInvalidCommand,
		},
		{
			name: "zero port",
			node: func() types.Node {
				n := newTestNode("n1")
				n.Port = 0
				return n
			}(),
			wantErr: ErrInvalidCommand,
		},
		{
			name: "negative capacity",
			node: func() types.Node {
				n := newTestNode("n1")
				n.Capacity = -1
				return n
			}(),
			wantErr: ErrInvalidCommand,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(nil)
			if tt.setup != nil {
				tt.setup(t, f)
			}
			before := captureState(f)

			res := apply(t, f, RegisterNode{Node: tt.node})

			if tt.wantErr != nil {
				if err := resultError(res); !errors.Is(err, tt.wantErr) {
					t.Fatalf("expected error %v, got result %s", tt.wantErr, show(res))
				}
				checkUnchangedExceptIndex(t, before, captureState(f))
				return
			}
			got, ok := res.(types.Node)
			if !ok {
				t.Fatalf("expected a types.Node result, got %T: %v", res, res)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("result: expected %s, got %s", show(tt.want), show(got))
			}
			stored, ok := f.Node(tt.want.NodeID)
			if !ok {
				t.Fatalf("Node(%q): expected the node stored, got not found", tt.want.NodeID)
			}
			if !reflect.DeepEqual(stored, tt.want) {
				t.Errorf("stored node: expected %s, got %s", show(tt.want), show(stored))
			}
		})
	}
}

func TestApply_SetNodeStatus(t *testing.T) {
	t.Run("unknown node", func(t *testing.T) {
		f := New(nil)
		registerNode(t, f, "n1")
		before := captureState(f)

		res := apply(t, f, SetNodeStatus{NodeID: "n9", Status: types.NodeOffline, Time: at(5)})

		if err := resultError(res); !errors.Is(err, ErrNotFound) {
			t.Fatalf("expected error %v, got result %s", ErrNotFound, show(res))
		}
		checkUnchangedExceptIndex(t, before, captureState(f))
	})

	t.Run("invalid status", func(t *testing.T) {
		f := New(nil)
		registerNode(t, f, "n1")
		before := captureState(f)

		res := apply(t, f, SetNodeStatus{NodeID: "n1", Status: "draining", Time: at(5)})

		if err := resultError(res); !errors.Is(err, ErrInvalidCommand) {
			t.Fatalf("expected error %v, got result %s", ErrInvalidCommand, show(res))
		}
		checkUnchangedExceptIndex(t, before, captureState(f))
	})

	t.Run("offline fails the node's unfinished tasks", func(t *testing.T) {
		f := New(nil)
		registerNode(t, f, "n1")
		registerNode(t, f, "n2")
		addTask(t, f, "t1-pending", at(10), types.TaskPending, "")
		addTask(t, f, "t2-scheduled", at(20), types.TaskScheduled, "n1")
		addTask(t, f, "t3-running", at(30), types.TaskRunning, "n1")
		addTask(t, f, "t4-completed", at(40), types.TaskCompleted, "n1")
		addTask(t, f, "t5-failed", at(50), types.TaskFailed, "n1")
		addTask(t, f, "t6-other-node", at(60), types.TaskRunning, "n2")
		before := make(map[string]types.Task)
		for _, task := range f.Tasks(TaskFilter{}) {
			before[task.TaskID] = task
		}
		lostAt := at(1000)

		res := mustApply(t, f, SetNodeStatus{NodeID: "n1", Status: types.NodeOffline, Time: lostAt})

		node, ok := res.(types.Node)
		if !ok {
			t.Fatalf("expected a types.Node result, got %T", res)
		}
		if node.Status != types.NodeOffline {
			t.Errorf("result status: expected %s, got %s", types.NodeOffline, node.Status)
		}
		if node.RunningTasks != 0 {
			t.Errorf("result running tasks: expected 0, got %d", node.RunningTasks)
		}
		for _, id := range []string{"t2-scheduled", "t3-running"} {
			got, _ := f.Task(id)
			want := before[id]
			want.Status = types.TaskFailed
			want.Reason = types.ReasonNodeLost
			want.Message = got.Message
			want.UpdatedAt = lostAt
			want.FinishedAt = timePtr(lostAt)
			if got.Message == "" {
				t.Errorf("task %s: expected a failure message, got none", id)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("task %s:\n  expected %s\n  got      %s", id, show(want), show(got))
			}
		}
		for _, id := range []string{"t1-pending", "t4-completed", "t5-failed", "t6-other-node"} {
			if got, _ := f.Task(id); !reflect.DeepEqual(got, before[id]) {
				t.Errorf("task %s: expected unchanged %s, got %s", id, show(before[id]), show(got))
			}
		}
		if n2, _ := f.Node("n2"); n2.Status != types.NodeOnline || n2.RunningTasks != 1 {
			t.Errorf("node n2: expected online with 1 running task, got %s with %d", n2.Status, n2.RunningTasks)
		}
		if got := f.Tasks(TaskFilter{Status: types.TaskFailed}); len(got) != 3 {
			t.Errorf("failed tasks: expected 3, got %d", len(got))
		}
	})

	t.Run("online again leaves failed tasks failed", func(t *testing.T) {
		f := New(nil)
		registerNode(t, f, "n1")
		addTask(t, f, "t1", at(10), types.TaskRunning, "n1")
		setNodeStatus(t, f, "n1", types.NodeOffline, at(100))

		res := mustApply(t, f, SetNodeStatus{NodeID: "n1", Status: types.NodeOnline, Time: at(200)})

		if node := res.(types.Node); node.Status != types.NodeOnline {
			t.Errorf("node status: expected %s, got %s", types.NodeOnline, node.Status)
		}
		if got, _ := f.Task("t1"); got.Status != types.TaskFailed {
			t.Errorf("task t1: expected %s, got %s", types.TaskFailed, got.Status)
		}
	})
}

func TestApply_NodeHeartbeats(t *testing.T) {
	tests := []struct {
		name     string
		lastSeen map[string]time.Time
		want     map[string]time.Time
	}{
		{
			name:     "newer times recorded",
			lastSeen: map[string]time.Time{"n1": at(100), "n2": at(200)},
			want:     map[string]time.Time{"n1": at(100), "n2": at(200)},
		},
		{
			name:     "older time ignored",
			lastSeen: map[string]time.Time{"n1": at(5), "n2": at(200)},
			want:     map[string]time.Time{"n1": at(10), "n2": at(200)},
		},
		{
			name:     "equal time ignored",
			lastSeen: map[string]time.Time{"n1": at(10)},
			want:     map[string]time.Time{"n1": at(10), "n2": at(10)},
		},
		{
			name:     "unknown node skipped",
			lastSeen: map[string]time.Time{"n9": at(300), "n1": at(300)},
			want:     map[string]time.Time{"n1": at(300), "n2": at(10)},
		},
		{
			name:     "empty batch",
			lastSeen: nil,
			want:     map[string]time.Time{"n1": at(10), "n2": at(10)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(nil)
			registerNode(t, f, "n1")
			registerNode(t, f, "n2")
			mustApply(t, f, NodeHeartbeats{LastSeen: map[string]time.Time{"n1": at(10), "n2": at(10)}})

			res := mustApply(t, f, NodeHeartbeats{LastSeen: tt.lastSeen})

			if res != nil {
				t.Errorf("result: expected nil, got %s", show(res))
			}
			nodes := f.Nodes()
			if len(nodes) != 2 {
				t.Fatalf("expected 2 nodes, got %d: %s", len(nodes), show(nodes))
			}
			for _, n := range nodes {
				if !n.LastHeartbeat.Equal(tt.want[n.NodeID]) {
					t.Errorf("node %s last heartbeat: expected %v, got %v", n.NodeID, tt.want[n.NodeID], n.LastHeartbeat)
				}
			}
		})
	}
}

func TestApply_SetMasterAddress(t *testing.T) {
	tests := []struct {
		name    string
		cmd     SetMasterAddress
		wantErr error
		want    map[string]string
	}{
		{
			name: "new master",
			cmd:  SetMasterAddress{ServerID: "m2", APIAddress: "http://m2:8070"},
			want: map[string]string{"m1": "http://m1:8070", "m2": "http://m2:8070"},
		},
		{
			name: "address replaced",
			cmd:  SetMasterAddress{ServerID: "m1", APIAddress: "http://10.0.0.9:8070"},
			want: map[string]string{"m1": "http://10.0.0.9:8070"},
		},
		{
			name:    "missing server ID",
			cmd:     SetMasterAddress{APIAddress: "http://m2:8070"},
			wantErr: ErrInvalidCommand,
			want:    map[string]string{"m1": "http://m1:8070"},
		},
		{
			name:    "missing address",
			cmd:     SetMasterAddress{ServerID: "m1"},
			wantErr: ErrInvalidCommand,
			want:    map[string]string{"m1": "http://m1:8070"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(nil)
			mustApply(t, f, SetMasterAddress{ServerID: "m1", APIAddress: "http://m1:8070"})

			res := apply(t, f, tt.cmd)

			if tt.wantErr != nil {
				if err := resultError(res); !errors.Is(err, tt.wantErr) {
					t.Fatalf("expected error %v, got result %s", tt.wantErr, show(res))
				}
			} else if res != nil {
				t.Fatalf("expected a nil result, got %s", show(res))
			}
			for id, want := range tt.want {
				got, ok := f.MasterAddress(id)
				if !ok || got != want {
					t.Errorf("MasterAddress(%q): expected %q, got %q (found %v)", id, want, got, ok)
				}
			}
			if got, ok := f.MasterAddress("m9"); ok {
				t.Errorf("MasterAddress(%q): expected not found, got %q", "m9", got)
			}
		})
	}
}

func TestApply_RejectedCommandChangesNothing(t *testing.T) {
	taskUpdate := func(id string, status types.TaskStatus, node string) []byte {
		return encode(t, UpdateTaskStatus{
			TaskID: id,
			Update: types.TaskStatusUpdate{Status: status, NodeID: node, ContainerID: "ctr-x", ExitCode: intPtr(3), Reason: "X", Message: "m"},
			Time:   at(500),
		})
	}
	badNode := newTestNode("n4")
	badNode.Port = -1

	tests := []struct {
		name    string
		data    []byte
		wantErr error
	}{
		{"duplicate task", encode(t, CreateTask{Task: newTestTask("t3", at(500))}), ErrAlreadyExists},
		{"task without image", encode(t, CreateTask{Task: types.Task{TaskID: "t9"}}), ErrInvalidCommand},
		{"update of unknown task", taskUpdate("t9", types.TaskRunning, ""), ErrNotFound},
		{"pending to running", taskUpdate("t1", types.TaskRunning, ""), ErrIllegalTransition},
		{"completed to failed", taskUpdate("t5", types.TaskFailed, "n2"), ErrIllegalTransition},
		{"invalid task status", taskUpdate("t3", "paused", "n1"), ErrIllegalTransition},
		{"placement on unknown node", taskUpdate("t1", types.TaskScheduled, "n9"), ErrNotFound},
		{"placement on offline node", taskUpdate("t1", types.TaskScheduled, "n3-offline"), ErrConflict},
		{"report from another node", taskUpdate("t3", types.TaskCompleted, "n2"), ErrConflict},
		{"invalid node", encode(t, RegisterNode{Node: badNode}), ErrInvalidCommand},
		{"status of unknown node", encode(t, SetNodeStatus{NodeID: "n9", Status: types.NodeOffline, Time: at(500)}), ErrNotFound},
		{"invalid node status", encode(t, SetNodeStatus{NodeID: "n1", Status: "gone", Time: at(500)}), ErrInvalidCommand},
		{"master without address", encode(t, SetMasterAddress{ServerID: "m1"}), ErrInvalidCommand},
		{"empty entry", nil, ErrInvalidCommand},
		{"unknown command type", []byte{99, CommandVersion, '{', '}'}, ErrUnknownCommand},
		{"newer command version", []byte{byte(CommandCreateTask), CommandVersion + 1, '{', '}'}, ErrUnknownCommand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := populated(t)
			before := captureState(f)
			index := before.AppliedIndex + 1

			res := applyData(f, tt.data)

			if err := resultError(res); !errors.Is(err, tt.wantErr) {
				t.Fatalf("expected error %v, got result %s", tt.wantErr, show(res))
			}
			after := captureState(f)
			checkUnchangedExceptIndex(t, before, after)
			if after.AppliedIndex != index {
				t.Errorf("applied index: expected %d, got %d", index, after.AppliedIndex)
			}
		})
	}
}
