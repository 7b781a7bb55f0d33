package scheduler

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/types"
)

func TestPods_PlacedOnNodeWithRoom(t *testing.T) {
	h := newHarness(t)
	h.addNode(t, "node-a", 8, 1000, 1*gib)
	h.addNode(t, "node-b", 2, 4000, 8*gib)
	h.addPod(t, "p1", 2000, 2*gib)

	h.pass()

	got := h.pod(t, "p1")
	if got.Status != types.PodScheduled || got.NodeID != "node-b" {
		t.Fatalf("expected p1 scheduled on node-b, the only node with room, got %s on %q", got.Status, got.NodeID)
	}
	node, _ := h.state.Node("node-b")
	if want := (types.ResourceList{CPUMillis: 2000, MemoryBytes: 2 * gib}); node.Used != want {
		t.Errorf("node-b used: expected %+v, got %+v", want, node.Used)
	}
	received := h.worker.received()
	if len(received) != 1 || received[0].Kind != "pods" || received[0].ID != "p1" {
		t.Fatalf("worker: expected one execute request for pod p1, got %+v", received)
	}
	d := received[0]
	if d.Pod.PodID != "p1" || d.Pod.Status != types.PodScheduled || d.Pod.NodeID != "node-b" {
		t.Errorf("dispatched pod: expected p1 scheduled on node-b, got %s %s on %q", d.Pod.PodID, d.Pod.Status, d.Pod.NodeID)
	}
	if d.Term != testTerm || d.Index != h.state.AppliedIndex() {
		t.Errorf("dispatch order: expected term %d and the placement's index %d, got term %d index %d", testTerm, h.state.AppliedIndex(), d.Term, d.Index)
	}
}

func TestPods_TooLargeStaysPending(t *testing.T) {
	tests := []struct {
		name     string
		nodes    func(t *testing.T, h *harness)
		contains []string
	}{
		{"memory above every node", func(t *testing.T, h *harness) {
			h.addNode(t, "node-a", 4, 4000, 4*gib)
			h.addNode(t, "node-b", 4, 2000, 8*gib)
		}, []string{"500m CPU", fmt.Sprintf("%d bytes of memory", 16*gib), "largest free CPU on a node is 4000m", fmt.Sprintf("largest free memory is %d bytes", 8*gib)}},
		{"no node at all", func(*testing.T, *harness) {}, []string{"no node is online"}},
		{"only an offline node", func(t *testing.T, h *harness) {
			h.addNode(t, "node-a", 4, 64000, 64*gib)
			h.raft.commit(t, fsm.SetNodeStatus{NodeID: "node-a", Status: types.NodeOffline, Time: baseTime})
		}, []string{"no node is online"}},
		{"only a cordoned node", func(t *testing.T, h *harness) {
			h.addNode(t, "node-a", 4, 64000, 64*gib)
			h.raft.commit(t, fsm.CordonNode{NodeID: "node-a", Unschedulable: true, Reason: types.ReasonDrained, Time: baseTime})
		}, []string{"every online node is cordoned"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			tt.nodes(t, h)
			h.addPod(t, "p1", 500, 16*gib)

			h.pass()

			got := h.pod(t, "p1")
			if got.Status != types.PodPending || got.NodeID != "" {
				t.Errorf("expected p1 still pending without a node, got %s on %q", got.Status, got.NodeID)
			}
			if got.Reason != types.ReasonUnschedulable {
				t.Errorf("reason: expected %s, got %q", types.ReasonUnschedulable, got.Reason)
			}
			for _, part := range tt.contains {
				if !strings.Contains(got.Message, part) {
					t.Errorf("message: expected it to contain %q, got %q", part, got.Message)
				}
			}
			if received := h.worker.received(); len(received) != 0 {
				t.Errorf("worker: expected no execute request, got %+v", received)
			}
		})
	}
}

