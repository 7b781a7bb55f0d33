package worker

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/hashicorp/go-hclog"

	"github.com/podling/podling/internal/types"
)

// report sends a status update for a task and returns once a master has
// acknowledged it (2xx), a master has rejected it for good, or ctx has
// ended. Connection errors and 5xx responses are retried across the masters
// with backoff for as long as ctx lasts.
func (w *Worker) report(ctx context.Context, taskID string, u types.TaskStatusUpdate) {
	u.NodeID = w.cfg.NodeID
	path := "/api/v1/tasks/" + url.PathEscape(taskID) + "/status"
	w.sendReport(ctx, path, u, w.log.With("task_id", taskID, "status", u.Status))
}

// reportPod sends a pod's status report like report sends a task's.
func (w *Worker) reportPod(ctx context.Context, podID string, r types.PodStatusReport) {
	r.NodeID = w.cfg.NodeID
	path := "/api/v1/pods/" + url.PathEscape(podID) + "/status"
	w.sendReport(ctx, path, r, w.log.With("pod_id", podID, "status", r.Status))
}

// sendReport PUTs report to path on the masters until it is settled or ctx
// ends, and logs the outcome with log.
func (w *Worker) sendReport(ctx context.Context, path string, report any, log hclog.Logger) {
	body, err := json.Marshal(report)
	if err != nil {
		log.Error("failed to encode status report", "error", err)
		return
	}

	reply, err := w.masters.sendUntil(ctx, http.MethodPut, path, body, reportSettled)
	switch {
	case err != nil:
		log.Debug("status report abandoned", "error", err)
	case reply.ok():
		log.Debug("reported status", "master", reply.master)
	case reply.status == http.StatusBadRequest:
		log.Error("master rejected status report as invalid", "master", reply.master, "error", reply.message)
	default:
		log.Warn("master rejected status report", "master", reply.master,
			"http_status", reply.status, "error", reply.message)
	}
}

// reportSettled reports whether a response status ends the retries of a report.
// 404 (unknown task or pod) and 409 (it has moved on, or runs on another
// node) will not change on a retry, and neither will 400 (invalid report).
func reportSettled(status int) bool {
	switch status {
	case http.StatusNotFound, http.StatusConflict, http.StatusBadRequest:
		return true
	}
	return status >= 200 && status < 300
}
