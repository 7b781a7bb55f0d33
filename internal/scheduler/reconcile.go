package scheduler

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/types"
	"github.com/podling/podling/internal/workerclient"
)

// ReasonContainerLost marks work whose container vanished from its worker,
// for example because the worker's host was wiped and the worker restarted.
const ReasonContainerLost = "ContainerLost"

// reconcileInterval is how often every online node is checked, besides
// the check right after a node registers.
const reconcileInterval = 30 * time.Second

// Reconciler compares the work the state places on each node with the
// containers the node's worker actually has. Work that was placed but never started is
// dispatched again; a running task whose container is gone fails, and so
// does a pod that may not restart. It runs on the leader only.
type Reconciler struct {
	raft       Raft
	state      State
	workers    *workerclient.Client
	dispatcher *Dispatcher
	logger     hclog.Logger
	now        func() time.Time
	nodes      chan string // node IDs to check now
}

// NewReconciler returns a reconciler.
func NewReconciler(raft Raft, state State, workers *workerclient.Client, dispatcher *Dispatcher, logger hclog.Logger) *Reconciler {
	return &Reconciler{
		raft: raft, state: state, workers: workers, dispatcher: dispatcher,
		logger: logger.Named("reconcile"), now: time.Now, nodes: make(chan string, 64),
	}
}

// NodeRegistered queues a check of the node, whose worker may have
// restarted without its containers. It never blocks; a check that cannot
// be queued waits for the next periodic pass.
func (r *Reconciler) NodeRegistered(nodeID string) {
	select {
	case r.nodes <- nodeID:
	default:
	}
}

// Run checks nodes when they register and every reconcileInterval, until
// ctx ends.
func (r *Reconciler) Run(ctx context.Context) {
	ticker := time.NewTicker(reconcileInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case id := <-r.nodes:
			r.checkNode(ctx, id)
		case <-ticker.C:
			for _, n := range r.state.Nodes() {
				r.checkNode(ctx, n.NodeID)
			}
		}
	}
}

func (r *Reconciler) checkNode(ctx context.Context, nodeID string) {
	node, ok := nodesByID(r.state.Nodes())[nodeID]
	if !ok || node.Status != types.NodeOnline {
		return
	}
	for _, task := range r.state.Tasks(fsm.TaskFilter{NodeID: nodeID}) {
		if task.Status == types.TaskScheduled || task.Status == types.TaskRunning {
			r.checkTask(ctx, node, task)
		}
	}
	for _, pod := range r.state.Pods(fsm.PodFilter{NodeID: nodeID}) {
		if pod.Status == types.PodScheduled || pod.Status == types.PodRunning {
			r.checkPod(ctx, node, pod)
		}
	}
}

func (r *Reconciler) checkTask(ctx context.Context, node types.Node, task types.Task) {
	found, err := r.workers.HasTask(ctx, node, task.TaskID)
	if err != nil || found {
		return
	}
	if task.Status == types.TaskScheduled {
		r.dispatcher.DispatchTask(ctx, task, node, r.raft.Term(), 0)
		return
	}
	update := types.TaskStatusUpdate{Status: types.TaskFailed, Reason: ReasonContainerLost, Message: lostMessage(node)}
	r.propose(ctx, fsm.UpdateTaskStatus{TaskID: task.TaskID, Update: update, Time: r.now().UTC()}, "task_id", task.TaskID)
}

func (r *Reconciler) checkPod(ctx context.Context, node types.Node, pod types.Pod) {
	found, err := r.workers.HasPod(ctx, node, pod.PodID)
	if err != nil || found {
		return
	}
	if pod.Status == types.PodScheduled || pod.RestartPolicy != types.RestartNever {
		r.dispatcher.DispatchPod(ctx, pod, node, r.raft.Term(), 0)
		return
	}
	report := types.PodStatusReport{Status: types.PodFailed, Reason: ReasonContainerLost, Message: lostMessage(node)}
	r.propose(ctx, fsm.UpdatePodStatus{PodID: pod.PodID, Report: report, Time: r.now().UTC()}, "pod_id", pod.PodID)
}

func lostMessage(node types.Node) string {
	return fmt.Sprintf("the worker on node %s has no container for it any more", node.NodeID)
}

func (r *Reconciler) propose(ctx context.Context, cmd fsm.Command, idKey, id string) {
	if _, err := r.raft.Propose(ctx, cmd); err != nil {
		r.logger.Warn("recording lost container failed", idKey, id, "error", err)
		return
	}
	r.logger.Warn("container lost on its worker", idKey, id)
}