func TestPods_MarkOnlyWhenMessageChanges(t *testing.T) {
	h := newHarness(t)
	h.addNode(t, "node-a", 4, 1000, 1*gib)
	h.addPod(t, "p1", 0, 4*gib)
	marks := func() int {
		n := 0
		for _, cmd := range h.raft.proposed() {
			if _, ok := cmd.(fsm.MarkUnschedulable); ok {
				n++
			}
		}
		return n
	}

	h.pass()
	first := h.pod(t, "p1")
	h.pass()
	h.pass()

	if got := marks(); got != 1 {
		t.Fatalf("after three passes with nothing changed: expected 1 mark proposed, got %d", got)
	}
	if got := h.pod(t, "p1"); !got.UpdatedAt.Equal(first.UpdatedAt) || got.Message != first.Message {
		t.Errorf("expected the pod unchanged by later passes, got message %q updated %v", got.Message, got.UpdatedAt)
	}

	// A bigger node that is still too small changes the message once.
	h.addNode(t, "node-b", 4, 1000, 2*gib)
	h.pass()
	h.pass()
	if got := marks(); got != 2 {
		t.Errorf("after a new node and two passes: expected 2 marks proposed, got %d", got)
	}
	if got := h.pod(t, "p1").Message; !strings.Contains(got, fmt.Sprintf("largest free memory is %d bytes", 2*gib)) {
		t.Errorf("message: expected the new largest free memory, got %q", got)
	}
	if got := len(h.raft.proposed()); got != 2 {
		t.Errorf("proposals: expected only the 2 marks, got %d", got)
	}
}

// countingState is the FSM as the scheduler's State, counting the loop
// iterations Run starts.
type countingState struct {
	*fsm.FSM
	mu         sync.Mutex
	iterations int
}

// Changed counts an iteration: Run calls it once at the start of each.
func (s *countingState) Changed() <-chan struct{} {
	s.mu.Lock()
	s.iterations++
	s.mu.Unlock()
	return s.FSM.Changed()
}

func (s *countingState) started() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.iterations
}

func TestRun_DoesNotRepeatMarks(t *testing.T) {
	h := newHarness(t)
	state := &countingState{FSM: h.state}
	h.scheduler.cfg.State = state
	h.addNode(t, "node-a", 4, 1000, 1*gib)
	h.addPod(t, "p1", 0, 4*gib)
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.scheduler.Run(ctx)
	}()
	defer func() {
		cancel()
		<-done
	}()

	deadline := time.Now().Add(5 * time.Second)
	for h.pod(t, "p1").Reason != types.ReasonUnschedulable {
		if time.Now().After(deadline) {
			t.Fatal("timed out after 5s waiting for p1 to be marked unschedulable")
		}
		time.Sleep(time.Millisecond)
	}

	// The mark itself wakes Run once more, and unrelated changes wake it
	// again. An iteration has finished once the next one has started.
	target := state.started() + 3
	for i := 0; state.started() < target; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for iteration %d, got %d", target, state.started())
		}
		h.raft.commit(t, fsm.SetMasterAddress{ServerID: "m1", APIAddress: fmt.Sprintf("http://m1-%d:8070", i)})
		time.Sleep(time.Millisecond)
	}

	if got := len(h.raft.proposed()); got != 1 {
		t.Errorf("proposals: expected only the first mark, got %d", got)
	}
}

