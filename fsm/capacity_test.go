package fsm

import (
	"errors"
	"fmt"
	"testing"

	"github.com/podling/podling/internal/types"
)

func TestPlaceTask_FullNodeRejected(t *testing.T) {
	f := New(nil)
	node := newTestNode("n1")
	node.Capacity = 2
	mustApply(t, f, RegisterNode{Node: node})
	for i := range 3 {
		mustApply(t, f, CreateTask{Task: newTestTask(fmt.Sprintf("t%d", i), at(i))})
	}
	for i := range 2 {
		updateTask(t, f, fmt.Sprintf("t%d", i), types.TaskStatusUpdate{Status: types.TaskScheduled, NodeID: "n1"}, at(10))
	}
	before := captureState(f)

	res := apply(t, f, UpdateTaskStatus{TaskID: "t2", Update: types.TaskStatusUpdate{Status: types.TaskScheduled, NodeID: "n1"}, Time: at(11)})

	if err := resultError(res); !errors.Is(err, ErrInsufficientResources) {
		t.Fatalf("third task on a node of capacity 2: expected ErrInsufficientResources, got %s", show(res))
	}
	checkUnchangedExceptIndex(t, before, captureState(f))
}

func TestPlaceTask_CordonedNodeRejected(t *testing.T) {
	f := New(nil)
	mustApply(t, f, RegisterNode{Node: newTestNode("n1")})
	mustApply(t, f, CordonNode{NodeID: "n1", Unschedulable: true, Reason: types.ReasonDrained, Time: at(1)})
	mustApply(t, f, CreateTask{Task: newTestTask("t0", at(2))})

	res := apply(t, f, UpdateTaskStatus{TaskID: "t0", Update: types.TaskStatusUpdate{Status: types.TaskScheduled, NodeID: "n1"}, Time: at(3)})

	if err := resultError(res); !errors.Is(err, ErrConflict) {
		t.Errorf("task on a cordoned node: expected ErrConflict, got %s", show(res))
	}
}

func TestRegisterNode_KeepsDrainEndsLeave(t *testing.T) {
	tests := []struct {
		reason string
		want   bool
	}{
		{types.ReasonDrained, true},
		{types.ReasonWorkerLeaving, false},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			f := New(nil)
			mustApply(t, f, RegisterNode{Node: newTestNode("n1")})
			mustApply(t, f, CordonNode{NodeID: "n1", Unschedulable: true, Reason: tt.reason, Time: at(1)})

			mustApply(t, f, RegisterNode{Node: newTestNode("n1")})

			if n, _ := f.Node("n1"); n.Unschedulable != tt.want {
				t.Errorf("unschedulable after registering again: expected %v, got %v", tt.want, n.Unschedulable)
			}
		})
	}
}

func TestReleasePod_BackToPending(t *testing.T) {
	f := New(nil)
	mustApply(t, f, RegisterNode{Node: newTestNode("n1")})
	mustApply(t, f, CreatePod{Pod: newTestPod("p1", at(1))})
	mustApply(t, f, PlacePod{PodID: "p1", NodeID: "n1", Time: at(2)})

	res := mustApply(t, f, ReleasePod{PodID: "p1", Reason: types.ReasonDrained, Message: "drained", Time: at(3)})

	pod := res.(types.Pod)
	if pod.Status != types.PodPending || pod.NodeID != "" || pod.Reason != types.ReasonDrained {
		t.Errorf("released pod: expected pending off any node with reason Drained, got %s on %q with %q", pod.Status, pod.NodeID, pod.Reason)
	}
	if n, _ := f.Node("n1"); n.RunningPods != 0 {
		t.Errorf("node after release: expected 0 pods, got %d", n.RunningPods)
	}
	if res := apply(t, f, ReleasePod{PodID: "p1", Time: at(4)}); !errors.Is(resultError(res), ErrIllegalTransition) {
		t.Errorf("releasing a pending pod: expected ErrIllegalTransition, got %s", show(res))
	}
}
