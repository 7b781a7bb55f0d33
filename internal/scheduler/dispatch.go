package scheduler

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/types"
)

// Dispatch retry policy: a worker that cannot be reached for about ten
// seconds fails the task with the reason DispatchFailed.
const (
	dispatchAttempts   = 6
	dispatchFirstDelay = 200 * time.Millisecond
)

// Dispatcher sends placed tasks to their workers. It is safe for
// concurrent use.
type Dispatcher struct {
	raft   Raft
	client *http.Client
	logger hclog.Logger
	now    func() time.Time

	inFlight map[string]bool // task IDs being dispatched now
	mu       sync.Mutex
	wg       sync.WaitGroup
}

// NewDispatcher returns a dispatcher that uses client for worker calls.
func NewDispatcher(raft Raft, client *http.Client, logger hclog.Logger) *Dispatcher {
	return &Dispatcher{raft: raft, client: client, logger: logger.Named("dispatch"), now: time.Now, inFlight: map[string]bool{}}
}

// Dispatch sends task to node in the background, retrying with backoff
// until the worker accepts it or ctx ends. A task already being
// dispatched is not sent twice.
func (d *Dispatcher) Dispatch(ctx context.Context, task types.Task, node types.Node, term, index uint64) {
	d.mu.Lock()
	if d.inFlight[task.TaskID] {
		d.mu.Unlock()
		return
	}
	d.inFlight[task.TaskID] = true
	d.mu.Unlock()

	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer d.done(task.TaskID)
		d.dispatchWithRetry(ctx, task, node, types.ExecuteRequest{Task: task, Term: term, Index: index})
	}()
}

// Wait blocks until every dispatch started so far has finished.
func (d *Dispatcher) Wait() { d.wg.Wait() }

func (d *Dispatcher) done(taskID string) {
	d.mu.Lock()
	delete(d.inFlight, taskID)
	d.mu.Unlock()
}

func (d *Dispatcher) dispatchWithRetry(ctx context.Context, task types.Task, node types.Node, req types.ExecuteRequest) {
	log := d.logger.With("task_id", task.TaskID, "node_id", node.NodeID, "term", req.Term)
	delay := dispatchFirstDelay
	var lastErr error
	for attempt := 1; attempt <= dispatchAttempts; attempt++ {
		final, err := d.send(ctx, node, req)
		if err == nil {
			log.Info("task dispatched")
			return
		}
		lastErr = err
		if final {
			break
		}
		log.Warn("dispatch failed, retrying", "attempt", attempt, "error", err)
		select {
		case <-ctx.Done():
			return // leadership lost: the next leader re-dispatches
		case <-time.After(delay):
		}
		delay *= 2
	}
	log.Error("giving up on dispatch", "error", lastErr)
	d.fail(ctx, task, node, lastErr)
}

// send makes one execute call. final is true when retrying cannot help,
// because the worker rejected the request itself.
func (d *Dispatcher) send(ctx context.Context, node types.Node, req types.ExecuteRequest) (final bool, err error) {
	body, err := json.Marshal(req)
	if err != nil {
		return true, fmt.Errorf("encode execute request: %w", err)
	}
	url := WorkerURL(node) + "/api/v1/tasks/" + req.Task.TaskID + "/execute"
	callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	httpReq, err := http.NewRequestWithContext(callCtx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return true, fmt.Errorf("build execute request: %w", err)
	}
	httpReq.Header.Set("Content-Type", "application/json")
	resp, err := d.client.Do(httpReq)
	if err != nil {
		return false, fmt.Errorf("call worker at %s: %w", url, err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	final = resp.StatusCode >= 400 && resp.StatusCode < 500
	return final, fmt.Errorf("worker at %s responded %d: %s", url, resp.StatusCode, strings.TrimSpace(string(text)))
}

func (d *Dispatcher) fail(ctx context.Context, task types.Task, node types.Node, cause error) {
	update := types.TaskStatusUpdate{
		Status: types.TaskFailed, Reason: types.ReasonDispatchFailed,
		Message: fmt.Sprintf("could not dispatch to node %s: %v", node.NodeID, cause),
	}
	if _, err := d.raft.Propose(ctx, fsm.UpdateTaskStatus{TaskID: task.TaskID, Update: update, Time: d.now().UTC()}); err != nil {
		d.logger.Warn("recording dispatch failure failed", "task_id", task.TaskID, "error", err)
	}
}

// WorkerURL returns the base URL of a node's worker API.
func WorkerURL(node types.Node) string {
	return "http://" + net.JoinHostPort(node.Hostname, strconv.Itoa(node.Port))
}
