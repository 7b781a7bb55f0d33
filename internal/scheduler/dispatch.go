package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/metrics"
	"github.com/podling/podling/internal/types"
	"github.com/podling/podling/internal/workerclient"
)

// Dispatch retry policy: a worker that cannot be reached for about ten
// seconds fails the work with the reason DispatchFailed.
const (
	dispatchAttempts   = 6
	dispatchFirstDelay = 200 * time.Millisecond
)

// Dispatcher sends placed tasks and pods to their workers. It is safe for
// concurrent use.
type Dispatcher struct {
	raft    Raft
	workers *workerclient.Client
	logger  hclog.Logger
	now     func() time.Time

	metrics *metrics.Master

	inFlight map[string]bool // keys of dispatches running now
	mu       sync.Mutex
	wg       sync.WaitGroup
}

// NewDispatcher returns a dispatcher that calls workers through workers.
func NewDispatcher(raft Raft, workers *workerclient.Client, logger hclog.Logger) *Dispatcher {
	return &Dispatcher{raft: raft, workers: workers, logger: logger.Named("dispatch"), now: time.Now, inFlight: map[string]bool{}}
}

// SetMetrics makes the dispatcher count its outcomes. Call it before use.
func (d *Dispatcher) SetMetrics(m *metrics.Master) { d.metrics = m }

// job is one dispatch: send delivers it, fail records that it never could
// be delivered.
type job struct {
	kind string // task or pod
	key  string
	log  hclog.Logger
	send func(ctx context.Context) error
	fail func(ctx context.Context, cause error) fsm.Command
}

// DispatchTask sends task to node in the background, retrying with
// backoff until the worker accepts it or ctx ends. A task already being
// dispatched is not sent twice.
func (d *Dispatcher) DispatchTask(ctx context.Context, task types.Task, node types.Node, term, index uint64) {
	req := types.ExecuteRequest{Task: task, Term: term, Index: index}
	d.start(ctx, job{
		kind: "task",
		key:  "task/" + task.TaskID,
		log:  d.logger.With("task_id", task.TaskID, "node_id", node.NodeID, "term", term),
		send: func(ctx context.Context) error { return d.workers.ExecuteTask(ctx, node, req) },
		fail: func(_ context.Context, cause error) fsm.Command {
			update := types.TaskStatusUpdate{Status: types.TaskFailed, Reason: types.ReasonDispatchFailed, Message: failureMessage(node, cause)}
			return fsm.UpdateTaskStatus{TaskID: task.TaskID, Update: update, Time: d.now().UTC()}
		},
	})
}

// DispatchPod sends pod to node like DispatchTask.
func (d *Dispatcher) DispatchPod(ctx context.Context, pod types.Pod, node types.Node, term, index uint64) {
	req := types.PodExecuteRequest{Pod: pod, Term: term, Index: index}
	d.start(ctx, job{
		kind: "pod",
		key:  "pod/" + pod.PodID,
		log:  d.logger.With("pod_id", pod.PodID, "node_id", node.NodeID, "term", term),
		send: func(ctx context.Context) error { return d.workers.ExecutePod(ctx, node, req) },
		fail: func(_ context.Context, cause error) fsm.Command {
			report := types.PodStatusReport{Status: types.PodFailed, Reason: types.ReasonDispatchFailed, Message: failureMessage(node, cause)}
			return fsm.UpdatePodStatus{PodID: pod.PodID, Report: report, Time: d.now().UTC()}
		},
	})
}

func failureMessage(node types.Node, cause error) string {
	return fmt.Sprintf("could not dispatch to node %s: %v", node.NodeID, cause)
}

func (d *Dispatcher) start(ctx context.Context, j job) {
	d.mu.Lock()
	if d.inFlight[j.key] {
		d.mu.Unlock()
		return
	}
	d.inFlight[j.key] = true
	d.mu.Unlock()

	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer d.done(j.key)
		d.run(ctx, j)
	}()
}

// Wait blocks until every dispatch started so far has finished.
func (d *Dispatcher) Wait() { d.wg.Wait() }

func (d *Dispatcher) done(key string) {
	d.mu.Lock()
	delete(d.inFlight, key)
	d.mu.Unlock()
}

func (d *Dispatcher) run(ctx context.Context, j job) {
	delay := dispatchFirstDelay
	var lastErr error
	for attempt := 1; attempt <= dispatchAttempts; attempt++ {
		callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := j.send(callCtx)
		cancel()
		if err == nil {
			j.log.Info("dispatched")
			d.metrics.Dispatch(j.kind, "accepted")
			return
		}
		lastErr = err
		if errors.Is(err, workerclient.ErrRejected) {
			d.metrics.Dispatch(j.kind, "rejected")
			break // the worker rejected the request itself, so retrying cannot help
		}
		d.metrics.Dispatch(j.kind, "retried")
		j.log.Warn("dispatch failed, retrying", "attempt", attempt, "error", err)
		select {
		case <-ctx.Done():
			return // leadership lost: the next leader dispatches again
		case <-time.After(delay):
		}
		delay *= 2
	}
	j.log.Error("giving up on dispatch", "error", lastErr)
	if _, err := d.raft.Propose(ctx, j.fail(ctx, lastErr)); err != nil {
		j.log.Warn("recording dispatch failure failed", "error", err)
	}
}
