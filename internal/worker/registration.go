package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/podling/podling/internal/types"
)

// keepRegistered registers with the masters, then heartbeats every
// HeartbeatInterval until ctx ends. A 404 response to a heartbeat means the
// masters have no record of this node, so it registers again at once.
// Every registration announces the containers the worker has.
func (w *Worker) keepRegistered(ctx context.Context, base types.RegisterNodeRequest) {
	if !w.register(ctx, base) {
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
			if !w.register(ctx, base) {
				return
			}
		}
	}
}

// register sends base with the work the worker has until a master accepts
// it, then removes the containers of the orphans in the response. It
// reports whether a master accepted the registration before ctx ended. If
// a master rejects the announcements as invalid, the worker registers
// without them, so that it still gets work.
func (w *Worker) register(ctx context.Context, base types.RegisterNodeRequest) bool {
	announced := w.announce(ctx)
	reply, err := w.sendRegistration(ctx, withAnnouncement(base, announced), !announced.empty())
	if err != nil {
		return false
	}
	if reply.status == http.StatusBadRequest {
		w.log.Error("master rejected the announced containers, registering without them",
			"node_id", base.NodeID, "master", reply.master, "error", reply.message)
		announced = announcement{}
		if reply, err = w.sendRegistration(ctx, base, false); err != nil {
			return false
		}
	}

	w.registered.Store(true)
	w.log.Info("registered with master", "node_id", base.NodeID, "master", reply.master,
		"tasks", len(announced.tasks), "pods", len(announced.pods))
	w.removeOrphans(w.orphansIn(reply), announced)
	return true
}

func withAnnouncement(req types.RegisterNodeRequest, a announcement) types.RegisterNodeRequest {
	req.Tasks, req.Pods = a.tasks, a.pods
	return req
}

// sendRegistration sends req until a master accepts it or, when
// stopOnInvalid is set, rejects it with 400, or ctx ends.
func (w *Worker) sendRegistration(ctx context.Context, req types.RegisterNodeRequest, stopOnInvalid bool) (masterReply, error) {
	body, err := json.Marshal(req)
	if err != nil {
		w.log.Error("failed to encode registration", "node_id", req.NodeID, "error", err)
		return masterReply{}, fmt.Errorf("encode registration: %w", err)
	}
	done := func(status int) bool {
		return isSuccess(status) || (stopOnInvalid && status == http.StatusBadRequest)
	}
	return w.masters.sendUntil(ctx, http.MethodPost, "/api/v1/nodes/register", body, done)
}

// orphansIn reads the orphans from a registration response. A response
// without them, as from a master that does not adopt announced work,
// yields none.
func (w *Worker) orphansIn(reply masterReply) types.Orphans {
	var resp types.RegisterNodeResponse
	if err := json.Unmarshal(reply.body, &resp); err != nil {
		w.log.Warn("failed to decode registration response, removing no orphans",
			"node_id", w.cfg.NodeID, "master", reply.master, "error", err)
		return types.Orphans{}
	}
	return resp.Orphans
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