func TestRun_PlacesNewPodsAndRedispatches(t *testing.T) {
	h := newHarness(t)
	h.addNode(t, "node-a", 4, 4000, 4*gib)
	// A pod an earlier leader placed, whose dispatch may have been lost.
	h.addPod(t, "p-old", 100, gib)
	h.raft.commit(t, fsm.PlacePod{PodID: "p-old", NodeID: "node-a", Time: baseTime})
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.scheduler.Run(ctx)
	}()
	defer func() {
		cancel()
		<-done
	}()

	h.addPod(t, "p-new", 100, gib)

	deadline := time.Now().Add(5 * time.Second)
	for {
		var ids []string
		for _, d := range h.worker.received() {
			ids = append(ids, d.ID)
		}
		slices.Sort(ids)
		if slices.Equal(ids, []string{"p-new", "p-old"}) && h.pod(t, "p-new").Status == types.PodScheduled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 5s: expected both pods dispatched and p-new scheduled, got dispatches %v and p-new %s", ids, h.pod(t, "p-new").Status)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestPods_ShareSlotsWithTasks(t *testing.T) {
	t.Run("running task and placed pod fill the node", func(t *testing.T) {
		h := newHarness(t)
		h.addNode(t, "node-a", 2, 4000, 4*gib)
		h.addTask(t, "t1")
		h.addPod(t, "p1", 0, 0)
		h.pass()
		h.addPod(t, "p2", 0, 0)

		h.pass()

		if task, _ := h.state.Task("t1"); task.NodeID != "node-a" {
			t.Fatalf("setup: expected t1 on node-a, got %q", task.NodeID)
		}
		if got := h.placements(t, "p1", "p2"); !slices.Equal(got, []string{"node-a", ""}) {
			t.Errorf("placements: expected p1 on node-a and p2 waiting, got %q", got)
		}
		if got := h.pod(t, "p2"); got.Reason != types.ReasonUnschedulable || !strings.Contains(got.Message, "free slot") {
			t.Errorf("p2: expected Unschedulable for lack of a free slot, got %q %q", got.Reason, got.Message)
		}
	})
	t.Run("pods leave no slot for a task", func(t *testing.T) {
		h := newHarness(t)
		h.addNode(t, "node-a", 1, 4000, 4*gib)
		h.addPod(t, "p1", 0, 0)
		h.pass()
		h.addTask(t, "t1")

		h.pass()

		if task, _ := h.state.Task("t1"); task.Status != types.TaskPending {
			t.Errorf("t1: expected pending while a pod fills the only slot, got %s on %q", task.Status, task.NodeID)
		}
	})
	t.Run("one pass gives the last slot to the task", func(t *testing.T) {
		h := newHarness(t)
		h.addNode(t, "node-a", 1, 4000, 4*gib)
		h.addPod(t, "p1", 0, 0)
		h.addTask(t, "t1")

		h.pass()

		if task, _ := h.state.Task("t1"); task.NodeID != "node-a" {
			t.Errorf("t1: expected placed on node-a, got %s on %q", task.Status, task.NodeID)
		}
		if got := h.pod(t, "p1"); got.Status != types.PodPending {
			t.Errorf("p1: expected pending, got %s on %q", got.Status, got.NodeID)
		}
	})
	t.Run("finished pod frees its slot", func(t *testing.T) {
		h := newHarness(t)
		h.addNode(t, "node-a", 1, 4000, 4*gib)
		h.addPod(t, "p1", 0, 0)
		h.pass()
		h.raft.commit(t, fsm.UpdatePodStatus{PodID: "p1", Report: types.PodStatusReport{Status: types.PodSucceeded}, Time: baseTime})
		h.addTask(t, "t1")

		h.pass()

		if task, _ := h.state.Task("t1"); task.NodeID != "node-a" {
			t.Errorf("t1: expected placed on node-a, got %s on %q", task.Status, task.NodeID)
		}
	})
}

func TestPods_Spread(t *testing.T) {
	tests := []struct {
		name  string
		nodes func(t *testing.T, h *harness)
		pods  int
		want  []string
	}{
		{"equal nodes alternate, lowest ID first", func(t *testing.T, h *harness) {
			h.addNode(t, "node-b", 3, 4000, 64*gib)
			h.addNode(t, "node-a", 3, 4000, 64*gib)
		}, 4, []string{"node-a", "node-b", "node-a", "node-b"}},
		{"most free slots first", func(t *testing.T, h *harness) {
			h.addNode(t, "node-a", 2, 4000, 64*gib)
			h.addNode(t, "node-b", 5, 4000, 64*gib)
		}, 5, []string{"node-b", "node-b", "node-b", "node-a", "node-b"}},
		{"slots fill up", func(t *testing.T, h *harness) {
			h.addNode(t, "node-a", 1, 4000, 64*gib)
			h.addNode(t, "node-b", 1, 4000, 64*gib)
		}, 3, []string{"node-a", "node-b", ""}},
		{"resources before slots", func(t *testing.T, h *harness) {
			h.addNode(t, "node-a", 10, 4000, 1*gib)
			h.addNode(t, "node-b", 2, 4000, 64*gib)
		}, 3, []string{"node-b", "node-b", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			tt.nodes(t, h)
			var ids []string
			for i := range tt.pods {
				id := fmt.Sprintf("p%d", i)
				h.addPod(t, id, 100, gib+1) // a little over 1 GiB, so a 1 GiB node takes none
				ids = append(ids, id)
			}

			h.pass()

			if got := h.placements(t, ids...); !slices.Equal(got, tt.want) {
				t.Errorf("placements in creation order: expected %q, got %q", tt.want, got)
			}
		})
	}
}

