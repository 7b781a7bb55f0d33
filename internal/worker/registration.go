package worker

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/podling/podling/internal/types"
)

// keepRegistered registers with the masters, then heartbeats every
// HeartbeatInterval until ctx ends. A 404 response to a heartbeat means the
// masters have no record of this node, so it registers again.
func (w *Worker) keepRegistered(ctx context.Context, req types.RegisterNodeRequest) {
	if !w.register(ctx, req) {
		return
	}
	ticker := time.NewTicker(w.cfg.HeartbeatInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if w.heartbeat(ctx) == http.StatusNotFound {
			w.registered.Store(false)
			w.log.Warn("masters have no record of this node, registering again", "node_id", w.cfg.NodeID)
			if !w.register(ctx, req) {
				return
			}
		}
	}
}

// register sends req until a master accepts it, and reports whether one
// did before ctx ended.
func (w *Worker) register(ctx context.Context, req types.RegisterNodeRequest) bool {
	body, err := json.Marshal(req)
	if err != nil {
		w.log.Error("failed to encode registration", "node_id", req.NodeID, "error", err)
		return false
	}
	reply, err := w.masters.sendUntil(ctx, http.MethodPost, "/api/v1/nodes/register", body, isSuccess)
	if err != nil {
		return false
	}
	w.registered.Store(true)
	w.log.Info("registered with master", "node_id", req.NodeID, "master", reply.master)
	return true
}

// heartbeat sends one heartbeat, trying each master once within one
// heartbeat interval, and returns the HTTP status of the response, or zero
// if no master responded.
func (w *Worker) heartbeat(ctx context.Context) int {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.HeartbeatInterval)
	defer cancel()
	path := "/api/v1/nodes/" + url.PathEscape(w.cfg.NodeID) + "/heartbeat"

	reply, err := w.masters.sendOnce(ctx, http.MethodPost, path, nil)
	switch {
	case err != nil:
		w.log.Warn("heartbeat failed", "node_id", w.cfg.NodeID, "error", err)
		return 0
	case !reply.ok() && reply.status != http.StatusNotFound:
		w.log.Warn("master rejected heartbeat", "node_id", w.cfg.NodeID, "master", reply.master,
			"http_status", reply.status, "error", reply.message)
	}
	return reply.status
}

// registration builds the registration request, with the host's resources
// when the runtime can tell them.
func (w *Worker) registration(ctx context.Context, port int) types.RegisterNodeRequest {
	req := types.RegisterNodeRequest{
		NodeID:   w.cfg.NodeID,
		Hostname: w.cfg.Hostname,
		Port:     port,
		Capacity: w.cfg.Capacity,
	}
	res, err := w.rt.Resources(ctx)
	if err != nil {
		w.log.Warn("failed to read host resources, registering without them", "node_id", w.cfg.NodeID, "error", err)
		return req
	}
	req.CPUMillis, req.MemoryBytes = res.CPUMillis, res.MemoryBytes
	return req
}

func isSuccess(status int) bool { return status >= 200 && status < 300 }
