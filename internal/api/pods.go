package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/ids"
	"github.com/podling/podling/internal/types"
)

// workerCallTimeout bounds a call to a worker made while a client waits.
const workerCallTimeout = 30 * time.Second

// errWorkerUnavailable: the worker that runs a pod could not do what the
// request needs, so nothing was changed.
var errWorkerUnavailable = errors.New("worker unavailable")

func (s *Server) createPod(r *http.Request, body []byte) (reply, error) {
	var req types.CreatePodRequest
	if err := decodeStrict(body, &req); err != nil {
		return reply{}, err
	}
	if err := validatePodRequest(req); err != nil {
		return reply{}, err
	}
	now := s.now().UTC()
	pod := types.Pod{
		Name: req.Name, Namespace: orDefault(req.Namespace, types.DefaultNamespace),
		Labels: req.Labels, Annotations: req.Annotations, Containers: req.Containers,
		RestartPolicy: types.RestartPolicy(orDefault(string(req.RestartPolicy), string(types.RestartAlways))),
		CreatedAt:     now,
	}
	idem, err := idempotencyFrom(r, body, now)
	if err != nil {
		return reply{}, err
	}
	res, err := s.proposeCreate(r.Context(), now, func(id string) fsm.Command {
		pod.PodID = id
		return fsm.CreatePod{Pod: pod, Idempotency: idem}
	})
	if err != nil {
		return reply{}, err
	}
	return createdReply(res), nil
}

func orDefault(value, fallback string) string {
	if value == "" {
		return fallback
	}
	return value
}

func (s *Server) getPod(r *http.Request) (reply, error) {
	pod, err := s.podFrom(r)
	if err != nil {
		return reply{}, err
	}
	return reply{status: http.StatusOK, body: pod}, nil
}

func (s *Server) listPods(r *http.Request) (reply, error) {
	q := r.URL.Query()
	namespace, labels, err := listFilter(r)
	if err != nil {
		return reply{}, err
	}
	filter := fsm.PodFilter{Namespace: namespace, Labels: labels, Status: types.PodStatus(q.Get("status")), NodeID: q.Get("nodeId")}
	if filter.Status != "" && !filter.Status.Valid() {
		return reply{}, invalid("status", "%q is not a pod status", truncate(string(filter.Status)))
	}
	if filter.NodeID != "" && !ids.ValidNode(filter.NodeID) {
		return reply{}, invalid("nodeId", "%q is not a valid node ID", truncate(filter.NodeID))
	}
	return reply{status: http.StatusOK, body: s.state.Pods(filter)}, nil
}

// listFilter reads the ?namespace= and ?labelSelector= parameters that
// every list endpoint accepts.
func listFilter(r *http.Request) (string, map[string]string, error) {
	q := r.URL.Query()
	if err := validateNamespace(q.Get("namespace")); err != nil {
		return "", nil, err
	}
	labels, err := parseLabelSelector(q.Get("labelSelector"))
	return q.Get("namespace"), labels, err
}

// deletePod stops and removes the pod's containers on its worker, then
// removes the pod through Raft. When the worker cannot be reached while
// its node is online, nothing is removed and the client may retry.
func (s *Server) deletePod(r *http.Request, _ []byte) (reply, error) {
	pod, err := s.podFrom(r)
	if err != nil {
		return reply{}, err
	}
	if err := s.removePodContainers(r, pod); err != nil {
		return reply{}, err
	}
	res, err := s.raft.Propose(r.Context(), fsm.DeletePod{PodID: pod.PodID})
	if err != nil {
		return reply{}, err
	}
	return reply{status: http.StatusOK, body: res.Value, index: res.Index}, nil
}

func (s *Server) removePodContainers(r *http.Request, pod types.Pod) error {
	if pod.NodeID == "" {
		return nil
	}
	node, ok := s.state.Node(pod.NodeID)
	if !ok || node.Status != types.NodeOnline {
		// NOTE: an offline node keeps the pod's containers until its
		// worker comes back; nothing removes them then yet.
		return nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), workerCallTimeout)
	defer cancel()
	if err := s.workers.DeletePod(ctx, node, pod.PodID); err != nil {
		return fmt.Errorf("%w: removing the containers of pod %s on node %s failed, nothing was deleted: %w", errWorkerUnavailable, pod.PodID, node.NodeID, err)
	}
	return nil
}

func (s *Server) updatePodStatus(r *http.Request, body []byte) (reply, error) {
	id, err := podIDFrom(r)
	if err != nil {
		return reply{}, err
	}
	var report types.PodStatusReport
	if err := decodeStrict(body, &report); err != nil {
		return reply{}, err
	}
	if err := validatePodReport(report); err != nil {
		return reply{}, err
	}
	res, err := s.raft.Propose(r.Context(), fsm.UpdatePodStatus{PodID: id, Report: report, Time: s.now().UTC()})
	if err != nil {
		return reply{}, err
	}
	return reply{status: http.StatusOK, body: res.Value, index: res.Index}, nil
}

func validatePodReport(report types.PodStatusReport) error {
	if !report.Status.Valid() {
		return invalid("status", "must be pending, scheduled, running, succeeded or failed, got %q", truncate(string(report.Status)))
	}
	if report.PodIP != "" && net.ParseIP(report.PodIP) == nil {
		return invalid("podIP", "%q is not an IP address", truncate(report.PodIP))
	}
	if len(report.ContainerStatuses) > maxContainers {
		return invalid("containerStatuses", "has %d entries, the limit is %d", len(report.ContainerStatuses), maxContainers)
	}
	for i, c := range report.ContainerStatuses {
		if err := validateContainerStatus(fmt.Sprintf("containerStatuses[%d]", i), c); err != nil {
			return err
		}
	}
	return validateReportText(report.Reason, report.Message, report.NodeID)
}

func validateContainerStatus(field string, c types.ContainerStatus) error {
	if err := validateDNSLabel(field+".name", c.Name); err != nil {
		return err
	}
	switch c.State {
	case types.ContainerWaiting, types.ContainerRunning, types.ContainerTerminated:
	default:
		return invalid(field+".state", "must be waiting, running or terminated, got %q", truncate(c.State))
	}
	if c.ContainerID != "" && !containerIDPattern.MatchString(c.ContainerID) {
		return invalid(field+".containerId", "%q is not a valid container ID", truncate(c.ContainerID))
	}
	if c.RestartCount < 0 {
		return invalid(field+".restartCount", "must not be negative")
	}
	if len(c.Message) > maxMessageLength {
		return invalid(field+".message", "is %d bytes long, the limit is %d", len(c.Message), maxMessageLength)
	}
	return nil
}

func (s *Server) podFrom(r *http.Request) (types.Pod, error) {
	id, err := podIDFrom(r)
	if err != nil {
		return types.Pod{}, err
	}
	pod, ok := s.state.Pod(id)
	if !ok {
		return types.Pod{}, fmt.Errorf("pod %s: %w", id, fsm.ErrNotFound)
	}
	return pod, nil
}

func podIDFrom(r *http.Request) (string, error) {
	id := mux.Vars(r)["podId"]
	if !ids.ValidObject(id) {
		return "", invalid("podId", "%q is not a valid pod ID, expected the form 20250119123456-abc12345", truncate(id))
	}
	return id, nil
}