func TestPickNode(t *testing.T) {
	node := func(id string, free int, cpu, mem int64) *slot {
		return &slot{node: types.Node{NodeID: id}, free: free, resources: types.ResourceList{CPUMillis: cpu, MemoryBytes: mem}}
	}
	tests := []struct {
		name     string
		slots    []*slot
		requests types.ResourceList
		want     string // empty when no node fits
	}{
		{"most free slots", []*slot{node("a", 1, 100, 100), node("b", 3, 100, 100), node("c", 2, 100, 100)}, types.ResourceList{}, "b"},
		{"tie goes to the lowest ID whatever the order", []*slot{node("c", 2, 100, 100), node("a", 2, 100, 100), node("b", 2, 100, 100)}, types.ResourceList{}, "a"},
		{"CPU must fit", []*slot{node("a", 5, 50, 100), node("b", 1, 100, 100)}, types.ResourceList{CPUMillis: 100}, "b"},
		{"memory must fit", []*slot{node("a", 5, 100, 50), node("b", 1, 100, 100)}, types.ResourceList{MemoryBytes: 60}, "b"},
		{"exact fit", []*slot{node("a", 1, 100, 100)}, types.ResourceList{CPUMillis: 100, MemoryBytes: 100}, "a"},
		{"no free slot", []*slot{node("a", 0, 100, 100)}, types.ResourceList{}, ""},
		{"nothing fits", []*slot{node("a", 3, 100, 100)}, types.ResourceList{MemoryBytes: 101}, ""},
		{"no nodes", nil, types.ResourceList{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := pickNode(tt.slots, tt.requests)
			switch {
			case tt.want == "" && ok:
				t.Errorf("expected no node, got %s", got.node.NodeID)
			case tt.want != "" && !ok:
				t.Errorf("expected node %s, got none", tt.want)
			case ok && got.node.NodeID != tt.want:
				t.Errorf("expected node %s, got %s", tt.want, got.node.NodeID)
			}
		})
	}
}

func TestPods_WorkerRejectsDispatch(t *testing.T) {
	h := newHarness(t)
	h.worker.reject(http.StatusBadRequest)
	h.addNode(t, "node-a", 4, 4000, 4*gib)
	h.addPod(t, "p1", 100, gib)

	h.pass()

	got := h.pod(t, "p1")
	if got.Status != types.PodFailed || got.Reason != types.ReasonDispatchFailed {
		t.Errorf("expected p1 failed with reason %s, got %s %q", types.ReasonDispatchFailed, got.Status, got.Reason)
	}
	if !strings.Contains(got.Message, "node-a") || !strings.Contains(got.Message, "image not allowed") {
		t.Errorf("message: expected the node and the worker's reason, got %q", got.Message)
	}
	if received := h.worker.received(); len(received) != 1 {
		t.Errorf("worker: expected one attempt for a rejected request, got %d", len(received))
	}
	if node, _ := h.state.Node("node-a"); node.RunningPods != 0 || node.Used != (types.ResourceList{}) {
		t.Errorf("node-a: expected its slot and resources free again, got %d pods using %+v", node.RunningPods, node.Used)
	}
}
