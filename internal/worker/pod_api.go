package worker

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/podling/podling/internal/runtime"
	"github.com/podling/podling/internal/types"
)

// podExecuteResponse is the body of a successful pod execute: the pod's
// current status, the fields of types.PodStatusReport, with the pod ID and
// whether this request started the pod.
type podExecuteResponse struct {
	PodID   string `json:"podId"`
	Started bool   `json:"started"`
	types.PodStatusReport
}

// podDeleteResponse is the body of a pod delete.
type podDeleteResponse struct {
	PodID string `json:"podId"`
	// Removed is the number of containers removed, the sandbox included.
	Removed int `json:"removed"`
}

// pathPodID returns the validated pod ID from the request path.
func pathPodID(r *http.Request) (string, error) {
	id := mux.Vars(r)["id"]
	if err := runtime.ValidatePodID(id); err != nil {
		return "", newAPIError(http.StatusBadRequest, codeInvalidPodID, "invalid pod id in path: %v", err)
	}
	return id, nil
}

// handleExecutePod accepts a pod. For a pod this worker already runs it
// responds 200 with started false. For a new one it responds 202 once the
// first attempt to start every container has finished or the request
// ended, whichever comes first. Start failures are reported to the
// masters and show in the returned status.
func (w *Worker) handleExecutePod(rw http.ResponseWriter, r *http.Request) error {
	id, err := pathPodID(r)
	if err != nil {
		return err
	}
	var req types.PodExecuteRequest
	if err := decodeJSON(rw, r, &req); err != nil {
		return err
	}
	if err := validatePod(id, req.Pod); err != nil {
		return err
	}

	d := dispatch{term: req.Term, index: req.Index}
	p, added, err := w.pods.accept(id, d, func() *pod { return newPod(w, req.Pod) })
	if err != nil {
		w.log.Info("rejected pod dispatch", "pod_id", id, "term", req.Term, "index", req.Index, "error", err)
		return err
	}
	status := http.StatusOK
	if added {
		status = http.StatusAccepted
		w.log.Info("executing pod", "pod_id", id, "containers", len(req.Pod.Containers), "term", req.Term, "index", req.Index)
		w.startPod(p, p.run)
	}
	select {
	case <-p.started:
	case <-r.Context().Done():
	}
	writeJSON(rw, status, podExecuteResponse{PodID: id, Started: added, PodStatusReport: w.podReport(p)})
	return nil
}

// startPod starts the pod's reporter and then supervise, which starts or
// resumes its containers.
func (w *Worker) startPod(p *pod, supervise func()) {
	p.goPod(p.reportChanges)
	p.goPod(supervise)
}

// podReport returns the pod's status as the worker reports it.
func (w *Worker) podReport(p *pod) types.PodStatusReport {
	report := p.report()
	report.NodeID = w.cfg.NodeID
	return report
}

func (w *Worker) handlePodStatus(rw http.ResponseWriter, r *http.Request) error {
	p, err := w.pathPod(r)
	if err != nil {
		return err
	}
	writeJSON(rw, http.StatusOK, w.podReport(p))
	return nil
}

// pathPod returns the pod named in the request path, or a 404.
func (w *Worker) pathPod(r *http.Request) (*pod, error) {
	id, err := pathPodID(r)
	if err != nil {
		return nil, err
	}
	p, ok := w.pods.get(id)
	if !ok {
		return nil, newAPIError(http.StatusNotFound, codeNotFound, "pod %s does not run on this worker", id)
	}
	return p, nil
}

// handleDeletePod stops the pod's supervision and probes, then stops and
// removes every container of the pod. Deleting an unknown pod succeeds and
// removes nothing, unless containers of it are left in the runtime.
func (w *Worker) handleDeletePod(rw http.ResponseWriter, r *http.Request) error {
	id, err := pathPodID(r)
	if err != nil {
		return err
	}
	// The removal goes on if the client goes away, so that a retried
	// delete does not find a half-removed pod.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), w.cfg.StopGrace+w.cfg.RequestTimeout)
	defer cancel()
	removed, err := w.deletePod(ctx, id)
	if err != nil {
		return err
	}
	writeJSON(rw, http.StatusOK, podDeleteResponse{PodID: id, Removed: removed})
	return nil
}

func (w *Worker) deletePod(ctx context.Context, id string) (int, error) {
	defer w.pods.finishDelete(id)
	if p := w.pods.startDelete(id); p != nil {
		p.stop()
	}
	removed, err := w.rt.RemovePod(ctx, id, w.cfg.StopGrace)
	if err != nil {
		return removed, err
	}
	w.log.Info("deleted pod", "pod_id", id, "removed", removed)
	return removed, nil
}

// handlePodLogs streams the output of one container of the pod as plain
// text. The container query parameter may be left out when the pod has
// only one container.
func (w *Worker) handlePodLogs(rw http.ResponseWriter, r *http.Request) error {
	p, err := w.pathPod(r)
	if err != nil {
		return err
	}
	opts, err := parseLogOptions(r)
	if err != nil {
		return err
	}
	name, err := logContainer(p, r.URL.Query()["container"])
	if err != nil {
		return err
	}
	containerID, err := p.containerID(name)
	if err != nil {
		return err
	}
	return w.streamLogs(rw, r, containerID, opts, w.log.With("pod_id", p.id, "container", name))
}

// logContainer returns the container named by the container parameter, or
// the pod's only container when the parameter is absent.
func logContainer(p *pod, values []string) (string, error) {
	switch {
	case len(values) > 1:
		return "", newAPIError(http.StatusBadRequest, codeInvalidRequest, "container must be given once")
	case len(values) == 1:
		return values[0], nil
	case len(p.spec.Containers) == 1:
		return p.spec.Containers[0].Name, nil
	}
	return "", newAPIError(http.StatusBadRequest, codeInvalidRequest,
		"pod %s has several containers: choose one with ?container=NAME from %s", p.id, p.containerNames())
}
