package worker

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// drainResult is the part of a drain response the worker logs.
type drainResult struct {
	MovedPods []string `json:"movedPods"`
	KeptPods  []string `json:"keptPods"`
}

// leaveCluster notifies the masters that this worker is stopping. By default
// it stops heartbeating and sends leave, which keeps new work off the node
// and leaves its containers running. With DrainOnExit it sends drain
// instead and keeps heartbeating until the drain ends, so the node stays
// online while the masters delete its movable pods through the worker API.
// Both requests are best effort: a failure is logged.
func (w *Worker) leaveCluster(ctx context.Context, stopHeartbeats func()) {
	if w.cfg.DrainOnExit {
		w.drainNode(ctx)
		stopHeartbeats()
		return
	}
	stopHeartbeats()
	w.leaveNode(ctx)
}

// leaveNode sends leave for this node within LeaveTimeout.
func (w *Worker) leaveNode(ctx context.Context) {
	reply, err := w.nodeAction(ctx, "leave", w.cfg.LeaveTimeout)
	if err != nil || !reply.ok() {
		w.logActionFailure("leave", reply, err)
		return
	}
	w.log.Info("left the cluster, containers keep running", "node_id", w.cfg.NodeID, "master", reply.master)
}

// drainNode sends drain for this node within DrainTimeout.
func (w *Worker) drainNode(ctx context.Context) {
	w.log.Info("draining node before stopping", "node_id", w.cfg.NodeID)
	reply, err := w.nodeAction(ctx, "drain", w.cfg.DrainTimeout)
	if err != nil || !reply.ok() {
		w.logActionFailure("drain", reply, err)
		return
	}
	var result drainResult
	if err := json.Unmarshal(reply.body, &result); err != nil {
		w.log.Warn("failed to decode drain response", "node_id", w.cfg.NodeID, "master", reply.master, "error", err)
	}
	w.log.Info("drained node", "node_id", w.cfg.NodeID, "master", reply.master,
		"moved_pods", result.MovedPods, "kept_pods", result.KeptPods)
}

// nodeAction POSTs /api/v1/nodes/{nodeId}/{action} to the masters, trying
// them in turn with backoff until one responds below 500 or timeout passes.
func (w *Worker) nodeAction(ctx context.Context, action string, timeout time.Duration) (masterReply, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	path := "/api/v1/nodes/" + url.PathEscape(w.cfg.NodeID) + "/" + action
	anyStatus := func(int) bool { return true }
	return w.masters.sendUntilWithin(ctx, http.MethodPost, path, nil, anyStatus, timeout)
}

func (w *Worker) logActionFailure(action string, reply masterReply, err error) {
	if err != nil {
		w.log.Warn("no master accepted the node request before the timeout", "node_id", w.cfg.NodeID,
			"action", action, "error", err)
		return
	}
	w.log.Warn("master rejected the node request", "node_id", w.cfg.NodeID, "action", action,
		"master", reply.master, "http_status", reply.status, "error", reply.message)
}
