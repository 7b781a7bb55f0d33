// Package scheduler places pending tasks on online nodes with free capacity
// and dispatches them to their workers. It runs on the leader only: the
// master starts Run when it gains leadership and cancels it on loss.
package scheduler

import (
	"context"
	"errors"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/cluster"
	"github.com/podling/podling/internal/types"
)

// Raft is the cluster's propose path and current term.
type Raft interface {
	Propose(ctx context.Context, cmd fsm.Command) (cluster.Result, error)
	Term() uint64
}

// State is the replicated state the scheduler reads.
type State interface {
	Tasks(filter fsm.TaskFilter) []types.Task
	PendingTasks(limit int) []types.Task
	PendingPods(limit int) []types.Pod
	Pods(filter fsm.PodFilter) []types.Pod
	Nodes() []types.Node
	Changed() <-chan struct{}
}

// Config configures a Scheduler.
type Config struct {
	Raft       Raft
	State      State
	Dispatcher *Dispatcher
	Logger     hclog.Logger
	// Now is the leader's clock; nil means time.Now.
	Now func() time.Time
}

// Scheduler assigns pending tasks to nodes.
type Scheduler struct {
	cfg    Config
	logger hclog.Logger
}

// New returns a scheduler.
func New(cfg Config) *Scheduler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Scheduler{cfg: cfg, logger: cfg.Logger.Named("scheduler")}
}

// recheckInterval bounds how long a pending task can wait when no state
// change wakes the scheduler, such as after a failed placement.
const recheckInterval = 5 * time.Second

// Run places tasks as soon as they, or free capacity, appear, until ctx
// ends. It first re-dispatches tasks that an earlier leader placed but no
// worker has confirmed running, since their dispatch may have been lost.
func (s *Scheduler) Run(ctx context.Context) {
	s.logger.Info("scheduler started", "term", s.cfg.Raft.Term())
	defer s.logger.Info("scheduler stopped")
	s.redispatch(ctx)

	ticker := time.NewTicker(recheckInterval)
	defer ticker.Stop()
	for {
		changed := s.cfg.State.Changed()
		s.placePending(ctx)
		s.placePendingPods(ctx)
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-ticker.C:
		}
	}
}

func (s *Scheduler) redispatch(ctx context.Context) {
	nodes := nodesByID(s.cfg.State.Nodes())
	for _, task := range s.cfg.State.Tasks(fsm.TaskFilter{Status: types.TaskScheduled}) {
		if node, ok := nodes[task.NodeID]; ok {
			s.cfg.Dispatcher.DispatchTask(ctx, task, node, s.cfg.Raft.Term(), 0)
		}
	}
	for _, pod := range s.cfg.State.Pods(fsm.PodFilter{Status: types.PodScheduled}) {
		if node, ok := nodes[pod.NodeID]; ok {
			s.cfg.Dispatcher.DispatchPod(ctx, pod, node, s.cfg.Raft.Term(), 0)
		}
	}
}

// placePending places every pending task it can, oldest first.
//
// It reads only as many pending tasks as there are free slots, so a long
// queue of tasks waiting for capacity costs nothing while none is free.
func (s *Scheduler) placePending(ctx context.Context) {
	free := freeSlots(s.cfg.State.Nodes())
	total := 0
	for _, sl := range free {
		total += sl.free
	}
	if total == 0 {
		return
	}
	pending := s.cfg.State.PendingTasks(total)
	for _, task := range pending {
		node, ok := pickNode(free, types.ResourceList{})
		if !ok {
			s.logger.Debug("no node has free capacity", "pending", len(pending))
			return
		}
		if err := s.place(ctx, task, node.node); err != nil {
			if errors.Is(err, cluster.ErrNotLeader) || ctx.Err() != nil {
				return
			}
			continue
		}
		node.take(types.ResourceList{})
	}
}

func (s *Scheduler) place(ctx context.Context, task types.Task, node types.Node) error {
	update := types.TaskStatusUpdate{Status: types.TaskScheduled, NodeID: node.NodeID}
	res, err := s.cfg.Raft.Propose(ctx, fsm.UpdateTaskStatus{TaskID: task.TaskID, Update: update, Time: s.cfg.Now().UTC()})
	if err != nil {
		s.logger.Warn("placing task failed", "task_id", task.TaskID, "node_id", node.NodeID, "error", err)
		return err
	}
	placed, ok := res.Value.(types.Task)
	if !ok || placed.Status != types.TaskScheduled || placed.NodeID != node.NodeID {
		return nil // the task changed before the placement applied
	}
	s.logger.Info("task scheduled", "task_id", task.TaskID, "node_id", node.NodeID, "index", res.Index)
	s.cfg.Dispatcher.DispatchTask(ctx, placed, node, s.cfg.Raft.Term(), res.Index)
	return nil
}

// slot is an online node with the number of tasks and pods it can still
// take and its unrequested resources.
type slot struct {
	node      types.Node
	free      int
	resources types.ResourceList
}

func freeSlots(nodes []types.Node) []*slot {
	var out []*slot
	for _, n := range nodes {
		used := n.RunningTasks + n.RunningPods
		if n.Status == types.NodeOnline && !n.Unschedulable && n.Capacity > used {
			out = append(out, &slot{node: n, free: n.Capacity - used, resources: fsm.FreeResources(n)})
		}
	}
	return out
}

// pickNode returns, among the nodes whose free resources fit requests, the
// one with the most free slots, which spreads work across nodes. Ties go to
// the lowest node ID, so placement is predictable.
func pickNode(slots []*slot, requests types.ResourceList) (*slot, bool) {
	var best *slot
	for _, candidate := range slots {
		if candidate.free <= 0 || !requests.Fits(candidate.resources) {
			continue
		}
		if best == nil || candidate.free > best.free || (candidate.free == best.free && candidate.node.NodeID < best.node.NodeID) {
			best = candidate
		}
	}
	return best, best != nil
}

// take records a placement on the slot for the rest of this pass.
func (s *slot) take(requests types.ResourceList) {
	s.free--
	s.resources.CPUMillis -= requests.CPUMillis
	s.resources.MemoryBytes -= requests.MemoryBytes
}

func nodesByID(nodes []types.Node) map[string]types.Node {
	out := make(map[string]types.Node, len(nodes))
	for _, n := range nodes {
		out[n.NodeID] = n
	}
	return out
}
