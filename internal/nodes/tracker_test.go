package nodes

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/cluster"
	"github.com/podling/podling/internal/types"
)

// fakeRaft applies proposals to a real state machine and records them.
type fakeRaft struct {
	fsm      *fsm.FSM
	mu       sync.Mutex
	index    uint64
	proposed []fsm.Command
	leader   bool
}

func newFakeRaft() *fakeRaft { return &fakeRaft{fsm: fsm.New(nil), leader: true} }

func (r *fakeRaft) Propose(_ context.Context, cmd fsm.Command) (cluster.Result, error) {
	data, err := fsm.Encode(cmd)
	if err != nil {
		return cluster.Result{}, err
	}
	r.mu.Lock()
	r.index++
	index := r.index
	r.proposed = append(r.proposed, cmd)
	r.mu.Unlock()
	res := r.fsm.Apply(&raft.Log{Index: index, Data: data})
	if err, ok := res.(error); ok {
		return cluster.Result{Index: index}, err
	}
	return cluster.Result{Value: res, Index: index}, nil
}

func (r *fakeRaft) IsLeader() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.leader
}

func (r *fakeRaft) proposals(kind fsm.CommandType) []fsm.Command {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []fsm.Command
	for _, c := range r.proposed {
		if c.Type() == kind {
			out = append(out, c)
		}
	}
	return out
}

var epoch = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func newTracker(r *fakeRaft, ttl time.Duration) *Tracker {
	return New(Config{Raft: r, State: r.fsm, TTL: ttl, BatchInterval: 10 * time.Millisecond, Logger: hclog.NewNullLogger()})
}

func registerNode(t *testing.T, r *fakeRaft, id string, lastSeen time.Time) {
	t.Helper()
	node := types.Node{NodeID: id, Hostname: id, Port: 8081, Capacity: 4, LastHeartbeat: lastSeen, RegisteredAt: lastSeen}
	if _, err := r.Propose(context.Background(), fsm.RegisterNode{Node: node}); err != nil {
		t.Fatalf("register %s: %v", id, err)
	}
}

func nodeStatus(t *testing.T, r *fakeRaft, id string) types.NodeStatus {
	t.Helper()
	n, ok := r.fsm.Node(id)
	if !ok {
		t.Fatalf("node %s not found", id)
	}
	return n.Status
}

func TestFlush_OneEntryForAllNodes(t *testing.T) {
	r := newFakeRaft()
	tr := newTracker(r, time.Minute)
	for i := range 100 {
		id := fmt.Sprintf("n%03d", i)
		registerNode(t, r, id, epoch)
		tr.Observe(id, epoch.Add(time.Second))
	}

	tr.flush(context.Background())
	tr.flush(context.Background())

	batches := r.proposals(fsm.CommandNodeHeartbeats)
	if len(batches) != 1 {
		t.Fatalf("proposed %d heartbeat batches, want 1 (the second flush has nothing new)", len(batches))
	}
	if got := len(batches[0].(fsm.NodeHeartbeats).LastSeen); got != 100 {
		t.Errorf("batch carries %d nodes, want 100", got)
	}
	if n, _ := r.fsm.Node("n042"); !n.LastHeartbeat.Equal(epoch.Add(time.Second)) {
		t.Errorf("replicated lastHeartbeat = %s, want %s", n.LastHeartbeat, epoch.Add(time.Second))
	}
}

func TestExpire_NewLeaderGivesFullTTL(t *testing.T) {
	r := newFakeRaft()
	tr := newTracker(r, 15*time.Second)
	// The replicated last heartbeat is an hour old, as when the previous
	// leader's batches stopped long ago.
	registerNode(t, r, "n1", epoch.Add(-time.Hour))
	takeover := epoch

	tr.cfg.Now = func() time.Time { return takeover.Add(14 * time.Second) }
	tr.expire(context.Background(), takeover)
	if got := nodeStatus(t, r, "n1"); got != types.NodeOnline {
		t.Fatalf("node is %s 14s after takeover with a 15s TTL, want online", got)
	}

	tr.cfg.Now = func() time.Time { return takeover.Add(16 * time.Second) }
	tr.expire(context.Background(), takeover)
	if got := nodeStatus(t, r, "n1"); got != types.NodeOffline {
		t.Errorf("node is %s 16s after takeover with no heartbeat, want offline", got)
	}
}

func TestExpire_HeartbeatKeepsNodeOnline(t *testing.T) {
	r := newFakeRaft()
	tr := newTracker(r, 15*time.Second)
	registerNode(t, r, "n1", epoch)
	tr.Observe("n1", epoch.Add(10*time.Second))

	tr.cfg.Now = func() time.Time { return epoch.Add(20 * time.Second) }
	tr.expire(context.Background(), epoch)

	if got := nodeStatus(t, r, "n1"); got != types.NodeOnline {
		t.Errorf("node heard from 10s ago is %s, want online", got)
	}
}

func TestExpire_FailsTasksOfLostNode(t *testing.T) {
	r := newFakeRaft()
	tr := newTracker(r, 15*time.Second)
	registerNode(t, r, "n1", epoch)
	task := types.Task{TaskID: "20300101000000-aaaaaaaa", Name: "t", Image: "img", CreatedAt: epoch}
	mustPropose(t, r, fsm.CreateTask{Task: task})
	mustPropose(t, r, fsm.UpdateTaskStatus{TaskID: task.TaskID, Update: types.TaskStatusUpdate{Status: types.TaskScheduled, NodeID: "n1"}, Time: epoch})

	tr.cfg.Now = func() time.Time { return epoch.Add(time.Minute) }
	tr.expire(context.Background(), epoch)

	got, _ := r.fsm.Task(task.TaskID)
	if got.Status != types.TaskFailed || got.Reason != types.ReasonNodeLost {
		t.Errorf("task on the lost node is %s with reason %q, want failed with %s", got.Status, got.Reason, types.ReasonNodeLost)
	}
}

func TestExpire_FollowerExpiresNothing(t *testing.T) {
	r := newFakeRaft()
	tr := newTracker(r, 15*time.Second)
	registerNode(t, r, "n1", epoch)
	r.leader = false

	tr.cfg.Now = func() time.Time { return epoch.Add(time.Hour) }
	tr.expire(context.Background(), epoch)

	if got := nodeStatus(t, r, "n1"); got != types.NodeOnline {
		t.Errorf("node is %s after expiry ran on a follower, want online", got)
	}
}

func TestRun_FlushesUntilCancelled(t *testing.T) {
	r := newFakeRaft()
	tr := newTracker(r, time.Hour)
	registerNode(t, r, "n1", epoch)
	tr.Observe("n1", epoch.Add(time.Second))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		tr.Run(ctx)
		close(done)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for len(r.proposals(fsm.CommandNodeHeartbeats)) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done

	if len(r.proposals(fsm.CommandNodeHeartbeats)) != 1 {
		t.Errorf("Run proposed %d heartbeat batches, want 1", len(r.proposals(fsm.CommandNodeHeartbeats)))
	}
}

func mustPropose(t *testing.T, r *fakeRaft, cmd fsm.Command) {
	t.Helper()
	if _, err := r.Propose(context.Background(), cmd); err != nil {
		t.Fatalf("propose %s: %v", cmd.Type(), err)
	}
}
