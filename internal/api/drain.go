package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/ids"
	"github.com/podling/podling/internal/types"
)

// DrainResult is the body of a drain response, defined in internal/types.
type DrainResult = types.DrainResult

// drainNode cordons a node and moves its pods elsewhere: each pod whose
// restart policy allows a new start has its containers removed on the
// worker and becomes pending again. Tasks finish where they run. Draining
// again after a failure resumes where the last attempt stopped.
func (s *Server) drainNode(r *http.Request, _ []byte) (reply, error) {
	node, err := s.nodeFrom(r)
	if err != nil {
		return reply{}, err
	}
	res, err := s.raft.Propose(r.Context(), fsm.CordonNode{NodeID: node.NodeID, Unschedulable: true, Reason: types.ReasonDrained, Time: s.now().UTC()})
	if err != nil {
		return reply{}, err
	}
	result := DrainResult{Node: res.Value.(types.Node), MovedPods: []string{}, KeptPods: []string{}}
	for _, pod := range s.state.Pods(fsm.PodFilter{NodeID: node.NodeID}) {
		if err := s.drainPod(r.Context(), node, pod, &result); err != nil {
			return reply{}, err
		}
	}
	if drained, ok := s.state.Node(node.NodeID); ok {
		result.Node = drained // with the moved pods' resources freed
	}
	return reply{status: http.StatusOK, body: result, index: res.Index}, nil
}

func (s *Server) drainPod(ctx context.Context, node types.Node, pod types.Pod, result *DrainResult) error {
	if pod.Status != types.PodScheduled && pod.Status != types.PodRunning {
		return nil
	}
	if pod.RestartPolicy == types.RestartNever {
		result.KeptPods = append(result.KeptPods, pod.PodID)
		return nil
	}
	if node.Status == types.NodeOnline {
		callCtx, cancel := context.WithTimeout(ctx, workerCallTimeout)
		defer cancel()
		if err := s.workers.DeletePod(callCtx, node, pod.PodID); err != nil {
			return fmt.Errorf("%w: stopping pod %s on node %s failed after moving %d pods; drain again to resume: %w",
				errWorkerUnavailable, pod.PodID, node.NodeID, len(result.MovedPods), err)
		}
	}
	cmd := fsm.ReleasePod{PodID: pod.PodID, Reason: types.ReasonDrained, Message: "node " + node.NodeID + " was drained", Time: s.now().UTC()}
	if _, err := s.raft.Propose(ctx, cmd); err != nil {
		return err
	}
	result.MovedPods = append(result.MovedPods, pod.PodID)
	return nil
}

// uncordonNode lets new work onto a node again.
func (s *Server) uncordonNode(r *http.Request, _ []byte) (reply, error) {
	return s.cordon(r, false, "")
}

// leaveNode records that a node's worker is shutting down, so no new work
// goes there; its containers keep running. Registering again ends it.
func (s *Server) leaveNode(r *http.Request, _ []byte) (reply, error) {
	return s.cordon(r, true, types.ReasonWorkerLeaving)
}

func (s *Server) cordon(r *http.Request, unschedulable bool, reason string) (reply, error) {
	node, err := s.nodeFrom(r)
	if err != nil {
		return reply{}, err
	}
	cmd := fsm.CordonNode{NodeID: node.NodeID, Unschedulable: unschedulable, Reason: reason, Time: s.now().UTC()}
	res, err := s.raft.Propose(r.Context(), cmd)
	if err != nil {
		return reply{}, err
	}
	return reply{status: http.StatusOK, body: res.Value, index: res.Index}, nil
}

func (s *Server) nodeFrom(r *http.Request) (types.Node, error) {
	id := mux.Vars(r)["nodeId"]
	if !ids.ValidNode(id) {
		return types.Node{}, invalid("nodeId", "%q is not a valid node ID", truncate(id))
	}
	node, ok := s.state.Node(id)
	if !ok {
		return types.Node{}, fmt.Errorf("node %s: %w", id, fsm.ErrNotFound)
	}
	return node, nil
}
